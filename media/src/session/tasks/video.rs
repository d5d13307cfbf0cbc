//! The video's tasks: VP8 registered and its track added, its RTP written from the
//! video engine's pictures, and its feedback (PLI, REMB) sent.

use super::super::*;

/// VP8 as we register and offer it.
pub(in crate::session) fn vp8_codec() -> RTCRtpCodec {
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
pub(in crate::session) async fn negotiated_pt(
    sender: &Arc<dyn webrtc::rtp_transceiver::RtpSender>,
) -> Option<u8> {
    sender
        .get_parameters()
        .await
        .ok()
        .and_then(|p| p.rtp_parameters.codecs.first().map(|c| c.payload_type))
}

/// Packetizes encoded VP8 frames (RFC 7741, with picture ids) onto the video track.
pub(in crate::session) async fn write_video_rtp(
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
