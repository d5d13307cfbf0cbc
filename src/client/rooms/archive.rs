//! A room's archive (XEP-0313 at the room's JID): asked what the room is before
//! joining; a room that keeps an archive is joined without the short history the
//! room itself would send, and read from the archive instead: its last messages on
//! a first join, everything after the newest message seen on a rejoin (after a new
//! session or a self-ping), and earlier pages on request. Copies (the same message
//! live and archived, or archived twice) are known by the room's stanza-id.

use crate::store::StoredRoomMessage;
use crate::xmpp::mam;

use super::*;

/// Messages read on a first join, and per page when scrolling back.
const LAST_MESSAGES: usize = super::stored::PAGE;
/// Messages per page when catching up.
const CATCH_UP_PAGE: usize = 100;
/// Pages one catch-up reads at most (a room cannot keep us paging forever).
const MAX_PAGES: u32 = 50;

impl State {
    /// The room answered what it is (or could not: a room that does not exist yet
    /// says so): join it now.
    pub(super) fn pre_join_answer(
        &mut self,
        room: BareJid,
        answer: Result<Option<Element>, DefinedCondition>,
        out: &mut Vec<Stanza>,
    ) {
        if self.rooms.get(&room).map(|r| &r.state) != Some(&RoomState::Joining) {
            return;
        }
        self.keep_room_info(&room, answer);
        self.send_join(&room, out);
    }

    /// We are in a room that keeps an archive: read what we have not seen.
    pub(super) fn catch_up_room(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if !r.mam {
            return;
        }
        r.archive_pages = 0;
        r.archive_count = 0;
        // Joined again: what came after what we saw, or since we were first in.
        // First in: the room's last messages.
        let from = match (r.newest_archive_id.clone(), r.in_since_ms) {
            (Some((_, id)), _) => Some(mam::From::After(id)),
            (None, Some(since)) => Some(mam::From::Since(since)),
            (None, None) => None,
        };
        r.in_since_ms.get_or_insert_with(chat::now_ms);
        match from {
            Some(from) => self.read_room_archive(room, from, true, out),
            None => self.read_room_archive(room, mam::From::Newest, false, out),
        }
    }

    /// An earlier page (the user scrolls back): from this device while it has one,
    /// then from the room's archive.
    pub(in crate::client) fn room_history(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        if self.stored_room_page(room) {
            return;
        }
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if !r.mam || r.archive_query.is_some() {
            return;
        }
        r.archive_pages = 0;
        r.archive_count = 0;
        let from = match r.oldest_archive_id.clone() {
            Some((_, id)) => mam::From::Before(id),
            None => mam::From::Newest,
        };
        self.read_room_archive(room, from, false, out);
    }

    fn read_room_archive(
        &mut self,
        room: &BareJid,
        from: mam::From,
        forward: bool,
        out: &mut Vec<Stanza>,
    ) {
        let queryid = new_id();
        let max = if forward {
            CATCH_UP_PAGE
        } else {
            LAST_MESSAGES
        };
        // A page read back is older than anything kept: rows below them all.
        let back_rows = match forward {
            true => (0, 0),
            false => match self.store.room_rows_below(max as i64) {
                Ok(first) => (first, max as i64),
                Err(e) => {
                    self.store_err(e);
                    (0, 0)
                }
            },
        };
        if let Some(r) = self.rooms.get_mut(room) {
            r.archive_query = Some((queryid.clone(), forward));
            r.back_rows = back_rows;
        }
        self.iq(
            IqPurpose::Room(RoomIq::Archive(room.clone())),
            |id| mam::query_at(id, &queryid, Some(room), &from, max),
            out,
        );
    }

    /// A message of a room's archive, for our query in flight.
    pub(in crate::client) fn on_room_archive(&mut self, m: Message) {
        let Some(room) = m
            .from
            .as_ref()
            .filter(|f| f.resource().is_none())
            .map(|f| f.to_bare())
        else {
            return;
        };
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let Some((queryid, _)) = &r.archive_query else {
            return;
        };
        let Some((archive_id, inner, ts)) = mam::unwrap_result(&m, &room, queryid) else {
            return;
        };
        // The room's own message, from one of its occupants.
        let from_room = inner.from.as_ref().map(|f| f.to_bare()) == Some(room.clone());
        let nick = inner
            .from
            .as_ref()
            .and_then(|f| f.resource())
            .map(|n| n.to_string());
        let (true, Some(nick)) = (from_room, nick.filter(|n| muc::nick_ok(n))) else {
            return;
        };
        let now = chat::now_ms();
        let ts_ms = ts.map_or(now, |t| t.min(now));
        r.saw_archive_id(&archive_id, ts_ms);
        // A correction, retraction or reactions read back: applied (again: that
        // changes nothing) to what was kept.
        if self.on_room_amend(&room, &nick, &inner, ts_ms) {
            return;
        }
        let Some(body) = chat::body(&inner) else {
            return;
        };
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let key = format!("sid:{archive_id}");
        if !r.fresh_message(key.clone(), ts_ms) {
            return;
        }
        let id = inner.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        let (body, meta) = super::amend::room_content(&inner, &body);
        let kept = StoredRoomMessage {
            seq: r.next_back_row(),
            room: room.to_string(),
            nick: nick.clone(),
            id: id.clone(),
            stanza_id: Some(archive_id.clone()),
            ts_ms,
            body,
            private: None,
            meta,
        };
        let Some(seq) = self.keep_room_message(&key, kept.clone()) else {
            return;
        };
        if let Some(r) = self.rooms.get_mut(&room) {
            r.archive_count += 1;
        }
        let now = self.room_message_now(seq, kept);
        self.emit(Event::RoomMessage {
            room: room.to_string(),
            nick,
            id,
            body: now.body,
            ts_ms,
            from_archive: true,
            stanza_id: Some(archive_id),
            meta: now.meta,
        });
    }

    /// The end of a page: the next one, or the catch-up is done.
    pub(super) fn archive_page_answer(
        &mut self,
        room: BareJid,
        answer: Result<Option<Element>, DefinedCondition>,
        out: &mut Vec<Stanza>,
    ) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let Some((_, forward)) = r.archive_query.take() else {
            return;
        };
        r.archive_pages += 1;
        let fin = match &answer {
            Ok(Some(p)) => mam::fin(p).map(|(complete, last)| (complete, last, mam::fin_first(p))),
            _ => None,
        };
        let (complete, last, first) = fin.clone().unwrap_or((true, None, None));
        if let (false, Some(first)) = (forward, first) {
            r.read_back_to(first);
        }
        // The newest id we knew is no longer there (the archive was trimmed): its
        // last messages then.
        if forward && matches!(answer, Err(DefinedCondition::ItemNotFound)) {
            return self.read_room_archive(&room, mam::From::Newest, false, out);
        }
        if forward && !complete && r.archive_pages < MAX_PAGES {
            if let Some(last) = last {
                return self.read_room_archive(&room, mam::From::After(last), true, out);
            }
        }
        let count = r.archive_count;
        // Caught up: earlier messages may remain (here or in the archive) when any
        // is shown; a page back: whether the archive said it has earlier ones.
        let more = match forward {
            true => r.stored_cursor.is_some() || r.oldest_archive_id.is_some(),
            false => fin.is_some_and(|(complete, ..)| !complete),
        };
        if answer.is_err() {
            self.emit(Event::Error {
                message: format!("could not read the archive of {room}"),
            });
        }
        self.emit(Event::RoomHistoryRead {
            room: room.to_string(),
            count,
            more,
        });
    }
}
