//! One direction of a call between two local sessions carrying recorded speech, with
//! the packets through a relay that drops and delays them: A plays SPEECH.wav (looped)
//! into the call, B records what it plays out to OUT.wav. Scored afterwards with
//! wide-band PESQ (scripts/speech-bench.sh runs the conditions and the scoring).
//!
//!     cargo run --release -p banter-media --example speech_quality -- SPEECH.wav OUT.wav LOSS JITTER_MS SECONDS [red|plain]
//!
//! Prints one JSON line with B's receive figures.

use banter_media::netsim::{one_way_speech, Loss};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(speech), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: speech_quality SPEECH.wav OUT.wav LOSS JITTER_MS SECONDS [red|plain]");
        std::process::exit(2);
    };
    // `0.05`: random loss; `ge0.05`: bursty (Gilbert-Elliott, bursts of 3 on average).
    let loss = args
        .get(3)
        .and_then(|s| Loss::parse(s))
        .unwrap_or(Loss::Random(0.0));
    let jitter: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds: f64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    // `plain`: Opus packets without RED's copies (what a peer without RED gets).
    let red = args.get(6).map(String::as_str) != Some("plain");
    let s = one_way_speech(speech.as_ref(), out.as_ref(), loss, jitter, seconds, red).await;
    println!(
        "{}",
        serde_json::json!({
            "loss": format!("{loss:?}"), "jitter_ms": jitter, "seconds": seconds, "red": red,
            "loss_pct_at_b": s.loss_pct, "fec_recovered_at_b": s.fec_recovered,
            "red_recovered_at_b": s.red_recovered, "concealed_at_b": s.concealed, "jitter_buffer_ms_at_b": s.jitter_target_ms,
            "bitrate_of_a": s.bitrate,
        })
    );
}
