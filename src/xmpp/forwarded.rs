//! XEP-0297 Stanza Forwarding, shared by carbons and the archive.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::message::Message;
use xmpp_parsers::ns;

/// The forwarded message inside `wrapper` (which contains `<forwarded/>`), with the
/// delay stamp in ms if one is there.
pub fn unwrap(wrapper: &Element) -> Option<(Message, Option<i64>)> {
    let fwd = wrapper.get_child("forwarded", ns::FORWARD)?;
    let ts = super::chat::delay_ms(&fwd.children().cloned().collect::<Vec<_>>());
    let inner = fwd.children().find(|c| c.name() == "message")?.clone();
    Message::try_from(inner).ok().map(|m| (m, ts))
}
