//! Banter against ejabberd (the Debian package) with its default SASL mechanisms: the
//! SCRAM `-PLUS` ones offered without XEP-0440. Sign-in, chat (offline and live, in
//! order) and a call with tones both ways, as on Prosody.

mod support;

use std::time::Duration;

use banter_media::audio::analysis::dominant_frequency;
use serde_json::Value;
use support::ejabberd::Ejabberd;
use support::{media_args, read_wav, run, states, Proc};

const T: Duration = Duration::from_secs(30);

fn is(ev: &Value, name: &str) -> bool {
    ev["event"] == name
}

/// Fails on the code before XEP-0440 decided channel binding: Banter sent
/// `p=tls-exporter` to an ejabberd that takes only `tls-unique`, and every login was
/// reported as a wrong password.
#[test]
fn signs_in_although_ejabberd_offers_plus_mechanisms_without_xep_0440() {
    let server = Ejabberd::start();
    let alice = server.user("alice");
    let (ok, out, err) = run(alice.banter(&["listen", "--duration", "0.5"]), T);
    assert!(ok, "listen failed: {err}\n{}", server.log());
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "connected");
    // A wrong password is still called one.
    std::fs::write(&alice.pw_file, "not-the-password").unwrap();
    let (ok, _, err) = run(alice.banter(&["listen", "--duration", "0.5"]), T);
    assert!(!ok);
    assert!(err.starts_with("error: authentication failed"), "{err}");
}

/// `banter account register` against ejabberd's mod_register (XEP-0077).
#[test]
fn account_register_on_ejabberd() {
    let server = Ejabberd::start();
    let newbie = server.unregistered_user("newbie");
    let (ok, out, err) = run(newbie.banter(&["account", "register"]), T);
    assert!(ok, "register: {err}\n{}", server.log());
    assert!(out.contains("registered newbie@example.test"), "{out}");
    let (ok, _, err) = run(newbie.banter(&["account", "register"]), T);
    assert!(!ok);
    assert!(err.contains("that name is taken"), "{err}");
}

#[test]
fn chat_offline_and_live_arrives_in_order() {
    let server = Ejabberd::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    for i in 1..=3 {
        let body = format!("offline {i}");
        let (ok, _, err) = run(alice.banter(&["send", &bob.jid, "--body", &body]), T);
        assert!(ok, "send: {err}");
    }
    let mut b = Proc::spawn(bob.banter(&["listen", "--duration", "60"]));
    b.wait_for("caught up", T, |v| is(v, "caught_up"));
    for i in 1..=3 {
        let body = format!("live {i}");
        let (ok, _, err) = run(alice.banter(&["send", &bob.jid, "--body", &body]), T);
        assert!(ok, "send: {err}");
    }
    b.wait_for("the last live message", T, |v| {
        is(v, "message") && v["body"] == "live 3"
    });
    let bodies: Vec<&str> = b
        .seen
        .iter()
        .filter(|v| is(v, "message"))
        .filter_map(|v| v["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        [
            "offline 1",
            "offline 2",
            "offline 3",
            "live 1",
            "live 2",
            "live 3"
        ],
        "{:#?}",
        b.seen
    );
    assert_eq!(b.seen.iter().filter(|v| is(v, "connected")).count(), 1);
}

/// XEP-0077 from a signed-in account, on ejabberd: a new password, then deletion.
#[test]
fn account_password_change_and_deletion() {
    let server = Ejabberd::start();
    support::account::password_change_then_delete(&server.user("carol"));
}

/// The 200-message burst of xmpp_e2e, on ejabberd.
#[tokio::test(flavor = "multi_thread")]
async fn burst_of_200_messages_arrives_once_in_order() {
    let server = Ejabberd::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    support::chat::burst_of_200_arrives_once_in_order(&alice, &bob).await;
}

#[test]
fn call_with_tones_both_ways() {
    let server = Ejabberd::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let a_wav = dir.path().join("alice-heard.wav");
    let b_wav = dir.path().join("bob-heard.wav");
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("tone:880", b_wav.to_str().unwrap()));
    let mut bob_proc = Proc::spawn(bob.banter(&args));
    bob_proc.wait_for("bob online", T, |v| is(v, "caught_up"));

    let mut args = vec!["call", bob.jid.as_str(), "--duration", "3"];
    args.extend(media_args("tone:440", a_wav.to_str().unwrap()));
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "alice's call failed: {a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");
    assert!(states(&a_events).contains(&"active".to_string()));
    assert!(states(&b_events).contains(&"active".to_string()));
    let at_bob = read_wav(&b_wav);
    let at_alice = read_wav(&a_wav);
    assert!(at_bob.len() > 48_000 * 2, "bob recorded {}", at_bob.len());
    assert!(
        at_alice.len() > 48_000 * 2,
        "alice recorded {}",
        at_alice.len()
    );
    let fb = dominant_frequency(&at_bob[24_000..], 48_000);
    let fa = dominant_frequency(&at_alice[24_000..], 48_000);
    assert!((fb - 440.0).abs() <= 5.0, "bob heard {fb} Hz");
    assert!((fa - 880.0).abs() <= 5.0, "alice heard {fa} Hz");
}

/// A relay-only call through ejabberd's own TURN server (ejabberd_stun with use_turn),
/// its address and temporary credentials announced by mod_stun_disco (XEP-0215): both
/// sides use a relay pair, and the tone arrives.
#[test]
fn relay_only_call_through_ejabberds_own_turn() {
    let server = Ejabberd::start_with_turn();
    let alice = server.user("alice");
    let bob = server.user("bob");
    support::calls::relay_only_call(&alice, &bob, || server.log());
}

/// Issue #20, downgrade protection: an account whose logins were bound to the TLS
/// channel (SCRAM-PLUS, tls-exporter) is told when a login is not, as when someone
/// between it and its server strips the -PLUS mechanisms (ejabberd 23.01 offers them
/// without XEP-0440, so Banter signs in there without binding).
#[test]
fn a_login_without_the_binding_used_before_is_flagged() {
    let server = Ejabberd::start();
    let alice = server.user("alice");
    let store = banter::store::Store::open_dir(&alice.device_dir("main")).unwrap();
    store
        .set_meta(&alice.jid, "sasl_binding", "tls-exporter")
        .unwrap();
    drop(store);
    let mut l = Proc::spawn(alice.banter(&["listen", "--duration", "1"]));
    l.wait_for("the downgrade warning", T, |v| {
        is(v, "error")
            && v["message"]
                .as_str()
                .is_some_and(|m| m.contains("without channel binding"))
    });
    let (ok, _) = l.finish(T);
    assert!(ok, "a warning, not a failure");
}
