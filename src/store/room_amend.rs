//! What happens to a room's messages after they were sent (XEP-0308 corrections,
//! XEP-0424 retractions, XEP-0444 reactions), as kept: a message is changed only by
//! the nick that sent it (Prosody 0.12 has no occupant-id, XEP-0421); retractions,
//! reactions and replies name a message by the room's stanza-id (its sender's id as a
//! fallback), corrections by the sender's id. Reactions share the 1:1 table, under the
//! room's JID, by nick.

use rusqlite::{params, OptionalExtension};

use super::chat::reaction_counts;
use super::rooms::{row, COLS};
use super::{Store, StoreError, StoredRoomMessage};

impl Store {
    /// The newest message of the room (not private) that `nick` sent and `of` names
    /// (by `by`: the sender's id, a correction's id, or the room's id).
    fn room_message_named(
        &self,
        account: &str,
        room: &str,
        nick: Option<&str>,
        of: &str,
        by_room_id: bool,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let by = if by_room_id {
            "(stanza_id=?3 OR (stanza_id IS NULL AND msg_id=?3))"
        } else {
            "(msg_id=?3 OR edit_id=?3)"
        };
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM room_messages WHERE account=?1 AND room=?2 AND {by}
                   AND private IS NULL AND (?4 IS NULL OR nick=?4)
                 ORDER BY seq DESC LIMIT 1"
            ))?
            .query_row(params![account, room, of, nick], row)
            .optional()?)
    }

    /// `nick`'s correction (message `new_id`) of their message `of`: the message as it
    /// is now, or `None` (no such message of theirs, retracted, or this correction
    /// was applied before).
    pub fn correct_room_message(
        &self,
        account: &str,
        room: &str,
        nick: &str,
        of: &str,
        new_id: &str,
        body: &str,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let Some(m) = self.room_message_named(account, room, Some(nick), of, false)? else {
            return Ok(None);
        };
        if m.meta.retracted || m.meta.edit_id.as_deref() == Some(new_id) {
            return Ok(None);
        }
        self.conn.execute(
            "UPDATE room_messages SET body=?1, edited=1, edit_id=?2 WHERE seq=?3",
            params![body, new_id, m.seq],
        )?;
        self.room_message_at(m.seq)
    }

    /// `nick` retracted their message `of` (the room's id): a tombstone, its
    /// reactions gone. `None` when there is no such message of theirs.
    pub fn retract_room_message(
        &self,
        account: &str,
        room: &str,
        nick: &str,
        of: &str,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let Some(m) = self.room_message_named(account, room, Some(nick), of, true)? else {
            return Ok(None);
        };
        if m.meta.retracted {
            return Ok(None);
        }
        self.conn.execute(
            "UPDATE room_messages SET body='', retracted=1 WHERE seq=?1",
            params![m.seq],
        )?;
        self.conn.execute(
            "DELETE FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3",
            params![account, room, room_ref(&m)],
        )?;
        self.room_message_at(m.seq)
    }

    /// `nick`'s reactions to the message `of` (the room's id) are now `set`. The id
    /// the message is known by, or `None` when it is not known (nothing kept).
    pub fn set_room_reactions(
        &self,
        account: &str,
        room: &str,
        of: &str,
        nick: &str,
        set: &[String],
    ) -> Result<Option<String>, StoreError> {
        let Some(m) = self.room_message_named(account, room, None, of, true)? else {
            return Ok(None);
        };
        if m.meta.retracted {
            return Ok(None);
        }
        let target = room_ref(&m);
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3 AND sender=?4",
            params![account, room, target, nick],
        )?;
        for r in set {
            tx.execute(
                "INSERT OR IGNORE INTO reactions(account, peer, msg_ref, sender, emoji)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account, room, target, nick, r],
            )?;
        }
        tx.commit()?;
        Ok(Some(target))
    }

    /// The reactions to these room messages, filled in.
    pub fn fill_room_reactions(
        &self,
        account: &str,
        messages: &mut [StoredRoomMessage],
    ) -> Result<(), StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT emoji, sender FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3
             ORDER BY emoji, sender",
        )?;
        for m in messages.iter_mut().filter(|m| m.private.is_none()) {
            m.meta.reactions = reaction_counts(&mut q, account, &m.room, &room_ref(m))?;
        }
        Ok(())
    }

    /// The room message `of` names (the room's id, else its sender's), for a reply's
    /// quote and its author.
    pub fn room_message(
        &self,
        account: &str,
        room: &str,
        of: &str,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        self.room_message_named(account, room, None, of, true)
    }

    fn room_message_at(&self, seq: i64) -> Result<Option<StoredRoomMessage>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLS} FROM room_messages WHERE seq=?1"))?
            .query_row(params![seq], row)
            .optional()?)
    }
}

/// What a room message is named by in retractions, reactions and replies: the room's
/// id, else its sender's.
pub fn room_ref(m: &StoredRoomMessage) -> String {
    m.stanza_id.clone().unwrap_or_else(|| m.id.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn kept(s: &Store, nick: &str, id: &str, sid: &str, body: &str) {
        let m = StoredRoomMessage {
            seq: 0,
            room: "r@muc".into(),
            nick: nick.into(),
            id: id.into(),
            stanza_id: Some(sid.into()),
            ts_ms: 1_000,
            body: body.into(),
            private: None,
            meta: Default::default(),
        };
        s.insert_room_message("a@x", &format!("sid:{sid}"), &m)
            .unwrap();
    }

    #[test]
    fn only_its_sender_changes_a_room_message_and_reactions_are_per_nick() {
        let s = Store::in_memory().unwrap();
        kept(&s, "bob", "b1", "S1", "helo");
        kept(&s, "carol", "c1", "S2", "hi");
        // Carol cannot correct or retract Bob's message.
        assert!(s
            .correct_room_message("a@x", "r@muc", "carol", "b1", "x", "pwned")
            .unwrap()
            .is_none());
        assert!(s
            .retract_room_message("a@x", "r@muc", "carol", "S1")
            .unwrap()
            .is_none());
        // Bob can, and a correction of the correction names the first correction.
        let m = s
            .correct_room_message("a@x", "r@muc", "bob", "b1", "b2", "hello")
            .unwrap()
            .unwrap();
        assert_eq!((m.body.as_str(), m.meta.edited), ("hello", true));
        let m = s
            .correct_room_message("a@x", "r@muc", "bob", "b2", "b3", "hello!")
            .unwrap()
            .unwrap();
        assert_eq!(m.body, "hello!");
        assert!(s
            .correct_room_message("a@x", "r@muc", "bob", "b2", "b3", "again")
            .unwrap()
            .is_none());
        // Reactions: each nick's set; to nothing, nothing.
        let set = |v: &[&str]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        assert_eq!(
            s.set_room_reactions("a@x", "r@muc", "S1", "carol", &set(&["👍", "🎉"]))
                .unwrap()
                .as_deref(),
            Some("S1")
        );
        s.set_room_reactions("a@x", "r@muc", "S1", "dave", &set(&["👍"]))
            .unwrap();
        s.set_room_reactions("a@x", "r@muc", "S1", "carol", &set(&["👍"]))
            .unwrap();
        assert!(s
            .set_room_reactions("a@x", "r@muc", "nope", "carol", &set(&["👍"]))
            .unwrap()
            .is_none());
        let mut page = s.room_history("a@x", "r@muc", None, None, 10).unwrap();
        s.fill_room_reactions("a@x", &mut page).unwrap();
        let bob = page.iter().find(|m| m.nick == "bob").unwrap();
        assert_eq!(bob.meta.reactions.len(), 1);
        assert_eq!(bob.meta.reactions[0].from, ["carol", "dave"]);
        // Bob retracts: a tombstone, its reactions gone.
        let m = s
            .retract_room_message("a@x", "r@muc", "bob", "S1")
            .unwrap()
            .unwrap();
        assert!(m.meta.retracted && m.body.is_empty());
        let mut page = s.room_history("a@x", "r@muc", None, None, 10).unwrap();
        s.fill_room_reactions("a@x", &mut page).unwrap();
        assert!(page.iter().all(|m| m.meta.reactions.is_empty()));
    }
}
