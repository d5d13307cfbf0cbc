//! Rooms in tests: a library client joined to a room, and slixmpp's room occupant
//! (tests/muc/slix_room.py) joined to one.
#![allow(dead_code)]

use std::time::Duration;

use banter::client::{ClientHandle, Command, Event};
use banter::xmpp_parsers::jid::BareJid;

use super::{next_event, Proc, Prosody, User};

const T: Duration = Duration::from_secs(60);

/// Joins `room` as `nick` and waits until the room says we are in.
pub async fn join(c: &mut ClientHandle, room: &BareJid, nick: &str) {
    c.send(Command::JoinRoom {
        room: room.clone(),
        nick: nick.into(),
        password: None,
    });
    next_event(
        c,
        "joined",
        T,
        |e| matches!(e, Event::RoomJoined { nick: n, .. } if n == nick),
    )
    .await;
}

/// slixmpp as `user`, joined to `room` as `nick`.
pub fn slix(user: &User, server: &Prosody, room: &BareJid, nick: &str) -> Proc {
    let mut cmd = super::python_peer("muc/slix_room.py", user, server);
    cmd.args(["--room", room.as_str(), "--nick", nick]);
    let mut p = Proc::spawn_with_stdin(cmd);
    p.wait_for("slixmpp joined", T, |v| v["event"] == "joined");
    p
}
