//! Benchmark of a 1:1 audio call between two local sessions (both directions, Opus
//! complexity 9, 20 ms frames): CPU per endpoint and one-way latency capture→playout
//! (device buffers excluded), optionally through a relay that drops packets. With
//! `video`, both sides also send the 640x480 test pattern at 30 fps (VP8) and the
//! figures include the video received at B. With `video-unbundled`, the same with the
//! video on a connection of its own (as with Dino, which does not bundle).
//!
//!     cargo run --release -p banter-media --example call_bench -- [SECONDS] [LOSS] [video|video-unbundled]
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::netsim::LossyRelay;
use banter_media::{Cidr, LatencyProbe, MediaConfig, MediaEvent, MediaSession};
use tokio::sync::mpsc;

/// CPU time (user + system) of this process so far, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn percentile(v: &mut [f32], p: f32) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f32 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20.0);
    let loss: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let unbundled = args.get(3).is_some_and(|a| a == "video-unbundled");
    let video = unbundled || args.get(3).is_some_and(|a| a == "video");
    let probe = Arc::new(LatencyProbe::default());
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Tone(880.0), SinkSpec::Null);
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
        cfg.probe = Some(probe.clone());
        if video {
            cfg.video_in = banter_media::video::VideoSourceSpec::Pattern;
            cfg.send_video = true;
        }
    }
    a_cfg.bundle = !unbundled;
    let relay = if loss > 0.0 {
        Some(LossyRelay::start(loss, 0).await)
    } else {
        None
    };
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = MediaSession::new(a_cfg, atx).await.expect("session A");
    let b = MediaSession::new(b_cfg, btx).await.expect("session B");
    let offer = a.create_offer().await.expect("offer");
    let answer = b.accept_offer(&offer).await.expect("answer");
    a.accept_answer(&answer).await.expect("accept");
    let mut connected = 0;
    let mut measuring: Option<(Instant, f64)> = None;
    let mut last_b = None;
    loop {
        if let Some((t0, _)) = measuring {
            if t0.elapsed().as_secs_f64() >= seconds {
                break;
            }
        }
        tokio::select! {
            Some(ev) = arx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => {
                    let c = match &relay { Some(r) => r.rewrite(c, true), None => c };
                    b.add_remote_candidate(c).await
                }
                // The video's own transport (unbundled) does not pass the relay.
                MediaEvent::VideoCandidate(c) => b.add_remote_video_candidate(c).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            Some(ev) = brx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => {
                    let c = match &relay { Some(r) => r.rewrite(c, false), None => c };
                    a.add_remote_candidate(c).await
                }
                MediaEvent::VideoCandidate(c) => a.add_remote_video_candidate(c).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Stats(s) => last_b = Some(s),
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if connected == 2 && measuring.is_none() {
            // Let the jitter buffers settle, then measure.
            tokio::time::sleep(Duration::from_secs(1)).await;
            measuring = Some((Instant::now(), cpu_seconds()));
        }
    }
    let Some((t0, cpu0)) = measuring else {
        panic!("never connected")
    };
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    a.close().await;
    b.close().await;
    let mut lat = probe.samples();
    let stats = last_b.unwrap_or_default();
    let v = stats.video.clone().unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "seconds": wall,
            "loss": loss,
            "cpu_pct_per_endpoint": cpu / wall / 2.0 * 100.0,
            "latency_ms_median": percentile(&mut lat, 0.5),
            "latency_ms_p95": percentile(&mut lat, 0.95),
            "frames_measured": lat.len(),
            "fec_recovered_at_b": stats.fec_recovered,
            "concealed_at_b": stats.concealed,
            "loss_pct_at_b": stats.loss_pct,
            "video": video.then(|| serde_json::json!({
                "unbundled": unbundled,
                "fps_at_b": v.fps,
                "size_at_b": format!("{}x{}", v.width, v.height),
                "frames_decoded_at_b": v.frames_decoded,
                "recv_kbps_at_b": v.recv_kbps,
                "target_kbps_at_b": v.target_kbps,
            })),
        })
    );
}
