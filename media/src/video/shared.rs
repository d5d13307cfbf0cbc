//! What the video thread shares with the session's tasks: the frames it hands the RTP
//! writer, the packets it is given, the RTCP it asks for, and its counters and flags.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8};

use bytes::Bytes;

use super::vpx::Codec;

/// One encoded frame for the RTP writer (90 kHz timestamp).
pub(crate) struct EncodedFrame {
    pub codec: Codec,
    pub ts: u32,
    pub data: Bytes,
}

/// One received RTP packet of the video stream.
pub(crate) struct VideoPacket {
    /// From its payload type.
    pub codec: Codec,
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub payload: Bytes,
}

/// RTCP the video thread wants sent about the peer's stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RtcpRequest {
    /// Picture loss: please send a keyframe.
    Pli,
    /// Our estimate of what the path carries to us, bits/s.
    Remb(u32),
}

/// Counters the video thread updates and the stats task reads.
#[derive(Default)]
pub(crate) struct VideoShared {
    pub stop: AtomicBool,
    pub connected: AtomicBool,
    /// Sending video (a video track is negotiated and the source is open).
    pub sending: AtomicBool,
    pub camera_off: AtomicBool,
    /// The agreed direction lets us only receive (a one-way video from the peer).
    pub may_not_send: AtomicBool,
    /// The configured source (camera) is open; until then black pictures stand in.
    pub source_open: AtomicBool,
    pub frames_sent: AtomicU64,
    pub frames_decoded: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub packets_received: AtomicU64,
    pub keyframes_asked: AtomicU64,
    pub width: AtomicU32,
    pub height: AtomicU32,
    pub target_kbps: AtomicU32,
    /// The peer decodes VP9 (its description has VP9 profile 0, and so has ours): a
    /// shared screen goes out in VP9.
    pub peer_vp9: AtomicBool,
    /// The peer decodes VP8 (every peer but one offering VP9 alone).
    pub peer_vp8: AtomicBool,
    /// `Codec::to_u8` of the last picture sent and of the last one decoded.
    pub send_codec: AtomicU8,
    pub recv_codec: AtomicU8,
}
