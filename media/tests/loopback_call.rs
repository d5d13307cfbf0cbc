//! Two media sessions in one process, descriptions and candidates exchanged directly:
//! audio both ways, checked by what arrives.

use std::sync::Arc;
use std::time::Duration;

use banter_media::audio::analysis::{dominant_frequency, longest_gap_ms};
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, LatencyProbe, MediaConfig, MediaEvent, MediaSession};
use tokio::sync::mpsc;

fn loopback(cfg: &mut MediaConfig) {
    cfg.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
}

struct Side {
    session: Arc<MediaSession>,
    events: mpsc::UnboundedReceiver<MediaEvent>,
}

async fn side(cfg: MediaConfig) -> (Arc<MediaSession>, mpsc::UnboundedReceiver<MediaEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(MediaSession::new(cfg, tx).await.unwrap()), rx)
}

/// Offer/answer plus trickled candidates forwarded both ways until connected.
async fn call(a_cfg: MediaConfig, b_cfg: MediaConfig) -> (Side, Side) {
    let (a, mut a_rx) = side(a_cfg).await;
    let (b, mut b_rx) = side(b_cfg).await;
    let offer = a.create_offer().await.unwrap();
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    let (mut a_up, mut b_up) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(a_up && b_up) {
        tokio::select! {
            Some(ev) = a_rx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => a_up = true,
                MediaEvent::Failed(e) => panic!("A failed: {e}"),
                _ => {}
            },
            Some(ev) = b_rx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => b_up = true,
                MediaEvent::Failed(e) => panic!("B failed: {e}"),
                _ => {}
            },
            _ = tokio::time::sleep_until(deadline) => panic!("not connected in 15 s"),
        }
    }
    (
        Side {
            session: a,
            events: a_rx,
        },
        Side {
            session: b,
            events: b_rx,
        },
    )
}

async fn close(s: Side) {
    drop(s.events);
    if let Ok(session) = Arc::try_unwrap(s.session) {
        session.close().await;
    }
}

fn read_wav(path: &std::path::Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_cross_both_ways_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let a_wav = dir.path().join("a.wav");
    let b_wav = dir.path().join("b.wav");
    let probe = Arc::new(LatencyProbe::default());
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Wav(a_wav.clone()));
    let mut b_cfg = MediaConfig::new(SourceSpec::Tone(880.0), SinkSpec::Wav(b_wav.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    a_cfg.probe = Some(probe.clone());
    b_cfg.probe = Some(probe.clone());
    let (a, mut b) = call(a_cfg, b_cfg).await;
    // Stats arrive once a second with packets counted.
    let mut stats = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(MediaEvent::Stats(s))) =
            tokio::time::timeout_at(deadline, b.events.recv()).await
        {
            stats = Some(s);
        }
    }
    let stats = stats.expect("stats events");
    assert!(stats.audio_packets_received > 100, "{stats:?}");
    assert_eq!(
        stats.candidate_pair,
        Some(banter_media::CandidateKind::Host),
        "{stats:?}"
    );
    assert!(stats.loss_pct < 1.0, "{stats:?}");
    close(a).await;
    close(b).await;

    let at_b = read_wav(&b_wav);
    let at_a = read_wav(&a_wav);
    assert!(at_b.len() > 48_000 * 3, "B recorded {} samples", at_b.len());
    // Skip the first half second (connection set-up, buffer fill).
    let fb = dominant_frequency(&at_b[24_000..], 48_000);
    let fa = dominant_frequency(&at_a[24_000..], 48_000);
    assert!((fb - 440.0).abs() <= 5.0, "B heard {fb} Hz");
    assert!((fa - 880.0).abs() <= 5.0, "A heard {fa} Hz");
    let gap = longest_gap_ms(&at_b[24_000..], 48_000, 300);
    assert!(gap < 40.0, "dropout of {gap} ms at B");
    let median = probe.median_ms().expect("latency measured");
    println!(
        "one-way latency median {median:.1} ms over {} frames",
        probe.samples().len()
    );
    assert!(median < 100.0);
}
