//! XEP-0191 Blocking Command: the server's list of JIDs whose stanzas it drops for us
//! (and to whom we seem offline), read, changed, and its pushes to every device.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;

use super::Attr;

pub const NS: &str = "urn:xmpp:blocking";

/// A list longer than this is read only this far (a server's answer is not trusted to
/// be small).
pub const MAX_BLOCKED: usize = 10_000;

/// Asks for the blocklist.
pub fn get(id: &str) -> Iq {
    Iq::Get {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("blocklist", NS).build(),
    }
}

/// Blocks (`block`) or unblocks these JIDs.
pub fn change(id: &str, block: bool, jids: &[BareJid]) -> Iq {
    let name = if block { "block" } else { "unblock" };
    let el = jids.iter().fold(Element::builder(name, NS), |b, j| {
        b.append(Element::builder("item", NS).a("jid", j.as_str()).build())
    });
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: el.build(),
    }
}

fn items(el: &Element) -> Vec<BareJid> {
    el.children()
        .filter(|c| c.is("item", NS))
        .filter_map(|c| c.attr("jid"))
        .filter_map(|j| BareJid::new(j).ok())
        .take(MAX_BLOCKED)
        .collect()
}

/// The JIDs of a `<blocklist>` answer.
pub fn read_list(payload: &Element) -> Option<Vec<BareJid>> {
    payload.is("blocklist", NS).then(|| items(payload))
}

/// What a push from our server says: (blocked, JIDs). An `<unblock>` without items
/// unblocks everyone (`None` as the list).
pub fn read_push(payload: &Element) -> Option<(bool, Option<Vec<BareJid>>)> {
    if payload.is("block", NS) {
        return Some((true, Some(items(payload))));
    }
    if payload.is("unblock", NS) {
        let list = items(payload);
        return Some((false, (!list.is_empty()).then_some(list)));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_as_a_push() {
        let eve = BareJid::new("eve@x").unwrap();
        let Iq::Set { payload, .. } = change("1", true, std::slice::from_ref(&eve)) else {
            panic!()
        };
        assert_eq!(read_push(&payload), Some((true, Some(vec![eve.clone()]))));
        let Iq::Set { payload, .. } = change("2", false, &[]) else {
            panic!()
        };
        assert_eq!(read_push(&payload), Some((false, None)));
        let list = Element::builder("blocklist", NS)
            .append(Element::builder("item", NS).a("jid", "eve@x").build())
            .append(Element::builder("item", NS).a("jid", "not a jid@@").build())
            .build();
        assert_eq!(read_list(&list), Some(vec![eve]));
    }
}
