//! Group chat (XEP-0045, issue #14) through a real Prosody with its MUC service: two
//! Banters and slixmpp (PyPI, a client not written here) in one room.

mod support;

use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event};
use banter::xmpp_parsers::jid::BareJid;
use support::rooms::{join, slix};
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

fn room_message(e: &Event, from: &str, text: &str) -> bool {
    matches!(e, Event::RoomMessage { nick, body, from_archive: false, .. } if nick == from && body == text)
}

/// Alice creates the room by joining it (an instant room), Bob and slixmpp's Carol
/// join: each sees the others as occupants with their roles; a message from each
/// reaches the two others; the subject Alice sets reaches Bob and Carol; Bob leaving
/// is seen by Alice and Carol. Then the same from the command line: `banter room
/// send`. Bob joining again gets the earlier messages from the room's archive, once
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

    // The subject from the command line: Bob (a participant) may not change it
    // and is told so; Alice (the room's owner) does, and Bob sees it.
    let (ok, out, err) = support::run(
        bob.banter(&["room", "subject", room.as_str(), "--body", "bob's plans"]),
        T,
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("did not let you change its subject (forbidden)"),
        "{err}"
    );
    let (ok, out, err) = support::run(
        alice.banter(&["room", "subject", room.as_str(), "--body", "alice's plans"]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    c.wait_for("the new subject, seen by slixmpp", T, |v| {
        v["event"] == "subject" && v["subject"] == "alice's plans"
    });

    // Bob joins again: what this device kept is shown at once, and the room's
    // archive brings only what it missed (the command line signed in as another
    // device): each earlier message once, in order, marked as history.
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "bob".into(),
        password: None,
    });
    let kept = stored_history(&mut b).await;
    let (bodies, count, _) = read_archive(&mut b).await;
    assert_eq!(
        [kept, bodies.clone()].concat(),
        [
            "hello from alice",
            "hello from slixmpp",
            "hello from bob",
            "from the command line"
        ],
    );
    assert_eq!((bodies.len(), count), (1, 1));
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

/// slixmpp as `user`, signed in and in no room.
fn slix_idle(user: &User, server: &Prosody) -> Proc {
    let cmd = support::python_peer("muc/slix_room.py", user, server);
    let mut p = Proc::spawn_with_stdin(cmd);
    p.wait_for("slixmpp signed in", T, |v| v["event"] == "ready");
    p
}

/// Alice creates a members-only, persistent room with a name (its configuration
/// form), which refuses Bob until Alice invites him through the room; slixmpp's
/// Carol is invited the same way and joins, and invites Bob directly (XEP-0249).
/// Carol and Alice talk privately through the room. Alice kicks Bob (seen by Bob,
/// Alice and Carol, with the reason), bans Carol from the command line by her nick,
/// and destroys the room.
#[tokio::test(flavor = "multi_thread")]
async fn a_members_only_room_invitations_private_messages_a_kick_and_a_ban() {
    use banter::xmpp::muc::admin::{Change, RoomConfig};
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let carol = server.user("carol");
    let room = BareJid::new(&format!("secret@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    a.send(Command::CreateRoom {
        room: room.clone(),
        nick: "alice".into(),
        config: RoomConfig {
            name: Some("Secret".into()),
            members_only: true,
            persistent: true,
            ..Default::default()
        },
    });
    support::next_event(&mut a, "created", T, |e| {
        matches!(e, Event::RoomCreated { .. })
    })
    .await;
    let info = support::next_event(&mut a, "the room's info", T, |e| {
        matches!(e, Event::RoomInfo { .. })
    })
    .await;
    let Event::RoomInfo { info, .. } = info else {
        unreachable!()
    };
    assert!(
        info.members_only && info.persistent && info.non_anonymous,
        "{info:?}"
    );
    assert_eq!(info.name.as_deref(), Some("Secret"));

    // Not a member: refused, in words.
    let mut b = online(&bob).await;
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "bob".into(),
        password: None,
    });
    let refused = support::next_event(&mut b, "refused", T, |e| {
        matches!(e, Event::RoomLeft { .. })
    })
    .await;
    assert!(
        matches!(&refused, Event::RoomLeft { reason, .. } if reason.contains("members only")),
        "{refused:?}"
    );

    // Invited through the room (it is members-only), Bob is a member and gets in.
    a.send(Command::InviteToRoom {
        room: room.clone(),
        jid: BareJid::new(&bob.jid).unwrap(),
        reason: Some("come in".into()),
    });
    support::next_event(&mut a, "invited bob", T, |e| {
        matches!(e, Event::Invited { mediated: true, .. })
    })
    .await;
    let inv = support::next_event(&mut b, "the invitation", T, |e| {
        matches!(e, Event::Invitation { .. })
    })
    .await;
    let Event::Invitation {
        room: r,
        from,
        reason,
        mediated,
        ..
    } = inv
    else {
        unreachable!()
    };
    assert_eq!((r.as_str(), mediated), (room.as_str(), true));
    assert!(from.starts_with(alice.jid.as_str()), "{from}");
    assert_eq!(reason.as_deref(), Some("come in"));
    join(&mut b, &room, "bob").await;

    let mut c = slix_idle(&carol, &server);
    a.send(Command::InviteToRoom {
        room: room.clone(),
        jid: BareJid::new(&carol.jid).unwrap(),
        reason: None,
    });
    c.wait_for("carol's invitation", T, |v| {
        v["event"] == "invitation" && v["room"] == room.as_str() && v["mediated"] == true
    });
    c.write_line(&format!(
        r#"{{"cmd":"join","room":"{room}","nick":"carol"}}"#
    ));
    c.wait_for("carol in", T, |v| v["event"] == "joined");
    // slixmpp invites Bob directly (XEP-0249).
    c.write_line(&format!(
        r#"{{"cmd":"invite","room":"{room}","jid":"{}","direct":true}}"#,
        bob.jid
    ));
    support::next_event(&mut b, "carol's direct invitation", T, |e| {
        matches!(e, Event::Invitation { from, mediated: false, .. } if from == carol.jid.as_str())
    })
    .await;

    // Privately, both ways, through the room.
    c.write_line(&format!(
        r#"{{"cmd":"pm","room":"{room}","nick":"alice","body":"psst"}}"#
    ));
    support::next_event(&mut a, "carol's private message", T, |e| {
        matches!(e, Event::RoomPrivateMessage { nick, body, outgoing: false, .. } if nick == "carol" && body == "psst")
    })
    .await;
    a.send(Command::SendRoomPrivate {
        id: "p1".into(),
        room: room.clone(),
        nick: "carol".into(),
        body: "hi carol".into(),
    });
    c.wait_for("alice's private message", T, |v| {
        v["event"] == "private" && v["nick"] == "alice" && v["body"] == "hi carol"
    });

    // A kick, seen by the kicked and by the others with the reason.
    a.send(Command::ChangeOccupant {
        room: room.clone(),
        change: Change::Kick,
        target: "bob".into(),
        reason: Some("enough".into()),
    });
    let (mut done, mut gone) = (false, false);
    while !(done && gone) {
        let e = support::next_event(&mut a, "the kick done, and bob gone", T, |e| {
            matches!(e, Event::RoomChanged { .. } | Event::OccupantLeft { .. })
        })
        .await;
        match e {
            Event::RoomChanged { target, .. } => done = target == "bob",
            Event::OccupantLeft { nick, reason, .. } => {
                assert_eq!(
                    (nick.as_str(), reason.as_deref()),
                    ("bob", Some("kicked: enough"))
                );
                gone = true;
            }
            _ => unreachable!(),
        }
    }
    support::next_event(
        &mut b,
        "bob kicked",
        T,
        |e| matches!(e, Event::RoomLeft { reason, .. } if reason == "kicked: enough"),
    )
    .await;
    c.wait_for("bob kicked, seen by slixmpp", T, |v| {
        v["event"] == "occupant"
            && v["nick"] == "bob"
            && v["type"] == "unavailable"
            && v["codes"]
                .as_array()
                .is_some_and(|c| c.contains(&307.into()))
    });

    // A ban from the command line, by nick (the room shows Carol's JID).
    let (ok, out, err) = support::run(
        alice.banter(&["room", "ban", room.as_str(), "carol", "--nick", "alice-cli"]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    c.wait_for("carol banned", T, |v| {
        v["event"] == "occupant"
            && v["nick"] == "carol"
            && v["type"] == "unavailable"
            && v["codes"]
                .as_array()
                .is_some_and(|c| c.contains(&301.into()))
    });

    a.send(Command::DestroyRoom {
        room: room.clone(),
        reason: Some("done here".into()),
    });
    support::next_event(&mut a, "destroyed", T, |e| {
        matches!(e, Event::RoomLeft { reason, .. } if reason == "the room was destroyed: done here")
    })
    .await;
    c.write_line(r#"{"cmd":"quit"}"#);
    a.shutdown().await;
    b.shutdown().await;
}

/// A room bookmarked by slixmpp (another client of Alice's) with autojoin is joined
/// by Banter at sign-in with the bookmark's nick, and one bookmarked while Banter is
/// online is joined then; Banter's own bookmark reaches slixmpp; removing one here
/// keeps its room, slixmpp removing one leaves it. An account with only XEP-0048
/// bookmarks in private storage has them joined too. A public room Alice creates is
/// in the service's list.
#[tokio::test(flavor = "multi_thread")]
async fn bookmarks_are_joined_at_sign_in_and_followed_as_they_change() {
    use banter::xmpp::bookmarks::Bookmark;
    use banter::xmpp::muc::admin::RoomConfig;
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let team = BareJid::new(&format!("team@{MUC}")).unwrap();
    let second = BareJid::new(&format!("second@{MUC}")).unwrap();
    let third = BareJid::new(&format!("third@{MUC}")).unwrap();
    let mut c = slix_idle(&alice, &server);
    c.write_line(&format!(
        r#"{{"cmd":"bookmark","room":"{team}","nick":"al","autojoin":true}}"#
    ));
    c.wait_for("bookmarked", T, |v| v["event"] == "done");

    let mut a = online(&alice).await;
    support::next_event(
        &mut a,
        "the bookmarked room joined",
        T,
        |e| matches!(e, Event::RoomJoined { room, nick } if room == team.as_str() && nick == "al"),
    )
    .await;

    c.write_line(&format!(
        r#"{{"cmd":"bookmark","room":"{second}","nick":"al2","autojoin":true}}"#
    ));
    support::next_event(&mut a, "the room bookmarked meanwhile joined", T, |e| {
        matches!(e, Event::RoomJoined { room, nick } if room == second.as_str() && nick == "al2")
    })
    .await;

    a.send(Command::SetBookmark {
        bookmark: Bookmark {
            room: third.to_string(),
            name: Some("Third".into()),
            autojoin: true,
            nick: Some("al3".into()),
            password: None,
        },
    });
    support::next_event(
        &mut a,
        "our bookmarked room joined",
        T,
        |e| matches!(e, Event::RoomJoined { room, .. } if room == third.as_str()),
    )
    .await;
    c.write_line(r#"{"cmd":"bookmarks"}"#);
    let list = c.wait_for("the bookmarks, read by slixmpp", T, |v| {
        v["event"] == "bookmarks"
    });
    let rooms = list["rooms"].as_array().expect("rooms");
    assert!(
        rooms
            .iter()
            .any(|r| r["room"] == third.as_str() && r["autojoin"] == true && r["nick"] == "al3"),
        "{list}"
    );
    assert_eq!(rooms.len(), 3, "{list}");

    // Unbookmarking here keeps us in the room; another client removing an
    // autojoin bookmark means it left, and so do we.
    a.send(Command::RemoveBookmark {
        room: second.clone(),
    });
    support::next_event(&mut a, "the bookmark gone", T, |e| {
        matches!(e, Event::Bookmarks { bookmarks } if !bookmarks.iter().any(|b| b.room == second.as_str()))
    })
    .await;
    c.write_line(&format!(r#"{{"cmd":"unbookmark","room":"{team}"}}"#));
    let left = support::next_event(&mut a, "a room left", T, |e| {
        matches!(e, Event::RoomLeft { .. })
    })
    .await;
    assert!(
        matches!(&left, Event::RoomLeft { room, .. } if room == team.as_str()),
        "{left:?}: only the room another client unbookmarked is left"
    );

    // The command line lists them.
    let (ok, out, err) = support::run(alice.banter(&["room", "bookmarks"]), T);
    assert!(ok, "{err}\n{out}");
    let line = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "bookmarks")
        .unwrap_or_else(|| panic!("no bookmarks line: {out}"));
    let listed: Vec<&str> = line["bookmarks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["room"].as_str())
        .collect();
    assert_eq!(listed, [third.as_str()], "{line}");

    // A public room is in the service's list; the members-only one made by the
    // command line is not.
    a.send(Command::CreateRoom {
        room: BareJid::new(&format!("lobby@{MUC}")).unwrap(),
        nick: "alice".into(),
        config: RoomConfig {
            name: Some("Lobby".into()),
            public: true,
            persistent: true,
            ..Default::default()
        },
    });
    support::next_event(&mut a, "lobby created", T, |e| {
        matches!(e, Event::RoomCreated { .. })
    })
    .await;
    let (ok, out, err) = support::run(
        alice.banter(&[
            "room",
            "create",
            &format!("hidden@{MUC}"),
            "--members-only",
            "--persistent",
        ]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    let (ok, out, err) = support::run(alice.banter(&["room", "list", MUC]), T);
    assert!(ok, "{err}\n{out}");
    let list = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "room_list")
        .unwrap_or_else(|| panic!("no room list: {out}"));
    let rooms = list["rooms"].as_array().unwrap();
    assert!(
        rooms
            .iter()
            .any(|r| r["jid"] == format!("lobby@{MUC}") && r["name"] == "Lobby"),
        "{list}"
    );
    assert!(
        !rooms.iter().any(|r| r["jid"] == format!("hidden@{MUC}")),
        "{list}"
    );
    // Searched by name (any case), then by something no room has.
    for (search, want) in [("LOBB", 1), ("no such room", 0)] {
        let (ok, out, err) =
            support::run(alice.banter(&["room", "list", MUC, "--name", search]), T);
        assert!(ok, "{err}\n{out}");
        let list = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == "room_list")
            .unwrap_or_else(|| panic!("no room list: {out}"));
        assert_eq!(list["rooms"].as_array().unwrap().len(), want, "{list}");
    }
    c.write_line(r#"{"cmd":"quit"}"#);
    a.shutdown().await;

    // Only the old form, in private storage.
    let dave = server.user("dave");
    let old = BareJid::new(&format!("old@{MUC}")).unwrap();
    let mut d = slix_idle(&dave, &server);
    d.write_line(&format!(
        r#"{{"cmd":"legacy_bookmark","room":"{old}","nick":"dd"}}"#
    ));
    d.wait_for("stored", T, |v| v["event"] == "done");
    let mut banter_dave = online(&dave).await;
    support::next_event(
        &mut banter_dave,
        "the old bookmark's room joined",
        T,
        |e| matches!(e, Event::RoomJoined { room, nick } if room == old.as_str() && nick == "dd"),
    )
    .await;
    d.write_line(r#"{"cmd":"quit"}"#);
    banter_dave.shutdown().await;
}

/// A room that forgets Alice without a word (tests/muc/mod_drop_occupant.lua, as a
/// service restart can) is asked whether it still has her (XEP-0410 self-ping) and
/// joined again: when it refuses her next message, and when her stream comes back
/// from a cut (resumed). Bob's message then reaches her. A room that never answers
/// a join is given up after 30 s.
#[tokio::test(flavor = "current_thread")]
async fn a_room_that_dropped_us_silently_is_joined_again() {
    assert!(
        support::netns::isolate_network(),
        "this test cuts TCP with nftables and ss: it needs a network namespace of its own"
    );
    let server =
        Prosody::start_with_muc_module("drop_occupant", include_str!("muc/mod_drop_occupant.lua"));
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut b = online(&bob).await;
    join(&mut b, &room, "bob").await;
    let say = |c: &mut ClientHandle, id: &str, body: &str| {
        c.send(Command::SendRoomMessage {
            id: id.into(),
            room: room.clone(),
            body: body.into(),
        })
    };

    // Dropped; her next message is refused, and that has her ask and join again.
    say(&mut a, "d1", "drop me silently");
    server.wait_log("/alice from team@", 1, T).await;
    say(&mut a, "m1", "still here?");
    support::next_event(
        &mut a,
        "the refusal",
        T,
        |e| matches!(e, Event::Error { message } if message.contains("not-acceptable")),
    )
    .await;
    join_again(&mut a).await;

    // Dropped again, then her stream is cut and resumes: she asks every room.
    say(&mut a, "d2", "drop me silently");
    server.wait_log("/alice from team@", 2, T).await;
    {
        let _cut = support::netns::TcpCut::start(server.port);
        support::next_event(&mut a, "the stream lost", T, |e| {
            matches!(e, Event::ConnectionLost)
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    support::next_event(&mut a, "resumed", T, |e| {
        matches!(e, Event::Connected { resumed: true, .. })
    })
    .await;
    join_again(&mut a).await;
    say(&mut b, "b2", "welcome back");
    support::next_event(&mut a, "bob's message", T, |e| {
        room_message(e, "bob", "welcome back")
    })
    .await;
    // A room that never answers a join: given up in words, not left "joining".
    a.send(Command::JoinRoom {
        room: BareJid::new(&format!("void@{MUC}")).unwrap(),
        nick: "alice".into(),
        password: None,
    });
    support::next_event(&mut a, "the join given up", T, |e| {
        matches!(e, Event::RoomLeft { room, reason } if room.starts_with("void@") && reason.contains("did not answer"))
    })
    .await;
    // Bob's stream came back too, and the room still had him: asked, not rejoined.
    loop {
        let e = support::next_event(&mut b, "bob's own message back", T, |e| {
            matches!(e, Event::RoomJoined { .. } | Event::RoomMessage { .. })
        })
        .await;
        assert!(!matches!(e, Event::RoomJoined { .. }), "bob was rejoined");
        if room_message(&e, "bob", "welcome back") {
            break;
        }
    }
    a.shutdown().await;
    b.shutdown().await;
}

async fn join_again(c: &mut ClientHandle) {
    support::next_event(
        c,
        "joined again",
        T,
        |e| matches!(e, Event::RoomJoined { nick, .. } if nick == "alice"),
    )
    .await;
}

/// Alice says 60 things in a room; Bob, joining later, reads the last 50 from the
/// room's archive (XEP-0313 at the room; the room's own history would give him 20),
/// once each and in order, is told earlier ones remain, and gets the 10 earlier ones
/// when he asks. What Alice says next reaches him once, live.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_joiner_reads_the_last_50_messages_from_the_rooms_archive() {
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    for i in 0..60 {
        a.send(Command::SendRoomMessage {
            id: format!("m{i}"),
            room: room.clone(),
            body: format!("message {i}"),
        });
    }
    support::next_event(
        &mut a,
        "the last one back",
        T,
        |e| matches!(e, Event::RoomMessage { id, .. } if id == "m59"),
    )
    .await;

    let mut b = online(&bob).await;
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "bob".into(),
        password: None,
    });
    let (bodies, count, more) = read_archive(&mut b).await;
    let want: Vec<String> = (10..60).map(|i| format!("message {i}")).collect();
    assert_eq!(bodies, want);
    assert_eq!((count, more), (50, true));

    b.send(Command::RoomHistory { room: room.clone() });
    let (bodies, count, more) = read_archive(&mut b).await;
    let want: Vec<String> = (0..10).map(|i| format!("message {i}")).collect();
    assert_eq!(bodies, want);
    assert_eq!((count, more), (10, false));

    a.send(Command::SendRoomMessage {
        id: "after".into(),
        room: room.clone(),
        body: "and now live".into(),
    });
    let next = support::next_event(&mut b, "the live one", T, |e| {
        matches!(e, Event::RoomMessage { .. })
    })
    .await;
    assert!(
        matches!(&next, Event::RoomMessage { body, from_archive: false, .. } if body == "and now live"),
        "{next:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Bob reads 70 messages and quits; Alice says 30 more. Bob signed in again is shown
/// the last 50 he kept before anything else, reads from the room's archive only the
/// 30 he missed, and scrolling back reads his own 20 earlier ones, then the archive
/// (which has nothing earlier). His device then holds each of the 100 once, in
/// order, and `banter room history --offline` prints them without signing in.
#[tokio::test(flavor = "multi_thread")]
async fn signed_in_again_a_banter_shows_what_it_kept_and_reads_only_what_it_missed() {
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut b = online(&bob).await;
    join(&mut b, &room, "bob").await;
    let say = |a: &ClientHandle, name: &str, n: usize| {
        for i in 0..n {
            a.send(Command::SendRoomMessage {
                id: format!("{name}{i}"),
                room: room.clone(),
                body: format!("{name} {i}"),
            });
        }
    };
    say(&a, "early", 70);
    support::next_event(&mut b, "the 70th", T, |e| {
        room_message(e, "alice", "early 69")
    })
    .await;
    b.shutdown().await;
    say(&a, "late", 30);
    support::next_event(&mut a, "the 30th back", T, |e| {
        room_message(e, "alice", "late 29")
    })
    .await;

    let mut b = online(&bob).await;
    b.send(Command::JoinRoom {
        room: room.clone(),
        nick: "bob".into(),
        password: None,
    });
    let kept = stored_history(&mut b).await;
    let want = |name: &str, r: std::ops::Range<usize>| -> Vec<String> {
        r.map(|i| format!("{name} {i}")).collect()
    };
    assert_eq!(kept, want("early", 20..70));
    let (missed, count, _) = read_archive(&mut b).await;
    assert_eq!(missed, want("late", 0..30));
    assert_eq!(count, 30);

    b.send(Command::RoomHistory { room: room.clone() });
    let earlier = support::next_event(&mut b, "an earlier page from this device", T, |e| {
        matches!(
            e,
            Event::RoomStoredHistory { .. } | Event::RoomHistoryRead { .. }
        )
    })
    .await;
    let Event::RoomStoredHistory {
        messages,
        earlier: true,
        ..
    } = earlier
    else {
        panic!("{earlier:?}");
    };
    let bodies: Vec<String> = messages.into_iter().map(|m| m.body).collect();
    assert_eq!(bodies, want("early", 0..20));
    b.send(Command::RoomHistory { room: room.clone() });
    let (older, count, more) = read_archive(&mut b).await;
    assert_eq!((older.len(), count, more), (0, 0, false));
    b.shutdown().await;
    a.shutdown().await;

    let (ok, out, err) = support::run(
        bob.banter_on(
            "pc",
            &[
                "room",
                "history",
                room.as_str(),
                "--offline",
                "--limit",
                "1000",
            ],
        ),
        T,
    );
    assert!(ok, "{err}\n{out}");
    let ev: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(ev["event"], "room_stored_history");
    let bodies: Vec<&str> = ev["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, [want("early", 0..70), want("late", 0..30)].concat());
}

/// Bob's connection alone is cut (he signs in on the server's second port) while
/// Alice says 1 000 things in the room; when it is back, each of the 1 000 reaches
/// him exactly once, whether his stream resumed or the room's archive filled the gap.
#[tokio::test(flavor = "current_thread")]
async fn a_thousand_messages_sent_while_cut_off_arrive_once_each() {
    assert!(
        support::netns::isolate_network(),
        "this test cuts TCP with nftables and ss: it needs a network namespace of its own"
    );
    let server = Prosody::start_with_muc();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let room = BareJid::new(&format!("team@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut cfg = bob.config("pc");
    cfg.server = banter::xmpp::connect::parse_server(&format!("127.0.0.1:{}", server.port2));
    let mut b = client::start(cfg).await.expect("login");
    support::next_event(&mut b, "connected", T, |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    join(&mut b, &room, "bob").await;
    {
        let _cut = support::netns::TcpCut::start(server.port2);
        support::next_event(&mut b, "the stream lost", T, |e| {
            matches!(e, Event::ConnectionLost)
        })
        .await;
        for i in 0..1_000 {
            a.send(Command::SendRoomMessage {
                id: format!("n{i}"),
                room: room.clone(),
                body: format!("n{i}"),
            });
        }
        support::next_event(
            &mut a,
            "the last one back",
            T,
            |e| matches!(e, Event::RoomMessage { id, .. } if id == "n999"),
        )
        .await;
    }
    let mut got = std::collections::HashSet::new();
    while got.len() < 1_000 {
        let e = support::next_event(&mut b, "the messages", T, |e| {
            matches!(e, Event::RoomMessage { .. })
        })
        .await;
        let Event::RoomMessage { body, .. } = e else {
            unreachable!()
        };
        assert!(got.insert(body.clone()), "{body} came twice");
    }
    // Nothing more comes: a marker said after is the next message.
    a.send(Command::SendRoomMessage {
        id: "end".into(),
        room: room.clone(),
        body: "end".into(),
    });
    let next = support::next_event(&mut b, "the marker", T, |e| {
        matches!(e, Event::RoomMessage { .. })
    })
    .await;
    assert!(
        matches!(&next, Event::RoomMessage { body, .. } if body == "end"),
        "{next:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// The room messages read from a room's archive, until it says it is done: their
/// bodies, the count it gives, and whether earlier ones remain.
/// The bodies of the room messages this device kept, shown on joining.
async fn stored_history(c: &mut ClientHandle) -> Vec<String> {
    match support::next_event(c, "what this device kept", T, |e| {
        matches!(e, Event::RoomStoredHistory { .. })
    })
    .await
    {
        Event::RoomStoredHistory {
            messages, earlier, ..
        } => {
            assert!(!earlier);
            messages.into_iter().map(|m| m.body).collect()
        }
        _ => unreachable!(),
    }
}

async fn read_archive(c: &mut ClientHandle) -> (Vec<String>, usize, bool) {
    let mut bodies = Vec::new();
    loop {
        match support::next_event(c, "the archive", T, |e| {
            matches!(e, Event::RoomMessage { .. } | Event::RoomHistoryRead { .. })
        })
        .await
        {
            Event::RoomMessage {
                body, from_archive, ..
            } => {
                assert!(from_archive, "{body} came live");
                bodies.push(body);
            }
            Event::RoomHistoryRead { count, more, .. } => return (bodies, count, more),
            _ => unreachable!(),
        }
    }
}

/// A hostile room (tests/muc/mod_hostile_room.lua) sends the joiner 10 000 occupant
/// presences, nonsense muc#user data, a nick with control characters, a 1 MiB
/// subject: the client lists at most its 5 000 occupants, takes no such nick, cuts
/// the subject, and goes on: the room's next message arrives and ours gets through.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_room_floods_and_garbles_without_harm() {
    let server =
        Prosody::start_with_muc_module("hostile_room", include_str!("muc/mod_hostile_room.lua"));
    let alice = server.user("alice");
    let room = BareJid::new(&format!("hostile@{MUC}")).unwrap();
    let mut a = online(&alice).await;
    join(&mut a, &room, "alice").await;
    let mut occupants = std::collections::HashSet::new();
    let mut subject = None;
    let mut flood = std::collections::HashSet::new();
    let mut forged = None;
    loop {
        let e = support::next_event(&mut a, "the flood, then the last message", T, |e| {
            matches!(
                e,
                Event::Occupant { .. } | Event::RoomSubject { .. } | Event::RoomMessage { .. }
            )
        })
        .await;
        match e {
            Event::Occupant { occupant, .. } => {
                assert!(!occupant.nick.chars().any(char::is_control), "{occupant:?}");
                occupants.insert(occupant.nick);
            }
            Event::RoomSubject { subject: s, .. } if !s.is_empty() => subject = Some(s),
            Event::RoomMessage { body, .. } if body == "still here" => break,
            Event::RoomMessage {
                body,
                ts_ms,
                from_archive,
                ..
            } => {
                if body == "forged" {
                    forged = Some((ts_ms, from_archive));
                } else {
                    assert!(flood.insert(body.clone()), "{body} twice");
                }
            }
            _ => {}
        }
    }
    // Every message of the flood, once; the sender's stamp not believed.
    assert_eq!(flood.len(), 10_000);
    let (forged_ms, from_archive) = forged.expect("the forged one");
    assert!(
        forged_ms > 1_700_000_000_000 && !from_archive,
        "{forged_ms}"
    );
    assert!(
        occupants.len() <= banter::rooms::MAX_OCCUPANTS,
        "{} occupants listed",
        occupants.len()
    );
    assert!(
        occupants.len() > 1_000,
        "{} occupants listed",
        occupants.len()
    );
    let subject = subject.expect("the subject, cut");
    assert!(subject.chars().count() <= 1_000, "{} chars", subject.len());
    a.send(Command::SendRoomMessage {
        id: "mine".into(),
        room: room.clone(),
        body: "unharmed".into(),
    });
    support::next_event(&mut a, "our message back", T, |e| {
        room_message(e, "alice", "unharmed")
    })
    .await;
    a.shutdown().await;
    // Kept on this device once each (10 000, the forged one, the last two), in the
    // order they came (the forged one not first).
    let store = banter::store::Store::open_dir(&alice.device_dir("pc")).unwrap();
    let kept = store
        .room_history(&alice.jid, room.as_str(), None, None, 20_000)
        .unwrap();
    assert_eq!(kept.len(), 10_003);
    let bodies: Vec<&str> = kept.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies.first(), Some(&"flood message 1"));
    assert_eq!(bodies.get(10_000), Some(&"forged"));
}
