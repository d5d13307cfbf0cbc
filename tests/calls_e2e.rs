//! Calls end to end: two Banters through a real Prosody, audio checked at each far end.

mod support;

use std::time::Duration;

use banter_media::audio::analysis::dominant_frequency;
use serde_json::Value;
use support::{media_args, read_wav, states, Proc, Prosody, User};

const T: Duration = Duration::from_secs(30);

fn answering(bob: &User, alice: &User, wav: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("tone:880", wav));
    args.extend(extra);
    let mut p = Proc::spawn(bob.banter(&args));
    // Caught up means the server has our presence too: only available resources get
    // messages sent to the bare JID, such as a call proposal.
    p.wait_for("bob online", T, |v| v["event"] == "caught_up");
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

    let report = dir.path().join("report.txt");
    let mut args = vec!["call", bob.jid.as_str(), "--duration", "3", "--report"];
    args.push(report.to_str().unwrap());
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

    // Alice's call report (#19 item 5): the story of the call, no address in it.
    let text = std::fs::read_to_string(&report).unwrap();
    for want in [
        "outgoing audio call with a contact at",
        "ended: ended (success)",
        "selected pairs: host",
        "sent  JMI propose",
        "recv  JMI proceed",
        "sent  session-initiate (contents: ",
        "recv  session-accept (contents: ",
        "opus/48000",
        "the peer's client: Banter ",
        "recv  transport-info (candidates: host)",
        "sent  session-terminate (success)",
        "first audio from the peer",
    ] {
        assert!(text.contains(want), "{want:?} not in the report:\n{text}");
    }
    assert!(
        !text.contains("127.0.0.1") && !text.contains("bob@"),
        "{text}"
    );
    let quality = text
        .lines()
        .skip_while(|l| !l.starts_with("quality"))
        .count();
    assert!(quality >= 3, "no figures: {text}");
}

// ---- the same flows driven through the library, for the parts the CLI does not expose

use banter::client::{self, CallStatus, ClientHandle, Command, Event};
use banter::jingle::Reason;
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, MediaConfig};

fn media(tone: f32) -> MediaConfig {
    let mut m = MediaConfig::new(SourceSpec::Tone(tone), SinkSpec::Null);
    m.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    m
}

async fn lib_client(
    user: &User,
    device: &str,
    caller: Option<&User>,
    ring: Duration,
) -> ClientHandle {
    let mut cfg = user.config(device);
    cfg.media = Some(media(660.0));
    cfg.ring_timeout = ring;
    if let Some(c) = caller {
        cfg.call_policy.allowed = vec![banter::xmpp_parsers::jid::BareJid::new(&c.jid).unwrap()];
    }
    let mut c = client::start(cfg).await.expect("login");
    next_call_event(&mut c, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

async fn next_call_event(c: &mut ClientHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    support::next_event(c, what, T, pred).await
}

fn is_state(e: &Event, want: &str) -> bool {
    matches!(e, Event::Call { state, .. } if state.as_str() == want)
}

fn call_id(e: &Event) -> String {
    match e {
        Event::Call { id, .. } => id.clone(),
        _ => unreachable!(),
    }
}

fn reason(e: &Event) -> String {
    match e {
        Event::Call { reason, .. } => reason.map(|r| r.as_str().to_string()).unwrap_or_default(),
        _ => unreachable!(),
    }
}

const RING: Duration = Duration::from_secs(45);

#[test]
fn bob_hangs_up_and_both_see_success() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let bob_proc = answering(&bob, &alice, "null", &["--duration", "2"]);
    let mut args = vec!["call", bob.jid.as_str()];
    args.extend(media_args("tone:440", "null"));
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "{a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "{b_events:#?}");
    let last = a_events
        .iter()
        .rev()
        .find(|e| e["event"] == "call")
        .unwrap();
    assert_eq!(last["state"], "ended");
    assert_eq!(last["reason"], "success");
}

#[tokio::test(flavor = "multi_thread")]
async fn bob_declines_busy() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut args = vec!["call", bob.jid.as_str()];
    args.extend(media_args("tone:440", "null"));
    let alice_proc = Proc::spawn(alice.banter(&args));
    let ringing = next_call_event(&mut b, "ringing", |e| is_state(e, "ringing")).await;
    b.send(Command::RejectCall {
        id: call_id(&ringing),
        reason: Reason::Busy,
    });
    let (ok, events) = alice_proc.finish(T);
    assert!(!ok, "a declined call is not a success");
    let last = events.iter().rev().find(|e| e["event"] == "call").unwrap();
    assert_eq!(last["reason"], "busy");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_retracts_before_answer_and_bob_sees_a_missed_call() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut a = lib_client(&alice, "pc", None, RING).await;
    a.send(Command::Call {
        id: "retract-me".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut a, "bob's phone rings", |e| is_state(e, "ringing")).await;
    next_call_event(&mut b, "ringing at bob", |e| is_state(e, "ringing")).await;
    a.send(Command::Hangup {
        id: "retract-me".into(),
    });
    let ended = next_call_event(&mut b, "ended at bob", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "cancel");
    let ended = next_call_event(&mut a, "ended at alice", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "cancel");
    // Bob's call history has it as a missed (never active) incoming call.
    b.send(Command::LoadCallHistory { limit: 10 });
    let ev = next_call_event(&mut b, "call history", |e| {
        matches!(e, Event::CallHistory { .. })
    })
    .await;
    let Event::CallHistory { calls } = ev else {
        unreachable!()
    };
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].peer, alice.jid);
    assert_eq!(calls[0].direction, banter::store::Direction::In);
    assert_eq!(calls[0].duration_s, None);
    assert_eq!(calls[0].reason, "cancel");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_answers_and_the_call_times_out() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut a = lib_client(&alice, "pc", None, Duration::from_secs(2)).await;
    a.send(Command::Call {
        id: "nobody".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut b, "ringing at bob", |e| is_state(e, "ringing")).await;
    let ended = next_call_event(&mut a, "ended at alice", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "timeout");
    let ended = next_call_event(&mut b, "ended at bob", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "timeout");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn second_device_stops_ringing_when_the_first_accepts() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut phone = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut laptop = lib_client(&bob, "laptop", Some(&alice), RING).await;
    let mut a = lib_client(&alice, "pc", None, RING).await;
    a.send(Command::Call {
        id: "two-devices".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut laptop, "laptop rings", |e| is_state(e, "ringing")).await;
    let ringing = next_call_event(&mut phone, "phone rings", |e| is_state(e, "ringing")).await;
    phone.send(Command::AcceptCall {
        id: call_id(&ringing),
        video: false,
    });
    let ended = next_call_event(&mut laptop, "laptop stops", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "answered-elsewhere");
    next_call_event(&mut a, "active at alice", |e| is_state(e, "active")).await;
    next_call_event(&mut phone, "active at phone", |e| is_state(e, "active")).await;
    a.send(Command::Hangup {
        id: "two-devices".into(),
    });
    let ended = next_call_event(&mut phone, "ended at phone", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "success");
    for c in [a, phone, laptop] {
        c.shutdown().await;
    }
}

#[test]
fn direct_session_initiate_to_a_full_jid() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let bob_proc = answering(
        &bob,
        &alice,
        b_wav.to_str().unwrap(),
        &["--resource", "desk"],
    );
    let full = format!("{}/desk", bob.jid);
    let mut args = vec!["call", full.as_str(), "--duration", "2"];
    args.extend(media_args("tone:440", "null"));
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "{a_events:#?}");
    // No proposal: straight from connecting to active.
    assert!(!states(&a_events).contains(&"proposing".to_string()));
    let (ok, _) = bob_proc.finish(T);
    assert!(ok);
    let at_bob = read_wav(&b_wav);
    let f = dominant_frequency(&at_bob[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_is_not_rung_unless_anyone_may_call() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut c = lib_client(&carol, "pc", None, Duration::from_secs(2)).await;
    c.send(Command::Call {
        id: "spam".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    let ended = next_call_event(&mut c, "carol's call ends", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "timeout");
    // Bob's client never rang: nothing about a call reached it before a message Carol
    // sent after her call ended (one sender's stanzas arrive in order).
    c.send(Command::SendMessage {
        id: "after-spam".into(),
        to: banter::xmpp_parsers::jid::BareJid::new(&bob.jid).unwrap(),
        body: "after the call".into(),
    });
    loop {
        let ev = next_call_event(&mut b, "carol's message", |_| true).await;
        assert!(!matches!(ev, Event::Call { .. }), "bob was rung: {ev:?}");
        if matches!(&ev, Event::Message { message } if message.body == "after the call") {
            break;
        }
    }
    // With "anyone may call" (a setting), the same call rings.
    b.send(Command::Settings(client::SettingsChange::CallsFromAnyone(
        true,
    )));
    // Commands are handled in order: once this answer is out, the setting holds (the
    // proposal below could otherwise reach Bob's client before the setting does).
    b.send(Command::LoadCallHistory { limit: 1 });
    next_call_event(&mut b, "bob's setting applied", |e| {
        matches!(e, Event::CallHistory { .. })
    })
    .await;
    c.send(Command::Call {
        id: "welcome".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut b, "bob rings", |e| is_state(e, "ringing")).await;
    c.send(Command::Hangup {
        id: "welcome".into(),
    });
    b.shutdown().await;
    c.shutdown().await;
}

#[path = "../media/tests/support/mod.rs"]
mod turn;

#[test]
fn relay_only_call_through_coturn_with_credentials_from_the_server() {
    relay_only_call(false);
}

/// The server advertises TURN over UDP and TCP (XEP-0215) and coturn answers only on
/// TCP, as behind a firewall that drops UDP.
#[test]
fn relay_only_call_through_coturn_over_tcp() {
    relay_only_call(true);
}

/// A server advertising TURN over TLS (XEP-0215 `turns`, which Prosody lists without
/// credentials) and a coturn answering only on TLS, as on networks that let nothing
/// but TLS out; the plain `turn` entries name a port where nothing listens. coturn's
/// certificate: `stranger`'s, or the XMPP server's (trusted by the account's CA file).
fn tls_only_relay(stranger: Option<&std::path::Path>) -> (Prosody, turn::Coturn) {
    let secret = "xep-0215-secret";
    let port = support::free_port();
    let server = Prosody::start_with_turn_tls(port, secret);
    let dir = stranger.unwrap_or(server.dir.path());
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let auth = turn::TurnAuth::SharedSecret(secret.into());
    let coturn = turn::Coturn::start_tls_only(auth, port, &cert, &key);
    (server, coturn)
}

/// A relay-only call through the TLS-only relay: its certificate is checked as the
/// XMPP server's is (here: the account's CA file).
#[test]
fn relay_only_call_through_coturn_over_tls() {
    let (server, _coturn) = tls_only_relay(None);
    let alice = server.user("alice");
    let bob = server.user("bob");
    support::calls::relay_only_call(&alice, &bob, String::new);
}

/// The same TLS-only TURN server with a certificate nobody vouches for: it is not
/// used (no relay, so the relay-only call cannot connect), as an XMPP server with
/// that certificate would be refused.
#[test]
fn turn_over_tls_with_an_untrusted_certificate_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), stranger.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        stranger.signing_key.serialize_pem(),
    )
    .unwrap();
    let (server, _coturn) = tls_only_relay(Some(dir.path()));
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (ok, events, _bob) = support::calls::relay_only_attempt(&alice, &bob, "null");
    assert!(!ok, "a call through an untrusted relay: {events:#?}");
    // Said in words, not only in the log.
    assert!(
        events.iter().any(|e| e["event"] == "error"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("certificate is not trusted"))),
        "{events:#?}"
    );
    let s = states(&events);
    assert!(!s.contains(&"active".to_string()), "{s:?}");
    let reason = events
        .iter()
        .rev()
        .find(|e| e["event"] == "call")
        .map(|e| e["reason"].clone());
    assert_eq!(
        reason,
        Some(Value::from("connectivity-error")),
        "{events:#?}"
    );
}

fn relay_only_call(tcp_only: bool) {
    let secret = "xep-0215-secret";
    let coturn = turn::Coturn::start_opts(turn::TurnAuth::SharedSecret(secret.into()), tcp_only);
    let server = Prosody::start_with_turn(Some((coturn.port, secret)));
    let alice = server.user("alice");
    let bob = server.user("bob");
    support::calls::relay_only_call(&alice, &bob, String::new);
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_vanishing_mid_call_ends_it_and_the_next_call_works() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = lib_client(&alice, "pc", None, RING).await;
    let bob_proc = answering(&bob, &alice, "null", &[]);
    a.send(Command::Call {
        id: "first".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut a, "first call active", |e| is_state(e, "active")).await;
    // Bob's process is killed: no hang-up, no goodbye. Either the server reports the
    // device gone, or (when it keeps the session for resumption, as Prosody does) ICE
    // notices the silence, and Alice's ICE restarts go unanswered: after five (about
    // 50 s from the kill; #19: a peer whose network is down answers none either, and
    // gets that long to come back) Bob is taken to be gone. Before ICE restarts the
    // call ended when ICE failed, 20 s after the kill.
    drop(bob_proc);
    let ended = support::next_event(&mut a, "first call ended", Duration::from_secs(90), |e| {
        is_state(e, "ended")
    })
    .await;
    assert!(
        ["gone", "connectivity-error"].contains(&reason(&ended).as_str()),
        "{ended:?}"
    );

    let mut bob_proc = answering(&bob, &alice, "null", &["--duration", "1"]);
    a.send(Command::Call {
        id: "second".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(
        &mut a,
        "second call active",
        |e| matches!(e, Event::Call { id, state, .. } if id == "second" && *state == CallStatus::Active),
    )
    .await;
    let ended = next_call_event(&mut a, "second call ended", |e| is_state(e, "ended")).await;
    assert_eq!(reason(&ended), "success");
    bob_proc.wait_for("bob's call ended", T, |v| {
        v["event"] == "call" && v["state"] == "ended"
    });
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_calls_become_one() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = lib_client(&alice, "pc", Some(&bob), RING).await;
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    a.send(Command::Call {
        id: "aaaa-from-alice".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    b.send(Command::Call {
        id: "zzzz-from-bob".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap(),
        video: false,
    });
    // The smaller id wins on both sides.
    let active_a = next_call_event(&mut a, "alice active", |e| is_state(e, "active")).await;
    let active_b = next_call_event(&mut b, "bob active", |e| is_state(e, "active")).await;
    assert_eq!(call_id(&active_a), "aaaa-from-alice");
    assert_eq!(call_id(&active_b), "aaaa-from-alice");
    a.send(Command::Hangup {
        id: "aaaa-from-alice".into(),
    });
    next_call_event(&mut b, "bob ended", |e| is_state(e, "ended")).await;
    a.shutdown().await;
    b.shutdown().await;
}

/// Alice puts the call on hold for two seconds: Bob is told (session-info) and what he
/// records from her goes silent for that time, then her tone comes back.
#[tokio::test(flavor = "multi_thread")]
async fn hold_silences_the_call_and_the_peer_is_told() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let bob_proc = answering(&bob, &alice, b_wav.to_str().unwrap(), &[]);
    let mut a = lib_client(&alice, "pc", None, RING).await;
    a.send(Command::Call {
        id: "held".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: false,
    });
    next_call_event(&mut a, "active", |e| is_state(e, "active")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for held in [true, false] {
        a.send(Command::HoldCall {
            id: "held".into(),
            held,
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    a.send(Command::Hangup { id: "held".into() });
    next_call_event(&mut a, "ended", |e| is_state(e, "ended")).await;
    // Alice's call history: an outgoing call of about six seconds.
    a.send(Command::LoadCallHistory { limit: 10 });
    let ev = next_call_event(&mut a, "call history", |e| {
        matches!(e, Event::CallHistory { .. })
    })
    .await;
    let Event::CallHistory { calls } = ev else {
        unreachable!()
    };
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].direction, banter::store::Direction::Out);
    assert_eq!(calls[0].reason, "success");
    assert!(matches!(calls[0].duration_s, Some(5..=7)), "{:?}", calls[0]);
    let (_, b_events) = bob_proc.finish(T);
    let infos: Vec<_> = b_events
        .iter()
        .filter(|e| e["event"] == "call_info")
        .map(|e| e["info"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(infos, ["hold", "unhold"], "{b_events:#?}");

    let rec = read_wav(&b_wav);
    let start = rec.iter().position(|s| s.abs() > 1000).expect("tone heard");
    // The longest quiet stretch after the tone began is the hold.
    let (mut best, mut best_at, mut run) = (0, 0, 0);
    for (i, s) in rec[start..].iter().enumerate() {
        run = if s.abs() < 50 { run + 1 } else { 0 };
        if run > best {
            (best, best_at) = (run, start + i + 1 - run);
        }
    }
    let secs = best as f64 / 48_000.0;
    assert!((1.5..2.6).contains(&secs), "quiet for {secs:.2} s");
    let after = &rec[best_at + best..];
    assert!(after.len() > 24_000, "the call went on after the hold");
    let f = dominant_frequency(&after[..24_000], 48_000);
    assert!((f - 660.0).abs() <= 5.0, "{f} Hz after unhold");
    // Before the hold it was the tone too.
    let f = dominant_frequency(&rec[best_at - 24_000..best_at], 48_000);
    assert!((f - 660.0).abs() <= 5.0, "{f} Hz before hold");
}

/// Alice calls Bob through a fresh Prosody: Bob answers (recording audio to `bob_out`,
/// with `bob_args`), Alice calls with a 440 Hz tone and `call_args`. Both must succeed;
/// their events.
fn alice_calls_bob(bob_out: &str, bob_args: &[&str], call_args: &[&str]) -> Events2 {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let bob_proc = answering(&bob, &alice, bob_out, bob_args);
    let mut args = vec!["call", bob.jid.as_str()];
    args.extend(call_args);
    args.extend(media_args("tone:440", "null"));
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "alice's call failed: {a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");
    (a_events, b_events)
}

/// Alice's and Bob's events.
type Events2 = (Vec<Value>, Vec<Value>);

/// The burned-in numbers of a `--video-out` recording: 640x480, increasing, and how
/// many pictures there are.
fn pattern_frames(path: &std::path::Path) -> usize {
    use banter_media::video::pattern;
    let data = std::fs::read(path).unwrap_or_default();
    let (size, numbers) = pattern::numbers_in_y4m(&data).expect("a Y4M recording");
    assert_eq!(size, (640, 480));
    assert!(
        pattern::increasing(&numbers, 5),
        "frame numbers must increase: {numbers:?}"
    );
    numbers.len()
}

/// The video figures of a run's `stats` events (those that have video).
fn video_fps(events: &[Value]) -> Vec<f64> {
    events
        .iter()
        .filter(|e| e["event"] == "stats")
        .filter_map(|e| e["video_fps"].as_f64())
        .collect()
}

/// A video call with the test pattern both ways through Prosody: both sides decode
/// 640x480 at 25 fps or more, the numbers in the pictures arrive in order, and the
/// bitrate is reported.
#[test]
fn video_call_with_the_pattern_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let a_y4m = dir.path().join("alice-saw.y4m");
    let b_y4m = dir.path().join("bob-saw.y4m");
    let (b_out, a_out) = (b_y4m.to_str().unwrap(), a_y4m.to_str().unwrap());
    let (a_events, b_events) = alice_calls_bob(
        "null",
        &["--video", "--video-in", "pattern", "--video-out", b_out],
        &[
            "--video",
            "--duration",
            "6",
            "--video-in",
            "pattern",
            "--video-out",
            a_out,
        ],
    );
    for events in [&a_events, &b_events] {
        let call = events.iter().find(|e| e["event"] == "call").unwrap();
        assert_eq!(call["media"], serde_json::json!(["audio", "video"]));
        assert!(events
            .iter()
            .any(|e| e["event"] == "call_video" && e["width"] == 640 && e["height"] == 480));
        let fps = video_fps(events);
        assert!(fps.len() >= 4, "{fps:?}");
        // Sustained after the first two seconds.
        assert!(fps[2..].iter().all(|f| *f >= 25.0), "{fps:?}");
        let kbps: Vec<f64> = events
            .iter()
            .filter_map(|e| e["video_recv_kbps"].as_f64())
            .collect();
        assert!(kbps[2..].iter().all(|k| *k > 100.0), "{kbps:?}");
    }
    assert!(pattern_frames(&a_y4m) >= 100);
    assert!(pattern_frames(&b_y4m) >= 100);
}

/// Alice turns her camera on two seconds into an audio call: a content-add that Bob's
/// Banter accepts; Bob's recording of her pattern increases, and her tone goes on.
#[test]
fn video_added_to_an_audio_call() {
    let dir = tempfile::tempdir().unwrap();
    let b_y4m = dir.path().join("bob-saw.y4m");
    let b_wav = dir.path().join("bob-heard.wav");
    let (a_events, b_events) = alice_calls_bob(
        b_wav.to_str().unwrap(),
        &["--video-out", b_y4m.to_str().unwrap()],
        &[
            "--duration",
            "6",
            "--video-in",
            "pattern",
            "--add-video-after",
            "2",
        ],
    );
    let media = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["event"] == "call")
            .map(|e| e["media"].clone())
            .collect()
    };
    for events in [&a_events, &b_events] {
        let m = media(events);
        assert_eq!(m[0], serde_json::json!(["audio"]), "{m:?}");
        assert!(
            m.contains(&serde_json::json!(["audio", "video"])),
            "video was never added: {m:?}"
        );
    }
    assert!(pattern_frames(&b_y4m) >= 60);
    let fps = video_fps(&b_events);
    assert!(fps.iter().any(|f| *f >= 25.0), "{fps:?}");
    let at_bob = read_wav(&b_wav);
    let f = dominant_frequency(&at_bob[at_bob.len() - 48_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz at the end");
}

/// A video call from a machine without a camera (this one): the missing camera is
/// reported in words, and the call goes on as an audio call.
#[test]
fn video_call_without_a_camera_goes_on_as_audio() {
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("bob-heard.wav");
    let (a_events, _) = alice_calls_bob(
        b_wav.to_str().unwrap(),
        &[],
        &[
            "--video",
            "--duration",
            "3",
            "--video-in",
            "camera:No Such Camera",
        ],
    );
    let warning = a_events
        .iter()
        .find(|e| e["event"] == "error")
        .unwrap_or_else(|| panic!("no camera warning: {a_events:#?}"));
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains("No Such Camera") && message.contains("without video"),
        "{message}"
    );
    let media: Vec<&Value> = a_events
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| &e["media"])
        .collect();
    assert_eq!(
        media.last().unwrap(),
        &&serde_json::json!(["audio"]),
        "{media:?}"
    );
    let at_bob = read_wav(&b_wav);
    let f = dominant_frequency(&at_bob[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "bob heard {f} Hz");
}

/// Issue #17: a camera that takes 8 s to open (`slow-pattern:8000`) holds up nothing
/// but its own call. Alice calls Bob with video; Bob answers and once her call is
/// connecting, while her camera opens, writes to her: his message reaches her within 3 s,
/// before her camera is open and her call active, and the call then goes on
/// with her video. Alice's client runs on a runtime of one thread of its own: a
/// camera opened on it, or a media setup awaited by her account task, would hold
/// the message until the camera is open.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_camera_holds_up_nothing_else() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut b = lib_client(&bob, "phone", Some(&alice), RING).await;
    let mut cfg = alice.config("pc");
    let mut m = media(440.0);
    m.video_in = banter_media::video::VideoSourceSpec::SlowPattern(8_000);
    cfg.media = Some(m);
    cfg.call_policy.allowed = vec![banter::xmpp_parsers::jid::BareJid::new(&bob.jid).unwrap()];
    let alices = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut a = alices
        .spawn(client::start(cfg))
        .await
        .unwrap()
        .expect("login");
    next_call_event(&mut a, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;

    a.send(Command::Call {
        id: "slow".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&bob.jid).unwrap(),
        video: true,
    });
    let ringing = next_call_event(&mut b, "ringing", |e| is_state(e, "ringing")).await;
    b.send(Command::AcceptCall {
        id: call_id(&ringing),
        video: false,
    });
    // Alice's camera starts opening when Bob's answer reaches her, which her call
    // says by going to "connecting"; the camera then takes 8 s.
    next_call_event(&mut a, "connecting", |e| is_state(e, "connecting")).await;
    let sent = std::time::Instant::now();
    b.send(Command::SendPlain {
        id: "meanwhile".into(),
        to: banter::xmpp_parsers::jid::BareJid::new(&alice.jid).unwrap(),
        body: "while your camera opens".into(),
    });
    let first = next_call_event(&mut a, "bob's message or the call active", |e| {
        matches!(e, Event::Message { message } if message.body == "while your camera opens")
            || is_state(e, "active")
            || is_state(e, "ended")
    })
    .await;
    assert!(
        matches!(first, Event::Message { .. }),
        "the call got ahead of the message: {first:?}"
    );
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "the message waited for the camera: {:?}",
        sent.elapsed()
    );
    let active = next_call_event(&mut a, "the call active", |e| {
        is_state(e, "active") || is_state(e, "ended")
    })
    .await;
    assert!(is_state(&active, "active"), "{active:?}");
    // The message really was sent while the camera was opening (8 s), not after.
    assert!(
        sent.elapsed() > Duration::from_secs(5),
        "the call was active {:?} after the message: the camera was not opening",
        sent.elapsed()
    );
    a.send(Command::Hangup { id: "slow".into() });
    next_call_event(&mut a, "the end", |e| is_state(e, "ended")).await;
    a.shutdown().await;
    b.shutdown().await;
    alices.shutdown_background();
}
