//! Entry points for the fuzz targets (fuzz/) and the corpus replay CI runs
//! (tests/fuzz_corpus.rs): what the media engine reads from peers and files.

// Fuzz entry points: a panic here is what the fuzzer is looking for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::audio::wav;
use crate::rtcp::{reported_loss, VideoFeedback};
use crate::turn_tcp::{frame_len, MAX_FRAME};
use crate::video::pattern::numbers_in_y4m;
use crate::video::rtp::{depacketize, is_keyframe, Assembler, Codec, Vp9Payloader};
use crate::video::vpx::keyframe_size;
use crate::video::y4m::read_y4m;

/// RTP payloads as the video reader hands them on: each record is sequence number (2),
/// timestamp (4), marker and codec (1: bit 0 the marker, bit 1 VP9 rather than VP8),
/// length (1), payload. (The name is the corpus's, from before VP9.)
pub fn vp8_rtp(data: &[u8]) {
    let mut a = Assembler::new();
    let mut rest = data;
    while let Some((head, tail)) = rest.split_first_chunk::<8>() {
        let seq = u16::from_be_bytes([head[0], head[1]]);
        let ts = u32::from_be_bytes([head[2], head[3], head[4], head[5]]);
        let marker = head[6] & 1 == 1;
        let codec = if head[6] & 2 == 0 {
            Codec::Vp8
        } else {
            Codec::Vp9
        };
        let len = (head[7] as usize).min(tail.len());
        let (payload, next) = tail.split_at(len);
        if let Some(part) = depacketize(codec, payload) {
            let _ = is_keyframe(codec, part.data);
            let _ = keyframe_size(codec, part.data);
        }
        for f in a.push(codec, seq, ts, marker, payload) {
            let _ = is_keyframe(f.codec, &f.data);
            let _ = keyframe_size(f.codec, &f.data);
            if f.codec == Codec::Vp9 {
                let _ = crate::video::vp9::largest_declared_size(&f.data);
                // What we would send of it comes back whole.
                let mut back = Assembler::new();
                let parts = Vp9Payloader::new().payload(300, &f.data);
                let n = parts.len();
                let mut whole = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    whole.extend(back.push(Codec::Vp9, i as u16, 1, i + 1 == n, p));
                }
                assert!(
                    f.data.is_empty() || whole.first().is_some_and(|w| w.data == f.data),
                    "a VP9 frame did not survive our packets"
                );
            }
        }
        rest = next;
    }
}

/// Inbound RTCP: webrtc-rs' parser, then what we read from it (loss, PLI, FIR, REMB).
pub fn rtcp(data: &[u8]) {
    let Ok(packets) = rtc::rtcp::packet::unmarshal(&mut &data[..]) else {
        return;
    };
    let ssrc = data
        .get(4..8)
        .map_or(1, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]).max(1));
    let fb = VideoFeedback::default();
    fb.ssrc.store(ssrc, std::sync::atomic::Ordering::Relaxed);
    fb.observe(&packets);
    let _ = reported_loss(&packets, ssrc);
}

/// TURN over TCP framing: every frame fits the bridge's buffer.
pub fn turn_framing(data: &[u8]) {
    for head in data.chunks_exact(4) {
        if let Some((len, padded)) = frame_len([head[0], head[1], head[2], head[3]]) {
            assert!(len <= padded && padded <= MAX_FRAME, "{len} {padded}");
        }
    }
}

/// WAV files given as `--audio-in`.
pub fn wav(data: &[u8]) {
    if let Ok(samples) = wav::read_48k_mono_from(std::io::Cursor::new(data), "fuzz") {
        // 48 kHz output from at most 384 kHz input of this many bytes.
        assert!(samples.len() <= data.len() * 48 + 48_000);
    }
}

/// Y4M files (recordings the tests read back).
pub fn y4m(data: &[u8]) {
    let _ = read_y4m(data);
    let _ = numbers_in_y4m(data);
}
