//! Chat messages (read by xmpp/chat.rs as plain values) made into the history rows
//! the client keeps in the store.

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;

use crate::store::{Direction, MessageMeta, MessageState, StoredMessage};
use crate::xmpp::chat;

/// A chat message as a history entry from the account's point of view (received,
/// or sent and acknowledged). `None` for messages that are not chat.
pub(crate) fn to_stored(
    m: &Message,
    own: &BareJid,
    archive_id: Option<String>,
    ts_ms: Option<i64>,
) -> Option<StoredMessage> {
    let c = chat::read(m, own, archive_id, ts_ms)?;
    let direction = if c.outgoing {
        Direction::Out
    } else {
        Direction::In
    };
    Some(StoredMessage {
        seq: 0,
        peer: c.peer,
        direction,
        from: c.from,
        to: c.to,
        body: c.body,
        id: c.id,
        origin_id: c.origin_id,
        stanza_id: c.stanza_id,
        ts_ms: c.ts_ms,
        state: match direction {
            Direction::In => MessageState::Received,
            Direction::Out => MessageState::Acked,
        },
        encryption: None,
        trust: None,
        meta: MessageMeta {
            replaces: c.replaces,
            reply_to: c.reply,
            markable: c.markable,
            file: c.file,
            ..MessageMeta::default()
        },
    })
}
