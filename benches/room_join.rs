//! Joining a crowded room (issue #14): a real Prosody's MUC service holds rooms of
//! 2 000 occupants (tests/muc/mod_crowd.lua; Bob's join makes the room and the
//! crowd, since a room's first occupant gets no list); Alice joins and this measures
//! its CPU time (this process: the client runs here, Prosody is a child) and the
//! wall time from the join command until the occupant list is complete (our own
//! presence, which the room sends last). Five rooms, one after another.
//!
//!     cargo bench --bench room_join
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use banter::client::{self, Command, Event};
use banter::xmpp_parsers::jid::BareJid;
use support::{Prosody, MUC};

const T: Duration = Duration::from_secs(120);
const CROWD: usize = 2_000;

/// User+system CPU seconds of this process (getrusage: microseconds, not ticks).
fn cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = Prosody::start_with_muc_module("crowd", include_str!("../tests/muc/mod_crowd.lua"));
        let mut online = Vec::new();
        for name in ["alice", "bob"] {
            let mut c = client::start(server.user(name).config("pc"))
                .await
                .expect("login");
            support::next_event(&mut c, "connected", T, |e| {
                matches!(e, Event::Connected { .. })
            })
            .await;
            online.push(c);
        }
        let (Some(mut b), Some(mut c)) = (online.pop(), online.pop()) else {
            unreachable!()
        };
        let (mut cpu, mut wall) = (Vec::new(), Vec::new());
        for i in 0..5 {
            let room = BareJid::new(&format!("crowd{i}@{MUC}")).expect("room");
            b.send(Command::JoinRoom {
                room: room.clone(),
                nick: "bob".into(),
                password: None,
            });
            // The room's info comes once it is unlocked for others (after its
            // configuration).
            support::next_event(&mut b, "bob in, the room open", T, |e| {
                matches!(e, Event::RoomInfo { .. })
            })
            .await;
            let (t, c0) = (Instant::now(), cpu_s());
            c.send(Command::JoinRoom {
                room: room.clone(),
                nick: "alice".into(),
                password: None,
            });
            let mut occupants = 0;
            loop {
                let e = tokio::time::timeout(T, c.next_event()).await;
                match e {
                    Ok(Some(Event::Occupant { .. })) => occupants += 1,
                    Ok(Some(Event::RoomJoined { .. })) => break,
                    Ok(Some(Event::RoomLeft { room: r, reason })) if r == room.as_str() => {
                        panic!("room {i}: {reason}")
                    }
                    Ok(Some(_)) => {}
                    other => panic!("room {i}: {occupants} occupants, then {other:?}"),
                }
            }
            wall.push(t.elapsed().as_secs_f64() * 1000.0);
            cpu.push((cpu_s() - c0) * 1000.0);
            assert!(occupants > CROWD, "{occupants} occupants listed");
            c.send(Command::LeaveRoom { room });
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        println!(
            "{{\"bench\":\"room_join\",\"occupants\":{CROWD},\"cpu_ms_median\":{:.1},\"cpu_ms_max\":{:.1},\"wall_ms_median\":{:.0},\"wall_ms_max\":{:.0}}}",
            median(&mut cpu.clone()),
            cpu.iter().copied().fold(0.0, f64::max),
            median(&mut wall.clone()),
            wall.iter().copied().fold(0.0, f64::max),
        );
        c.shutdown().await;
        b.shutdown().await;
    });
}
