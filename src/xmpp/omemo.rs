//! XEP-0384 OMEMO 0.3 over XMPP: device lists and bundles in PEP (XEP-0163, open
//! access so that non-contacts can begin sessions too), their notifications, and the
//! encrypted message with its fallback body and XEP-0380 marker. The cryptography is
//! in `crate::omemo`.
// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;

use super::Attr;
use crate::omemo::axolotl::{self, Encrypted};

use super::pubsub::{NS as PUBSUB, NS_EVENT as PUBSUB_EVENT};

/// Asking for our contacts' device lists as they change (XEP-0163 +notify).
pub const NOTIFY: &str = "eu.siacs.conversations.axolotl.devicelist+notify";

/// What clients without OMEMO show instead (Conversations' wording).
pub const FALLBACK: &str = "I sent you an OMEMO encrypted message but your client doesn’t seem to support that. Find more information on https://conversations.im/omemo";

/// Publishes `item` as the one item of `node`, readable by anyone.
pub fn publish(id: &str, node: &str, item: Element) -> Iq {
    super::pubsub::publish(
        id,
        node,
        "current",
        item,
        &[("pubsub#access_model", "open")],
    )
}

/// Asks `owner` (a bare JID, ours included) for the latest item of `node`.
pub fn fetch(id: &str, owner: &BareJid, node: &str) -> Iq {
    super::pubsub::items(id, Some(owner), node, Some(1))
}

/// The payload of the first item in a fetch's answer.
pub fn fetched(pubsub: &Element) -> Option<&Element> {
    if !pubsub.is("pubsub", PUBSUB) {
        return None;
    }
    pubsub
        .get_child("items", PUBSUB)?
        .get_child("item", PUBSUB)?
        .children()
        .next()
}

/// A PEP notification of a device list: (its owner, the device ids).
pub fn device_list_event(m: &Message) -> Option<(BareJid, Vec<u32>)> {
    let items = m
        .payloads
        .iter()
        .find(|p| p.is("event", PUBSUB_EVENT))?
        .get_child("items", PUBSUB_EVENT)?;
    if items.attr("node") != Some(axolotl::DEVICELIST_NODE) {
        return None;
    }
    let list = items.get_child("item", PUBSUB_EVENT)?.children().next()?;
    let ids = axolotl::parse_device_list(list).ok()?;
    // No `from` is our own server speaking for us; otherwise the list's owner.
    let owner = m.from.as_ref()?.to_bare();
    Some((owner, ids))
}

/// The `<encrypted>` element of a message, if it has one.
pub fn encrypted_of(m: &Message) -> Option<&Element> {
    m.payloads.iter().find(|p| p.is("encrypted", axolotl::NS))
}

/// A chat message carrying `e`: our usual chat message (origin-id, receipt request,
/// hints) whose body is the fallback for clients without OMEMO, with the XEP-0380
/// marker.
pub fn message(to: &BareJid, id: &str, e: &Encrypted) -> Message {
    let mut m = super::chat::outgoing(to, id, FALLBACK);
    m.payloads.push(e.to_element());
    m.payloads.push(
        Element::builder("encryption", "urn:xmpp:eme:0")
            .a("namespace", axolotl::NS)
            .a("name", "OMEMO")
            .build(),
    );
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn publish_asks_for_open_access_and_fetch_reads_the_item() {
        let iq: Element =
            publish("p1", axolotl::DEVICELIST_NODE, axolotl::device_list(&[5])).into();
        let xml = String::from(&iq);
        assert!(
            xml.contains("pubsub#access_model") && xml.contains(">open<"),
            "{xml}"
        );
        let publish = iq
            .get_child("pubsub", PUBSUB)
            .unwrap()
            .get_child("publish", PUBSUB)
            .unwrap();
        assert_eq!(publish.attr("node"), Some(axolotl::DEVICELIST_NODE));

        let answer: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='7'/></list></item></items></pubsub>".parse().unwrap();
        let list = fetched(&answer).unwrap();
        assert_eq!(axolotl::parse_device_list(list).unwrap(), vec![7]);
        let empty: Element =
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='x'/></pubsub>"
                .parse()
                .unwrap();
        assert!(fetched(&empty).is_none());
    }

    #[test]
    fn device_list_notifications_are_read_with_their_owner() {
        let m = Message::try_from(Element::from_str("<message xmlns='jabber:client' from='bob@x' to='alice@x/r'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='7'/><device id='8'/></list></item></items></event></message>").unwrap()).unwrap();
        let (owner, ids) = device_list_event(&m).unwrap();
        assert_eq!(owner.as_str(), "bob@x");
        assert_eq!(ids, vec![7, 8]);
        let other = Message::try_from(Element::from_str("<message xmlns='jabber:client' from='bob@x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='a'/></items></event></message>").unwrap()).unwrap();
        assert!(device_list_event(&other).is_none());
    }
}
