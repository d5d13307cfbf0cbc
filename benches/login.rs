//! How long signing in takes (issue #20): from `client::start` to the session being
//! ready (TCP, STARTTLS, TLS, SASL, resource binding, stream management), 20 times
//! each on loopback, a fresh connection every time; median and worst.
//!
//! - Prosody and ejabberd with RFC 6120 SASL (SCRAM-SHA-1, restart, bind): the
//!   figures from before SASL2.
//! - Prosody with SASL2 + Bind 2 (its community modules, patched for 0.12): the
//!   password login (SCRAM-SHA-1, no restart, no bind round trip).
//! - The same with a FAST token from the last run (HT-SHA-256-NONE: one round trip,
//!   no PBKDF2).
//! - Reconnect: the TCP connection cut (`ss -K`, so run as root) until the session is
//!   back (resumed), with the password (RFC 6120 SASL) and with a FAST token.
//!
//!     cargo bench --bench login
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use banter::client::{self, Event, TokenKeeper, TokenStore};
use support::{ejabberd::Ejabberd, Prosody, User};

const RUNS: usize = 20;
const T: Duration = Duration::from_secs(20);

/// Tokens kept in memory from one run to the next (the keyring's part in the app).
#[derive(Default)]
struct Kept(Mutex<Option<String>>);

impl TokenKeeper for Kept {
    fn load(&self) -> Option<String> {
        self.0.lock().unwrap().clone()
    }
    fn save(&self, state: Option<&str>) {
        *self.0.lock().unwrap() = state.map(str::to_string);
    }
}

fn config(user: &User, i: usize, port: Option<u16>, fast: Option<&Arc<Kept>>) -> client::Config {
    // The FAST runs are one device (one user-agent id, one store), Bind 2 picking
    // the resource; the others a new device each.
    let mut cfg = match fast {
        Some(_) => user.config("fast"),
        None => user.config(&format!("bench{i}")),
    };
    // The server picks the resource (with Bind 2, from the device's id).
    cfg.resource = None;
    if let Some(k) = fast {
        cfg.tokens = Some(TokenStore(k.clone()));
    }
    if let Some(p) = port {
        cfg.server = banter::xmpp::connect::parse_server(&format!("127.0.0.1:{p}"));
    }
    cfg.catch_up = false;
    cfg.presence = None;
    cfg.autojoin = false;
    cfg
}

async fn connected(c: &mut client::ClientHandle) -> Option<client::SignIn> {
    match support::next_event(c, "connected", T, |e| matches!(e, Event::Connected { .. })).await {
        Event::Connected { login, .. } => login,
        _ => None,
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// `RUNS` fresh logins; `want` checks how each went.
async fn login_ms(
    user: &User,
    fast: Option<&Arc<Kept>>,
    want: impl Fn(&client::SignIn) -> bool,
) -> Vec<f64> {
    let mut times = Vec::new();
    for i in 0..RUNS {
        let t = Instant::now();
        let mut c = client::start(config(user, i, None, fast))
            .await
            .expect("login");
        let how = connected(&mut c).await.expect("how");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(want(&how), "{how:?}");
        c.shutdown().await;
    }
    sorted(times)
}

/// `RUNS` reconnects of one client on the server's second port.
async fn reconnect_ms(
    server: &Prosody,
    user: &User,
    fast: Option<&Arc<Kept>>,
    want: impl Fn(&client::SignIn) -> bool,
) -> Vec<f64> {
    let mut c = client::start(config(user, 99, Some(server.port2), fast))
        .await
        .expect("login");
    connected(&mut c).await;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        // Settle, so that the reconnector's back-off for young connections is not
        // what is measured.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let t = Instant::now();
        let port = server.port2;
        let out = std::process::Command::new("ss")
            .args([
                "-K",
                "-tn",
                &format!("( dport = :{port} or sport = :{port} )"),
            ])
            .output()
            .expect("ss");
        assert!(out.status.success(), "ss -K needs root");
        let ev =
            support::next_event(&mut c, "back", T, |e| matches!(e, Event::Connected { .. })).await;
        let Event::Connected {
            resumed,
            login: how,
            ..
        } = ev
        else {
            unreachable!()
        };
        assert!(resumed, "not resumed");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let how = how.expect("how");
        assert!(want(&how), "{how:?}");
    }
    c.shutdown().await;
    sorted(times)
}

#[tokio::main]
async fn main() {
    let prosody = Prosody::start();
    let p = login_ms(&prosody.user("alice"), None, |l| !l.sasl2).await;
    let pr = reconnect_ms(&prosody, &prosody.user("bob"), None, |l| !l.sasl2).await;
    drop(prosody);

    let sasl2 = Prosody::start_with_sasl2(86_400);
    let s = login_ms(&sasl2.user("alice"), None, |l| {
        l.sasl2 && l.bind2 && !l.fast
    })
    .await;
    let kept = Arc::new(Kept::default());
    let carol = sasl2.user("carol");
    // The first login gets the token; the measured ones use it.
    login_ms(&carol, Some(&kept), |_| true).await;
    let f = login_ms(&carol, Some(&kept), |l| l.fast && l.bind2).await;
    let dave = sasl2.user("dave");
    let fr = reconnect_ms(&sasl2, &dave, Some(&Arc::new(Kept::default())), |l| l.fast).await;
    drop(sasl2);

    let ejabberd = Ejabberd::start();
    let e = login_ms(&ejabberd.user("alice"), None, |_| true).await;
    let m = |v: &[f64]| v[RUNS / 2];
    let w = |v: &[f64]| v[RUNS - 1];
    println!(
        "{}",
        serde_json::json!({
            "bench": "login", "runs": RUNS,
            "prosody_ms_median": m(&p), "prosody_ms_max": w(&p),
            "prosody_sasl2_ms_median": m(&s), "prosody_sasl2_ms_max": w(&s),
            "prosody_fast_ms_median": m(&f), "prosody_fast_ms_max": w(&f),
            "prosody_reconnect_ms_median": m(&pr), "prosody_reconnect_ms_max": w(&pr),
            "prosody_fast_reconnect_ms_median": m(&fr), "prosody_fast_reconnect_ms_max": w(&fr),
            "ejabberd_ms_median": m(&e), "ejabberd_ms_max": w(&e),
        })
    );
}
