//! ICE restart on one connection (issue #19): new credentials both ways, new
//! candidates, and the call's media going on over DTLS as it was (no new handshake).
//! The signaling side's timing and wire format are tested in the banter crate
//! (jingle/session/restart); this is what the engine does with it.

use std::sync::Arc;
use std::time::Duration;

use banter_media::audio::analysis::{dominant_frequency, longest_gap_ms};
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, MediaConfig, MediaEvent, MediaSession};
use tokio::sync::mpsc;

fn config(tone: f32, wav: &std::path::Path) -> MediaConfig {
    let mut c = MediaConfig::new(SourceSpec::Tone(tone), SinkSpec::Wav(wav.to_path_buf()));
    c.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    c
}

type Rx = mpsc::UnboundedReceiver<MediaEvent>;

/// Forwards candidates both ways until both sides report `Connected`.
async fn until_connected(a: &MediaSession, ar: &mut Rx, b: &MediaSession, br: &mut Rx) {
    let (mut a_up, mut b_up) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(a_up && b_up) {
        tokio::select! {
            Some(ev) = ar.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => a_up = true,
                MediaEvent::Failed(e) => panic!("A failed: {e}"),
                _ => {}
            },
            Some(ev) = br.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => b_up = true,
                MediaEvent::Failed(e) => panic!("B failed: {e}"),
                _ => {}
            },
            _ = tokio::time::sleep_until(deadline) => panic!("not connected (A {a_up}, B {b_up})"),
        }
    }
}

/// Restarted twice on a working path, once from each side: each restart changes the
/// restarting side's credentials and the answerer's, the call reconnects, and the
/// tone goes on without a gap longer than the restart took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_from_either_side_keep_the_call() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("BANTER_LOG"))
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("b.wav");
    let (at, mut ar) = mpsc::unbounded_channel();
    let (bt, mut br) = mpsc::unbounded_channel();
    let a = Arc::new(
        MediaSession::new(config(440.0, &dir.path().join("a.wav")), at)
            .await
            .unwrap(),
    );
    let b = Arc::new(MediaSession::new(config(880.0, &b_wav), bt).await.unwrap());
    let offer = a.create_offer().await.unwrap();
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    until_connected(&a, &mut ar, &b, &mut br).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    for a_restarts in [true, false] {
        let (x, y) = if a_restarts { (&a, &b) } else { (&b, &a) };
        let x_before = x.ice_credentials().await.unwrap();
        let y_before = y.ice_credentials().await.unwrap();
        let x_new = x.restart_ice().await.unwrap();
        assert_ne!(x_new, x_before);
        let y_new = y
            .peer_restarted(x_new, true)
            .await
            .unwrap()
            .expect("an answer");
        assert_ne!(y_new, y_before);
        assert!(x.peer_restarted(y_new, false).await.unwrap().is_none());
        until_connected(&a, &mut ar, &b, &mut br).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // B (the recording) first: what it hears after A is gone is not the call's.
    b.close().await;
    a.close().await;
    let heard = hound::WavReader::open(&b_wav)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect::<Vec<_>>();
    let last = &heard[heard.len().saturating_sub(24_000)..];
    let f = dominant_frequency(last, 48_000);
    assert!(
        (f - 440.0).abs() <= 5.0,
        "B heard {f} Hz after the restarts"
    );
    let gap = longest_gap_ms(&heard[24_000..], 48_000, 300);
    assert!(gap < 500.0, "a gap of {gap} ms");
}
