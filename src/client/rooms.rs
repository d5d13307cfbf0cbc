//! Group chat rooms in the account (XEP-0045): joined on command and joined again
//! after a new session (a resumed one keeps them); the room's presences and
//! messages go to `rooms::Room` and out as `Event::RoomJoined`, `Occupant`,
//! `RoomMessage`, `RoomSubject` and `RoomLeft`, never to the contact list.

use crate::rooms::{Room, RoomState, RoomUpdate};
use crate::store::StoredRoomMessage;
use crate::xmpp::muc;

use super::*;

mod admin;
mod amend;
mod archive;
mod bookmarks;
mod stored;

pub(super) use admin::RoomIq;

/// Rooms one account may be in at once.
const MAX_ROOMS: usize = 100;
/// How the ids of our subject changes begin.
const SUBJECT_ID: &str = "subject-";
/// How long a room has to answer a join.
const JOIN_WAIT: Duration = Duration::from_secs(30);

impl State {
    pub(super) fn join_room(
        &mut self,
        room: BareJid,
        nick: String,
        password: Option<String>,
        out: &mut Vec<Stanza>,
    ) {
        if !muc::nick_ok(&nick) {
            return self.emit(Event::RoomLeft {
                room: room.to_string(),
                reason: format!("'{nick}' cannot be a nickname"),
            });
        }
        if let Some(reason) = self.not_a_room(&room) {
            return self.emit(Event::RoomLeft {
                room: room.to_string(),
                reason,
            });
        }
        if !self.rooms.contains_key(&room) && self.rooms.len() >= MAX_ROOMS {
            return self.emit(Event::RoomLeft {
                room: room.to_string(),
                reason: format!("already in {MAX_ROOMS} rooms"),
            });
        }
        // What the room is (whether it keeps an archive, above all) decides how
        // we join: asked first, then joined whatever the answer (rooms.rs/archive.rs).
        let mut r = Room::new(nick, password);
        // The room's disco#info must come back too.
        r.join_deadline = Some(Instant::now() + JOIN_WAIT);
        self.rooms.insert(room.clone(), r);
        self.load_stored_room(&room);
        let to = Jid::from(room.clone());
        self.iq(
            IqPurpose::Room(RoomIq::PreJoin(room)),
            |id| disco::info_query(id, to, None),
            out,
        );
    }

    /// Our nick where none is given: our account's name.
    pub(super) fn default_nick(&self) -> String {
        self.own
            .node()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "me".into())
    }

    /// Our join presence for `room` (a room we are joining), answered within
    /// `JOIN_WAIT` or given up.
    fn send_join(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Ok(at) = room.with_resource_str(&r.nick) else {
            return;
        };
        r.join_deadline = Some(Instant::now() + JOIN_WAIT);
        out.push(muc::join(at, r.password.as_deref(), r.last_message_ms, r.mam).into());
    }

    /// Joins not answered in time are given up, in words; the deadlines wait while
    /// our stream is down (`up`: it is back, resumed).
    pub(super) fn room_joins_paused(&mut self, up: bool) {
        for r in self.rooms.values_mut() {
            r.join_deadline = match (up, r.state == RoomState::Joining) {
                (true, true) => Some(Instant::now() + JOIN_WAIT),
                _ => None,
            };
        }
    }

    pub(super) fn expire_room_joins(&mut self) {
        let now = Instant::now();
        let late: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, r)| {
                r.state == RoomState::Joining && r.join_deadline.is_some_and(|d| d <= now)
            })
            .map(|(room, _)| room.clone())
            .collect();
        for room in late {
            self.rooms.remove(&room);
            self.forget_room_iqs(&room);
            self.emit(Event::RoomLeft {
                room: room.to_string(),
                reason: "the room did not answer: try again later".into(),
            });
        }
    }

    /// The earliest join deadline.
    pub(super) fn next_join_deadline(&self) -> Option<Instant> {
        self.rooms
            .values()
            .filter(|r| r.state == RoomState::Joining)
            .filter_map(|r| r.join_deadline)
            .min()
    }

    pub(super) fn leave_room(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let Some(r) = self.rooms.remove(room) else {
            return;
        };
        self.forget_room_iqs(room);
        if let Ok(at) = room.with_resource_str(&r.nick) {
            out.push(muc::leave(at).into());
        }
        self.emit(Event::RoomLeft {
            room: room.to_string(),
            reason: "left".into(),
        });
    }

    pub(super) fn send_room_message(
        &mut self,
        id: String,
        room: &BareJid,
        body: &str,
        out: &mut Vec<Stanza>,
    ) {
        if self.rooms.get(room).map(|r| &r.state) != Some(&RoomState::Joined) {
            return self.emit(Event::Error {
                message: format!("not in {room}: join it first"),
            });
        }
        out.push(muc::groupchat(room, &id, body).into());
    }

    pub(super) fn set_room_subject(
        &mut self,
        room: &BareJid,
        subject: &str,
        out: &mut Vec<Stanza>,
    ) {
        if self.rooms.contains_key(room) {
            let mut m = muc::set_subject(room, subject);
            // Its id says what a refusal was about.
            m.id = Some(xmpp_parsers::message::Id(format!(
                "{SUBJECT_ID}{}",
                new_id()
            )));
            out.push(m.into());
        }
    }

    /// A new session: the rooms forgot us; every room is joined again.
    pub(super) fn rooms_online(&mut self, out: &mut Vec<Stanza>) {
        let rooms: Vec<BareJid> = self.rooms.keys().cloned().collect();
        for room in rooms {
            if let Some(r) = self.rooms.get_mut(&room) {
                r.rejoining();
            }
            self.send_join(&room, out);
        }
    }

    /// Questions to a room we are out of: their answers no longer matter (and a
    /// room that never answers must not keep them forever).
    fn forget_room_iqs(&mut self, room: &BareJid) {
        self.pending_iqs.retain(|_, (p, to)| {
            !(matches!(p, IqPurpose::Room(_)) && to.as_ref().is_some_and(|t| t.to_bare() == *room))
        });
    }

    /// Whether the stanza's sender is a room we are in (or joining).
    pub(super) fn is_room(&self, from: Option<&Jid>) -> bool {
        from.is_some_and(|f| self.rooms.contains_key(&f.to_bare()))
    }

    pub(super) fn on_room_presence(&mut self, p: Presence, out: &mut Vec<Stanza>) {
        let Some(from) = p.from.clone() else { return };
        let room = from.to_bare();
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        r.heard = true;
        let updates = if let Some(reason) = muc::join_error(&p) {
            r.refused(reason)
        } else {
            let Some(nick) = from.resource() else { return };
            use xmpp_parsers::presence::Show;
            let show = match p.show {
                Some(Show::Away) => "away",
                Some(Show::Chat) => "chat",
                Some(Show::Dnd) => "dnd",
                Some(Show::Xa) => "xa",
                None => "available",
            };
            let available = p.type_ == PresenceType::None;
            r.on_presence(nick.as_str(), available, show, muc::user_info(&p))
        };
        let left = r.state == RoomState::Out;
        let mut created = false;
        for u in updates {
            let event = match u {
                RoomUpdate::Joined { nick } => {
                    self.room_joined(&room, created, out);
                    Event::RoomJoined {
                        room: room.to_string(),
                        nick,
                    }
                }
                RoomUpdate::Occupant(o) => Event::Occupant {
                    room: room.to_string(),
                    present: true,
                    occupant: o,
                },
                RoomUpdate::OccupantLeft { nick, reason } => Event::OccupantLeft {
                    room: room.to_string(),
                    nick,
                    reason,
                },
                RoomUpdate::Left { reason } => Event::RoomLeft {
                    room: room.to_string(),
                    reason,
                },
                RoomUpdate::Created => {
                    created = true;
                    self.room_created(&room, out);
                    continue;
                }
            };
            self.emit(event);
        }
        if left {
            self.rooms.remove(&room);
            self.forget_room_iqs(&room);
        }
    }

    pub(super) fn on_room_message(&mut self, m: Message, out: &mut Vec<Stanza>) {
        let Some(from) = m.from.clone() else { return };
        let room = from.to_bare();
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        r.heard = true;
        let nick = from.resource().map(|r| r.to_string());
        if m.type_ == MessageType::Error {
            let why = m
                .payloads
                .iter()
                .find(|e| e.name() == "error")
                .and_then(|e| e.children().next().map(|c| c.name().to_string()))
                .unwrap_or_else(|| "error".into());
            let subject = m.id.as_ref().is_some_and(|i| i.0.starts_with(SUBJECT_ID));
            if subject {
                return self.emit(Event::Error {
                    message: format!("{room} did not let you change its subject ({why})"),
                });
            }
            // The room says we are not in it: ask it (XEP-0410), and join again if so.
            if why == "not-acceptable" {
                self.ping_room(&room, out);
            }
            return self.emit(Event::Error {
                message: format!("{room} did not take a message ({why}): are you still in it?"),
            });
        }
        if m.type_ != MessageType::Groupchat {
            return;
        }
        if let Some(subject) = muc::subject(&m) {
            if let Some(r) = self.rooms.get_mut(&room) {
                r.subject = Some(subject.clone());
            }
            return self.emit(Event::RoomSubject {
                room: room.to_string(),
                subject,
                nick,
            });
        }
        let Some(nick) = nick.filter(|n| muc::nick_ok(n)) else {
            return;
        };
        // The room's stamp on its history; one an occupant wrote is not believed.
        let delay = chat::delay_by_ms(&m.payloads, room.as_str());
        let now = chat::now_ms();
        let ts_ms = delay.map_or(now, |d| d.min(now));
        if self.on_room_amend(&room, &nick, &m, ts_ms) {
            return;
        }
        let Some(body) = chat::body(&m) else {
            return;
        };
        let id = m.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        // The room's own id for it (XEP-0359), believed only from a room that keeps
        // an archive (such a room replaces any an occupant put in); else who sent
        // it, its id and its text (without an id: the second it was sent).
        let mam = self.rooms.get(&room).is_some_and(|r| r.mam);
        let archive_id = chat::stanza_id_by(&m, &room).filter(|_| mam);
        let key = match &archive_id {
            Some(sid) => format!("sid:{sid}"),
            None => room_message_key(&nick, &id, &body, ts_ms),
        };
        let fresh = self.rooms.get_mut(&room).is_some_and(|r| {
            if let Some(id) = &archive_id {
                r.saw_archive_id(id, ts_ms);
            }
            r.fresh_message(key.clone(), ts_ms)
        });
        let (body, meta) = amend::room_content(&m, &body);
        let kept = StoredRoomMessage {
            seq: 0,
            room: room.to_string(),
            nick: nick.clone(),
            id: id.clone(),
            stanza_id: archive_id.clone(),
            ts_ms,
            body,
            private: None,
            meta,
        };
        if !fresh {
            return;
        }
        let Some(seq) = self.keep_room_message(&key, kept.clone()) else {
            return;
        };
        let now = self.room_message_now(seq, kept);
        self.emit(Event::RoomMessage {
            room: room.to_string(),
            nick,
            id,
            body: now.body,
            ts_ms,
            from_archive: delay.is_some(),
            stanza_id: archive_id,
            meta: now.meta,
        });
    }
}

/// The key a room message without the room's id is kept under: who sent it, its id
/// and a fingerprint of its text (a bot that counts its ids again after a restart,
/// or a nick taken by someone else, is not taken for a copy); without an id, the
/// second it was sent stands in.
fn room_message_key(nick: &str, id: &str, body: &str, ts_ms: i64) -> String {
    let text = chat::text_hash(body);
    match id.is_empty() {
        false => format!("msg:{nick}\n{id}\n{text:x}"),
        true => format!("msg:{nick}\n{}\n{text:x}", ts_ms.div_euclid(1000)),
    }
}
