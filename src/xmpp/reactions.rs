//! XEP-0444 Message Reactions: a sender's whole set of emoji on one message (each
//! reactions element replaces the set before; an empty one removes it). What a peer
//! sends is bounded here: at most `MAX_REACTIONS` distinct reactions of at most
//! `MAX_REACTION_BYTES` each, none blank.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Message, MessageType};

use super::Attr;

pub const NS: &str = "urn:xmpp:reactions:0";
pub const MAX_REACTIONS: usize = 16;
/// An emoji with modifiers and joiners (a family, a flag) fits easily.
pub const MAX_REACTION_BYTES: usize = 64;

/// The message reacted to and the sender's reactions now (`None`: no reactions
/// element).
pub fn read(m: &Message) -> Option<(String, Vec<String>)> {
    let r = m.payloads.iter().find(|e| e.is("reactions", NS))?;
    let id = r.attr("id").filter(|id| !id.is_empty())?.to_string();
    let mut set: Vec<String> = Vec::new();
    for e in r.children().filter(|c| c.is("reaction", NS)) {
        let text = e.text();
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_REACTION_BYTES || set.iter().any(|s| s == text) {
            continue;
        }
        if set.len() == MAX_REACTIONS {
            break;
        }
        set.push(text.to_string());
    }
    Some((id, set))
}

/// Our reactions (the whole set) to message `of`, sent as message `id`.
pub fn message(to: &BareJid, id: &str, of: &str, reactions: &[String]) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
    m.id = Some(Id(id.to_string()));
    let set = reactions
        .iter()
        .fold(Element::builder("reactions", NS).a("id", of), |b, r| {
            b.append(Element::builder("reaction", NS).append(r.as_str()).build())
        });
    m.payloads.push(set.build());
    m.payloads
        .push(Element::builder("store", "urn:xmpp:hints").build());
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_set_goes_out_and_comes_back_bounded() {
        let to = BareJid::new("bob@x").unwrap();
        let mut many: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
        many.push("👍".into());
        many.push("👍".into());
        many.push("   ".into());
        many.push("x".repeat(65));
        let m = message(&to, "r1", "m1", &many);
        let (of, set) = read(&m).unwrap();
        assert_eq!(of, "m1");
        assert_eq!(set.len(), MAX_REACTIONS);
        let m = message(&to, "r2", "m1", &["👍".into(), "👍".into(), "❤️".into()]);
        assert_eq!(
            read(&m).unwrap().1,
            vec!["👍".to_string(), "❤️".to_string()]
        );
        let none = message(&to, "r3", "m1", &[]);
        assert_eq!(read(&none).unwrap().1, Vec::<String>::new());
    }
}
