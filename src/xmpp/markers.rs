//! XEP-0333 Displayed Markers: our messages say they may be marked; the recipient
//! says which one it has shown (and so every one before it). Sent only for messages
//! that asked, and only when the conversation was really read.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};

use super::Attr;

pub const NS: &str = "urn:xmpp:chat-markers:0";

pub fn markable() -> Element {
    Element::builder("markable", NS).build()
}

pub fn is_markable(m: &Message) -> bool {
    m.payloads.iter().any(|e| e.is("markable", NS))
}

/// The id of the message the sender says it displayed.
pub fn displayed_of(m: &Message) -> Option<String> {
    m.payloads
        .iter()
        .find(|e| e.is("displayed", NS))
        .and_then(|e| e.attr("id"))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

/// "I have shown your message `id`" (and those before it).
pub fn displayed(to: &BareJid, id: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
    m.payloads
        .push(Element::builder("displayed", NS).a("id", id).build());
    m.payloads
        .push(Element::builder("store", "urn:xmpp:hints").build());
    m
}
