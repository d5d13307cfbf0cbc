//! A call's media: a webrtc-rs peer connection (ICE, DTLS-SRTP, RTP) carrying one Opus
//! audio stream each way and, in video calls, one VP8 stream; the audio engine thread
//! that captures, processes, encodes, and on the other side de-jitters, decodes and
//! plays; and the video engine thread (video/engine.rs) that does the same for video.
//!
//! Descriptions go in and out typed (`description`); candidates trickle out as events
//! and may come in at any time (buffered until the remote description is set).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

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

use crate::audio::echo::Processing;
use crate::audio::sink::SinkSpec;
use crate::audio::source::SourceSpec;
use crate::description::{Candidate, CandidateKind, Direction, SessionDescription};
use crate::error::MediaError;
use crate::rtcp::VideoFeedback;
use crate::turn_tcp::TcpTurnBridge;
use crate::video::engine::{
    self as video_engine, EncodedFrame, RtcpRequest, VideoPacket, VideoShared,
};
use crate::video::io::{VideoSource, VideoSourceSpec};
use crate::video::screen::ScreenSpec;
use crate::video::vpx::Codec;

use crate::audio::engine::{run_engine, InPacket, OutPacket, Shared};
pub use crate::config::{Cidr, IceServer, MediaConfig};
pub use crate::events::{AudioDevice, CallStats, LatencyProbe, MediaEvent, VideoStats};

mod link;
mod restart;
mod tasks;
mod video;

pub use link::host_addresses;
pub use restart::IceCredentials;

use link::*;
use tasks::*;

pub struct MediaSession {
    main: Link,
    /// Video goes on a connection of its own.
    separate: Arc<AtomicBool>,
    /// The video's parts that change during the call (one lock, never held across an
    /// await).
    video_parts: Mutex<VideoParts>,
    /// What a further connection is built with: the servers (TURN/TCP already bridged)
    /// and where its events and packets go.
    ice_servers: Vec<RTCIceServer>,
    receivers: Receivers,
    events: mpsc::UnboundedSender<MediaEvent>,
    audio_ssrc: u32,
    config: MediaConfig,
    shared: Arc<Shared>,
    video: Arc<VideoShared>,
    feedback: Arc<VideoFeedback>,
    /// The video thread's encoded frames, read by the writer of the video track (one
    /// at a time: a track on a connection that is closed gives them to the next).
    video_frames: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<EncodedFrame>>>,
    /// Hands the video thread a source opened during the call.
    video_switch: std_mpsc::Sender<(VideoSource, u64)>,
    /// The peer's video payload types, for routing its packets (see `receive_track`).
    pts: Arc<std::sync::RwLock<PeerPts>>,
    /// The threads and tasks of the session: stopped by `close` (awaited) or on drop.
    running: Mutex<Running>,
    /// TURN-over-TCP bridges, alive as long as the session.
    _turn_bridges: Vec<TcpTurnBridge>,
}

/// The video's parts that change during the call.
struct VideoParts {
    /// The video's own connection, when the peer does not bundle (Dino).
    link: Option<Arc<Link>>,
    /// Candidates for the video's own connection that came before it existed.
    early_candidates: Vec<Candidate>,
    /// The camera of a video call, opened, its track added with the first offer or
    /// answer: only the peer's offer tells whether the video rides the bundle.
    initial: Option<VideoSource>,
    /// The camera to use (changed by the camera picker during the call).
    spec: VideoSourceSpec,
    /// The screen being shared instead of the camera, if any, and its number.
    screen: Option<ScreenSpec>,
    share: u64,
}

/// What runs for a session.
#[derive(Default)]
struct Running {
    engine: Option<std::thread::JoinHandle<()>>,
    video_thread: Option<std::thread::JoinHandle<()>>,
    /// The video track's writer, once there is a track.
    video_writer: Option<tokio::task::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
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
        let (ice_servers, turn_bridges) =
            bridge_tcp_turn(&config.ice_servers, config.turn_tls.as_ref(), &events).await;
        let (itx, irx) = mpsc::unbounded_channel();
        let pc = connection(
            &config,
            ice_servers.clone(),
            &feedback,
            separate.clone(),
            itx,
            Role::Main,
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
            // A camera can take a second to open: on a blocking thread, not the
            // runtime's (the account task shares it).
            let spec = config.video_in.clone();
            let opened = tokio::task::spawn_blocking(move || {
                spec.open(video_engine::WIDTH, video_engine::HEIGHT, video_engine::FPS)
            })
            .await
            .unwrap_or(Err(MediaError::Internal("the camera could not be opened")));
            match opened {
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
        let (switch_tx, switch_rx) = std_mpsc::channel::<(VideoSource, u64)>();
        let mut tasks = Vec::new();
        let pts: Arc<std::sync::RwLock<PeerPts>> = Default::default();
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
            pts: pts.clone(),
            separate: separate.clone(),
        };
        let remote: Arc<Mutex<Option<SessionDescription>>> = Default::default();
        // Events from webrtc-rs.
        tasks.push(spawn_guarded(
            "media transport",
            events.clone(),
            drive(
                irx,
                pc.clone(),
                remote.clone(),
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
        let video_parts = VideoParts {
            link: None,
            early_candidates: Vec::new(),
            initial: video_source,
            spec: config.video_in.clone(),
            screen: None,
            share: 0,
        };
        let session = MediaSession {
            main: Link::new(pc, remote),
            separate,
            video_parts: Mutex::new(video_parts),
            ice_servers,
            receivers,
            events,
            audio_ssrc: ssrc,
            config,
            shared,
            video,
            feedback,
            video_frames: Arc::new(tokio::sync::Mutex::new(vout_rx)),
            video_switch: switch_tx,
            pts,
            running: Mutex::new(Running {
                engine: Some(engine),
                video_thread: Some(video_thread),
                video_writer: None,
                tasks,
            }),
            _turn_bridges: turn_bridges,
        };
        Ok(session)
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
        let mut offer = main.joined(own);
        if !self.config.red {
            offer.without_red();
        }
        Ok(offer)
    }

    /// Takes the peer's offer and returns our answer. A video content with a
    /// transport of its own (Dino) goes to a connection of its own.
    pub async fn accept_offer(
        &self,
        remote: &SessionDescription,
    ) -> Result<SessionDescription, MediaError> {
        self.learn_pts(remote);
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
        self.learn_pts(remote);
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

    /// The peer's video and RED payload types, for routing its packets, and whether
    /// it decodes VP9 (then a shared screen goes out in VP9).
    fn learn_pts(&self, remote: &SessionDescription) {
        use crate::description::MediaKind;
        let codecs = |kind: MediaKind| {
            remote
                .contents
                .iter()
                .filter(move |c| c.kind == kind)
                .flat_map(|c| c.codecs.iter())
        };
        let video: Vec<(u8, Option<Codec>)> = codecs(MediaKind::Video)
            .map(|k| (k.payload_type, k.video_codec()))
            .collect();
        let vp9 = video.iter().any(|(_, c)| *c == Some(Codec::Vp9));
        let vp8 = video.iter().any(|(_, c)| *c == Some(Codec::Vp8));
        self.video.peer_vp8.store(vp8, Ordering::Relaxed);
        if vp9 != self.video.peer_vp9.swap(vp9, Ordering::Relaxed) {
            tracing::debug!(vp9, "the peer's VP9");
        }
        if let Ok(mut pts) = self.pts.write() {
            *pts = PeerPts {
                video,
                red: codecs(MediaKind::Audio)
                    .filter(|k| k.red_with_blocks())
                    .map(|k| k.payload_type)
                    .collect(),
            };
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
                self.video_parts().early_candidates.push(c);
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

    /// Ends the session: stops the engine (finishing a WAV recording) and closes the
    /// peer connection (which frees its sockets and tasks).
    pub async fn close(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let engine = self.running().engine.take();
        if let Some(h) = engine {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        self.video.stop.store(true, Ordering::Release);
        let video = self.running().video_thread.take();
        if let Some(h) = video {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Some(link) = self.current_video_link() {
            let _ = link.pc.close().await;
        }
        let _ = self.main.pc.close().await;
        self.running().abort_tasks();
    }

    /// The threads and tasks (a poisoned lock still gives them: stopping must work).
    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The video's changing parts (a poisoned lock still gives them).
    fn video_parts(&self) -> std::sync::MutexGuard<'_, VideoParts> {
        self.video_parts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Running {
    fn abort_tasks(&mut self) {
        if let Some(w) = self.video_writer.take() {
            w.abort();
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// A session dropped without `close` (an `Arc` still held somewhere, a panic) still
/// stops its threads, which release the microphone, speaker and camera within a tick,
/// and its tasks; the connections close with them.
impl Drop for MediaSession {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.video.stop.store(true, Ordering::Release);
        self.running().abort_tasks();
    }
}

#[cfg(test)]
mod tests;
