//! What happens to a room's messages after they were sent (XEP-0308 corrections,
//! XEP-0424 retractions, XEP-0444 reactions), as kept: a message is changed only by
//! the nick that sent it (Prosody 0.12 has no occupant-id, XEP-0421); retractions,
//! reactions and replies name a message by the room's stanza-id (its sender's id as a
//! fallback), corrections by the sender's id. Reactions share the 1:1 table, under the
//! room's JID, by nick.

use rusqlite::{params, OptionalExtension};

/// Amends whose message is not kept yet (an earlier archive page is read after a
/// later one), applied when it comes; and when each nick's latest correction and
/// reactions of a message were applied (a replay of an older one changes nothing).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_amends_pending (
  account TEXT NOT NULL,
  room TEXT NOT NULL,
  nick TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  new_id TEXT NOT NULL,
  body TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (account, room, nick, kind, target)
);
CREATE TABLE IF NOT EXISTS room_amend_times (
  account TEXT NOT NULL,
  room TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  nick TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (account, room, kind, target, nick)
);
";

/// Amends kept for messages not seen yet, per room (the oldest go first).
const MAX_PENDING: i64 = 2_000;

/// One amend as it came: who, what, of which message, when (the room's time for it).
#[derive(Debug, Clone, Copy)]
pub struct RoomAmend<'a> {
    pub room: &'a str,
    pub nick: &'a str,
    /// The id it names: the sender's id (a correction) or the room's id.
    pub of: &'a str,
    pub ts_ms: i64,
}

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
    /// is now, or `None`: no such message of theirs yet (kept to apply when it comes),
    /// retracted, or a correction at least as new was applied before.
    pub fn correct_room_message(
        &self,
        account: &str,
        a: RoomAmend<'_>,
        new_id: &str,
        body: &str,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let Some(m) = self.room_message_named(account, a.room, Some(a.nick), a.of, false)? else {
            self.keep_pending(account, a, "correct", new_id, body)?;
            return Ok(None);
        };
        if m.meta.retracted
            || m.meta.edit_id.as_deref() == Some(new_id)
            || !self.newer(account, a, "correct", &m.id)?
        {
            return Ok(None);
        }
        self.conn.execute(
            "UPDATE room_messages SET body=?1, edited=1, edit_id=?2 WHERE seq=?3",
            params![body, new_id, m.seq],
        )?;
        self.room_message_at(m.seq)
    }

    /// `nick` retracted their message `of` (the room's id): a tombstone, its
    /// reactions gone. `None` when there is no such message of theirs (yet: kept to
    /// apply when it comes).
    pub fn retract_room_message(
        &self,
        account: &str,
        a: RoomAmend<'_>,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let Some(m) = self.room_message_named(account, a.room, Some(a.nick), a.of, true)? else {
            self.keep_pending(account, a, "retract", "", "")?;
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
            params![account, a.room, room_ref(&m)],
        )?;
        self.room_message_at(m.seq)
    }

    /// `nick`'s reactions to the message `of` (the room's id) are now `set`. The id
    /// the message is known by, or `None`: not known yet (kept to apply when it
    /// comes), retracted, or a newer set of that nick's was applied before.
    pub fn set_room_reactions(
        &self,
        account: &str,
        a: RoomAmend<'_>,
        set: &[String],
    ) -> Result<Option<String>, StoreError> {
        let Some(m) = self.room_message_named(account, a.room, None, a.of, true)? else {
            self.keep_pending(account, a, "react", "", &set.join("\n"))?;
            return Ok(None);
        };
        let target = room_ref(&m);
        if m.meta.retracted || !self.newer(account, a, "react", &target)? {
            return Ok(None);
        }
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3 AND sender=?4",
            params![account, a.room, target, a.nick],
        )?;
        for r in set {
            tx.execute(
                "INSERT OR IGNORE INTO reactions(account, peer, msg_ref, sender, emoji)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account, a.room, target, a.nick, r],
            )?;
        }
        tx.commit()?;
        Ok(Some(target))
    }

    /// Whether amend `a` of `kind` to the message `target` is at least as new as the
    /// last one of its nick applied; if so it is now the last one.
    fn newer(
        &self,
        account: &str,
        a: RoomAmend<'_>,
        kind: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let last: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT ts_ms FROM room_amend_times
                 WHERE account=?1 AND room=?2 AND kind=?3 AND target=?4 AND nick=?5",
            )?
            .query_row(params![account, a.room, kind, target, a.nick], |r| r.get(0))
            .optional()?;
        if last.is_some_and(|t| t > a.ts_ms) {
            return Ok(false);
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO room_amend_times(account, room, kind, target, nick, ts_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![account, a.room, kind, target, a.nick, a.ts_ms],
        )?;
        Ok(true)
    }

    /// Keeps an amend of a message not kept yet (the newest per nick, kind and
    /// message); at most `MAX_PENDING` per room.
    fn keep_pending(
        &self,
        account: &str,
        a: RoomAmend<'_>,
        kind: &str,
        new_id: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO room_amends_pending(account, room, nick, kind, target, new_id, body, ts_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(account, room, nick, kind, target) DO UPDATE
               SET new_id=excluded.new_id, body=excluded.body, ts_ms=excluded.ts_ms
               WHERE excluded.ts_ms >= room_amends_pending.ts_ms",
            params![account, a.room, a.nick, kind, a.of, new_id, body, a.ts_ms],
        )?;
        self.conn.execute(
            "DELETE FROM room_amends_pending WHERE account=?1 AND room=?2 AND rowid NOT IN
               (SELECT rowid FROM room_amends_pending WHERE account=?1 AND room=?2
                ORDER BY ts_ms DESC LIMIT ?3)",
            params![account, a.room, MAX_PENDING],
        )?;
        Ok(())
    }

    /// A message was just kept (row `seq`): the amends that came before it are applied,
    /// oldest first. The message as it is then, when any was.
    pub fn apply_room_pending(
        &self,
        account: &str,
        seq: i64,
    ) -> Result<Option<StoredRoomMessage>, StoreError> {
        let Some(m) = self.room_message_at(seq)? else {
            return Ok(None);
        };
        let sid = m.stanza_id.clone().unwrap_or_else(|| m.id.clone());
        let pending: Vec<(String, String, String, String, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT nick, kind, target, new_id, body, ts_ms FROM room_amends_pending
                 WHERE account=?1 AND room=?2 AND (
                   (kind='correct' AND nick=?3 AND target=?4)
                   OR (kind='retract' AND nick=?3 AND target IN (?4, ?5))
                   OR (kind='react' AND target IN (?4, ?5)))
                 ORDER BY ts_ms",
            )?
            .query_map(params![account, m.room, m.nick, m.id, sid], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        if pending.is_empty() {
            return Ok(None);
        }
        for (nick, kind, target, new_id, body, ts_ms) in &pending {
            let a = RoomAmend {
                room: &m.room,
                nick,
                of: target,
                ts_ms: *ts_ms,
            };
            match kind.as_str() {
                "correct" => {
                    self.correct_room_message(account, a, new_id, body)?;
                }
                "retract" => {
                    self.retract_room_message(account, a)?;
                }
                _ => {
                    let set: Vec<String> = body
                        .split('\n')
                        .filter(|e| !e.is_empty())
                        .map(str::to_string)
                        .collect();
                    self.set_room_reactions(account, a, &set)?;
                }
            }
            self.conn.execute(
                "DELETE FROM room_amends_pending
                 WHERE account=?1 AND room=?2 AND nick=?3 AND kind=?4 AND target=?5",
                params![account, m.room, nick, kind, target],
            )?;
        }
        let mut now: Vec<StoredRoomMessage> = self.room_message_at(seq)?.into_iter().collect();
        self.fill_room_reactions(account, &mut now)?;
        Ok(now.pop())
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

    fn amend<'a>(nick: &'a str, of: &'a str, ts_ms: i64) -> RoomAmend<'a> {
        RoomAmend {
            room: "r@muc",
            nick,
            of,
            ts_ms,
        }
    }

    fn set(v: &[&str]) -> Vec<String> {
        v.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn only_its_sender_changes_a_room_message_and_reactions_are_per_nick() {
        let s = Store::in_memory().unwrap();
        kept(&s, "bob", "b1", "S1", "helo");
        kept(&s, "carol", "c1", "S2", "hi");
        // Carol cannot correct or retract Bob's message.
        assert!(s
            .correct_room_message("a@x", amend("carol", "b1", 10), "x", "pwned")
            .unwrap()
            .is_none());
        assert!(s
            .retract_room_message("a@x", amend("carol", "S1", 11))
            .unwrap()
            .is_none());
        // Bob can, and a correction of the correction names the first correction.
        let m = s
            .correct_room_message("a@x", amend("bob", "b1", 12), "b2", "hello")
            .unwrap()
            .unwrap();
        assert_eq!((m.body.as_str(), m.meta.edited), ("hello", true));
        let m = s
            .correct_room_message("a@x", amend("bob", "b2", 13), "b3", "hello!")
            .unwrap()
            .unwrap();
        assert_eq!(m.body, "hello!");
        // A replay of an older correction (the archive read backwards) changes nothing.
        assert!(s
            .correct_room_message("a@x", amend("bob", "b1", 12), "b2-again", "hello")
            .unwrap()
            .is_none());
        // Reactions: each nick's set; an older set replayed later changes nothing.
        assert_eq!(
            s.set_room_reactions("a@x", amend("carol", "S1", 20), &set(&["👍", "🎉"]))
                .unwrap()
                .as_deref(),
            Some("S1")
        );
        s.set_room_reactions("a@x", amend("dave", "S1", 21), &set(&["👍"]))
            .unwrap();
        s.set_room_reactions("a@x", amend("carol", "S1", 22), &set(&["👍"]))
            .unwrap();
        assert!(s
            .set_room_reactions("a@x", amend("carol", "S1", 20), &set(&["👍", "🎉"]))
            .unwrap()
            .is_none());
        let mut page = s.room_history("a@x", "r@muc", None, None, 10).unwrap();
        s.fill_room_reactions("a@x", &mut page).unwrap();
        let bob = page.iter().find(|m| m.nick == "bob").unwrap();
        assert_eq!(bob.meta.reactions.len(), 1);
        assert_eq!(bob.meta.reactions[0].from, ["carol", "dave"]);
        // Bob retracts: a tombstone, its reactions gone.
        let m = s
            .retract_room_message("a@x", amend("bob", "S1", 30))
            .unwrap()
            .unwrap();
        assert!(m.meta.retracted && m.body.is_empty());
        let mut page = s.room_history("a@x", "r@muc", None, None, 10).unwrap();
        s.fill_room_reactions("a@x", &mut page).unwrap();
        assert!(page.iter().all(|m| m.meta.reactions.is_empty()));
    }

    /// An earlier archive page read after a later one: its amends came first, and
    /// are applied when the message comes (a retracted one does not come back).
    #[test]
    fn amends_that_came_before_their_message_are_applied_when_it_comes() {
        let s = Store::in_memory().unwrap();
        assert!(s
            .correct_room_message("a@x", amend("bob", "b1", 5), "b2", "hello")
            .unwrap()
            .is_none());
        s.set_room_reactions("a@x", amend("carol", "S1", 6), &set(&["🎉"]))
            .unwrap();
        // Mallory's "retraction" of it waits too, and is not Bob's: it does nothing.
        s.retract_room_message("a@x", amend("mallory", "S1", 7))
            .unwrap();
        kept(&s, "bob", "b1", "S1", "helo");
        let seq = s.room_history("a@x", "r@muc", None, None, 10).unwrap()[0].seq;
        let m = s.apply_room_pending("a@x", seq).unwrap().unwrap();
        assert_eq!(
            (m.body.as_str(), m.meta.edited, m.meta.retracted),
            ("hello", true, false)
        );
        assert_eq!(m.meta.reactions[0].emoji, "🎉");
        // Applied once: nothing is left for it.
        assert!(s.apply_room_pending("a@x", seq).unwrap().is_none());
        s.retract_room_message("a@x", amend("bob", "S2", 8))
            .unwrap();
        kept(&s, "bob", "b9", "S2", "oops");
        let seq = s
            .room_history("a@x", "r@muc", None, None, 10)
            .unwrap()
            .iter()
            .find(|m| m.id == "b9")
            .unwrap()
            .seq;
        let m = s.apply_room_pending("a@x", seq).unwrap().unwrap();
        assert!(m.meta.retracted && m.body.is_empty());
    }
}
