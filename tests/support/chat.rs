//! Chat scenarios run against each test server (Prosody and ejabberd).
#![allow(dead_code)]

use std::collections::HashSet;
use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event};
use banter::xmpp_parsers::jid::BareJid;

use super::{next_event, Proc, Prosody, User};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);

/// The slixmpp chat peer (tests/chat/slix_chat.py) of `user`, signed in.
pub fn slix_chat(user: &User, server: &Prosody) -> Proc {
    let cmd = super::python_peer("chat/slix_chat.py", user, server);
    let mut p = Proc::spawn_with_stdin(cmd);
    p.wait_for("slixmpp ready", T, |v| v["event"] == "ready");
    p
}

/// Sends a command to the slixmpp peer and returns its answer (`sent` and the id it
/// sent, or what the command reports).
pub fn slix_do(p: &mut Proc, cmd: Value) -> Value {
    let tag = format!("t{}", p.seen.len());
    let mut cmd = cmd;
    cmd["tag"] = Value::from(tag.clone());
    p.write_line(&cmd.to_string());
    let answer = p.wait_for("slixmpp's answer", T, |v| v["tag"] == tag.as_str());
    assert_ne!(answer["event"], "error", "{answer}");
    answer
}

async fn online(user: &User) -> ClientHandle {
    let mut c = client::start(user.config("pc")).await.expect("login");
    next_event(&mut c, "connected", T, |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

/// 200 messages sent at once arrive once each, in order; the server acknowledges every
/// one at the sender and the receiver confirms each (XEP-0184). "Once" is bounded by a
/// marker sent after the burst: it is the next message, no duplicate before it.
pub async fn burst_of_200_arrives_once_in_order(alice: &User, bob: &User) {
    let mut a = online(alice).await;
    let mut b = online(bob).await;
    next_event(&mut b, "bob caught up", T, |e| {
        matches!(e, Event::CaughtUp { .. })
    })
    .await;
    let to = BareJid::new(&bob.jid).expect("bob's JID");
    for i in 0..200 {
        a.send(Command::SendMessage {
            id: format!("burst-{i}"),
            to: to.clone(),
            body: format!("message {i}"),
        });
    }
    let mut got = Vec::new();
    while got.len() < 200 {
        if let Event::Message { message } = next_event(&mut b, "burst message", T, |e| {
            matches!(e, Event::Message { .. })
        })
        .await
        {
            got.push(message.body);
        }
    }
    let expected: Vec<String> = (0..200).map(|i| format!("message {i}")).collect();
    assert_eq!(got, expected);
    let (mut acked, mut delivered) = (HashSet::new(), HashSet::new());
    let deadline = tokio::time::Instant::now() + T;
    while (acked.len() < 200 || delivered.len() < 200) && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, a.next_event()).await {
            Ok(Some(Event::MessageAcked { id })) => {
                acked.insert(id);
            }
            Ok(Some(Event::MessageDelivered { id })) => {
                delivered.insert(id);
            }
            _ => {}
        }
    }
    assert_eq!(acked.len(), 200, "server acknowledged every message");
    assert_eq!(delivered.len(), 200, "receipts for every message");
    a.send(Command::SendMessage {
        id: "marker".into(),
        to,
        body: "marker".into(),
    });
    let next = next_event(&mut b, "the marker", T, |e| {
        matches!(e, Event::Message { .. })
    })
    .await;
    assert!(
        matches!(&next, Event::Message { message } if message.body == "marker"),
        "a duplicate arrived before the marker: {next:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}
