//! XEP-0184 Message Delivery Receipts.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::ns;

pub fn request() -> Element {
    Element::builder("request", ns::RECEIPTS).build()
}

pub fn requested(m: &Message) -> bool {
    m.payloads.iter().any(|e| e.is("request", ns::RECEIPTS))
}

/// The id a `<received/>` confirms.
pub fn received_id(m: &Message) -> Option<String> {
    m.payloads
        .iter()
        .find(|e| e.is("received", ns::RECEIPTS))
        .and_then(|e| e.attr("id"))
        .map(str::to_string)
}

/// The receipt for message `id` from `to`.
pub fn receipt(to: Jid, id: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(to));
    m.payloads.push(
        Element::builder("received", ns::RECEIPTS)
            .a("id", id)
            .build(),
    );
    m.payloads
        .push(Element::builder("store", "urn:xmpp:hints").build());
    m
}
