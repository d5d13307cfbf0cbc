//! RFC 6121 presence: our own availability (with XEP-0115 caps attached) and that of
//! contacts, per resource.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use minidom::Element;
use xmpp_parsers::presence::{Presence, Show as XShow, Type};

use super::caps;

/// Availability as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    Available,
    Chat,
    Away,
    Dnd,
    Xa,
    Unavailable,
}

impl Show {
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Available => "available",
            Show::Chat => "chat",
            Show::Away => "away",
            Show::Dnd => "dnd",
            Show::Xa => "xa",
            Show::Unavailable => "unavailable",
        }
    }

    pub fn parse(s: &str) -> Option<Show> {
        Some(match s {
            "available" | "online" => Show::Available,
            "chat" => Show::Chat,
            "away" => Show::Away,
            "dnd" => Show::Dnd,
            "xa" => Show::Xa,
            "unavailable" | "offline" => Show::Unavailable,
            _ => return None,
        })
    }
}

/// Our own presence, carrying the caps element so contacts learn our features.
pub fn own(show: Show, status: Option<&str>) -> Presence {
    let mut p = match show {
        Show::Unavailable => Presence::new(Type::Unavailable),
        _ => Presence::new(Type::None),
    };
    p.show = match show {
        Show::Chat => Some(XShow::Chat),
        Show::Away => Some(XShow::Away),
        Show::Dnd => Some(XShow::Dnd),
        Show::Xa => Some(XShow::Xa),
        _ => None,
    };
    if let Some(s) = status {
        p.set_status("", s);
    }
    if show != Show::Unavailable {
        p.payloads.push(
            Element::builder("c", xmpp_parsers::ns::CAPS)
                .a("hash", "sha-1")
                .a("node", caps::NODE)
                .a("ver", caps::own_ver())
                .build(),
        );
    }
    p
}

/// Show of a received available/unavailable presence.
pub fn show_of(p: &Presence) -> Show {
    if p.type_ == Type::Unavailable {
        return Show::Unavailable;
    }
    match p.show {
        Some(XShow::Away) => Show::Away,
        Some(XShow::Chat) => Show::Chat,
        Some(XShow::Dnd) => Show::Dnd,
        Some(XShow::Xa) => Show::Xa,
        None => Show::Available,
    }
}

pub fn status_of(p: &Presence) -> Option<String> {
    p.statuses.values().next().map(|s| s.to_string())
}

/// The caps (node, ver) a contact's presence advertises, if it uses the sha-1 form.
pub fn caps_of(p: &Presence) -> Option<(String, String)> {
    let c = p
        .payloads
        .iter()
        .find(|e| e.is("c", xmpp_parsers::ns::CAPS))?;
    Some((c.attr("node")?.to_string(), c.attr("ver")?.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn own_presence_carries_caps() {
        let p = own(Show::Away, Some("lunch"));
        assert_eq!(show_of(&p), Show::Away);
        assert_eq!(status_of(&p).as_deref(), Some("lunch"));
        let (node, ver) = caps_of(&p).unwrap();
        assert_eq!(node, caps::NODE);
        assert_eq!(ver, caps::own_ver());
    }
}
