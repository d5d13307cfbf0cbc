//! The parts of XEP-0060 publish-subscribe that PEP (XEP-0163) users here share:
//! publishing an item with publish-options, fetching and retracting items, and the
//! items of a notification. OMEMO's device lists and bundles and the bookmarks
//! (XEP-0402) are built on it.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;

use super::Attr;

pub const NS: &str = "http://jabber.org/protocol/pubsub";
pub const NS_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const DATA: &str = "jabber:x:data";

/// Publishes `item` as item `item_id` of our own `node`, with the node configured
/// as `options` says (pubsub#… fields; the server creates the node so, or refuses
/// the publish when an existing node differs).
pub fn publish(id: &str, node: &str, item_id: &str, item: Element, options: &[(&str, &str)]) -> Iq {
    let field = |var: &str, value: &str| {
        Element::builder("field", DATA)
            .a("var", var.to_string())
            .append(Element::builder("value", DATA).append(value.to_string()))
    };
    let mut form = Element::builder("x", DATA).a("type", "submit").append(
        field(
            "FORM_TYPE",
            "http://jabber.org/protocol/pubsub#publish-options",
        )
        .a("type", "hidden"),
    );
    for (var, value) in options {
        form = form.append(field(var, value));
    }
    let pubsub = Element::builder("pubsub", NS)
        .append(
            Element::builder("publish", NS)
                .a("node", node.to_string())
                .append(
                    Element::builder("item", NS)
                        .a("id", item_id.to_string())
                        .append(item),
                ),
        )
        .append(Element::builder("publish-options", NS).append(form))
        .build();
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: pubsub,
    }
}

/// Asks `owner` (a bare JID; `None`: our own account) for items of `node`: the
/// latest `max` of them, or all.
pub fn items(id: &str, owner: Option<&BareJid>, node: &str, max: Option<u32>) -> Iq {
    let mut items = Element::builder("items", NS).a("node", node.to_string());
    if let Some(max) = max {
        items = items.a("max_items", max.to_string());
    }
    Iq::Get {
        from: None,
        to: owner.map(|o| Jid::from(o.clone())),
        id: id.to_string(),
        payload: Element::builder("pubsub", NS).append(items).build(),
    }
}

/// Removes item `item_id` from our own `node`, telling subscribers.
pub fn retract(id: &str, node: &str, item_id: &str) -> Iq {
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("pubsub", NS)
            .append(
                Element::builder("retract", NS)
                    .a("node", node.to_string())
                    .a("notify", "true")
                    .append(Element::builder("item", NS).a("id", item_id.to_string())),
            )
            .build(),
    }
}

/// The `<item>`s in an items answer (any node).
pub fn fetched_items(pubsub: &Element) -> impl Iterator<Item = &Element> {
    pubsub
        .is("pubsub", NS)
        .then(|| pubsub.get_child("items", NS))
        .flatten()
        .into_iter()
        .flat_map(|items| items.children().filter(|c| c.is("item", NS)))
}

/// What a notification of `node` says: the items published and the ids retracted.
#[derive(Debug, Default)]
pub struct Notification<'a> {
    pub published: Vec<&'a Element>,
    pub retracted: Vec<String>,
}

/// The notification a message carries about `node`, if it carries one.
pub fn notification<'a>(m: &'a Message, node: &str) -> Option<Notification<'a>> {
    let items = m
        .payloads
        .iter()
        .find(|p| p.is("event", NS_EVENT))?
        .get_child("items", NS_EVENT)?;
    if items.attr("node") != Some(node) {
        return None;
    }
    let mut n = Notification::default();
    for c in items.children() {
        if c.is("item", NS_EVENT) {
            n.published.push(c);
        } else if c.is("retract", NS_EVENT) {
            if let Some(id) = c.attr("id") {
                n.retracted.push(id.to_string());
            }
        }
    }
    Some(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_carries_its_options_and_a_notification_reads_back() {
        let item = Element::builder("x", "urn:test").build();
        let iq = publish("1", "n", "a", item, &[("pubsub#max_items", "max")]);
        let el = Element::from(iq);
        let xml = String::from(&el);
        assert!(
            xml.contains("pubsub#max_items") && xml.contains(">max<"),
            "{xml}"
        );
        assert!(xml.contains("publish-options"), "{xml}");
        let m: Element = "<message xmlns='jabber:client' from='a@x'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='n'><item id='1'><x xmlns='urn:test'/></item><retract id='2'/></items></event></message>"
            .parse()
            .unwrap();
        let m = Message::try_from(m).unwrap();
        let n = notification(&m, "n").unwrap();
        assert_eq!(n.published.len(), 1);
        assert_eq!(n.retracted, ["2"]);
        assert!(notification(&m, "other").is_none());
    }

    #[test]
    fn items_of_an_answer() {
        let a: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'>\
            <item id='1'/><junk/><item id='2'/></items></pubsub>"
            .parse()
            .unwrap();
        let ids: Vec<_> = fetched_items(&a).filter_map(|i| i.attr("id")).collect();
        assert_eq!(ids, ["1", "2"]);
        let wrong: Element = "<query xmlns='jabber:iq:roster'/>".parse().unwrap();
        assert_eq!(fetched_items(&wrong).count(), 0);
    }
}
