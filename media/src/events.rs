//! What a session reports: events for the signaling side and the once-a-second
//! figures of a call.

use std::sync::Mutex;
use std::time::Instant;

use crate::description::{Candidate, CandidateKind};
use crate::error::MediaError;

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
    /// Frames played from a redundant copy (RED) of a lost packet.
    pub red_recovered: u64,
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
    /// The codec of the last picture sent and of the last one decoded.
    pub send_codec: Option<crate::video::vpx::Codec>,
    pub recv_codec: Option<crate::video::vpx::Codec>,
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
    /// The path to the peer is gone after media flowed (ICE disconnected or failed):
    /// an ICE restart may find it again; `Connected` follows when media flows again.
    PathLost,
    /// The session cannot go on.
    Failed(MediaError),
    /// A device failed; the call goes on (with silence in or no sound out).
    DeviceError(String),
    /// A microphone or speaker switch asked for during the call took effect: the new
    /// device is in use from this tick on (a device picker can say so).
    AudioDeviceSwitched(AudioDevice),
    /// Something the user should know that does not stop the call (a relay refused
    /// for its certificate), in words.
    Warning(String),
    /// The first packet from the peer was decoded (once per session).
    AudioReceived,
    /// The first picture from the peer was decoded, or its size or codec changed (a
    /// screen shared, the camera back).
    VideoReceived {
        width: usize,
        height: usize,
        codec: crate::video::vpx::Codec,
    },
    /// The screen being shared can no longer be read (its window was closed): black
    /// pictures are sent from now on; the front end goes back to the camera if it
    /// was on (`MediaSession::share_screen(None, …)`).
    ScreenShareEnded {
        error: MediaError,
        /// The share's number (given to `share_screen`; 0 for a screen shared from
        /// the call's start): a late word about a share already replaced says so.
        share: u64,
    },
}

/// Which side of the audio a device is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioDevice {
    Input,
    Output,
}

/// Capture instants by RTP timestamp on one side, looked up at playout on the other.
#[derive(Default, Debug)]
pub struct LatencyProbe {
    sent: Mutex<Vec<(u32, Instant)>>,
    samples: Mutex<Vec<f32>>,
}

impl LatencyProbe {
    pub(crate) fn on_capture(&self, ts: u32, at: Instant) {
        if let Ok(mut s) = self.sent.lock() {
            if s.len() >= 512 {
                s.remove(0);
            }
            s.push((ts, at));
        }
    }

    pub(crate) fn on_playout(&self, ts: u32) {
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
