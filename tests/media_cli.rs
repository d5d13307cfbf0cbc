//! The media side of the command line, end to end through the real binary.

mod support;

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
    let pcm = support::read_wav(&wav);
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

/// A private PulseAudio with a null sink whose monitor is the default source: what is
/// played to the "speaker" can be captured from the "microphone". cpal reaches it
/// through ALSA's pulse plugin (Debian's libasound2-plugins).
struct Pulse {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Pulse {
    fn start() -> Pulse {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("pulseaudio")
            .env("XDG_RUNTIME_DIR", dir.path())
            .args(["--daemonize=no", "--exit-idle-time=-1", "-n"])
            .arg("--load=module-native-protocol-unix auth-anonymous=1")
            .arg("--load=module-null-sink sink_name=vsink")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pulseaudio (scripts/install-deps.sh installs it)");
        let p = Pulse { child, dir };
        let start = std::time::Instant::now();
        loop {
            let ok = p
                .cmd("pactl")
                .args(["set-default-source", "vsink.monitor"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(start.elapsed().as_secs() < 10, "pulseaudio did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        p
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("XDG_RUNTIME_DIR", self.dir.path());
        c
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_tone(path: &std::path::Path, hz: f32, seconds: f32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(48_000.0 * seconds) as usize {
        let v = (i as f32 / 48_000.0 * hz * std::f32::consts::TAU).sin() * 8000.0;
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn microphone_and_speaker_through_pulseaudio() {
    let pulse = Pulse::start();
    let dir = tempfile::tempdir().unwrap();

    // Microphone: a tone played into the null sink is captured from its monitor.
    let tone = dir.path().join("tone.wav");
    write_tone(&tone, 440.0, 8.0);
    let mut player = pulse
        .cmd("paplay")
        .arg("--device=vsink")
        .arg(&tone)
        .spawn()
        .unwrap();
    let heard = dir.path().join("heard.wav");
    let out = pulse
        .cmd(env!("CARGO_BIN_EXE_banter"))
        .args(["sound-test", "--audio-in", "mic", "--no-audio-processing"])
        .args(["--duration", "2", "--audio-out"])
        .arg(&heard)
        .output()
        .unwrap();
    let _ = player.kill();
    let _ = player.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcm = support::read_wav(&heard);
    let f = dominant_frequency(&pcm[24_000..], 48_000);
    assert!((f - 440.0).abs() <= 5.0, "microphone path: {f} Hz");

    // Speaker: what one Banter plays to the speaker (the null sink) another captures
    // from the microphone (its monitor).
    let mut speaker = pulse
        .cmd(env!("CARGO_BIN_EXE_banter"))
        .args([
            "sound-test",
            "--audio-in",
            "tone:880",
            "--audio-out",
            "speaker",
            "--json",
        ])
        .args(["--duration", "4"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Capturing starts once the speaker side says it plays the tone out loud (its
    // once-a-second stats): a capture begun on the stream's onset measures that.
    let mut speaker_out = std::io::BufReader::new(speaker.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut speaker_out, &mut line).unwrap();
        assert!(n > 0, "the speaker side never played the tone out loud");
        let v: Value = serde_json::from_str(line.trim()).unwrap_or_default();
        if v["event"] == "stats" && v["audio_level_out"].as_f64().is_some_and(|l| l > -40.0) {
            break;
        }
    }
    let captured = dir.path().join("captured.wav");
    let out = pulse
        .cmd(env!("CARGO_BIN_EXE_banter"))
        .args(["sound-test", "--audio-in", "mic", "--no-audio-processing"])
        .args(["--duration", "2", "--audio-out"])
        .arg(&captured)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::io::Read::read_to_end(&mut speaker_out, &mut Vec::new()).unwrap();
    let played = speaker.wait_with_output().unwrap();
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let pcm = support::read_wav(&captured);
    let loud: Vec<i16> = pcm
        .iter()
        .copied()
        .skip_while(|s| s.unsigned_abs() < 500)
        .collect();
    assert!(loud.len() > 24_000, "the speaker played almost nothing");
    let f = dominant_frequency(&loud[..loud.len().min(96_000)], 48_000);
    assert!((f - 880.0).abs() <= 5.0, "speaker path: {f} Hz");
}
