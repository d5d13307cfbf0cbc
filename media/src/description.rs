//! Typed session descriptions: what Jingle carries (XEP-0167/0176/0320/0293/0294/0338/
//! 0339), independent of SDP. The transport turns them into SDP for webrtc-rs and back;
//! that SDP never leaves this crate.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt::Write;
use std::net::IpAddr;

use crate::error::MediaError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// DTLS role (XEP-0320 `setup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    ActPass,
    Active,
    Passive,
}

impl Setup {
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::ActPass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
        }
    }
    pub fn parse(s: &str) -> Option<Setup> {
        Some(match s {
            "actpass" => Setup::ActPass,
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// e.g. "sha-256"
    pub hash: String,
    /// Colon-separated upper-case hex.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    pub kind: String,
    pub subtype: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    pub payload_type: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: Vec<(String, String)>,
    pub rtcp_fb: Vec<RtcpFb>,
}

impl Codec {
    /// Opus as Conversations and Dino offer it.
    pub fn opus() -> Codec {
        Codec {
            payload_type: 111,
            name: "opus".into(),
            clock_rate: 48_000,
            channels: 2,
            fmtp: vec![
                ("minptime".into(), "10".into()),
                ("useinbandfec".into(), "1".into()),
            ],
            rtcp_fb: vec![RtcpFb {
                kind: "transport-cc".into(),
                subtype: None,
            }],
        }
    }
}

impl Codec {
    /// VP8, or VP9 in profile 0 (8-bit 4:2:0, the one Banter encodes and decodes; no
    /// `profile-id` means 0): the video codecs Banter speaks.
    pub fn video_codec(&self) -> Option<crate::video::vpx::Codec> {
        use crate::video::vpx::Codec as Video;
        if self.name.eq_ignore_ascii_case("VP8") {
            return Some(Video::Vp8);
        }
        let profile = self
            .fmtp
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("profile-id"))
            .map(|(_, v)| v.trim());
        (self.name.eq_ignore_ascii_case("VP9") && profile.is_none_or(|p| p == "0"))
            .then_some(Video::Vp9)
    }

    /// Redundant audio (RFC 2198).
    pub fn is_red(&self) -> bool {
        self.name.eq_ignore_ascii_case("red")
    }

    /// RED as Chromium describes it: `a=fmtp:63 111/111`, the payload types of its
    /// blocks (held as a parameter without a value). Without that line, the peer's
    /// signaling lost it on the way, and so might ours on the way back.
    pub fn red_with_blocks(&self) -> bool {
        self.is_red()
            && self.fmtp.iter().any(|(k, v)| {
                v.is_empty() && !k.is_empty() && k.split('/').all(|p| p.parse::<u8>().is_ok())
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    pub id: u16,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssrc {
    pub id: u32,
    pub params: Vec<(String, String)>,
}

/// SSRCs that belong together (XEP-0339 / RFC 5576), e.g. `FID` = a stream and its
/// retransmissions: without it a peer's RTX stream looks like a second video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    pub semantics: String,
    pub ssrcs: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// One content (m= section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Jingle content name = SDP mid.
    pub name: String,
    pub kind: MediaKind,
    pub codecs: Vec<Codec>,
    pub header_extensions: Vec<HeaderExtension>,
    pub ssrcs: Vec<Ssrc>,
    pub ssrc_groups: Vec<SsrcGroup>,
    pub rtcp_mux: bool,
    pub direction: Direction,
    /// This content's own ICE/DTLS transport, for a peer that does not bundle (Dino:
    /// one transport per content). `None`: the description's shared transport.
    pub transport: Option<OwnTransport>,
}

/// The transport of a content that does not share the bundle's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnTransport {
    pub ice_ufrag: String,
    pub ice_pwd: String,
    pub fingerprint: Fingerprint,
    pub setup: Setup,
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    Host,
    Srflx,
    Prflx,
    Relay,
}

impl CandidateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::Srflx => "srflx",
            CandidateKind::Prflx => "prflx",
            CandidateKind::Relay => "relay",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "host" => CandidateKind::Host,
            "srflx" => CandidateKind::Srflx,
            "prflx" => CandidateKind::Prflx,
            "relay" => CandidateKind::Relay,
            _ => return None,
        })
    }
}

/// An ICE candidate (XEP-0176). `id`, `generation` and `network` are optional on the
/// wire; missing ones get defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    pub component: u16,
    pub protocol: String,
    pub priority: u32,
    pub ip: IpAddr,
    pub port: u16,
    pub kind: CandidateKind,
    pub related: Option<(IpAddr, u16)>,
    pub generation: u32,
}

// ---- values from the peer, before they are written into SDP --------------------
//
// Every string in a description can come from the peer's Jingle. Written into the SDP
// handed to webrtc-rs unchecked, a value holding CR LF (which survives XML attribute
// normalisation as `&#13;&#10;`) would add SDP lines of the peer's choosing, e.g.
// candidates that bypass the allow-list. Each value is checked against what its SDP
// field may hold, and a description with one that does not fit is refused.

/// Printable ASCII without space, none of `extra`, at most `max` bytes.
fn token_without(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !extra.contains(&b))
}

fn token(s: &str) -> bool {
    token_without(s, 256, &[])
}

/// ICE ufrag, password, foundation: RFC 8839 asks for `ice-char` (ALPHA, DIGIT, `+`,
/// `/`); any token is taken, since only what breaks the line matters here.
fn ice_chars(s: &str, max: usize) -> bool {
    token_without(s, max, &[])
}

fn refuse(what: &str, value: &str) -> MediaError {
    let shown: String = value.chars().take(40).collect();
    MediaError::Description(format!(
        "the peer's {what} is not a valid SDP value: {shown:?}"
    ))
}

fn check(ok: bool, what: &str, value: &str) -> Result<(), MediaError> {
    if ok {
        Ok(())
    } else {
        Err(refuse(what, value))
    }
}

fn check_transport(
    ufrag: &str,
    pwd: &str,
    fp: &Fingerprint,
    candidates: &[Candidate],
) -> Result<(), MediaError> {
    check(ice_chars(ufrag, 256), "ICE ufrag", ufrag)?;
    check(ice_chars(pwd, 256), "ICE password", pwd)?;
    check(token(&fp.hash), "fingerprint hash", &fp.hash)?;
    check(
        !fp.value.is_empty()
            && fp.value.len() <= 256
            && fp.value.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        "fingerprint",
        &fp.value,
    )?;
    candidates.iter().try_for_each(Candidate::check)
}

impl Candidate {
    /// Refuses a candidate whose strings cannot be written into SDP as they are.
    pub fn check(&self) -> Result<(), MediaError> {
        check(
            ice_chars(&self.foundation, 32),
            "candidate foundation",
            &self.foundation,
        )?;
        check(
            token_without(&self.protocol, 16, b";="),
            "candidate protocol",
            &self.protocol,
        )
    }

    /// The SDP `candidate:` attribute value (without `a=`).
    pub fn to_sdp(&self) -> String {
        let mut s = format!(
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.protocol,
            self.priority,
            self.ip,
            self.port,
            self.kind.as_str()
        );
        if let Some((ip, port)) = self.related {
            let _ = write!(s, " raddr {ip} rport {port}");
        }
        let _ = write!(s, " generation {}", self.generation);
        s
    }

    /// Parses `candidate:...` (with or without the prefix / `a=`).
    pub fn from_sdp(s: &str) -> Result<Candidate, MediaError> {
        let bad = || MediaError::Description(format!("bad candidate: {s}"));
        let s = s
            .trim()
            .trim_start_matches("a=")
            .trim_start_matches("candidate:");
        let f: Vec<&str> = s.split_whitespace().collect();
        let [foundation, component, protocol, priority, ip, port, typ, kind, rest @ ..] =
            f.as_slice()
        else {
            return Err(bad());
        };
        if *typ != "typ" {
            return Err(bad());
        }
        let mut c = Candidate {
            foundation: foundation.to_string(),
            component: component.parse().map_err(|_| bad())?,
            protocol: protocol.to_ascii_lowercase(),
            priority: priority.parse().map_err(|_| bad())?,
            ip: ip.parse().map_err(|_| bad())?,
            port: port.parse().map_err(|_| bad())?,
            kind: CandidateKind::parse(kind).ok_or_else(bad)?,
            related: None,
            generation: 0,
        };
        let (mut raddr, mut rport) = (None, None);
        for pair in rest.chunks_exact(2) {
            if let [key, value] = pair {
                match *key {
                    "raddr" => raddr = value.parse().ok(),
                    "rport" => rport = value.parse().ok(),
                    "generation" => c.generation = value.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        if let (Some(a), Some(p)) = (raddr, rport) {
            c.related = Some((a, p));
        }
        Ok(c)
    }
}

/// A whole description: transport parameters shared by all contents (Banter always
/// bundles; peers that do not are mapped to one-content bundles by the transport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub ice_ufrag: String,
    pub ice_pwd: String,
    pub fingerprint: Fingerprint,
    pub setup: Setup,
    /// Content names in the BUNDLE group; empty when the peer sent none.
    pub bundle: Vec<String>,
    pub contents: Vec<Content>,
    /// Candidates that came inside the description (non-trickle peers).
    pub candidates: Vec<Candidate>,
}

impl SessionDescription {
    /// Refuses a description holding a value (from the peer's Jingle) that cannot be
    /// written into SDP as it is: see the checks above `Candidate::check`.
    pub fn check(&self) -> Result<(), MediaError> {
        check_transport(
            &self.ice_ufrag,
            &self.ice_pwd,
            &self.fingerprint,
            &self.candidates,
        )?;
        for name in &self.bundle {
            check(token(name), "BUNDLE content name", name)?;
        }
        for c in &self.contents {
            check(token(&c.name), "content name", &c.name)?;
            if let Some(t) = &c.transport {
                check_transport(&t.ice_ufrag, &t.ice_pwd, &t.fingerprint, &t.candidates)?;
            }
            for k in &c.codecs {
                check(token_without(&k.name, 64, b"/"), "codec name", &k.name)?;
                for (key, value) in &k.fmtp {
                    check(token_without(key, 64, b";="), "fmtp name", key)?;
                    // A value-less parameter (RED's "111/111") is held with "" as its value.
                    check(
                        value.is_empty() || token_without(value, 256, b";"),
                        "fmtp value",
                        value,
                    )?;
                }
                for fb in &k.rtcp_fb {
                    check(token(&fb.kind), "rtcp-fb type", &fb.kind)?;
                    if let Some(sub) = &fb.subtype {
                        check(token(sub), "rtcp-fb subtype", sub)?;
                    }
                }
            }
            for h in &c.header_extensions {
                check(token(&h.uri), "header extension URI", &h.uri)?;
            }
            for g in &c.ssrc_groups {
                check(token(&g.semantics), "ssrc-group semantics", &g.semantics)?;
            }
            for ssrc in &c.ssrcs {
                for (key, value) in &ssrc.params {
                    check(token_without(key, 64, b":"), "ssrc parameter name", key)?;
                    // msid values hold a space: anything printable, no line break.
                    check(
                        value.len() <= 256
                            && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
                        "ssrc parameter",
                        value,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// The (first) video content.
    pub fn video(&self) -> Option<&Content> {
        self.contents.iter().find(|c| c.kind == MediaKind::Video)
    }

    pub fn video_mut(&mut self) -> Option<&mut Content> {
        self.contents
            .iter_mut()
            .find(|c| c.kind == MediaKind::Video)
    }

    /// Leaves out redundant audio (RED): from our offer to a peer not known to take
    /// it, and from a peer's description whose RED lacks its format line.
    pub fn without_red(&mut self) {
        for c in &mut self.contents {
            c.codecs.retain(|k| !k.is_red());
        }
    }

    /// Leaves out RED entries that do not say what their blocks are.
    pub fn without_unusable_red(&mut self) {
        for c in &mut self.contents {
            c.codecs.retain(|k| !k.is_red() || k.red_with_blocks());
        }
    }

    /// Whether the audio carries RED.
    pub fn has_red(&self) -> bool {
        self.contents
            .iter()
            .any(|c| c.kind == MediaKind::Audio && c.codecs.iter().any(Codec::is_red))
    }

    /// Whether some content has a transport of its own (an unbundled session).
    pub fn unbundled(&self) -> bool {
        self.contents.iter().any(|c| c.transport.is_some())
    }

    /// The description as the two connections of an unbundled session see it: the
    /// contents on the shared transport, and the first content with a transport of
    /// its own as a one-content description of that transport (a webrtc-rs connection
    /// has one transport). Contents on further transports of their own are left out:
    /// Banter puts only the video on one.
    pub fn split(&self) -> (SessionDescription, Option<SessionDescription>) {
        let mut main = self.clone();
        main.contents.retain(|c| c.transport.is_none());
        let names: Vec<&str> = main.contents.iter().map(|c| c.name.as_str()).collect();
        main.bundle.retain(|b| names.contains(&b.as_str()));
        let own = self.contents.iter().find_map(|c| {
            let t = c.transport.clone()?;
            let mut content = c.clone();
            content.transport = None;
            Some(SessionDescription {
                ice_ufrag: t.ice_ufrag,
                ice_pwd: t.ice_pwd,
                fingerprint: t.fingerprint,
                setup: t.setup,
                bundle: vec![content.name.clone()],
                contents: vec![content],
                candidates: t.candidates,
            })
        });
        (main, own)
    }

    /// The reverse of [`split`](Self::split): `own`'s contents join this description,
    /// each carrying `own`'s transport, and the description has no BUNDLE group (the
    /// peer that needs this knows no grouping).
    pub fn joined(mut self, own: Option<SessionDescription>) -> SessionDescription {
        let Some(own) = own else {
            return self;
        };
        let transport = OwnTransport {
            ice_ufrag: own.ice_ufrag,
            ice_pwd: own.ice_pwd,
            fingerprint: own.fingerprint,
            setup: own.setup,
            candidates: own.candidates,
        };
        for mut c in own.contents {
            c.transport = Some(transport.clone());
            self.contents.retain(|x| x.name != c.name);
            self.contents.push(c);
        }
        self.bundle.clear();
        self
    }
}

mod fingerprint;
mod sdp;
#[cfg(test)]
mod tests;
