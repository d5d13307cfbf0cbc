//! What a flood from one peer costs a running Banter (issue #12): a raw client sends
//! 5 000 chat messages, 2 000 directed presences and 1 000 bogus Jingle IQs to a
//! `banter listen` (the release binary) through a real Prosody on loopback. Reports the
//! listener's CPU time and peak RSS, and how long it took to handle each flood
//! (until a marker message after it arrived).
//!
//!     cargo bench --bench flood
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::raw::RawClient;
use support::{usage, Proc, Prosody};

const T: Duration = Duration::from_secs(300);

fn marker(to: &str, n: &str) -> String {
    format!("<message to='{to}' type='chat' id='mark-{n}'><body>marker {n}</body></message>")
}

fn main() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut l = Proc::spawn(alice.banter(&["listen"]));
    let connected = l.wait_for("connected", T, |v| v["event"] == "connected");
    let full = connected["jid"].as_str().unwrap().to_string();
    l.wait_for("caught up", T, |v| v["event"] == "caught_up");
    let pid = l.pid();
    let mut b = RawClient::login(&bob, "flood");
    let (cpu0, rss0) = usage(pid);

    let mut results = Vec::new();
    type Make<'a> = Box<dyn Fn(usize) -> String + 'a>;
    let floods: [(&str, usize, Make); 3] = [
        (
            "messages",
            5000,
            Box::new(|i| {
                format!(
                    "<message to='{}' type='chat' id='f{i}'><body>flood {i}</body></message>",
                    alice.jid
                )
            }),
        ),
        (
            "presences",
            2000,
            Box::new(|i| {
                format!(
                    "<presence to='{full}'><show>away</show><status>{i}</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://x' ver='v{i}'/></presence>"
                )
            }),
        ),
        (
            "jingle_iqs",
            1000,
            Box::new(|i| {
                format!(
                    "<iq to='{full}' type='set' id='j{i}'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='nosuch{i}'><content creator='initiator' name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='a' pwd='b'><candidate component='1' foundation='1' generation='0' id='c' ip='192.0.2.1' port='9' priority='1' protocol='udp' type='host'/></transport></content></jingle></iq>"
                )
            }),
        ),
    ];
    for (name, count, make) in &floods {
        let (cpu_a, _) = usage(pid);
        let start = Instant::now();
        let mut batch = String::new();
        for i in 0..*count {
            batch.push_str(&make(i));
            if batch.len() > 32 * 1024 {
                b.send(&batch);
                batch.clear();
            }
        }
        batch.push_str(&marker(&alice.jid, name));
        b.send(&batch);
        let body = format!("marker {name}");
        l.wait_for(name, T, |v| {
            v["event"] == "message" && v["body"] == body.as_str()
        });
        let secs = start.elapsed().as_secs_f64();
        let (cpu_b, rss) = usage(pid);
        results.push(format!(
            "\"{name}\": {{\"count\": {count}, \"seconds\": {secs:.2}, \"cpu_seconds\": {:.2}, \"peak_rss_mib\": {rss:.1}}}",
            cpu_b - cpu_a
        ));
        l.seen.clear();
    }
    let (cpu1, rss1) = usage(pid);
    println!(
        "{{\"bench\": \"flood\", \"rss_before_mib\": {rss0:.1}, \"peak_rss_mib\": {rss1:.1}, \"cpu_seconds\": {:.2}, {}}}",
        cpu1 - cpu0,
        results.join(", ")
    );
}
