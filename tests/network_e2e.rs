//! Calls that survive the network (issue #19): two Banters through a real Prosody, in
//! a network namespace of the test's own, where nftables drops every UDP packet for a
//! while mid-call (both directions; the XMPP stream, TCP, goes on). The far end
//! records the caller's tone; the longest silence in the recording, less the
//! blackout, is how long the call took to come back.

mod support;

use std::time::{Duration, Instant};

use banter_media::audio::analysis::{dominant_frequency, longest_gap_ms};
use serde_json::Value;
use support::netns::{isolate_network, Nat, OtherNamespace, UdpBlackout};
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
/// the server's port closed for 5 s): the streams are resumed, and what was sent
/// meanwhile arrives (`signaling_outage_mid_call`).
#[tokio::test(flavor = "current_thread")]
async fn the_xmpp_stream_cut_mid_call_loses_neither_the_call_nor_what_was_sent() {
    assert!(
        isolate_network(),
        "this test cuts TCP with nftables and ss: it needs a network namespace of its own"
    );
    let mut server = Prosody::start();
    let port = server.port;
    let mut cut = None;
    // A connection that was up resumes (login.rs): a fresh session would drop what
    // was in flight.
    signaling_outage_mid_call(&mut server, true, |_, down| {
        if down {
            cut = Some(support::netns::TcpCut::start(port));
        } else {
            cut = None;
        }
    })
    .await;
}

/// The server restarts mid-call (killed, back 2 s later, its sessions gone): both
/// streams come back as new sessions, not resumed; Bob's mute still reaches Alice
/// though it may have been sent before her new session existed (said again when her
/// device is back, session/news.rs) (`signaling_outage_mid_call`).
#[tokio::test(flavor = "current_thread")]
async fn the_server_restarting_mid_call_loses_neither_the_call_nor_the_mute() {
    let mut server = Prosody::start();
    signaling_outage_mid_call(&mut server, false, |server, down| {
        if down {
            server.kill();
        } else {
            server.restart();
        }
    })
    .await;
}

/// A call from Alice to Bob; `outage(server, true)` takes both users' XMPP streams
/// down for a few seconds and `outage(server, false)` lets them back (`resumed` or
/// not). Meanwhile Bob mutes and Alice sends him a message: the mute reaches Alice
/// and the message Bob once they are back; Alice's tone reaches Bob over the call's
/// own path without a gap all along; the call ends as a success on both sides.
async fn signaling_outage_mid_call(
    server: &mut Prosody,
    resumed: bool,
    mut outage: impl FnMut(&mut Prosody, bool),
) {
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let mut b = online(&bob, 880.0, SinkSpec::Wav(b_wav.clone()), Some(&alice)).await;
    let mut a = online(&alice, 440.0, SinkSpec::Null, None).await;
    a.send(Command::Call {
        id: "outage".into(),
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

    outage(server, true);
    for c in [&mut a, &mut b] {
        support::next_event(c, "connection lost", T, |e| {
            matches!(e, Event::ConnectionLost)
        })
        .await;
    }
    b.send(Command::MuteCall {
        id: b_id.clone(),
        muted: true,
    });
    let body = "sent while the stream was down";
    a.send(Command::SendMessage {
        id: "during-the-outage".into(),
        to: banter::xmpp_parsers::jid::BareJid::new(&bob.jid).unwrap(),
        body: body.into(),
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    outage(server, false);
    for (who, c) in [("alice", &mut a), ("bob", &mut b)] {
        let back = support::next_event(c, "back online", T, |e| {
            matches!(e, Event::Connected { .. })
        })
        .await;
        assert!(
            matches!(back, Event::Connected { resumed: r, .. } if r == resumed),
            "{who}: {back:?}"
        );
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
    support::next_event(
        &mut b,
        "the message",
        T,
        |e| matches!(e, Event::Message { message } if message.body == body),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.send(Command::Hangup {
        id: "outage".into(),
    });
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

/// The caller's only address is replaced mid-call (another address added to its
/// interface, the first removed), as when a laptop moves to another network: Alice
/// runs in a namespace of her own whose only interface is a veth to the test's, with
/// no `--ice-allow` (every address, as a user runs it). Her XMPP connection, made from
/// the old address, is cut and resumes from the new one; her call restarts ICE; Bob
/// hears her tone again within 3 s of the change; both calls end `success`.
#[test]
fn the_callers_address_replaced_mid_call_and_the_tone_is_back_within_3_s() {
    assert!(
        isolate_network(),
        "this test changes addresses: it needs network namespaces of its own (root)"
    );
    let net = OtherNamespace::new("10.99.0.1/24", "10.99.0.2/24");
    let server = Prosody::start_also_on("10.99.0.1");
    let mut alice = server.user("alice");
    alice.server = format!("10.99.0.1:{}", server.port);
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");

    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend([
        "--audio-in",
        "tone:880",
        "--audio-out",
        b_wav.to_str().unwrap(),
    ]);
    args.extend(["--ice-allow", "10.99.0.0/24"]);
    let mut bob_proc = Proc::spawn(bob.banter(&args));
    bob_proc.wait_for("bob online", T, |v| v["event"] == "caught_up");

    let args = [
        "call",
        bob.jid.as_str(),
        "--duration",
        "12",
        "--audio-in",
        "tone:440",
        "--audio-out",
        "null",
    ];
    let mut alice_proc = Proc::spawn(net.run(&alice.banter(&args)));
    alice_proc.wait_for("the call active", T, |v| {
        v["event"] == "call" && v["state"] == "active"
    });
    std::thread::sleep(Duration::from_secs(3));
    net.ip("addr add 10.99.0.3/24 dev vb");
    net.ip("addr del 10.99.0.2/24 dev vb");

    let (ok, caller) = alice_proc.finish(T);
    assert!(ok, "alice's call failed: {caller:#?}");
    let (ok, callee) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {callee:#?}");
    assert_eq!(end_reason(&caller), "success");
    assert_eq!(end_reason(&callee), "success");
    let restarts = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "call_signal" && e["outgoing"] == true)
            // A restart's offer: new credentials, no candidate (log.rs).
            .filter(|e| {
                e["line"]
                    .as_str()
                    .is_some_and(|l| l.contains("ICE credentials; no candidate"))
            })
            .count()
    };
    eprintln!(
        "alice sent {} restart(s); her connection: {:?}",
        restarts(&caller),
        caller
            .iter()
            .filter(|e| e["event"] == "connected" || e["event"] == "connection_lost")
            .collect::<Vec<_>>()
    );
    assert!(
        restarts(&caller) >= 1,
        "alice restarted no ICE: {caller:#?}"
    );

    let heard = read_wav(&b_wav);
    let gap = Duration::from_secs_f32(longest_gap_ms(&heard, 48_000, 300) / 1000.0);
    eprintln!("the longest silence at Bob's: {gap:?}");
    assert!(
        gap <= Duration::from_secs(3),
        "silent for {gap:?} after the change"
    );
    let f = dominant_frequency(&heard[heard.len().saturating_sub(48_000)..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz at the end");
}

#[path = "../media/tests/support/mod.rs"]
mod turn;

/// A coturn on UDP and TCP (`port`) and TLS (`tls_port`, with the XMPP server's
/// certificate), a second plain coturn as another STUN server, and a Prosody listing
/// both (XEP-0215). The relay's secret is `relay_secret`: not the server's makes the
/// credentials it hands out wrong.
struct Services {
    server: Prosody,
    relay: Option<turn::Coturn>,
    second: Option<turn::Coturn>,
}

fn services() -> Services {
    services_with("xep-0215-secret")
}

fn services_with(relay_secret: &str) -> Services {
    let secret = "xep-0215-secret";
    let (port, tls_port) = (support::free_port(), support::free_port());
    let second = turn::Coturn::start();
    let server = Prosody::start_with_services(port, tls_port, secret, &[second.port]);
    let (cert, key) = (
        server.dir.path().join("cert.pem"),
        server.dir.path().join("key.pem"),
    );
    let auth = turn::TurnAuth::SharedSecret(relay_secret.into());
    let relay = turn::Coturn::start_all(auth, port, tls_port, &cert, &key);
    Services {
        server,
        relay: Some(relay),
        second: Some(second),
    }
}

/// `banter net-check --json` (plus `extra` arguments): its one `net_check` event.
fn net_check(s: &Services, extra: &[&str]) -> Value {
    let user = s.server.user("alice");
    let mut args = vec!["net-check"];
    args.extend(extra);
    let (ok, out, err) = support::run(user.banter(&args), T);
    assert!(ok, "net-check failed: {err}\n{out}");
    let ev: Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "net_check")
        .unwrap_or_else(|| panic!("no net_check event: {out}\n{err}"));
    eprintln!("{ev:#}");
    ev
}

fn steps_of<'a>(ev: &'a Value, check: &str) -> Vec<&'a Value> {
    ev["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["check"] == check)
        .collect()
}

fn advice(ev: &Value) -> Vec<(String, String)> {
    ev["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["level"].as_str().unwrap().to_string(),
                a["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Relayed addresses come from coturn's relay range (support/mod.rs: 40000–45000).
fn relayed_by_coturn(step: &Value) -> bool {
    step["relayed"]
        .as_str()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .is_some_and(|a| a.ip().is_loopback() && (40000..=45000).contains(&a.port()))
}

/// Every step against working services: both STUN servers answer and see this
/// machine's own address (redacted unless asked), the relay allocates over UDP, TCP
/// and TLS, no NAT; all advice is good.
#[test]
fn net_check_reports_stun_and_the_relay_over_udp_tcp_and_tls() {
    let s = services();
    let ev = net_check(&s, &[]);
    let stun = steps_of(&ev, "stun");
    assert_eq!(stun.len(), 2, "two STUN servers listed: {ev:#}");
    for st in &stun {
        assert_eq!(st["ok"], true, "{st:#}");
        assert_eq!(st["mapped"], "redacted", "{st:#}");
        assert_eq!(st["mapped_kind"], "own", "{st:#}");
    }
    for check in ["turn_udp", "turn_tcp", "turn_tls"] {
        let t = steps_of(&ev, check);
        assert_eq!(t.len(), 1, "{check}: {ev:#}");
        assert_eq!(t[0]["ok"], true, "{check}: {:#}", t[0]);
        assert!(relayed_by_coturn(t[0]), "{check}: {:#}", t[0]);
        assert!(t[0]["ms"].as_u64().unwrap() < 3000, "{:#}", t[0]);
    }
    assert_eq!(ev["mapping"], "direct");
    let a = advice(&ev);
    assert!(a.iter().all(|(level, _)| level == "good"), "{a:#?}");
    assert!(
        a[0].1.contains("relay works (over UDP, TCP, TLS)"),
        "{a:#?}"
    );

    // Asked for: the address in the JSON, and in the words for people.
    let shown = net_check(&s, &["--show-addresses"]);
    let mapped = steps_of(&shown, "stun")[0]["mapped"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(mapped.starts_with("127.0.0.1:"), "{shown:#}");
    let user = s.server.user("alice");
    let (ok, out, err) = support::run(user.banter_text("main", &["net-check"]), T);
    assert!(ok, "{err}");
    assert!(
        out.contains("sees this machine's own address (no NAT)"),
        "{out}"
    );
    assert!(
        !out.contains("(no NAT): 127"),
        "our own address is not printed unless asked: {out}"
    );
    let (ok, out, err) = support::run(
        user.banter_text("main", &["net-check", "--show-addresses"]),
        T,
    );
    assert!(ok, "{err}");
    assert!(out.contains("(no NAT): 127.0.0.1:"), "{out}");
    assert!(
        out.contains("What this means:") && out.contains("ok: The relay works"),
        "{out}"
    );
}

/// With coturn stopped, every step fails for its reason and the advice says that
/// nothing answered, first.
#[test]
fn net_check_with_the_relay_stopped_says_nothing_answered() {
    let mut s = services();
    s.relay.take();
    s.second.take();
    let started = Instant::now();
    let ev = net_check(&s, &[]);
    assert!(
        ev["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|st| st["ok"] == false),
        "{ev:#}"
    );
    assert_eq!(steps_of(&ev, "stun")[0]["error"], "no answer within 3 s");
    assert_eq!(
        steps_of(&ev, "turn_tcp")[0]["error"],
        "connection refused (nothing listens there)"
    );
    let a = advice(&ev);
    assert_eq!(a[0].0, "problem", "{a:#?}");
    assert!(
        a[0].1
            .contains("None of your server's STUN and TURN services answered (5 tried)"),
        "{a:#?}"
    );
    assert_eq!(ev["mapping"], "unknown");
    // The steps run at once: about one timeout, not five.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// With all UDP dropped (nftables, in the test's own namespace), STUN and the relay
/// over UDP fail, over TCP and TLS it still works, and the advice says calls go
/// through the relay.
#[test]
fn net_check_with_udp_blocked_finds_the_relay_over_tcp_and_tls() {
    assert!(
        isolate_network(),
        "this test drops all UDP with nftables: it needs a network namespace of its own (root)"
    );
    let s = services();
    let _blocked = UdpBlackout::start();
    let ev = net_check(&s, &[]);
    for check in ["stun", "turn_udp"] {
        for st in steps_of(&ev, check) {
            assert_eq!(st["ok"], false, "{st:#}");
        }
    }
    for check in ["turn_tcp", "turn_tls"] {
        let t = steps_of(&ev, check);
        assert_eq!(t[0]["ok"], true, "{:#}", t[0]);
        assert!(relayed_by_coturn(t[0]), "{:#}", t[0]);
    }
    let a = advice(&ev);
    assert_eq!(a[0].0, "warning", "{a:#?}");
    assert!(
        a[0].1.contains("UDP seems blocked") && a[0].1.contains("calls will go through the relay"),
        "{a:#?}"
    );
    assert!(
        a.iter()
            .any(|(l, t)| l == "good" && t.contains("over TCP, TLS")),
        "{a:#?}"
    );
}

/// A relay that does not share the XMPP server's secret refuses the credentials over
/// every transport, and the advice names that (the admin's mistake, not the network).
#[test]
fn net_check_with_a_wrong_turn_secret_says_the_secrets_differ() {
    let s = services_with("another-secret");
    let ev = net_check(&s, &[]);
    for st in steps_of(&ev, "stun") {
        assert_eq!(st["ok"], true, "STUN needs no credentials: {st:#}");
    }
    for check in ["turn_udp", "turn_tcp", "turn_tls"] {
        let t = steps_of(&ev, check);
        assert_eq!(t[0]["ok"], false, "{:#}", t[0]);
        assert_eq!(
            t[0]["error"],
            "the relay refused the credentials the XMPP server gave"
        );
    }
    let a = advice(&ev);
    assert!(
        a.iter()
            .any(|(l, t)| l == "problem" && t.contains("do not share the same secret")),
        "{a:#?}"
    );
    assert!(
        a.iter()
            .any(|(l, t)| l == "problem" && t.contains("did not work over any transport")),
        "{a:#?}"
    );
}

/// Behind a NAT that gives the second STUN server another source port than the relay
/// (nftables SNAT in the test's own namespace), the check finds the mapping varies
/// (a symmetric NAT) and says calls to people behind a NAT go through the relay.
#[test]
fn net_check_finds_a_symmetric_nat() {
    assert!(
        isolate_network(),
        "this test rewrites UDP with nftables: it needs a network namespace of its own (root)"
    );
    let s = services();
    let _nat = Nat::symmetric(s.second.as_ref().unwrap().port);
    let ev = net_check(&s, &["--show-addresses"]);
    let mapped: Vec<&str> = steps_of(&ev, "stun")
        .iter()
        .map(|st| st["mapped"].as_str().unwrap())
        .collect();
    assert_eq!(mapped.len(), 2, "{ev:#}");
    assert_ne!(mapped[0], mapped[1], "{ev:#}");
    assert_eq!(ev["mapping"], "varies", "{ev:#}");
    let a = advice(&ev);
    assert!(
        a.iter().any(|(l, t)| l == "warning"
            && t.contains("symmetric NAT")
            && t.contains("through the relay")),
        "{a:#?}"
    );
}

/// Behind a NAT that keeps one mapping for every destination, both STUN servers see
/// the same public address, not this machine's: the mapping is consistent.
#[test]
fn net_check_finds_a_nat_that_keeps_its_mapping() {
    assert!(
        isolate_network(),
        "this test rewrites UDP with nftables: it needs a network namespace of its own (root)"
    );
    let s = services();
    let ports = [
        s.second.as_ref().unwrap().port,
        s.relay.as_ref().unwrap().port,
    ];
    let _nat = Nat::cone(&ports);
    let ev = net_check(&s, &["--show-addresses"]);
    for st in steps_of(&ev, "stun") {
        assert_eq!(st["mapped"], "127.0.0.1:62000", "{st:#}");
    }
    assert_eq!(ev["mapping"], "consistent", "{ev:#}");
    let a = advice(&ev);
    assert!(
        a.iter()
            .any(|(l, t)| l == "good" && t.contains("same public address to all 2 servers")),
        "{a:#?}"
    );
}
