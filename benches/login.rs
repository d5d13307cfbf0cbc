//! How long signing in takes (issue #20: the figures SASL2 and FAST are to improve):
//! from `client::start` to the session being ready (TCP, STARTTLS, TLS, SCRAM, resource
//! binding, stream management), 20 times against Prosody and against ejabberd on
//! loopback, each time a fresh connection; median and worst. A reconnect after a lost
//! connection whose session cannot be resumed is the same work.
//!
//!     cargo bench --bench login
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use banter::client::{self, Event};
use support::{ejabberd::Ejabberd, Prosody, User};

const RUNS: usize = 20;

async fn login_ms(user: &User) -> Vec<f64> {
    let mut times = Vec::new();
    for i in 0..RUNS {
        let mut cfg = user.config(&format!("bench{i}"));
        cfg.catch_up = false;
        cfg.presence = None;
        let t = Instant::now();
        let mut c = client::start(cfg).await.expect("login");
        support::next_event(&mut c, "connected", Duration::from_secs(20), |e| {
            matches!(e, Event::Connected { .. })
        })
        .await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        c.shutdown().await;
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times
}

#[tokio::main]
async fn main() {
    let prosody = Prosody::start();
    let p = login_ms(&prosody.user("alice")).await;
    let ejabberd = Ejabberd::start();
    let e = login_ms(&ejabberd.user("alice")).await;
    println!(
        "{}",
        serde_json::json!({
            "bench": "login", "runs": RUNS,
            "prosody_ms_median": p[RUNS / 2], "prosody_ms_max": p[RUNS - 1],
            "ejabberd_ms_median": e[RUNS / 2], "ejabberd_ms_max": e[RUNS - 1],
        })
    );
}
