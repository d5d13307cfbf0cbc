//! Files (issue #15): how fast a file goes up (XEP-0363 slot, HTTPS PUT to Prosody's
//! mod_http_file_share) and comes down (HTTPS GET into a folder, SHA-256 on the way),
//! plain and end-to-end encrypted (XEP-0454: AES-256-GCM sealed in memory), on
//! loopback, and the client's CPU for it. 50 MB each way, 3 runs each; median.
//!
//!     cargo bench --bench file_transfer
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use banter::client::{self, BareJid, Command, Event, TransferState};
use support::Prosody;

const MB: u64 = 1024 * 1024;
const SIZE: u64 = 50 * MB;
const RUNS: usize = 3;
const T: Duration = Duration::from_secs(120);

fn cpu_s() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// The server's CPU seconds so far.
fn server_cpu_s(server: &Prosody) -> f64 {
    let pid = server.pid().unwrap_or_default();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / ticks
}

async fn end_of(c: &mut client::ClientHandle, id: &str) -> TransferState {
    match support::next_event(c, "transfer end", T, |e| {
        matches!(e, Event::Transfer { id: t, state, .. } if t == id
            && !matches!(state, TransferState::Waiting | TransferState::Progress { .. }))
    })
    .await
    {
        Event::Transfer { state, .. } => state,
        _ => unreachable!(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let server = Prosody::start_with_uploads(2 * SIZE);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let data: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let mut report = serde_json::Map::new();
    for sealed in [false, true] {
        let mut cfg = alice.config(if sealed { "sealed" } else { "plain" });
        cfg.omemo = sealed;
        cfg.catch_up = false;
        let mut a = client::start(cfg).await.expect("login");
        if sealed {
            support::next_event(&mut a, "omemo", T, |e| {
                matches!(e, Event::OmemoReady { .. })
            })
            .await;
        } else {
            support::next_event(&mut a, "online", T, |e| {
                matches!(e, Event::Connected { .. })
            })
            .await;
        }
        let (mut up, mut up_cpu, mut down, mut down_cpu) = (vec![], vec![], vec![], vec![]);
        let mut up_server_cpu = vec![];
        for run in 0..RUNS {
            let id = format!("u{sealed}{run}");
            let (t, c, sc) = (Instant::now(), cpu_s(), server_cpu_s(&server));
            a.send(Command::SendFile {
                id: id.clone(),
                to: BareJid::new(&bob.jid).unwrap(),
                path: file.clone(),
            });
            let TransferState::Done { url, .. } = end_of(&mut a, &id).await else {
                panic!("upload failed")
            };
            up.push(t.elapsed().as_secs_f64());
            up_cpu.push(cpu_s() - c);
            up_server_cpu.push(server_cpu_s(&server) - sc);
            let mut url = url.unwrap();
            if sealed {
                // The aesgcm:// URL is in the message; fetch what the server holds
                // with it: the bench reads it from the message it sent.
                let m = support::next_event(
                    &mut a,
                    "own message",
                    T,
                    |e| matches!(e, Event::Message { message } if message.id == id),
                )
                .await;
                if let Event::Message { message } = m {
                    url = message.body;
                }
            }
            let out = tempfile::tempdir().unwrap();
            let (t, c) = (Instant::now(), cpu_s());
            a.send(Command::Download {
                id: format!("d{id}"),
                peer: bob.jid.clone(),
                url,
                dir: out.path().to_path_buf(),
                max_size: None,
                sha256: None,
                name: None,
            });
            let TransferState::Done { size, .. } = end_of(&mut a, &format!("d{id}")).await else {
                panic!("download failed")
            };
            assert_eq!(size, SIZE);
            down.push(t.elapsed().as_secs_f64());
            down_cpu.push(cpu_s() - c);
        }
        let mbps = |s: f64| (SIZE as f64 / MB as f64) / s;
        let name = if sealed { "encrypted" } else { "plain" };
        report.insert(
            name.into(),
            serde_json::json!({
                "up_mb_per_s": mbps(median(up.clone())),
                "up_client_cpu_s": median(up_cpu),
                "up_server_cpu_s": median(up_server_cpu),
                "down_mb_per_s": mbps(median(down.clone())),
                "down_client_cpu_s": median(down_cpu),
            }),
        );
        a.shutdown().await;
    }
    println!("{}", serde_json::Value::Object(report));
}
