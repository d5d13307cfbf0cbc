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
        .seen
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

/// Trust from the command line: Alice sees Bob's device with the fingerprint Bob's
/// own Banter reports, verifies it (messages from it then say so), and once she
/// refuses it her message is not sent at all, said in words.
#[test]
fn devices_trusted_and_refused_by_fingerprint() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (bob_listens, bob_ready) = listening(&bob);
    let fp = bob_ready["fingerprint"].as_str().unwrap().to_string();
    send(&alice, &bob, "hello");
    drop(bob_listens);

    let devices = |who: &User| -> Value {
        let (ok, out, err) = support::run(who.banter(&["omemo", "devices", "bob@example.test"]), T);
        assert!(ok, "{err}");
        serde_json::from_str(out.trim()).unwrap()
    };
    let d = devices(&alice);
    let bob_dev = &d["devices"][0];
    assert_eq!(bob_dev["fingerprint"], fp.as_str(), "{d:#}");
    assert_eq!(bob_dev["trust"], "blind");
    assert_eq!(bob_dev["device_id"], bob_ready["device_id"]);
    assert_eq!(d["own"]["fingerprint"].as_str().map(str::len), Some(64));

    // Written as people copy it: grouped, upper case.
    let grouped: String = fp
        .to_uppercase()
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let (ok, _, err) = support::run(
        alice.banter(&["omemo", "trust", "bob@example.test", &grouped]),
        T,
    );
    assert!(ok, "{err}");
    assert_eq!(devices(&alice)["devices"][0]["trust"], "verified");

    let (mut alice_listens, _) = listening(&alice);
    send(&bob, &alice, "from a verified device");
    let m = alice_listens.wait_for("bob's message", T, |v| {
        v["event"] == "message" && v["body"] == "from a verified device"
    });
    assert_eq!(m["trust"], "verified", "{m:#}");
    drop(alice_listens);

    let (ok, _, err) = support::run(
        alice.banter(&["omemo", "untrust", "bob@example.test", &fp]),
        T,
    );
    assert!(ok, "{err}");
    let (ok, out, err) = support::run(
        alice.banter(&[
            "send",
            "bob@example.test",
            "--body",
            "not for an untrusted device",
            "--omemo",
        ]),
        T,
    );
    assert!(!ok, "sent to a refused device: {out}");
    assert!(
        err.contains("none of bob@example.test's devices is trusted"),
        "{err}"
    );
    assert!(!server_keeps(&server, "not for an untrusted device"));
    // Unencrypted only when asked for explicitly.
    let (ok, _, err) = support::run(
        alice.banter(&[
            "send",
            "bob@example.test",
            "--body",
            "plain on purpose",
            "--omemo",
            "--plaintext",
        ]),
        T,
    );
    assert!(ok, "{err}");
    assert!(server_keeps(&server, "plain on purpose"));

    let (ok, _, err) = support::run(
        alice.banter(&["omemo", "trust", "bob@example.test", &"ab".repeat(32)]),
        T,
    );
    assert!(
        !ok && err.contains("no device of bob@example.test has the fingerprint"),
        "{err}"
    );
}

/// Hostile OMEMO input from a raw client: a PreKey message naming an absurd prekey,
/// garbage where the ratchet message belongs, a device list of 10 000 entries. Each
/// is an error event (or ignored), no panic; each message is kept as a placeholder
/// saying it could not be decrypted; a real message afterwards decrypts.
#[test]
fn hostile_omemo_input_costs_nothing_else() {
    use base64::prelude::{Engine, BASE64_STANDARD};
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mallory = server.user("mallory");
    let (mut bob_listens, ready) = listening(&bob);
    let rid = ready["device_id"].as_u64().unwrap();

    let mut raw = support::raw::RawClient::login(&mallory, "evil");
    // A PreKey message naming prekey 4 294 967 295, with keys of the right shape.
    let mut prekey = vec![0x33];
    let field = |out: &mut Vec<u8>, n: u8, bytes: &[u8]| {
        out.push(n << 3 | 2);
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    };
    prekey.extend([0x08, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    field(&mut prekey, 2, &[5u8; 33]);
    field(&mut prekey, 3, &[5u8; 33]);
    field(&mut prekey, 4, &[0x33, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    prekey.extend([0x30, 1]);
    for (i, (data, pre)) in [
        (BASE64_STANDARD.encode(&prekey), "true"),
        ("AAAA////".to_string(), "false"),
        ("not base64 at all".to_string(), "true"),
    ]
    .iter()
    .enumerate()
    {
        raw.send(&format!(
            "<message to='{}' type='chat' id='evil{i}'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1234'><key rid='{rid}' prekey='{pre}'>{data}</key><iv>AAAAAAAAAAAAAAAA</iv></header><payload>AAAA</payload></encrypted><body>fallback</body></message>",
            bob.jid
        ));
    }
    let devices: String = (1..=10_000)
        .map(|i| format!("<device id='{i}'/>"))
        .collect();
    raw.send(&format!(
        "<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'>{devices}</list></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#access_model'><value>open</value></field></x></publish-options></pubsub></iq>"
    ));
    for i in 0..3 {
        bob_listens.wait_for(&format!("the error for message {i}"), T, |v| {
            v["event"] == "error"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("mallory@example.test could not be decrypted"))
        });
    }
    send(&alice, &bob, "still readable");
    let m = bob_listens.wait_for("alice's message", T, |v| {
        v["event"] == "message" && v["body"] == "still readable"
    });
    assert_eq!(m["encryption"], "omemo");
    let shown: Vec<&Value> = bob_listens
        .seen
        .iter()
        .filter(|v| {
            v["event"] == "message" && v["from"].as_str().is_some_and(|f| f.starts_with("mallory"))
        })
        .collect();
    // Each is kept as a placeholder that says what happened, never as the sender's
    // fallback text.
    assert_eq!(shown.len(), 3, "{shown:#?}");
    for m in &shown {
        assert_eq!(m["encryption"], "omemo-unreadable", "{m:#}");
        assert!(
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("could not decrypt")),
            "{m:#}"
        );
    }
    drop(bob_listens);

    // Writing to Mallory reads her 10 000-entry list (cut to 64), asks for at most 32
    // bundles, finds none, and says so: not sent.
    raw.read_until("pub1");
    let started = std::time::Instant::now();
    let (ok, out, err) = support::run(
        bob.banter(&["send", "mallory@example.test", "--body", "hi", "--omemo"]),
        T,
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("none of mallory@example.test's OMEMO devices could be reached"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Every device: Bob on two devices, Alice on one. Alice's message is read on both of
/// Bob's; what Bob writes from one is read by Alice and, as a carbon, on his other.
#[test]
fn every_device_reads_every_message() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let listen_on = |user: &User, device: &str| {
        let mut p = Proc::spawn(user.banter_on(device, &["listen", "--omemo"]));
        let ready = p.wait_for("published", T, |v| v["event"] == "omemo_ready");
        (p, ready)
    };
    let (mut bob_main, main_ready) = listen_on(&bob, "main");
    let (mut bob_phone, phone_ready) = listen_on(&bob, "phone");
    assert_ne!(main_ready["device_id"], phone_ready["device_id"]);

    send(&alice, &bob, "to all of bob");
    for (p, name) in [(&mut bob_main, "main"), (&mut bob_phone, "phone")] {
        let m = p.wait_for(&format!("alice's message on bob's {name}"), T, |v| {
            v["event"] == "message" && v["body"] == "to all of bob"
        });
        assert_eq!(m["encryption"], "omemo", "{name}: {m:#}");
    }

    // One process per device: the phone's listener stops before it sends.
    drop(bob_phone);
    let (mut alice_listens, _) = listening(&alice);
    let (ok, _, err) = support::run(
        bob.banter_on(
            "phone",
            &[
                "send",
                alice.jid.as_str(),
                "--body",
                "from bob's phone",
                "--omemo",
            ],
        ),
        T,
    );
    assert!(ok, "{err}");
    let m = alice_listens.wait_for("bob's message", T, |v| {
        v["event"] == "message" && v["body"] == "from bob's phone"
    });
    assert_eq!(m["encryption"], "omemo");
    let carbon = bob_main.wait_for("the carbon on bob's main device", T, |v| {
        v["event"] == "message" && v["body"] == "from bob's phone"
    });
    assert_eq!(carbon["direction"], "out", "{carbon:#}");
    assert_eq!(carbon["encryption"], "omemo");
}

/// slixmpp with slixmpp-omemo (PyPI; python-omemo's oldmemo backend) as Bob's client,
/// over XMPP through the same Prosody: tests/omemo/slix_peer.py.
fn slix(user: &User, server: &Prosody, state: &std::path::Path) -> Proc {
    slix_speaking(user, server, state, "oldmemo")
}

/// slixmpp-omemo speaking only `namespaces` (oldmemo: OMEMO 0.3, what Conversations,
/// Dino and Monal speak; twomemo: OMEMO 2).
fn slix_speaking(user: &User, server: &Prosody, state: &std::path::Path, namespaces: &str) -> Proc {
    let mut cmd = support::python_peer("omemo/slix_peer.py", user, server);
    cmd.arg("--state")
        .arg(state)
        .args(["--namespaces", namespaces]);
    let mut p = Proc::spawn_with_stdin(cmd);
    p.wait_for("slixmpp ready", T, |v| v["event"] == "ready");
    p
}

/// A third-party OMEMO client over XMPP, speaking OMEMO 0.3 only: slixmpp-omemo
/// begins with Banter (Banter reads it and completes the session), Banter answers
/// from a new process (its keys and session from the store) and slixmpp reads it;
/// and Banter begins with slixmpp from slixmpp's published bundle.
#[test]
fn slixmpp_omemo_and_banter_read_each_other() {
    read_each_other("oldmemo", "eu.siacs.conversations.axolotl");
}

/// The same with slixmpp-omemo speaking OMEMO 2 only (`urn:xmpp:omemo:2`, SCE
/// envelopes): Banter finds its OMEMO 2 device list and bundle, and both ways work.
#[test]
fn slixmpp_omemo_2_and_banter_read_each_other() {
    read_each_other("twomemo", "urn:xmpp:omemo:2");
}

fn read_each_other(namespaces: &str, namespace: &str) {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let state = tempfile::tempdir().unwrap();
    let mut bob_slix = slix_speaking(&bob, &server, state.path(), namespaces);
    let (mut alice_listens, _) = listening(&alice);

    bob_slix.write_line(&format!(
        r#"{{"cmd":"send","to":"{}","body":"hello from slixmpp-omemo"}}"#,
        alice.jid
    ));
    let m = alice_listens.wait_for("slixmpp's message", T, |v| {
        v["event"] == "message" && v["direction"] == "in"
    });
    assert_eq!(m["body"], "hello from slixmpp-omemo", "{m:#}");
    assert_eq!(m["encryption"], "omemo");
    assert_eq!(m["trust"], "blind");
    // Banter completed the session with an empty message.
    bob_slix.wait_for("Banter's empty message", T, |v| v["event"] == "empty");
    drop(alice_listens);

    send(&alice, &bob, "hello from Banter");
    let m = bob_slix.wait_for("Banter's message", T, |v| {
        v["event"] == "message" && v["body"] == "hello from Banter"
    });
    assert_eq!(m["encrypted"], true, "{m:#}");
    assert_eq!(m["namespace"], namespace);

    // Banter begins: carol has never written to bob.
    send(&carol, &bob, "carol begins");
    let m = bob_slix.wait_for("carol's message", T, |v| {
        v["event"] == "message" && v["body"] == "carol begins"
    });
    assert_eq!(m["encrypted"], true, "{m:#}");
    let (mut carol_listens, _) = listening(&carol);
    bob_slix.write_line(&format!(
        r#"{{"cmd":"send","to":"{}","body":"bob answers carol"}}"#,
        carol.jid
    ));
    let m = carol_listens.wait_for("bob's answer", T, |v| {
        v["event"] == "message" && v["body"] == "bob answers carol"
    });
    assert_eq!(m["encryption"], "omemo");
    let errors: Vec<&Value> = carol_listens
        .seen
        .iter()
        .filter(|v| v["event"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    bob_slix.write_line(r#"{"cmd":"quit"}"#);
    for text in [
        "hello from slixmpp-omemo",
        "hello from Banter",
        "carol begins",
        "bob answers carol",
    ] {
        assert!(
            !server_keeps(&server, text),
            "the server keeps {text:?} in plain"
        );
    }
}

/// Prekeys used up are replaced on the server: three new slixmpp-omemo devices of
/// Bob's (OMEMO 0.3, 2, 0.3) each begin a session with Alice from her published
/// bundle, taking one prekey each. Afterwards both of her bundles, as Carol's
/// slixmpp fetches them from the server, again hold 100 prekeys (one pool for both
/// versions): the three used ones gone, three new ones in their place.
#[test]
fn prekeys_slixmpp_devices_use_are_replaced_on_the_server() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let (mut alice_listens, ready) = listening(&alice);
    let device = ready["device_id"].as_u64().unwrap();
    let probe_state = tempfile::tempdir().unwrap();
    let mut probe = slix_speaking(&carol, &server, probe_state.path(), "oldmemo,twomemo");
    let mut bundle = |ns: &str| -> Vec<u64> {
        probe.write_line(&format!(
            r#"{{"cmd":"bundle","jid":"{}","device":{device},"namespace":"{ns}","tag":"{ns}"}}"#,
            alice.jid
        ));
        let b = probe.wait_for(&format!("alice's {ns} bundle"), T, |v| {
            v["tag"] == ns && (v["event"] == "bundle" || v["event"] == "error")
        });
        assert_eq!(b["event"], "bundle", "{b:#}");
        b["prekeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect()
    };
    let before = bundle("oldmemo");
    assert_eq!(before.len(), 100);
    assert_eq!(bundle("twomemo"), before, "one pool for both versions");

    let states: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, (state, ns)) in states
        .iter()
        .zip(["oldmemo", "twomemo", "oldmemo"])
        .enumerate()
    {
        let mut b = slix_speaking(&bob, &server, state.path(), ns);
        let body = format!("bob's device {i} begins");
        b.write_line(&format!(
            r#"{{"cmd":"send","to":"{}","body":"{body}"}}"#,
            alice.jid
        ));
        let m = alice_listens.wait_for(&body, T, |v| {
            v["event"] == "message" && v["body"] == body.as_str()
        });
        assert_eq!(m["encryption"], "omemo", "{m:#}");
        b.wait_for("Alice's empty message", T, |v| v["event"] == "empty");
        b.write_line(r#"{"cmd":"quit"}"#);
    }

    // Each new session republished the bundles; the last publication may still be
    // on its way. New prekeys get ids above all earlier ones: three replacements
    // take the highest id three up. (A device may pick a replacement made for the
    // one before it: then two of the old ones are gone and two new ones are left.)
    let top = *before.iter().max().unwrap();
    let deadline = std::time::Instant::now() + T;
    let (after, after2) = loop {
        let (now, now2) = (bundle("oldmemo"), bundle("twomemo"));
        let done = |b: &Vec<u64>| b.iter().max() >= Some(&(top + 3));
        if (done(&now) && done(&now2)) || std::time::Instant::now() > deadline {
            break (now, now2);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let said: Vec<&Value> = alice_listens
        .seen
        .iter()
        .filter(|v| v["event"] == "error" || v["event"] == "omemo_session")
        .collect();
    assert_eq!(after.len(), 100, "{after:?}");
    assert_eq!(
        after.iter().max(),
        Some(&(top + 3)),
        "not three replacements: {after:?}; alice said {said:#?}"
    );
    let gone: Vec<_> = before.iter().filter(|k| !after.contains(k)).collect();
    let new: Vec<_> = after.iter().filter(|k| !before.contains(k)).collect();
    assert!(
        (2..=3).contains(&gone.len()) && new.len() == gone.len(),
        "gone {gone:?}, new {new:?}"
    );
    assert_eq!(after2, after, "one pool for both versions");
}

/// A broken session is repaired as Conversations does it: Bob lost his session
/// with Alice (its row gone from his store); her next message cannot be read, so
/// Bob begins a new session with an empty PreKey message, and her message after
/// that reads again.
#[test]
fn a_lost_session_is_begun_anew_and_messages_read_again() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (bob_listens, bob_ready) = listening(&bob);
    send(&alice, &bob, "before");
    drop(bob_listens);

    let store = banter::store::Store::open_dir(&bob.device_dir("main")).unwrap();
    let (_alice_listens_for_id, alice_ready) = listening(&alice);
    let alice_device = alice_ready["device_id"].as_u64().unwrap() as u32;
    drop(_alice_listens_for_id);
    // Two Banters speak OMEMO 2 with each other.
    store
        .delete_omemo2_session(bob.jid.as_str(), alice.jid.as_str(), alice_device)
        .unwrap();
    drop(store);

    let (mut bob_listens, again) = listening(&bob);
    assert_eq!(again["device_id"], bob_ready["device_id"]);
    send(&alice, &bob, "lost on the way");
    bob_listens.wait_for("the failure", T, |v| {
        v["event"] == "error"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.contains("alice@example.test could not be decrypted"))
    });
    // Alice takes Bob's new session the next time she is online.
    let (mut alice_listens, _) = listening(&alice);
    let s = alice_listens.wait_for("bob's new session", T, |v| v["event"] == "omemo_session");
    assert_eq!(s["device_id"], bob_ready["device_id"]);
    drop(alice_listens);
    send(&alice, &bob, "after the repair");
    let m = bob_listens.wait_for("the message after the repair", T, |v| {
        v["event"] == "message" && v["body"] == "after the repair"
    });
    assert_eq!(m["encryption"], "omemo");
}

/// slixmpp-omemo adds a second device for Bob: its first message reaches Alice (a
/// device she had never seen), and her answer goes to both of Bob's devices.
#[test]
fn a_peers_second_device_is_found_and_written_to() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (s1, s2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut bob1 = slix(&bob, &server, s1.path());
    let (mut alice_listens, _) = listening(&alice);
    let say = |p: &mut Proc, body: &str| {
        p.write_line(&format!(
            r#"{{"cmd":"send","to":"{}","body":"{body}"}}"#,
            alice.jid
        ));
    };
    say(&mut bob1, "from bob's first device");
    alice_listens.wait_for("the first device's message", T, |v| {
        v["event"] == "message" && v["body"] == "from bob's first device"
    });
    let mut bob2 = slix(&bob, &server, s2.path());
    say(&mut bob2, "from bob's second device");
    let m = alice_listens.wait_for("the second device's message", T, |v| {
        v["event"] == "message" && v["body"] == "from bob's second device"
    });
    assert_eq!(m["encryption"], "omemo");
    drop(alice_listens);

    send(&alice, &bob, "to both of bob's devices");
    for (p, which) in [(&mut bob1, "first"), (&mut bob2, "second")] {
        let m = p.wait_for(&format!("alice's answer on bob's {which} device"), T, |v| {
            v["event"] == "message" && v["body"] == "to both of bob's devices"
        });
        assert_eq!(m["encrypted"], true, "{which}: {m:#}");
    }
}

/// Alice and Bob have each read an OMEMO message of the other, and each verified the
/// other's device by its fingerprint; with Alice's and Bob's fingerprints.
fn verified_pair(server: &Prosody) -> (User, User, String, String) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (mut bob_listens, bob_ready) = listening(&bob);
    send(&alice, &bob, "hello bob");
    bob_listens.wait_for("alice's message", T, |v| v["event"] == "message");
    drop(bob_listens);
    let (mut alice_listens, alice_ready) = listening(&alice);
    send(&bob, &alice, "hello alice");
    alice_listens.wait_for("bob's message", T, |v| {
        v["event"] == "message" && v["direction"] == "in"
    });
    drop(alice_listens);
    for (who, peer, ready) in [(&alice, &bob, &bob_ready), (&bob, &alice, &alice_ready)] {
        let fp = ready["fingerprint"].as_str().unwrap();
        let (ok, _, err) = support::run(who.banter(&["omemo", "trust", peer.jid.as_str(), fp]), T);
        assert!(ok, "{err}");
    }
    let fp = |ready: &Value| ready["fingerprint"].as_str().unwrap().to_string();
    (alice, bob, fp(&alice_ready), fp(&bob_ready))
}

/// Alice calls Bob (both with `--omemo`) for 3 s: what each printed.
fn omemo_call(alice: &User, bob: &User) -> (Vec<Value>, Vec<Value>) {
    let mut args = vec![
        "answer",
        "--from",
        alice.jid.as_str(),
        "--calls",
        "1",
        "--omemo",
    ];
    args.extend(support::media_args("tone:880", "null"));
    let mut bob_proc = Proc::spawn(bob.banter(&args));
    bob_proc.wait_for("bob online", T, |v| v["event"] == "caught_up");
    let mut args = vec!["call", bob.jid.as_str(), "--duration", "3", "--omemo"];
    args.extend(support::media_args("tone:440", "null"));
    let (_, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    let (_, b_events) = bob_proc.finish(T);
    (a_events, b_events)
}

fn call_end(events: &[Value]) -> String {
    let end = events
        .iter()
        .rev()
        .find(|e| e["event"] == "call")
        .unwrap_or_else(|| panic!("no call event: {events:#?}"));
    end["reason"].as_str().unwrap_or_default().to_string()
}

/// Verified calls (#13): the DTLS fingerprint of each side's session-initiate and
/// session-accept travels OMEMO-encrypted to the other's device (Conversations'
/// dtls-srtp-verification, as Dino does it too): both calls say `verified`, with
/// the device and fingerprint each user verified, and go on to `active` (the
/// fingerprints opened are what DTLS then checks).
#[test]
fn a_call_between_verified_devices_says_verified_on_both_sides() {
    let server = Prosody::start();
    let (alice, bob, alice_fp, bob_fp) = verified_pair(&server);
    let (a, b) = omemo_call(&alice, &bob);
    for (who, events, peer_fp) in [("alice", &a, &bob_fp), ("bob", &b, &alice_fp)] {
        let v = events
            .iter()
            .find(|e| e["event"] == "call_omemo")
            .unwrap_or_else(|| panic!("{who}: no call_omemo event: {events:#?}"));
        assert_eq!(v["verified"], true, "{who}: {v:#}");
        assert_eq!(v["trust"], "verified", "{who}: {v:#}");
        assert_eq!(v["fingerprint"], peer_fp.as_str(), "{who}: {v:#}");
        assert!(
            support::states(events).contains(&"active".to_string()),
            "{who}: {events:#?}"
        );
        assert_eq!(call_end(events), "success", "{who}");
    }
}

/// A server slow to give out OMEMO 0.3 bundles (tests/omemo/mod_slow_bundles.lua:
/// 1.5 s late): the two Banters chat in OMEMO 2, so the caller has no 0.3 session
/// with Bob's device and asks for its bundle when it rings; Bob answers before the
/// bundle comes. Alice's session-initiate waits for it, goes sealed, and both calls
/// say verified.
#[test]
fn a_call_waits_for_the_answering_devices_bundle_and_is_verified() {
    let server =
        Prosody::start_with_module("slow_bundles", include_str!("omemo/mod_slow_bundles.lua"));
    let (alice, bob, _, _) = verified_pair(&server);
    let (a, b) = omemo_call(&alice, &bob);
    for (who, events) in [("alice", &a), ("bob", &b)] {
        let v = events
            .iter()
            .find(|e| e["event"] == "call_omemo")
            .unwrap_or_else(|| panic!("{who}: no call_omemo event: {events:#?}"));
        assert_eq!(v["verified"], true, "{who}: {v:#}");
        assert_eq!(call_end(events), "success", "{who}");
    }
    assert!(
        server.log_contains("delaying"),
        "the bundle was not fetched slowly: the test proves nothing"
    );
}

/// A server that alters the encrypted fingerprint of Bob's session-accept (a flipped
/// character), puts a plain one of its own in its place, adds two plain ones beside
/// it, or drops its hash: Alice's Banter, whose own went encrypted, ends the call as
/// a `security-error` before any media flows, and says so; Bob's call ends with the
/// same reason.
#[test]
fn a_fingerprint_altered_on_the_way_ends_the_call_as_a_security_error() {
    let source = include_str!("omemo/mod_tamper_dtls.lua");
    for mode in ["flip", "strip", "double", "nohash"] {
        let source = source.replace("local mode = \"flip\"", &format!("local mode = \"{mode}\""));
        assert!(source.contains(&format!("local mode = \"{mode}\"")));
        let server = Prosody::start_with_module("tamper_dtls", &source);
        let (alice, bob, _, _) = verified_pair(&server);
        let (a, b) = omemo_call(&alice, &bob);
        assert_eq!(call_end(&a), "security-error", "{mode}: {a:#?}");
        assert_eq!(call_end(&b), "security-error", "{mode}: {b:#?}");
        assert!(
            !support::states(&a).contains(&"active".to_string()),
            "{mode}: {a:#?}"
        );
        assert!(
            a.iter().any(|e| e["event"] == "error"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("interfering"))),
            "{mode}: {a:#?}"
        );
        let log = std::fs::read_to_string(server.dir.path().join("prosody.log")).unwrap();
        assert!(
            log.contains("a call's encrypted fingerprint"),
            "{mode}: the module did nothing"
        );
    }
}

/// A server that cannot give device lists to one of Alice's connections
/// (tests/omemo/mod_failing_lists.lua: internal-server-error to the resource
/// "broken"). That is not "there are none": Alice still writes to the devices of
/// Bob's she knew, says that her own list could not be read, and leaves it as it is
/// on the server, so her phone, which is on it, reads what Bob writes next.
#[test]
fn a_device_list_the_server_cannot_give_is_not_taken_for_none() {
    let server =
        Prosody::start_with_module("failing_lists", include_str!("omemo/mod_failing_lists.lua"));
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (mut bob_listens, _) = listening(&bob);
    send(&alice, &bob, "before");
    bob_listens.wait_for("alice's first message", T, |v| {
        v["event"] == "message" && v["body"] == "before"
    });
    let mut phone = Proc::spawn(alice.banter_on("phone", &["listen", "--omemo"]));
    phone.wait_for("alice's phone published", T, |v| {
        v["event"] == "omemo_ready"
    });
    drop(phone);

    let (ok, out, err) = support::run(
        alice.banter(&[
            "send",
            bob.jid.as_str(),
            "--body",
            "while the lists are out of reach",
            "--omemo",
            "--resource",
            "broken",
        ]),
        T,
    );
    assert!(ok, "send failed: {err}\n{out}");
    assert!(
        server.log_contains("refusing"),
        "no device list was refused: the test proves nothing"
    );
    let said: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["event"] == "error")
        .collect();
    assert!(
        said.iter().any(|v| v["message"].as_str().is_some_and(
            |m| m.contains("OMEMO device list") && m.contains("internal server error")
        )),
        "not said in words: {said:#?}"
    );
    let m = bob_listens.wait_for("the message sent without lists", T, |v| {
        v["event"] == "message" && v["body"] == "while the lists are out of reach"
    });
    assert_eq!(m["encryption"], "omemo", "{m:#}");
    drop(bob_listens);

    send(&bob, &alice, "to both of alice's devices");
    let mut phone = Proc::spawn(alice.banter_on("phone", &["listen", "--omemo"]));
    let m = phone.wait_for("bob's message on alice's phone", T, |v| {
        v["event"] == "message" && v["direction"] == "in"
    });
    assert_eq!(m["body"], "to both of alice's devices", "{m:#}");
    assert_eq!(m["encryption"], "omemo");
}
