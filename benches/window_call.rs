//! The window's cost in an audio call (issue #22: 30 % of a core before, the goal
//! ≤ 6 %). A real window under Xvfb (Mesa's software GL, the worst case users in VMs
//! meet) signed in to Prosody; Bob (the library) calls it, the call is answered from
//! its notification (a real dunst on a private bus), and once the call is up the
//! window process's CPU time (utime + stime) and RSS are read over 20 s.
//!
//!     cargo bench --bench window_call
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use banter::client::{CallStatus, Command as Cmd, Event};
use support::{Prosody, Xvfb};

const SECS: u64 = 20;

#[tokio::main]
async fn main() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let mut window = support::desktop::ringable_window(
        &alice,
        &x,
        &desk,
        &["--audio-in", "tone:440", "--audio-out", "null"],
    );
    let mut b = support::desktop::caller(
        &bob,
        banter_media::audio::source::SourceSpec::Tone(660.0),
        banter_media::audio::sink::SinkSpec::Null,
    )
    .await;
    support::desktop::call_answered_from_notification(&desk, &mut window, &b, &alice, "bench");
    // Settled: the call's first seconds (ICE, the first plots) are not the steady state.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = window.pid();
    let t0 = support::desktop::cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    let t1 = support::desktop::cpu_ticks(pid);
    let rss = support::desktop::rss_kb(pid);
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
    let ticks = t1 - t0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "window_call", "secs": SECS, "cpu_ticks": ticks,
            "cpu_percent_of_a_core": ticks as f64 / SECS as f64, "rss_kb": rss,
        })
    );
}
