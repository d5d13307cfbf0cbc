//! RFC 6121 one-to-one chat messages, with XEP-0359 unique ids: building what we send
//! and reading what arrives as plain values (`Chat`), which the client keeps.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Lang, Message, MessageType};
use xmpp_parsers::ns;

use super::{correct, markers, oob, receipts, reply};

/// A chat message Banter sends: `id` doubles as XEP-0359 origin-id so that our own
/// copies coming back (carbons, archive) are recognised.
pub fn outgoing(to: &BareJid, id: &str, body: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
    m.id = Some(xmpp_parsers::message::Id(id.to_string()));
    m.bodies.insert(Lang::new(), body.to_string());
    m.payloads
        .push(Element::builder("origin-id", ns::SID).a("id", id).build());
    m.payloads.push(receipts::request());
    m.payloads.push(markers::markable());
    m.payloads
        .push(xmpp_parsers::chatstates::ChatState::Active.into());
    m.payloads
        .push(Element::builder("store", "urn:xmpp:hints").build());
    m
}

/// The body in the message's default language, or any body.
pub fn body(m: &Message) -> Option<String> {
    m.get_best_body_cloned(vec![]).map(|(_, b)| b)
}

/// XEP-0359 origin-id.
pub fn origin_id(m: &Message) -> Option<String> {
    m.payloads
        .iter()
        .find(|e| e.is("origin-id", ns::SID))
        .and_then(|e| e.attr("id"))
        .map(str::to_string)
}

/// XEP-0359 stanza-id, only when set by `by` (our own account's archive): a stanza-id
/// from anyone else could be forged to suppress a message as a "duplicate".
pub fn stanza_id_by(m: &Message, by: &BareJid) -> Option<String> {
    m.payloads
        .iter()
        .filter(|e| e.is("stanza-id", ns::SID))
        .find(|e| e.attr("by") == Some(by.as_str()))
        .and_then(|e| e.attr("id"))
        .map(str::to_string)
}

/// XEP-0203 delay stamp in ms, if any.
pub fn delay_ms(payloads: &[Element]) -> Option<i64> {
    payloads
        .iter()
        .find(|e| e.is("delay", ns::DELAY))
        .and_then(|e| e.attr("stamp"))
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp_millis())
}

/// The delay stamp of a live message, when our own server wrote it (offline storage
/// stamps `from` with its domain: Prosody and ejabberd alike). A stamp the sender wrote
/// is not believed: it would let anyone pin a message to the top or bottom of history.
pub fn server_delay_ms(payloads: &[Element], own: &BareJid) -> Option<i64> {
    delay_by_ms(payloads, own.domain().as_str())
}

/// The delay stamp `by` wrote (its `from`): a room's own stamp on the history it
/// sends, not one an occupant put in its message.
pub fn delay_by_ms(payloads: &[Element], by: &str) -> Option<i64> {
    payloads
        .iter()
        .find(|e| e.is("delay", ns::DELAY))
        .filter(|e| e.attr("from") == Some(by))
        .and_then(|e| e.attr("stamp"))
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp_millis())
}

/// A short fingerprint of a text (FNV-1a, 64 bits): tells messages apart in a key
/// without keeping the text twice. Not a defence against anyone.
pub fn text_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A chat message from the account's point of view, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// The other side of the conversation (bare).
    pub peer: String,
    /// We sent it (from this or another of our devices).
    pub outgoing: bool,
    pub from: String,
    pub to: String,
    pub body: String,
    pub id: String,
    pub origin_id: Option<String>,
    /// Our server's (or archive's) id for it.
    pub stanza_id: Option<String>,
    /// When it was sent: the archive's or our server's stamp, else now; never later
    /// than now.
    pub ts_ms: i64,
    /// It corrects the message with this id (XEP-0308).
    pub replaces: Option<String>,
    /// It answers this message (XEP-0461); `body` is without the quoted fallback.
    pub reply: Option<reply::Reply>,
    /// Its sender asked for a displayed marker (XEP-0333).
    pub markable: bool,
    /// The file it carries (XEP-0066: its URL is the body).
    pub file: Option<oob::FileRef>,
}

/// Reads a chat message. `None` for messages without a body (receipts, chat states)
/// or of other types.
pub fn read(
    m: &Message,
    own: &BareJid,
    archive_id: Option<String>,
    ts_ms: Option<i64>,
) -> Option<Chat> {
    if !matches!(m.type_, MessageType::Chat | MessageType::Normal) {
        return None;
    }
    let body = body(m)?;
    let from = m.from.clone();
    let to = m.to.clone();
    let from_bare = from.as_ref().map(|j| j.to_bare());
    let outgoing = from_bare.as_ref() == Some(own) || from.is_none();
    let peer = if outgoing {
        to.as_ref()?.to_bare()
    } else {
        from_bare?
    };
    Some(Chat {
        peer: peer.to_string(),
        outgoing,
        from: from
            .map(|j| j.to_string())
            .unwrap_or_else(|| own.to_string()),
        to: to.map(|j| j.to_string()).unwrap_or_default(),
        body: reply::shown_body(m, &body),
        replaces: correct::replaces(m),
        reply: reply::read(m),
        markable: markers::is_markable(m),
        file: oob::file_of(m, &body),
        origin_id: origin_id(m),
        stanza_id: archive_id.or_else(|| stanza_id_by(m, own)),
        id: m.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
        // Never in the future, whoever stamped it.
        ts_ms: ts_ms
            .or_else(|| server_delay_ms(&m.payloads, own))
            .map_or_else(now_ms, |t| t.min(now_ms())),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn parse(xml: &str) -> Message {
        Message::try_from(Element::from_str(xml).unwrap()).unwrap()
    }

    #[test]
    fn incoming_from_contact() {
        let m = parse(
            "<message xmlns='jabber:client' type='chat' from='bob@x/phone' to='alice@x/pc' id='m1'>\
             <body>hello</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='alice@x' id='S1'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='evil@x' id='S2'/></message>",
        );
        let own = BareJid::new("alice@x").unwrap();
        let s = read(&m, &own, None, None).unwrap();
        assert!(!s.outgoing);
        assert_eq!(s.peer, "bob@x");
        assert_eq!(s.body, "hello");
        assert_eq!(s.origin_id.as_deref(), Some("o1"));
        assert_eq!(s.stanza_id.as_deref(), Some("S1"));
    }

    #[test]
    fn outgoing_has_ids_and_receipt_request() {
        let to = BareJid::new("bob@x").unwrap();
        let m = outgoing(&to, "abc", "hi");
        assert_eq!(origin_id(&m).as_deref(), Some("abc"));
        assert!(receipts::requested(&m));
        let own = BareJid::new("alice@x").unwrap();
        let s = read(&m, &own, None, None).unwrap();
        assert!(s.outgoing);
        assert_eq!(s.peer, "bob@x");
    }

    /// Issue #12, item 6: a sender's own `<delay>` (1970, 9999) is not believed; our
    /// server's offline stamp is, and nothing lands in the future.
    #[test]
    fn only_our_servers_delay_stamps_are_believed() {
        let own = BareJid::new("alice@x").unwrap();
        let with_delay = |from: &str, stamp: &str| {
            parse(&format!(
                "<message xmlns='jabber:client' type='chat' from='bob@y/a' to='alice@x' id='d'>\
                 <body>b</body><delay xmlns='urn:xmpp:delay' from='{from}' stamp='{stamp}'/></message>"
            ))
        };
        let before = now_ms();
        for (from, stamp) in [
            ("bob@y/a", "1970-01-01T00:00:00Z"),
            ("y", "9999-01-01T00:00:00Z"),
        ] {
            let s = read(&with_delay(from, stamp), &own, None, None).unwrap();
            assert!(s.ts_ms >= before, "{from} {stamp}: {}", s.ts_ms);
        }
        let s = read(&with_delay("x", "2026-01-02T03:04:05Z"), &own, None, None).unwrap();
        assert_eq!(s.ts_ms, 1_767_323_045_000);
        let s = read(&with_delay("x", "9999-01-01T00:00:00Z"), &own, None, None).unwrap();
        assert!(s.ts_ms <= now_ms());
        // An archive's stamp (passed in) is clamped too.
        let s = read(
            &with_delay("x", "2026-01-02T03:04:05Z"),
            &own,
            None,
            Some(i64::MAX),
        )
        .unwrap();
        assert!(s.ts_ms <= now_ms());
    }

    #[test]
    fn no_body_is_not_history() {
        let m = parse("<message xmlns='jabber:client' type='chat' from='bob@x/a'><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
        assert!(read(&m, &BareJid::new("alice@x").unwrap(), None, None).is_none());
    }
}
