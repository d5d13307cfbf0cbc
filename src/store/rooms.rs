//! Room messages as kept on this device: what a room view shows again after a
//! restart without asking the room, and what tells a message seen before from a new
//! one. Each is kept once per room under its key: the room's stanza-id (XEP-0359)
//! when it gave one, else who sent it and its id.
//!
//! Messages are ordered by the second they were sent, then as they came: archives
//! stamp to the second (Prosody) while a live message is timed to the millisecond
//! on arrival, and within one second the order they came in is the room's.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account TEXT NOT NULL,
  room TEXT NOT NULL,
  key TEXT NOT NULL,
  nick TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  stanza_id TEXT,
  ts_ms INTEGER NOT NULL,
  second INTEGER NOT NULL,
  body TEXT NOT NULL,
  private TEXT,
  edited INTEGER NOT NULL DEFAULT 0,
  edit_id TEXT,
  retracted INTEGER NOT NULL DEFAULT 0,
  reply_id TEXT,
  reply_to TEXT,
  markable INTEGER NOT NULL DEFAULT 0,
  file_url TEXT,
  file_name TEXT,
  file_mime TEXT,
  file_size INTEGER,
  file_sha256 TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS room_messages_key ON room_messages(account, room, key);
CREATE INDEX IF NOT EXISTS room_messages_time ON room_messages(account, room, second, seq);
CREATE INDEX IF NOT EXISTS room_messages_archived ON room_messages(account, room, second, seq)
  WHERE stanza_id IS NOT NULL AND private IS NULL;
";

/// Columns of what happened to a room message (added to rooms kept by older Banters).
pub(super) const AMEND_COLUMNS: [(&str, &str); 11] = [
    ("edited", "INTEGER NOT NULL DEFAULT 0"),
    ("edit_id", "TEXT"),
    ("retracted", "INTEGER NOT NULL DEFAULT 0"),
    ("reply_id", "TEXT"),
    ("reply_to", "TEXT"),
    ("markable", "INTEGER NOT NULL DEFAULT 0"),
    ("file_url", "TEXT"),
    ("file_name", "TEXT"),
    ("file_mime", "TEXT"),
    ("file_size", "INTEGER"),
    ("file_sha256", "TEXT"),
];

/// One room message as kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredRoomMessage {
    /// Local row id: with `ts_ms`, where a page of history ends.
    pub seq: i64,
    pub room: String,
    pub nick: String,
    /// The sender's id for it.
    pub id: String,
    /// The room's id for it (XEP-0359), when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stanza_id: Option<String>,
    pub ts_ms: i64,
    pub body: String,
    /// A private message with occupant `nick`: `in` or `out`; None for the room's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<String>,
    /// Corrected, retracted, what it answers, its file, reactions to it.
    #[serde(flatten)]
    pub meta: super::MessageMeta,
}

/// Where a page of a room's stored history ends: its oldest message's second and row.
pub type RoomCursor = (i64, i64);

impl StoredRoomMessage {
    /// Where a page that begins with this message ends.
    pub fn cursor(&self) -> RoomCursor {
        (self.ts_ms.div_euclid(1000), self.seq)
    }
}

pub(super) const COLS: &str = "seq, room, nick, msg_id, stanza_id, ts_ms, body, private, edited, edit_id, retracted, reply_id, reply_to, markable, file_url, file_name, file_mime, file_size, file_sha256";

pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRoomMessage> {
    Ok(StoredRoomMessage {
        seq: r.get(0)?,
        room: r.get(1)?,
        nick: r.get(2)?,
        id: r.get(3)?,
        stanza_id: r.get(4)?,
        ts_ms: r.get(5)?,
        body: r.get(6)?,
        private: r.get(7)?,
        meta: super::chat::meta_of(r, 8)?,
    })
}

impl Store {
    /// Keeps a room message under `key`: its row when it is new, None when a message
    /// with that key was kept before (a copy from the archive or the room's history).
    /// A message read back from the archive comes with its row (`m.seq`, from
    /// `room_rows_below`), so that within one second it goes before what was kept
    /// earlier; 0: the next row.
    pub fn insert_room_message(
        &self,
        account: &str,
        key: &str,
        m: &StoredRoomMessage,
    ) -> Result<Option<i64>, StoreError> {
        let file = m.meta.file.as_ref();
        let insert = |seq: Option<i64>| {
            self.conn.execute(
                "INSERT OR IGNORE INTO room_messages(seq, account, room, key, nick, msg_id, stanza_id, ts_ms, second, body, private, reply_id, reply_to, file_url, file_name, file_mime, file_size, file_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![
                    seq,
                    account,
                    m.room,
                    key,
                    m.nick,
                    m.id,
                    m.stanza_id,
                    m.ts_ms,
                    m.ts_ms.div_euclid(1000),
                    m.body,
                    m.private,
                    m.meta.reply_to.as_ref().map(|r| r.id.as_str()),
                    m.meta.reply_to.as_ref().and_then(|r| r.to.as_deref()),
                    file.map(|f| f.url.as_str()),
                    file.map(|f| f.name.as_str()),
                    file.and_then(|f| f.mime.as_deref()),
                    file.and_then(|f| f.size).and_then(|s| i64::try_from(s).ok()),
                    file.and_then(|f| f.sha256.as_deref())
                ],
            )
        };
        let seq = Some(m.seq).filter(|s| *s != 0);
        let mut n = insert(seq)?;
        if n == 0 && seq.is_some() {
            // The row was taken (another page's): kept after, rather than lost.
            let kept = self
                .conn
                .prepare_cached(
                    "SELECT 1 FROM room_messages WHERE account=?1 AND room=?2 AND key=?3",
                )?
                .exists(params![account, m.room, key])?;
            if !kept {
                n = insert(None)?;
            }
        }
        Ok((n == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// Forgets all but the newest `keep` messages of `room` (a room cannot fill the
    /// disk): how many went.
    pub fn prune_room(&self, account: &str, room: &str, keep: usize) -> Result<usize, StoreError> {
        let edge: Option<(i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT second, seq FROM room_messages WHERE account=?1 AND room=?2
                 ORDER BY second DESC, seq DESC LIMIT 1 OFFSET ?3",
            )?
            .query_row(params![account, room, keep as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((second, seq)) = edge else {
            return Ok(0);
        };
        Ok(self.conn.execute(
            "DELETE FROM room_messages WHERE account=?1 AND room=?2
               AND (second < ?3 OR (second = ?3 AND seq <= ?4))",
            params![account, room, second, seq],
        )?)
    }

    /// The first of `count` free rows below every row kept (and below 0, which
    /// stands for the next row): where a page read back from an archive goes.
    pub fn room_rows_below(&self, count: i64) -> Result<i64, StoreError> {
        let min: Option<i64> = self
            .conn
            .prepare_cached("SELECT MIN(seq) FROM room_messages")?
            .query_row([], |r| r.get(0))?;
        Ok(min.unwrap_or(0).min(0) - count)
    }

    /// The newest `limit` messages of `room` before `before` (None: the newest), oldest
    /// first, in the order they were sent; only rows up to `upto` (those kept
    /// before a room view was filled: it has the later ones).
    pub fn room_history(
        &self,
        account: &str,
        room: &str,
        before: Option<RoomCursor>,
        upto: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredRoomMessage>, StoreError> {
        let (second, seq) = before.unwrap_or((i64::MAX, i64::MAX));
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM room_messages WHERE account=?1 AND room=?2
               AND (second < ?3 OR (second = ?3 AND seq < ?4)) AND seq <= ?5
             ORDER BY second DESC, seq DESC LIMIT ?6"
        ))?;
        let rows = st.query_map(
            params![
                account,
                room,
                second,
                seq,
                upto.unwrap_or(i64::MAX),
                limit as i64
            ],
            row,
        )?;
        let mut v: Vec<_> = rows.collect::<Result<_, _>>()?;
        v.reverse();
        Ok(v)
    }

    /// The room's id and time of the newest (`newest`) or oldest kept message that
    /// has one: where reading the room's archive goes on from.
    pub fn room_archive_end(
        &self,
        account: &str,
        room: &str,
        newest: bool,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let order = if newest { "DESC" } else { "ASC" };
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT ts_ms, stanza_id FROM room_messages
                 WHERE account=?1 AND room=?2 AND stanza_id IS NOT NULL AND private IS NULL
                 ORDER BY second {order}, seq {order} LIMIT 1"
            ))?
            .query_row(params![account, room], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The newest kept message's time in `room` (a room without an archive is asked
    /// for its history since then), and the last row kept of any room (those after
    /// it are kept from now on).
    pub fn room_newest(
        &self,
        account: &str,
        room: &str,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let newest = self
            .conn
            .prepare_cached(
                "SELECT ts_ms FROM room_messages WHERE account=?1 AND room=?2 AND private IS NULL
                 ORDER BY second DESC, seq DESC LIMIT 1",
            )?
            .query_row(params![account, room], |r| r.get(0))
            .optional()?;
        let upto = self
            .conn
            .prepare_cached("SELECT MAX(seq) FROM room_messages")?
            .query_row([], |r| r.get(0))?;
        Ok((newest, upto))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(nick: &str, sid: Option<&str>, ts: i64) -> StoredRoomMessage {
        StoredRoomMessage {
            seq: 0,
            room: "r@muc.x".into(),
            nick: nick.into(),
            id: format!("{nick}-{ts}"),
            stanza_id: sid.map(str::to_string),
            ts_ms: ts * 1000,
            body: format!("at {ts}"),
            private: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn a_room_message_is_kept_once_and_paged_by_time() {
        let s = Store::in_memory().unwrap();
        let a = "me@x";
        // Kept in arrival order, but an earlier archive page comes after newer ones.
        for ts in [30, 40, 50] {
            let m = msg("bob", Some(&format!("s{ts}")), ts);
            assert!(s
                .insert_room_message(a, &format!("s{ts}"), &m)
                .unwrap()
                .is_some());
        }
        for ts in [10, 20] {
            let m = msg("amy", Some(&format!("s{ts}")), ts);
            assert!(s
                .insert_room_message(a, &format!("s{ts}"), &m)
                .unwrap()
                .is_some());
        }
        assert!(
            s.insert_room_message(a, "s40", &msg("bob", Some("s40"), 40))
                .unwrap()
                .is_none(),
            "a copy"
        );
        // Another account, another room: their own.
        assert!(s
            .insert_room_message("you@x", "s40", &msg("bob", Some("s40"), 40))
            .unwrap()
            .is_some());
        let mut other = msg("bob", None, 60);
        other.room = "other@muc.x".into();
        assert!(s
            .insert_room_message(a, "bob\nx", &other)
            .unwrap()
            .is_some());

        let last = s.room_history(a, "r@muc.x", None, None, 3).unwrap();
        let ts: Vec<i64> = last.iter().map(|m| m.ts_ms / 1000).collect();
        assert_eq!(ts, [30, 40, 50]);
        let first = last.first().unwrap();
        let earlier = s
            .room_history(a, "r@muc.x", Some(first.cursor()), None, 3)
            .unwrap();
        let ts: Vec<i64> = earlier.iter().map(|m| m.ts_ms / 1000).collect();
        assert_eq!(ts, [10, 20]);
        assert_eq!(
            s.room_archive_end(a, "r@muc.x", true).unwrap(),
            Some((50_000, "s50".into()))
        );
        assert_eq!(
            s.room_archive_end(a, "r@muc.x", false).unwrap(),
            Some((10_000, "s10".into()))
        );
        assert_eq!(s.room_newest(a, "other@muc.x").unwrap().0, Some(60_000));
        assert_eq!(s.room_newest(a, "none@muc.x").unwrap().0, None);
        assert_eq!(s.room_archive_end(a, "other@muc.x", true).unwrap(), None);
    }

    #[test]
    fn within_one_second_messages_keep_the_order_they_came_in() {
        let s = Store::in_memory().unwrap();
        // Live, timed on arrival to the millisecond; then the archive's next one,
        // stamped to the second only: it still comes after.
        let mut live = msg("bob", Some("s1"), 5);
        live.ts_ms = 5_700;
        s.insert_room_message("a", "s1", &live).unwrap();
        s.insert_room_message("a", "s2", &msg("bob", Some("s2"), 5))
            .unwrap();
        let all = s.room_history("a", "r@muc.x", None, None, 10).unwrap();
        let ids: Vec<_> = all.iter().map(|m| m.stanza_id.as_deref()).collect();
        assert_eq!(ids, [Some("s1"), Some("s2")]);
        // Kept after a view was filled: not in its pages.
        let upto = all.first().map(|m| m.seq);
        let page = s.room_history("a", "r@muc.x", None, upto, 10).unwrap();
        assert_eq!(page.len(), 1);
    }

    #[test]
    fn a_page_read_back_goes_before_what_was_kept_in_the_same_second() {
        let s = Store::in_memory().unwrap();
        s.insert_room_message("a", "k3", &msg("c", Some("s3"), 9))
            .unwrap();
        let below = s.room_rows_below(2).unwrap();
        for (i, (nick, key)) in [("a", "k1"), ("b", "k2")].into_iter().enumerate() {
            let mut m = msg(nick, Some(key), 9);
            m.seq = below + i as i64;
            assert!(s.insert_room_message("a", key, &m).unwrap().is_some());
        }
        // Its rows taken by another page meanwhile: kept all the same.
        let mut late = msg("d", Some("s0"), 8);
        late.seq = below;
        assert!(s.insert_room_message("a", "k0", &late).unwrap().is_some());
        let nicks: Vec<String> = s
            .room_history("a", "r@muc.x", None, None, 10)
            .unwrap()
            .into_iter()
            .map(|m| m.nick)
            .collect();
        assert_eq!(nicks, ["d", "a", "b", "c"]);
        assert_eq!(
            s.room_archive_end("a", "r@muc.x", false)
                .unwrap()
                .map(|x| x.1),
            Some("s0".into())
        );
        assert!(s.room_rows_below(5).unwrap() < below);
    }

    #[test]
    fn a_room_keeps_its_newest_messages_only() {
        let s = Store::in_memory().unwrap();
        for i in 0..10 {
            s.insert_room_message("a", &format!("k{i}"), &msg("n", None, i))
                .unwrap();
        }
        assert_eq!(s.prune_room("a", "r@muc.x", 20).unwrap(), 0);
        assert_eq!(s.prune_room("a", "r@muc.x", 4).unwrap(), 6);
        let left: Vec<i64> = s
            .room_history("a", "r@muc.x", None, None, 100)
            .unwrap()
            .iter()
            .map(|m| m.ts_ms / 1000)
            .collect();
        assert_eq!(left, [6, 7, 8, 9]);
    }

    #[test]
    fn messages_of_the_same_time_keep_their_order_across_pages() {
        let s = Store::in_memory().unwrap();
        for i in 0..5 {
            let m = msg(&format!("n{i}"), None, 7);
            s.insert_room_message("a", &format!("k{i}"), &m).unwrap();
        }
        let page = s.room_history("a", "r@muc.x", None, None, 2).unwrap();
        let nicks: Vec<&str> = page.iter().map(|m| m.nick.as_str()).collect();
        assert_eq!(nicks, ["n3", "n4"]);
        let first = page.first().unwrap();
        let page = s
            .room_history("a", "r@muc.x", Some(first.cursor()), None, 10)
            .unwrap();
        let nicks: Vec<&str> = page.iter().map(|m| m.nick.as_str()).collect();
        assert_eq!(nicks, ["n0", "n1", "n2"]);
    }
}
