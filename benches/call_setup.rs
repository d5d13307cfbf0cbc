//! Call setup time: JMI propose → first decoded audio at the caller, with the callee
//! answering automatically, through a real Prosody on loopback. Median of 20 calls.
//!
//!     cargo bench --bench call_setup
//!     OMEMO=1 cargo bench --bench call_setup   # both with OMEMO, sessions begun by a
//!                                             # message first: fingerprints sealed
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use banter::client::{self, CallStatus, Command, Event};
use banter::xmpp_parsers::jid::{BareJid, Jid};
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, MediaConfig};

fn media(tone: f32) -> MediaConfig {
    let mut m = MediaConfig::new(SourceSpec::Tone(tone), SinkSpec::Null);
    m.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    m
}

async fn wait(c: &mut client::ClientHandle, pred: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match c.next_event().await {
                Some(ev) if pred(&ev) => return ev,
                Some(_) => {}
                None => panic!("client ended"),
            }
        }
    })
    .await
    .expect("timed out")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let omemo = std::env::var("OMEMO").is_ok_and(|v| v == "1");
    let server = support::Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");

    let mut bob_cfg = bob.config("phone");
    bob_cfg.media = Some(media(880.0));
    bob_cfg.call_policy.allowed = vec![BareJid::new(&alice.jid).unwrap()];
    bob_cfg.omemo = omemo;
    let mut b = client::start(bob_cfg).await.expect("bob");
    wait(&mut b, |e| matches!(e, Event::CaughtUp { .. })).await;
    if omemo {
        wait(&mut b, |e| matches!(e, Event::OmemoReady { .. })).await;
    }
    // Bob answers every call at once.
    let answerer = tokio::spawn(async move {
        while let Some(ev) = b.next_event().await {
            if let Event::Call { id, state, .. } = ev {
                if state == CallStatus::Ringing {
                    b.send(Command::AcceptCall { id, video: false });
                }
            }
        }
    });

    let mut alice_cfg = alice.config("pc");
    alice_cfg.media = Some(media(440.0));
    alice_cfg.omemo = omemo;
    let mut a = client::start(alice_cfg).await.expect("alice");
    wait(&mut a, |e| matches!(e, Event::Connected { .. })).await;
    wait(&mut a, |e| matches!(e, Event::CaughtUp { .. })).await;
    if omemo {
        wait(&mut a, |e| matches!(e, Event::OmemoReady { .. })).await;
        // As between contacts who have chatted: an OMEMO session with Bob's device.
        a.send(Command::SendMessage {
            id: "hello".into(),
            to: BareJid::new(&bob.jid).unwrap(),
            body: "hello".into(),
        });
        wait(
            &mut a,
            |e| matches!(e, Event::MessageAcked { id } if id == "hello"),
        )
        .await;
    }
    let mut sealed = 0;

    let mut setup_ms = Vec::new();
    for i in 0..runs {
        let id = format!("bench-{i}");
        let t0 = Instant::now();
        a.send(Command::Call {
            id: id.clone(),
            to: Jid::new(&bob.jid).unwrap(),
            video: false,
        });
        while let Event::CallOmemo { .. } = wait(&mut a, |e| {
            matches!(e, Event::CallAudio { id: got } | Event::CallOmemo { id: got, .. } if *got == id)
        })
        .await
        {
            sealed += 1;
        }
        setup_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        a.send(Command::Hangup { id: id.clone() });
        wait(
            &mut a,
            |e| matches!(e, Event::Call { id: got, state, .. } if *got == id && *state == CallStatus::Ended),
        )
        .await;
        // Bob takes at most one proposal a second from a peer (burst 5: issue #12's
        // limit); a person does not call faster either.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    answerer.abort();
    a.shutdown().await;
    let mut sorted = setup_ms.clone();
    sorted.sort_by(|x, y| x.total_cmp(y));
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    println!(
        "{}",
        serde_json::json!({
            "calls": sorted.len(),
            "omemo_sealed": sealed,
            "setup_ms_median": pct(0.5),
            "setup_ms_p90": pct(0.9),
            "setup_ms_min": sorted[0],
            "setup_ms_max": sorted[sorted.len() - 1],
        })
    );
}
