//! A call in progress as the window shows it: its state, quality, video and
//! screen sharing.

use std::collections::VecDeque;

use super::{CallPhase, QualitySample, VideoTexture};
use crate::t;

#[derive(Debug, Clone, PartialEq)]
pub struct ActiveCall {
    pub id: String,
    pub peer: String,
    pub phase: CallPhase,
    pub muted: bool,
    /// We put the call on hold.
    pub held: bool,
    /// What the peer told us (session-info).
    pub peer_muted: bool,
    pub peer_held: bool,
    /// The network path to the peer is lost and being found again (ICE restart).
    pub reconnecting: bool,
    /// Seconds since the call became active.
    pub elapsed_s: u64,
    /// The microphone's level, also while muted (before muting).
    pub mic_level_dbfs: f32,
    /// Seconds in a row the (unmuted) microphone delivered digital silence.
    pub silent_s: u32,
    pub quality: VecDeque<QualitySample>,
    /// The call carries video (from the start, or added).
    pub video: bool,
    /// Our camera is sending.
    pub camera_on: bool,
    /// The peer turned its camera off (session-info).
    pub peer_camera_off: bool,
    /// The peer's latest picture and our own preview, as textures the window updates
    /// in place (one upload per new picture).
    pub remote_video: Option<VideoTexture>,
    pub local_video: Option<VideoTexture>,
    /// e.g. "640x480 · 30 fps · 700 kb/s"
    pub video_info: Option<String>,
    /// The peer's media fingerprint came OMEMO-encrypted: `true` from a device the
    /// user verified.
    pub omemo_verified: Option<bool>,
    /// Our video is a shared screen.
    pub sharing: bool,
    /// Whether the camera was on when sharing began (it is again afterwards).
    pub camera_before_sharing: bool,
    /// The "Share your screen" picker is open: what can be shared (empty while the
    /// screen is being looked at).
    pub screen_picker: Option<Vec<ScreenChoice>>,
    /// The peer's picture at its own size (scrolled) rather than fitted: for reading
    /// a shared screen.
    pub video_actual_size: bool,
}

/// A monitor or window offered in the screen picker.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenChoice {
    /// What `UiCommand::ShareScreen` names it by (`monitor:0`, `window:TITLE`).
    pub key: String,
    /// The window's title; `None` for a monitor, numbered by `number`.
    pub title: Option<String>,
    pub number: usize,
    pub width: u16,
    pub height: u16,
    pub thumbnail: Option<VideoTexture>,
}

impl ActiveCall {
    /// A call just placed or answered: nothing muted or held, no samples yet.
    pub fn new(id: impl Into<String>, peer: impl Into<String>, phase: CallPhase) -> ActiveCall {
        ActiveCall {
            id: id.into(),
            peer: peer.into(),
            phase,
            muted: false,
            held: false,
            peer_muted: false,
            peer_held: false,
            reconnecting: false,
            elapsed_s: 0,
            mic_level_dbfs: -100.0,
            silent_s: 0,
            quality: VecDeque::new(),
            video: false,
            camera_on: false,
            peer_camera_off: false,
            remote_video: None,
            local_video: None,
            video_info: None,
            omemo_verified: None,
            sharing: false,
            camera_before_sharing: false,
            screen_picker: None,
            video_actual_size: false,
        }
    }

    /// A plain-language verdict from the last seconds.
    pub fn verdict(&self) -> String {
        let recent: Vec<&QualitySample> = self.quality.iter().rev().take(5).collect();
        if recent.is_empty() {
            return t!("common-quality-measuring");
        }
        let loss = recent.iter().map(|q| q.loss_pct).sum::<f32>() / recent.len() as f32;
        let rtt = recent.iter().map(|q| q.rtt_ms).sum::<f32>() / recent.len() as f32;
        let jitter = recent.iter().map(|q| q.jitter_ms).sum::<f32>() / recent.len() as f32;
        if loss > 10.0 || rtt > 400.0 || jitter > 60.0 {
            t!("common-quality-poor")
        } else if loss > 3.0 || rtt > 200.0 || jitter > 30.0 {
            t!("common-quality-fair")
        } else {
            t!("common-quality-good")
        }
    }
}
