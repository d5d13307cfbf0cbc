//! XEP-0308 Last Message Correction: a message that replaces an earlier one's body.
//! Which earlier message, and whether its sender may change it, the client decides
//! (the same sender only); this module only reads and writes the element.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::message::Message;

use super::Attr;

pub const NS: &str = "urn:xmpp:message-correct:0";

/// The id of the message this one corrects.
pub fn replaces(m: &Message) -> Option<String> {
    m.payloads
        .iter()
        .find(|e| e.is("replace", NS))
        .and_then(|e| e.attr("id"))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

/// `<replace id='…'/>`: this message corrects message `of` (its original id, as
/// Conversations and Dino send it).
pub fn replace(of: &str) -> Element {
    Element::builder("replace", NS).a("id", of).build()
}
