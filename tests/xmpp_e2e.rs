//! End-to-end tests of the XMPP core against a real Prosody started by the test.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event};
use banter::xmpp::presence::Show;
use banter::xmpp_parsers::jid::BareJid;
use serde_json::Value;
use support::{run, Proc, Prosody};

const T: Duration = Duration::from_secs(20);

fn bare(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

async fn next_matching(c: &mut ClientHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    support::next_event(c, what, T, pred).await
}

fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("BANTER_LOG"))
        .with_test_writer()
        .try_init();
}

async fn online(cfg: banter::Config) -> ClientHandle {
    init_log();
    let mut c = client::start(cfg).await.expect("login");
    next_matching(&mut c, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

#[test]
fn login_reports_bound_jid() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let (ok, out, err) = run(alice.banter(&["listen", "--duration", "0.5"]), T);
    assert!(ok, "listen failed: {err}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "connected");
    assert!(first["jid"]
        .as_str()
        .unwrap()
        .starts_with("alice@example.test/"));
}

#[test]
fn wrong_password_is_a_clear_error() {
    let server = Prosody::start();
    let alice = server.user("alice");
    std::fs::write(&alice.pw_file, "not-the-password").unwrap();
    let (ok, _, err) = run(
        alice.banter(&["send", "bob@example.test", "--body", "x"]),
        T,
    );
    assert!(!ok);
    assert!(err.starts_with("error: authentication failed"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn untrusted_certificate_refused_then_accepted_with_ca_file() {
    let server = Prosody::start();
    let alice = server.user("alice");
    // Without --ca-file: the self-signed certificate is refused with its fingerprint.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_banter"));
    cmd.args([
        "listen",
        "--duration",
        "0.5",
        "--jid",
        &alice.jid,
        "--server",
        &alice.server,
    ])
    .arg("--password-file")
    .arg(&alice.pw_file)
    .arg("--config-dir")
    .arg(alice.device_dir("nocert"));
    let (ok, _, err) = run(cmd, T);
    assert!(!ok);
    assert!(err.contains("certificate not trusted"), "{err}");
    let pem = std::fs::read(&alice.ca_file).unwrap();
    let der = rustls_pemfile_der(&pem);
    let fp = banter::xmpp::tls::fingerprint_sha256(&der);
    assert!(err.contains(&fp), "fingerprint {fp} missing from: {err}");
    // With it: accepted.
    let (ok, _, err) = run(alice.banter(&["listen", "--duration", "0.3"]), T);
    assert!(ok, "{err}");
}

fn rustls_pemfile_der(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn server_without_starttls_is_refused() {
    // A tiny fake server: answers the stream header with features lacking <starttls/>.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='example.test' version='1.0'><stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_banter"));
    cmd.args([
        "send",
        "bob@example.test",
        "--body",
        "secret",
        "--jid",
        "alice@example.test",
    ])
    .args(["--server", &format!("127.0.0.1:{port}")])
    .arg("--config-dir")
    .arg(dir.path())
    .env("BANTER_PASSWORD", "pw");
    let (ok, _, err) = run(cmd, T);
    assert!(!ok);
    assert!(err.contains("does not offer STARTTLS"), "{err}");
}

#[test]
fn bad_input_gets_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--jid".into(), "not a jid".into()], "invalid JID"),
        (
            vec![
                "--jid".into(),
                "a@example.test".into(),
                "--server".into(),
                format!("127.0.0.1:{port}"),
            ],
            "cannot reach server",
        ),
        (
            vec![
                "--jid".into(),
                "a@example.test".into(),
                "--ca-file".into(),
                "/nonexistent.pem".into(),
            ],
            "cannot use CA file",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_banter"));
        cmd.args(["send", "b@example.test", "--body", "x"])
            .args(&args)
            .arg("--config-dir")
            .arg(dir.path())
            .env("BANTER_PASSWORD", "pw");
        let (ok, _, err) = run(cmd, T);
        assert!(!ok, "{args:?} should fail");
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn messages_both_ways_and_history_survives_restart() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_listen = Proc::spawn(bob.banter(&["listen"]));
    bob_listen.wait_for("bob connected", T, |v| v["event"] == "connected");
    bob_listen.wait_for("bob caught up", T, |v| v["event"] == "caught_up");
    let (ok, _, err) = run(alice.banter(&["send", &bob.jid, "--body", "hello bob"]), T);
    assert!(ok, "{err}");
    let m = bob_listen.wait_for("message at bob", T, |v| v["event"] == "message");
    assert_eq!(m["body"], "hello bob");
    assert!(m["from"]
        .as_str()
        .unwrap()
        .starts_with("alice@example.test"));
    drop(bob_listen);

    let mut alice_listen = Proc::spawn(alice.banter(&["listen"]));
    alice_listen.wait_for("alice caught up", T, |v| v["event"] == "caught_up");
    let (ok, _, err) = run(bob.banter(&["send", &alice.jid, "--body", "hi alice"]), T);
    assert!(ok, "{err}");
    let m = alice_listen.wait_for("message at alice", T, |v| {
        v["event"] == "message" && v["direction"] == "in"
    });
    assert_eq!(m["body"], "hi alice");
    drop(alice_listen);

    // A new process with the same config dir reads both messages from local history,
    // without a server.
    let mut server = server;
    server.kill();
    let (ok, out, err) = run(bob.banter(&["history", &alice.jid]), T);
    assert!(ok, "{err}");
    let bodies: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(bodies, ["hello bob", "hi alice"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_subscription_presence_rename_remove() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(alice.config("pc")).await;
    let mut b = online(bob.config("pc")).await;

    a.send(Command::AddContact {
        jid: bare(&bob.jid),
        name: Some("Bob".into()),
    });
    next_matching(&mut a, "bob in alice's roster", |e| {
        matches!(e, Event::ContactChanged { contact } if contact.jid == "bob@example.test" && contact.name.as_deref() == Some("Bob"))
    })
    .await;
    next_matching(
        &mut b,
        "subscription request",
        |e| matches!(e, Event::SubscriptionRequest { from } if from == "alice@example.test"),
    )
    .await;
    b.send(Command::AnswerSubscription {
        jid: bare(&alice.jid),
        accept: true,
    });
    next_matching(&mut a, "subscription 'to' or 'both'", |e| {
        matches!(e, Event::ContactChanged { contact } if contact.jid == "bob@example.test" && (contact.subscription == "to" || contact.subscription == "both"))
    })
    .await;
    // Bob's presence reaches Alice, including a change of show and status.
    b.send(Command::SetPresence {
        show: Show::Away,
        status: Some("at lunch".into()),
    });
    next_matching(&mut a, "bob away", |e| {
        matches!(e, Event::Presence { from, show: Show::Away, status } if from.starts_with("bob@example.test/") && status.as_deref() == Some("at lunch"))
    })
    .await;
    // Bob advertises caps; Alice learns his Jingle features.
    next_matching(&mut a, "bob's features", |e| {
        matches!(e, Event::Features { jid, features } if jid.starts_with("bob@example.test/") && features.iter().any(|f| f == "urn:xmpp:jingle:apps:rtp:audio"))
    })
    .await;

    a.send(Command::RenameContact {
        jid: bare(&bob.jid),
        name: "Robert".into(),
    });
    next_matching(&mut a, "renamed", |e| {
        matches!(e, Event::ContactChanged { contact } if contact.name.as_deref() == Some("Robert"))
    })
    .await;
    a.send(Command::RemoveContact {
        jid: bare(&bob.jid),
    });
    next_matching(
        &mut a,
        "removed",
        |e| matches!(e, Event::ContactRemoved { jid } if jid == "bob@example.test"),
    )
    .await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn carbons_reach_the_other_resource() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut pc = online(alice.config("pc")).await;
    let mut phone = online(alice.config("phone")).await;
    let mut b = online(bob.config("pc")).await;
    // Let carbons enablement settle on both resources.
    next_matching(&mut phone, "phone caught up", |e| {
        matches!(e, Event::CaughtUp { .. })
    })
    .await;
    next_matching(&mut pc, "pc caught up", |e| {
        matches!(e, Event::CaughtUp { .. })
    })
    .await;

    pc.send(Command::SendMessage {
        id: "from-pc-1".into(),
        to: bare(&bob.jid),
        body: "sent on the pc".into(),
    });
    let ev = next_matching(&mut phone, "sent carbon", |e| {
        matches!(e, Event::Message { .. })
    })
    .await;
    let Event::Message { message } = ev else {
        unreachable!()
    };
    assert_eq!(message.body, "sent on the pc");
    assert_eq!(message.direction, banter::store::Direction::Out);
    assert_eq!(message.peer, "bob@example.test");

    // Bob answers to the pc's full JID only; the phone gets a received carbon.
    next_matching(&mut b, "bob got it", |e| matches!(e, Event::Message { .. })).await;
    b.send(Command::SendMessage {
        id: "from-bob-1".into(),
        to: bare(&alice.jid),
        body: "reply".into(),
    });
    let ev = next_matching(
        &mut phone,
        "received",
        |e| matches!(e, Event::Message { message } if message.body == "reply"),
    )
    .await;
    let Event::Message { message } = ev else {
        unreachable!()
    };
    assert_eq!(message.direction, banter::store::Direction::In);
    pc.shutdown().await;
    phone.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mam_catch_up_after_offline_exactly_once() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(alice.config("pc")).await;
    let mut b = online(bob.config("pc")).await;
    next_matching(&mut b, "bob caught up", |e| {
        matches!(e, Event::CaughtUp { .. })
    })
    .await;
    a.send(Command::SendMessage {
        id: "m1".into(),
        to: bare(&bob.jid),
        body: "one".into(),
    });
    next_matching(
        &mut b,
        "m1 live",
        |e| matches!(e, Event::Message { message } if message.body == "one"),
    )
    .await;
    b.shutdown().await;

    for (id, body) in [("m2", "two"), ("m3", "three")] {
        a.send(Command::SendMessage {
            id: id.into(),
            to: bare(&bob.jid),
            body: body.into(),
        });
        next_matching(
            &mut a,
            "acked",
            |e| matches!(e, Event::MessageAcked { id: acked } if acked == id),
        )
        .await;
    }

    let mut b = client::start(bob.config("pc")).await.unwrap();
    let mut bodies = Vec::new();
    let count = loop {
        match next_matching(&mut b, "catch-up", |e| {
            matches!(e, Event::Message { .. } | Event::CaughtUp { .. })
        })
        .await
        {
            Event::Message { message } => bodies.push(message.body),
            Event::CaughtUp { count } => break count,
            _ => unreachable!(),
        }
    };
    // Offline delivery may race with the archive: a duplicate would show up before a
    // message Alice sends now (her stanzas reach Bob in order, after the offline ones).
    a.send(Command::SendMessage {
        id: "m4".into(),
        to: bare(&bob.jid),
        body: "marker".into(),
    });
    loop {
        if let Event::Message { message } =
            next_matching(&mut b, "the marker", |e| matches!(e, Event::Message { .. })).await
        {
            if message.body == "marker" {
                break;
            }
            bodies.push(message.body);
        }
    }
    assert_eq!(
        bodies,
        ["two", "three"],
        "each missed message exactly once, in order"
    );
    assert!(count <= 2);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn burst_of_200_messages_arrives_once_in_order() {
    init_log();
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    support::chat::burst_of_200_arrives_once_in_order(&alice, &bob).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn message_sent_while_server_down_is_delivered_after_reconnect() {
    let mut server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(alice.config("pc")).await;
    server.kill();
    next_matching(&mut a, "connection lost", |e| {
        matches!(e, Event::ConnectionLost)
    })
    .await;
    a.send(Command::SendMessage {
        id: "while-down".into(),
        to: bare(&bob.jid),
        body: "queued while offline".into(),
    });
    // Taken (kept, pending) while the server is down, not only once it is back.
    next_matching(
        &mut a,
        "the message kept while offline",
        |e| matches!(e, Event::Message { message } if message.id == "while-down"),
    )
    .await;
    server.restart();
    next_matching(&mut a, "reconnected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    next_matching(
        &mut a,
        "acked after reconnect",
        |e| matches!(e, Event::MessageAcked { id } if id == "while-down"),
    )
    .await;
    let mut b = client::start(bob.config("pc")).await.unwrap();
    let ev = next_matching(&mut b, "delivered", |e| matches!(e, Event::Message { .. })).await;
    let Event::Message { message } = ev else {
        unreachable!()
    };
    assert_eq!(message.body, "queued while offline");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn direct_tls_login_xep_0368() {
    use banter::xmpp::connect::{login_at, ConnectOptions, Target};
    let server = Prosody::start();
    let alice = server.user("alice");
    let mut opts = ConnectOptions::new(
        banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap(),
        alice.password.clone(),
        banter::xmpp::tls::build(Some(&alice.ca_file)).unwrap(),
    );
    opts.timeout = T;
    opts.timeouts = tokio_xmpp::xmlstream::Timeouts::tight();
    let target = Target {
        host: "127.0.0.1".into(),
        port: server.tls_port,
        direct_tls: true,
        explicit: true,
    };
    let conn = login_at(&opts, &target).await.expect("direct TLS login");
    assert!(conn.features.can_bind());
    // The STARTTLS port does not speak TLS first: that attempt fails cleanly.
    let wrong = Target {
        host: "127.0.0.1".into(),
        port: server.port,
        direct_tls: true,
        explicit: true,
    };
    assert!(login_at(&opts, &wrong).await.is_err());
}

/// `--server` takes a direct-TLS port: said with `tls:`, or found by trying it after
/// STARTTLS failed there (issue #20: `--server HOST:5223` was "not an XMPP server?").
#[test]
fn server_option_takes_a_direct_tls_port() {
    let server = Prosody::start();
    let alice = server.user("alice");
    // `listen` for a moment with `--server SPEC`.
    let listen_at = |spec: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_banter"));
        cmd.args(["listen", "--duration", "0.3", "--json", "--jid", &alice.jid])
            .args(["--server", spec])
            .arg("--password-file")
            .arg(&alice.pw_file)
            .arg("--ca-file")
            .arg(&alice.ca_file)
            .arg("--config-dir")
            .arg(alice.device_dir("tls"));
        run(cmd, T)
    };
    for spec in [
        format!("tls:127.0.0.1:{}", server.tls_port),
        format!("127.0.0.1:{}", server.tls_port),
    ] {
        let (ok, out, err) = listen_at(&spec);
        assert!(ok, "--server {spec}: {err}");
        assert!(out.contains("\"connected\""), "{out}");
    }
    // `starttls:` forbids the fallback: that port does not speak STARTTLS.
    let (ok, _, err) = listen_at(&format!("starttls:127.0.0.1:{}", server.tls_port));
    assert!(!ok);
    assert!(err.starts_with("error: "), "{err}");
}

/// Issue #20: a Banter ended by SIGTERM (or SIGINT) closes its stream, so its other
/// devices and contacts see it go offline at once instead of a ghost session that
/// stream management keeps until it times out.
#[test]
fn sigterm_closes_the_session_cleanly() {
    let server = Prosody::start();
    let alice = server.user("alice");
    // Another device of Alice's sees her other resources' presence.
    let mut other = support::raw::RawClient::login(&alice, "other");
    other.send("<presence/>");
    let mut l = Proc::spawn(alice.banter(&["listen"]));
    let connected = l.wait_for("connected", T, |v| v["event"] == "connected");
    let full = connected["jid"].as_str().unwrap().to_string();
    other.read_until(&format!("from='{full}'"));
    l.signal(libc::SIGTERM);
    let (ok, _) = l.finish(T);
    assert!(ok, "listen ends with success on SIGTERM");
    // Unavailable at once (Prosody would keep a dropped session for a minute).
    other.expect_unavailable(&full);
}

/// Issue #20: `banter account register` creates an account (XEP-0077) and signs in
/// with it; a taken name and a server without registration each say so in words.
#[test]
fn account_register_creates_the_account_and_says_why_not() {
    let server = Prosody::start_with_registration();
    let newbie = server.unregistered_user("newbie");
    let (ok, out, err) = run(newbie.banter(&["account", "register"]), T);
    assert!(ok, "register: {err}");
    assert!(out.contains("registered newbie@example.test"), "{out}");
    let (ok, _, err) = run(newbie.banter(&["listen", "--duration", "0.3"]), T);
    assert!(ok, "the new account signs in: {err}");
    // The same name again.
    let (ok, _, err) = run(newbie.banter(&["account", "register"]), T);
    assert!(!ok);
    assert!(
        err.starts_with("error: registration refused: that name is taken"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // A server that does not offer registration.
    let closed = Prosody::start();
    let nobody = closed.unregistered_user("nobody");
    let (ok, _, err) = run(nobody.banter(&["account", "register"]), T);
    assert!(!ok);
    assert!(err.starts_with("error: registration refused: "), "{err}");
    assert!(err.contains("does not"), "{err}");
}

/// XEP-0077 from a signed-in account: a new password, then deletion.
#[test]
fn account_password_change_and_deletion() {
    let server = Prosody::start_with_registration();
    support::account::password_change_then_delete(&server.user("carol"));
}

/// XEP-0085: Alice's typing reaches Bob as events; the notifications are not history.
#[tokio::test(flavor = "multi_thread")]
async fn typing_notifications_reach_the_contact_and_are_not_history() {
    use banter::client::Typing as ChatState;
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let a = online(alice.config("pc")).await;
    let mut b = online(bob.config("pc")).await;
    next_matching(&mut b, "bob caught up", |e| {
        matches!(e, Event::CaughtUp { .. })
    })
    .await;
    for (state, name) in [
        (ChatState::Composing, "composing"),
        (ChatState::Paused, "paused"),
    ] {
        a.send(Command::SendChatState {
            to: bare(&bob.jid),
            state,
        });
        let ev = next_matching(&mut b, name, |e| matches!(e, Event::ChatState { .. })).await;
        let Event::ChatState { from, state } = ev else {
            unreachable!()
        };
        assert_eq!((from.as_str(), state.as_str()), (alice.jid.as_str(), name));
    }
    a.send(Command::SendMessage {
        id: "m1".into(),
        to: bare(&bob.jid),
        body: "done typing".into(),
    });
    // The message says `active`: the peer stops showing "typing…".
    let ev = next_matching(&mut b, "active", |e| matches!(e, Event::ChatState { .. })).await;
    assert!(
        matches!(ev, Event::ChatState { state, .. } if state == banter::client::Typing::Active)
    );
    next_matching(&mut b, "message", |e| matches!(e, Event::Message { .. })).await;
    b.send(Command::LoadHistory {
        peer: bare(&alice.jid),
        before_seq: None,
        limit: 50,
    });
    let ev = next_matching(&mut b, "history", |e| matches!(e, Event::History { .. })).await;
    let Event::History { messages, .. } = ev else {
        unreachable!()
    };
    let bodies: Vec<_> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["done typing"]);
    a.shutdown().await;
    b.shutdown().await;
}
