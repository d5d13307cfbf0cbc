//! What a hostile room costs a running Banter (issue #14): `banter room join` (the
//! release binary) joins a room of Prosody's MUC service that answers with 10 000
//! occupant presences, nonsense muc#user data, a nick with control characters, a
//! 1 MiB subject and 10 000 messages (tests/muc/mod_hostile_room.lua). Reports the
//! joiner's CPU time, peak RSS and wall time until the room's last message arrived,
//! beside the same for a quiet room.
//!
//!     cargo bench --bench room_flood
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{usage, Proc, Prosody, MUC};

const T: Duration = Duration::from_secs(300);

/// Joins `room` as `user` and waits for `last` (a message body) or, for a quiet
/// room, for the join itself: (seconds, CPU seconds, peak RSS MiB).
fn join(user: &support::User, room: &str, last: Option<&str>) -> (f64, f64, f64) {
    let start = Instant::now();
    let mut p = Proc::spawn(user.banter(&["room", "join", room, "--nick", "bencher"]));
    match last {
        Some(body) => {
            p.wait_for("the room's last message", T, |v| {
                v["event"] == "room_message" && v["body"] == body
            });
        }
        None => {
            p.wait_for("joined", T, |v| v["event"] == "room_joined");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let (cpu, rss) = usage(p.pid());
    (secs, cpu, rss)
}

fn main() {
    let server = Prosody::start_with_muc_module(
        "hostile_room",
        include_str!("../tests/muc/mod_hostile_room.lua"),
    );
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (q_secs, q_cpu, q_rss) = join(&bob, &format!("quiet@{MUC}"), None);
    let (h_secs, h_cpu, h_rss) = join(&alice, &format!("hostile@{MUC}"), Some("still here"));
    println!(
        "{}",
        serde_json::json!({
            "bench": "room_flood",
            "quiet": {"seconds": q_secs, "cpu_seconds": q_cpu, "peak_rss_mib": q_rss},
            "hostile": {"seconds": h_secs, "cpu_seconds": h_cpu, "peak_rss_mib": h_rss,
                        "presences": 10_000, "messages": 10_000, "subject_bytes": 1 << 20},
        })
    );
}
