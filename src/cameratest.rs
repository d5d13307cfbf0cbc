//! `banter camera-test`: the camera through the whole video path of a call (capture,
//! VP8 — VP9 for a screen —, RTP over ICE and DTLS-SRTP, reassembly, decoding) between
//! two local sessions,
//! so a person can check a camera before calling. The end-to-end tests use it to run
//! the V4L2 capture against a real kernel driver.

use std::time::Duration;

use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::video::io::VideoSource;
use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
use banter_media::{Cidr, MediaConfig, MediaError};

/// What a camera test measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The camera's name (or "test pattern").
    pub camera: String,
    /// The size and rate the camera agreed to.
    pub capture_width: usize,
    pub capture_height: usize,
    pub capture_fps: u32,
    /// Pictures sent and decoded in all.
    pub frames_sent: u64,
    pub frames_decoded: u64,
    /// Of the last picture decoded.
    pub width: u32,
    pub height: u32,
    /// The median of the per-second decoded rates, the first second left out (it
    /// holds the connection set-up).
    pub fps: f32,
    pub send_kbps: f32,
    /// The codec the pictures came through in ("VP8", or "VP9" for a screen).
    pub codec: Option<&'static str>,
}

/// Opens the camera first, so a missing or busy one is an error that says so, then
/// runs the two sessions for `duration` once connected. `on_stats` sees each second's
/// figures of the receiving side.
pub async fn run(
    mut video_in: VideoSourceSpec,
    video_out: VideoSinkSpec,
    duration: Duration,
    mut on_stats: impl FnMut(&banter_media::CallStats),
) -> Result<Report, MediaError> {
    use banter_media::video::{FPS, HEIGHT, WIDTH};
    if let VideoSourceSpec::Screen(spec) = video_in {
        // On Wayland the desktop's dialog picks the screen (its size is known with
        // the first picture); on X11 the source is checked.
        video_in = VideoSourceSpec::Screen(banter_media::video::screen::prepare(spec).await?);
    }
    let (camera, capture_width, capture_height, capture_fps) =
        match video_in.open(WIDTH, HEIGHT, FPS)? {
            VideoSource::Camera(c) => {
                let (w, h) = c.size();
                (c.name.clone(), w, h, c.fps)
            }
            VideoSource::Screen(s) => {
                let (w, h) = s.size();
                let fps = banter_media::video::screen_fps(banter_media::video::SCREEN_START_KBPS);
                ("the screen".to_string(), w, h, fps)
            }
            VideoSource::Portal(_) => {
                let fps = banter_media::video::screen_fps(banter_media::video::SCREEN_START_KBPS);
                (
                    "the screen the desktop's dialog picked".to_string(),
                    0,
                    0,
                    fps,
                )
            }
            _ if video_in.is_none() => {
                return Err(MediaError::NoCamera(" (--video-in none)".into()));
            }
            _ => ("test pattern".to_string(), WIDTH, HEIGHT, FPS),
        }; // the camera closes here; the sending session opens it again
    let loopback = vec![Cidr::parse("127.0.0.0/8")?];
    let mut a_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    a_cfg.video_in = video_in;
    a_cfg.send_video = true;
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    b_cfg.video_out = video_out;
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.allow = loopback.clone();
    }
    let mut report = Report {
        camera,
        capture_width,
        capture_height,
        capture_fps,
        frames_sent: 0,
        frames_decoded: 0,
        width: 0,
        height: 0,
        fps: 0.0,
        send_kbps: 0.0,
        codec: None,
    };
    let (mut rates, mut kbps) = (Vec::new(), Vec::new());
    let mut frames_sent = 0;
    crate::soundtest::loopback_pair(
        a_cfg,
        b_cfg,
        duration,
        MediaError::Camera,
        |s| {
            if let Some(v) = &s.video {
                frames_sent = v.frames_sent;
                kbps.push(v.send_kbps);
            }
        },
        |s| {
            if let Some(v) = &s.video {
                report.frames_decoded = v.frames_decoded;
                report.width = v.width;
                report.height = v.height;
                report.codec = v.recv_codec.map(|c| c.name()).or(report.codec);
                rates.push(v.fps);
            }
            on_stats(s);
        },
    )
    .await?;
    report.frames_sent = frames_sent;
    if report.capture_width == 0 {
        // A portal's stream: its size is what came through (never scaled but past
        // full HD, where it is halved).
        (report.capture_width, report.capture_height) =
            (report.width as usize, report.height as usize);
    }
    if report.frames_decoded == 0 {
        return Err(MediaError::Camera(format!(
            "no picture from {} came through",
            report.camera
        )));
    }
    report.fps = median(rates.get(1..).unwrap_or(&[]));
    report.send_kbps = median(kbps.get(1..).unwrap_or(&[]));
    Ok(report)
}

fn median(v: &[f32]) -> f32 {
    let mut v = v.to_vec();
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
