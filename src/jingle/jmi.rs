//! XEP-0353 Jingle Message Initiation: propose / ringing / proceed / accept / reject /
//! retract / finish, carried in chat messages. Parsed leniently (several descriptions in
//! a propose, extra children anywhere, a reason in reject and finish).
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message, MessageType};

use banter_media::description::MediaKind;

use super::Reason;
use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:jingle-message:0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jmi {
    Propose { id: String, media: Vec<MediaKind> },
    Ringing { id: String },
    Proceed { id: String },
    Accept { id: String },
    Reject { id: String, reason: Option<Reason> },
    Retract { id: String, reason: Option<Reason> },
    Finish { id: String, reason: Option<Reason> },
}

impl Jmi {
    pub fn id(&self) -> &str {
        match self {
            Jmi::Propose { id, .. }
            | Jmi::Ringing { id }
            | Jmi::Proceed { id }
            | Jmi::Accept { id }
            | Jmi::Reject { id, .. }
            | Jmi::Retract { id, .. }
            | Jmi::Finish { id, .. } => id,
        }
    }

    /// Finds a JMI element among a message's payloads.
    pub fn from_message(m: &Message) -> Option<Jmi> {
        m.payloads.iter().find_map(Jmi::parse)
    }

    pub fn parse(el: &Element) -> Option<Jmi> {
        if el.ns() != NS {
            return None;
        }
        let id = el.attr("id")?.to_string();
        let reason = || el.get_child("reason", super::NS).map(Reason::from_element);
        Some(match el.name() {
            "propose" => Jmi::Propose {
                id,
                media: el
                    .children()
                    .filter(|c| c.is("description", super::rtp::NS))
                    .filter_map(|d| match d.attr("media") {
                        Some("audio") => Some(MediaKind::Audio),
                        Some("video") => Some(MediaKind::Video),
                        _ => None,
                    })
                    .collect(),
            },
            "ringing" => Jmi::Ringing { id },
            "proceed" => Jmi::Proceed { id },
            "accept" => Jmi::Accept { id },
            "reject" => Jmi::Reject {
                id,
                reason: reason(),
            },
            "retract" => Jmi::Retract {
                id,
                reason: reason(),
            },
            "finish" => Jmi::Finish {
                id,
                reason: reason(),
            },
            _ => return None,
        })
    }

    /// The element's name and the reason it carries.
    pub fn name_and_reason(&self) -> (&'static str, Option<Reason>) {
        match self {
            Jmi::Propose { .. } => ("propose", None),
            Jmi::Ringing { .. } => ("ringing", None),
            Jmi::Proceed { .. } => ("proceed", None),
            Jmi::Accept { .. } => ("accept", None),
            Jmi::Reject { reason, .. } => ("reject", *reason),
            Jmi::Retract { reason, .. } => ("retract", *reason),
            Jmi::Finish { reason, .. } => ("finish", *reason),
        }
    }

    pub fn to_element(&self) -> Element {
        let (name, reason) = self.name_and_reason();
        let mut b = Element::builder(name, NS).a("id", self.id());
        if let Jmi::Propose { media, .. } = self {
            for m in media {
                b = b.append(
                    Element::builder("description", super::rtp::NS)
                        .a("media", m.as_str())
                        .build(),
                );
            }
        }
        if let Some(r) = reason {
            b = b.append(r.to_element());
        }
        b.build()
    }

    /// The chat message carrying it, with a store hint so that it lands in archives
    /// (a device that was offline learns the call was missed).
    pub fn message(&self, to: Jid) -> Message {
        let mut m = Message::new_with_type(MessageType::Chat, Some(to.clone()));
        // Made from what it says and to whom: the same message twice has one id.
        let (name, _) = self.name_and_reason();
        let id = format!("{}-{name}-{}", self.id(), super::tag(&[to.as_str()]));
        m.id = Some(xmpp_parsers::message::Id(id));
        m.payloads.push(self.to_element());
        m.payloads
            .push(Element::builder("store", "urn:xmpp:hints").build());
        m
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn propose_with_two_descriptions_and_reject_with_reason() {
        let p = Element::from_str(
            "<propose xmlns='urn:xmpp:jingle-message:0' id='abc'>\
             <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>\
             <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>",
        )
        .unwrap();
        assert_eq!(
            Jmi::parse(&p),
            Some(Jmi::Propose {
                id: "abc".into(),
                media: vec![MediaKind::Audio, MediaKind::Video]
            })
        );
        let r = Element::from_str(
            "<reject xmlns='urn:xmpp:jingle-message:0' id='abc'>\
             <reason xmlns='urn:xmpp:jingle:1'><busy/><text>in a meeting</text></reason></reject>",
        )
        .unwrap();
        assert_eq!(
            Jmi::parse(&r),
            Some(Jmi::Reject {
                id: "abc".into(),
                reason: Some(Reason::Busy)
            })
        );
        // Proceed with a child (Conversations adds <device/>) still parses.
        let pr = Element::from_str(
            "<proceed xmlns='urn:xmpp:jingle-message:0' id='abc'><device xmlns='http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification' id='1'/></proceed>",
        )
        .unwrap();
        assert_eq!(Jmi::parse(&pr), Some(Jmi::Proceed { id: "abc".into() }));
        for j in [Jmi::parse(&p).unwrap(), Jmi::parse(&r).unwrap()] {
            assert_eq!(Jmi::parse(&j.to_element()), Some(j));
        }
    }
}
