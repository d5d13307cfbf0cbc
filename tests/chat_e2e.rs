//! Issue #15: chat as people use it now, proven over a real Prosody against a client
//! not written here (slixmpp from PyPI with its own XEP plugins: tests/chat/slix_chat.py)
//! and between two Banters through the command line: corrections (XEP-0308), replies
//! (XEP-0461), reactions (XEP-0444), retractions (XEP-0424) and displayed markers
//! (XEP-0333), both ways; and what a peer must not be able to do (correct or retract
//! someone else's message, react to nothing).

mod support;

use std::time::Duration;

use banter::client::{self, BareJid, ClientHandle, Command, Direction, Event, MessageState};
use serde_json::Value;
use support::{Proc, Prosody, User};

const T: Duration = Duration::from_secs(20);

async fn next(c: &mut ClientHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    support::next_event(c, what, T, pred).await
}

/// A library client of `user` on `device`, signed in.
async fn online(user: &User, device: &str) -> ClientHandle {
    let mut c = client::start(user.config(device)).await.expect("login");
    next(&mut c, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

use support::chat::slix_chat;

/// Sends a command to the slixmpp peer and returns the id it sent (if any).
fn slix_do(p: &mut Proc, cmd: Value) -> Option<String> {
    let sent = support::chat::slix_do(p, cmd);
    assert_eq!(sent["event"], "sent", "{sent}");
    sent["id"].as_str().map(str::to_string)
}

fn slix_saw(p: &mut Proc, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    p.wait_for(what, T, |v| v["event"] == "message" && pred(v))
}

/// Alice adds Bob (slixmpp, which accepts and asks back) and accepts: contacts both
/// ways, presences flow.
async fn contacts_both_ways(a: &mut ClientHandle, bob: &User) {
    a.send(Command::AddContact {
        jid: BareJid::new(&bob.jid).unwrap(),
        name: Some("Bob".into()),
    });
    next(a, "bob asks back", |e| {
        matches!(e, Event::SubscriptionRequest { .. })
    })
    .await;
    a.send(Command::AnswerSubscription {
        jid: BareJid::new(&bob.jid).unwrap(),
        accept: true,
    });
    next(
        a,
        "subscribed both ways",
        |e| matches!(e, Event::ContactChanged { contact } if contact.subscription == "both"),
    )
    .await;
}

/// slixmpp publishes a picture for Bob (`how`: its command, XEP-0084 or XEP-0153);
/// it reaches Alice as Bob's, the same bytes under their SHA-1.
async fn bob_picture_arrives(a: &mut ClientHandle, bob: &User, slix: &mut Proc, how: &str) {
    let mut png = Vec::new();
    image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let sha = slix_do(slix, serde_json::json!({"cmd": how, "png": b64})).unwrap();
    let ev = next(
        a,
        "bob's picture",
        |e| matches!(e, Event::Avatar { jid, path: Some(_) } if *jid == bob.jid),
    )
    .await;
    let Event::Avatar {
        path: Some(path), ..
    } = ev
    else {
        unreachable!()
    };
    assert!(path.ends_with(&sha), "{path:?} for {sha}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        png,
        "the picture as Bob published it"
    );
}

async fn history(c: &mut ClientHandle, peer: &str) -> Vec<banter::client::StoredMessage> {
    c.send(Command::LoadHistory {
        peer: BareJid::new(peer).unwrap(),
        before_seq: None,
        limit: 50,
    });
    match next(c, "history", |e| matches!(e, Event::History { .. })).await {
        Event::History { messages, .. } => messages,
        _ => unreachable!(),
    }
}

/// Every feature both ways between Banter (Alice) and slixmpp (Bob).
#[tokio::test(flavor = "multi_thread")]
async fn corrections_replies_reactions_retractions_and_markers_with_slixmpp() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_slix = slix_chat(&bob, &server);
    let mut a = online(&alice, "pc").await;
    // Alice's phone, online throughout: it learns everything from carbons.
    let mut phone = online(&alice, "phone").await;
    let to_bob = BareJid::new(&bob.jid).unwrap();
    let to_alice = serde_json::json!(alice.jid);

    // Bob writes, then fixes his typo: one message in Alice's history, edited.
    let b1 = slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "send", "to": to_alice, "body": "helo"}),
    )
    .unwrap();
    next(
        &mut a,
        "bob's message",
        |e| matches!(e, Event::Message { message } if message.id == b1),
    )
    .await;
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "correct", "to": to_alice, "id": b1, "body": "hello"}),
    );
    let fixed = next(&mut a, "bob's correction", |e| {
        matches!(e, Event::MessageCorrected { .. } | Event::Message { .. })
    })
    .await;
    let Event::MessageCorrected { message } = fixed else {
        panic!("the correction came as a new message: {fixed:?}")
    };
    assert_eq!(
        (message.id.as_str(), message.body.as_str()),
        (b1.as_str(), "hello")
    );
    assert!(message.meta.edited);

    // Alice writes and corrects: slixmpp reads a markable message, then a correction.
    a.send(Command::SendMessage {
        id: "a1".into(),
        to: to_bob.clone(),
        body: "hi bob".into(),
    });
    let got = slix_saw(&mut bob_slix, "alice's message", |v| v["id"] == "a1");
    assert_eq!(
        (got["body"].as_str(), got["markable"].as_bool()),
        (Some("hi bob"), Some(true))
    );
    a.send(Command::CorrectMessage {
        id: "a1-fix".into(),
        to: to_bob.clone(),
        of: "a1".into(),
        body: "hi Bob!".into(),
    });
    let got = slix_saw(&mut bob_slix, "alice's correction", |v| {
        !v["replace"].is_null()
    });
    assert_eq!(
        (got["replace"].as_str(), got["body"].as_str()),
        (Some("a1"), Some("hi Bob!"))
    );
    next(
        &mut a,
        "the correction confirmed",
        |e| matches!(e, Event::MessageAcked { id } if id == "a1-fix"),
    )
    .await;

    // Reactions both ways: each side's set replaces its earlier one.
    a.send(Command::React {
        id: "a-r1".into(),
        to: to_bob.clone(),
        of: b1.clone(),
        reactions: vec!["👍".into()],
    });
    let got = slix_saw(&mut bob_slix, "alice's reaction", |v| {
        !v["reactions"].is_null()
    });
    assert_eq!(got["reactions"]["id"], b1.as_str());
    assert_eq!(got["reactions"]["values"], serde_json::json!(["👍"]));
    for set in [vec!["😂", "❤️"], vec!["❤️"]] {
        slix_do(
            &mut bob_slix,
            serde_json::json!({"cmd": "react", "to": to_alice, "id": "a1", "reactions": set}),
        );
        let ev = next(
            &mut a,
            "bob's reactions",
            |e| matches!(e, Event::Reactions { from, .. } if *from == bob.jid),
        )
        .await;
        let Event::Reactions {
            id,
            from,
            reactions,
            ..
        } = ev
        else {
            unreachable!()
        };
        assert_eq!((id.as_str(), from.as_str()), ("a1", bob.jid.as_str()));
        assert_eq!(reactions, set);
    }

    // Replies both ways: the quote is a fallback the other side strips.
    a.send(Command::Reply {
        id: "a2".into(),
        to: to_bob.clone(),
        of: b1.clone(),
        body: "hello to you".into(),
    });
    let got = slix_saw(&mut bob_slix, "alice's reply", |v| !v["reply"].is_null());
    assert_eq!(got["reply"]["id"], b1.as_str());
    assert_eq!(got["reply"]["body"], "hello to you");
    assert!(
        got["body"].as_str().unwrap().starts_with("> hello\n"),
        "{got}"
    );
    let b2 = slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "reply", "to": to_alice, "id": "a1", "quote": "hi Bob!",
                           "body": "yes?"}),
    )
    .unwrap();
    let ev = next(
        &mut a,
        "bob's reply",
        |e| matches!(e, Event::Message { message } if message.id == b2),
    )
    .await;
    let Event::Message { message } = ev else {
        unreachable!()
    };
    assert_eq!(message.body, "yes?");
    assert_eq!(
        message.meta.reply_to.as_ref().map(|r| r.id.as_str()),
        Some("a1")
    );

    // Read markers both ways.
    a.send(Command::MarkRead {
        peer: to_bob.clone(),
    });
    let got = slix_saw(&mut bob_slix, "alice's displayed marker", |v| {
        !v["displayed"].is_null()
    });
    assert_eq!(
        got["displayed"],
        b1.as_str(),
        "the newest message that asked for it"
    );
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "displayed", "to": to_alice, "id": "a2"}),
    );
    let ev = next(&mut a, "bob read", |e| {
        matches!(e, Event::MessageDisplayed { .. })
    })
    .await;
    assert!(matches!(ev, Event::MessageDisplayed { id, .. } if id == "a2"));

    // Retractions both ways.
    a.send(Command::Retract {
        id: "a-x".into(),
        to: to_bob.clone(),
        of: "a2".into(),
    });
    let got = slix_saw(&mut bob_slix, "alice's retraction", |v| {
        !v["retract"].is_null()
    });
    assert_eq!(got["retract"], "a2");
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "retract", "to": to_alice, "id": b2}),
    );
    let ev = next(
        &mut a,
        "bob's retraction",
        |e| matches!(e, Event::MessageRetracted { from, .. } if *from == bob.jid),
    )
    .await;
    assert!(matches!(ev, Event::MessageRetracted { id, .. } if id == b2));

    // What Bob may not do: correct or retract Alice's message, react to nothing. The
    // plain message after them is the bound: all came before it, in order.
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "correct", "to": to_alice, "id": "a1", "body": "pwned"}),
    );
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "retract", "to": to_alice, "id": "a1"}),
    );
    slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "react", "to": to_alice, "id": "no-such", "reactions": ["💥"]}),
    );
    let end = slix_do(
        &mut bob_slix,
        serde_json::json!({"cmd": "send", "to": to_alice, "body": "the end"}),
    )
    .unwrap();
    let mut after = Vec::new();
    loop {
        let ev = next(&mut a, "bob's last message", |_| true).await;
        if matches!(&ev, Event::Message { message } if message.id == end) {
            break;
        }
        after.push(ev);
    }
    assert!(
        !after.iter().any(|e| matches!(
            e,
            Event::MessageCorrected { .. }
                | Event::MessageRetracted { .. }
                | Event::Reactions { .. }
        )),
        "{after:#?}"
    );

    // The history says it all, as it will after a restart.
    let h = history(&mut a, &bob.jid).await;
    let by_id = |id: &str| {
        h.iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id}: {h:#?}"))
    };
    let m = by_id(&b1);
    assert_eq!((m.body.as_str(), m.meta.edited), ("hello", true));
    assert_eq!(m.meta.reactions.len(), 1);
    assert_eq!(m.meta.reactions[0].emoji, "👍");
    let m = by_id("a1");
    assert_eq!(
        (m.body.as_str(), m.meta.edited, m.meta.retracted),
        ("hi Bob!", true, false)
    );
    assert_eq!(m.meta.reactions.len(), 1, "{:?}", m.meta.reactions);
    assert_eq!(m.meta.reactions[0].emoji, "❤️");
    assert_eq!(m.state, MessageState::Displayed);
    let m = by_id("a2");
    assert!(m.meta.retracted && m.body.is_empty(), "{m:?}");
    assert_eq!(m.state, MessageState::Displayed);
    let m = by_id(&b2);
    assert!(m.meta.retracted, "{m:?}");
    // Bob's correction of Alice's message is his text, shown as his, not hers.
    assert!(h
        .iter()
        .filter(|m| m.direction == Direction::Out)
        .all(|m| m.body != "pwned"));
    // The phone saw it all as carbons, Alice's own doings included: the same history.
    next(
        &mut phone,
        "the last message on the phone",
        |e| matches!(e, Event::Message { message } if message.id == end),
    )
    .await;
    let on_phone = history(&mut phone, &bob.jid).await;
    let summary = |h: &[banter::client::StoredMessage]| {
        h.iter()
            .map(|m| {
                let reactions: Vec<String> =
                    m.meta.reactions.iter().map(|r| r.emoji.clone()).collect();
                (
                    m.id.clone(),
                    m.body.clone(),
                    m.meta.edited,
                    m.meta.retracted,
                    reactions,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&on_phone), summary(&h));
    phone.shutdown().await;
    a.shutdown().await;
    bob_slix.write_line(r#"{"cmd":"quit"}"#);
}

/// Between two Banters from the command line, as a script would: `send --json` prints
/// the id; `send --correct`, `send --reply-to`, `react` and `retract` act on it; the
/// other side's `listen --json` prints `correction_of`, `reply_to`, `reaction` and
/// `retracted` events. OMEMO is on (as by default): the message, its correction and
/// the reply go end-to-end encrypted, the elements that say what they correct or
/// answer beside the ciphertext.
#[test]
fn the_command_line_corrects_replies_reacts_and_retracts() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut listening = Proc::spawn(bob.banter(&["listen", "--duration", "60"]));
    // Bob's OMEMO device is published: what follows is end-to-end encrypted.
    listening.wait_for("bob's OMEMO device", T, |v| v["event"] == "omemo_ready");
    let send = |args: &[&str]| -> Value {
        let (ok, out, err) = support::run(alice.banter(args), T);
        assert!(ok, "{args:?}: {err}");
        let line = out.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|_| panic!("{out}"))
    };
    let sent = send(&["send", &bob.jid, "--body", "teh first"]);
    let id = sent["id"].as_str().unwrap().to_string();
    let v = listening.wait_for("the message", T, |v| {
        v["event"] == "message" && v["id"] == id.as_str()
    });
    assert_eq!(v["encryption"], "omemo", "{v}");
    send(&["send", &bob.jid, "--correct", &id, "--body", "the first"]);
    let v = listening.wait_for("the correction", T, |v| {
        v["event"] == "message" && !v["correction_of"].is_null()
    });
    assert_eq!(
        (v["correction_of"].as_str(), v["body"].as_str()),
        (Some(id.as_str()), Some("the first"))
    );
    assert_eq!(v["encryption"], "omemo", "the correction too: {v}");
    send(&[
        "send",
        &bob.jid,
        "--reply-to",
        &id,
        "--body",
        "and the second",
    ]);
    let v = listening.wait_for("the reply", T, |v| {
        v["event"] == "message" && !v["reply_to"].is_null()
    });
    assert_eq!(v["reply_to"]["id"], id.as_str());
    assert_eq!(v["body"], "and the second");
    assert_eq!(v["encryption"], "omemo", "the reply too: {v}");
    send(&["react", &bob.jid, &id, "🎉"]);
    let v = listening.wait_for("the reaction", T, |v| v["event"] == "reaction");
    assert_eq!(
        (v["id"].as_str(), v["reactions"].clone()),
        (Some(id.as_str()), serde_json::json!(["🎉"]))
    );
    send(&["retract", &bob.jid, &id]);
    let v = listening.wait_for("the retraction", T, |v| v["event"] == "retracted");
    assert_eq!(v["id"], id.as_str());
    // Alice's history (offline, from her store) says the same.
    let (ok, out, err) = support::run(alice.banter(&["history", &bob.jid]), T);
    assert!(ok, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    let first = row(&id);
    assert_eq!(
        (first["retracted"].as_bool(), first["body"].as_str()),
        (Some(true), Some("")),
        "{out}"
    );
    assert!(
        rows.iter()
            .any(|r| r["reply_to"]["id"] == id.as_str() && r["body"] == "and the second"),
        "{out}"
    );
    // Retracting what is not ours, or nothing: a clear error, exit 1.
    let (ok, _, err) = support::run(alice.banter(&["retract", &bob.jid, "no-such-id"]), T);
    assert!(!ok && err.contains("no message of ours"), "{err}");
}

/// Blocking (XEP-0191) from the command line: `banter block bob` and Bob's messages
/// no longer reach Alice (Carol's, sent after his, do: the bound), and Alice seems
/// offline to him; `banter unblock bob` and his next message arrives. The list is the
/// server's: Alice's other device learns it.
#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_jid_reaches_nobody_until_unblocked() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let mut a = online(&alice, "pc").await;
    let mut b = online(&bob, "phone").await;
    let mut c = online(&carol, "pc").await;
    let (ok, out, err) = support::run(alice.banter(&["block", &bob.jid]), T);
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(list["event"], "blocklist");
    assert_eq!(list["jids"], serde_json::json!([bob.jid]));
    // Alice's running client hears of it from the server.
    next(
        &mut a,
        "the blocklist pushed",
        |e| matches!(e, Event::Blocklist { jids } if *jids == [bob.jid.clone()]),
    )
    .await;
    let to_alice = BareJid::new(&alice.jid).unwrap();
    for (from, id, body) in [(&mut b, "b1", "let me in"), (&mut c, "c1", "hi Alice")] {
        from.send(Command::SendPlain {
            id: id.into(),
            to: to_alice.clone(),
            body: body.into(),
        });
        next(
            from,
            "confirmed",
            |e| matches!(e, Event::MessageAcked { id: i } if i == id),
        )
        .await;
    }
    let mut before = Vec::new();
    loop {
        match next(&mut a, "carol's message", |e| {
            matches!(e, Event::Message { .. })
        })
        .await
        {
            Event::Message { message } if message.id == "c1" => break,
            other => before.push(other),
        }
    }
    assert!(before.is_empty(), "{before:#?}");
    let (ok, out, err) = support::run(alice.banter(&["unblock", &bob.jid]), T);
    assert!(ok, "{err}");
    assert!(out.contains(r#""jids":[]"#), "{out}");
    b.send(Command::SendPlain {
        id: "b2".into(),
        to: to_alice,
        body: "now?".into(),
    });
    let ev = next(&mut a, "bob's message", |e| {
        matches!(e, Event::Message { .. })
    })
    .await;
    assert!(
        matches!(&ev, Event::Message { message } if message.id == "b2"),
        "{ev:?}"
    );
    for x in [a, b, c] {
        x.shutdown().await;
    }
}

/// What happened while Alice was offline reaches her from her server's archive
/// (XEP-0313) in order: Bob's message, its correction, his reaction to hers, his
/// retraction of another; her history after catching up is as if she had been there.
#[tokio::test(flavor = "multi_thread")]
async fn corrections_reactions_and_retractions_come_from_the_archive() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_slix = slix_chat(&bob, &server);
    let to_alice = serde_json::json!(alice.jid);
    // Alice's message exists before she goes away.
    let a = online(&alice, "pc").await;
    a.send(Command::SendMessage {
        id: "a1".into(),
        to: BareJid::new(&bob.jid).unwrap(),
        body: "see you at 8".into(),
    });
    slix_saw(&mut bob_slix, "alice's message", |v| v["id"] == "a1");
    a.shutdown().await;

    let say = |p: &mut Proc, cmd: Value| slix_do(p, cmd).unwrap_or_default();
    let b1 = say(
        &mut bob_slix,
        serde_json::json!({"cmd": "send", "to": to_alice, "body": "at 7?"}),
    );
    say(
        &mut bob_slix,
        serde_json::json!({"cmd": "correct", "to": to_alice, "id": b1, "body": "at 9?"}),
    );
    say(
        &mut bob_slix,
        serde_json::json!({"cmd": "react", "to": to_alice, "id": "a1", "reactions": ["👍"]}),
    );
    let b2 = say(
        &mut bob_slix,
        serde_json::json!({"cmd": "send", "to": to_alice, "body": "oops"}),
    );
    say(
        &mut bob_slix,
        serde_json::json!({"cmd": "retract", "to": to_alice, "id": b2}),
    );

    let mut a = client::start(alice.config("pc")).await.expect("login");
    next(&mut a, "caught up", |e| matches!(e, Event::CaughtUp { .. })).await;
    let h = history(&mut a, &bob.jid).await;
    let by_id = |id: &str| {
        h.iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id}: {h:#?}"))
    };
    let m = by_id(&b1);
    assert_eq!((m.body.as_str(), m.meta.edited), ("at 9?", true));
    assert_eq!(
        h.iter().filter(|m| m.body.starts_with("at ")).count(),
        1,
        "{h:#?}"
    );
    assert_eq!(by_id("a1").meta.reactions.len(), 1, "{h:#?}");
    assert!(by_id(&b2).meta.retracted, "{h:#?}");
    assert!(
        !h.iter().any(|m| m.body.contains("retract")),
        "the fallback is no message: {h:#?}"
    );
    a.shutdown().await;
    bob_slix.write_line(r#"{"cmd":"quit"}"#);
}

/// A file as Conversations and slixmpp send it (XEP-0066: its URL as the body and in
/// `<x xmlns='jabber:x:oob'>`) is a file with a name; a `javascript:` or `file:` URL
/// sent the same way is only text.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_link_is_a_file_and_a_script_link_is_not() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_slix = slix_chat(&bob, &server);
    let mut a = online(&alice, "pc").await;
    let to_alice = serde_json::json!(alice.jid);
    for (url, name) in [
        (
            "https://upload.example.test/x/Holiday%20photo.jpg",
            Some("Holiday photo.jpg"),
        ),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
    ] {
        let id = slix_do(
            &mut bob_slix,
            serde_json::json!({"cmd": "send_oob", "to": to_alice, "url": url}),
        )
        .unwrap();
        let ev = next(
            &mut a,
            "bob's link",
            |e| matches!(e, Event::Message { message } if message.id == id),
        )
        .await;
        let Event::Message { message } = ev else {
            unreachable!()
        };
        assert_eq!(
            message.meta.file.as_ref().map(|f| f.name.as_str()),
            name,
            "{url}"
        );
        assert_eq!(message.body, url, "the text stays as it was");
        let json = client::to_json(&Event::Message { message });
        assert_eq!(json["file"]["name"].as_str(), name, "{json}");
    }
    a.shutdown().await;
    bob_slix.write_line(r#"{"cmd":"quit"}"#);
}

/// Avatars (XEP-0084) with slixmpp's own plugin, both ways between contacts: Bob's
/// picture reaches Alice's client and is kept by its SHA-1 (the file's hash is the
/// id slixmpp announced); Alice sets hers from a picture file (cropped to a square,
/// scaled to 192 px) and slixmpp hears of it under the hash of what Banter made.
#[tokio::test(flavor = "multi_thread")]
async fn avatars_both_ways_with_slixmpp() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_slix = slix_chat(&bob, &server);
    let mut a = online(&alice, "pc").await;
    contacts_both_ways(&mut a, &bob).await;

    // Bob's picture.
    bob_picture_arrives(&mut a, &bob, &mut bob_slix, "set_avatar").await;

    // Alice's, from a 300x200 picture file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("me.png");
    image::RgbImage::from_fn(300, 200, |x, _| image::Rgb([(x % 256) as u8, 80, 40]))
        .save(&file)
        .unwrap();
    let (mine, w, h) = client::avatar_png(&file).unwrap();
    assert_eq!((w, h), (192, 192), "cropped to a square and scaled");
    let hash = client::avatar_hash(&mine);
    a.send(Command::SetAvatar {
        png: mine,
        width: w,
        height: h,
    });
    let seen = bob_slix.wait_for("alice's picture at slixmpp", T, |v| {
        v["event"] == "avatar" && v["from"] == alice.jid.as_str()
    });
    assert_eq!(seen["id"], hash.as_str());
    a.shutdown().await;
    bob_slix.write_line(r#"{"cmd":"quit"}"#);
}

/// XEP-0153, the fallback for clients without XEP-0084: slixmpp puts its picture in
/// its vCard only and its hash in its presence; Banter fetches the vCard, checks the
/// picture against the hash and shows it as Bob's picture.
#[tokio::test(flavor = "multi_thread")]
async fn a_vcard_picture_becomes_the_contacts_picture() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut bob_slix = slix_chat(&bob, &server);
    let mut a = online(&alice, "pc").await;
    contacts_both_ways(&mut a, &bob).await;
    bob_picture_arrives(&mut a, &bob, &mut bob_slix, "set_vcard_avatar").await;
    a.shutdown().await;
}

/// A correction or retraction the server cannot deliver (the account is gone) is
/// said as failed, like a message, and not sent again.
#[tokio::test(flavor = "multi_thread")]
async fn an_amend_that_bounces_is_said_as_failed() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let mut a = online(&alice, "pc").await;
    let ghost = BareJid::new(&format!("ghost@{}", support::DOMAIN)).unwrap();
    a.send(Command::SendMessage {
        id: "m1".into(),
        to: ghost.clone(),
        body: "anyone there?".into(),
    });
    next(
        &mut a,
        "the message bounces",
        |e| matches!(e, Event::MessageFailed { id, .. } if id == "m1"),
    )
    .await;
    a.send(Command::Retract {
        id: "m1-gone".into(),
        to: ghost,
        of: "m1".into(),
    });
    let failed = next(
        &mut a,
        "the retraction bounces",
        |e| matches!(e, Event::MessageFailed { id, .. } if id == "m1-gone"),
    )
    .await;
    let Event::MessageFailed { error, .. } = failed else {
        unreachable!()
    };
    assert!(error.contains("could not deliver"), "{error}");
    a.shutdown().await;
}

/// A retraction sent right after an encrypted message (which waits for the peer's
/// devices and keys the first time) does not overtake it: Bob gets the message, then
/// its retraction, and keeps a tombstone.
#[tokio::test(flavor = "multi_thread")]
async fn a_retraction_does_not_overtake_its_encrypted_message() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let with_omemo = |u: &User| {
        let mut c = u.config("pc");
        c.omemo = true;
        c
    };
    let mut b = client::start(with_omemo(&bob)).await.expect("login");
    next(&mut b, "bob's device", |e| {
        matches!(e, Event::OmemoReady { .. })
    })
    .await;
    let mut a = client::start(with_omemo(&alice)).await.expect("login");
    next(&mut a, "alice's device", |e| {
        matches!(e, Event::OmemoReady { .. })
    })
    .await;
    let to_bob = BareJid::new(&bob.jid).unwrap();
    a.send(Command::SendMessage {
        id: "secret".into(),
        to: to_bob.clone(),
        body: "oops, wrong chat".into(),
    });
    a.send(Command::Retract {
        id: "secret-gone".into(),
        to: to_bob,
        of: "secret".into(),
    });
    let first = next(&mut b, "alice's message", |e| {
        matches!(e, Event::Message { .. } | Event::MessageRetracted { .. })
    })
    .await;
    assert!(
        matches!(&first, Event::Message { message } if message.id == "secret"
            && message.encryption.as_deref() == Some("omemo")),
        "the retraction came first: {first:?}"
    );
    next(
        &mut b,
        "its retraction",
        |e| matches!(e, Event::MessageRetracted { id, .. } if id == "secret"),
    )
    .await;
    let kept = history(&mut b, &alice.jid).await;
    let m = kept.iter().find(|m| m.id == "secret").unwrap();
    assert!(m.meta.retracted && m.body.is_empty(), "{m:?}");
    a.shutdown().await;
    b.shutdown().await;
}
