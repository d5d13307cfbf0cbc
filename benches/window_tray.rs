//! The window's cost at rest (issue #22: < 0.5 % of a core idle, in the tray and with
//! the window open). A real window under Xvfb (Mesa's software GL) signed in to
//! Prosody, with a panel's tray (the StatusNotifierWatcher stand-in of the tests):
//! CPU time (utime + stime) and RSS over 20 s with the window open, then over 20 s
//! closed into the tray, then over 20 s in the tray during an audio call.
//!
//!     cargo bench --bench window_tray
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use banter::client::{CallStatus, Command as Cmd, Event};
use support::desktop::{cpu_ticks, rss_kb};
use support::{Prosody, Xvfb};

const SECS: u64 = 20;

/// CPU ticks (10 ms) of `pid` over `SECS`, and its RSS at the end.
async fn measure(pid: u32) -> (u64, u64) {
    let t0 = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    (cpu_ticks(pid) - t0, rss_kb(pid))
}

#[tokio::main]
async fn main() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let host = support::desktop::TrayHost::start(&desk.bus);
    let mut window = support::desktop::ringable_window(
        &alice,
        &x,
        &desk,
        &["--audio-in", "tone:440", "--audio-out", "null"],
    );
    host.item();
    let pid = window.pid();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (open, open_rss) = measure(pid).await;

    support::desktop::close_window(&x);
    window.wait_for("hidden", Duration::from_secs(10), |v| {
        v["event"] == "window_hidden"
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (tray, tray_rss) = measure(pid).await;

    let mut b = support::desktop::caller(
        &bob,
        banter_media::audio::source::SourceSpec::Tone(660.0),
        banter_media::audio::sink::SinkSpec::Null,
    )
    .await;
    support::desktop::call_answered_from_notification(&desk, &mut window, &b, &alice, "bench");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (call, call_rss) = measure(pid).await;
    b.send(Cmd::Hangup { id: "bench".into() });
    support::next_event(&mut b, "ended", Duration::from_secs(10), |e| {
        matches!(
            e,
            Event::Call {
                state: CallStatus::Ended,
                ..
            }
        )
    })
    .await;
    drop(window);
    b.shutdown().await;
    // Ticks are 10 ms: percent of one core = ticks / secs.
    let pc = |t: u64| t as f64 / SECS as f64;
    println!(
        "{}",
        serde_json::json!({
            "bench": "window_tray", "secs": SECS,
            "open_idle": {"cpu_ticks": open, "cpu_percent_of_a_core": pc(open), "rss_kb": open_rss},
            "tray_idle": {"cpu_ticks": tray, "cpu_percent_of_a_core": pc(tray), "rss_kb": tray_rss},
            "tray_call": {"cpu_ticks": call, "cpu_percent_of_a_core": pc(call), "rss_kb": call_rss},
        })
    );
}
