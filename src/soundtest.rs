//! `banter sound-test`: the whole media pipeline (capture, processing, Opus, ICE,
//! DTLS-SRTP, jitter buffer, playout) looped between two local sessions, so a person
//! can hear their microphone through their speaker and see the measured latency.

use std::sync::Arc;
use std::time::Duration;

use banter_media::audio::echo::Processing;
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, LatencyProbe, MediaConfig, MediaError, MediaEvent, MediaSession};
use tokio::sync::mpsc;

/// What a sound test measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Median one-way latency capture→playout, device buffers excluded.
    pub latency_ms: f32,
    /// Loudest capture level seen (dBFS).
    pub level_in_max: f32,
    /// Loudest playout level seen (dBFS).
    pub level_out_max: f32,
    pub packets: u64,
}

/// Runs the loop for `duration`; `on_stats` sees each second's figures of the
/// receiving side. Device problems are errors here: finding them is the point.
pub async fn run(
    audio_in: SourceSpec,
    audio_out: SinkSpec,
    processing: Processing,
    duration: Duration,
    mut on_stats: impl FnMut(&banter_media::CallStats),
) -> Result<Report, MediaError> {
    let probe = Arc::new(LatencyProbe::default());
    let loopback = vec![Cidr::parse("127.0.0.0/8")?];
    let mut a_cfg = MediaConfig::new(audio_in, SinkSpec::Null);
    a_cfg.processing = processing;
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, audio_out);
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.allow = loopback.clone();
        cfg.probe = Some(probe.clone());
    }
    let mut report = Report {
        latency_ms: 0.0,
        level_in_max: -100.0,
        level_out_max: -100.0,
        packets: 0,
    };
    let mut level_in_max = -100.0f32;
    loopback_pair(
        a_cfg,
        b_cfg,
        duration,
        MediaError::Device,
        |s| level_in_max = level_in_max.max(s.audio_level_in),
        |s| {
            report.level_out_max = report.level_out_max.max(s.audio_level_out);
            report.packets = s.audio_packets_received;
            on_stats(s);
        },
    )
    .await?;
    report.level_in_max = level_in_max;
    report.latency_ms = probe
        .median_ms()
        .ok_or_else(|| MediaError::Transport("no audio went through".into()))?;
    Ok(report)
}

/// Two sessions of this process in a call over loopback (the self-tests): A offers, B
/// answers, candidates cross, and the call runs for `duration` once connected. `on_a`
/// and `on_b` see each side's stats every second; a device problem on either side is
/// an error, worded by `device_error`.
pub(crate) async fn loopback_pair(
    a_cfg: MediaConfig,
    b_cfg: MediaConfig,
    duration: Duration,
    device_error: fn(String) -> MediaError,
    mut on_a: impl FnMut(&banter_media::CallStats),
    mut on_b: impl FnMut(&banter_media::CallStats),
) -> Result<(), MediaError> {
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = MediaSession::new(a_cfg, atx).await?;
    let b = MediaSession::new(b_cfg, btx).await?;
    let offer = a.create_offer().await?;
    let answer = b.accept_offer(&offer).await?;
    a.accept_answer(&answer).await?;
    let mut end: Option<tokio::time::Instant> = None;
    let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let result = loop {
        let deadline = end.unwrap_or(connect_deadline);
        tokio::select! {
            Some(ev) = arx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(c).await,
                MediaEvent::DeviceError(e) | MediaEvent::Failed(MediaError::Device(e)) => {
                    break Err(device_error(e))
                }
                MediaEvent::Failed(e) => break Err(e),
                MediaEvent::Stats(s) => on_a(&s),
                _ => {}
            },
            Some(ev) = brx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => {
                    end.get_or_insert(tokio::time::Instant::now() + duration);
                }
                MediaEvent::DeviceError(e) | MediaEvent::Failed(MediaError::Device(e)) => {
                    break Err(device_error(e))
                }
                MediaEvent::Failed(e) => break Err(e),
                MediaEvent::Stats(s) => on_b(&s),
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
    result
}
