//! Two media sessions in one process, descriptions and candidates exchanged directly:
//! audio both ways, checked by what arrives.

// The CORES guard below is held across awaits on purpose: it orders whole tests, each
// on a thread and runtime of its own, and no task of a test waits for it.
#![allow(clippy::await_holding_lock)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use banter_media::audio::analysis::{dominant_frequency, longest_gap_ms};
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::netsim::LossyRelay;
use banter_media::{Cidr, LatencyProbe, MediaConfig, MediaEvent, MediaSession};
use tokio::sync::mpsc;

/// The video tests load both cores: each runs alone, so that the timing-sensitive
/// tests beside it (audio loss, frame rates) measure the code, not their neighbour.
static CORES: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn heavy() -> std::sync::RwLockWriteGuard<'static, ()> {
    CORES.write().unwrap_or_else(|e| e.into_inner())
}

fn light() -> std::sync::RwLockReadGuard<'static, ()> {
    CORES.read().unwrap_or_else(|e| e.into_inner())
}

fn loopback(cfg: &mut MediaConfig) {
    cfg.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
}

struct Side {
    session: Arc<MediaSession>,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    /// Other events seen while connecting.
    early: Vec<MediaEvent>,
}

async fn side(cfg: MediaConfig) -> (Arc<MediaSession>, mpsc::UnboundedReceiver<MediaEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(MediaSession::new(cfg, tx).await.unwrap()), rx)
}

/// Offer/answer plus trickled candidates forwarded both ways until connected.
async fn call(a_cfg: MediaConfig, b_cfg: MediaConfig) -> (Side, Side) {
    call_via(a_cfg, b_cfg, None).await
}

/// Like `call`, but every packet passes the relay (candidates rewritten to it).
async fn call_via(
    a_cfg: MediaConfig,
    b_cfg: MediaConfig,
    relay: Option<&LossyRelay>,
) -> (Side, Side) {
    match call_within(a_cfg, b_cfg, relay, 15).await {
        Ok(sides) => sides,
        Err(e) => panic!("{e}"),
    }
}

/// Like `call_via`, connected within `secs` seconds (else the test fails), or the
/// failure either side reported.
async fn call_within(
    a_cfg: MediaConfig,
    b_cfg: MediaConfig,
    relay: Option<&LossyRelay>,
    secs: u64,
) -> Result<(Side, Side), String> {
    let (a, mut a_rx) = side(a_cfg).await;
    let (b, mut b_rx) = side(b_cfg).await;
    let offer = a.create_offer().await.unwrap();
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    let through = |c: banter_media::Candidate, from_a: bool| match relay {
        None => c,
        Some(r) => r.rewrite(c, from_a),
    };
    let (mut a_up, mut b_up) = (false, false);
    let (mut a_early, mut b_early) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !(a_up && b_up) {
        tokio::select! {
            Some(ev) = a_rx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => {
                    a_early.push(MediaEvent::LocalCandidate(c.clone()));
                    b.add_remote_candidate(through(c, true)).await
                }
                MediaEvent::Connected { .. } => a_up = true,
                MediaEvent::Failed(e) => {
                    let why = format!("A failed: {e} ({e:?})");
                    a.close().await;
                    b.close().await;
                    return Err(why);
                }
                other => a_early.push(other),
            },
            Some(ev) = b_rx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => {
                    b_early.push(MediaEvent::LocalCandidate(c.clone()));
                    a.add_remote_candidate(through(c, false)).await
                }
                MediaEvent::Connected { .. } => b_up = true,
                MediaEvent::Failed(e) => {
                    let why = format!("B failed: {e} ({e:?})");
                    a.close().await;
                    b.close().await;
                    return Err(why);
                }
                other => b_early.push(other),
            },
            _ = tokio::time::sleep_until(deadline) => panic!("not connected in {secs} s"),
        }
    }
    Ok((
        Side {
            session: a,
            events: a_rx,
            early: a_early,
        },
        Side {
            session: b,
            events: b_rx,
            early: b_early,
        },
    ))
}

async fn close(s: Side) {
    drop(s.events);
    s.session.close().await;
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
    let _cores = light();
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

/// A call through a lossy relay; `red`: A offers RED (B is another Banter).
async fn lossy_call(loss: f64, jitter_ms: u64, red: bool) {
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("b.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(b_wav.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    a_cfg.red = red;
    let relay = LossyRelay::start(loss, jitter_ms).await;
    let (mut a, mut b) = call_via(a_cfg, b_cfg, Some(&relay)).await;
    let mut last = None;
    let mut sender_stats = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(ev) = b.events.recv() => if let MediaEvent::Stats(s) = ev { last = Some(s) },
            Some(ev) = a.events.recv() => if let MediaEvent::Stats(s) = ev { sender_stats = Some(s) },
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    let sender_stats = sender_stats.expect("sender stats");
    close(a).await;
    close(b).await;
    let stats = last.expect("stats");
    let dropped = relay.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let rec = read_wav(&b_wav);
    let gap = longest_gap_ms(&rec[24_000..], 48_000, 300);
    let f = dominant_frequency(&rec[24_000..], 48_000);
    println!(
        "loss {loss} jitter {jitter_ms} ms: dropped {dropped}, stats {stats:?}, longest gap {gap} ms, {f} Hz"
    );
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz");
    assert!(gap <= 60.0, "gap of {gap} ms");
    if loss > 0.0 && red {
        assert!(dropped > 10, "the relay dropped {dropped}");
        // Lost frames come back whole from the next packet's copy: far more of them
        // than from FEC or concealment together.
        assert!(
            stats.red_recovered > 2 * (stats.fec_recovered + stats.concealed),
            "{stats:?}"
        );
    } else if loss > 0.0 {
        assert!(dropped > 10, "the relay dropped {dropped}");
        assert_eq!(stats.red_recovered, 0, "no RED was offered: {stats:?}");
        // Most lost frames come back from the next packet's FEC (the jitter buffer
        // leaves room for it under loss), fewer are concealed.
        assert!(stats.fec_recovered > stats.concealed, "{stats:?}");
        // The receiver's reports of the loss made the sender raise its rate, for its
        // FEC (random loss is not congestion; until #21 it was lowered below 32).
        assert!(
            sender_stats.bitrate > banter_media::audio::codec::START_BITRATE,
            "{sender_stats:?}"
        );
    }
    if jitter_ms > 0 {
        assert!(
            stats.jitter_target_ms >= 40,
            "jitter buffer grew: {stats:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_is_recovered() {
    let _cores = light();
    lossy_call(0.10, 0, false).await;
}

/// Issue #21: between two Banters the audio carries RED (RFC 2198) copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_is_recovered_from_red_copies() {
    let _cores = light();
    lossy_call(0.10, 0, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_with_30ms_jitter_is_recovered() {
    let _cores = light();
    lossy_call(0.10, 30, false).await;
}

/// Issue #19 item 0: DTLS flights lost on a bad path are a slow handshake, not an
/// attack. Before, 2 of 6 calls at 20 % random loss ended "security error" (the
/// handshake took over 6 s, which was taken for a refused certificate). Now, of 20
/// calls in a row through 20 % loss of every packet each way, none ends with a
/// security error: each connects and carries the tone, or fails as a connectivity
/// problem, said in words.
///
/// Not yet all 20 connect: webrtc-rs' DTLS server (rtc-dtls 0.21.1, handshaker.rs
/// `wait`) cancels its flight-4 retransmit timer when the client's retransmitted
/// ClientHello arrives and never resends flight 4, so a call whose flight 4 is lost
/// twice never completes its handshake (about 1 in 8 calls here; see issue #19's note).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_20_percent_loss_connect_or_fail_as_connectivity() {
    let _cores = light();
    // RUST_LOG=rtc_dtls=debug shows each handshake's flights.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut setup = Vec::new();
    let mut failures = Vec::new();
    for i in 0..20u64 {
        let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
        let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
        loopback(&mut a_cfg);
        loopback(&mut b_cfg);
        let relay = LossyRelay::start_losing_everything(0.20, 1 + i).await;
        let started = std::time::Instant::now();
        let (a, mut b) = match call_within(a_cfg, b_cfg, Some(&relay), 40).await {
            Ok(sides) => sides,
            Err(why) => {
                assert!(
                    !why.contains("FingerprintMismatch") && why.contains("DTLS"),
                    "call {i}: {why}"
                );
                failures.push(why);
                continue;
            }
        };
        setup.push(started.elapsed().as_secs_f32());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
        let heard = loop {
            tokio::select! {
                Some(ev) = b.events.recv() => match ev {
                    MediaEvent::Stats(s) if s.audio_level_out > -30.0 => break true,
                    MediaEvent::Failed(e) => panic!("call {i}: B failed: {e}"),
                    _ => {}
                },
                _ = tokio::time::sleep_until(deadline) => break false,
            }
        };
        assert!(heard, "call {i}: no tone at B within 6 s of connecting");
        close(a).await;
        close(b).await;
    }
    setup.sort_by(f32::total_cmp);
    eprintln!(
        "20 calls at 20 % loss: {} connected (setup median {:.1} s, slowest {:.1} s), {} failed: {failures:?}",
        setup.len(),
        setup.get(setup.len() / 2).copied().unwrap_or_default(),
        setup.last().copied().unwrap_or_default(),
        failures.len()
    );
    assert!(setup.len() >= 10, "{failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprint_mismatch_is_refused_and_nothing_plays() {
    let _cores = light();
    let dir = tempfile::tempdir().unwrap();
    let a_wav = dir.path().join("a.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Wav(a_wav.clone()));
    let mut b_cfg = MediaConfig::new(SourceSpec::Tone(880.0), SinkSpec::Null);
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    let (a, mut a_rx) = side(a_cfg).await;
    let (b, mut b_rx) = side(b_cfg).await;
    let offer = a.create_offer().await.unwrap();
    let mut answer = b.accept_offer(&offer).await.unwrap();
    // Someone in the signaling path swapped the certificate fingerprint.
    let v = &mut answer.fingerprint.value;
    let flipped = if v.starts_with('A') { "B" } else { "A" };
    v.replace_range(0..1, flipped);
    a.accept_answer(&answer).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let failure = loop {
        tokio::select! {
            Some(ev) = a_rx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(c).await,
                MediaEvent::Connected { .. } => panic!("connected despite a wrong fingerprint"),
                MediaEvent::Failed(e) => break e,
                _ => {}
            },
            Some(ev) = b_rx.recv() => if let MediaEvent::LocalCandidate(c) = ev { a.add_remote_candidate(c).await },
            _ = tokio::time::sleep_until(deadline) => panic!("no failure reported"),
        }
    };
    assert!(
        matches!(failure, banter_media::MediaError::FingerprintMismatch),
        "{failure}"
    );
    close(Side {
        session: a,
        events: a_rx,
        early: vec![],
    })
    .await;
    close(Side {
        session: b,
        events: b_rx,
        early: vec![],
    })
    .await;
    let rec = read_wav(&a_wav);
    assert!(
        rec.iter().all(|&s| s == 0),
        "audio was played despite the security error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_microphone_is_an_event_and_the_call_goes_on() {
    let _cores = light();
    let mut a_cfg = MediaConfig::new(
        SourceSpec::Mic(Some("no-such-microphone".into())),
        SinkSpec::Null,
    );
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    let (mut a, mut b) = call(a_cfg, b_cfg).await;
    let mut device_error = a.early.iter().find_map(|e| match e {
        MediaEvent::DeviceError(m) => Some(m.clone()),
        _ => None,
    });
    let mut received = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(ev) = a.events.recv() => if let MediaEvent::DeviceError(e) = ev { device_error = Some(e) },
            Some(ev) = b.events.recv() => if let MediaEvent::Stats(s) = ev { received = s.audio_packets_received },
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    let msg = device_error.expect("device error event");
    assert!(
        msg.contains("no microphone found") || msg.contains("audio device"),
        "{msg}"
    );
    assert!(received > 50, "the call went on: {received} packets");
    close(a).await;
    close(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_through_coturn() {
    let _cores = light();
    let turn = support::Coturn::start();
    relay_only_call(&turn, turn.url()).await;
}

/// The TURN server is reachable only over TCP (coturn --no-udp): webrtc-rs alone would
/// skip it; the bridge carries the allocation over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_through_coturn_over_tcp() {
    let _cores = light();
    let turn = support::Coturn::start_tcp_only();
    relay_only_call(&turn, turn.tcp_url()).await;
}

async fn relay_only_call(turn: &support::Coturn, url: String) {
    let dir = tempfile::tempdir().unwrap();
    let b_wav = dir.path().join("b.wav");
    let server = banter_media::IceServer {
        urls: vec![url],
        username: turn.username.clone(),
        credential: turn.password.clone(),
    };
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(b_wav.clone()));
    for cfg in [&mut a_cfg, &mut b_cfg] {
        loopback(cfg);
        cfg.relay_only = true;
        cfg.ice_servers = vec![server.clone()];
    }
    let (a, mut b) = call(a_cfg, b_cfg).await;
    // Every candidate signaled was a relay one: no local address left the machine.
    let signaled: Vec<_> = a
        .early
        .iter()
        .chain(b.early.iter())
        .filter_map(|ev| match ev {
            MediaEvent::LocalCandidate(c) => Some(c.kind),
            _ => None,
        })
        .collect();
    assert!(!signaled.is_empty());
    assert!(
        signaled
            .iter()
            .all(|k| *k == banter_media::CandidateKind::Relay),
        "{signaled:?}"
    );
    let mut pair = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(MediaEvent::Stats(s))) =
            tokio::time::timeout_at(deadline, b.events.recv()).await
        {
            pair = s.candidate_pair;
        }
    }
    assert_eq!(pair, Some(banter_media::CandidateKind::Relay));
    close(a).await;
    close(b).await;
    let rec = read_wav(&b_wav);
    let f = dominant_frequency(&rec[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz");
}

/// Devices switch during a call: A changes what it sends (440 → 880 Hz) and B changes
/// where it plays (first recording → second), and a device that cannot be opened is
/// reported while the current one goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_switch_live_during_a_call() {
    let _cores = light();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.wav");
    let second = dir.path().join("second.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(first.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    let (a, mut b) = call(a_cfg, b_cfg).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.session.set_audio_in(SourceSpec::Tone(880.0));
    b.session.set_audio_out(SinkSpec::Wav(second.clone()));
    // The switch took effect (said by the engine, not assumed after a pause) …
    let switched = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(switched, b.events.recv()).await {
            Ok(Some(MediaEvent::AudioDeviceSwitched(banter_media::AudioDevice::Output))) => break,
            Ok(Some(_)) => {}
            other => panic!("the speaker switch was not reported: {other:?}"),
        }
    }
    // … then a sink that cannot be opened: reported, and the 880 Hz tone goes on.
    b.session
        .set_audio_out(SinkSpec::Wav("/nonexistent/dir/x.wav".into()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut device_error = None;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(MediaEvent::DeviceError(e))) =
            tokio::time::timeout_at(deadline, b.events.recv()).await
        {
            device_error = Some(e);
        }
    }
    assert!(device_error.is_some(), "the bad device was reported");
    close(a).await;
    close(b).await;
    let before = read_wav(&first);
    let after = read_wav(&second);
    assert!(before.len() > 48_000, "{} samples before", before.len());
    assert!(after.len() > 48_000, "{} samples after", after.len());
    let f = dominant_frequency(&before[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz before the switch");
    let f = dominant_frequency(&after[24_000..], 48_000);
    assert!((f - 880.0).abs() <= 5.0, "{f} Hz after the switch");
}

/// An echo test service: B sends back what it hears a second later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_source_sends_back_what_it_hears_a_second_later() {
    let _cores = light();
    let dir = tempfile::tempdir().unwrap();
    let a_wav = dir.path().join("a.wav");
    let b_wav = dir.path().join("b.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Wav(a_wav.clone()));
    let mut b_cfg = MediaConfig::new(SourceSpec::Echo(1000), SinkSpec::Wav(b_wav.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    let (a, b) = call(a_cfg, b_cfg).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    close(a).await;
    close(b).await;
    let at_a = read_wav(&a_wav);
    let at_b = read_wav(&b_wav);
    let onset = |pcm: &[i16]| pcm.iter().position(|s| s.abs() > 2000).expect("sound");
    let delay = (onset(&at_a) as f32 - onset(&at_b) as f32) / 48_000.0;
    assert!((0.95..1.3).contains(&delay), "echo after {delay} s");
    let start = onset(&at_a) + 4_800;
    let f = dominant_frequency(&at_a[start..start + 24_000], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz came back");
}

/// Collects stats events from a side for `secs` seconds.
async fn stats_for(side: &mut Side, secs: u64) -> Vec<banter_media::CallStats> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, side.events.recv()).await {
        if let MediaEvent::Stats(s) = ev {
            all.push(s);
        }
    }
    all
}

/// The burned-in frame numbers of a Y4M recording, checked to increase with no long
/// gaps; returns how many pictures it holds.
fn check_pattern_recording(path: &std::path::Path, size: (usize, usize)) -> usize {
    use banter_media::video::pattern;
    let data = std::fs::read(path).unwrap();
    let (wh, numbers) = pattern::numbers_in_y4m(&data).expect("a Y4M file");
    assert_eq!(wh, size);
    assert!(numbers.len() > 10, "{numbers:?}");
    assert!(
        pattern::increasing(&numbers, 5),
        "frame numbers must increase without long gaps: {numbers:?}"
    );
    numbers.len()
}

/// A video call both ways with the test pattern: the receiver decodes 640x480 at
/// 25 fps or more, the numbers burned into the pictures arrive in order, and the
/// bitrate is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_video_both_ways_at_640x480() {
    let _cores = heavy();
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let b_y4m = dir.path().join("b.y4m");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Tone(880.0), SinkSpec::Null);
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.video_in = VideoSourceSpec::Pattern;
        cfg.send_video = true;
    }
    b_cfg.video_out = VideoSinkSpec::Y4m(b_y4m.clone());
    let (a, mut b) = call(a_cfg, b_cfg).await;
    let stats = stats_for(&mut b, 6).await;
    close(a).await;
    close(b).await;
    let video: Vec<_> = stats.iter().filter_map(|s| s.video.clone()).collect();
    println!("{video:#?}");
    assert!(video.len() >= 5, "{stats:?}");
    let last = video.last().unwrap();
    assert_eq!((last.width, last.height), (640, 480));
    assert!(last.frames_sent > 100, "{last:?}");
    // Sustained: every second after the first two.
    for v in &video[2..] {
        assert!(v.fps >= 25.0, "{v:?}");
        assert!(v.recv_kbps > 100.0 && v.send_kbps > 100.0, "{v:?}");
        assert!(v.target_kbps >= 100, "{v:?}");
        // The peer's transport-cc feedback feeds our send-side estimate.
        assert!(v.estimate_kbps.is_some_and(|e| e >= 100), "{v:?}");
    }
    let frames = check_pattern_recording(&b_y4m, (640, 480));
    assert!(
        frames as u64 + 5 >= last.frames_decoded,
        "{frames} {last:?}"
    );
}

/// Video added to an audio call (what Jingle content-add carries): renegotiated on the
/// same connection, and the other side decodes the pattern; the audio goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_added_mid_call() {
    let _cores = heavy();
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let b_y4m = dir.path().join("b.y4m");
    let b_wav = dir.path().join("b.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(b_wav.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    b_cfg.video_out = VideoSinkSpec::Y4m(b_y4m.clone());
    // A's camera is configured, but the call starts as an audio call.
    a_cfg.video_in = VideoSourceSpec::Pattern;
    let (a, mut b) = call(a_cfg, b_cfg).await;
    assert!(!a.session.sends_video());
    let audio_only = stats_for(&mut b, 2).await;
    assert!(
        audio_only.iter().all(|s| s.video.is_none()),
        "{audio_only:?}"
    );
    // Offered, then taken back before B answered (the camera turned off again)...
    let first = a.session.add_video().await.unwrap();
    assert_eq!(first.contents.len(), 2, "{first:?}");
    a.session.cancel_video_offer().await;
    // ...and offered again (webrtc-rs gives the content a new name after the
    // rollback; Jingle does not mind), and this time it is answered.
    let offer = a.session.add_video().await.unwrap();
    assert_eq!(offer.contents.len(), 2, "{offer:?}");
    // B has no camera: its side of the content sends black pictures.
    assert!(b.session.add_video().await.is_err());
    let answer = b.session.accept_offer(&offer).await.unwrap();
    a.session.accept_answer(&answer).await.unwrap();
    assert!(a.session.sends_video());
    let stats = stats_for(&mut b, 4).await;
    close(a).await;
    close(b).await;
    let last = stats
        .iter()
        .rev()
        .find_map(|s| s.video.clone())
        .expect("video stats");
    assert!(last.frames_decoded > 50, "{last:?}");
    assert!(last.fps >= 25.0, "{last:?}");
    check_pattern_recording(&b_y4m, (640, 480));
    let at_b = read_wav(&b_wav);
    let f = last_second_hz(&at_b);
    assert!(
        (f - 440.0).abs() <= 5.0,
        "B heard {f} Hz after the video was added"
    );
}

/// Video over a path that loses 20 % of RTP packets: the receiver's REMB and loss
/// reports bring the sender's bitrate down until the picture drops to 320x240, and
/// pictures keep being decoded (lost ones recovered by NACK or a requested keyframe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_adapts_to_a_lossy_path() {
    let _cores = heavy();
    use banter_media::video::VideoSourceSpec;
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    a_cfg.video_in = VideoSourceSpec::Pattern;
    a_cfg.send_video = true;
    let relay = LossyRelay::start(0.20, 0).await;
    let (mut a, mut b) = call_via(a_cfg, b_cfg, Some(&relay)).await;
    let mut sent = Vec::new();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        tokio::select! {
            Some(ev) = b.events.recv() => if let MediaEvent::Stats(s) = ev { got.extend(s.video) },
            Some(ev) = a.events.recv() => if let MediaEvent::Stats(s) = ev { sent.extend(s.video) },
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    close(a).await;
    close(b).await;
    let targets: Vec<u32> = sent.iter().map(|v| v.target_kbps).collect();
    let sizes: Vec<(u32, u32)> = got.iter().map(|v| (v.width, v.height)).collect();
    let decoded: Vec<u64> = got.iter().map(|v| v.frames_decoded).collect();
    println!("targets {targets:?}\nsizes {sizes:?}\ndecoded {decoded:?}");
    let low = *targets.iter().min().unwrap();
    assert!(low < 300, "the bitrate never came down: {targets:?}");
    assert_eq!(sizes.last(), Some(&(320, 240)), "{sizes:?}");
    // Still moving at the end, not frozen: pictures decoded in the last three seconds.
    // 20 % random loss costs keyframes now and then (runs here decoded as few as 4 or 5
    // pictures in three seconds, the same before and after session 4's changes), so the
    // bar is a frozen picture, not a rate.
    let n = decoded.len();
    assert!(n >= 4 && decoded[n - 1] > decoded[n - 4] + 2, "{decoded:?}");
    assert!(got.last().unwrap().keyframes_asked > 0, "{got:?}");
}

/// What one side of a running call saw.
#[derive(Default)]
struct Seen {
    stats: Vec<banter_media::CallStats>,
    connected: bool,
    errors: Vec<String>,
}

/// A side's stats so far, readable while the call runs.
type Live = Arc<std::sync::Mutex<Vec<banter_media::CallStats>>>;

/// Forwards a side's candidates (both transports) to the other side for `secs`
/// seconds, keeping its stats and errors, its stats also in `live` as they come.
fn pump_live(
    mut rx: mpsc::UnboundedReceiver<MediaEvent>,
    other: Arc<MediaSession>,
    secs: u64,
    live: Live,
) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut seen = Seen::default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            match ev {
                MediaEvent::LocalCandidate(c) => other.add_remote_candidate(c).await,
                MediaEvent::VideoCandidate(c) => other.add_remote_video_candidate(c).await,
                MediaEvent::Connected { .. } => seen.connected = true,
                MediaEvent::Stats(s) => {
                    if let Ok(mut l) = live.lock() {
                        l.push(s.clone());
                    }
                    seen.stats.push(s)
                }
                MediaEvent::Failed(e) => seen.errors.push(e.to_string()),
                MediaEvent::DeviceError(e) => seen.errors.push(e),
                _ => {}
            }
        }
        seen
    })
}

async fn close_sessions(sessions: [Arc<MediaSession>; 2]) {
    for s in sessions {
        s.close().await;
    }
}

/// The dominant frequency of a recording's last second.
fn last_second_hz(rec: &[i16]) -> f32 {
    dominant_frequency(&rec[rec.len().saturating_sub(48_000)..], 48_000)
}

/// A call that keeps running: offer, answer, and both sides' events pumped (candidates
/// forwarded, stats kept) for `secs` seconds.
struct Running {
    a: Arc<MediaSession>,
    b: Arc<MediaSession>,
    offer: banter_media::SessionDescription,
    answer: banter_media::SessionDescription,
    seen: (tokio::task::JoinHandle<Seen>, tokio::task::JoinHandle<Seen>),
    /// Each side's stats so far.
    live: (Live, Live),
}

async fn running(a_cfg: MediaConfig, b_cfg: MediaConfig, secs: u64) -> Running {
    let (a, a_rx) = side(a_cfg).await;
    let (b, b_rx) = side(b_cfg).await;
    let offer = a.create_offer().await.unwrap();
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    let live = (Live::default(), Live::default());
    let seen = (
        pump_live(a_rx, b.clone(), secs, live.0.clone()),
        pump_live(b_rx, a.clone(), secs, live.1.clone()),
    );
    Running {
        a,
        b,
        offer,
        answer,
        seen,
        live,
    }
}

impl Running {
    /// A adds its video mid-call (Jingle content-add; `tweak` stands for what the
    /// signaling changes on the way) and B answers it: (A's offer, B's answer).
    async fn a_adds_video(
        &self,
        tweak: impl FnOnce(&mut banter_media::SessionDescription),
    ) -> (
        banter_media::SessionDescription,
        banter_media::SessionDescription,
    ) {
        let mut reoffer = self.a.add_video().await.unwrap();
        tweak(&mut reoffer);
        let reanswer = self.b.accept_offer(&reoffer).await.unwrap();
        self.a.accept_answer(&reanswer).await.unwrap();
        (reoffer, reanswer)
    }

    /// Waits (10 s at most) until a second of `side`'s stats (`live.0` or `.1`) says
    /// `enough`; how many seconds of stats each side had then.
    async fn until(
        &self,
        side: impl Fn(&(Live, Live)) -> &Live,
        enough: impl Fn(&banter_media::CallStats) -> bool,
    ) -> (usize, usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let met = side(&self.live).lock().unwrap().iter().any(&enough);
            let counts = (
                self.live.0.lock().unwrap().len(),
                self.live.1.lock().unwrap().len(),
            );
            if met {
                return counts;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not met in 10 s: {:?}",
                side(&self.live).lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (10 s at most) until `side` has reported `n` seconds of stats; how many
    /// it has then.
    async fn seconds_of(&self, side: impl Fn(&(Live, Live)) -> &Live, n: usize) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let have = side(&self.live).lock().unwrap().len();
            if have >= n {
                return have;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{have} seconds of stats in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the pumps, closes both sides, and returns what each saw.
    async fn end(self) -> (Seen, Seen) {
        let (sa, sb) = (self.seen.0.await.unwrap(), self.seen.1.await.unwrap());
        close_sessions([self.a, self.b]).await;
        (sa, sb)
    }
}

/// The video figures of the seconds after the first two: at 640x480, 25 fps or more.
fn sustained_video(seen: &Seen) -> Vec<banter_media::VideoStats> {
    let video: Vec<_> = seen.stats.iter().filter_map(|s| s.video.clone()).collect();
    assert!(video.len() >= 4, "{:?}", seen.stats);
    for v in &video[2..] {
        assert!(v.fps >= 25.0, "{v:?}");
        assert_eq!((v.width, v.height), (640, 480), "{v:?}");
    }
    video
}

/// A peer that does not bundle (Dino: one ICE/DTLS transport per content): A offers
/// its video on a transport of its own, B answers it on a second connection, and the
/// pattern arrives both ways at 25 fps or more, next to the audio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbundled_video_both_ways() {
    let _cores = heavy();
    use banter_media::description::MediaKind;
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let (a_y4m, b_y4m) = (dir.path().join("a.y4m"), dir.path().join("b.y4m"));
    let b_wav = dir.path().join("b.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Tone(880.0), SinkSpec::Wav(b_wav.clone()));
    for cfg in [&mut a_cfg, &mut b_cfg] {
        loopback(cfg);
        cfg.video_in = VideoSourceSpec::Pattern;
        cfg.send_video = true;
    }
    a_cfg.bundle = false;
    a_cfg.video_out = VideoSinkSpec::Y4m(a_y4m.clone());
    b_cfg.video_out = VideoSinkSpec::Y4m(b_y4m.clone());
    let call = running(a_cfg, b_cfg, 8).await;
    let (offer, answer) = (call.offer.clone(), call.answer.clone());
    assert!(offer.bundle.is_empty(), "{offer:?}");
    assert_eq!(offer.contents.len(), 2);
    let (audio, video) = (&offer.contents[0], &offer.contents[1]);
    assert_eq!(
        (audio.kind, video.kind),
        (MediaKind::Audio, MediaKind::Video)
    );
    assert_ne!(audio.name, video.name);
    let own = video.transport.as_ref().expect("the video's own transport");
    assert_ne!(own.ice_ufrag, offer.ice_ufrag);
    assert_ne!(own.fingerprint, offer.fingerprint);
    assert!(call.b.video_unbundled());
    assert!(answer.unbundled(), "{answer:?}");
    assert_eq!(answer.contents[1].name, video.name);
    let (sa, sb) = call.end().await;
    assert!(sa.connected && sb.connected);
    assert!(
        sa.errors.is_empty() && sb.errors.is_empty(),
        "{:?} {:?}",
        sa.errors,
        sb.errors
    );
    println!(
        "A {:#?}\nB {:#?}",
        sustained_video(&sa).last(),
        sustained_video(&sb).last()
    );
    check_pattern_recording(&a_y4m, (640, 480));
    check_pattern_recording(&b_y4m, (640, 480));
    let at_b = read_wav(&b_wav);
    let f = last_second_hz(&at_b);
    assert!((f - 440.0).abs() <= 5.0, "B heard {f} Hz");
}

/// Video added to an audio call with a peer that does not bundle (what Dino's
/// content-add carries: the new content with a full transport of its own): the audio
/// connection is left as it is and the video comes over a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_added_to_an_unbundled_call() {
    let _cores = heavy();
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let b_y4m = dir.path().join("b.y4m");
    let b_wav = dir.path().join("b.wav");
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(b_wav.clone()));
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    a_cfg.bundle = false;
    a_cfg.video_in = VideoSourceSpec::Pattern;
    b_cfg.video_out = VideoSinkSpec::Y4m(b_y4m.clone());
    let call = running(a_cfg, b_cfg, 9).await;
    let (offer, answer) = (call.offer.clone(), call.answer.clone());
    assert_eq!(offer.contents.len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (reoffer, reanswer) = call.a_adds_video(|_| {}).await;
    assert_eq!(reoffer.contents.len(), 2, "{reoffer:?}");
    // The audio part is what was agreed; the video has a transport of its own.
    assert_eq!(reoffer.contents[0], offer.contents[0]);
    assert_eq!(reoffer.ice_ufrag, offer.ice_ufrag);
    let own = reoffer.contents[1]
        .transport
        .as_ref()
        .expect("own transport");
    assert_ne!(own.ice_ufrag, offer.ice_ufrag);
    assert_ne!(reoffer.contents[1].name, reoffer.contents[0].name);
    assert_eq!(
        reanswer.contents[0], answer.contents[0],
        "the audio is not renegotiated"
    );
    assert!(reanswer.contents[1].transport.is_some());
    let (sa, sb) = call.end().await;
    assert!(
        sa.errors.is_empty() && sb.errors.is_empty(),
        "{:?} {:?}",
        sa.errors,
        sb.errors
    );
    let last = sb
        .stats
        .iter()
        .rev()
        .find_map(|s| s.video.clone())
        .expect("video stats");
    println!("{last:?}");
    assert!(last.frames_decoded > 50, "{last:?}");
    assert!(last.fps >= 25.0, "{last:?}");
    check_pattern_recording(&b_y4m, (640, 480));
    let at_b = read_wav(&b_wav);
    let f = last_second_hz(&at_b);
    assert!(
        (f - 440.0).abs() <= 5.0,
        "B heard {f} Hz after the video was added"
    );
    // No gap in the audio while the video was added.
    assert!(longest_gap_ms(&at_b[48_000..], 48_000, 300) < 200.0);
}

/// A one-way video, as Dino adds it (senders = its own role), on a connection of its
/// own: B only receives. Then B's camera joins (Jingle content-modify, no new
/// descriptions): both renegotiate locally and B's pattern reaches A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_video_then_both_ways() {
    let _cores = heavy();
    use banter_media::description::Direction;
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let (a_y4m, b_y4m) = (dir.path().join("a.y4m"), dir.path().join("b.y4m"));
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    for cfg in [&mut a_cfg, &mut b_cfg] {
        loopback(cfg);
        cfg.video_in = VideoSourceSpec::Pattern;
    }
    a_cfg.bundle = false;
    a_cfg.video_out = VideoSinkSpec::Y4m(a_y4m.clone());
    b_cfg.video_out = VideoSinkSpec::Y4m(b_y4m.clone());
    let call = running(a_cfg, b_cfg, 14).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, reanswer) = call
        .a_adds_video(|o| o.contents[1].direction = Direction::SendOnly)
        .await;
    assert_eq!(reanswer.contents[1].direction, Direction::RecvOnly);
    // B decodes A's one-way video (a second of it), and A has reported at least four
    // seconds (the old bar: nothing from B in A's first four); A's stats up to then.
    let decoded = |s: &banter_media::CallStats| s.video.as_ref().map_or(0, |v| v.frames_decoded);
    call.until(|l| &l.1, |s| decoded(s) >= 25).await;
    let a_before = call.seconds_of(|l| &l.0, 4).await;
    let b_seen_one_way = std::fs::metadata(&b_y4m).map(|m| m.len()).unwrap_or(0);
    // B's camera joins: each side applies the new direction on its own.
    call.b
        .set_video_direction(Direction::SendRecv)
        .await
        .unwrap();
    call.a
        .set_video_direction(Direction::SendRecv)
        .await
        .unwrap();
    call.b.set_camera(true).unwrap();
    let (sa, sb) = call.end().await;
    assert!(
        sa.errors.is_empty() && sb.errors.is_empty(),
        "{:?} {:?}",
        sa.errors,
        sb.errors
    );
    assert!(b_seen_one_way > 0, "B saw nothing of A's one-way video");
    // One way at first: nothing from B at A until B's camera joined.
    assert!(a_before >= 4, "{:?}", sa.stats);
    let early: Vec<u64> = sa.stats[..a_before].iter().map(decoded).collect();
    assert!(early.iter().all(|&n| n == 0), "{:?}", sa.stats);
    let at_a = sa
        .stats
        .iter()
        .rev()
        .find_map(|s| s.video.clone())
        .expect("video stats at A");
    println!("A {at_a:?}");
    assert!(at_a.frames_decoded > 60 && at_a.fps >= 25.0, "{at_a:?}");
    check_pattern_recording(&a_y4m, (640, 480));
    check_pattern_recording(&b_y4m, (640, 480));
}

/// A video on a connection of its own, removed (Jingle content-remove) and added
/// again: the second time it gets a new connection with new ICE credentials, and the
/// pictures come back at full rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbundled_video_removed_and_added_again() {
    let _cores = heavy();
    use banter_media::video::{VideoSinkSpec, VideoSourceSpec};
    let mut a_cfg = MediaConfig::new(SourceSpec::Tone(440.0), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    loopback(&mut a_cfg);
    loopback(&mut b_cfg);
    a_cfg.bundle = false;
    a_cfg.video_in = VideoSourceSpec::Pattern;
    a_cfg.send_video = true;
    b_cfg.video_out = VideoSinkSpec::Null;
    let call = running(a_cfg, b_cfg, 13).await;
    let first_ufrag = call.offer.contents[1].transport.clone().unwrap().ice_ufrag;
    tokio::time::sleep(Duration::from_secs(4)).await;
    call.a.remove_video().await;
    call.b.remove_video().await;
    assert!(!call.a.sends_video());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (reoffer, _) = call.a_adds_video(|_| {}).await;
    let own = reoffer.contents[1]
        .transport
        .clone()
        .expect("a transport of its own");
    assert_ne!(own.ice_ufrag, first_ufrag, "a new connection");
    let (sa, sb) = call.end().await;
    assert!(
        sa.errors.is_empty() && sb.errors.is_empty(),
        "{:?} {:?}",
        sa.errors,
        sb.errors
    );
    let decoded: Vec<u64> = sb
        .stats
        .iter()
        .map(|s| s.video.as_ref().map_or(0, |v| v.frames_decoded))
        .collect();
    println!("decoded at B {decoded:?}");
    // Flowing, then stopped while removed, then flowing again.
    let stalled = decoded.windows(2).position(|w| w[1] == w[0] && w[0] > 50);
    let Some(at) = stalled else {
        panic!("no pause while the video was removed: {decoded:?}")
    };
    let last = *decoded.last().unwrap();
    assert!(last > decoded[at] + 60, "not flowing again: {decoded:?}");
    let fps = sb
        .stats
        .last()
        .and_then(|s| s.video.as_ref())
        .map(|v| v.fps);
    assert!(fps.is_some_and(|f| f >= 25.0), "{fps:?}");
}
