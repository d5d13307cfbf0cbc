//! XEP-0313 Message Archive Management: catching up on what arrived while offline,
//! and a room's archive (its last messages on joining, what came while we were away,
//! earlier pages).
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;
use xmpp_parsers::ns;

use super::forwarded;

/// Page size for catch-up queries.
pub const PAGE: usize = 100;

/// Where a catch-up page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// Everything after this archive id.
    After(String),
    /// No id known yet: the newest page.
    Newest,
    /// The page before this archive id (scrolling back).
    Before(String),
    /// Everything from this time on (ms since the epoch; whole seconds are asked,
    /// the second it is in included).
    Since(i64),
}

/// A query of our own archive, identified by `queryid`.
pub fn query(iq_id: &str, queryid: &str, from: &From) -> Iq {
    query_at(iq_id, queryid, None, from, PAGE)
}

/// A query of `archive` (`None`: our own; else a room's), `max` messages a page.
pub fn query_at(
    iq_id: &str,
    queryid: &str,
    archive: Option<&BareJid>,
    from: &From,
    max: usize,
) -> Iq {
    let mut set = Element::builder("set", ns::RSM)
        .append(Element::builder("max", ns::RSM).append(max.to_string()));
    set = match from {
        From::After(id) => set.append(Element::builder("after", ns::RSM).append(id.as_str())),
        From::Newest => set.append(Element::builder("before", ns::RSM)),
        From::Before(id) => set.append(Element::builder("before", ns::RSM).append(id.as_str())),
        From::Since(_) => set,
    };
    let mut query = Element::builder("query", ns::MAM).a("queryid", queryid);
    if let From::Since(ms) = from {
        let start = chrono::DateTime::from_timestamp(ms.div_euclid(1000), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let field = |var: &str, value: &str| {
            Element::builder("field", "jabber:x:data")
                .a("var", var.to_string())
                .append(Element::builder("value", "jabber:x:data").append(value.to_string()))
        };
        query = query.append(
            Element::builder("x", "jabber:x:data")
                .a("type", "submit")
                .append(field("FORM_TYPE", ns::MAM).a("type", "hidden"))
                .append(field("start", &start)),
        );
    }
    let query = query.append(set.build()).build();
    Iq::Set {
        from: None,
        to: archive.map(|a| xmpp_parsers::jid::Jid::from(a.clone())),
        id: iq_id.to_string(),
        payload: query,
    }
}

/// Whether the message carries an archive result (for whichever query).
pub fn is_result(m: &Message) -> bool {
    m.payloads.iter().any(|e| e.is("result", ns::MAM))
}

/// An archived message belonging to query `queryid`: (archive id, message, stamp).
/// Only results sent by the archive asked (`archive`: our bare JID, where no `from`
/// also means our own server; or a room's bare JID) are accepted.
pub fn unwrap_result(
    m: &Message,
    archive: &BareJid,
    queryid: &str,
) -> Option<(String, Message, Option<i64>)> {
    let result = m.payloads.iter().find(|e| e.is("result", ns::MAM))?;
    if let Some(from) = &m.from {
        if from.as_str() != archive.as_str() {
            return None;
        }
    }
    if result.attr("queryid") != Some(queryid) {
        return None;
    }
    let id = result.attr("id")?.to_string();
    let (inner, ts) = forwarded::unwrap(result)?;
    Some((id, inner, ts))
}

/// Reads a `<fin/>`: (complete, last archive id of the page).
pub fn fin(payload: &Element) -> Option<(bool, Option<String>)> {
    if !payload.is("fin", ns::MAM) {
        return None;
    }
    let complete = matches!(payload.attr("complete"), Some("true") | Some("1"));
    let last = payload
        .get_child("set", ns::RSM)
        .and_then(|s| s.get_child("last", ns::RSM))
        .map(|l| l.text());
    Some((complete, last))
}

/// The first archive id of a `<fin/>`'s page (to page further back from).
pub fn fin_first(payload: &Element) -> Option<String> {
    payload
        .get_child("set", ns::RSM)?
        .get_child("first", ns::RSM)
        .map(|f| f.text())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn result_and_fin() {
        let xml = "<message xmlns='jabber:client' to='alice@x/pc'>\
          <result xmlns='urn:xmpp:mam:2' queryid='q1' id='A7'><forwarded xmlns='urn:xmpp:forward:0'>\
          <delay xmlns='urn:xmpp:delay' stamp='2026-01-02T03:04:05Z'/>\
          <message xmlns='jabber:client' from='bob@x/a' to='alice@x' type='chat'><body>hi</body></message>\
          </forwarded></result></message>";
        let m = Message::try_from(Element::from_str(xml).unwrap()).unwrap();
        let own = BareJid::new("alice@x").unwrap();
        let (id, inner, ts) = unwrap_result(&m, &own, "q1").unwrap();
        assert_eq!(id, "A7");
        assert_eq!(ts, Some(1_767_323_045_000));
        assert!(inner.bodies.values().any(|b| b == "hi"));
        assert!(unwrap_result(&m, &own, "other").is_none());
        let fin_el = Element::from_str("<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'><last>A7</last></set></fin>").unwrap();
        assert_eq!(fin(&fin_el), Some((true, Some("A7".into()))));
    }

    #[test]
    fn query_shapes() {
        let iq = query("i", "q", &From::After("X".into()));
        let el: Element = iq.into();
        let q = el.get_child("query", ns::MAM).unwrap();
        let set = q.get_child("set", ns::RSM).unwrap();
        assert_eq!(set.get_child("after", ns::RSM).unwrap().text(), "X");
        let room = BareJid::new("r@rooms.x").unwrap();
        let el: Element = query_at("i", "q", Some(&room), &From::Since(1_500), 100).into();
        let xml = String::from(&el);
        assert!(xml.contains("to='r@rooms.x'"), "{xml}");
        assert!(xml.contains("<value>1970-01-01T00:00:01Z</value>"), "{xml}");
    }
}
