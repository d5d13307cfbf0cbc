//! Calls that survive the network (issue #19): two Banters through a real Prosody, in
//! a network namespace of the test's own, where nftables drops every UDP packet for a
//! while mid-call (both directions; the XMPP stream, TCP, goes on). The far end
//! records the caller's tone; the longest silence in the recording, less the
//! blackout, is how long the call took to come back.

mod support;

use std::time::{Duration, Instant};

use banter_media::audio::analysis::{dominant_frequency, longest_gap_ms};
use serde_json::Value;
use support::netns::{isolate_network, UdpBlackout};
use support::{media_args, read_wav, Proc, Prosody};

const T: Duration = Duration::from_secs(60);

/// What one blackout call measured.
struct Outage {
    /// How long UDP was dropped.
    blackout: Duration,
    /// The longest silence at the far end.
    gap: Duration,
    caller: Vec<Value>,
    callee: Vec<Value>,
}

/// How long the receiver's loss concealment may still sound once packets stop (it
/// fades out over its first 200 ms, audio/codec.rs) plus its jitter buffer: the
/// silence starts at most this long after the blackout does.
const CONCEALED: Duration = Duration::from_millis(250);

impl Outage {
    /// The time from the path's return to audio at the far end (an upper bound: the
    /// silence plus the concealment before it, less the blackout).
    fn recovery(&self) -> Duration {
        (self.gap + CONCEALED).saturating_sub(self.blackout)
    }
}

fn infos(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "call_info")
        .filter_map(|e| e["info"].as_str().map(str::to_string))
        .collect()
}

fn end_reason(events: &[Value]) -> String {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "call" && e["state"] == "ended")
        .and_then(|e| e["reason"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Alice calls Bob (tone 440 Hz), UDP is dropped `blackout` long from 3 s after the
/// call is active, the call goes on `after` more, Alice hangs up.
fn call_through_blackout(blackout: Duration, after: Duration) -> Outage {
    assert!(
        isolate_network(),
        "this test drops all UDP with nftables: it needs a network namespace of its own (root)"
    );
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");

    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("tone:880", b_wav.to_str().unwrap()));
    let mut bob_proc = Proc::spawn(bob.banter(&args));
    bob_proc.wait_for("bob online", T, |v| v["event"] == "caught_up");

    let duration = (Duration::from_secs(3) + blackout + after)
        .as_secs()
        .to_string();
    let mut args = vec!["call", bob.jid.as_str(), "--duration", duration.as_str()];
    args.extend(media_args("tone:440", "null"));
    let mut alice_proc = Proc::spawn(alice.banter(&args));
    alice_proc.wait_for("the call active", T, |v| {
        v["event"] == "call" && v["state"] == "active"
    });
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let drop_udp = UdpBlackout::start();
    std::thread::sleep(blackout);
    drop(drop_udp);
    let blackout = started.elapsed();

    let wait = T + blackout + after;
    let (ok, caller) = alice_proc.finish(wait);
    assert!(ok, "alice's call failed: {caller:#?}");
    let (ok, callee) = bob_proc.finish(wait);
    assert!(ok, "bob's answer failed: {callee:#?}");

    let heard = read_wav(&b_wav);
    let gap = Duration::from_secs_f32(longest_gap_ms(&heard, 48_000, 300) / 1000.0);
    let outage = Outage {
        blackout,
        gap,
        caller,
        callee,
    };
    if std::env::var_os("BANTER_TEST_DUMP").is_some() {
        for e in outage.callee.iter().filter(|e| e["event"] == "stats") {
            eprintln!("{e}");
        }
    }
    eprintln!(
        "blackout {:?}: silence {:?} at the far end, back {:?} after the path; \
         alice {:?}, bob {:?}",
        outage.blackout,
        outage.gap,
        outage.recovery(),
        infos(&outage.caller),
        infos(&outage.callee)
    );
    let f = dominant_frequency(&heard[heard.len().saturating_sub(48_000)..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz at the end");
    outage
}

/// A 3 s outage is shorter than ICE's own patience: the call comes back by itself,
/// within 1 s of the path, and ends as a success.
#[test]
fn a_3_second_udp_blackout_and_the_tone_is_back_within_1_s() {
    let o = call_through_blackout(Duration::from_secs(3), Duration::from_secs(4));
    assert!(
        o.recovery() <= Duration::from_secs(1),
        "the tone came back {:?} after the path (silence {:?})",
        o.recovery(),
        o.gap
    );
    assert!(o.gap >= o.blackout / 2, "no outage heard: {:?}", o.gap);
    assert_eq!(end_reason(&o.caller), "success");
    assert_eq!(end_reason(&o.callee), "success");
}

/// A 40 s outage outlasts ICE (failed on both sides after 20 s): the call is not
/// ended but restarted (transport-info with new credentials), the users are told it
/// is reconnecting and then back, and the tone is back within 2 s of the path.
#[test]
fn a_40_second_udp_blackout_restarts_ice_and_the_call_goes_on() {
    let o = call_through_blackout(Duration::from_secs(40), Duration::from_secs(5));
    for (who, events) in [("alice", &o.caller), ("bob", &o.callee)] {
        let i = infos(events);
        let lost = i.iter().position(|s| s == "reconnecting");
        let back = i.iter().rposition(|s| s == "reconnected");
        assert!(
            matches!((lost, back), (Some(l), Some(b)) if l < b),
            "{who}: {i:?}"
        );
        assert_eq!(end_reason(events), "success", "{who}");
    }
    assert!(
        o.recovery() <= Duration::from_secs(2),
        "the tone came back {:?} after the path (silence {:?})",
        o.recovery(),
        o.gap
    );
}
