//! Local store (SQLite): accounts, message history (rooms: rooms.rs), roster cache and
//! small per-account facts such as the last archive id seen. Passwords are never
//! stored here.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use thiserror::Error;

mod chat;
mod omemo;
mod room_amend;
mod rooms;
pub use chat::{Corrected, Correction, MessageMeta, ReactionCount, Sealing};
pub use omemo::{OmemoDevice, OmemoOwn};
pub use room_amend::{room_ref, RoomAmend};
pub use rooms::{RoomCursor, StoredRoomMessage};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("history database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("history database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot create data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

/// Direction of a message relative to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Delivery state of a message we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Queued, not yet confirmed by the server.
    Pending,
    /// The server acknowledged it.
    Acked,
    /// The recipient's client sent a receipt.
    Delivered,
    /// The recipient's client showed it (XEP-0333): read.
    Displayed,
    /// A message we received.
    Received,
}

impl MessageState {
    fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Acked => "acked",
            MessageState::Delivered => "delivered",
            MessageState::Displayed => "displayed",
            MessageState::Received => "received",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "pending" => MessageState::Pending,
            "acked" => MessageState::Acked,
            "delivered" => MessageState::Delivered,
            "displayed" => MessageState::Displayed,
            _ => MessageState::Received,
        }
    }
}

/// One chat message as kept in history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredMessage {
    /// Local row id: orders the history.
    pub seq: i64,
    /// The contact (bare JID) this conversation is with.
    pub peer: String,
    pub direction: Direction,
    /// Full JID that sent it, when known.
    pub from: String,
    pub to: String,
    pub body: String,
    /// The stanza `id` (for us: equal to origin-id), used by receipts.
    pub id: String,
    pub origin_id: Option<String>,
    /// The archive id our server gave it (XEP-0359).
    pub stanza_id: Option<String>,
    /// Milliseconds since the Unix epoch (server's delay stamp when there is one).
    pub ts_ms: i64,
    pub state: MessageState,
    /// `omemo` when it came or went end-to-end encrypted (XEP-0384).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// For an encrypted message we received: our trust in the sending device
    /// (`blind`, `verified`, `untrusted`, `undecided`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// Corrected, retracted, a reply, reactions (store/chat.rs).
    #[serde(flatten)]
    pub meta: MessageMeta,
}

/// A roster entry, as the roster module reads it and the store caches it.
pub use crate::xmpp::roster::Contact;

/// An account's connection settings (never its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub jid: String,
    pub server: Option<String>,
    pub ca_file: Option<String>,
}

pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
  jid TEXT PRIMARY KEY,
  server TEXT,
  ca_file TEXT
);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account TEXT NOT NULL,
  peer TEXT NOT NULL,
  direction TEXT NOT NULL,
  from_jid TEXT NOT NULL,
  to_jid TEXT NOT NULL,
  body TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  origin_id TEXT,
  stanza_id TEXT,
  ts_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  encryption TEXT,
  trust TEXT,
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
CREATE UNIQUE INDEX IF NOT EXISTS messages_stanza_id ON messages(account, stanza_id) WHERE stanza_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_peer ON messages(account, peer, seq);
CREATE INDEX IF NOT EXISTS messages_origin ON messages(account, peer, origin_id);
CREATE INDEX IF NOT EXISTS messages_msgid ON messages(account, peer, msg_id);
CREATE TABLE IF NOT EXISTS roster (
  account TEXT NOT NULL,
  jid TEXT NOT NULL,
  name TEXT,
  subscription TEXT NOT NULL,
  ask INTEGER NOT NULL,
  groups TEXT NOT NULL,
  PRIMARY KEY (account, jid)
);
CREATE TABLE IF NOT EXISTS caps (
  ver TEXT PRIMARY KEY,
  features TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
  account TEXT NOT NULL,
  id TEXT NOT NULL,
  peer TEXT NOT NULL,
  direction TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  duration_s INTEGER,
  reason TEXT NOT NULL,
  PRIMARY KEY (account, id)
);
CREATE INDEX IF NOT EXISTS calls_time ON calls(account, started_ms);
CREATE TABLE IF NOT EXISTS meta (
  account TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (account, key)
);
";

/// Brings a database made by an older Banter up to date.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_v2 = conn
        .prepare("SELECT 1 FROM pragma_table_info('omemo_devices') WHERE name='v2'")?
        .exists([])?;
    if !has_v2 {
        conn.execute_batch("ALTER TABLE omemo_devices ADD COLUMN v2 INTEGER NOT NULL DEFAULT 0")?;
    }
    for (column, kind) in [
        ("encryption", "TEXT"),
        ("trust", "TEXT"),
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
    ] {
        let has = conn
            .prepare("SELECT 1 FROM pragma_table_info('messages') WHERE name=?1")?
            .exists([column])?;
        if !has {
            conn.execute_batch(&format!("ALTER TABLE messages ADD COLUMN {column} {kind}"))?;
        }
    }
    for (column, kind) in rooms::AMEND_COLUMNS {
        let has = conn
            .prepare("SELECT 1 FROM pragma_table_info('room_messages') WHERE name=?1")?
            .exists([column])?;
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE room_messages ADD COLUMN {column} {kind}"
            ))?;
        }
    }
    // Corrections of corrections are found by the latest correction's id.
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS messages_edit ON messages(account, peer, edit_id) WHERE edit_id IS NOT NULL",
    )?;
    Ok(())
}

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    let dir: String = r.get(2)?;
    let state: String = r.get(10)?;
    Ok(StoredMessage {
        seq: r.get(0)?,
        peer: r.get(1)?,
        direction: if dir == "out" {
            Direction::Out
        } else {
            Direction::In
        },
        from: r.get(3)?,
        to: r.get(4)?,
        body: r.get(5)?,
        id: r.get(6)?,
        origin_id: r.get(7)?,
        stanza_id: r.get(8)?,
        ts_ms: r.get(9)?,
        state: MessageState::parse(&state),
        encryption: r.get(11)?,
        trust: r.get(12)?,
        meta: chat::meta_of(r, 13)?,
    })
}

const MSG_COLS: &str =
    "seq, peer, direction, from_jid, to_jid, body, msg_id, origin_id, stanza_id, ts_ms, state, encryption, trust, edited, edit_id, retracted, reply_id, reply_to, markable, file_url, file_name, file_mime, file_size, file_sha256";

/// One call in the call history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    pub id: String,
    pub peer: String,
    pub direction: Direction,
    pub started_ms: i64,
    /// How long it was active; `None` when it never was (missed, declined, …).
    pub duration_s: Option<i64>,
    pub reason: String,
}

impl Store {
    /// Records a finished call (once per id).
    pub fn insert_call(&self, account: &str, c: &CallRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO calls(account, id, peer, direction, started_ms, duration_s, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                account,
                c.id,
                c.peer,
                if c.direction == Direction::Out { "out" } else { "in" },
                c.started_ms,
                c.duration_s,
                c.reason
            ],
        )?;
        Ok(())
    }

    /// The latest `limit` calls, newest first.
    pub fn calls(&self, account: &str, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, peer, direction, started_ms, duration_s, reason FROM calls
             WHERE account=?1 ORDER BY started_ms DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![account, limit as i64], |r| {
            let dir: String = r.get(2)?;
            Ok(CallRecord {
                id: r.get(0)?,
                peer: r.get(1)?,
                direction: if dir == "out" {
                    Direction::Out
                } else {
                    Direction::In
                },
                started_ms: r.get(3)?,
                duration_s: r.get(4)?,
                reason: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Opens (creating if needed) `banter.sqlite3` in `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        Self::open(&dir.join("banter.sqlite3"))
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(omemo::SCHEMA)?;
        conn.execute_batch(rooms::SCHEMA)?;
        conn.execute_batch(room_amend::SCHEMA)?;
        conn.execute_batch(chat::SCHEMA)?;
        migrate(&conn)?;
        Ok(Store { conn })
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(omemo::SCHEMA)?;
        conn.execute_batch(rooms::SCHEMA)?;
        conn.execute_batch(room_amend::SCHEMA)?;
        conn.execute_batch(chat::SCHEMA)?;
        migrate(&conn)?;
        Ok(Store { conn })
    }

    pub fn save_account(
        &self,
        jid: &str,
        server: Option<&str>,
        ca_file: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO accounts(jid, server, ca_file) VALUES (?1, ?2, ?3)
             ON CONFLICT(jid) DO UPDATE SET server = excluded.server, ca_file = excluded.ca_file",
            params![jid, server, ca_file],
        )?;
        Ok(())
    }

    /// The account is no more (deleted from its server): not offered at start.
    pub fn forget_account(&self, jid: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM accounts WHERE jid = ?1", params![jid])?;
        Ok(())
    }

    /// Accounts known to this installation.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT jid, server, ca_file FROM accounts ORDER BY jid")?;
        let rows = st.query_map([], |r| {
            Ok(AccountRow {
                jid: r.get(0)?,
                server: r.get(1)?,
                ca_file: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Finds an already stored copy of a message: by archive id first, then by
    /// origin-id, then by stanza id, each within the same conversation and direction.
    /// Whether this message is in the history already (an archive or carbon copy of
    /// one we have: an encrypted one is not decrypted twice).
    pub fn has_message(&self, account: &str, m: &StoredMessage) -> Result<bool, StoreError> {
        Ok(self.find_duplicate(account, m)?.is_some())
    }

    /// Marks our message `id` as sent encrypted (`Some("omemo")`) or not.
    pub fn set_encryption(
        &self,
        account: &str,
        id: &str,
        encryption: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE messages SET encryption=?1 WHERE account=?2 AND direction='out' AND msg_id=?3",
            params![encryption, account, id],
        )?;
        Ok(())
    }

    fn find_duplicate(&self, account: &str, m: &StoredMessage) -> Result<Option<i64>, StoreError> {
        if let Some(sid) = &m.stanza_id {
            let found = self
                .conn
                .query_row(
                    "SELECT seq FROM messages WHERE account=?1 AND stanza_id=?2",
                    params![account, sid],
                    |r| r.get(0),
                )
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
        if let Some(oid) = &m.origin_id {
            let found = self
                .conn
                .query_row(
                    "SELECT seq FROM messages WHERE account=?1 AND peer=?2 AND direction=?3 AND origin_id=?4",
                    params![account, m.peer, m.direction.as_str(), oid],
                    |r| r.get(0),
                )
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
        if !m.id.is_empty() {
            return Ok(self
                .conn
                .query_row(
                    "SELECT seq FROM messages WHERE account=?1 AND peer=?2 AND direction=?3 AND msg_id=?4 AND (body=?5 OR edited=1 OR retracted=1)",
                    params![account, m.peer, m.direction.as_str(), m.id, m.body],
                    |r| r.get(0),
                )
                .optional()?);
        }
        Ok(None)
    }

    /// Stores a message unless it is already there. Returns the stored copy with its
    /// `seq` when it was new, `None` for a duplicate (whose archive id is filled in).
    pub fn insert_message(
        &self,
        account: &str,
        mut m: StoredMessage,
    ) -> Result<Option<StoredMessage>, StoreError> {
        if let Some(seq) = self.find_duplicate(account, &m)? {
            if let Some(sid) = &m.stanza_id {
                self.conn.execute(
                    "UPDATE messages SET stanza_id=?1 WHERE seq=?2 AND stanza_id IS NULL",
                    params![sid, seq],
                )?;
            }
            return Ok(None);
        }
        self.conn.execute(
            "INSERT INTO messages(account, peer, direction, from_jid, to_jid, body, msg_id, origin_id, stanza_id, ts_ms, state, encryption, trust, reply_id, reply_to, markable, file_url, file_name, file_mime, file_size, file_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![
                account,
                m.peer,
                m.direction.as_str(),
                m.from,
                m.to,
                m.body,
                m.id,
                m.origin_id,
                m.stanza_id,
                m.ts_ms,
                m.state.as_str(),
                m.encryption,
                m.trust,
                m.meta.reply_to.as_ref().map(|r| r.id.as_str()),
                m.meta.reply_to.as_ref().and_then(|r| r.to.as_deref()),
                m.meta.markable,
                m.meta.file.as_ref().map(|f| f.url.as_str()),
                m.meta.file.as_ref().map(|f| f.name.as_str()),
                m.meta.file.as_ref().and_then(|f| f.mime.as_deref()),
                m.meta
                    .file
                    .as_ref()
                    .and_then(|f| f.size)
                    .and_then(|s| i64::try_from(s).ok()),
                m.meta.file.as_ref().and_then(|f| f.sha256.as_deref())
            ],
        )?;
        m.seq = self.conn.last_insert_rowid();
        Ok(Some(m))
    }

    /// Moves an outgoing message forward (pending → acked → delivered), never back.
    pub fn set_state(
        &self,
        account: &str,
        id: &str,
        state: MessageState,
    ) -> Result<bool, StoreError> {
        let allowed: &[&str] = match state {
            MessageState::Acked => &["pending"],
            MessageState::Delivered => &["pending", "acked"],
            _ => &[],
        };
        let mut changed = 0;
        for from in allowed {
            changed += self.conn.execute(
                "UPDATE messages SET state=?1 WHERE account=?2 AND direction='out' AND msg_id=?3 AND state=?4",
                params![state.as_str(), account, id, from],
            )?;
        }
        Ok(changed > 0)
    }

    /// The contact an outgoing message `id` went to (only they may confirm it).
    pub fn outgoing_peer(&self, account: &str, id: &str) -> Result<Option<String>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT peer FROM messages WHERE account=?1 AND direction='out' AND msg_id=?2 LIMIT 1",
        )?;
        let mut rows = st.query_map(params![account, id], |r| r.get::<_, String>(0))?;
        Ok(rows.next().transpose()?)
    }

    /// Outgoing messages the server has not confirmed, oldest first.
    pub fn pending_messages(&self, account: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {MSG_COLS} FROM messages WHERE account=?1 AND direction='out' AND state='pending' AND retracted=0 ORDER BY seq"
        ))?;
        let rows = st.query_map(params![account], row_to_message)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `limit` messages with `peer` before `before_seq` (None: the newest),
    /// returned oldest first: what a conversation view shows and scrolls back through.
    pub fn history(
        &self,
        account: &str,
        peer: &str,
        before_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {MSG_COLS} FROM messages WHERE account=?1 AND peer=?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
        ))?;
        let rows = st.query_map(
            params![account, peer, before_seq.unwrap_or(i64::MAX), limit as i64],
            row_to_message,
        )?;
        let mut v: Vec<_> = rows.collect::<Result<_, _>>()?;
        v.reverse();
        self.fill_reactions(account, &mut v)?;
        Ok(v)
    }

    pub fn replace_roster(&self, account: &str, items: &[Contact]) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM roster WHERE account=?1", params![account])?;
        for c in items {
            Self::upsert_contact_on(&tx, account, c)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn upsert_contact_on(conn: &Connection, account: &str, c: &Contact) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO roster(account, jid, name, subscription, ask, groups) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(account, jid) DO UPDATE SET name=excluded.name, subscription=excluded.subscription, ask=excluded.ask, groups=excluded.groups",
            params![
                account,
                c.jid,
                c.name,
                c.subscription,
                c.ask,
                serde_json::to_string(&c.groups).unwrap_or_else(|_| "[]".into())
            ],
        )?;
        Ok(())
    }

    pub fn upsert_contact(&self, account: &str, c: &Contact) -> Result<(), StoreError> {
        Self::upsert_contact_on(&self.conn, account, c)
    }

    pub fn remove_contact(&self, account: &str, jid: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM roster WHERE account=?1 AND jid=?2",
            params![account, jid],
        )?;
        Ok(())
    }

    pub fn roster(&self, account: &str) -> Result<Vec<Contact>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT jid, name, subscription, ask, groups FROM roster WHERE account=?1 ORDER BY jid",
        )?;
        let rows = st.query_map(params![account], |r| {
            let groups: String = r.get(4)?;
            Ok(Contact {
                jid: r.get(0)?,
                name: r.get(1)?,
                subscription: r.get(2)?,
                ask: r.get(3)?,
                groups: serde_json::from_str(&groups).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Features known for a verified XEP-0115 `ver`.
    pub fn caps(&self, ver: &str) -> Result<Option<Vec<String>>, StoreError> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT features FROM caps WHERE ver=?1",
                params![ver],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.map(|f| serde_json::from_str(&f).unwrap_or_default()))
    }

    /// Caches a verified caps ver. The cache keeps the newest `MAX_CAPS` vers: a
    /// contact inventing vers cannot grow it without bound.
    pub fn save_caps(&self, ver: &str, features: &[String]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO caps(ver, features) VALUES (?1, ?2)",
            params![
                ver,
                serde_json::to_string(features).unwrap_or_else(|_| "[]".into())
            ],
        )?;
        self.conn.execute(
            "DELETE FROM caps WHERE rowid NOT IN (SELECT rowid FROM caps ORDER BY rowid DESC LIMIT ?1)",
            params![MAX_CAPS as i64],
        )?;
        Ok(())
    }

    pub fn get_meta(&self, account: &str, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE account=?1 AND key=?2",
                params![account, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_meta(&self, account: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta(account, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT(account, key) DO UPDATE SET value=excluded.value",
            params![account, key, value],
        )?;
        Ok(())
    }
}

/// Caps vers kept in the cache (a device shows one; a few hundred are typical).
pub const MAX_CAPS: usize = 2_000;

#[cfg(test)]
mod tests;
