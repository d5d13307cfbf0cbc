//! What sharing a full-HD screen costs (issue #16: ≤ 25 % of one core per endpoint
//! at 1920x1080, 15 fps). Two real `banter` processes through Prosody under Xvfb at
//! 1920x1080: Alice shares the whole screen (`call --share-screen`), Bob answers and
//! decodes. The page is a screen of small text, first still but for a frame counter
//! (reading a document), then scrolling a line per frame and wholly redrawn ten times
//! a second (the worst case of a document). For each: both processes' CPU over 20 s
//! once the call has settled, and Alice's own figures (pictures sent a second,
//! kbit/s) from her stats.
//!
//! The still page again on Wayland: through a real PipeWire, granted by the stand-in
//! portal of the tests (GStreamer puts the Xvfb screen on a node at 15 fps; its own
//! cost is the compositor's, not counted). Then how long a Stop takes to reach the
//! peer: Alice shares a 1280x720 screen in a video call and stops; from her
//! `screen_share` (stopped) to Bob decoding her camera again (640x480), five times.
//!
//!     cargo bench --bench screen_share        (ONLY=x11|wayland|switch for one part)
//!
//! Prints one JSON line per run; BENCHMARKS.md records the figures.

#[path = "../tests/support/portal.rs"]
mod portal;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::desktop::cpu_ticks;
use support::screen::{Motion, TestScreen};
use support::{media_args, Proc, Prosody, Xvfb};

const SECS: u64 = 20;
const T: Duration = Duration::from_secs(90);

/// Bob, online and answering one call from Alice.
fn answering(alice: &support::User, bob: &support::User) -> Proc {
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("silence", "null"));
    let mut b = Proc::spawn(bob.banter(&args));
    b.wait_for("bob online", T, |v| v["event"] == "caught_up");
    b
}

fn run(motion: Motion, name: &str, wayland: bool) {
    let x = Xvfb::start_sized("1920x1080x24");
    let _page = TestScreen::show_sized(&x, "page", 10, (1800, 1000), (1920, 1080), motion);
    let desktop = wayland.then(|| portal::PipewireDesktop::start(&x));
    let _portal = desktop
        .as_ref()
        .map(|d| portal::Portal::start(d, portal::Answer::Grant));
    let server = Prosody::start();
    let (alice, bob) = (server.user("alice"), server.user("bob"));
    let b = answering(&alice, &bob);
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
    match &desktop {
        Some(d) => d.env(&mut cmd),
        None => {
            cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
        }
    }
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
            "through": if wayland { "portal + PipeWire" } else { "X11 (MIT-SHM)" },
            "alice_cpu_percent_of_a_core": pc(a1 - a0),
            "bob_cpu_percent_of_a_core": pc(b1 - b0),
            "alice_pictures_per_second": fps,
            "alice_video_kbps": kbps.iter().map(|k| k.round()).collect::<Vec<_>>(),
        })
    );
}

/// From Alice's Stop to Bob decoding her camera again, and from her Share to Bob
/// decoding the screen: milliseconds, as the two processes' events arrive here
/// (polled every 5 ms).
fn stop_to_camera() -> (u128, u128) {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "page", 10, (1100, 620));
    let server = Prosody::start();
    let (alice, bob) = (server.user("alice"), server.user("bob"));
    let mut b = answering(&alice, &bob);
    let mut args = vec!["call", bob.jid.as_str(), "--video", "--video-in", "pattern"];
    args.extend(["--share-screen", "--share-screen-after", "3"]);
    args.extend(["--stop-sharing-after", "7", "--duration", "10"]);
    args.extend(media_args("silence", "null"));
    let mut cmd = alice.banter(&args);
    cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
    let mut a = Proc::spawn(cmd);
    let size = |w: u64, h: u64| {
        move |e: &Value| e["event"] == "call_video" && e["width"] == w && e["height"] == h
    };
    let share = |on: bool| move |e: &Value| e["event"] == "screen_share" && e["sharing"] == on;
    let when = |a: &mut Proc, on: bool, b: &mut Proc, w: u64, h: u64| {
        let deadline = Instant::now() + T;
        while a.any_within(Duration::from_millis(5), share(on)).is_none() {
            assert!(Instant::now() < deadline, "no screen_share {on}");
        }
        let t0 = Instant::now();
        while b.any_within(Duration::from_millis(5), size(w, h)).is_none() {
            assert!(Instant::now() < deadline, "bob never decoded {w}x{h}");
        }
        t0.elapsed().as_millis()
    };
    let to_screen = when(&mut a, true, &mut b, 1280, 720);
    let to_camera = when(&mut a, false, &mut b, 640, 480);
    let (ok, _) = a.finish(T);
    assert!(ok, "alice's call failed");
    let (ok, _) = b.finish(T);
    assert!(ok, "bob's answer failed");
    (to_camera, to_screen)
}

fn main() {
    // `ONLY=x11` (or `wayland`, `switch`) runs just that part.
    let only = std::env::var("ONLY").unwrap_or_default();
    let part = |p: &str| only.is_empty() || only == p;
    if part("x11") {
        run(Motion::Still, "still text, frame counter", false);
        let scrolling = "text scrolling a line per frame, 10 fps";
        run(Motion::Scrolling, scrolling, false);
    }
    if part("wayland") {
        run(Motion::Still, "still text, frame counter", true);
    }
    if !part("switch") {
        return;
    }
    let (stops, shares): (Vec<u128>, Vec<u128>) = (0..5).map(|_| stop_to_camera()).unzip();
    println!(
        "{}",
        serde_json::json!({
            "bench": "screen_share_switch", "screen": "1280x720", "camera": "640x480 (pattern)",
            "stop_to_camera_ms": stops, "share_to_screen_ms": shares,
        })
    );
}
