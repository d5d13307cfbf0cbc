//! Corrections (XEP-0308), retractions (XEP-0424), reactions (XEP-0444), replies
//! (XEP-0461) and files in rooms. What comes from the room (ours too, as the room
//! reflects it, live or from its archive) is applied to what this device kept, only
//! from the nick that sent the message (Prosody 0.12 gives no occupant-id); what we
//! send is a groupchat message, applied when the room sends it back. Retractions,
//! reactions and replies name a message by the room's stanza-id, corrections by our
//! own id, as XEP-0424, XEP-0444, XEP-0461 and XEP-0308 say for groupchat.

use super::*;
use crate::store::{room_ref, MessageMeta, RoomAmend, StoredRoomMessage};
use crate::xmpp::{correct, oob, reactions, reply, retract};

impl State {
    /// An amend from `nick` in `room` (a correction, a retraction, reactions), sent
    /// at `ts_ms` (the room's time for it): applied and said; true when `m` was one
    /// (nothing more is done with it). One of a message not kept yet is kept until
    /// that message comes; an older one than what was applied changes nothing.
    pub(super) fn on_room_amend(
        &mut self,
        room: &BareJid,
        nick: &str,
        m: &Message,
        ts_ms: i64,
    ) -> bool {
        let account = self.own.to_string();
        let id = m.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        fn at<'a>(room: &'a BareJid, nick: &'a str, of: &'a str, ts_ms: i64) -> RoomAmend<'a> {
            RoomAmend {
                room: room.as_str(),
                nick,
                of,
                ts_ms,
            }
        }
        if let Some(of) = correct::replaces(m) {
            let Some(body) = chat::body(m) else {
                return true;
            };
            let body = reply::shown_body(m, &body);
            match self
                .store
                .correct_room_message(&account, at(room, nick, &of, ts_ms), &id, &body)
            {
                Ok(Some(c)) => self.emit(Event::RoomMessageCorrected {
                    room: room.to_string(),
                    id: room_ref(&c),
                    nick: nick.to_string(),
                    body: c.body,
                }),
                Ok(None) => {
                    tracing::debug!(%room, nick, of, "a correction of no message of that nick")
                }
                Err(e) => self.store_err(e),
            }
            return true;
        }
        if let Some(of) = retract::retracts(m) {
            match self
                .store
                .retract_room_message(&account, at(room, nick, &of, ts_ms))
            {
                Ok(Some(r)) => self.emit(Event::RoomMessageRetracted {
                    room: room.to_string(),
                    id: room_ref(&r),
                    nick: nick.to_string(),
                }),
                Ok(None) => {}
                Err(e) => self.store_err(e),
            }
            return true;
        }
        if let Some((of, set)) = reactions::read(m) {
            match self
                .store
                .set_room_reactions(&account, at(room, nick, &of, ts_ms), &set)
            {
                Ok(Some(target)) => self.emit(Event::RoomReactions {
                    room: room.to_string(),
                    id: target,
                    nick: nick.to_string(),
                    reactions: set,
                }),
                Ok(None) => {}
                Err(e) => self.store_err(e),
            }
            return true;
        }
        false
    }

    /// Whether `to` is a room we are in; when it is one we are not (yet) in, that is
    /// said, and false.
    pub(in crate::client) fn in_room(&self, to: &BareJid) -> bool {
        match self.rooms.get(to).map(|r| &r.state) {
            Some(crate::rooms::RoomState::Joined) => true,
            Some(_) => {
                self.emit(Event::Error {
                    message: format!("not in {to} yet: wait until it is joined"),
                });
                false
            }
            None => false,
        }
    }

    /// Our message `of` in `room` gets `body` (the room sends it back, and then it is
    /// applied).
    pub(in crate::client) fn room_correct(
        &mut self,
        id: &str,
        room: &BareJid,
        of: &str,
        body: &str,
        out: &mut Vec<Stanza>,
    ) {
        let mut m = muc::groupchat(room, id, body);
        m.payloads.push(correct::replace(of));
        out.push(m.into());
    }

    /// A reply to message `of` (the room's id) in `room`, quoting it.
    pub(in crate::client) fn room_reply(
        &mut self,
        id: &str,
        room: &BareJid,
        of: &str,
        body: &str,
        out: &mut Vec<Stanza>,
    ) {
        let original = self
            .store
            .room_message(self.own.as_str(), room.as_str(), of)
            .ok()
            .flatten()
            .filter(|m| !m.meta.retracted);
        let (full, elements) = match original {
            Some(o) => {
                let author = room.with_resource_str(&o.nick).ok().map(|j| j.to_string());
                reply::compose(of, author.as_deref(), &o.body, body)
            }
            None => (body.to_string(), vec![reply::element(of, None)]),
        };
        let mut m = muc::groupchat(room, id, &full);
        m.payloads.extend(elements);
        out.push(m.into());
    }

    /// Retracts our message `of` (the room's id) in `room`.
    pub(in crate::client) fn room_retract(
        &mut self,
        id: &str,
        room: &BareJid,
        of: &str,
        out: &mut Vec<Stanza>,
    ) {
        let mut m = retract::message(room, id, of);
        m.type_ = MessageType::Groupchat;
        out.push(m.into());
    }

    /// Our reactions to message `of` (the room's id) in `room` are now `set`.
    pub(in crate::client) fn room_react(
        &mut self,
        id: &str,
        room: &BareJid,
        of: &str,
        set: &[String],
        out: &mut Vec<Stanza>,
    ) {
        let mut m = reactions::message(room, id, of, set);
        m.type_ = MessageType::Groupchat;
        out.push(m.into());
    }
}

impl State {
    /// A room message was just kept (row `seq`): amends of it that came first are
    /// applied; what to show of it then (`m`'s body and meta when none came).
    pub(super) fn room_message_now(&mut self, seq: i64, m: StoredRoomMessage) -> StoredRoomMessage {
        let account = self.own.to_string();
        match self.store.apply_room_pending(&account, seq) {
            Ok(Some(now)) => now,
            Ok(None) => m,
            Err(e) => {
                self.store_err(e);
                m
            }
        }
    }
}

/// A new room message as shown (a reply's quote stripped) and what it carries
/// beside its text: what it answers, its file.
pub(super) fn room_content(m: &Message, body: &str) -> (String, MessageMeta) {
    let meta = MessageMeta {
        reply_to: reply::read(m),
        file: oob::file_of(m, body),
        ..Default::default()
    };
    (reply::shown_body(m, body), meta)
}
