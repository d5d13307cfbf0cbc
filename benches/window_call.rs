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

use banter::client::{self, CallStatus, Command as Cmd, Event};
use support::{Proc, Prosody, Xvfb};

const SECS: u64 = 20;

fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    std::fs::create_dir_all(alice.device_dir("main")).unwrap();
    std::fs::write(
        alice.device_dir("main").join("settings.json"),
        r#"{"calls_from_anyone": true}"#,
    )
    .unwrap();
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let mut cmd = alice.banter(&["--audio-in", "tone:440", "--audio-out", "null"]);
    cmd.env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus.address);
    let mut window = Proc::spawn(cmd);
    window.wait_for("caught up", Duration::from_secs(30), |v| {
        v["event"] == "caught_up"
    });
    let mut cfg = bob.config("pc");
    let mut media = banter_media::MediaConfig::new(
        banter_media::audio::source::SourceSpec::Tone(660.0),
        banter_media::audio::sink::SinkSpec::Null,
    );
    media.allow = vec![banter_media::Cidr::parse("127.0.0.0/8").unwrap()];
    cfg.media = Some(media);
    let mut b = client::start(cfg).await.expect("bob online");
    support::next_event(&mut b, "bob connected", Duration::from_secs(10), |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    let mark = desk.mark();
    b.send(Cmd::Call {
        id: "bench".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap(),
        video: false,
    });
    let id = desk.next_id(mark);
    desk.invoke(id, "accept");
    window.wait_for("active", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "active"
    });
    // Settled: the call's first seconds (ICE, the first plots) are not the steady state.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = window.pid();
    let t0 = ticks(pid);
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    let t1 = ticks(pid);
    let rss = rss_kb(pid);
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
