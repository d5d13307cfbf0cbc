//! XEP-0428 Fallback Indication: which part of a body is only there for clients that
//! do not know an element (a reply's quote, a retraction's notice). Ranges count
//! Unicode code points (XEP-0426); they come from peers, so each is clamped to the
//! body and their number bounded.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::message::Message;

use super::Attr;

pub const NS: &str = "urn:xmpp:fallback:0";

/// More ranges than this for one element are not believed (and none is applied).
const MAX_RANGES: usize = 8;

/// What of the body is fallback for `for_ns`: `None` when nothing is marked; the
/// whole body when the marker names no range.
pub fn ranges(m: &Message, for_ns: &str) -> Option<Vec<(usize, usize)>> {
    let marker = m
        .payloads
        .iter()
        .find(|e| e.is("fallback", NS) && e.attr("for") == Some(for_ns))?;
    let bodies: Vec<&Element> = marker.children().filter(|c| c.name() == "body").collect();
    if bodies.is_empty() {
        return Some(vec![(0, usize::MAX)]);
    }
    if bodies.len() > MAX_RANGES {
        return None;
    }
    let ranges = bodies
        .iter()
        .filter_map(|b| {
            let start = b.attr("start")?.parse::<usize>().ok()?;
            let end = b.attr("end")?.parse::<usize>().ok()?;
            (start < end).then_some((start, end))
        })
        .collect();
    Some(ranges)
}

/// `body` without the ranges (clamped to it).
pub fn strip(body: &str, ranges: &[(usize, usize)]) -> String {
    body.chars()
        .enumerate()
        .filter(|(i, _)| !ranges.iter().any(|(s, e)| i >= s && i < e))
        .map(|(_, c)| c)
        .collect()
}

/// A marker: the body's first `len` code points are fallback for `for_ns` (`None`:
/// all of it).
pub fn marker(for_ns: &str, len: Option<usize>) -> Element {
    let b = Element::builder("fallback", NS).a("for", for_ns);
    match len {
        Some(len) => b
            .append(
                Element::builder("body", NS)
                    .a("start", "0")
                    .a("end", len.to_string())
                    .build(),
            )
            .build(),
        None => b.build(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn parse(xml: &str) -> Message {
        Message::try_from(Element::from_str(xml).unwrap()).unwrap()
    }

    #[test]
    fn ranges_count_code_points_and_are_clamped() {
        let m = parse(
            "<message xmlns='jabber:client' type='chat'><body>> héllo\nyes</body>\
             <fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'>\
             <body start='0' end='8'/></fallback></message>",
        );
        let r = ranges(&m, "urn:xmpp:reply:0").unwrap();
        assert_eq!(strip("> héllo\nyes", &r), "yes");
        assert_eq!(ranges(&m, "urn:other"), None);
        // Past the end, reversed, or not numbers: clamped or ignored, never a panic.
        assert_eq!(strip("abc", &[(1, 999)]), "a");
        let bad = parse(
            "<message xmlns='jabber:client'><body>abc</body>\
             <fallback xmlns='urn:xmpp:fallback:0' for='x'><body start='2' end='1'/>\
             <body start='a' end='-1'/></fallback></message>",
        );
        assert_eq!(ranges(&bad, "x"), Some(vec![]));
        let whole = parse(
            "<message xmlns='jabber:client'><body>abc</body>\
             <fallback xmlns='urn:xmpp:fallback:0' for='x'/></message>",
        );
        assert_eq!(strip("abc", &ranges(&whole, "x").unwrap()), "");
    }
}
