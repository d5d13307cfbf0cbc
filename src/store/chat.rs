//! What later messages do to a chat message, kept with it: a correction replaces its
//! body (XEP-0308), a retraction leaves a tombstone (XEP-0424), reactions are each
//! sender's set of emoji on it (XEP-0444), a reply names the message it answers
//! (XEP-0461), and our messages become "displayed" when the recipient read them
//! (XEP-0333). Who may do what (the same sender only) is checked here, in the
//! queries: a message is only ever changed within its conversation and direction.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{row_to_message, Direction, MessageState, Store, StoreError, StoredMessage, MSG_COLS};
use crate::xmpp::oob::{self, FileRef};
use crate::xmpp::reply::Reply;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reactions (
  account TEXT NOT NULL,
  peer TEXT NOT NULL,
  msg_ref TEXT NOT NULL,
  sender TEXT NOT NULL,
  emoji TEXT NOT NULL,
  PRIMARY KEY (account, peer, msg_ref, sender, emoji)
);
";

/// What happened to a message after it was sent, and what it answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageMeta {
    /// Its body was corrected (the body is the latest).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    /// Its sender retracted it: a tombstone (the body is gone).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retracted: bool,
    /// The message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Reply>,
    /// The file it carries (XEP-0066).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// Reactions to it, per emoji (filled when history is read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionCount>,
    /// Its sender asked for a displayed marker.
    #[serde(skip)]
    pub markable: bool,
    /// The id of the latest correction (a correction of the correction names it).
    #[serde(skip)]
    pub edit_id: Option<String>,
    /// For a message on its way in: the id of the message it corrects.
    #[serde(skip)]
    pub replaces: Option<String>,
}

/// What came of a correction.
#[derive(Debug, Clone, PartialEq)]
pub enum Correction {
    /// Applied: the message as it is now.
    Done(Box<StoredMessage>),
    /// Nothing to do: this correction was applied before, or its message is
    /// retracted (a tombstone stays one).
    Dropped,
    /// It corrects no message of its sender's (or not one sealed as it is).
    NotFound,
}

/// A correction: message `new_id` of the conversation with `peer`, sent from
/// `direction`'s side, gives the message `of` the text `body`.
#[derive(Debug, Clone, Copy)]
pub struct Corrected<'a> {
    pub peer: &'a str,
    pub direction: Direction,
    pub of: &'a str,
    pub new_id: &'a str,
    pub body: &'a str,
}

/// How a received correction came: its encryption must be its message's, and our
/// trust in the device that sent it becomes the message's. `None` for ours.
#[derive(Debug, Clone, Copy)]
pub struct Sealing<'a> {
    pub encryption: Option<&'a str>,
    pub trust: Option<&'a str>,
}

/// One emoji on a message and who chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionCount {
    pub emoji: String,
    pub from: Vec<String>,
}

/// The meta columns of a row, from column `at` on (MSG_COLS' order).
pub(super) fn meta_of(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<MessageMeta> {
    let reply_id: Option<String> = r.get(at + 3)?;
    Ok(MessageMeta {
        edited: r.get::<_, i64>(at)? != 0,
        edit_id: r.get(at + 1)?,
        retracted: r.get::<_, i64>(at + 2)? != 0,
        reply_to: reply_id.map(|id| Reply {
            id,
            to: r.get::<_, Option<String>>(at + 4).ok().flatten(),
        }),
        markable: r.get::<_, i64>(at + 5)? != 0,
        file: file_of(r, at + 6)?,
        reactions: Vec::new(),
        replaces: None,
    })
}

/// The reactions to one message (`msg_ref`) in the conversation or room `peer`, per
/// emoji, from the prepared `SELECT emoji, sender … ORDER BY emoji, sender`.
pub(super) fn reaction_counts(
    q: &mut rusqlite::CachedStatement<'_>,
    account: &str,
    peer: &str,
    msg_ref: &str,
) -> rusqlite::Result<Vec<ReactionCount>> {
    let rows = q.query_map(params![account, peer, msg_ref], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut counts: Vec<ReactionCount> = Vec::new();
    for row in rows {
        let (emoji, sender) = row?;
        match counts.iter_mut().find(|c| c.emoji == emoji) {
            Some(c) => c.from.push(sender),
            None => counts.push(ReactionCount {
                emoji,
                from: vec![sender],
            }),
        }
    }
    Ok(counts)
}

/// A stored message's file: its URL, and what its sender said of it.
fn file_of(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<FileRef>> {
    let Some(mut file) = r
        .get::<_, Option<String>>(at)?
        .as_deref()
        .and_then(oob::file_ref)
    else {
        return Ok(None);
    };
    if let Some(name) = r.get::<_, Option<String>>(at + 1)? {
        file.name = name;
    }
    if let Some(mime) = r.get::<_, Option<String>>(at + 2)? {
        file.mime = Some(mime);
    }
    file.size = r
        .get::<_, Option<i64>>(at + 3)?
        .and_then(|s| u64::try_from(s).ok());
    file.sha256 = r.get(at + 4)?;
    Ok(Some(file))
}

impl Store {
    /// The message `id` names in a conversation, sent in `direction`: by its id, its
    /// origin-id or (a correction of a correction) its latest correction's id.
    fn message_named(
        &self,
        account: &str,
        peer: &str,
        direction: Option<Direction>,
        id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let dir = direction.map(Direction::as_str);
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {MSG_COLS} FROM messages WHERE account=?1 AND peer=?2
                     AND (?3 IS NULL OR direction=?3)
                     AND (msg_id=?4 OR origin_id=?4 OR edit_id=?4)
                     ORDER BY seq DESC LIMIT 1"
                ),
                params![account, peer, dir, id],
                row_to_message,
            )
            .optional()?)
    }

    /// A correction (message `new_id`, body `body`) of the message `of` that the same
    /// side of the conversation sent; a received one (`sealing`) only of a message
    /// sealed as it is, and the message takes our trust in the correcting device.
    pub fn correct_message(
        &self,
        account: &str,
        c: Corrected<'_>,
        sealing: Option<Sealing<'_>>,
    ) -> Result<Correction, StoreError> {
        let Corrected {
            peer,
            direction,
            of,
            new_id,
            body,
        } = c;
        let Some(m) = self.message_named(account, peer, Some(direction), of)? else {
            return Ok(Correction::NotFound);
        };
        if m.meta.retracted || m.meta.edit_id.as_deref() == Some(new_id) {
            return Ok(Correction::Dropped);
        }
        let trust = match sealing {
            Some(s) if s.encryption != m.encryption.as_deref() => return Ok(Correction::NotFound),
            Some(s) => s.trust.map(str::to_string),
            None => m.trust.clone(),
        };
        self.conn.execute(
            "UPDATE messages SET body=?1, edited=1, edit_id=?2, trust=?3 WHERE seq=?4",
            params![body, new_id, trust, m.seq],
        )?;
        Ok(match self.message_at(m.seq)? {
            Some(m) => Correction::Done(Box::new(m)),
            None => Correction::NotFound,
        })
    }

    /// A retraction of the message `of` by the side that sent it: its body is gone,
    /// a tombstone stays. `None` when there is no such message of that sender.
    pub fn retract_message(
        &self,
        account: &str,
        peer: &str,
        direction: Direction,
        of: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let Some(m) = self.message_named(account, peer, Some(direction), of)? else {
            return Ok(None);
        };
        if m.meta.retracted {
            return Ok(None);
        }
        self.conn.execute(
            "UPDATE messages SET body='', retracted=1 WHERE seq=?1",
            params![m.seq],
        )?;
        self.conn.execute(
            "DELETE FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3",
            params![account, peer, m.id],
        )?;
        self.message_at(m.seq)
    }

    /// `sender`'s reactions to the message `of` in the conversation with `peer`
    /// (replacing the set before). The message's own id, or `None` when no such
    /// message is known (nothing kept: a reaction to nothing shows nowhere).
    pub fn set_reactions(
        &self,
        account: &str,
        peer: &str,
        of: &str,
        sender: &str,
        reactions: &[String],
    ) -> Result<Option<String>, StoreError> {
        let Some(m) = self.message_named(account, peer, None, of)? else {
            return Ok(None);
        };
        if m.meta.retracted {
            return Ok(None);
        }
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3 AND sender=?4",
            params![account, peer, m.id, sender],
        )?;
        for r in reactions {
            tx.execute(
                "INSERT OR IGNORE INTO reactions(account, peer, msg_ref, sender, emoji)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account, peer, m.id, sender, r],
            )?;
        }
        tx.commit()?;
        Ok(Some(m.id))
    }

    /// The reactions to these messages, filled in.
    pub fn fill_reactions(
        &self,
        account: &str,
        messages: &mut [StoredMessage],
    ) -> Result<(), StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT emoji, sender FROM reactions WHERE account=?1 AND peer=?2 AND msg_ref=?3
             ORDER BY emoji, sender",
        )?;
        for m in messages.iter_mut() {
            m.meta.reactions = reaction_counts(&mut q, account, &m.peer, &m.id)?;
        }
        Ok(())
    }

    /// `peer` showed our message `id`, and so every one before it: they are
    /// "displayed". The ids that changed, oldest first.
    pub fn mark_displayed(
        &self,
        account: &str,
        peer: &str,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let Some(m) = self.message_named(account, peer, Some(Direction::Out), id)? else {
            return Ok(Vec::new());
        };
        let mut q = self.conn.prepare(
            "SELECT msg_id FROM messages WHERE account=?1 AND peer=?2 AND direction='out'
             AND seq<=?3 AND state IN ('acked', 'delivered') ORDER BY seq",
        )?;
        let ids = q
            .query_map(params![account, peer, m.seq], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        self.conn.execute(
            "UPDATE messages SET state=?1 WHERE account=?2 AND peer=?3 AND direction='out'
             AND seq<=?4 AND state IN ('acked', 'delivered')",
            params![MessageState::Displayed.as_str(), account, peer, m.seq],
        )?;
        Ok(ids)
    }

    /// The newest message from `peer` that asked for a displayed marker.
    pub fn last_markable(&self, account: &str, peer: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT msg_id FROM messages WHERE account=?1 AND peer=?2 AND direction='in'
                 AND markable=1 AND msg_id<>'' ORDER BY seq DESC LIMIT 1",
                params![account, peer],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Our message `id` to `peer`, or theirs: what a reply quotes.
    pub fn chat_message(
        &self,
        account: &str,
        peer: &str,
        id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.message_named(account, peer, None, id)
    }

    fn message_at(&self, seq: i64) -> Result<Option<StoredMessage>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {MSG_COLS} FROM messages WHERE seq=?1"),
                params![seq],
                row_to_message,
            )
            .optional()?)
    }
}
