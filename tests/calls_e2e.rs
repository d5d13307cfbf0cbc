//! Calls end to end: two Banters through a real Prosody, audio checked at each far end.

mod support;

use std::time::Duration;

use banter_media::audio::analysis::dominant_frequency;
use serde_json::Value;
use support::{Proc, Prosody, User};

const T: Duration = Duration::from_secs(30);

fn media_args<'a>(audio_in: &'a str, audio_out: &'a str) -> Vec<&'a str> {
    vec![
        "--audio-in",
        audio_in,
        "--audio-out",
        audio_out,
        "--ice-allow",
        "127.0.0.0/8",
    ]
}

fn read_wav(path: &std::path::Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

fn states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect()
}

fn answering(bob: &User, alice: &User, wav: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("tone:880", wav));
    args.extend(extra);
    let mut p = Proc::spawn(bob.banter(&args));
    p.wait_for("bob online", T, |v| v["event"] == "connected");
    p
}

#[test]
fn alice_calls_bob_tones_cross_and_alice_hangs_up() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let a_wav = dir.path().join("alice-heard.wav");
    let b_wav = dir.path().join("bob-heard.wav");
    let bob_proc = answering(&bob, &alice, b_wav.to_str().unwrap(), &[]);

    let mut args = vec!["call", bob.jid.as_str(), "--duration", "3"];
    args.extend(media_args("tone:440", a_wav.to_str().unwrap()));
    let alice_proc = Proc::spawn(alice.banter(&args));
    let (ok, a_events) = alice_proc.finish(T);
    assert!(ok, "alice's call failed: {a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");

    let a_states = states(&a_events);
    assert!(a_states.contains(&"active".to_string()), "{a_states:?}");
    assert_eq!(a_states.last().map(String::as_str), Some("ended"));
    let b_states = states(&b_events);
    assert!(
        b_states.contains(&"ringing".to_string()) && b_states.contains(&"active".to_string()),
        "{b_states:?}"
    );
    let end =
        |ev: &[Value]| ev.iter().rev().find(|e| e["event"] == "call").unwrap()["reason"].clone();
    assert_eq!(end(&a_events), "success");
    assert_eq!(end(&b_events), "success");
    assert!(a_events
        .iter()
        .any(|e| e["event"] == "stats" && e["candidate_pair"] == "host"));

    let at_bob = read_wav(&b_wav);
    let at_alice = read_wav(&a_wav);
    assert!(
        at_bob.len() > 48_000 * 2,
        "bob recorded {} samples",
        at_bob.len()
    );
    let fb = dominant_frequency(&at_bob[24_000..], 48_000);
    let fa = dominant_frequency(&at_alice[24_000..], 48_000);
    assert!((fb - 440.0).abs() <= 5.0, "bob heard {fb} Hz");
    assert!((fa - 880.0).abs() <= 5.0, "alice heard {fa} Hz");
}
