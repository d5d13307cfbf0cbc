//! XEP-0030 Service Discovery: answering queries about us, and asking contacts about
//! their features (results cached by caps `ver`, XEP-0115).
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ns;

use super::caps;

/// Our disco#info result for `node` (absent, or our caps node#ver).
pub fn own_info(node: Option<&str>) -> Element {
    let id = caps::identity();
    let mut q = Element::builder("query", ns::DISCO_INFO);
    if let Some(n) = node {
        q = q.a("node", n);
    }
    q = q.append(
        Element::builder("identity", ns::DISCO_INFO)
            .a("category", id.category.as_str())
            .a("type", id.type_.as_str())
            .a("name", id.name.as_str())
            .build(),
    );
    for f in caps::FEATURES {
        q = q.append(
            Element::builder("feature", ns::DISCO_INFO)
                .a("var", *f)
                .build(),
        );
    }
    q.build()
}

pub fn info_query(id: &str, to: Jid, node: Option<&str>) -> Iq {
    let mut q = Element::builder("query", ns::DISCO_INFO);
    if let Some(n) = node {
        q = q.a("node", n);
    }
    Iq::Get {
        from: None,
        to: Some(to),
        id: id.to_string(),
        payload: q.build(),
    }
}

pub const NS_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// Asks `to` for its items (XEP-0030): a server's services, a MUC service's rooms.
pub fn items_query(id: &str, to: Jid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(to),
        id: id.to_string(),
        payload: Element::builder("query", NS_ITEMS).build(),
    }
}

/// Items read from one answer (a server lists a handful of services).
const MAX_ITEMS: usize = 64;

/// The JIDs of an items answer (services; nodes are not followed).
pub fn parse_items(q: &Element) -> Vec<Jid> {
    if !q.is("query", NS_ITEMS) {
        return Vec::new();
    }
    q.children()
        .filter(|c| c.is("item", NS_ITEMS) && c.attr("node").is_none())
        .filter_map(|c| Jid::new(c.attr("jid")?).ok())
        .take(MAX_ITEMS)
        .collect()
}

/// Identities and features of a disco#info result, as the caps hash needs them.
/// Identities and features read from one answer (clients have tens); a longer
/// answer is cut, and then no longer matches its caps ver, so it is not cached.
const MAX_IDENTITIES: usize = 32;
const MAX_FEATURES: usize = 512;

pub fn parse_info(q: &Element) -> Option<(Vec<caps::Identity>, Vec<String>)> {
    if !q.is("query", ns::DISCO_INFO) {
        return None;
    }
    let ids = q
        .children()
        .filter(|c| c.is("identity", ns::DISCO_INFO))
        .map(|c| caps::Identity {
            category: c.attr("category").unwrap_or("").into(),
            type_: c.attr("type").unwrap_or("").into(),
            lang: c.attr("xml:lang").unwrap_or("").into(),
            name: c.attr("name").unwrap_or("").into(),
        })
        .take(MAX_IDENTITIES)
        .collect();
    let feats = q
        .children()
        .filter(|c| c.is("feature", ns::DISCO_INFO))
        .filter_map(|c| c.attr("var").map(str::to_string))
        .take(MAX_FEATURES)
        .collect();
    Some((ids, feats))
}

/// Checks a disco#info result against the advertised `ver` before caching it under that
/// ver, so a wrong or forged answer cannot poison the cache for everyone.
pub fn matches_ver(q: &Element, ver: &str) -> bool {
    let Some((ids, feats)) = parse_info(q) else {
        return false;
    };
    // Extended forms are rare among clients; a result with them is cached per JID only.
    if q.children().any(|c| c.is("x", ns::DATA_FORMS)) {
        return false;
    }
    let feats: Vec<&str> = feats.iter().map(String::as_str).collect();
    caps::ver_hash(&ids, &feats, &[]) == ver
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn own_info_matches_own_ver() {
        let info = own_info(None);
        assert!(matches_ver(&info, &caps::own_ver()));
        assert!(!matches_ver(&info, "QgayPKawpkPSDYmwT/WM94uAlu0="));
    }
}
