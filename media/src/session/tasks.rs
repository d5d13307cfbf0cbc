//! The tasks of a session: RTP writers (audio, video), the connection's event loop,
//! receivers that hand the peer's packets to the engines, RTCP feedback, and the
//! once-a-second figures.

use super::*;

mod video;
pub(super) use video::*;

/// Received audio packets waiting for the engine thread (5 s of 20 ms packets).
pub(super) const AUDIO_IN_QUEUE: usize = 256;
/// Received video packets waiting for the video thread (a few keyframes' worth).
pub(super) const VIDEO_IN_QUEUE: usize = 4096;

/// The payload types of the peer's video codecs and of its redundant audio (RED).
#[derive(Debug, Default)]
pub(super) struct PeerPts {
    /// The peer's video payload types, with the codec where it is one Banter decodes
    /// (VP8, VP9 profile 0); the others' packets are dropped, not taken for audio.
    pub(super) video: Vec<(u8, Option<Codec>)>,
    pub(super) red: Vec<u8>,
}

/// Where received media goes.
#[derive(Clone)]
pub(super) struct Receivers {
    pub(super) audio: std_mpsc::SyncSender<InPacket>,
    pub(super) video: std_mpsc::SyncSender<VideoPacket>,
    pub(super) state: Arc<VideoShared>,
    /// The video track our PLI and REMB are about.
    pub(super) current_video: CurrentVideo,
    /// The peer's payload types that are not plain Opus (from its description).
    pub(super) pts: Arc<std::sync::RwLock<PeerPts>>,
    /// The video has a connection of its own (which says when video can flow).
    pub(super) separate: Arc<AtomicBool>,
}

/// How long after ICE connected the DTLS handshake may take before the call is given
/// up as unreachable: each lost flight costs a second (webrtc-rs resends after 1 s,
/// at most 7 times), and at 20 % loss several can be.
const DTLS_WAIT: Duration = Duration::from_secs(20);

/// Whether the certificate the peer proved it holds in the DTLS handshake is the one
/// its description's fingerprint names.
async fn certificate_matches(
    pc: &Arc<dyn PeerConnection>,
    remote: &Mutex<Option<SessionDescription>>,
) -> bool {
    let Some(expected) = remote
        .lock()
        .ok()
        .and_then(|r| r.as_ref().map(|d| d.fingerprint.clone()))
    else {
        return false;
    };
    let mut transports = Vec::new();
    for s in pc.get_senders().await {
        transports.push(s.transport().await);
    }
    for r in pc.get_receivers().await {
        transports.push(r.transport().await);
    }
    for t in transports.into_iter().flatten().flatten() {
        if let Ok(certs) = t.get_remote_certificates().await {
            if let Some(cert) = certs.first() {
                return expected.matches(cert);
            }
        }
    }
    false
}

/// Copies of earlier frames a RED packet carries once the path is lossy.
const RED_DEPTH_LOSSY: usize = 2;

/// The payload types our audio goes out with: Opus, and RED when the peer took it.
#[derive(Clone, Copy)]
struct AudioPts {
    opus: u8,
    red: Option<u8>,
}

async fn audio_pts(sender: &Arc<dyn webrtc::rtp_transceiver::RtpSender>) -> Option<AudioPts> {
    let params = sender.get_parameters().await.ok()?;
    let codecs = &params.rtp_parameters.codecs;
    let of = |mime: &str| {
        codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
            .map(|c| c.payload_type)
    };
    Some(AudioPts {
        opus: of(MIME_TYPE_OPUS)?,
        red: of(MIME_TYPE_RED),
    })
}

pub(super) async fn write_rtp(
    mut rx: mpsc::UnboundedReceiver<OutPacket>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ssrc: u32,
    shared: Arc<Shared>,
) {
    use crate::audio::red;
    let mut pts: Option<AudioPts> = None;
    let mut seq: u16 = rand::random();
    // The frames before this one, oldest first, for RED's copies.
    let mut history: std::collections::VecDeque<(u32, bytes::Bytes)> =
        std::collections::VecDeque::with_capacity(RED_DEPTH_LOSSY + 1);
    let mut buf = Vec::with_capacity(1200);
    while let Some(p) = rx.recv().await {
        if pts.is_none() {
            pts = audio_pts(&sender).await;
        }
        let Some(AudioPts { opus, red: red_pt }) = pts else {
            continue;
        };
        let (pt, payload) = match red_pt {
            Some(red_pt) => {
                // One copy while the path is clean, two once the peer reports heavy
                // loss (both copies are lost together far less often).
                let loss = f32::from_bits(shared.remote_loss.load(Ordering::Relaxed));
                let depth = if loss >= 0.10 { RED_DEPTH_LOSSY } else { 1 };
                while history.len() > depth {
                    history.pop_front();
                }
                let mut copies: [(u32, &[u8]); RED_DEPTH_LOSSY] = [(0, &[]); RED_DEPTH_LOSSY];
                for (c, (t, d)) in copies.iter_mut().zip(&history) {
                    *c = (*t, &d[..]);
                }
                let n = history.len().min(RED_DEPTH_LOSSY);
                red::pack(
                    &mut buf,
                    opus,
                    p.ts,
                    &p.payload,
                    copies.get(..n).unwrap_or_default(),
                    1200,
                );
                history.push_back((p.ts, p.payload));
                (red_pt, bytes::Bytes::copy_from_slice(&buf))
            }
            None => (opus, p.payload),
        };
        let len = payload.len() as u64;
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::Header {
                version: 2,
                payload_type: pt,
                sequence_number: seq,
                timestamp: p.ts,
                ssrc,
                ..Default::default()
            },
            payload,
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
pub(super) fn guarded(
    what: &'static str,
    events: &mpsc::UnboundedSender<MediaEvent>,
    f: impl FnOnce(),
) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        tracing::error!(what, "media thread panicked");
        let _ = events.send(MediaEvent::Failed(MediaError::Internal(what)));
    }
}

/// `tokio::spawn` for tasks that read the peer's packets, guarded like `guarded`.
pub(super) fn spawn_guarded(
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
pub(super) async fn drive(
    mut rx: mpsc::UnboundedReceiver<Internal>,
    pc: Arc<dyn PeerConnection>,
    remote: Arc<Mutex<Option<SessionDescription>>>,
    role: Role,
    config: MediaConfig,
    shared: Arc<Shared>,
    receivers: Receivers,
    events: mpsc::UnboundedSender<MediaEvent>,
    ssrc: u32,
) {
    // ICE connected but DTLS never completing: its flights keep getting lost (webrtc-rs
    // resends each one a second later, 7 times). A connectivity failure; a certificate
    // that does not match is found once the handshake is done (below).
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
                        let why = match role {
                            Role::Main => {
                                "the encrypted media connection (DTLS) could not be set up: \
                                 too many packets were lost on the way"
                            }
                            // webrtc-rs checks this one's certificate itself (see
                            // `connection`): a mismatch also ends up here.
                            Role::Video => {
                                "the video's encrypted connection (DTLS) could not be set \
                                 up: packets lost on the way, or a certificate that does \
                                 not match the signaled fingerprint"
                            }
                        };
                        let _ = events.send(match role {
                            Role::Main => MediaEvent::Failed(MediaError::Transport(why.into())),
                            // Nothing flows on it: the video is lost, the call is not.
                            Role::Video => MediaEvent::DeviceError(format!(
                                "{why}: the call goes on without video"
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
                tracing::debug!(candidate = %c.to_sdp(), "local candidate");
                let _ = events.send(match role {
                    Role::Main => MediaEvent::LocalCandidate(c),
                    Role::Video => MediaEvent::VideoCandidate(c),
                });
            }
            Internal::Ice(state) => {
                if state == RTCIceConnectionState::Connected && dtls_deadline.is_none() {
                    dtls_deadline = Some(tokio::time::Instant::now() + DTLS_WAIT);
                }
            }
            Internal::State(state) => match state {
                RTCPeerConnectionState::Connected
                    if !failed
                        && role == Role::Main
                        && !certificate_matches(&pc, &remote).await =>
                {
                    // The handshake is done and the peer holds the key of a certificate
                    // other than the one it signaled: someone is in the middle. Nothing
                    // it sent is played (the receive tasks wait for `connected`).
                    failed = true;
                    dtls_deadline = None;
                    tracing::warn!(
                        ?role,
                        "the peer's DTLS certificate does not match its fingerprint"
                    );
                    let _ = events.send(match role {
                        Role::Main => MediaEvent::Failed(MediaError::FingerprintMismatch),
                        Role::Video => MediaEvent::DeviceError(format!(
                            "{}: the call goes on without video",
                            MediaError::FingerprintMismatch
                        )),
                    });
                }
                RTCPeerConnectionState::Connected if failed => {}
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
                // Media flowed before: the path went away, and an ICE restart (asked
                // for by the signaling side) may find it again. DTLS and SRTP stay.
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected
                    if !failed
                        && role == Role::Main
                        && shared.connected.load(Ordering::Acquire) =>
                {
                    tracing::info!(?state, "media path lost");
                    let _ = events.send(MediaEvent::PathLost);
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
pub(super) type CurrentVideo = Arc<Mutex<Option<(Arc<dyn TrackRemote>, u32)>>>;

/// Forwards the peer's packets to the audio or the video thread (never decoding here:
/// the webrtc-rs driver drops packets when a track's reader falls behind).
///
/// Packets go by payload type, not by the track they came on: with a libwebrtc peer,
/// webrtc-rs 0.21 now and then binds an SSRC to the wrong transceiver of the bundle
/// (seen: the peer's video on our audio track, its audio on our video track), and Opus
/// fed to the VP8 decoder (or the reverse) stops the call's video for good.
pub(super) async fn receive_track(
    track: Arc<dyn TrackRemote>,
    to: Receivers,
    shared: Arc<Shared>,
    our_audio_ssrc: u32,
) {
    let mut video_ssrc = 0u32;
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let pt = pkt.header.payload_type;
                let (video, codec, red) = to
                    .pts
                    .read()
                    .map(|p| {
                        let v = p.video.iter().find(|(t, _)| *t == pt);
                        (v.is_some(), v.and_then(|(_, c)| *c), p.red.contains(&pt))
                    })
                    .unwrap_or_default();
                // Nothing is played before the peer's certificate was checked
                // against its fingerprint (`drive` sets `connected` after that).
                let checked = if video {
                    to.state.connected.load(Ordering::Acquire)
                } else {
                    shared.connected.load(Ordering::Acquire)
                };
                if !checked {
                    continue;
                }
                if video {
                    let Some(codec) = codec else {
                        continue; // a video codec we do not decode
                    };
                    if pkt.header.ssrc != video_ssrc {
                        video_ssrc = pkt.header.ssrc;
                        if let Ok(mut c) = to.current_video.lock() {
                            *c = Some((track.clone(), video_ssrc));
                        }
                    }
                    let _ = to.video.try_send(VideoPacket {
                        codec,
                        seq: pkt.header.sequence_number,
                        ts: pkt.header.timestamp,
                        marker: pkt.header.marker,
                        payload: pkt.payload,
                    });
                } else {
                    shared
                        .bytes_received
                        .fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
                    let (seq, ts, arrival) = (
                        pkt.header.sequence_number,
                        pkt.header.timestamp,
                        Instant::now(),
                    );
                    if !red {
                        let _ = to.audio.try_send(InPacket {
                            seq,
                            ts,
                            payload: pkt.payload.to_vec(),
                            arrival,
                            redundant: false,
                        });
                        continue;
                    }
                    let Some(r) = crate::audio::red::unpack(&pkt.payload) else {
                        continue;
                    };
                    if r.primary.is_empty() {
                        continue;
                    }
                    // The packet's own frame first: its copies fill holes behind it.
                    let _ = to.audio.try_send(InPacket {
                        seq,
                        ts,
                        payload: r.primary.to_vec(),
                        arrival,
                        redundant: false,
                    });
                    for (i, b) in r.blocks().enumerate() {
                        let from_end = r.count - i;
                        let Some(k) = crate::audio::red::distance(b.offset, from_end)
                            .filter(|_| b.payload_type == r.primary_type && !b.data.is_empty())
                        else {
                            continue;
                        };
                        let _ = to.audio.try_send(InPacket {
                            seq: seq.wrapping_sub(k),
                            ts: ts.wrapping_sub(b.offset),
                            payload: b.data.to_vec(),
                            arrival,
                            redundant: true,
                        });
                    }
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

pub(super) async fn selected_pair(pc: &Arc<dyn PeerConnection>) -> Option<CandidateKind> {
    for sender in pc.get_senders().await {
        if let Ok(Some(dtls)) = sender.transport().await {
            if let Ok(Some(pair)) = dtls.ice_transport().get_selected_candidate_pair().await {
                return CandidateKind::parse(&pair.local().typ.to_string());
            }
        }
    }
    None
}

pub(super) async fn stats_loop(
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
            red_recovered: shared.red.load(Ordering::Relaxed),
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
                send_codec: Codec::from_u8(video.send_codec.load(Ordering::Relaxed)),
                recv_codec: Codec::from_u8(video.recv_codec.load(Ordering::Relaxed)),
            });
        }
        (v_decoded, v_sent_bytes, v_recv_bytes) = (decoded, vs, vr);
        (last_sent, last_recv, last_exp, last_pkts) = (sent, recv, exp, pkts);
        if events.send(MediaEvent::Stats(stats)).is_err() {
            return;
        }
    }
}

pub(super) async fn ice_rtt_ms(pc: &Arc<dyn PeerConnection>) -> Option<f32> {
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
