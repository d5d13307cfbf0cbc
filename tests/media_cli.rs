//! The media side of the command line, end to end through the real binary.

use std::process::Command;

use banter_media::audio::analysis::dominant_frequency;
use serde_json::Value;

#[test]
fn sound_test_loops_a_tone_and_reports_latency() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("out.wav");
    let out = Command::new(env!("CARGO_BIN_EXE_banter"))
        .args([
            "sound-test",
            "--audio-in",
            "tone:440",
            "--duration",
            "2",
            "--json",
        ])
        .arg("--audio-out")
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let report = events
        .iter()
        .find(|e| e["event"] == "sound-test")
        .expect("report");
    let latency = report["latency_ms"].as_f64().unwrap();
    assert!(latency > 0.0 && latency < 100.0, "{latency}");
    assert!(events
        .iter()
        .any(|e| e["event"] == "stats" && e["candidate_pair"] == "host"));
    let pcm: Vec<i16> = hound::WavReader::open(&wav)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    let f = dominant_frequency(&pcm[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz");
}

#[test]
fn sound_test_without_a_microphone_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_banter"))
        .args([
            "sound-test",
            "--audio-in",
            "mic:no-such-device",
            "--audio-out",
            "null",
        ])
        .args(["--duration", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("no microphone found"),
        "{err}"
    );
}

#[test]
fn bad_media_options_are_refused() {
    for args in [
        ["--audio-in", "tone:abc"],
        ["--ice-policy", "sometimes"],
        ["--ice-allow", "300.0.0.0/8"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_banter"))
            .arg("sound-test")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}
