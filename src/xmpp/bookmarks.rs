//! Room bookmarks: XEP-0402 (PEP native bookmarks, one item per room, kept in sync
//! with the user's other clients through notifications) and, read only, the older
//! XEP-0048 form in private storage (XEP-0049) for servers and accounts that have
//! nothing else. We write only XEP-0402.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;

use super::{pubsub, Attr};

pub const NS: &str = "urn:xmpp:bookmarks:1";
/// Asking for our own bookmarks as they change (XEP-0163 +notify).
pub const NOTIFY: &str = "urn:xmpp:bookmarks:1+notify";
const NS_PRIVATE: &str = "jabber:iq:private";
const NS_LEGACY: &str = "storage:bookmarks";

/// Bookmarks read from one answer or notification: a hostile or broken store costs
/// what is past this, not memory.
pub const MAX_BOOKMARKS: usize = 1_000;

/// A bookmarked room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bookmark {
    pub room: String,
    pub name: Option<String>,
    /// Join it at sign-in (and when another client turns this on).
    pub autojoin: bool,
    pub nick: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
}

fn short(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A `<conference>` element (either namespace) about `room`.
fn read_conference(room: &str, c: &Element, ns: &str) -> Option<Bookmark> {
    let room = BareJid::new(room).ok()?;
    let nick = c
        .get_child("nick", ns)
        .map(|n| n.text())
        .filter(|n| super::muc::nick_ok(n));
    Some(Bookmark {
        room: room.to_string(),
        name: c
            .attr("name")
            .filter(|n| !n.trim().is_empty())
            .map(|n| short(n, 200)),
        autojoin: matches!(c.attr("autojoin"), Some("true" | "1")),
        nick,
        password: c.get_child("password", ns).map(|p| short(&p.text(), 200)),
    })
}

/// A XEP-0402 item: its id is the room's JID.
fn read_item(item: &Element) -> Option<Bookmark> {
    let c = item.children().find(|c| c.is("conference", NS))?;
    read_conference(item.attr("id")?, c, NS)
}

/// Asks our server for all our XEP-0402 bookmarks.
pub fn fetch(id: &str) -> Iq {
    pubsub::items(id, None, NS, None)
}

/// The bookmarks in an answer to `fetch`.
pub fn parse(pubsub_answer: &Element) -> Vec<Bookmark> {
    pubsub::fetched_items(pubsub_answer)
        .filter_map(read_item)
        .take(MAX_BOOKMARKS)
        .collect()
}

/// What a notification of our bookmarks says: rooms bookmarked or changed, and
/// rooms no longer bookmarked. `None` when the message is not one, or is not from
/// our own account (only we change our bookmarks).
pub fn notification(m: &Message, own: &BareJid) -> Option<(Vec<Bookmark>, Vec<String>)> {
    let n = pubsub::notification(m, NS)?;
    if m.from.as_ref().is_some_and(|f| f.as_str() != own.as_str()) {
        return None;
    }
    let changed = n
        .published
        .into_iter()
        .filter_map(read_item)
        .take(MAX_BOOKMARKS)
        .collect();
    let removed = n
        .retracted
        .into_iter()
        .filter_map(|r| BareJid::new(&r).ok().map(|j| j.to_string()))
        .take(MAX_BOOKMARKS)
        .collect();
    Some((changed, removed))
}

/// Publishes `b` as an item of our XEP-0402 node, private to us (the options
/// XEP-0402 asks for: every item kept, none pushed on presence, only us).
pub fn publish(id: &str, b: &Bookmark) -> Iq {
    let mut c = Element::builder("conference", NS).a("autojoin", b.autojoin.to_string());
    if let Some(name) = &b.name {
        c = c.a("name", name.clone());
    }
    if let Some(nick) = &b.nick {
        c = c.append(Element::builder("nick", NS).append(nick.clone()));
    }
    if let Some(password) = &b.password {
        c = c.append(Element::builder("password", NS).append(password.clone()));
    }
    pubsub::publish(
        id,
        NS,
        &b.room,
        c.build(),
        &[
            ("pubsub#persist_items", "true"),
            ("pubsub#max_items", "max"),
            ("pubsub#send_last_published_item", "never"),
            ("pubsub#access_model", "whitelist"),
        ],
    )
}

/// Removes the bookmark of `room`.
pub fn remove(id: &str, room: &BareJid) -> Iq {
    pubsub::retract(id, NS, room.as_str())
}

/// Asks private storage for XEP-0048 bookmarks.
pub fn fetch_legacy(id: &str) -> Iq {
    Iq::Get {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", NS_PRIVATE)
            .append(Element::builder("storage", NS_LEGACY))
            .build(),
    }
}

/// The room bookmarks in an answer to `fetch_legacy`.
pub fn parse_legacy(query: &Element) -> Vec<Bookmark> {
    let Some(storage) = query
        .is("query", NS_PRIVATE)
        .then(|| query.get_child("storage", NS_LEGACY))
        .flatten()
    else {
        return Vec::new();
    };
    storage
        .children()
        .filter(|c| c.is("conference", NS_LEGACY))
        .filter_map(|c| read_conference(c.attr("jid")?, c, NS_LEGACY))
        .take(MAX_BOOKMARKS)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_read_leniently_and_written_back() {
        let answer: Element = format!(
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'>\
             <item id='team@rooms.x'><conference xmlns='urn:xmpp:bookmarks:1' name='Team' autojoin='1'><nick>al</nick></conference></item>\
             <item id='not a jid@@'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
             <item id='quiet@rooms.x'><conference xmlns='urn:xmpp:bookmarks:1' autojoin='yes'><nick>{}</nick></conference></item>\
             </items></pubsub>",
            "n".repeat(65)
        )
        .parse()
        .unwrap();
        let b = parse(&answer);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!(b[0].room, "team@rooms.x");
        assert_eq!(b[0].name.as_deref(), Some("Team"));
        assert!(b[0].autojoin);
        assert_eq!(b[0].nick.as_deref(), Some("al"));
        assert!(!b[1].autojoin, "only true or 1 is true");
        assert_eq!(b[1].nick, None, "an absurd nick is not taken");

        let el = Element::from(publish("1", &b[0]));
        let xml = String::from(&el);
        assert!(xml.contains("id='team@rooms.x'"), "{xml}");
        assert!(xml.contains("autojoin='true'"), "{xml}");
        assert!(xml.contains(">whitelist<"), "{xml}");
    }

    #[test]
    fn only_our_own_notifications_change_our_bookmarks() {
        let own = BareJid::new("alice@x").unwrap();
        let m = |from: &str| {
            let el: Element = format!(
                "<message xmlns='jabber:client' from='{from}'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
                 <items node='urn:xmpp:bookmarks:1'><item id='a@rooms.x'><conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/></item>\
                 <retract id='b@rooms.x'/></items></event></message>"
            )
            .parse()
            .unwrap();
            Message::try_from(el).unwrap()
        };
        let (changed, removed) = notification(&m("alice@x"), &own).unwrap();
        assert_eq!(changed[0].room, "a@rooms.x");
        assert_eq!(removed, ["b@rooms.x"]);
        assert!(notification(&m("mallory@x"), &own).is_none());
    }

    #[test]
    fn private_storage_bookmarks() {
        let q: Element = "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>\
            <conference jid='old@rooms.x' autojoin='true' name='Old'><nick>al</nick><password>pw</password></conference>\
            <url url='https://x'/></storage></query>"
            .parse()
            .unwrap();
        let b = parse_legacy(&q);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].room, "old@rooms.x");
        assert_eq!(b[0].password.as_deref(), Some("pw"));
        assert!(b[0].autojoin);
    }
}
