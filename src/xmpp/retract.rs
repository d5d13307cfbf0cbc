//! XEP-0424 Message Retraction (v1): asks the recipient to remove a message we sent.
//! In 1:1 chat the message is named by its `id`; a fallback body tells clients that
//! do not know retraction what happened. Only the sender may retract: the client
//! checks that.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Lang, Message, MessageType};

use super::{fallback, Attr};

pub const NS: &str = "urn:xmpp:message-retract:1";

/// What clients without retraction show.
const FALLBACK: &str =
    "This person attempted to retract a previous message, but it's unsupported by your client.";

/// The id of the message this one retracts.
pub fn retracts(m: &Message) -> Option<String> {
    m.payloads
        .iter()
        .find(|e| e.is("retract", NS))
        .and_then(|e| e.attr("id"))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

/// A retraction of our message `of`, sent as message `id`.
pub fn message(to: &BareJid, id: &str, of: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
    m.id = Some(Id(id.to_string()));
    m.bodies.insert(Lang::new(), FALLBACK.to_string());
    m.payloads
        .push(Element::builder("retract", NS).a("id", of).build());
    m.payloads.push(fallback::marker(NS, None));
    m.payloads
        .push(Element::builder("store", "urn:xmpp:hints").build());
    m
}
