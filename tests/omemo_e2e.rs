//! OMEMO through a real Prosody with PEP (issue #13): Banter publishes its device and
//! bundle, finds a contact's, and the message travels encrypted — what the server
//! keeps holds no plaintext — and is read at the other end, in both directions and
//! across restarts (sessions and keys from the store).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Proc, Prosody, User};

const T: Duration = Duration::from_secs(60);

/// `banter listen --omemo` for `user`, once its OMEMO device is published.
fn listening(user: &User) -> (Proc, Value) {
    let mut p = Proc::spawn(user.banter(&["listen", "--omemo"]));
    let ready = p.wait_for("the OMEMO device published", T, |v| {
        v["event"] == "omemo_ready"
    });
    (p, ready)
}

/// `banter send --omemo`: exits 0 once the server has the message.
fn send(from: &User, to: &User, body: &str) {
    let (ok, out, err) = support::run(
        from.banter(&["send", to.jid.as_str(), "--body", body, "--omemo"]),
        T,
    );
    assert!(ok, "send failed: {err}\n{out}");
}

fn server_keeps(server: &Prosody, text: &str) -> bool {
    fn walk(dir: &std::path::Path, text: &[u8]) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, text)
                } else {
                    std::fs::read(&p).is_ok_and(|b| b.windows(text.len()).any(|w| w == text))
                }
            })
    }
    walk(&server.dir.path().join("data"), text.as_bytes())
}

/// Alice writes to Bob (who listens, his device published): the message is
/// encrypted, Bob reads it; Bob answers, Alice (listening now) reads it; Alice writes
/// again from a new process (her keys and session from the store). The server's
/// archive and offline store hold none of the three texts.
#[test]
fn banter_to_banter_encrypted_both_ways_and_after_restarts() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (mut bob_listens, bob_ready) = listening(&bob);
    assert!(bob_ready["fingerprint"]
        .as_str()
        .is_some_and(|f| f.len() == 64));

    send(&alice, &bob, "first secret");
    let m = bob_listens.wait_for("alice's message", T, |v| v["event"] == "message");
    assert_eq!(m["body"], "first secret", "{m:#}");
    assert_eq!(m["encryption"], "omemo");
    drop(bob_listens);

    let (mut alice_listens, _) = listening(&alice);
    send(&bob, &alice, "second secret");
    // Alice's archive catch-up brings her own first message (already stored, not
    // decrypted again) before Bob's.
    let m = alice_listens.wait_for("bob's message", T, |v| {
        v["event"] == "message" && v["direction"] == "in"
    });
    assert_eq!(m["body"], "second secret", "{m:#}");
    assert_eq!(m["encryption"], "omemo");
    let errors: Vec<&Value> = alice_listens
        .seen()
        .iter()
        .filter(|v| v["event"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    drop(alice_listens);

    let (mut bob_listens, ready_again) = listening(&bob);
    assert_eq!(
        ready_again["device_id"], bob_ready["device_id"],
        "the same device after a restart"
    );
    send(&alice, &bob, "third secret");
    let m = bob_listens.wait_for("alice's third", T, |v| {
        v["event"] == "message" && v["body"] == "third secret"
    });
    assert_eq!(m["encryption"], "omemo");

    for text in ["first secret", "second secret", "third secret"] {
        assert!(
            !server_keeps(&server, text),
            "the server keeps {text:?} in plain"
        );
    }
    assert!(
        server_keeps(&server, "OMEMO encrypted message"),
        "the fallback body is what it keeps"
    );
}
