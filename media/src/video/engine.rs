//! The video engine: one thread per call that captures, encodes and hands frames to the
//! RTP writer at the frame rate, and between frames reassembles, decodes and shows what
//! arrives. Packets come and go through channels; the thread never blocks on the
//! network.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::Ordering;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::convert::halve;
use super::io::{VideoSinkSpec, VideoSource};
use super::receive::Receiver;
pub(crate) use super::shared::{EncodedFrame, RtcpRequest, VideoPacket, VideoShared};
use super::vpx::{Codec, Content, Decoder, Encoder};
use super::I420;
use crate::events::MediaEvent;
use crate::rtcp::VideoFeedback;

pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 480;
pub const FPS: u32 = 30;
/// Encoder bitrate bounds, kbit/s (640x480@30 looks good at ~1 Mbit/s).
pub const MIN_KBPS: u32 = 100;
pub const START_KBPS: u32 = 800;
pub const MAX_KBPS: u32 = 1_500;
/// Below this the picture is sent at half size (320x240): at a few hundred kbit/s a
/// sharp small picture beats a blocky large one. Back to full size above `FULL_KBPS`
/// (the gap keeps it from flapping).
pub const HALF_KBPS: u32 = 300;
pub const FULL_KBPS: u32 = 450;
/// A shared screen: sharp text at full HD takes more than a face, and its frame rate
/// (5–15 fps) is what gives way when the path is narrow, not its detail.
pub const SCREEN_MIN_KBPS: u32 = 150;
pub const SCREEN_START_KBPS: u32 = 1_200;
pub const SCREEN_MAX_KBPS: u32 = 2_500;
pub const SCREEN_MIN_FPS: u32 = 5;
pub const SCREEN_MAX_FPS: u32 = 15;

/// The frame rate of a shared screen at this bitrate: 15 fps from 1.5 Mbit/s down to
/// 5 fps at 500 kbit/s and below, so each picture keeps about 100 kbit.
pub fn screen_fps(kbps: u32) -> u32 {
    (kbps / 100).clamp(SCREEN_MIN_FPS, SCREEN_MAX_FPS)
}

/// Encoder time a shared screen may take, per second: 180 ms (18 % of a core). With
/// capture, conversion and audio the sharing side then stays near the 25 % goal; a
/// page that scrolls costs VP9 ~24 ms a picture at full HD on a 2-core VM, which
/// would be 36-40 % at 15 fps (BENCHMARKS.md). Frames give way, as libwebrtc does for
/// screens ("maintain resolution"), never below 5 a second.
const SCREEN_ENCODE_MS_PER_S: f64 = 180.0;

/// The most pictures a second the encoder's recent cost (`encode_ms` a picture, a
/// moving average) allows for a screen.
pub fn screen_cpu_fps(encode_ms: f64) -> u32 {
    if encode_ms <= 0.0 {
        return SCREEN_MAX_FPS;
    }
    ((SCREEN_ENCODE_MS_PER_S / encode_ms) as u32).clamp(SCREEN_MIN_FPS, SCREEN_MAX_FPS)
}

/// The sender's bitrate: up 8 % a second while the peer loses under 2 %, down with
/// heavy loss, never above the peer's REMB nor above the send-side estimate (GCC on the
/// peer's transport-cc feedback) less what audio needs.
#[derive(Debug, Clone)]
pub struct RateControl {
    kbps: f64,
    min: f64,
    max: f64,
}

impl Default for RateControl {
    fn default() -> Self {
        RateControl {
            kbps: START_KBPS as f64,
            min: MIN_KBPS as f64,
            max: MAX_KBPS as f64,
        }
    }
}

impl RateControl {
    pub fn kbps(&self) -> u32 {
        self.kbps as u32
    }

    /// The bounds of a camera or of a shared screen. Switching keeps what the path was
    /// found to carry; a screen starts at its own start rate if that is lower.
    pub fn set_screen(&mut self, screen: bool) {
        let (min, max, start) = if screen {
            (SCREEN_MIN_KBPS, SCREEN_MAX_KBPS, SCREEN_START_KBPS)
        } else {
            (MIN_KBPS, MAX_KBPS, START_KBPS)
        };
        if (self.min, self.max) == (min as f64, max as f64) {
            return;
        }
        if self.kbps == START_KBPS as f64 || self.kbps == SCREEN_START_KBPS as f64 {
            // Nothing learnt yet: the start rate of what is sent now.
            self.kbps = start as f64;
        }
        (self.min, self.max) = (min as f64, max as f64);
        self.kbps = self.kbps.clamp(self.min, self.max);
    }

    /// Once a second: the loss the peer reports (0–1), its REMB and our transport-cc
    /// estimate (bits/s), each if any.
    pub fn update(
        &mut self,
        loss: Option<f32>,
        remb_bps: Option<u32>,
        estimate_bps: Option<u32>,
    ) -> u32 {
        match loss {
            Some(l) if l > 0.10 => self.kbps *= 1.0 - 0.5 * l as f64,
            Some(l) if l < 0.02 => self.kbps *= 1.08,
            None => self.kbps *= 1.08,
            _ => {}
        }
        if let Some(r) = remb_bps.filter(|r| *r > 0) {
            // Leave room for audio and packet overhead.
            self.kbps = self.kbps.min(r as f64 / 1000.0 * 0.9);
        }
        if let Some(e) = estimate_bps.filter(|e| *e > 0) {
            // The estimate covers everything sent: audio takes up to ~40 kbit/s.
            self.kbps = self.kbps.min(e as f64 / 1000.0 * 0.95 - 40.0);
        }
        self.kbps = self.kbps.clamp(self.min, self.max);
        self.kbps()
    }
}

/// What we tell the peer it may send us (REMB), from the loss we see: up 8 % a second
/// under 2 % loss (as Dino), down by the loss fraction above 10 % and never above what
/// arrived, so Dino and libwebrtc senders adapt to our path within seconds.
#[derive(Debug, Clone)]
pub struct RembEstimate {
    bps: f64,
}

impl Default for RembEstimate {
    fn default() -> Self {
        RembEstimate { bps: 1_000_000.0 }
    }
}

impl RembEstimate {
    pub fn update(&mut self, received_bps: f64, loss: f32) -> u32 {
        if loss > 0.10 {
            self.bps = (self.bps * (1.0 - loss as f64)).min(received_bps);
        } else {
            if loss < 0.02 {
                self.bps *= 1.08;
            }
            // Not below what arrives on a path that carries it.
            self.bps = self.bps.max(received_bps * 0.9);
        }
        self.bps = self.bps.clamp(100_000.0, 5_000_000.0);
        self.bps as u32
    }
}

pub(crate) struct VideoThread {
    pub source: Option<VideoSource>,
    pub sink: VideoSinkSpec,
    pub shared: Arc<VideoShared>,
    pub feedback: Arc<VideoFeedback>,
    pub out: mpsc::UnboundedSender<EncodedFrame>,
    pub incoming: std_mpsc::Receiver<VideoPacket>,
    /// Sources switched in during the call (camera toggled on, content added).
    /// With the share's number (0 for anything but a screen shared mid-call).
    pub switch: std_mpsc::Receiver<(VideoSource, u64)>,
    pub rtcp: mpsc::UnboundedSender<RtcpRequest>,
    pub events: mpsc::UnboundedSender<MediaEvent>,
}

pub(crate) fn run(t: VideoThread) {
    let VideoThread {
        mut source,
        sink,
        shared,
        feedback,
        out,
        incoming,
        switch,
        rtcp,
        events,
    } = t;
    let device_error = |e: crate::error::MediaError| {
        let _ = events.send(MediaEvent::DeviceError(e.to_string()));
    };
    let mut sink = sink.open().unwrap_or_else(|e| {
        device_error(e);
        super::io::VideoSink::Null
    });
    let preview = match &sink {
        super::io::VideoSink::View(v) => Some(v.clone()),
        _ => None,
    };
    let decoder = match Decoder::new(Codec::Vp8) {
        Ok(d) => d,
        Err(e) => {
            device_error(e);
            return;
        }
    };
    let mut rx = Receiver::new(decoder);
    let mut encoder: Option<Encoder> = None;
    let mut black = I420::new(WIDTH, HEIGHT);
    let mut rate = RateControl::default();
    let mut remb = RembEstimate::default();
    let start = Instant::now();
    let ts0: u32 = rand::random();
    let mut next_frame = Instant::now();
    let mut next_second = Instant::now() + Duration::from_secs(1);
    let mut key_requests_seen = feedback.key_requests.load(Ordering::Relaxed);
    let mut last_forced: Option<Instant> = None;
    let mut reports_seen = 0;
    let (mut last_expected, mut last_received, mut last_bytes, mut last_late) =
        (0u64, 0u64, 0u64, 0u64);
    let mut frame_no = 0u64;
    // The number of the screen being shared (`share_screen`).
    let mut share = 0u64;
    // What encoding a screen's picture has cost lately, ms (a moving average).
    let mut encode_ms = 0.0f64;
    let mut half_size = false;
    let mut echoed = 0u64;
    let mut small = I420::new(WIDTH / 2, HEIGHT / 2);
    while !shared.stop.load(Ordering::Acquire) {
        let screen = source.as_ref().is_some_and(VideoSource::is_screen);
        rate.set_screen(screen);
        let fps = if screen {
            screen_fps(rate.kbps()).min(screen_cpu_fps(encode_ms))
        } else {
            FPS
        };
        let interval = Duration::from_secs(1) / fps;
        let sending = source.is_some()
            && shared.connected.load(Ordering::Acquire)
            && !shared.may_not_send.load(Ordering::Relaxed);
        let now = Instant::now();
        let until = if sending {
            next_frame.min(next_second)
        } else {
            next_second
        };
        match incoming.recv_timeout(until.saturating_duration_since(now)) {
            Ok(p) => {
                rx.take(p, &mut sink, &shared, &rtcp, &events);
                continue;
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(until.saturating_duration_since(now));
            }
        }
        if let Ok((s, n)) = switch.try_recv() {
            share = n;
            // A screen is shown from its first picture: the camera's off switch is
            // cleared here, with the switch, so that no picture of a camera the user
            // turned off goes out in between.
            if s.is_screen() {
                shared.camera_off.store(false, Ordering::Relaxed);
            }
            source = Some(s);
            shared.sending.store(true, Ordering::Relaxed);
            // The profile (screen or camera) and frame rate follow the new source.
            continue;
        }
        let now = Instant::now();
        if now >= next_second {
            next_second += Duration::from_secs(1);
            // Our estimate of the path to us, for the peer (REMB).
            let (exp, got, late) = (rx.expected(), rx.received, rx.late);
            let (d_exp, d_got) = (exp - last_expected.min(exp), got - last_received.min(got));
            let d_late = late - last_late.min(late);
            let loss = if d_exp > 0 {
                ((d_exp + d_late).saturating_sub(d_got) as f32 / d_exp as f32).min(1.0)
            } else {
                0.0
            };
            let bytes = shared.bytes_received.load(Ordering::Relaxed);
            if d_got > 0 {
                let bps = remb.update((bytes - last_bytes) as f64 * 8.0, loss);
                let _ = rtcp.send(RtcpRequest::Remb(bps));
            }
            (last_expected, last_received, last_bytes, last_late) = (exp, got, bytes, late);
            // Our sending rate, from what the peer reports.
            if let Some(enc) = encoder.as_mut() {
                let reports = feedback.reports.load(Ordering::Relaxed);
                let loss = (reports != reports_seen)
                    .then(|| f32::from_bits(feedback.loss.load(Ordering::Relaxed)));
                reports_seen = reports;
                let remb = Some(feedback.remb_bps.load(Ordering::Relaxed));
                let estimate = Some(feedback.twcc_bps.load(Ordering::Relaxed));
                let before = rate.kbps();
                let kbps = rate.update(loss, remb, estimate);
                if kbps != before {
                    enc.set_bitrate(kbps);
                }
                if screen {
                    // A screen gives up frames, not detail (`screen_fps`).
                    half_size = false;
                } else if kbps < HALF_KBPS && !half_size {
                    tracing::info!(kbps, "video at 320x240 for the available bandwidth");
                    half_size = true;
                } else if kbps > FULL_KBPS && half_size {
                    tracing::info!(kbps, "video back at full size");
                    half_size = false;
                }
                shared.target_kbps.store(kbps, Ordering::Relaxed);
                if screen {
                    tracing::debug!(encode_ms, fps, kbps, "screen");
                }
            }
        }
        if !sending || now < next_frame {
            continue;
        }
        next_frame += interval;
        if now > next_frame + Duration::from_millis(200) {
            next_frame = now + interval;
        }
        let Some(src) = source.as_mut() else {
            continue;
        };
        let camera_off = shared.camera_off.load(Ordering::Relaxed);
        frame_no += 1;
        if camera_off && frame_no % 6 != 1 {
            continue; // black pictures five times a second are enough
        }
        let picture = if camera_off {
            Ok(Some(&black))
        } else if matches!(src, VideoSource::Echo) {
            // The peer's own picture, each one once (a repeat would only say the same
            // picture twice, and show the peer a stutter).
            let decoded = shared.frames_decoded.load(Ordering::Relaxed);
            let fresh = rx.picture.width > 0 && decoded != echoed;
            echoed = decoded;
            Ok(fresh.then_some(&rx.picture))
        } else {
            src.capture()
        };
        let picture = match picture {
            Ok(Some(p)) if half_size => {
                halve(p, &mut small);
                &small
            }
            Ok(Some(p)) => p,
            Ok(None) => {
                // No new camera (or echoed) picture yet: look again shortly rather
                // than wait for it here, where arriving packets would wait too.
                if matches!(
                    src,
                    VideoSource::Camera(_) | VideoSource::Echo | VideoSource::Portal(_)
                ) {
                    next_frame = now + Duration::from_millis(4);
                }
                continue;
            }
            Err(e) if screen => {
                // The shared window closed, or the screen can no longer be read:
                // sharing stops (black until the front end switches back to the
                // camera); the call goes on.
                let _ = events.send(MediaEvent::ScreenShareEnded { error: e, share });
                shared.source_open.store(false, Ordering::Relaxed);
                shared.camera_off.store(true, Ordering::Relaxed);
                source = Some(VideoSource::Black(std::mem::replace(
                    &mut black,
                    I420::new(WIDTH, HEIGHT),
                )));
                continue;
            }
            Err(e) => {
                // The camera went away: black frames from now on, the call goes on.
                device_error(e);
                source = Some(VideoSource::Black(std::mem::replace(
                    &mut black,
                    I420::new(WIDTH, HEIGHT),
                )));
                continue;
            }
        };
        // A screen in VP9 where the peer decodes it (sharper text for the bits); the
        // camera in VP8, cheaper to encode and what every peer takes (but one that
        // offers VP9 alone).
        let (vp8, vp9) = (
            shared.peer_vp8.load(Ordering::Relaxed),
            shared.peer_vp9.load(Ordering::Relaxed),
        );
        let codec = if vp9 && (screen || !vp8) {
            Codec::Vp9
        } else {
            Codec::Vp8
        };
        if encoder.as_ref().is_none_or(|e| {
            e.size() != (picture.width, picture.height)
                || matches!(e.content(), Content::Screen { .. }) != screen
                || e.codec() != codec
        }) {
            let content = if screen {
                Content::Screen { fps }
            } else {
                Content::Camera
            };
            let (w, h, kbps) = (picture.width, picture.height, rate.kbps());
            match Encoder::with_content(codec, w, h, kbps, content) {
                Ok(e) => {
                    tracing::debug!(%codec, w, h, screen, "video encoder");
                    encode_ms = 0.0;
                    shared.send_codec.store(codec.to_u8(), Ordering::Relaxed);
                    encoder = Some(e);
                }
                Err(e) => {
                    device_error(e);
                    source = None;
                    continue;
                }
            }
        }
        let Some(enc) = encoder.as_mut() else {
            continue;
        };
        let requests = feedback.key_requests.load(Ordering::Relaxed);
        // Keyframes on request, but not more than every 300 ms: a burst of PLIs for
        // one loss would otherwise flood the path with keyframes.
        let force = requests != key_requests_seen
            && last_forced.is_none_or(|t| t.elapsed() >= Duration::from_millis(300));
        if force {
            key_requests_seen = requests;
            last_forced = Some(Instant::now());
        }
        let pts = (now.duration_since(start).as_micros() * 9 / 100) as i64;
        let ts = ts0.wrapping_add(pts as u32);
        let codec = enc.codec();
        let began = Instant::now();
        let encoded = enc.encode(picture, pts, force);
        // A screen's cost, keyframes left out (a few, and large by design).
        if screen && matches!(&encoded, Ok(Some(e)) if !e.keyframe) {
            let ms = began.elapsed().as_secs_f64() * 1000.0;
            encode_ms = if encode_ms > 0.0 {
                0.9 * encode_ms + 0.1 * ms
            } else {
                ms
            };
        }
        match encoded {
            Ok(Some(e)) => {
                shared
                    .bytes_sent
                    .fetch_add(e.data.len() as u64, Ordering::Relaxed);
                shared.frames_sent.fetch_add(1, Ordering::Relaxed);
                let _ = out.send(EncodedFrame {
                    codec,
                    ts,
                    data: Bytes::copy_from_slice(e.data),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "video encode"),
        }
        if let Some(v) = &preview {
            if frame_no.is_multiple_of(2) && !camera_off {
                v.put_local(picture);
            }
        }
    }
    if let Err(e) = sink.finish() {
        device_error(e);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn rate_follows_loss_and_remb() {
        let mut r = RateControl::default();
        // A clean path: up 8 % a second to the ceiling.
        for _ in 0..20 {
            r.update(Some(0.0), None, None);
        }
        assert_eq!(r.kbps(), MAX_KBPS);
        // 30 % loss: down 15 % a second.
        let k = r.update(Some(0.3), None, None);
        assert!(k.abs_diff((MAX_KBPS as f64 * 0.85) as u32) <= 1, "{k}");
        // Moderate loss holds the rate.
        assert_eq!(r.update(Some(0.05), None, None), k);
        // The peer's REMB caps it (with room for audio).
        assert_eq!(r.update(Some(0.0), Some(400_000), None), 360);
        // So does the transport-cc estimate, less audio.
        assert_eq!(r.update(Some(0.0), None, Some(400_000)), 340);
        // Never below the floor.
        for _ in 0..50 {
            r.update(Some(0.5), None, None);
        }
        assert_eq!(r.kbps(), MIN_KBPS);
    }

    #[test]
    fn a_screen_gives_up_frames_before_detail() {
        assert_eq!(screen_fps(2_500), 15);
        assert_eq!(screen_fps(1_500), 15);
        assert_eq!(screen_fps(1_000), 10);
        assert_eq!(screen_fps(500), 5);
        assert_eq!(screen_fps(150), 5);
        let mut r = RateControl::default();
        r.set_screen(true);
        assert_eq!(
            r.kbps(),
            SCREEN_START_KBPS,
            "nothing learnt: the screen's start"
        );
        for _ in 0..20 {
            r.update(Some(0.0), None, None);
        }
        assert_eq!(r.kbps(), SCREEN_MAX_KBPS);
        // Back to the camera: within its bounds.
        r.set_screen(false);
        assert_eq!(r.kbps(), MAX_KBPS);
        // A narrow path learnt on the camera is kept for the screen.
        r.update(Some(0.0), Some(400_000), None);
        r.set_screen(true);
        assert_eq!(r.kbps(), 360);
    }

    /// A screen that costs the encoder much gives up frames, down to 5 a second.
    #[test]
    fn a_costly_screen_gives_up_frames_for_the_cpu() {
        assert_eq!(screen_cpu_fps(0.0), 15, "nothing measured yet");
        assert_eq!(screen_cpu_fps(8.0), 15);
        assert_eq!(screen_cpu_fps(12.0), 15);
        assert_eq!(screen_cpu_fps(24.0), 7);
        assert_eq!(screen_cpu_fps(60.0), 5);
    }

    #[test]
    fn remb_grows_on_a_clean_path_and_drops_with_loss() {
        let mut e = RembEstimate::default();
        let clean = e.update(800_000.0, 0.0);
        assert!(clean > 1_000_000);
        let lossy = e.update(800_000.0, 0.2);
        assert!(lossy <= 800_000, "{lossy}");
    }
}
