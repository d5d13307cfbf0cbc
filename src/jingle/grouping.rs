//! XEP-0338 Jingle Grouping Framework: the BUNDLE group.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;

use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:jingle:apps:grouping:0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub semantics: String,
    pub contents: Vec<String>,
}

impl Group {
    pub fn bundle(contents: Vec<String>) -> Group {
        Group {
            semantics: "BUNDLE".into(),
            contents,
        }
    }

    pub fn parse(el: &Element) -> Option<Group> {
        Some(Group {
            semantics: el.attr("semantics")?.to_string(),
            contents: el
                .children()
                .filter(|c| c.name() == "content")
                .filter_map(|c| c.attr("name").map(str::to_string))
                .take(super::limits::CONTENTS)
                .collect(),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("group", NS).a("semantics", self.semantics.as_str());
        for c in &self.contents {
            b = b.append(
                Element::builder("content", NS)
                    .a("name", c.as_str())
                    .build(),
            );
        }
        b.build()
    }
}
