//! What sharing a full-HD screen costs (issue #16: ≤ 25 % of one core per endpoint
//! at 1920x1080, 15 fps). Two real `banter` processes through Prosody under Xvfb at
//! 1920x1080: Alice shares the whole screen (`call --share-screen`), Bob answers and
//! decodes. The page is a screen of small text, first still but for a frame counter
//! (reading a document), then scrolling a line per frame and wholly redrawn ten times
//! a second (the worst case of a document). For each: both processes' CPU over 20 s
//! once the call has settled, and Alice's own figures (pictures sent a second,
//! kbit/s) from her stats.
//!
//!     cargo bench --bench screen_share
//!
//! Prints one JSON line per page; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::Value;
use support::desktop::cpu_ticks;
use support::screen::{Motion, TestScreen};
use support::{media_args, Proc, Prosody, Xvfb};

const SECS: u64 = 20;
const T: Duration = Duration::from_secs(90);

fn run(motion: Motion, name: &str) {
    let x = Xvfb::start_sized("1920x1080x24");
    let _page = TestScreen::show_sized(&x, "page", 10, (1800, 1000), (1920, 1080), motion);
    let server = Prosody::start();
    let (alice, bob) = (server.user("alice"), server.user("bob"));
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("silence", "null"));
    let mut b = Proc::spawn(bob.banter(&args));
    b.wait_for("bob online", T, |v| v["event"] == "caught_up");
    let total = (SECS + 8).to_string();
    let mut args = vec![
        "call",
        bob.jid.as_str(),
        "--share-screen",
        "--duration",
        &total,
    ];
    args.extend(media_args("silence", "null"));
    let mut cmd = alice.banter(&args);
    cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
    let mut a = Proc::spawn(cmd);
    a.wait_for("active", T, |e| {
        e["event"] == "call" && e["state"] == "active"
    });
    std::thread::sleep(Duration::from_secs(5));
    let (a0, b0) = (cpu_ticks(a.pid()), cpu_ticks(b.pid()));
    std::thread::sleep(Duration::from_secs(SECS));
    let (a1, b1) = (cpu_ticks(a.pid()), cpu_ticks(b.pid()));
    let (ok, events) = a.finish(T);
    assert!(ok, "alice's call failed");
    let (ok, b_events) = b.finish(T);
    assert!(ok, "bob's answer failed");
    let stats: Vec<&Value> = events.iter().filter(|e| e["event"] == "stats").collect();
    let sent: Vec<u64> = stats
        .iter()
        .filter_map(|e| e["video_frames_sent"].as_u64())
        .collect();
    let fps: Vec<u64> = sent.windows(2).map(|p| p[1] - p[0]).collect();
    let kbps: Vec<f64> = stats
        .iter()
        .filter_map(|e| e["video_send_kbps"].as_f64())
        .collect();
    let size = b_events
        .iter()
        .find(|e| e["event"] == "call_video")
        .map(|e| format!("{}x{}", e["width"], e["height"]));
    // Ticks are 10 ms: percent of one core = ticks / secs.
    let pc = |t: u64| t as f64 / SECS as f64;
    println!(
        "{}",
        serde_json::json!({
            "bench": "screen_share", "page": name, "secs": SECS, "size_at_bob": size,
            "alice_cpu_percent_of_a_core": pc(a1 - a0),
            "bob_cpu_percent_of_a_core": pc(b1 - b0),
            "alice_pictures_per_second": fps,
            "alice_video_kbps": kbps.iter().map(|k| k.round()).collect::<Vec<_>>(),
        })
    );
}

fn main() {
    run(Motion::Still, "still text, frame counter");
    run(Motion::Scrolling, "text scrolling a line per frame, 10 fps");
}
