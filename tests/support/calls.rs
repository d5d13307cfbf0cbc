//! Call scenarios run against each test server (Prosody with coturn, ejabberd with its
//! own TURN).
#![allow(dead_code)]

use std::time::Duration;

use banter_media::audio::analysis::dominant_frequency;

use super::{media_args, read_wav, Proc, User};

const T: Duration = Duration::from_secs(60);

/// Alice calls Bob with both sides relay-only (`--ice-policy relay`): both use a relay
/// pair (never a host pair), and Alice's tone reaches Bob. `log` is printed when
/// Alice's call fails (the server's log, say).
pub fn relay_only_call(alice: &User, bob: &User, log: impl Fn() -> String) {
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let (ok, a_events, bob_proc) = relay_only_attempt(alice, bob, b_wav.to_str().unwrap());
    assert!(ok, "alice's call failed: {a_events:#?}\n{}", log());
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");
    for events in [&a_events, &b_events] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "stats" && e["candidate_pair"] == "relay"),
            "relay pair expected: {events:#?}"
        );
        assert!(!events
            .iter()
            .any(|e| e["event"] == "stats" && e["candidate_pair"] == "host"));
    }
    let at_bob = read_wav(&b_wav);
    assert!(at_bob.len() > 48_000 * 2, "bob recorded {}", at_bob.len());
    let f = dominant_frequency(&at_bob[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz");
}

/// Bob answers relay-only (recording to `b_wav`), Alice calls him relay-only for 3 s:
/// whether her call succeeded, her events, and Bob's process.
pub fn relay_only_attempt(
    alice: &User,
    bob: &User,
    b_wav: &str,
) -> (bool, Vec<serde_json::Value>, Proc) {
    let mut args = vec![
        "answer",
        "--from",
        alice.jid.as_str(),
        "--calls",
        "1",
        "--ice-policy",
        "relay",
    ];
    args.extend(media_args("tone:880", b_wav));
    let mut bob_proc = Proc::spawn(bob.banter(&args));
    // Caught up means the server has Bob's presence too: only available resources
    // get messages sent to the bare JID, such as a call proposal.
    bob_proc.wait_for("bob online", T, |v| v["event"] == "caught_up");
    let mut args = vec![
        "call",
        bob.jid.as_str(),
        "--duration",
        "3",
        "--ice-policy",
        "relay",
    ];
    args.extend(media_args("tone:440", "null"));
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    (ok, a_events, bob_proc)
}
