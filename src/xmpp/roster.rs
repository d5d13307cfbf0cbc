//! RFC 6121 roster: fetch, pushes, add/rename/remove, and the subscription handshake.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::ns;

/// A roster entry, as plain values (the client caches it in the store).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contact {
    pub jid: String,
    pub name: Option<String>,
    /// none / to / from / both
    pub subscription: String,
    /// True while our subscription request is pending.
    pub ask: bool,
    pub groups: Vec<String>,
}

pub fn get(id: &str) -> Iq {
    Iq::Get {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", ns::ROSTER).build(),
    }
}

/// Adds or renames `jid` (a roster set with the item).
pub fn set_item(id: &str, jid: &BareJid, name: Option<&str>, groups: &[String]) -> Iq {
    let mut item = Element::builder("item", ns::ROSTER).a("jid", jid.as_str());
    if let Some(n) = name {
        item = item.a("name", n);
    }
    for g in groups {
        item = item.append(Element::builder("group", ns::ROSTER).append(g.as_str()));
    }
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", ns::ROSTER)
            .append(item.build())
            .build(),
    }
}

pub fn remove_item(id: &str, jid: &BareJid) -> Iq {
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", ns::ROSTER)
            .append(
                Element::builder("item", ns::ROSTER)
                    .a("jid", jid.as_str())
                    .a("subscription", "remove")
                    .build(),
            )
            .build(),
    }
}

/// One parsed roster item; `subscription == "remove"` means it left the roster.
pub fn parse_items(query: &Element) -> Vec<Contact> {
    if !query.is("query", ns::ROSTER) {
        return Vec::new();
    }
    query
        .children()
        .filter(|c| c.is("item", ns::ROSTER))
        .filter_map(|item| {
            let jid = BareJid::new(item.attr("jid")?).ok()?;
            Some(Contact {
                jid: jid.to_string(),
                name: item.attr("name").map(str::to_string),
                subscription: item.attr("subscription").unwrap_or("none").to_string(),
                ask: item.attr("ask") == Some("subscribe"),
                groups: item
                    .children()
                    .filter(|g| g.is("group", ns::ROSTER))
                    .map(|g| g.text())
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_items() {
        let q = Element::from_str(
            "<query xmlns='jabber:iq:roster'>\
            <item jid='bob@x' name='Bob' subscription='both'><group>Friends</group></item>\
            <item jid='carol@x' subscription='none' ask='subscribe'/>\
            <item jid='not a jid@@'/></query>",
        )
        .unwrap();
        let items = parse_items(&q);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name.as_deref(), Some("Bob"));
        assert_eq!(items[0].groups, ["Friends"]);
        assert!(items[1].ask);
    }
}
