//! What a session is told besides the descriptions: STUN/TURN servers, the allowed
//! address ranges, devices and files, processing and policies.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audio::echo::Processing;
use crate::audio::sink::SinkSpec;
use crate::audio::source::SourceSpec;
use crate::error::MediaError;
use crate::events::LatencyProbe;
use crate::video::io::{VideoSinkSpec, VideoSourceSpec};

/// A STUN or TURN server (XEP-0215 gives these per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp`
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// An address range, e.g. 127.0.0.0/8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, MediaError> {
        let bad =
            || MediaError::Transport(format!("invalid address range '{s}' (e.g. 127.0.0.0/8)"));
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse().map_err(|_| bad())?
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// Everything a session needs besides the descriptions.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    pub ice_servers: Vec<IceServer>,
    /// Only relay candidates: the local address never leaves the machine.
    pub relay_only: bool,
    /// Gather and accept candidates only in these ranges (empty: everywhere).
    pub allow: Vec<Cidr>,
    pub audio_in: SourceSpec,
    pub audio_out: SinkSpec,
    /// Capture processing for microphones (synthetic sources are sent as they are).
    pub processing: Processing,
    pub dtx: bool,
    /// Measures capture→playout latency between two sessions of one process.
    pub probe: Option<Arc<LatencyProbe>>,
    /// The video source (camera) used when video is sent.
    pub video_in: VideoSourceSpec,
    /// Send video from the start (a video call). Otherwise video starts with
    /// `add_video` or `set_camera`; video the peer offers is received either way.
    pub send_video: bool,
    /// Where received video goes.
    pub video_out: VideoSinkSpec,
    /// Video rides the audio's transport (BUNDLE). `false` for a peer that cannot
    /// bundle (Dino): the video then gets a connection (ICE, DTLS) of its own. A peer's
    /// offer with a transport per content is answered that way in any case.
    pub bundle: bool,
    /// Offer redundant audio (RED): the peer is known to take it (another Banter).
    /// A peer's offer with RED is answered with it either way.
    pub red: bool,
    /// How `turns:` servers (TURN over TLS) are verified: the same trust as the XMPP
    /// connection's (system roots and the account's CA file). Without it they are
    /// skipped.
    pub turn_tls: Option<Arc<rustls::ClientConfig>>,
}

impl MediaConfig {
    pub fn new(audio_in: SourceSpec, audio_out: SinkSpec) -> Self {
        MediaConfig {
            ice_servers: Vec::new(),
            relay_only: false,
            allow: Vec::new(),
            audio_in,
            audio_out,
            processing: Processing::default(),
            dtx: false,
            probe: None,
            video_in: VideoSourceSpec::None,
            send_video: false,
            video_out: VideoSinkSpec::Null,
            bundle: true,
            red: false,
            turn_tls: None,
        }
    }

    pub(crate) fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip))
    }
}
