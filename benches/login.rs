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
//! - Reconnect: the TCP connection cut (`ss -K`) until the session is
//!   back (resumed), with the password (RFC 6120 SASL) and with a FAST token.
//! - The three logins again through relays that add 10 ms each way (a 20 ms round
//!   trip), where the round trips saved show.
//!
//! Runs as root (`ss -K`).
//!
//!     cargo bench --bench login
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use banter::client::{self, Event, TokenStore};
use support::sasl2::KeptTokens;
use support::{ejabberd::Ejabberd, Prosody, User};

const RUNS: usize = 20;
const T: Duration = Duration::from_secs(20);

fn config(
    user: &User,
    i: usize,
    port: Option<u16>,
    fast: Option<&Arc<KeptTokens>>,
) -> client::Config {
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
    port: Option<u16>,
    fast: Option<&Arc<KeptTokens>>,
    want: impl Fn(&client::SignIn) -> bool,
) -> Vec<f64> {
    let mut times = Vec::new();
    for i in 0..RUNS {
        let t = Instant::now();
        let mut c = client::start(config(user, i, port, fast))
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
    fast: Option<&Arc<KeptTokens>>,
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
        support::netns::kill_connections(server.port2);
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

/// A TCP relay on loopback that holds every chunk `delay` before passing it on, in
/// order, both ways: a network with a round trip of twice that (netem is not in
/// every kernel).
async fn delaying_relay(to: u16, delay: Duration) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            for (mut r, mut w) in [(cr, sw), (sr, cw)] {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = r.read(&mut buf).await {
                        if n == 0
                            || tx
                                .send((Instant::now() + delay, buf[..n].to_vec()))
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    while let Some((due, bytes)) = rx.recv().await {
                        tokio::time::sleep_until(due.into()).await;
                        if w.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                    let _ = w.shutdown().await;
                });
            }
        }
    });
    port
}

#[tokio::main]
async fn main() {
    run().await;
}

/// Classic, SASL2 + Bind 2, and FAST logins; through relays that add `delay` each
/// way when given.
async fn logins(prosody: &Prosody, sasl2: &Prosody, delay: Option<Duration>) -> [Vec<f64>; 3] {
    let (tag, p_port, s_port) = match delay {
        Some(d) => (
            "-rtt",
            Some(delaying_relay(prosody.port, d).await),
            Some(delaying_relay(sasl2.port, d).await),
        ),
        None => ("", None, None),
    };
    let p = login_ms(&prosody.user(&format!("alice{tag}")), p_port, None, |l| {
        !l.sasl2
    })
    .await;
    let s = login_ms(&sasl2.user(&format!("alice{tag}")), s_port, None, |l| {
        l.sasl2 && l.bind2 && !l.fast
    })
    .await;
    let kept = Arc::new(KeptTokens::default());
    let carol = sasl2.user(&format!("carol{tag}"));
    // The first login gets the token; the measured ones use it.
    login_ms(&carol, s_port, Some(&kept), |_| true).await;
    let f = login_ms(&carol, s_port, Some(&kept), |l| l.fast && l.bind2).await;
    [p, s, f]
}

async fn run() {
    let prosody = Prosody::start();
    let sasl2 = Prosody::start_with_sasl2(86_400);
    let [p, s, f] = logins(&prosody, &sasl2, None).await;
    let pr = reconnect_ms(&prosody, &prosody.user("bob"), None, |l| !l.sasl2).await;
    let dave = sasl2.user("dave");
    let fr = reconnect_ms(&sasl2, &dave, Some(&Arc::new(KeptTokens::default())), |l| {
        l.fast
    })
    .await;

    let ejabberd = Ejabberd::start();
    let e = login_ms(&ejabberd.user("alice"), None, None, |_| true).await;
    drop(ejabberd);
    let m = |v: &[f64]| v[RUNS / 2];
    let w = |v: &[f64]| v[RUNS - 1];
    let mut out = serde_json::json!({
        "bench": "login", "runs": RUNS,
        "prosody_ms_median": m(&p), "prosody_ms_max": w(&p),
        "prosody_sasl2_ms_median": m(&s), "prosody_sasl2_ms_max": w(&s),
        "prosody_fast_ms_median": m(&f), "prosody_fast_ms_max": w(&f),
        "prosody_reconnect_ms_median": m(&pr), "prosody_reconnect_ms_max": w(&pr),
        "prosody_fast_reconnect_ms_median": m(&fr), "prosody_fast_reconnect_ms_max": w(&fr),
        "ejabberd_ms_median": m(&e), "ejabberd_ms_max": w(&e),
    });
    // A 20 ms round trip, where the round trips saved show.
    let [p, s, f] = logins(&prosody, &sasl2, Some(Duration::from_millis(10))).await;
    out["rtt20_prosody_ms_median"] = m(&p).into();
    out["rtt20_prosody_sasl2_ms_median"] = m(&s).into();
    out["rtt20_prosody_fast_ms_median"] = m(&f).into();
    println!("{out}");
}
