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

/// Which packets the blackout drops.
#[derive(Clone, Copy, PartialEq)]
enum Lost {
    /// Every UDP packet, both ways.
    Both,
    /// Only those to Bob's sockets: Alice still hears Bob, Bob hears nothing, so
    /// only Bob finds the path lost.
    ToBob,
}

/// Alice calls Bob (tone 440 Hz), UDP is dropped `blackout` long from 3 s after the
/// call is active, the call goes on `after` more, Alice hangs up.
fn call_through_blackout(blackout: Duration, after: Duration, lost: Lost) -> Outage {
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
    let drop_udp = match lost {
        Lost::Both => UdpBlackout::start(),
        Lost::ToBob => UdpBlackout::towards(&support::netns::udp_ports_of(bob_proc.pid())),
    };
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
        "blackout {:?}: silence {:?} at the far end, back {:?} to {:?} after the path; \
         alice {:?}, bob {:?}",
        outage.blackout,
        outage.gap,
        outage.gap.saturating_sub(outage.blackout),
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
    let o = call_through_blackout(Duration::from_secs(3), Duration::from_secs(4), Lost::Both);
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
    let o = call_through_blackout(Duration::from_secs(40), Duration::from_secs(5), Lost::Both);
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

/// Only Bob (the callee) stops hearing anything, for 30 s: he finds the path lost and
/// restarts ICE himself (Alice, who still hears him, answers), and his tone comes
/// back within 2 s of the path.
#[test]
fn the_callee_restarts_when_only_its_side_loses_the_path() {
    let o = call_through_blackout(Duration::from_secs(30), Duration::from_secs(5), Lost::ToBob);
    let i = infos(&o.callee);
    let lost = i.iter().position(|s| s == "reconnecting");
    let back = i.iter().rposition(|s| s == "reconnected");
    assert!(
        matches!((lost, back), (Some(l), Some(b)) if l < b),
        "bob: {i:?}"
    );
    for events in [&o.caller, &o.callee] {
        assert_eq!(end_reason(events), "success");
    }
    assert!(
        o.recovery() <= Duration::from_secs(2),
        "the tone came back {:?} after the path (silence {:?})",
        o.recovery(),
        o.gap
    );
}

// ---- the XMPP stream cut mid-call (item 2), driven through the library

use banter::client::{self, CallInfo, ClientHandle, Command, Event};
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, MediaConfig};
use support::User;

async fn online(user: &User, tone: f32, sink: SinkSpec, caller: Option<&User>) -> ClientHandle {
    let mut cfg = user.config("pc");
    let mut m = MediaConfig::new(SourceSpec::Tone(tone), sink);
    m.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    cfg.media = Some(m);
    if let Some(c) = caller {
        cfg.call_policy.allowed = vec![banter::xmpp_parsers::jid::BareJid::new(&c.jid).unwrap()];
    }
    let mut c = client::start(cfg).await.expect("login");
    support::next_event(&mut c, "connected", T, |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

fn call_state(e: &Event, want: &str) -> bool {
    matches!(e, Event::Call { state, .. } if state.as_str() == want)
}

/// Both users' XMPP connections are cut mid-call (their TCP sockets destroyed, and
/// the server's port closed for 5 s): Alice's tone goes on reaching Bob over the
/// call's own path without a gap; Bob's mute during the outage reaches Alice, and
/// Alice's message then reaches Bob, once the streams are resumed; the call ends as a
/// success on both sides.
#[tokio::test(flavor = "current_thread")]
async fn the_xmpp_stream_cut_mid_call_loses_neither_the_call_nor_what_was_sent() {
    assert!(
        isolate_network(),
        "this test cuts TCP with nftables and ss: it needs a network namespace of its own"
    );
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let mut b = online(&bob, 880.0, SinkSpec::Wav(b_wav.clone()), Some(&alice)).await;
    let mut a = online(&alice, 440.0, SinkSpec::Null, None).await;
    a.send(Command::Call {
        id: "cut".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    let ringing = support::next_event(&mut b, "ringing", T, |e| call_state(e, "ringing")).await;
    let Event::Call { id: b_id, .. } = ringing else {
        unreachable!()
    };
    b.send(Command::AcceptCall {
        id: b_id.clone(),
        video: false,
    });
    support::next_event(&mut a, "active", T, |e| call_state(e, "active")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let cut = support::netns::TcpCut::start(server.port);
    support::next_event(&mut a, "connection lost", T, |e| {
        matches!(e, Event::ConnectionLost)
    })
    .await;
    support::next_event(&mut b, "connection lost", T, |e| {
        matches!(e, Event::ConnectionLost)
    })
    .await;
    b.send(Command::MuteCall {
        id: b_id.clone(),
        muted: true,
    });
    a.send(Command::SendMessage {
        id: "during-the-cut".into(),
        to: banter::xmpp_parsers::jid::BareJid::new(&bob.jid).unwrap(),
        body: "sent while the stream was down".into(),
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    drop(cut);
    for (who, c) in [("alice", &mut a), ("bob", &mut b)] {
        let back = support::next_event(c, "back online", T, |e| {
            matches!(e, Event::Connected { .. })
        })
        .await;
        eprintln!("{who}: {back:?}");
    }
    support::next_event(&mut a, "Bob's mute", T, |e| {
        matches!(
            e,
            Event::CallInfo {
                info: CallInfo::Mute,
                ..
            }
        )
    })
    .await;
    support::next_event(&mut b, "the message", T, |e| {
        matches!(e, Event::Message { message } if message.body == "sent while the stream was down")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.send(Command::Hangup { id: "cut".into() });
    for (who, c) in [("alice", &mut a), ("bob", &mut b)] {
        let end = support::next_event(c, "ended", T, |e| call_state(e, "ended")).await;
        let Event::Call { reason, .. } = end else {
            unreachable!()
        };
        assert!(reason.is_some_and(|r| r.is_success()), "{who}: {reason:?}");
    }
    b.send(Command::Disconnect);
    support::next_event(&mut b, "bob gone", T, |e| matches!(e, Event::Disconnected)).await;
    let heard = read_wav(&b_wav);
    assert!(
        heard.len() > 48_000 * 8,
        "bob recorded {} samples",
        heard.len()
    );
    let f = dominant_frequency(&heard[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz");
    let gap = longest_gap_ms(&heard, 48_000, 300);
    assert!(gap < 300.0, "the tone stopped for {gap} ms");
}
