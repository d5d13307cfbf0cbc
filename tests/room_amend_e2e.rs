//! Issue #15 in rooms (XEP-0045 with the room's archive): corrections (XEP-0308),
//! replies (XEP-0461), reactions (XEP-0444), retractions (XEP-0424) and files
//! (XEP-0363 + OOB) both ways between Banter and slixmpp (PyPI, its own plugins:
//! tests/muc/slix_room.py), through a real Prosody. Only a message's sender changes
//! it; what this device kept says the same after joining again.

mod support;

use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event};
use banter::xmpp_parsers::jid::BareJid;
use serde_json::{json, Value};
use support::rooms::{join, slix};
use support::{Proc, Prosody, User, MUC};

const T: Duration = Duration::from_secs(30);

async fn next(c: &mut ClientHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    support::next_event(c, what, T, pred).await
}

async fn online(user: &User) -> ClientHandle {
    let mut c = client::start(user.config("pc")).await.expect("login");
    next(&mut c, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

/// Sends a command to slixmpp; the id it sent.
fn slix_do(p: &mut Proc, cmd: Value) -> Option<String> {
    p.write_line(&cmd.to_string());
    let sent = p.wait_for("slixmpp sent", T, |v| {
        v["event"] == "sent" || v["event"] == "error"
    });
    assert_eq!(sent["event"], "sent", "{sent}");
    sent["id"].as_str().map(str::to_string)
}

/// A room message of `nick` with `body` (live): its event.
async fn room_message(c: &mut ClientHandle, nick: &str, body: &str) -> Event {
    next(
        c,
        &format!("{nick}: {body}"),
        |e| matches!(e, Event::RoomMessage { nick: n, body: b, .. } if n == nick && b == body),
    )
    .await
}

fn stanza_id(e: &Event) -> String {
    match e {
        Event::RoomMessage {
            stanza_id: Some(s), ..
        } => s.clone(),
        other => panic!("no room id on {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corrections_replies_reactions_retractions_and_files_in_a_room_with_slixmpp() {
    let server = Prosody::start_with_muc_and_uploads(10 * 1024 * 1024);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mallory = server.user("mallory");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut b = slix(&bob, &server, &room, "bob");
    let mut m = slix(&mallory, &server, &room, "mallory");

    // Bob writes and fixes his typo: one message at Alice's, edited.
    let b1 = slix_do(&mut b, json!({"cmd": "say", "body": "helo all"})).unwrap();
    let got = room_message(&mut a, "bob", "helo all").await;
    let s1 = stanza_id(&got);
    slix_do(
        &mut b,
        json!({"cmd": "correct", "id": b1, "body": "hello all"}),
    );
    let fixed = next(&mut a, "bob's correction", |e| {
        matches!(
            e,
            Event::RoomMessageCorrected { .. } | Event::RoomMessage { .. }
        )
    })
    .await;
    assert!(
        matches!(&fixed, Event::RoomMessageCorrected { id, nick, body, .. }
            if *id == s1 && nick == "bob" && body == "hello all"),
        "the correction came as {fixed:?}"
    );
    // Mallory cannot correct or retract Bob's message: nothing changes.
    slix_do(&mut m, json!({"cmd": "correct", "id": b1, "body": "pwned"}));
    slix_do(&mut m, json!({"cmd": "retract", "id": s1}));
    slix_do(&mut m, json!({"cmd": "say", "body": "after mallory"}));
    let after = next(&mut a, "mallory's last", |e| {
        matches!(
            e,
            Event::RoomMessageCorrected { .. } | Event::RoomMessageRetracted { .. }
        ) || matches!(e, Event::RoomMessage { body, .. } if body == "after mallory")
    })
    .await;
    assert!(
        matches!(&after, Event::RoomMessage { .. }),
        "mallory changed bob's message: {after:?}"
    );

    // Alice reacts to Bob's message: slixmpp reads it by the room's id.
    a.send(Command::React {
        id: "r1".into(),
        to: room.clone(),
        of: s1.clone(),
        reactions: vec!["👍".into()],
    });
    let v = b.wait_for("alice's reaction", T, |v| {
        v["event"] == "message" && v["nick"] == "alice" && !v["reactions"].is_null()
    });
    assert_eq!(v["reactions"], json!({"id": s1, "values": ["👍"]}));
    next(&mut a, "alice's own reaction back", |e| {
        matches!(e, Event::RoomReactions { id, nick, reactions, .. }
            if *id == s1 && nick == "alice" && reactions == &["👍"])
    })
    .await;

    // Alice writes, corrects and is answered; slixmpp sees each as such.
    a.send(Command::SendRoomMessage {
        id: "a1".into(),
        room: room.clone(),
        body: "lunch at 1?".into(),
    });
    let mine = room_message(&mut a, "alice", "lunch at 1?").await;
    let a1 = stanza_id(&mine);
    b.wait_for("alice's message", T, |v| {
        v["event"] == "message" && v["id"] == "a1"
    });
    a.send(Command::CorrectMessage {
        id: "a1-fix".into(),
        to: room.clone(),
        of: "a1".into(),
        body: "lunch at 12?".into(),
    });
    let v = b.wait_for("alice's correction", T, |v| {
        v["event"] == "message" && v["replace"] == "a1"
    });
    assert_eq!(v["body"], "lunch at 12?");
    next(&mut a, "alice's correction applied", |e| {
        matches!(e, Event::RoomMessageCorrected { id, body, .. } if *id == a1 && body == "lunch at 12?")
    })
    .await;
    // Bob reacts and replies to it.
    slix_do(
        &mut b,
        json!({"cmd": "react", "id": a1, "reactions": ["🎉", "❤️"]}),
    );
    next(&mut a, "bob's reactions", |e| {
        matches!(e, Event::RoomReactions { id, nick, reactions, .. }
            if *id == a1 && nick == "bob" && reactions.len() == 2)
    })
    .await;
    slix_do(
        &mut b,
        json!({"cmd": "reply", "id": a1, "nick": "alice", "quote": "lunch at 12?", "body": "yes!"}),
    );
    let reply = room_message(&mut a, "bob", "yes!").await;
    let Event::RoomMessage { meta, .. } = &reply else {
        unreachable!()
    };
    assert_eq!(
        meta.reply_to.as_ref().map(|r| r.id.as_str()),
        Some(a1.as_str()),
        "the quote stripped, the reply read: {reply:?}"
    );
    // Alice replies to Bob's message: slixmpp reads the reply, quote stripped.
    a.send(Command::Reply {
        id: "a2".into(),
        to: room.clone(),
        of: s1.clone(),
        body: "same to you".into(),
    });
    let v = b.wait_for("alice's reply", T, |v| {
        v["event"] == "message" && v["nick"] == "alice" && !v["reply"].is_null()
    });
    assert_eq!(v["reply"]["id"], s1.as_str());
    assert_eq!(v["reply"]["to"], format!("{room}/bob"));
    assert_eq!(v["reply"]["body"], "same to you");

    let yes = stanza_id(&reply);
    a.send(Command::React {
        id: "r2".into(),
        to: room.clone(),
        of: yes.clone(),
        reactions: vec!["❤️".into()],
    });
    next(
        &mut a,
        "alice's reaction to the reply",
        |e| matches!(e, Event::RoomReactions { id, nick, .. } if *id == yes && nick == "alice"),
    )
    .await;

    // Retractions both ways.
    a.send(Command::Retract {
        id: "a1-gone".into(),
        to: room.clone(),
        of: a1.clone(),
    });
    let v = b.wait_for("alice's retraction", T, |v| {
        v["event"] == "message" && v["nick"] == "alice" && !v["retract"].is_null()
    });
    assert_eq!(v["retract"], a1.as_str());
    next(&mut a, "alice's retraction applied", |e| {
        matches!(e, Event::RoomMessageRetracted { id, nick, .. } if *id == a1 && nick == "alice")
    })
    .await;
    slix_do(&mut b, json!({"cmd": "retract", "id": s1}));
    next(
        &mut a,
        "bob's retraction",
        |e| matches!(e, Event::RoomMessageRetracted { id, nick, .. } if *id == s1 && nick == "bob"),
    )
    .await;

    // A file to the room: its URL as the body and OOB, as a file at Alice's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agenda.pdf");
    std::fs::write(&path, vec![7u8; 100_000]).unwrap();
    a.send(Command::SendFile {
        id: "f1".into(),
        to: room.clone(),
        path,
    });
    let v = b.wait_for("alice's file", T, |v| {
        v["event"] == "message" && v["id"] == "f1"
    });
    let url = v["oob"].as_str().expect("OOB").to_string();
    assert_eq!(v["body"], url.as_str());
    let own = next(
        &mut a,
        "alice's file back",
        |e| matches!(e, Event::RoomMessage { id, .. } if id == "f1"),
    )
    .await;
    let Event::RoomMessage { meta, .. } = own else {
        unreachable!()
    };
    let file = meta.file.expect("a file");
    assert_eq!(
        (file.url.as_str(), file.name.as_str()),
        (url.as_str(), "agenda.pdf")
    );
    assert_eq!(file.size, Some(100_000));

    // Joined again, what this device kept says the same.
    a.send(Command::LeaveRoom { room: room.clone() });
    next(&mut a, "left", |e| matches!(e, Event::RoomLeft { .. })).await;
    a.send(Command::JoinRoom {
        room: room.clone(),
        nick: "alice".into(),
        password: None,
    });
    let kept = next(&mut a, "kept history", |e| {
        matches!(e, Event::RoomStoredHistory { .. })
    })
    .await;
    let Event::RoomStoredHistory { messages, .. } = kept else {
        unreachable!()
    };
    let by = |sid: &str| {
        messages
            .iter()
            .find(|m| m.stanza_id.as_deref() == Some(sid))
            .unwrap_or_else(|| panic!("{sid} not kept: {messages:#?}"))
    };
    let bobs = by(&s1);
    assert!(bobs.meta.retracted && bobs.body.is_empty(), "{bobs:?}");
    assert!(
        bobs.meta.reactions.is_empty(),
        "a retracted message keeps no reactions"
    );
    let alices = by(&a1);
    assert!(alices.meta.retracted, "{alices:?}");
    let reply = by(&yes);
    assert_eq!(reply.body, "yes!");
    assert_eq!(
        reply.meta.reply_to.as_ref().map(|r| r.id.as_str()),
        Some(a1.as_str())
    );
    assert_eq!(reply.meta.reactions.len(), 1, "{reply:?}");
    assert_eq!(
        (
            reply.meta.reactions[0].emoji.as_str(),
            reply.meta.reactions[0].from.clone()
        ),
        ("❤️", vec!["alice".to_string()])
    );
    let with_file = messages.iter().find(|m| m.id == "f1").unwrap();
    assert_eq!(
        with_file.meta.file.as_ref().map(|f| f.name.as_str()),
        Some("agenda.pdf")
    );
    b.write_line(r#"{"cmd":"quit"}"#);
    m.write_line(r#"{"cmd":"quit"}"#);
    a.shutdown().await;
}

/// The same from the command line: `banter room send` prints the room's id for the
/// message; `room send --correct`, `room react` and `room retract` act on it and exit
/// once the room has them; Bob (a library client in the room) sees each as such.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_corrects_reacts_and_retracts_in_a_room() {
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("crew@{MUC}")).unwrap();
    let mut b = online(&bob).await;
    join(&mut b, &room, "bob").await;
    let run = |args: &[&str]| -> Vec<Value> {
        let (ok, out, err) = support::run(alice.banter(args), T);
        assert!(ok, "{args:?}: {err}\n{out}");
        out.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let lines = run(&["room", "send", room.as_str(), "--body", "teh plan"]);
    let mine = lines
        .iter()
        .find(|v| v["event"] == "room_message" && v["body"] == "teh plan")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let (id, sid) = (
        mine["id"].as_str().unwrap().to_string(),
        mine["stanza_id"].as_str().unwrap().to_string(),
    );
    room_message(&mut b, "alice", "teh plan").await;
    run(&[
        "room",
        "send",
        room.as_str(),
        "--correct",
        &id,
        "--body",
        "the plan",
    ]);
    next(&mut b, "the correction", |e| {
        matches!(e, Event::RoomMessageCorrected { id, body, .. } if *id == sid && body == "the plan")
    })
    .await;
    run(&["room", "react", room.as_str(), &sid, "--emoji", "🚀"]);
    next(&mut b, "the reaction", |e| {
        matches!(e, Event::RoomReactions { id, nick, reactions, .. }
            if *id == sid && nick == "alice" && reactions == &["🚀"])
    })
    .await;
    run(&["room", "retract", room.as_str(), &sid]);
    next(
        &mut b,
        "the retraction",
        |e| matches!(e, Event::RoomMessageRetracted { id, .. } if *id == sid),
    )
    .await;
    b.shutdown().await;
}
