//! XEP-0280 Message Carbons: copies of the account's messages to and from its other
//! devices. Only copies sent by the account's own bare JID are believed (a contact
//! could otherwise forge "you sent this").
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;
use xmpp_parsers::ns;

use super::forwarded;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carbon {
    /// A message another of our devices received.
    Received,
    /// A message another of our devices sent.
    Sent,
}

pub fn enable(id: &str) -> Iq {
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("enable", ns::CARBONS).build(),
    }
}

/// Unwraps a carbon copy. `None` when `m` is not a (trusted) carbon.
pub fn unwrap(m: &Message, own: &BareJid) -> Option<(Carbon, Message, Option<i64>)> {
    let (kind, wrapper) = m.payloads.iter().find_map(|e| {
        if e.is("received", ns::CARBONS) {
            Some((Carbon::Received, e))
        } else if e.is("sent", ns::CARBONS) {
            Some((Carbon::Sent, e))
        } else {
            None
        }
    })?;
    // From our bare JID exactly (XEP-0280 §11): not a device of ours, not anyone else.
    if m.from.as_ref().map(|f| f.as_str()) != Some(own.as_str()) {
        tracing::warn!(from = ?m.from, "ignoring carbon copy not sent by our own account");
        return None;
    }
    let (inner, ts) = forwarded::unwrap(wrapper)?;
    Some((kind, inner, ts))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    const SENT: &str = "<message xmlns='jabber:client' from='alice@x' to='alice@x/pc' type='chat'>\
        <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
        <message xmlns='jabber:client' to='bob@x' from='alice@x/phone' type='chat' id='m9'><body>yo</body></message>\
        </forwarded></sent></message>";

    #[test]
    fn sent_carbon_unwraps() {
        let m = Message::try_from(Element::from_str(SENT).unwrap()).unwrap();
        let own = BareJid::new("alice@x").unwrap();
        let (kind, inner, _) = unwrap(&m, &own).unwrap();
        assert_eq!(kind, Carbon::Sent);
        assert_eq!(inner.id.unwrap().0, "m9");
    }

    #[test]
    fn forged_carbon_ignored() {
        let forged = SENT.replacen("from='alice@x'", "from='mallory@x'", 1);
        let m = Message::try_from(Element::from_str(&forged).unwrap()).unwrap();
        assert!(unwrap(&m, &BareJid::new("alice@x").unwrap()).is_none());
        // A device of ours is not our server either.
        let forged = SENT.replacen("from='alice@x'", "from='alice@x/other'", 1);
        let m = Message::try_from(Element::from_str(&forged).unwrap()).unwrap();
        assert!(unwrap(&m, &BareJid::new("alice@x").unwrap()).is_none());
    }
}
