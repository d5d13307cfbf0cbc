//! XEP-0461 Message Replies: which message this one answers (its id, and its sender's
//! JID), with the quoted original as a fallback (XEP-0428) for clients that do not
//! know replies; readers that do strip it and show their own preview.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::message::Message;

use super::{fallback, Attr};

pub const NS: &str = "urn:xmpp:reply:0";

/// The quoted fallback keeps at most this many characters of the original.
const QUOTE_CHARS: usize = 200;

/// What a message answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    /// The original's id.
    pub id: String,
    /// Who wrote it, when said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

pub fn read(m: &Message) -> Option<Reply> {
    let r = m.payloads.iter().find(|e| e.is("reply", NS))?;
    let id = r.attr("id").filter(|id| !id.is_empty())?;
    Some(Reply {
        id: id.to_string(),
        to: r.attr("to").map(str::to_string),
    })
}

/// The body a reader shows: without the quote the sender marked as fallback.
pub fn shown_body(m: &Message, body: &str) -> String {
    match fallback::ranges(m, NS) {
        Some(r) if read(m).is_some() => strip_or_keep(body, &r),
        _ => body.to_string(),
    }
}

/// A body that would be all fallback is kept whole: better a quote than nothing.
fn strip_or_keep(body: &str, ranges: &[(usize, usize)]) -> String {
    let left = fallback::strip(body, ranges);
    if left.trim().is_empty() {
        body.to_string()
    } else {
        left
    }
}

/// `<reply id='…' to='…'/>`: this message answers message `of` by `author`.
pub fn element(of: &str, author: Option<&str>) -> Element {
    let mut reply = Element::builder("reply", NS).a("id", of);
    if let Some(a) = author {
        reply = reply.a("to", a);
    }
    reply.build()
}

/// What a reply carries: the body (the original quoted, then `text`) and the
/// elements (`<reply>`, the fallback marker).
pub fn compose(of: &str, author: Option<&str>, quoted: &str, text: &str) -> (String, Vec<Element>) {
    let mut quote = String::new();
    let short: String = quoted.chars().take(QUOTE_CHARS).collect();
    for line in short.lines() {
        quote.push_str("> ");
        quote.push_str(line);
        quote.push('\n');
    }
    let len = quote.chars().count();
    let body = format!("{quote}{text}");
    let elements = vec![element(of, author), fallback::marker(NS, Some(len))];
    (body, elements)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use xmpp_parsers::jid::BareJid;

    #[test]
    fn a_reply_round_trips_and_its_quote_is_stripped() {
        let to = BareJid::new("bob@x").unwrap();
        let (body, els) = compose("m1", Some("bob@x"), "ünïcode\nline two", "yes!");
        assert_eq!(body, "> ünïcode\n> line two\nyes!");
        let mut m = super::super::chat::outgoing(&to, "r1", &body);
        m.payloads.extend(els);
        assert_eq!(
            read(&m),
            Some(Reply {
                id: "m1".into(),
                to: Some("bob@x".into())
            })
        );
        assert_eq!(shown_body(&m, &body), "yes!");
    }
}
