//! XEP-0092 Software Version: which client a peer runs, for the call report, and our
//! own answer (name and version, not the operating system: that is nobody's business).
// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ns;

/// Asks `to` what it runs.
pub fn query(id: &str, to: Jid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(to),
        id: id.to_string(),
        payload: Element::builder("query", ns::VERSION).build(),
    }
}

/// Our answer.
pub fn own() -> Element {
    Element::builder("query", ns::VERSION)
        .append(Element::builder("name", ns::VERSION).append("Banter"))
        .append(Element::builder("version", ns::VERSION).append(env!("CARGO_PKG_VERSION")))
        .build()
}

/// "Name version" from an answer, printable and at most 60 characters (it goes into
/// a one-line-per-fact report).
pub fn client_of(answer: &Element) -> Option<String> {
    if !answer.is("query", ns::VERSION) {
        return None;
    }
    let text = |name: &str| {
        answer
            .get_child(name, ns::VERSION)
            .map(|e| e.text())
            .unwrap_or_default()
    };
    let both = format!("{} {}", text("name"), text("version"));
    let clean: String = both
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn our_answer_reads_back_and_a_hostile_one_is_tamed() {
        assert_eq!(
            client_of(&own()).unwrap(),
            format!("Banter {}", env!("CARGO_PKG_VERSION"))
        );
        let hostile: Element = format!(
            "<query xmlns='jabber:iq:version'><name>Evil\nline</name><version>{}</version></query>",
            "9".repeat(500)
        )
        .parse()
        .unwrap();
        let c = client_of(&hostile).unwrap();
        assert!(
            c.starts_with("Evilline 999") && c.chars().count() == 60,
            "{c}"
        );
        let empty: Element = "<query xmlns='jabber:iq:version'/>".parse().unwrap();
        assert_eq!(client_of(&empty), None);
        let other: Element = "<query xmlns='jabber:iq:roster'/>".parse().unwrap();
        assert_eq!(client_of(&other), None);
    }
}
