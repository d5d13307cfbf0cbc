//! XEP-0085 chat state notifications: "typing…" both ways. Standalone notifications
//! carry no body and are not archived (`<no-store/>`); every message we send says
//! `<active/>`, which tells the peer we take notifications.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::chatstates::ChatState;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};

/// The chat state a message carries, if any.
pub fn state_of(m: &Message) -> Option<ChatState> {
    m.payloads
        .iter()
        .find(|p| p.ns() == xmpp_parsers::ns::CHATSTATES)
        .and_then(|p| ChatState::try_from(p.clone()).ok())
}

/// A standalone notification to `to`.
pub fn notification(to: &BareJid, state: ChatState) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
    m.payloads.push(state.into());
    m.payloads
        .push(Element::builder("no-store", "urn:xmpp:hints").build());
    m
}

/// The name used in events (`composing`, `paused`, …).
pub fn name(state: &ChatState) -> &'static str {
    match state {
        ChatState::Active => "active",
        ChatState::Composing => "composing",
        ChatState::Paused => "paused",
        ChatState::Inactive => "inactive",
        ChatState::Gone => "gone",
    }
}

/// The state of a name from the command line or the window.
pub fn parse(name: &str) -> Option<ChatState> {
    Some(match name {
        "active" => ChatState::Active,
        "composing" => ChatState::Composing,
        "paused" => ChatState::Paused,
        "inactive" => ChatState::Inactive,
        "gone" => ChatState::Gone,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn notification_round_trip_and_no_body() {
        let to = BareJid::new("bob@example.org").unwrap();
        let m = notification(&to, ChatState::Composing);
        assert!(m.bodies.is_empty());
        let el: Element = m.into();
        let xml = String::from(&el);
        assert!(xml.contains("<composing") && xml.contains("protocol/chatstates"));
        assert!(xml.contains("no-store"));
        let back = Message::try_from(el).unwrap();
        assert_eq!(state_of(&back), Some(ChatState::Composing));
    }

    #[test]
    fn names_round_trip() {
        for n in ["active", "composing", "paused", "inactive", "gone"] {
            assert_eq!(name(&parse(n).unwrap()), n);
        }
        assert!(parse("typing").is_none());
    }

    #[test]
    fn state_from_a_message_as_conversations_sends_it() {
        let m: Element = "<message xmlns='jabber:client' type='chat' to='a@x' from='b@x/c'>\
             <paused xmlns='http://jabber.org/protocol/chatstates'/></message>"
            .parse()
            .unwrap();
        let m = Message::try_from(m).unwrap();
        assert_eq!(state_of(&m), Some(ChatState::Paused));
    }
}
