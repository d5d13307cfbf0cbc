//! One direction of a call between two local sessions carrying recorded speech, with
//! the packets through a relay that drops and delays them: A plays SPEECH.wav (looped)
//! into the call, B records what it plays out to OUT.wav. Scored afterwards with
//! wide-band PESQ (scripts/speech-bench.sh runs the conditions and the scoring).
//!
//!     cargo run --release -p banter-media --example speech_quality -- SPEECH.wav OUT.wav LOSS JITTER_MS SECONDS
//!
//! Prints one JSON line with B's receive figures.

use std::time::Duration;

use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::netsim::LossyRelay;
use banter_media::{Cidr, MediaConfig, MediaEvent, MediaSession};
use tokio::sync::mpsc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(speech), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: speech_quality SPEECH.wav OUT.wav LOSS JITTER_MS SECONDS");
        std::process::exit(2);
    };
    let loss: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let jitter: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds: f64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let mut a_cfg = MediaConfig::new(SourceSpec::Wav(speech.into()), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(out.into()));
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.allow = vec![Cidr::parse("127.0.0.0/8").expect("cidr")];
    }
    let relay = LossyRelay::start(loss, jitter).await;
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = MediaSession::new(a_cfg, atx).await.expect("session A");
    let b = MediaSession::new(b_cfg, btx).await.expect("session B");
    let offer = a.create_offer().await.expect("offer");
    let answer = b.accept_offer(&offer).await.expect("answer");
    a.accept_answer(&answer).await.expect("accept");
    let mut connected = 0;
    let mut until = None;
    let mut last_b = None;
    loop {
        if until.is_some_and(|t| tokio::time::Instant::now() >= t) {
            break;
        }
        tokio::select! {
            Some(ev) = arx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(relay.rewrite(c, true)).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            Some(ev) = brx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(relay.rewrite(c, false)).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Stats(s) => last_b = Some(s),
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if connected == 2 && until.is_none() {
            until = Some(tokio::time::Instant::now() + Duration::from_secs_f64(seconds));
        }
    }
    a.close().await;
    b.close().await;
    let s = last_b.unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "loss": loss, "jitter_ms": jitter, "seconds": seconds,
            "loss_pct_at_b": s.loss_pct, "fec_recovered_at_b": s.fec_recovered,
            "concealed_at_b": s.concealed, "jitter_buffer_ms_at_b": s.jitter_target_ms,
            "bitrate_of_a": s.bitrate,
        })
    );
}
