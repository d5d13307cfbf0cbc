//! The video's tasks: VP8 and VP9 registered and the track added, its RTP written from
//! the video engine's pictures, and its feedback (PLI, REMB) sent.

use super::super::*;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_VP9;

/// Our video codecs and their payload types, in our order of preference.
pub(in crate::session) const VIDEO_PTS: [(Codec, u8); 2] = [(Codec::Vp8, 96), (Codec::Vp9, 98)];

/// VP8 or VP9 as we register and offer it (VP9 in profile 0, the one we encode).
pub(in crate::session) fn video_codec(codec: Codec) -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    let (mime, fmtp) = match codec {
        Codec::Vp8 => (MIME_TYPE_VP8, ""),
        Codec::Vp9 => (MIME_TYPE_VP9, "profile-id=0"),
    };
    RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![
            fb("goog-remb", ""),
            fb("ccm", "fir"),
            fb("nack", ""),
            fb("nack", "pli"),
        ],
    }
}

/// Adds our video track to the connection and starts its RTP writer.
pub(in crate::session) async fn add_video_track(
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
            // The stream's codec for webrtc-rs' interceptors (transport-cc, NACK, reports
            // follow it); its VP9 packets go on the same stream.
            codec: video_codec(Codec::Vp8),
            ..Default::default()
        }],
    )));
    let before: Vec<_> = pc.get_transceivers().await.iter().map(|t| t.id()).collect();
    let sender = pc
        .add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(transport_err)?;
    // webrtc-rs offers only the track's codec on a transceiver the track creates: we
    // offer both, VP8 first. (A transceiver the peer's offer created keeps what that
    // offer and we share, in its order.)
    for t in pc.get_transceivers().await {
        if !before.contains(&t.id()) {
            let prefs = VIDEO_PTS
                .map(|(c, payload_type)| RTCRtpCodecParameters {
                    rtp_codec: video_codec(c),
                    payload_type,
                })
                .to_vec();
            if let Err(e) = t.set_codec_preferences(prefs).await {
                tracing::info!(error = %e, "video offered in VP8 only");
            }
        }
    }
    feedback.ssrc.store(ssrc, Ordering::Relaxed);
    video.sending.store(true, Ordering::Relaxed);
    Ok(tokio::spawn(async move {
        write_video_rtp(frames, track, sender, ssrc, video).await;
    }))
}

/// The payload types the peer and we agreed on for the sender's VP8 and VP9; `None`
/// until they are known.
pub(in crate::session) async fn negotiated_pts(
    sender: &Arc<dyn webrtc::rtp_transceiver::RtpSender>,
) -> Option<VideoPts> {
    let params = sender.get_parameters().await.ok()?;
    let codecs = &params.rtp_parameters.codecs;
    let of = |codec: Codec| {
        let want = video_codec(codec);
        codecs
            .iter()
            .find(|c| {
                c.rtp_codec.mime_type.eq_ignore_ascii_case(&want.mime_type)
                    && (codec == Codec::Vp8 || profile_0(&c.rtp_codec.sdp_fmtp_line))
            })
            .map(|c| c.payload_type)
    };
    let pts = VideoPts {
        vp8: of(Codec::Vp8),
        vp9: of(Codec::Vp9),
    };
    (pts.vp8.is_some() || pts.vp9.is_some()).then_some(pts)
}

/// A VP9 `fmtp` line of profile 0 (no `profile-id` means 0).
fn profile_0(fmtp: &str) -> bool {
    fmtp.split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("profile-id"))
        .is_none_or(|(_, v)| v.trim() == "0")
}

#[derive(Clone, Copy, Debug)]
pub(in crate::session) struct VideoPts {
    vp8: Option<u8>,
    vp9: Option<u8>,
}

impl VideoPts {
    fn of(self, codec: Codec) -> Option<u8> {
        match codec {
            Codec::Vp8 => self.vp8,
            Codec::Vp9 => self.vp9,
        }
    }
}

/// The most RTP payload (VP8 descriptor included) a video packet carries. Under 1023
/// bytes a datagram (with the RTP header and its extensions, ≤ 28 bytes, and the SRTP
/// tag, ≤ 16): webrtc-rs 0.21 sends up to 64 datagrams of one size in one GSO
/// `sendmsg` and caps that at 65535 bytes, but the kernel takes at most 65507 (the
/// IP and UDP headers count), so a run of 53 datagrams of 1236 bytes (a 1080p
/// keyframe at 1200 bytes of payload) failed with EMSGSIZE and was lost whole. With
/// datagrams of at most 1023 bytes, 64 of them (the count cap) stay under the limit.
pub(crate) const VIDEO_PAYLOAD: usize = 960;
const _: () = assert!(64 * (VIDEO_PAYLOAD + 28 + 16) <= 65_507);

/// Packetizes encoded frames (VP8: RFC 7741, with picture ids; VP9: RFC 9628, flexible
/// mode) onto the video track, each with its codec's payload type.
pub(in crate::session) async fn write_video_rtp(
    frames: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<EncodedFrame>>>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ssrc: u32,
    video: Arc<VideoShared>,
) {
    use rtc::rtp::packetizer::Payloader;
    let mut vp8 = rtc::rtp::codec::vp8::Vp8Payloader::default();
    vp8.enable_picture_id = true;
    let mut vp9 = crate::video::rtp::Vp9Payloader::new();
    let mut pts: Option<VideoPts> = None;
    let mut asked = tokio::time::Instant::now();
    let mut seq: u16 = rand::random();
    let mut rx = frames.lock().await;
    while let Some(f) = rx.recv().await {
        // Read again now and then: a renegotiation can change them.
        if pts.is_none() || asked.elapsed() > Duration::from_secs(2) {
            pts = negotiated_pts(&sender).await.or(pts);
            asked = tokio::time::Instant::now();
        }
        let Some(pt) = pts.and_then(|p| p.of(f.codec)) else {
            if pts.is_some() && f.codec == Codec::Vp9 {
                // The description said VP9 but the connection did not take it: VP8
                // from the next picture on (a keyframe, as the encoder is new).
                tracing::warn!("VP9 not negotiated on the video sender; back to VP8");
                video.peer_vp9.store(false, Ordering::Relaxed);
            }
            continue;
        };
        let parts = match f.codec {
            Codec::Vp8 => vp8.payload(VIDEO_PAYLOAD, &f.data).unwrap_or_default(),
            Codec::Vp9 => vp9.payload(VIDEO_PAYLOAD, &f.data),
        };
        let count = parts.len();
        let mut pace = Pacer::new(video.target_kbps.load(Ordering::Relaxed));
        for (i, payload) in parts.into_iter().enumerate() {
            pace.before(payload.len()).await;
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

/// Spreads a large frame's packets out in time (a shared screen's keyframe is tens of
/// kilobytes): sent at once, hundreds of packets overflow a router's queue or the
/// receiver's socket buffer, and the loss brings a PLI, another large keyframe, and
/// the same again. The first `BURST` bytes of a frame go at once (a camera's frames
/// fit), the rest at 2.5 times the encoder's target rate (as libwebrtc's pacer), never
/// slower than `FLOOR_BPS`.
struct Pacer {
    start: tokio::time::Instant,
    bytes: usize,
    bps: f64,
}

impl Pacer {
    const BURST: usize = 16 * 1024;
    const FLOOR_BPS: f64 = 2_000_000.0;

    fn new(target_kbps: u32) -> Pacer {
        Pacer {
            start: tokio::time::Instant::now(),
            bytes: 0,
            bps: (f64::from(target_kbps) * 1000.0 * 2.5).max(Self::FLOOR_BPS),
        }
    }

    /// How long after the frame's start a packet of `len` more bytes may go.
    fn due(&mut self, len: usize) -> Duration {
        let over = self.bytes.saturating_sub(Self::BURST);
        self.bytes += len;
        Duration::from_secs_f64(over as f64 * 8.0 / self.bps)
    }

    async fn before(&mut self, len: usize) {
        let due = self.due(len);
        // Sleeps of under two milliseconds would only cost a timer each.
        if due > Duration::from_millis(2) {
            tokio::time::sleep_until(self.start + due).await;
        }
    }
}

/// Sends the video thread's PLI and REMB about the peer's current video stream.
pub(in crate::session) async fn send_video_feedback(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera's frame goes at once; a screen's keyframe is spread at 2.5 times the
    /// target rate once past the burst.
    #[test]
    fn large_frames_are_paced() {
        let mut p = Pacer::new(1_200);
        let mut last = Duration::ZERO;
        for _ in 0..16 {
            last = p.due(1_000);
        }
        assert_eq!(last, Duration::ZERO, "16 kB go at once");
        for _ in 0..24 {
            last = p.due(1_000);
        }
        // 40 kB in all: the 24 kB past the burst at 3 Mbit/s take about 61 ms.
        let ms = last.as_secs_f64() * 1000.0;
        assert!((55.0..65.0).contains(&ms), "{ms} ms");
        // A low target still paces at the floor, not slower.
        let mut slow = Pacer::new(100);
        for _ in 0..32 {
            last = slow.due(1_000);
        }
        let ms = last.as_secs_f64() * 1000.0;
        assert!((55.0..70.0).contains(&ms), "{ms} ms");
    }
}
