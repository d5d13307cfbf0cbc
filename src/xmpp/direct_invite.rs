//! XEP-0249 direct invitations: a room's address sent straight to a contact, which
//! works with any room (mediated ones, in muc/admin.rs, go through the room).

use minidom::Element;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};

use super::muc::admin::Invitation;
use super::Attr;

pub const NS: &str = "jabber:x:conference";

/// The invitation to `room` for `to`.
pub fn invite(
    to: &BareJid,
    room: &BareJid,
    password: Option<&str>,
    reason: Option<&str>,
) -> Message {
    let mut x = Element::builder("x", NS).a("jid", room.to_string());
    if let Some(p) = password {
        x = x.a("password", p.to_string());
    }
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        x = x.a("reason", r.to_string());
    }
    let mut m = Message::new_with_type(MessageType::Normal, Some(Jid::from(to.clone())));
    m.payloads.push(x.build());
    m
}

/// The invitation a message carries, if it carries one.
pub fn read(m: &Message) -> Option<Invitation> {
    let from = m.from.as_ref()?;
    let x = m.payloads.iter().find(|p| p.is("x", NS))?;
    let room = BareJid::new(x.attr("jid")?).ok()?;
    let text = |a: &str| {
        x.attr(a)
            .map(|t| t.chars().take(500).collect::<String>())
            .filter(|t| !t.trim().is_empty())
    };
    Some(Invitation {
        room,
        from: from.to_bare().to_string(),
        reason: text("reason"),
        password: text("password"),
        mediated: false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_invitation_there_and_back() {
        let mut m = invite(
            &BareJid::new("bob@x").unwrap(),
            &BareJid::new("r@rooms.x").unwrap(),
            Some("pw"),
            Some("come"),
        );
        m.from = Some(Jid::new("alice@x/pc").unwrap());
        let inv = read(&m).unwrap();
        assert_eq!(inv.room.as_str(), "r@rooms.x");
        assert_eq!(inv.from, "alice@x");
        assert_eq!(inv.password.as_deref(), Some("pw"));
        assert_eq!(inv.reason.as_deref(), Some("come"));
        assert!(!inv.mediated);
        let bad: Element = "<message xmlns='jabber:client' from='a@x'><x xmlns='jabber:x:conference' jid='@@'/></message>"
            .parse()
            .unwrap();
        assert!(read(&Message::try_from(bad).unwrap()).is_none());
    }
}
