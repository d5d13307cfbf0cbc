//! Jingle (XEP-0166) and its call-related extensions, one module per XEP. Element types
//! are written here (xmpp-parsers 0.23 drops or hides too much of them, see DESIGN.md)
//! and parsed leniently: unknown children are ignored, optional attributes defaulted.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod dtls_verify;
pub mod endpoint;
pub mod grouping;
pub mod ice_udp;
pub mod jmi;
pub mod mapping;
pub mod rtp;
pub mod session;

use minidom::Element;

use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:jingle:1";

/// XEP-0166 actions Banter handles (others are answered with an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SessionInitiate,
    SessionAccept,
    SessionTerminate,
    SessionInfo,
    TransportInfo,
    ContentAdd,
    ContentAccept,
    ContentReject,
    ContentRemove,
    ContentModify,
    DescriptionInfo,
    TransportReplace,
    TransportAccept,
    TransportReject,
    SecurityInfo,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SessionInitiate => "session-initiate",
            Action::SessionAccept => "session-accept",
            Action::SessionTerminate => "session-terminate",
            Action::SessionInfo => "session-info",
            Action::TransportInfo => "transport-info",
            Action::ContentAdd => "content-add",
            Action::ContentAccept => "content-accept",
            Action::ContentReject => "content-reject",
            Action::ContentRemove => "content-remove",
            Action::ContentModify => "content-modify",
            Action::DescriptionInfo => "description-info",
            Action::TransportReplace => "transport-replace",
            Action::TransportAccept => "transport-accept",
            Action::TransportReject => "transport-reject",
            Action::SecurityInfo => "security-info",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        use Action::*;
        Some(match s {
            "session-initiate" => SessionInitiate,
            "session-accept" => SessionAccept,
            "session-terminate" => SessionTerminate,
            "session-info" => SessionInfo,
            "transport-info" => TransportInfo,
            "content-add" => ContentAdd,
            "content-accept" => ContentAccept,
            "content-reject" => ContentReject,
            "content-remove" => ContentRemove,
            "content-modify" => ContentModify,
            "description-info" => DescriptionInfo,
            "transport-replace" => TransportReplace,
            "transport-accept" => TransportAccept,
            "transport-reject" => TransportReject,
            "security-info" => SecurityInfo,
            _ => return None,
        })
    }
}

/// A short stable tag for ids made from content (FNV-1a): the call machine draws no
/// random numbers, so the same inputs give the same stanzas.
pub fn tag(parts: &[&str]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    format!("{h:08x}")
}

/// What one Jingle element may hold. Generous for real clients (Chromium offers about
/// 15 codecs with up to 5 feedback types each, 2 contents); small enough that a
/// hostile description costs little to parse and map: items beyond these are ignored.
pub mod limits {
    pub const CONTENTS: usize = 4;
    pub const CODECS: usize = 32;
    /// rtcp-fb per codec, and at description level (which applies to every codec).
    pub const FEEDBACK: usize = 16;
    pub const PARAMETERS: usize = 32;
    pub const HEADER_EXTENSIONS: usize = 16;
    pub const SOURCES: usize = 16;
    pub const SOURCE_GROUPS: usize = 8;
    /// Candidates read from one transport element (the mapping keeps 32 per call).
    pub const CANDIDATES: usize = 64;
}

/// Why a session ended (XEP-0166 §7.4), also used by JMI reject/finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Success,
    Busy,
    Decline,
    Cancel,
    Timeout,
    ConnectivityError,
    SecurityError,
    FailedApplication,
    FailedTransport,
    GeneralError,
    Gone,
    MediaError,
    UnsupportedApplications,
    UnsupportedTransports,
    IncompatibleParameters,
    AlternativeSession,
    Expired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            Success => "success",
            Busy => "busy",
            Decline => "decline",
            Cancel => "cancel",
            Timeout => "timeout",
            ConnectivityError => "connectivity-error",
            SecurityError => "security-error",
            FailedApplication => "failed-application",
            FailedTransport => "failed-transport",
            GeneralError => "general-error",
            Gone => "gone",
            MediaError => "media-error",
            UnsupportedApplications => "unsupported-applications",
            UnsupportedTransports => "unsupported-transports",
            IncompatibleParameters => "incompatible-parameters",
            AlternativeSession => "alternative-session",
            Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        use Reason::*;
        Some(match s {
            "success" => Success,
            "busy" => Busy,
            "decline" => Decline,
            "cancel" => Cancel,
            "timeout" => Timeout,
            "connectivity-error" => ConnectivityError,
            "security-error" => SecurityError,
            "failed-application" => FailedApplication,
            "failed-transport" => FailedTransport,
            "general-error" => GeneralError,
            "gone" => Gone,
            "media-error" => MediaError,
            "unsupported-applications" => UnsupportedApplications,
            "unsupported-transports" => UnsupportedTransports,
            "incompatible-parameters" => IncompatibleParameters,
            "alternative-session" => AlternativeSession,
            "expired" => Expired,
            _ => return None,
        })
    }

    /// `<reason><condition/></reason>` in the Jingle namespace.
    pub fn to_element(self) -> Element {
        Element::builder("reason", NS)
            .append(Element::builder(self.as_str(), NS).build())
            .build()
    }

    /// Reads a `<reason/>` element; an unknown condition is a general error.
    pub fn from_element(reason: &Element) -> Reason {
        reason
            .children()
            .find_map(|c| Reason::parse(c.name()))
            .unwrap_or(Reason::GeneralError)
    }
}

/// A content (XEP-0166 §7.3) with its RTP description and ICE-UDP transport.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub creator: String,
    pub name: String,
    pub senders: String,
    pub description: Option<rtp::Description>,
    pub transport: Option<ice_udp::Transport>,
}

impl Content {
    /// A content named only (no description, no transport), as content-remove,
    /// content-reject, content-modify and transport-info refer to one.
    pub fn named(creator: &str, name: &str, senders: &str) -> Content {
        Content {
            creator: creator.to_string(),
            name: name.to_string(),
            senders: senders.to_string(),
            description: None,
            transport: None,
        }
    }

    pub fn parse(el: &Element) -> Option<Content> {
        if el.name() != "content" {
            return None;
        }
        Some(Content {
            creator: el.attr("creator").unwrap_or("initiator").to_string(),
            name: el.attr("name")?.to_string(),
            senders: el.attr("senders").unwrap_or("both").to_string(),
            description: el
                .get_child("description", rtp::NS)
                .and_then(rtp::Description::parse),
            transport: el
                .get_child("transport", ice_udp::NS)
                .map(ice_udp::Transport::parse),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("content", NS)
            .a("creator", self.creator.as_str())
            .a("name", self.name.as_str());
        if self.senders != "both" {
            b = b.a("senders", self.senders.as_str());
        }
        if let Some(d) = &self.description {
            b = b.append(d.to_element());
        }
        if let Some(t) = &self.transport {
            b = b.append(t.to_element());
        }
        b.build()
    }
}

/// A `<jingle/>` element.
#[derive(Debug, Clone, PartialEq)]
pub struct Jingle {
    pub action: Action,
    pub sid: String,
    pub initiator: Option<String>,
    pub responder: Option<String>,
    pub contents: Vec<Content>,
    pub reason: Option<Reason>,
    /// BUNDLE group, when present.
    pub group: Option<grouping::Group>,
    /// session-info payloads (ringing, active, mute, hold…).
    pub info: Option<rtp::Info>,
}

impl Jingle {
    pub fn new(action: Action, sid: &str) -> Jingle {
        Jingle {
            action,
            sid: sid.to_string(),
            initiator: None,
            responder: None,
            contents: Vec::new(),
            reason: None,
            group: None,
            info: None,
        }
    }

    /// Parses a `<jingle/>`; `Err` says what is wrong (for a bad-request answer).
    pub fn parse(el: &Element) -> Result<Jingle, String> {
        if !el.is("jingle", NS) {
            return Err("not a jingle element".into());
        }
        let action = el
            .attr("action")
            .and_then(Action::parse)
            .ok_or("unknown or missing action")?;
        let sid = el.attr("sid").ok_or("missing sid")?.to_string();
        Ok(Jingle {
            action,
            sid,
            initiator: el.attr("initiator").map(str::to_string),
            responder: el.attr("responder").map(str::to_string),
            contents: el
                .children()
                .filter_map(Content::parse)
                .take(limits::CONTENTS)
                .collect(),
            reason: el.get_child("reason", NS).map(Reason::from_element),
            group: el
                .get_child("group", grouping::NS)
                .and_then(grouping::Group::parse),
            info: el.children().find_map(rtp::Info::parse),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("jingle", NS)
            .a("action", self.action.as_str())
            .a("sid", self.sid.as_str());
        if let Some(i) = &self.initiator {
            b = b.a("initiator", i.as_str());
        }
        if let Some(r) = &self.responder {
            b = b.a("responder", r.as_str());
        }
        for c in &self.contents {
            b = b.append(c.to_element());
        }
        if let Some(g) = &self.group {
            b = b.append(g.to_element());
        }
        if let Some(r) = self.reason {
            b = b.append(r.to_element());
        }
        if let Some(i) = &self.info {
            b = b.append(i.to_element());
        }
        b.build()
    }
}
