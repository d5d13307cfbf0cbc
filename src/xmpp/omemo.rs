//! XEP-0384 OMEMO over XMPP, 0.3 and 2: device lists and bundles in PEP (XEP-0163,
//! open access so that non-contacts can begin sessions too), their notifications,
//! and the encrypted message (one `<encrypted>` per version its devices need) with
//! its fallback body and XEP-0380 marker. The cryptography is in `crate::omemo`.
// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;

use super::Attr;
use crate::omemo::axolotl::{self, Encrypted};
use crate::omemo::twomemo;

use super::pubsub::{NS as PUBSUB, NS_EVENT as PUBSUB_EVENT};

/// Asking for our contacts' device lists as they change (XEP-0163 +notify).
pub const NOTIFY: &str = "eu.siacs.conversations.axolotl.devicelist+notify";
/// The same for OMEMO 2's device lists.
pub const NOTIFY2: &str = "urn:xmpp:omemo:2:devices+notify";

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

/// Publishes our OMEMO 2 bundle: one item of the bundles node, named by our device
/// id (the node holds one per device).
pub fn publish_bundle2(id: &str, device_id: u32, bundle: Element) -> Iq {
    super::pubsub::publish(
        id,
        twomemo::BUNDLES_NODE,
        &device_id.to_string(),
        bundle,
        &[("pubsub#access_model", "open"), ("pubsub#max_items", "max")],
    )
}

/// Asks `owner` for the OMEMO 2 bundle of its device `device_id`.
pub fn fetch_bundle2(id: &str, owner: &BareJid, device_id: u32) -> Iq {
    let items = Element::builder("items", PUBSUB)
        .a("node", twomemo::BUNDLES_NODE)
        .append(Element::builder("item", PUBSUB).a("id", device_id.to_string()));
    Iq::Get {
        from: None,
        to: Some(owner.clone().into()),
        id: id.to_string(),
        payload: Element::builder("pubsub", PUBSUB).append(items).build(),
    }
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

/// Which OMEMO a device list (or a device) is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 0.3, `eu.siacs.conversations.axolotl`.
    Axolotl,
    /// 2, `urn:xmpp:omemo:2`.
    Two,
}

/// A device list as fetched (the first item's payload): its ids, whichever version.
pub fn parse_list(list: &Element) -> Option<Vec<u32>> {
    axolotl::parse_device_list(list)
        .or_else(|_| twomemo::parse_device_list(list))
        .ok()
}

/// A PEP notification of a device list: (its owner, the device ids, the version).
pub fn device_list_event(m: &Message) -> Option<(BareJid, Vec<u32>, Version)> {
    let items = m
        .payloads
        .iter()
        .find(|p| p.is("event", PUBSUB_EVENT))?
        .get_child("items", PUBSUB_EVENT)?;
    let version = match items.attr("node") {
        Some(axolotl::DEVICELIST_NODE) => Version::Axolotl,
        Some(twomemo::DEVICES_NODE) => Version::Two,
        _ => return None,
    };
    let list = items.get_child("item", PUBSUB_EVENT)?.children().next()?;
    let ids = match version {
        Version::Axolotl => axolotl::parse_device_list(list).ok()?,
        Version::Two => twomemo::parse_device_list(list).ok()?,
    };
    // No `from` is our own server speaking for us; otherwise the list's owner.
    let owner = m.from.as_ref()?.to_bare();
    Some((owner, ids, version))
}

/// The OMEMO 0.3 `<encrypted>` element of a message, if it has one.
pub fn encrypted_of(m: &Message) -> Option<&Element> {
    m.payloads.iter().find(|p| p.is("encrypted", axolotl::NS))
}

/// The OMEMO 2 `<encrypted>` element of a message, if it has one.
pub fn encrypted2_of(m: &Message) -> Option<&Element> {
    m.payloads.iter().find(|p| p.is("encrypted", twomemo::NS))
}

/// A chat message carrying `e`: our usual chat message (origin-id, receipt request,
/// hints) whose body is the fallback for clients without OMEMO, with the XEP-0380
/// marker.
pub fn message(to: &BareJid, id: &str, e: &Encrypted) -> Message {
    message_both(to, id, Some(e), None)
}

/// A chat message carrying an OMEMO 0.3 element, an OMEMO 2 one, or both (devices of
/// either version in one message, as slixmpp-omemo sends them); the marker names
/// OMEMO 2 when that is all it carries.
pub fn message_both(
    to: &BareJid,
    id: &str,
    e: Option<&Encrypted>,
    e2: Option<&twomemo::Encrypted>,
) -> Message {
    let mut m = super::chat::outgoing(to, id, FALLBACK);
    if let Some(e2) = e2 {
        m.payloads.push(e2.to_element());
    }
    if let Some(e) = e {
        m.payloads.push(e.to_element());
    }
    let ns = if e.is_some() {
        axolotl::NS
    } else {
        twomemo::NS
    };
    m.payloads.push(
        Element::builder("encryption", "urn:xmpp:eme:0")
            .a("namespace", ns)
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
        let (owner, ids, v) = device_list_event(&m).unwrap();
        assert_eq!(owner.as_str(), "bob@x");
        assert_eq!(ids, vec![7, 8]);
        assert_eq!(v, Version::Axolotl);
        let two = Message::try_from(Element::from_str("<message xmlns='jabber:client' from='bob@x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:omemo:2:devices'><item id='current'><devices xmlns='urn:xmpp:omemo:2'><device id='9'/></devices></item></items></event></message>").unwrap()).unwrap();
        assert_eq!(
            device_list_event(&two).map(|(_, ids, v)| (ids, v)),
            Some((vec![9], Version::Two))
        );
        let other = Message::try_from(Element::from_str("<message xmlns='jabber:client' from='bob@x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='a'/></items></event></message>").unwrap()).unwrap();
        assert!(device_list_event(&other).is_none());
    }
}
