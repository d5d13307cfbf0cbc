//! `banter camera-test`: the camera through the whole video path of a call (capture,
//! VP8, RTP over ICE and DTLS-SRTP, reassembly, decoding) between two local sessions,
//! so a person can check a camera before calling. The end-to-end tests use it to run
//! the V4L2 capture against a real kernel driver.

use std::time::Duration;

use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::video::io::VideoSource;
use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
use banter_media::{Cidr, MediaConfig, MediaError, MediaEvent, MediaSession};
use tokio::sync::mpsc;

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
}

/// Opens the camera first, so a missing or busy one is an error that says so, then
/// runs the two sessions for `duration` once connected. `on_stats` sees each second's
/// figures of the receiving side.
pub async fn run(
    video_in: VideoSourceSpec,
    video_out: VideoSinkSpec,
    duration: Duration,
    mut on_stats: impl FnMut(&banter_media::CallStats),
) -> Result<Report, MediaError> {
    use banter_media::video::{FPS, HEIGHT, WIDTH};
    let (camera, capture_width, capture_height, capture_fps) =
        match video_in.open(WIDTH, HEIGHT, FPS)? {
            VideoSource::Camera(c) => {
                let (w, h) = c.size();
                (c.name.clone(), w, h, c.fps)
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
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = MediaSession::new(a_cfg, atx).await?;
    let b = MediaSession::new(b_cfg, btx).await?;
    let offer = a.create_offer().await?;
    let answer = b.accept_offer(&offer).await?;
    a.accept_answer(&answer).await?;
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
    };
    let (mut rates, mut kbps) = (Vec::new(), Vec::new());
    let mut end: Option<tokio::time::Instant> = None;
    let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let result = loop {
        let deadline = end.unwrap_or(connect_deadline);
        tokio::select! {
            Some(ev) = arx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(c).await,
                MediaEvent::DeviceError(e) => break Err(MediaError::Camera(e)),
                MediaEvent::Failed(e) => break Err(e),
                MediaEvent::Stats(s) => {
                    if let Some(v) = s.video {
                        report.frames_sent = v.frames_sent;
                        kbps.push(v.send_kbps);
                    }
                }
                _ => {}
            },
            Some(ev) = brx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => {
                    end.get_or_insert(tokio::time::Instant::now() + duration);
                }
                MediaEvent::DeviceError(e) => break Err(MediaError::Device(e)),
                MediaEvent::Failed(e) => break Err(e),
                MediaEvent::Stats(s) => {
                    if let Some(v) = &s.video {
                        report.frames_decoded = v.frames_decoded;
                        report.width = v.width;
                        report.height = v.height;
                        rates.push(v.fps);
                    }
                    on_stats(&s);
                }
                _ => {}
            },
            _ = tokio::time::sleep_until(deadline) => {
                if end.is_some() {
                    break Ok(());
                }
                break Err(MediaError::Transport("the two local sessions did not connect".into()));
            }
        }
    };
    a.close().await;
    b.close().await;
    result?;
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
