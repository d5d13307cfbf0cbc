//! A call's media: a webrtc-rs peer connection (ICE, DTLS-SRTP, RTP) carrying one Opus
//! audio stream each way and, in video calls, one VP8 stream; the audio engine thread
//! that captures, processes, encodes, and on the other side de-jitters, decodes and
//! plays; and the video engine thread (video/engine.rs) that does the same for video.
//!
//! Descriptions go in and out typed (`description`); candidates trickle out as events
//! and may come in at any time (buffered until the remote description is set).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceConnectionState, RTCIceServer,
    RTCIceTransportPolicy, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder,
};

use crate::audio::codec::{Decoder, Encoder, MAX_PACKET};
use crate::audio::echo::{CapturePipeline, Processing};
use crate::audio::jitter::{JitterBuffer, Playout};
use crate::audio::sink::{NullSink, SinkSpec};
use crate::audio::source::{Silence, SourceSpec};
use crate::audio::{level_dbfs, FRAME};
use crate::description::{Candidate, CandidateKind, Direction, SessionDescription};
use crate::error::MediaError;
use crate::rtcp::VideoFeedback;
use crate::turn_tcp::TcpTurnBridge;
use crate::video::engine::{
    self as video_engine, EncodedFrame, RtcpRequest, VideoPacket, VideoShared,
};
use crate::video::io::{VideoSinkSpec, VideoSource, VideoSourceSpec};

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
        }
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip))
    }
}

/// Once-a-second figures of a call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    pub rtt_ms: Option<f32>,
    pub jitter_ms: f32,
    pub loss_pct: f32,
    pub send_kbps: f32,
    pub recv_kbps: f32,
    pub audio_packets_received: u64,
    pub audio_packets_sent: u64,
    pub audio_level_in: f32,
    pub audio_level_out: f32,
    pub candidate_pair: Option<CandidateKind>,
    pub fec_recovered: u64,
    pub concealed: u64,
    pub jitter_target_ms: u32,
    pub bitrate: i32,
    pub video: Option<VideoStats>,
}

/// Once-a-second video figures (present once video flows either way).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoStats {
    pub frames_sent: u64,
    pub frames_decoded: u64,
    /// Of the last picture decoded.
    pub width: u32,
    pub height: u32,
    /// Pictures decoded in the last second.
    pub fps: f32,
    pub send_kbps: f32,
    pub recv_kbps: f32,
    /// What the encoder aims at, from the peer's loss reports and REMB.
    pub target_kbps: u32,
    /// Keyframes we asked the peer for (PLI).
    pub keyframes_asked: u64,
    /// The send-side bandwidth estimate from the peer's transport-cc feedback (GCC),
    /// kbit/s; `None` when the peer sends no such feedback.
    pub estimate_kbps: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum MediaEvent {
    /// A local candidate to signal (trickle).
    LocalCandidate(Candidate),
    /// A local candidate of the video's own transport (unbundled sessions), to signal
    /// in the video content's transport.
    VideoCandidate(Candidate),
    /// Media flows (ICE and DTLS done); the selected pair's local candidate type.
    Connected {
        pair: Option<CandidateKind>,
    },
    Stats(CallStats),
    /// The session cannot go on.
    Failed(MediaError),
    /// A device failed; the call goes on (with silence in or no sound out).
    DeviceError(String),
    /// The first packet from the peer was decoded (once per session).
    AudioReceived,
    /// The first picture from the peer was decoded.
    VideoReceived {
        width: usize,
        height: usize,
    },
}

/// Capture instants by RTP timestamp on one side, looked up at playout on the other.
#[derive(Default, Debug)]
pub struct LatencyProbe {
    sent: Mutex<Vec<(u32, Instant)>>,
    samples: Mutex<Vec<f32>>,
}

impl LatencyProbe {
    fn on_capture(&self, ts: u32, at: Instant) {
        if let Ok(mut s) = self.sent.lock() {
            if s.len() >= 512 {
                s.remove(0);
            }
            s.push((ts, at));
        }
    }

    fn on_playout(&self, ts: u32) {
        let found = self
            .sent
            .lock()
            .ok()
            .and_then(|s| s.iter().find(|(t, _)| *t == ts).map(|(_, at)| *at));
        if let (Some(at), Ok(mut samples)) = (found, self.samples.lock()) {
            samples.push(at.elapsed().as_secs_f32() * 1000.0);
        }
    }

    /// All measured one-way latencies in ms.
    pub fn samples(&self) -> Vec<f32> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn median_ms(&self) -> Option<f32> {
        let mut s = self.samples();
        if s.is_empty() {
            return None;
        }
        s.sort_by(|a, b| a.total_cmp(b));
        s.get(s.len() / 2).copied()
    }
}

/// Counters the engine thread updates and the stats task reads.
#[derive(Default)]
struct Shared {
    connected: AtomicBool,
    stop: AtomicBool,
    muted: AtomicBool,
    /// On hold (XEP-0167 hold): nothing is sent and nothing is played.
    held: AtomicBool,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    packets_sent: AtomicU64,
    packets_received: AtomicU64,
    expected: AtomicU64,
    level_in: AtomicU32,
    level_out: AtomicU32,
    jitter_us: AtomicU64,
    fec: AtomicU64,
    concealed: AtomicU64,
    target_frames: AtomicU32,
    bitrate: AtomicU32,
    /// Latest loss fraction the peer reported about our stream (f32 bits), and a
    /// counter that moves with each report.
    remote_loss: AtomicU32,
    reports: AtomicU32,
    rtt_us: AtomicU32,
    processing: Mutex<Option<Processing>>,
    /// Devices to switch to at the next tick (opened on the engine thread: a cpal
    /// stream must stay on the thread that made it).
    switch_in: Mutex<Option<SourceSpec>>,
    switch_out: Mutex<Option<SinkSpec>>,
}

struct InPacket {
    seq: u16,
    ts: u32,
    payload: Vec<u8>,
    arrival: Instant,
}

struct OutPacket {
    ts: u32,
    payload: Bytes,
}

enum Internal {
    Candidate(RTCPeerConnectionIceEvent),
    State(RTCPeerConnectionState),
    Ice(RTCIceConnectionState),
    Track(Arc<dyn TrackRemote>),
}

struct Handler {
    tx: mpsc::UnboundedSender<Internal>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let _ = self.tx.send(Internal::Candidate(event));
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(Internal::State(state));
    }
    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let _ = self.tx.send(Internal::Ice(state));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(Internal::Track(track));
    }
}

/// Which of a session's connections: the main one (audio, and everything when
/// bundled) or the video's own (for a peer that does not bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Main,
    Video,
}

/// One webrtc-rs connection, i.e. one ICE/DTLS transport.
struct Link {
    pc: Arc<dyn PeerConnection>,
    remote_set: Mutex<bool>,
    /// Remote candidates that came before the remote description.
    pending: Mutex<Vec<Candidate>>,
    /// Our offer waits for the peer's answer.
    offering: AtomicBool,
    /// The last negotiation was the peer's offer and our answer.
    answerer: AtomicBool,
    /// The peer's part of the description last applied (without candidates): a
    /// re-offer that leaves it as it was (video added on the other connection) is not
    /// applied again.
    remote: Mutex<Option<SessionDescription>>,
    /// Our content's name where the signaled one differs from the SDP mid webrtc-rs
    /// chose: (mid, name). A second connection's first mid is "0" like the first's.
    rename: Mutex<Option<(String, String)>>,
}

impl Link {
    fn new(pc: Arc<dyn PeerConnection>) -> Link {
        Link {
            pc,
            remote_set: Mutex::new(false),
            pending: Mutex::new(Vec::new()),
            offering: AtomicBool::new(false),
            answerer: AtomicBool::new(false),
            remote: Mutex::new(None),
            rename: Mutex::new(None),
        }
    }

    fn rename(&self, d: &mut SessionDescription, to_signaled: bool) {
        let Some((mid, name)) = self.rename.lock().ok().and_then(|r| r.clone()) else {
            return;
        };
        let (from, to) = if to_signaled {
            (mid, name)
        } else {
            (name, mid)
        };
        for c in d.contents.iter_mut().filter(|c| c.name == from) {
            c.name = to.clone();
        }
        for b in d.bundle.iter_mut().filter(|b| **b == from) {
            *b = to.clone();
        }
    }

    async fn local(&self) -> Result<SessionDescription, MediaError> {
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| MediaError::Transport("no local description".into()))?;
        let mut d = SessionDescription::from_sdp(&local.sdp)?;
        // Candidates are signaled one by one (trickle), after the user accepted.
        d.candidates.clear();
        self.rename(&mut d, true);
        Ok(d)
    }

    /// Creates our offer (DTLS `actpass`); candidates follow as events.
    async fn offer(&self) -> Result<SessionDescription, MediaError> {
        let offer = self.pc.create_offer(None).await.map_err(transport_err)?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(transport_err)?;
        self.offering.store(true, Ordering::Release);
        self.answerer.store(false, Ordering::Release);
        self.local().await
    }

    /// Takes the peer's offer (its part for this connection) and returns our answer.
    async fn answer(
        &self,
        remote: &SessionDescription,
        allowed: impl Fn(&Candidate) -> bool,
    ) -> Result<SessionDescription, MediaError> {
        self.set_remote(remote, true, allowed).await?;
        let answer = self.pc.create_answer(None).await.map_err(transport_err)?;
        self.pc
            .set_local_description(answer)
            .await
            .map_err(transport_err)?;
        self.answerer.store(true, Ordering::Release);
        self.local().await
    }

    /// Whether `remote` is what this connection has already applied.
    fn unchanged(&self, remote: &SessionDescription) -> bool {
        let mut r = remote.clone();
        r.candidates.clear();
        self.remote
            .lock()
            .is_ok_and(|last| last.as_ref() == Some(&r))
    }

    /// Applies the peer's description (offer or answer), with candidates outside the
    /// allowed ranges left out, then the candidates that arrived before it.
    async fn set_remote(
        &self,
        remote: &SessionDescription,
        offer: bool,
        allowed: impl Fn(&Candidate) -> bool,
    ) -> Result<(), MediaError> {
        let mut r = remote.clone();
        r.candidates.retain(|c| allowed(c));
        self.rename(&mut r, false);
        let sdp = r.to_sdp();
        let desc = if offer {
            RTCSessionDescription::offer(sdp)
        } else {
            RTCSessionDescription::answer(sdp)
        };
        let bad = |e: &dyn std::fmt::Display| MediaError::Description(e.to_string());
        let desc = desc.map_err(|e| bad(&e))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| bad(&e))?;
        if let Ok(mut last) = self.remote.lock() {
            let mut r = remote.clone();
            r.candidates.clear();
            *last = Some(r);
        }
        let pending = {
            let mut set = self.remote_set.lock().unwrap_or_else(|e| e.into_inner());
            *set = true;
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
        };
        for c in pending {
            self.add_now(c).await;
        }
        Ok(())
    }

    /// A remote candidate: applied now, or kept until the remote description is set.
    async fn add_candidate(&self, c: Candidate) {
        {
            let set = self.remote_set.lock().unwrap_or_else(|e| e.into_inner());
            if !*set {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(c);
                return;
            }
        }
        self.add_now(c).await;
    }

    async fn add_now(&self, c: Candidate) {
        let init = webrtc::peer_connection::RTCIceCandidateInit {
            candidate: c.to_sdp(),
            sdp_mid: Some(String::new()),
            sdp_mline_index: Some(0),
            username_fragment: None,
            url: None,
        };
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            tracing::info!(error = %e, "remote candidate refused");
        }
    }

    /// Takes back our pending offer.
    async fn rollback(&self) {
        self.offering.store(false, Ordering::Release);
        match RTCSessionDescription::rollback(None) {
            Ok(rollback) => {
                if let Err(e) = self.pc.set_local_description(rollback).await {
                    tracing::info!(error = %e, "offer not rolled back");
                }
            }
            Err(e) => tracing::info!(error = %e, "offer not rolled back"),
        }
    }
}

pub struct MediaSession {
    main: Link,
    /// The video's own connection, when the peer does not bundle (Dino).
    video_link: Mutex<Option<Arc<Link>>>,
    /// Video goes on a connection of its own.
    separate: Arc<AtomicBool>,
    /// Candidates for the video's own connection that came before it existed.
    early_video_candidates: Mutex<Vec<Candidate>>,
    /// The camera of a video call, opened, its track added with the first offer or
    /// answer: only the peer's offer tells whether the video rides the bundle.
    initial_video: Mutex<Option<VideoSource>>,
    /// What a further connection is built with: the servers (TURN/TCP already bridged)
    /// and where its events and packets go.
    ice_servers: Vec<RTCIceServer>,
    receivers: Receivers,
    events: mpsc::UnboundedSender<MediaEvent>,
    audio_ssrc: u32,
    config: MediaConfig,
    shared: Arc<Shared>,
    video: Arc<VideoShared>,
    video_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    feedback: Arc<VideoFeedback>,
    /// The video thread's encoded frames, read by the writer of the video track (one
    /// at a time: a track on a connection that is closed gives them to the next).
    video_frames: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<EncodedFrame>>>,
    /// The video track's writer, once there is a track.
    video_writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Hands the video thread a source opened during the call.
    video_switch: Mutex<std_mpsc::Sender<VideoSource>>,
    /// The camera to use (changed by the camera picker during the call).
    video_in: Mutex<VideoSourceSpec>,
    /// The peer's video payload types, for routing its packets (see `receive_track`).
    video_pts: Arc<std::sync::RwLock<Vec<u8>>>,
    engine: Mutex<Option<std::thread::JoinHandle<()>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// TURN-over-TCP bridges, alive as long as the session.
    _turn_bridges: Vec<TcpTurnBridge>,
}

/// The servers as webrtc-rs takes them, with each `turn:…?transport=tcp` URL (which
/// webrtc-rs would skip) replaced by a local [`TcpTurnBridge`] to that server.
async fn bridge_tcp_turn(servers: &[IceServer]) -> (Vec<RTCIceServer>, Vec<TcpTurnBridge>) {
    let mut bridges = Vec::new();
    let mut out = Vec::new();
    for s in servers {
        let mut urls = Vec::new();
        for url in &s.urls {
            let Some(target) = url
                .strip_prefix("turn:")
                .and_then(|u| u.strip_suffix("?transport=tcp"))
            else {
                urls.push(url.clone());
                continue;
            };
            let addr = match tokio::net::lookup_host(target).await {
                Ok(mut addrs) => addrs.find(|a| a.is_ipv4()),
                Err(e) => {
                    tracing::warn!("TURN server {target}: {e}");
                    None
                }
            };
            let Some(addr) = addr else { continue };
            match TcpTurnBridge::start(addr).await {
                Ok(b) => {
                    urls.push(format!("turn:{}?transport=udp", b.local));
                    bridges.push(b);
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
        if !urls.is_empty() {
            out.push(RTCIceServer {
                urls,
                username: s.username.clone(),
                credential: s.credential.clone(),
            });
        }
    }
    (out, bridges)
}

/// The local addresses to bind. webrtc-rs has no address filter: the bound sockets
/// decide which host candidates exist. Without an allow-list, the wildcard (all
/// interfaces but loopback); with one, each local IPv4 address inside it (loopback
/// included, which a wildcard bind would skip).
fn bind_addrs(config: &MediaConfig) -> Vec<String> {
    if config.allow.is_empty() {
        return vec!["0.0.0.0:0".to_string()];
    }
    let mut addrs: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .iter()
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() && config.allowed(*ip))
        .map(|ip| format!("{ip}:0"))
        .collect();
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        // No interface in the allowed ranges: a loopback socket (which can only reach
        // this machine, or a TURN server on it) rather than none, which would fail.
        addrs.push("127.0.0.1:0".to_string());
    }
    addrs
}

fn transport_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Transport(e.to_string())
}

/// A webrtc-rs connection with our codecs, feedback and ICE settings. `quiet`: its
/// bandwidth estimate is not the video's (see `ReportingEstimator`).
async fn connection(
    config: &MediaConfig,
    ice_servers: Vec<RTCIceServer>,
    feedback: &Arc<VideoFeedback>,
    quiet: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Internal>,
) -> Result<Arc<dyn PeerConnection>, MediaError> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )
    .map_err(transport_err)?;
    // VP8 with the feedback Conversations and Dino both speak; registered before the
    // default interceptors, which add their feedback only to codecs already there.
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8_codec(),
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )
    .map_err(transport_err)?;
    // The defaults answer transport-cc (they send the peer feedback about what
    // arrives). Send-side estimation on the peer's feedback is added here: the
    // transport-wide sequence numbers and GCC, without webrtc-rs' pacer (it would
    // queue audio behind video frames).
    let registry = register_default_interceptors(Registry::new(), &mut me)
        .map_err(transport_err)?
        .with(
            rtc::interceptor::Slot::CongestionControl,
            rtc::interceptor::CongestionControlBuilder::new(crate::rtcp::ReportingEstimator::new(
                feedback.clone(),
                quiet,
            ))
            .build(),
        )
        .with(
            rtc::interceptor::Slot::TwccSender,
            rtc::interceptor::TwccSenderBuilder::new().build(),
        )
        .with(
            rtc::interceptor::Slot::from(14_000),
            crate::rtcp::DeliverRtcp::new(feedback.clone()),
        );
    let mut rtc_config = RTCConfigurationBuilder::new().with_ice_servers(ice_servers);
    if config.relay_only {
        rtc_config = rtc_config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    let mut setting = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_timeouts(
            Some(Duration::from_secs(5)),
            Some(Duration::from_secs(15)),
            Some(Duration::from_secs(1)),
        )
        // Checks every 50 ms instead of 200 ms while connecting (call setup time),
        // with as many attempts as keep a pair alive for ~2 s as before.
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(40))
        // A peer-reflexive candidate is nearly always the peer's host candidate
        // whose transport-info lost the race with its first check (browsers check
        // at once): waiting the default second for "something better" only
        // delays the call.
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO));
    if config.relay_only {
        // Nothing better than a relay will come: no need to wait for one.
        setting = setting.with_relay_acceptance_min_wait(Some(Duration::ZERO));
    }
    let setting = setting.build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(rtc_config.build())
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting)
        .with_handler(Arc::new(Handler { tx: events }))
        .with_udp_addrs(bind_addrs(config))
        .build()
        .await
        .map_err(transport_err)?;
    Ok(Arc::new(pc))
}

impl MediaSession {
    /// Builds the peer connection and starts the audio engine (it sends once media
    /// flows). Events arrive on `events`.
    pub async fn new(
        config: MediaConfig,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<MediaSession, MediaError> {
        let feedback = Arc::new(VideoFeedback::default());
        let separate = Arc::new(AtomicBool::new(!config.bundle));
        let (ice_servers, turn_bridges) = bridge_tcp_turn(&config.ice_servers).await;
        let (itx, irx) = mpsc::unbounded_channel();
        let pc = connection(
            &config,
            ice_servers.clone(),
            &feedback,
            separate.clone(),
            itx,
        )
        .await?;

        let ssrc: u32 = rand::random();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "banter".to_owned(),
            "audio".to_owned(),
            "audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: RTCRtpCodec {
                    mime_type: MIME_TYPE_OPUS.to_owned(),
                    clock_rate: 48_000,
                    channels: 2,
                    sdp_fmtp_line: String::new(),
                    rtcp_feedback: vec![],
                },
                ..Default::default()
            }],
        )));
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(transport_err)?;

        // The camera is opened before anything is offered: without one the call is an
        // audio call, said so, rather than a video call with nothing in it.
        let video = Arc::new(VideoShared::default());
        let mut video_source = None;
        if config.send_video {
            match config
                .video_in
                .open(video_engine::WIDTH, video_engine::HEIGHT, video_engine::FPS)
            {
                Ok(src) if !config.video_in.is_none() => {
                    video.source_open.store(true, Ordering::Relaxed);
                    video_source = Some(src);
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = events.send(MediaEvent::DeviceError(format!(
                        "{e}: the call goes on without video"
                    )));
                }
            }
        }
        let (vout_tx, vout_rx) = mpsc::unbounded_channel::<EncodedFrame>();
        // Bounded: a peer sending faster than the video thread decodes costs dropped
        // packets (a keyframe request follows), not memory.
        let (vin_tx, vin_rx) = std_mpsc::sync_channel::<VideoPacket>(VIDEO_IN_QUEUE);
        let (rtcp_tx, rtcp_rx) = mpsc::unbounded_channel::<RtcpRequest>();
        let (switch_tx, switch_rx) = std_mpsc::channel::<VideoSource>();
        let mut tasks = Vec::new();
        let video_pts: Arc<std::sync::RwLock<Vec<u8>>> = Default::default();
        let video_thread = {
            let t = video_engine::VideoThread {
                source: None,
                sink: config.video_out.clone(),
                shared: video.clone(),
                feedback: feedback.clone(),
                out: vout_tx,
                incoming: vin_rx,
                switch: switch_rx,
                rtcp: rtcp_tx,
                events: events.clone(),
            };
            let events_v = events.clone();
            std::thread::Builder::new()
                .name("banter-video".into())
                .spawn(move || guarded("video engine", &events_v, move || video_engine::run(t)))
                .map_err(|e| MediaError::Device(e.to_string()))?
        };
        let shared = Arc::new(Shared::default());
        let (out_tx, out_rx) = mpsc::unbounded_channel::<OutPacket>();
        let (in_tx, in_rx) = std_mpsc::sync_channel::<InPacket>(AUDIO_IN_QUEUE);

        let engine = {
            let config = config.clone();
            let shared = shared.clone();
            let events = events.clone();
            std::thread::Builder::new()
                .name("banter-audio".into())
                .spawn(move || {
                    let guard = events.clone();
                    guarded("audio engine", &guard, move || {
                        run_engine(config, shared, out_tx, in_rx, events)
                    })
                })
                .map_err(|e| MediaError::Device(e.to_string()))?
        };

        // Writer: RTP packets from the engine to the track.
        {
            let shared = shared.clone();
            let sender = sender.clone();
            tasks.push(tokio::spawn(async move {
                write_rtp(out_rx, track, sender, ssrc, shared).await;
            }));
        }
        let current_video: CurrentVideo = Arc::new(Mutex::new(None));
        tasks.push(tokio::spawn(send_video_feedback(
            rtcp_rx,
            current_video.clone(),
            ssrc,
        )));
        let receivers = Receivers {
            audio: in_tx,
            video: vin_tx,
            state: video.clone(),
            current_video,
            video_pts: video_pts.clone(),
            separate: separate.clone(),
        };
        // Events from webrtc-rs.
        tasks.push(spawn_guarded(
            "media transport",
            events.clone(),
            drive(
                irx,
                pc.clone(),
                Role::Main,
                config.clone(),
                shared.clone(),
                receivers.clone(),
                events.clone(),
                ssrc,
            ),
        ));
        // Stats once a second.
        {
            let pc = pc.clone();
            let shared = shared.clone();
            let video = video.clone();
            let feedback_for_stats = feedback.clone();
            let events = events.clone();
            tasks.push(tokio::spawn(async move {
                stats_loop(pc, shared, video, feedback_for_stats, events).await
            }));
        }
        let video_in = config.video_in.clone();
        let session = MediaSession {
            main: Link::new(pc),
            video_link: Mutex::new(None),
            separate,
            early_video_candidates: Mutex::new(Vec::new()),
            initial_video: Mutex::new(video_source),
            ice_servers,
            receivers,
            events,
            audio_ssrc: ssrc,
            config,
            shared,
            video,
            video_thread: Mutex::new(Some(video_thread)),
            feedback,
            video_frames: Arc::new(tokio::sync::Mutex::new(vout_rx)),
            video_writer: Mutex::new(None),
            video_switch: Mutex::new(switch_tx),
            video_in: Mutex::new(video_in),
            video_pts,
            engine: Mutex::new(Some(engine)),
            tasks: Mutex::new(tasks),
            _turn_bridges: turn_bridges,
        };
        Ok(session)
    }

    /// Whether the video has a connection of its own (the peer does not bundle).
    pub fn video_unbundled(&self) -> bool {
        self.separate.load(Ordering::Acquire)
    }

    /// The video's own connection, made now if there is none yet.
    async fn video_link(&self) -> Result<Arc<Link>, MediaError> {
        if let Some(l) = self.video_link.lock().ok().and_then(|l| l.clone()) {
            return Ok(l);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let pc = connection(
            &self.config,
            self.ice_servers.clone(),
            &self.feedback,
            Arc::new(AtomicBool::new(false)),
            tx,
        )
        .await?;
        let link = Arc::new(Link::new(pc.clone()));
        // Video waits for its own connection (the main one may be up already).
        self.video.connected.store(false, Ordering::Release);
        let task = spawn_guarded(
            "video transport",
            self.events.clone(),
            drive(
                rx,
                pc,
                Role::Video,
                self.config.clone(),
                self.shared.clone(),
                self.receivers.clone(),
                self.events.clone(),
                self.audio_ssrc,
            ),
        );
        if let Ok(mut t) = self.tasks.lock() {
            t.push(task);
        }
        let early = self
            .early_video_candidates
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        for c in early {
            link.add_candidate(c).await;
        }
        if let Ok(mut l) = self.video_link.lock() {
            *l = Some(link.clone());
        }
        Ok(link)
    }

    fn current_video_link(&self) -> Option<Arc<Link>> {
        self.video_link.lock().ok().and_then(|l| l.clone())
    }

    /// The connection that carries the video when it is not the main one.
    fn separate_video_link(&self) -> Option<Arc<Link>> {
        self.current_video_link().filter(|_| self.video_unbundled())
    }

    /// Adds the video call's camera track, once it is known where it goes.
    async fn start_initial_video(&self) -> Result<(), MediaError> {
        let source = self.initial_video.lock().ok().and_then(|mut v| v.take());
        match source {
            Some(source) => self.start_video_track(source).await,
            None => Ok(()),
        }
    }

    /// Creates our offer (DTLS `actpass`); candidates follow as events. With the video
    /// on a connection of its own, the video content carries that connection's
    /// transport, and a re-offer (video added) leaves the main connection as it is.
    pub async fn create_offer(&self) -> Result<SessionDescription, MediaError> {
        self.start_initial_video().await?;
        let video_link = self.current_video_link();
        let main = match &video_link {
            Some(_) if self.main.pc.local_description().await.is_some() => {
                self.main.local().await?
            }
            _ => self.main.offer().await?,
        };
        let own = match video_link {
            Some(link) => {
                let mut own = link.offer().await?;
                // The second connection names its first content like the first one
                // ("0"): signaled under a name of its own.
                let taken = |n: &str| main.contents.iter().any(|c| c.name == n);
                if let Some(c) = own.contents.first_mut().filter(|c| taken(&c.name)) {
                    let name = (1..)
                        .map(|i: u32| i.to_string())
                        .find(|n| !taken(n))
                        .unwrap_or_else(|| "video".into());
                    if let Ok(mut r) = link.rename.lock() {
                        *r = Some((c.name.clone(), name.clone()));
                    }
                    own.bundle = vec![name.clone()];
                    c.name = name;
                }
                Some(own)
            }
            None => None,
        };
        Ok(main.joined(own))
    }

    /// Takes the peer's offer and returns our answer. A video content with a
    /// transport of its own (Dino) goes to a connection of its own.
    pub async fn accept_offer(
        &self,
        remote: &SessionDescription,
    ) -> Result<SessionDescription, MediaError> {
        self.learn_video_pts(remote);
        let (main_r, own_r) = remote.split();
        // The offer decides where its video goes, whatever the peer's caps said.
        if own_r.is_some() {
            self.separate.store(true, Ordering::Release);
        } else if main_r.video().is_some() && self.current_video_link().is_none() {
            self.separate.store(false, Ordering::Release);
        }
        self.start_initial_video().await?;
        if remote.video().is_some() && !self.sends_video() {
            // Our side of the video content, camera off until the user turns it on: the
            // content stays send-and-receive, so no direction change is needed later.
            self.video.camera_off.store(true, Ordering::Relaxed);
            let black = VideoSource::Black(crate::video::I420::new(
                video_engine::WIDTH,
                video_engine::HEIGHT,
            ));
            self.start_video_track(black).await?;
        }
        let ok = |c: &Candidate| self.candidate_ok(c);
        let main = if self.main.unchanged(&main_r) {
            self.main.local().await?
        } else {
            self.main.answer(&main_r, ok).await?
        };
        let own = match own_r {
            Some(v) => Some(self.video_link().await?.answer(&v, ok).await?),
            None => None,
        };
        self.check_video_direction().await;
        Ok(main.joined(own))
    }

    /// Takes the peer's answer to our offer.
    pub async fn accept_answer(&self, remote: &SessionDescription) -> Result<(), MediaError> {
        self.learn_video_pts(remote);
        let (main_r, own_r) = remote.split();
        let ok = |c: &Candidate| self.candidate_ok(c);
        if self.main.offering.swap(false, Ordering::AcqRel) {
            self.main.set_remote(&main_r, false, ok).await?;
        }
        if let (Some(v), Some(link)) = (own_r, self.current_video_link()) {
            if link.offering.swap(false, Ordering::AcqRel) {
                link.set_remote(&v, false, ok).await?;
            }
        }
        self.check_video_direction().await;
        Ok(())
    }

    /// Sends video only where both sides agreed on it: our side sends and the peer's
    /// receives (an answer to a one-way video receives only, and sends nothing until
    /// the direction changes).
    async fn check_video_direction(&self) {
        let separate = self.separate_video_link();
        let link: &Link = separate.as_deref().unwrap_or(&self.main);
        let video_dir = |d: &SessionDescription| d.video().map(|c| c.direction);
        let ours = link.local().await.ok().as_ref().and_then(video_dir);
        let theirs = link
            .remote
            .lock()
            .ok()
            .and_then(|r| r.as_ref().and_then(video_dir));
        let (Some(ours), Some(theirs)) = (ours, theirs) else {
            return;
        };
        let we_send = matches!(ours, Direction::SendRecv | Direction::SendOnly);
        let they_take = matches!(theirs, Direction::SendRecv | Direction::RecvOnly);
        tracing::debug!(?ours, ?theirs, "video direction");
        self.video
            .may_not_send
            .store(!(we_send && they_take), Ordering::Relaxed);
    }

    /// The peer's side of the video changed direction (Jingle content-modify, which
    /// carries no description): the video's connection is renegotiated locally, the
    /// peer's description as agreed with the new direction standing in for a new one
    /// from it. Used when our camera joins a video the peer sends one way (Dino turns
    /// its camera on with senders = its own role).
    pub async fn set_video_direction(&self, peer: Direction) -> Result<(), MediaError> {
        let separate = self.separate_video_link();
        let link: &Link = separate.as_deref().unwrap_or(&self.main);
        let no_video = || MediaError::Description("no video agreed yet".into());
        let mut remote = link
            .remote
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .ok_or_else(no_video)?;
        let video = remote.video_mut().ok_or_else(no_video)?;
        if video.direction == peer {
            return Ok(());
        }
        video.direction = peer;
        if matches!(peer, Direction::SendRecv | Direction::RecvOnly) {
            // An answer that received only left the transceiver so; we send again.
            use rtc::rtp_transceiver::RTCRtpTransceiverDirection as D;
            for t in link.pc.get_transceivers().await {
                if matches!(t.direction().await, Ok(D::Recvonly | D::Inactive)) {
                    if let Err(e) = t.set_direction(D::Sendrecv).await {
                        tracing::info!(error = %e, "transceiver direction unchanged");
                    }
                }
            }
        }
        let ok = |c: &Candidate| self.candidate_ok(c);
        if link.answerer.load(Ordering::Acquire) {
            link.answer(&remote, ok).await?;
        } else {
            link.offer().await?;
            link.offering.store(false, Ordering::Release);
            link.set_remote(&remote, false, ok).await?;
        }
        self.check_video_direction().await;
        Ok(())
    }

    /// The peer's video payload types, for routing its packets.
    fn learn_video_pts(&self, remote: &SessionDescription) {
        if let Ok(mut pts) = self.video_pts.write() {
            *pts = remote
                .contents
                .iter()
                .filter(|c| c.kind == crate::description::MediaKind::Video)
                .flat_map(|c| c.codecs.iter().map(|k| k.payload_type))
                .collect();
        }
    }

    fn candidate_ok(&self, c: &Candidate) -> bool {
        c.protocol == "udp" && self.config.allowed(c.ip)
    }

    /// A remote candidate: applied now, or kept until the remote description is set.
    pub async fn add_remote_candidate(&self, c: Candidate) {
        if !self.candidate_ok(&c) {
            tracing::debug!(candidate = %c.to_sdp(), "remote candidate outside the allowed ranges");
            return;
        }
        self.main.add_candidate(c).await;
    }

    /// A remote candidate of the video's own transport (a peer that does not bundle).
    pub async fn add_remote_video_candidate(&self, c: Candidate) {
        if !self.candidate_ok(&c) {
            tracing::debug!(candidate = %c.to_sdp(), "remote candidate outside the allowed ranges");
            return;
        }
        match self.current_video_link() {
            Some(link) => link.add_candidate(c).await,
            None => {
                if let Ok(mut e) = self.early_video_candidates.lock() {
                    e.push(c);
                }
            }
        }
    }

    /// Sends silence instead of the captured audio.
    /// Puts the call on hold (silence both ways) or takes it off.
    pub fn set_held(&self, held: bool) {
        self.shared.held.store(held, Ordering::Relaxed);
    }

    pub fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Ordering::Relaxed);
    }

    /// Switches what is sent (another microphone, a file, …) during the call. A device
    /// that cannot be opened is reported (`DeviceError`) and the current one kept.
    pub fn set_audio_in(&self, spec: SourceSpec) {
        if let Ok(mut slot) = self.shared.switch_in.lock() {
            *slot = Some(spec);
        }
    }

    /// Switches where received audio goes during the call.
    pub fn set_audio_out(&self, spec: SinkSpec) {
        if let Ok(mut slot) = self.shared.switch_out.lock() {
            *slot = Some(spec);
        }
    }

    /// Switches echo cancellation / noise suppression / gain control live.
    pub fn set_processing(&self, p: Processing) {
        if let Ok(mut slot) = self.shared.processing.lock() {
            *slot = Some(p);
        }
    }

    /// Camera off: black pictures are sent instead, five a second (the stream and the
    /// peer's decoder stay alive, as libwebrtc does it). On: the configured source,
    /// opened now if it was not yet (a camera is only opened when the user wants it).
    pub fn set_camera(&self, on: bool) -> Result<(), MediaError> {
        if on && !self.video.source_open.load(Ordering::Relaxed) {
            let source = self.open_video()?;
            if let Ok(s) = self.video_switch.lock() {
                let _ = s.send(source);
            }
            self.video.source_open.store(true, Ordering::Relaxed);
        }
        self.video.camera_off.store(!on, Ordering::Relaxed);
        Ok(())
    }

    /// Whether this session sends video.
    pub fn sends_video(&self) -> bool {
        self.video.sending.load(Ordering::Relaxed)
            || self.initial_video.lock().is_ok_and(|v| v.is_some())
    }

    /// Starts sending video during a call (Jingle content-add): opens the configured
    /// source, adds the track, and returns the new offer, whose video content is the
    /// one to add. A camera that cannot be opened is an error and changes nothing.
    pub async fn add_video(&self) -> Result<SessionDescription, MediaError> {
        let source = self.open_video()?;
        self.start_video_track(source).await?;
        self.video.source_open.store(true, Ordering::Relaxed);
        self.video.camera_off.store(false, Ordering::Relaxed);
        self.create_offer().await
    }

    /// The peer removed the video (Jingle content-remove): the camera is off, and a
    /// video on a connection of its own loses that connection, so that video added
    /// again (with new ICE credentials) gets a new one.
    pub async fn remove_video(&self) {
        self.video.camera_off.store(true, Ordering::Relaxed);
        let Some(link) = self.separate_video_link() else {
            return;
        };
        if let Some(w) = self.video_writer.lock().ok().and_then(|mut w| w.take()) {
            w.abort();
        }
        if let Ok(mut l) = self.video_link.lock() {
            *l = None;
        }
        self.video.sending.store(false, Ordering::Relaxed);
        self.video.connected.store(false, Ordering::Release);
        if let Ok(mut e) = self.early_video_candidates.lock() {
            e.clear();
        }
        let _ = link.pc.close().await;
    }

    /// The peer refused the video we offered (content-reject): our pending offer is
    /// rolled back and the camera turned off, so the call goes on as before.
    pub async fn cancel_video_offer(&self) {
        self.video.camera_off.store(true, Ordering::Relaxed);
        match self.current_video_link() {
            Some(link) => link.rollback().await,
            None => self.main.rollback().await,
        }
    }

    fn open_video(&self) -> Result<VideoSource, MediaError> {
        let spec = self.video_in.lock().map(|s| s.clone()).unwrap_or_default();
        if spec.is_none() {
            return Err(MediaError::NoCamera(
                " (video is turned off in the settings)".into(),
            ));
        }
        spec.open(video_engine::WIDTH, video_engine::HEIGHT, video_engine::FPS)
    }

    /// Another camera: used from now on, and switched to at once when the camera is
    /// sending. A camera that cannot be opened is an error and the current one stays.
    pub fn set_video_in(&self, spec: VideoSourceSpec) -> Result<(), MediaError> {
        let old = self
            .video_in
            .lock()
            .map(|mut s| std::mem::replace(&mut *s, spec))
            .ok();
        if self.video.source_open.load(Ordering::Relaxed) {
            match self.open_video() {
                Ok(source) => {
                    if let Ok(s) = self.video_switch.lock() {
                        let _ = s.send(source);
                    }
                }
                Err(e) => {
                    if let (Some(old), Ok(mut s)) = (old, self.video_in.lock()) {
                        *s = old;
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn start_video_track(&self, source: VideoSource) -> Result<(), MediaError> {
        if self.video_writer.lock().is_ok_and(|w| w.is_some()) {
            return Ok(()); // already sending
        }
        let pc = if self.video_unbundled() {
            self.video_link().await?.pc.clone()
        } else {
            self.main.pc.clone()
        };
        let task = add_video_track(
            &pc,
            &self.feedback,
            self.video_frames.clone(),
            self.video.clone(),
        )
        .await?;
        if let Ok(mut w) = self.video_writer.lock() {
            *w = Some(task);
        }
        if let Ok(s) = self.video_switch.lock() {
            let _ = s.send(source);
        }
        Ok(())
    }

    /// Ends the session: stops the engine (finishing a WAV recording) and closes the
    /// peer connection (which frees its sockets and tasks).
    pub async fn close(self) {
        self.shared.stop.store(true, Ordering::Release);
        let engine = self.engine.lock().ok().and_then(|mut e| e.take());
        if let Some(h) = engine {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        self.video.stop.store(true, Ordering::Release);
        let video = self.video_thread.lock().ok().and_then(|mut e| e.take());
        if let Some(h) = video {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Some(link) = self.current_video_link() {
            let _ = link.pc.close().await;
        }
        let _ = self.main.pc.close().await;
        if let Some(w) = self.video_writer.lock().ok().and_then(|mut w| w.take()) {
            w.abort();
        }
        for t in self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
        {
            t.abort();
        }
    }
}

/// VP8 as we register and offer it.
fn vp8_codec() -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![
            fb("goog-remb", ""),
            fb("ccm", "fir"),
            fb("nack", ""),
            fb("nack", "pli"),
        ],
    }
}

/// Adds our video track to the connection and starts its RTP writer.
async fn add_video_track(
    pc: &Arc<dyn PeerConnection>,
    feedback: &VideoFeedback,
    frames: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<EncodedFrame>>>,
    video: Arc<VideoShared>,
) -> Result<tokio::task::JoinHandle<()>, MediaError> {
    let ssrc: u32 = rand::random::<u32>().max(1);
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "banter".to_owned(),
        "video".to_owned(),
        "video".to_owned(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: vp8_codec(),
            ..Default::default()
        }],
    )));
    let sender = pc
        .add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(transport_err)?;
    feedback.ssrc.store(ssrc, Ordering::Relaxed);
    video.sending.store(true, Ordering::Relaxed);
    Ok(tokio::spawn(async move {
        write_video_rtp(frames, track, sender, ssrc).await;
    }))
}

/// The payload type the peer and we agreed on for a sender's codec.
async fn negotiated_pt(sender: &Arc<dyn webrtc::rtp_transceiver::RtpSender>) -> Option<u8> {
    sender
        .get_parameters()
        .await
        .ok()
        .and_then(|p| p.rtp_parameters.codecs.first().map(|c| c.payload_type))
}

/// Packetizes encoded VP8 frames (RFC 7741, with picture ids) onto the video track.
async fn write_video_rtp(
    frames: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<EncodedFrame>>>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ssrc: u32,
) {
    use rtc::rtp::packetizer::Payloader;
    let mut payloader = rtc::rtp::codec::vp8::Vp8Payloader::default();
    payloader.enable_picture_id = true;
    let mut pt: Option<u8> = None;
    let mut seq: u16 = rand::random();
    let mut rx = frames.lock().await;
    while let Some(f) = rx.recv().await {
        if pt.is_none() {
            pt = negotiated_pt(&sender).await;
        }
        let Some(pt) = pt else { continue };
        // 1200 bytes of RTP payload leave room for headers, SRTP and a TURN relay.
        let Ok(parts) = payloader.payload(1200, &f.data) else {
            continue;
        };
        let count = parts.len();
        for (i, payload) in parts.into_iter().enumerate() {
            let packet = rtc::rtp::Packet {
                header: rtc::rtp::Header {
                    version: 2,
                    payload_type: pt,
                    sequence_number: seq,
                    timestamp: f.ts,
                    ssrc,
                    marker: i + 1 == count,
                    ..Default::default()
                },
                payload,
            };
            seq = seq.wrapping_add(1);
            if track.write_rtp(packet).await.is_err() {
                tracing::debug!("video packet not sent");
            }
        }
    }
}

/// Received audio packets waiting for the engine thread (5 s of 20 ms packets).
const AUDIO_IN_QUEUE: usize = 256;
/// Received video packets waiting for the video thread (a few keyframes' worth).
const VIDEO_IN_QUEUE: usize = 4096;

/// Where received media goes.
#[derive(Clone)]
struct Receivers {
    audio: std_mpsc::SyncSender<InPacket>,
    video: std_mpsc::SyncSender<VideoPacket>,
    state: Arc<VideoShared>,
    /// The video track our PLI and REMB are about.
    current_video: CurrentVideo,
    /// The payload types of the peer's video codecs (from its description).
    video_pts: Arc<std::sync::RwLock<Vec<u8>>>,
    /// The video has a connection of its own (which says when video can flow).
    separate: Arc<AtomicBool>,
}

async fn write_rtp(
    mut rx: mpsc::UnboundedReceiver<OutPacket>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ssrc: u32,
    shared: Arc<Shared>,
) {
    let mut pt: Option<u8> = None;
    let mut seq: u16 = rand::random();
    while let Some(p) = rx.recv().await {
        if pt.is_none() {
            pt = negotiated_pt(&sender).await;
        }
        let Some(pt) = pt else { continue };
        let len = p.payload.len() as u64;
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::Header {
                version: 2,
                payload_type: pt,
                sequence_number: seq,
                timestamp: p.ts,
                ssrc,
                ..Default::default()
            },
            payload: p.payload,
        };
        seq = seq.wrapping_add(1);
        if track.write_rtp(packet).await.is_ok() {
            shared.bytes_sent.fetch_add(len, Ordering::Relaxed);
            shared.packets_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs a media thread's body. A panic there is a bug; it must end the call with a
/// reason the person sees, not leave it silent.
fn guarded(what: &'static str, events: &mpsc::UnboundedSender<MediaEvent>, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        tracing::error!(what, "media thread panicked");
        let _ = events.send(MediaEvent::Failed(MediaError::Internal(what)));
    }
}

/// `tokio::spawn` for tasks that read the peer's packets, guarded like `guarded`.
fn spawn_guarded(
    what: &'static str,
    events: mpsc::UnboundedSender<MediaEvent>,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    use futures::FutureExt;
    tokio::spawn(async move {
        if std::panic::AssertUnwindSafe(task)
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(what, "media task panicked");
            let _ = events.send(MediaEvent::Failed(MediaError::Internal(what)));
        }
    })
}

/// Follows one connection's events: candidates to signal, connected, failed, the
/// peer's tracks. The video's own connection only gates the video: its failure is
/// reported and the call goes on.
#[allow(clippy::too_many_arguments)]
async fn drive(
    mut rx: mpsc::UnboundedReceiver<Internal>,
    pc: Arc<dyn PeerConnection>,
    role: Role,
    config: MediaConfig,
    shared: Arc<Shared>,
    receivers: Receivers,
    events: mpsc::UnboundedSender<MediaEvent>,
    ssrc: u32,
) {
    // ICE connected but DTLS never completing means the handshake was refused: with
    // webrtc-rs that is what a certificate not matching the signaled fingerprint does
    // (it logs the mismatch and stays "connecting").
    let mut dtls_deadline: Option<tokio::time::Instant> = None;
    let mut failed = false;
    loop {
        let ev = match dtls_deadline {
            Some(d) => match tokio::time::timeout_at(d, rx.recv()).await {
                Ok(ev) => ev,
                Err(_) => {
                    dtls_deadline = None;
                    let up = match role {
                        Role::Main => shared.connected.load(Ordering::Acquire),
                        Role::Video => receivers.state.connected.load(Ordering::Acquire),
                    };
                    if !up && !failed {
                        failed = true;
                        let _ = events.send(match role {
                            Role::Main => MediaEvent::Failed(MediaError::FingerprintMismatch),
                            // Nothing flows on it: the video is lost, the call is not.
                            Role::Video => MediaEvent::DeviceError(format!(
                                "{}: the call goes on without video",
                                MediaError::FingerprintMismatch
                            )),
                        });
                    }
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(ev) = ev else { return };
        match ev {
            Internal::Candidate(e) => {
                let Ok(init) = e.candidate.to_json() else {
                    continue;
                };
                let Ok(c) = Candidate::from_sdp(&init.candidate) else {
                    continue;
                };
                if config.relay_only && c.kind != CandidateKind::Relay {
                    continue;
                }
                if c.kind == CandidateKind::Host && !config.allowed(c.ip) {
                    continue;
                }
                let _ = events.send(match role {
                    Role::Main => MediaEvent::LocalCandidate(c),
                    Role::Video => MediaEvent::VideoCandidate(c),
                });
            }
            Internal::Ice(state) => {
                if state == RTCIceConnectionState::Connected && dtls_deadline.is_none() {
                    dtls_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(6));
                }
            }
            Internal::State(state) => match state {
                RTCPeerConnectionState::Connected if role == Role::Video => {
                    receivers.state.connected.store(true, Ordering::Release);
                    dtls_deadline = None;
                    tracing::info!("the video's own connection is up");
                }
                RTCPeerConnectionState::Connected => {
                    shared.connected.store(true, Ordering::Release);
                    if !receivers.separate.load(Ordering::Acquire) {
                        receivers.state.connected.store(true, Ordering::Release);
                    }
                    dtls_deadline = None;
                    let pair = selected_pair(&pc).await;
                    let _ = events.send(MediaEvent::Connected { pair });
                }
                RTCPeerConnectionState::Failed if !failed && role == Role::Video => {
                    failed = true;
                    receivers.state.connected.store(false, Ordering::Release);
                    let _ = events.send(MediaEvent::DeviceError(
                        "no network path for the video (its ICE failed): the call goes on \
                         without it"
                            .into(),
                    ));
                }
                RTCPeerConnectionState::Failed if !failed => {
                    failed = true;
                    shared.connected.store(false, Ordering::Release);
                    let _ = events.send(MediaEvent::Failed(MediaError::Transport(
                        "no network path to the peer (ICE failed)".into(),
                    )));
                }
                RTCPeerConnectionState::Disconnected => {
                    tracing::info!("media path interrupted; ICE keeps trying");
                }
                _ => {}
            },
            Internal::Track(track) => {
                let kind = track.kind().await;
                let ssrcs = track.ssrcs().await;
                tracing::debug!(?kind, ?ssrcs, "the peer's track");
                spawn_guarded(
                    "media receiver",
                    events.clone(),
                    receive_track(track, receivers.clone(), shared.clone(), ssrc),
                );
            }
        }
    }
}

/// The peer's video track that last delivered a packet, and that packet's SSRC: where
/// our PLI and REMB go.
type CurrentVideo = Arc<Mutex<Option<(Arc<dyn TrackRemote>, u32)>>>;

/// Forwards the peer's packets to the audio or the video thread (never decoding here:
/// the webrtc-rs driver drops packets when a track's reader falls behind).
///
/// Packets go by payload type, not by the track they came on: with a libwebrtc peer,
/// webrtc-rs 0.21 now and then binds an SSRC to the wrong transceiver of the bundle
/// (seen: the peer's video on our audio track, its audio on our video track), and Opus
/// fed to the VP8 decoder (or the reverse) stops the call's video for good.
async fn receive_track(
    track: Arc<dyn TrackRemote>,
    to: Receivers,
    shared: Arc<Shared>,
    our_audio_ssrc: u32,
) {
    let mut video_ssrc = 0u32;
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let video = to
                    .video_pts
                    .read()
                    .is_ok_and(|pts| pts.contains(&pkt.header.payload_type));
                if video {
                    if pkt.header.ssrc != video_ssrc {
                        video_ssrc = pkt.header.ssrc;
                        if let Ok(mut c) = to.current_video.lock() {
                            *c = Some((track.clone(), video_ssrc));
                        }
                    }
                    let _ = to.video.try_send(VideoPacket {
                        seq: pkt.header.sequence_number,
                        ts: pkt.header.timestamp,
                        marker: pkt.header.marker,
                        payload: pkt.payload,
                    });
                } else {
                    shared
                        .bytes_received
                        .fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
                    let _ = to.audio.try_send(InPacket {
                        seq: pkt.header.sequence_number,
                        ts: pkt.header.timestamp,
                        payload: pkt.payload.to_vec(),
                        arrival: Instant::now(),
                    });
                }
            }
            TrackRemoteEvent::OnEnded => return,
            // Reports about the stream we send come in here too.
            TrackRemoteEvent::OnRtcpPacket(packets) => {
                if let Some(loss) = crate::rtcp::reported_loss(&packets, our_audio_ssrc) {
                    shared.remote_loss.store(loss.to_bits(), Ordering::Relaxed);
                    shared.reports.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
}

/// Sends the video thread's PLI and REMB about the peer's current video stream.
async fn send_video_feedback(
    mut requests: mpsc::UnboundedReceiver<RtcpRequest>,
    current: CurrentVideo,
    our_ssrc: u32,
) {
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
    while let Some(req) = requests.recv().await {
        let Some((track, media_ssrc)) = current.lock().ok().and_then(|c| c.clone()) else {
            continue;
        };
        let packet: Box<dyn rtc::rtcp::Packet> = match req {
            RtcpRequest::Pli => Box::new(PictureLossIndication {
                sender_ssrc: our_ssrc,
                media_ssrc,
            }),
            RtcpRequest::Remb(bps) => Box::new(ReceiverEstimatedMaximumBitrate {
                sender_ssrc: our_ssrc,
                bitrate: bps as f32,
                ssrcs: vec![media_ssrc],
            }),
        };
        if let Err(e) = track.write_rtcp(vec![packet]).await {
            tracing::debug!(error = %e, "video feedback not sent");
        }
    }
}

async fn selected_pair(pc: &Arc<dyn PeerConnection>) -> Option<CandidateKind> {
    for sender in pc.get_senders().await {
        if let Ok(Some(dtls)) = sender.transport().await {
            if let Ok(Some(pair)) = dtls.ice_transport().get_selected_candidate_pair().await {
                return CandidateKind::parse(&pair.local().typ.to_string());
            }
        }
    }
    None
}

async fn stats_loop(
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    video: Arc<VideoShared>,
    feedback: Arc<VideoFeedback>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let (mut v_decoded, mut v_sent_bytes, mut v_recv_bytes) = (0u64, 0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (mut last_sent, mut last_recv, mut last_exp, mut last_pkts) = (0u64, 0u64, 0u64, 0u64);
    let mut last = Instant::now();
    loop {
        tick.tick().await;
        if !shared.connected.load(Ordering::Acquire) {
            continue;
        }
        let secs = last.elapsed().as_secs_f32().max(0.001);
        last = Instant::now();
        let sent = shared.bytes_sent.load(Ordering::Relaxed);
        let recv = shared.bytes_received.load(Ordering::Relaxed);
        let exp = shared.expected.load(Ordering::Relaxed);
        let pkts = shared.packets_received.load(Ordering::Relaxed);
        let d_exp = exp.saturating_sub(last_exp);
        let d_pkts = pkts.saturating_sub(last_pkts);
        let loss = if d_exp > 0 {
            (d_exp.saturating_sub(d_pkts)) as f32 * 100.0 / d_exp as f32
        } else {
            0.0
        };
        let rtt_ms = ice_rtt_ms(&pc).await;
        if let Some(rtt) = rtt_ms {
            shared
                .rtt_us
                .store((rtt * 1000.0) as u32, Ordering::Relaxed);
        }
        let mut stats = CallStats {
            rtt_ms,
            jitter_ms: shared.jitter_us.load(Ordering::Relaxed) as f32 / 1000.0,
            loss_pct: loss,
            // IP/UDP/RTP/SRTP overhead (~40 bytes a packet) is not counted.
            send_kbps: (sent - last_sent) as f32 * 8.0 / 1000.0 / secs,
            recv_kbps: (recv - last_recv) as f32 * 8.0 / 1000.0 / secs,
            audio_packets_received: pkts,
            audio_packets_sent: shared.packets_sent.load(Ordering::Relaxed),
            audio_level_in: f32::from_bits(shared.level_in.load(Ordering::Relaxed)),
            audio_level_out: f32::from_bits(shared.level_out.load(Ordering::Relaxed)),
            candidate_pair: selected_pair(&pc).await,
            fec_recovered: shared.fec.load(Ordering::Relaxed),
            concealed: shared.concealed.load(Ordering::Relaxed),
            jitter_target_ms: shared.target_frames.load(Ordering::Relaxed) * 20,
            bitrate: shared.bitrate.load(Ordering::Relaxed) as i32,
            video: None,
        };
        let decoded = video.frames_decoded.load(Ordering::Relaxed);
        let vs = video.bytes_sent.load(Ordering::Relaxed);
        let vr = video.bytes_received.load(Ordering::Relaxed);
        let sent_frames = video.frames_sent.load(Ordering::Relaxed);
        if decoded > 0 || sent_frames > 0 || video.packets_received.load(Ordering::Relaxed) > 0 {
            stats.video = Some(VideoStats {
                frames_sent: sent_frames,
                frames_decoded: decoded,
                width: video.width.load(Ordering::Relaxed),
                height: video.height.load(Ordering::Relaxed),
                fps: (decoded - v_decoded) as f32 / secs,
                send_kbps: (vs - v_sent_bytes) as f32 * 8.0 / 1000.0 / secs,
                recv_kbps: (vr - v_recv_bytes) as f32 * 8.0 / 1000.0 / secs,
                target_kbps: video.target_kbps.load(Ordering::Relaxed),
                keyframes_asked: video.keyframes_asked.load(Ordering::Relaxed),
                estimate_kbps: match feedback.twcc_bps.load(Ordering::Relaxed) {
                    0 => None,
                    bps => Some(bps / 1000),
                },
            });
        }
        (v_decoded, v_sent_bytes, v_recv_bytes) = (decoded, vs, vr);
        (last_sent, last_recv, last_exp, last_pkts) = (sent, recv, exp, pkts);
        if events.send(MediaEvent::Stats(stats)).is_err() {
            return;
        }
    }
}

async fn ice_rtt_ms(pc: &Arc<dyn PeerConnection>) -> Option<f32> {
    let report = pc
        .get_stats(Instant::now(), webrtc::peer_connection::StatsSelector::None)
        .await;
    let rtt = report
        .candidate_pairs()
        .filter(|p| p.nominated)
        .map(|p| p.current_round_trip_time as f32 * 1000.0)
        .find(|rtt| *rtt > 0.0);
    rtt
}

/// The audio engine: one thread, one 20 ms tick: receive → de-jitter → decode → play,
/// then capture → process (with what was just played as echo reference) → encode →
/// send. Device callbacks only touch lock-free rings inside the sources and sinks.
fn run_engine(
    config: MediaConfig,
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<OutPacket>,
    incoming: std_mpsc::Receiver<InPacket>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let device_error = |e: MediaError| {
        let _ = events.send(MediaEvent::DeviceError(e.to_string()));
    };
    let mut source = config.audio_in.open().unwrap_or_else(|e| {
        device_error(e);
        Box::new(Silence)
    });
    let mut sink = config.audio_out.open().unwrap_or_else(|e| {
        device_error(e);
        Box::new(NullSink)
    });
    // Echo test: what was played, sent back `delay` frames later.
    let echo_of = |spec: &SourceSpec| match spec {
        SourceSpec::Echo(ms) => Some((*ms as usize / 20).max(1)),
        _ => None,
    };
    let mut echo_delay = echo_of(&config.audio_in);
    let mut echo_line: std::collections::VecDeque<[i16; FRAME]> =
        std::collections::VecDeque::with_capacity(echo_delay.unwrap_or(0) + 2);
    let mut processing = config.processing;
    let new_pipeline = |spec: &SourceSpec, p: Processing| {
        if matches!(spec, SourceSpec::Mic(_)) {
            CapturePipeline::new(p).map_err(&device_error).ok()
        } else {
            None
        }
    };
    let mut pipeline = new_pipeline(&config.audio_in, processing);
    let (mut encoder, mut decoder) = match (Encoder::new(config.dtx), Decoder::new()) {
        (Ok(e), Ok(d)) => (e, d),
        (Err(e), _) | (_, Err(e)) => {
            let _ = events.send(MediaEvent::Failed(e));
            return;
        }
    };
    shared
        .bitrate
        .store(encoder.bitrate() as u32, Ordering::Relaxed);
    let mut jb = JitterBuffer::new();
    let start = Instant::now();
    let mut ts: u32 = rand::random();
    let mut played = [0i16; FRAME];
    let mut captured = [0i16; FRAME];
    let mut packet = [0u8; MAX_PACKET];
    let mut first_seq: Option<i64> = None;
    let mut highest: i64 = -1;
    let mut last_arrival: Option<(Instant, u32)> = None;
    let mut jitter_ms = 0.0f64;
    let mut next = Instant::now();
    let tick = Duration::from_millis(20);
    let mut reports_seen = 0u32;
    let mut heard = false;
    while !shared.stop.load(Ordering::Acquire) {
        // Incoming packets.
        while let Ok(p) = incoming.try_recv() {
            let arrival_ms = p.arrival.duration_since(start).as_secs_f64() * 1000.0;
            // Extended sequence for the loss count.
            let ext = match first_seq {
                None => {
                    first_seq = Some(p.seq as i64);
                    p.seq as i64
                }
                Some(_) => {
                    let base = highest & !0xffff;
                    let mut e = base | p.seq as i64;
                    if e < highest - 0x8000 {
                        e += 0x10000;
                    } else if e > highest + 0x8000 {
                        e -= 0x10000;
                    }
                    e
                }
            };
            highest = highest.max(ext);
            if let Some((at, last_ts)) = last_arrival {
                let d = p.arrival.duration_since(at).as_secs_f64() * 1000.0
                    - (p.ts.wrapping_sub(last_ts) as i32) as f64 / 48.0;
                jitter_ms += (d.abs() - jitter_ms) / 16.0;
            }
            last_arrival = Some((p.arrival, p.ts));
            jb.push(p.seq, p.ts, &p.payload, arrival_ms);
            shared.packets_received.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(first) = first_seq {
            shared
                .expected
                .store((highest - first + 1).max(0) as u64, Ordering::Relaxed);
        }
        // Playout.
        match jb.pop() {
            Playout::Decode(p, rtp_ts) => {
                decoder.decode(p, &mut played);
                if !heard {
                    heard = true;
                    let _ = events.send(MediaEvent::AudioReceived);
                }
                if let Some(probe) = &config.probe {
                    probe.on_playout(rtp_ts);
                }
            }
            Playout::Fec(p) => {
                decoder.decode_fec(p, &mut played);
            }
            Playout::Conceal => {
                decoder.conceal(&mut played);
            }
            Playout::Wait => played.fill(0),
        }
        if shared.held.load(Ordering::Relaxed) {
            played.fill(0);
        }
        // Device switches asked for since the last tick (try_lock: never wait here).
        if let Some(spec) = shared.switch_out.try_lock().ok().and_then(|mut s| s.take()) {
            match spec.open() {
                Ok(s) => sink = s,
                Err(e) => device_error(e),
            }
        }
        if let Some(spec) = shared.switch_in.try_lock().ok().and_then(|mut s| s.take()) {
            match spec.open() {
                Ok(s) => {
                    source = s;
                    pipeline = new_pipeline(&spec, processing);
                    echo_delay = echo_of(&spec);
                    echo_line.clear();
                }
                Err(e) => device_error(e),
            }
        }
        if let Err(e) = sink.write(&played) {
            device_error(e);
            sink = Box::new(NullSink);
        }
        // Capture.
        if let Some(delay) = echo_delay {
            if echo_line.len() == echo_line.capacity() {
                echo_line.pop_front();
            }
            echo_line.push_back(played);
            captured = if echo_line.len() > delay {
                echo_line.pop_front().unwrap_or([0; FRAME])
            } else {
                [0; FRAME]
            };
        } else if let Err(e) = source.read(&mut captured) {
            device_error(e);
            source = Box::new(Silence);
        }
        if let Some(new) = shared.processing.try_lock().ok().and_then(|mut s| s.take()) {
            processing = new;
            if let Some(p) = pipeline.as_mut() {
                p.set(new);
            }
        }
        if let Some(p) = pipeline.as_mut() {
            p.process(&mut captured, &played);
        }
        if shared.muted.load(Ordering::Relaxed) || shared.held.load(Ordering::Relaxed) {
            captured.fill(0);
        }
        let now = Instant::now();
        if shared.connected.load(Ordering::Acquire) {
            match encoder.encode(&captured, &mut packet) {
                Ok(n) if n > 0 => {
                    if let Some(probe) = &config.probe {
                        probe.on_capture(ts, now);
                    }
                    let _ = out.send(OutPacket {
                        ts,
                        payload: Bytes::copy_from_slice(packet.get(..n).unwrap_or_default()),
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "encode"),
            }
        }
        ts = ts.wrapping_add(FRAME as u32);
        let reports = shared.reports.load(Ordering::Relaxed);
        if reports != reports_seen {
            reports_seen = reports;
            let loss = f32::from_bits(shared.remote_loss.load(Ordering::Relaxed));
            let rtt = shared.rtt_us.load(Ordering::Relaxed) as f32 / 1000.0;
            let bitrate = encoder.on_report(loss, rtt);
            shared.bitrate.store(bitrate as u32, Ordering::Relaxed);
        }
        // Figures for the stats task.
        let js = jb.stats();
        shared
            .level_in
            .store(level_dbfs(&captured).to_bits(), Ordering::Relaxed);
        shared
            .level_out
            .store(level_dbfs(&played).to_bits(), Ordering::Relaxed);
        shared
            .jitter_us
            .store((jitter_ms * 1000.0) as u64, Ordering::Relaxed);
        shared.fec.store(js.fec_recovered, Ordering::Relaxed);
        shared.concealed.store(js.concealed, Ordering::Relaxed);
        shared
            .target_frames
            .store(js.target_frames, Ordering::Relaxed);
        // Pace by absolute deadlines; after a long stall, start afresh.
        next += tick;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > Duration::from_millis(200) {
            next = now;
        }
    }
    if let Err(e) = sink.finish() {
        device_error(e);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A bug in a media thread or task ends the call with a reason, not in silence.
    #[tokio::test]
    async fn a_panicking_media_thread_or_task_fails_the_call() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        guarded("audio engine", &tx, || panic!("a bug"));
        assert!(matches!(
            rx.try_recv(),
            Ok(MediaEvent::Failed(MediaError::Internal("audio engine")))
        ));
        let task = spawn_guarded("media receiver", tx.clone(), async { panic!("a bug") });
        task.await.unwrap();
        assert!(matches!(
            rx.try_recv(),
            Ok(MediaEvent::Failed(MediaError::Internal("media receiver")))
        ));
        guarded("audio engine", &tx, || {});
        assert!(rx.try_recv().is_err(), "no event when nothing went wrong");
    }

    #[test]
    fn binds_only_allowed_interfaces() {
        let mut cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
        assert_eq!(bind_addrs(&cfg), ["0.0.0.0:0"]);
        cfg.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
        assert_eq!(bind_addrs(&cfg), ["127.0.0.1:0"]);
        cfg.allow = vec![Cidr::parse("0.0.0.0/0").unwrap()];
        let all = bind_addrs(&cfg);
        assert!(all.contains(&"127.0.0.1:0".to_string()), "{all:?}");
        // A range no interface is in: no address of another range is bound.
        cfg.allow = vec![Cidr::parse("203.0.113.0/24").unwrap()];
        assert_eq!(bind_addrs(&cfg), ["127.0.0.1:0"]);
    }

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("127.0.0.0/8").unwrap();
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
    }
}
