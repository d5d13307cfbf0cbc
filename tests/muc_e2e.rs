//! Group chat (XEP-0045, issue #14) through a real Prosody with its MUC service: two
//! Banters and slixmpp (PyPI, a client not written here) in one room.

mod support;

use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event};
use banter::xmpp_parsers::jid::BareJid;
use support::{Proc, Prosody, User, MUC};

const T: Duration = Duration::from_secs(60);

async fn online(user: &User) -> ClientHandle {
    let mut c = client::start(user.config("pc")).await.expect("login");
    support::next_event(&mut c, "connected", T, |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

async fn join(c: &mut ClientHandle, room: &BareJid, nick: &str) {
    c.send(Command::JoinRoom {
        room: room.clone(),
        nick: nick.into(),
        password: None,
    });
    support::next_event(
        c,
        "joined",
        T,
        |e| matches!(e, Event::RoomJoined { nick: n, .. } if n == nick),
    )
    .await;
}

/// slixmpp as `user`, joined to `room` as `nick`.
fn slix(user: &User, server: &Prosody, room: &BareJid, nick: &str) -> Proc {
    let mut cmd = support::python_peer("muc/slix_room.py", user, server);
    cmd.args(["--room", room.as_str(), "--nick", nick]);
    let mut p = Proc::spawn_with_stdin(cmd);
    p.wait_for("slixmpp joined", T, |v| v["event"] == "joined");
    p
}

fn room_message(e: &Event, from: &str, text: &str) -> bool {
    matches!(e, Event::RoomMessage { nick, body, from_archive: false, .. } if nick == from && body == text)
}

/// Alice creates the room by joining it (an instant room), Bob and slixmpp's Carol
/// join: each sees the others as occupants with their roles; a message from each
/// reaches the two others; the subject Alice sets reaches Bob and Carol; Bob leaving
/// is seen by Alice and Carol. Then the same from the command line: `banter room
/// send`. Bob joining again gets the earlier messages from the room's history, once
/// each, in order.
#[tokio::test(flavor = "multi_thread")]
async fn two_banters_and_slixmpp_talk_in_one_room() {
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut b = online(&bob).await;
    join(&mut b, &room, "bob").await;
    let mut c = slix(&carol, &server, &room, "carol");

    let is_there = |who: &'static str| move |e: &Event| matches!(e, Event::Occupant { occupant, .. } if occupant.nick == who);
    let bob_seen = support::next_event(&mut a, "bob in the room", T, is_there("bob")).await;
    let Event::Occupant { occupant, .. } = bob_seen else {
        unreachable!()
    };
    assert_eq!(occupant.role, "participant", "{occupant:?}");
    support::next_event(&mut a, "carol in the room", T, is_there("carol")).await;
    let carol_at_bob = support::next_event(&mut b, "carol in the room", T, is_there("carol")).await;
    let Event::Occupant { occupant, .. } = carol_at_bob else {
        unreachable!()
    };
    assert_eq!(occupant.role, "participant");
    // The room listed its occupants to slixmpp as it joined: Alice made the room.
    assert!(
        c.seen.iter().any(|v| v["event"] == "occupant"
            && v["nick"] == "alice"
            && v["role"] == "moderator"
            && v["affiliation"] == "owner"),
        "{:#?}",
        c.seen
    );

    a.send(Command::SendRoomMessage {
        id: "m1".into(),
        room: room.clone(),
        body: "hello from alice".into(),
    });
    support::next_event(&mut b, "alice's message", T, |e| {
        room_message(e, "alice", "hello from alice")
    })
    .await;
    c.wait_for("alice's message", T, |v| {
        v["event"] == "message" && v["nick"] == "alice" && v["body"] == "hello from alice"
    });
    // The room sends Alice's own back to her, with her id.
    support::next_event(
        &mut a,
        "alice's own message back",
        T,
        |e| matches!(e, Event::RoomMessage { id, nick, .. } if id == "m1" && nick == "alice"),
    )
    .await;

    c.write_line(r#"{"cmd":"send","body":"hello from slixmpp"}"#);
    for (who, client) in [("alice", &mut a), ("bob", &mut b)] {
        support::next_event(client, &format!("carol's message at {who}"), T, |e| {
            room_message(e, "carol", "hello from slixmpp")
        })
        .await;
    }
    b.send(Command::SendRoomMessage {
        id: "m2".into(),
        room: room.clone(),
        body: "hello from bob".into(),
    });
    support::next_event(&mut a, "bob's message", T, |e| {
        room_message(e, "bob", "hello from bob")
    })
    .await;
    c.wait_for("bob's message", T, |v| {
        v["event"] == "message" && v["nick"] == "bob" && v["body"] == "hello from bob"
    });

    // Alice, the room's moderator, sets the subject (Prosody lets only moderators).
    a.send(Command::SetRoomSubject {
        room: room.clone(),
        subject: "plans for friday".into(),
    });
    for (who, client) in [("alice", &mut a), ("bob", &mut b)] {
        support::next_event(client, &format!("the subject at {who}"), T, |e| {
            matches!(e, Event::RoomSubject { subject, nick, .. } if subject == "plans for friday" && nick.as_deref() == Some("alice"))
        })
        .await;
    }
    c.wait_for("the subject, seen by slixmpp", T, |v| {
        v["event"] == "subject" && v["subject"] == "plans for friday" && v["nick"] == "alice"
    });

    b.send(Command::LeaveRoom { room: room.clone() });
    support::next_event(
        &mut a,
        "bob gone",
        T,
        |e| matches!(e, Event::OccupantLeft { nick, .. } if nick == "bob"),
    )
    .await;
    c.wait_for("bob gone, seen by slixmpp", T, |v| {
        v["event"] == "occupant" && v["nick"] == "bob" && v["type"] == "unavailable"
    });

    // The command line: Bob joins, sends, and leaves once the room has it.
    let (ok, out, err) = support::run(
        bob.banter(&[
            "room",
            "send",
            room.as_str(),
            "--body",
            "from the command line",
        ]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    support::next_event(&mut a, "the command line's message", T, |e| {
        room_message(e, "bob", "from the command line")
    })
    .await;
    c.wait_for("the command line's message", T, |v| {
        v["event"] == "message" && v["body"] == "from the command line"
    });

    // Bob joins again: the room's history (sent before its subject) brings each
    // earlier message once, in order, marked as history.
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "bob".into(),
        password: None,
    });
    let mut history = Vec::new();
    loop {
        let e = support::next_event(&mut b, "the history, then the subject", T, |e| {
            matches!(e, Event::RoomMessage { .. } | Event::RoomSubject { .. })
        })
        .await;
        match e {
            Event::RoomMessage {
                body, from_archive, ..
            } => history.push((body, from_archive)),
            _ => break,
        }
    }
    let bodies: Vec<&str> = history.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "hello from alice",
            "hello from slixmpp",
            "hello from bob",
            "from the command line"
        ],
        "{history:?}"
    );
    assert!(history.iter().all(|(_, archived)| *archived), "{history:?}");
    c.write_line(r#"{"cmd":"quit"}"#);
    a.shutdown().await;
    b.shutdown().await;
}

/// A nickname already taken in the room: the second Banter is told in words it can
/// act on, and stays out; a room the service refuses likewise.
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_nickname_is_said_in_words() {
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "sam").await;
    let mut b = online(&bob).await;
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "sam".into(),
        password: None,
    });
    let left = support::next_event(&mut b, "refused", T, |e| {
        matches!(e, Event::RoomLeft { .. })
    })
    .await;
    let Event::RoomLeft { reason, .. } = left else {
        unreachable!()
    };
    assert!(reason.contains("nickname is taken"), "{reason}");
    b.send(Command::SendRoomMessage {
        id: "x".into(),
        room: room.clone(),
        body: "not in".into(),
    });
    support::next_event(
        &mut b,
        "not in the room",
        T,
        |e| matches!(e, Event::Error { message } if message.contains("join it first")),
    )
    .await;
    a.shutdown().await;
    b.shutdown().await;
}
