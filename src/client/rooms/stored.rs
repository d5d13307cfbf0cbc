//! A room's messages kept on this device (store/rooms.rs): shown again when we
//! start joining the room, before anything new from it; each message kept once, so
//! that a copy (live and archived, the room's history after a rejoin, the archive
//! read again after a restart) is known and not shown twice; scrolling back reads
//! this device first and the room's archive only past its oldest message.

use crate::store::StoredRoomMessage;

use super::*;

/// Messages shown on joining, and per page when scrolling back.
pub(super) const PAGE: usize = muc::JOIN_HISTORY as usize;
/// Messages kept per room on this device (about 32 MB): the oldest go first.
const KEEP_PER_ROOM: usize = 100_000;
/// Every so many kept messages, the room they went to is trimmed (a flood cannot
/// fill the disk between two joins).
const TRIM_EVERY: u32 = 5_000;

impl State {
    /// We start joining `room`: what this device kept of it, and where reading the
    /// room (its archive, or its history) goes on from.
    pub(super) fn load_stored_room(&mut self, room: &BareJid) {
        let account = self.own.to_string();
        let read = (|| {
            self.store
                .prune_room(&account, room.as_str(), KEEP_PER_ROOM)?;
            let mut page = self
                .store
                .room_history(&account, room.as_str(), None, None, PAGE)?;
            self.store.fill_room_reactions(&account, &mut page)?;
            Ok::<_, crate::store::StoreError>((
                page,
                self.store.room_archive_end(&account, room.as_str(), true)?,
                self.store
                    .room_archive_end(&account, room.as_str(), false)?,
                self.store.room_newest(&account, room.as_str())?,
            ))
        })();
        let (messages, newest, oldest, (newest_ms, kept_upto)) = match read {
            Ok(v) => v,
            Err(e) => return self.store_err(e),
        };
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        r.newest_archive_id = newest;
        r.oldest_archive_id = oldest;
        r.last_message_ms = newest_ms;
        r.kept_upto = kept_upto;
        let more = messages.len() >= PAGE;
        r.stored_cursor = messages.first().filter(|_| more).map(|m| m.cursor());
        if messages.is_empty() {
            return;
        }
        self.emit(Event::RoomStoredHistory {
            room: room.to_string(),
            messages,
            earlier: false,
            more,
        });
    }

    /// Keeps a message of `room` under `key` (the room's stanza-id, else its sender
    /// and id): its row when it is new and is to be shown (0: the store failed, and
    /// hides nothing), `None` for a copy.
    pub(super) fn keep_room_message(&mut self, key: &str, m: StoredRoomMessage) -> Option<i64> {
        let account = self.own.to_string();
        self.room_writes = self.room_writes.wrapping_add(1);
        if self.room_writes.is_multiple_of(TRIM_EVERY) {
            if let Err(e) = self.store.prune_room(&account, &m.room, KEEP_PER_ROOM) {
                self.store_err(e);
            }
        }
        match self.store.insert_room_message(&account, key, &m) {
            Ok(new) => new,
            Err(e) => {
                self.store_err(e);
                Some(0)
            }
        }
    }

    /// Keeps a private message with occupant `nick` of `room`: true when it is new
    /// (a copy, e.g. from an offline-message replay, is false).
    pub(super) fn keep_private(
        &mut self,
        room: &BareJid,
        nick: &str,
        id: &str,
        body: &str,
        ts_ms: i64,
        outgoing: bool,
    ) -> bool {
        let dir = if outgoing { "out" } else { "in" };
        let text = chat::text_hash(body);
        let key = match id.is_empty() {
            false => format!("pm-{dir}:{nick}\n{id}\n{text:x}"),
            true => format!("pm-{dir}:{nick}\n{ts_ms}\n{text:x}"),
        };
        let m = StoredRoomMessage {
            seq: 0,
            room: room.to_string(),
            nick: nick.to_string(),
            id: id.to_string(),
            stanza_id: None,
            ts_ms,
            body: body.to_string(),
            private: Some(dir.into()),
            meta: Default::default(),
        };
        self.keep_room_message(&key, m).is_some()
    }

    /// An earlier page from this device, if it has one (true: sent as
    /// `Event::RoomStoredHistory`); else the room's archive is asked.
    pub(super) fn stored_room_page(&mut self, room: &BareJid) -> bool {
        let Some((cursor, upto)) = self
            .rooms
            .get(room)
            .and_then(|r| Some((r.stored_cursor?, r.kept_upto)))
        else {
            return false;
        };
        let account = self.own.to_string();
        let page = match self
            .store
            .room_history(&account, room.as_str(), Some(cursor), upto, PAGE)
            .and_then(|mut page| {
                self.store.fill_room_reactions(&account, &mut page)?;
                Ok(page)
            }) {
            Ok(page) => page,
            Err(e) => {
                self.store_err(e);
                return false;
            }
        };
        let full = page.len() >= PAGE;
        let next = page.first().filter(|_| full).map(|m| m.cursor());
        let mam = self.rooms.get_mut(room).is_some_and(|r| {
            r.stored_cursor = next;
            r.mam
        });
        if page.is_empty() {
            return false;
        }
        let more = full || mam;
        self.emit(Event::RoomStoredHistory {
            room: room.to_string(),
            messages: page,
            earlier: true,
            more,
        });
        true
    }
}
