#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::harness::{Net, Open, Seen, World, ALICE, BOB};
use super::*;

const CLEAN: Net = Net {
    drop: 0.0,
    duplicate: 0.0,
    max_delay: Duration::from_millis(80),
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn message(xml: &str) -> Message {
    let el: Element = xml.parse().unwrap();
    Message::try_from(el).unwrap()
}

/// Everything an endpoint asked for, as text, to compare whole lists (the report's
/// signaling lines aside: they repeat the stanzas).
fn drain(ep: &mut Endpoint) -> Vec<String> {
    std::iter::from_fn(|| ep.poll())
        .filter(|e| !matches!(e, Event::Signal { .. }))
        .map(|e| match e {
            Event::Send(s) => format!("send {}", String::from(&Element::from(s))),
            Event::Media { call, command } => format!("media {call} {}", media_name(&command)),
            Event::State { call, state, .. } => format!("state {call} {}", state.name()),
            Event::Info { call, info } => format!("info {call} {info}"),
            Event::Ended(e) => format!("ended {} {}", e.id, e.reason.as_str()),
            Event::Signal { .. } => unreachable!("filtered above"),
        })
        .collect()
}

fn media_name(c: &MediaCommand) -> String {
    match c {
        MediaCommand::CreateOffer {
            send_video,
            bundle,
            red,
        } => {
            format!("create-offer video={send_video} bundle={bundle} red={red}")
        }
        MediaCommand::AcceptOffer { .. } => "accept-offer".into(),
        MediaCommand::Close => "close".into(),
        other => format!("{other:?}").chars().take(20).collect(),
    }
}

/// A scripted call, run twice from the same seed: the same stanzas (ids included), the
/// same media work, the same states, in the same order.
#[test]
fn the_same_inputs_give_the_same_outputs() {
    let run = || {
        let mut w = World::new(7, CLEAN);
        w.place(ALICE, "c1", false, true);
        w.run_for(secs(1));
        w.user(BOB, "c1", Input::Accept);
        w.run_for(secs(2));
        w.user(ALICE, "c1", Input::Mute(true));
        w.run_for(secs(1));
        w.user(BOB, "c1", Input::Hangup);
        w.run_for(secs(10));
        format!("{:?}", w.seen)
    };
    let (a, b) = (run(), run());
    assert!(a.contains("Active"), "the call got going: {a}");
    assert_eq!(a, b);
}

/// Both call each other at the same moment: the proposal with the smaller id wins on
/// both sides, the other is withdrawn, and the winner is taken at once.
#[test]
fn crossing_calls_become_the_one_with_the_smaller_id() {
    let mut w = World::new(1, CLEAN);
    w.place(ALICE, "b-alice", false, false);
    w.place(BOB, "a-bob", false, false);
    w.run_for(secs(5));
    for side in [ALICE, BOB] {
        assert_eq!(
            w.calls(side),
            vec![("a-bob".to_string(), CallState::Active)]
        );
    }
    // Bob never rang for Alice's losing proposal; Alice withdrew it.
    let ended: Vec<_> = w.outcomes().into_iter().collect();
    assert_eq!(
        ended,
        vec![(
            (ALICE, "b-alice".to_string()),
            EndReason::Jingle(Reason::Cancel)
        )]
    );
}

/// What `side` sent of call `sid`, by kind, in order.
fn sent_by(w: &World, side: usize) -> Vec<String> {
    w.seen
        .iter()
        .filter_map(|s| match s {
            Seen::Sent { side: s, kind, .. } if *s == side => Some(kind.clone()),
            _ => None,
        })
        .collect()
}

/// Alice calls, her keys to seal the call still on their way; Bob answers.
fn answered_while_keys_come(seed: u64) -> World {
    let mut w = World::new(seed, CLEAN);
    w.keys_slow[ALICE] = true;
    w.place(ALICE, "c1", false, false);
    w.run_for(secs(1));
    w.user(BOB, "c1", Input::Accept);
    w
}

/// Our fingerprints are to be sealed with keys still on their way (the answering
/// device's OMEMO bundle): the session-initiate, and the candidates after it, wait
/// for them; once they come, the call goes on, in order.
#[test]
fn a_session_initiate_waits_for_the_keys_that_seal_it() {
    let mut w = answered_while_keys_come(3);
    w.run_for(Duration::from_millis(2_500));
    let sent = sent_by(&w, ALICE);
    assert!(
        !sent
            .iter()
            .any(|k| k.starts_with("session-") || k == "transport-info"),
        "nothing of the session before the keys: {sent:?}"
    );
    assert_eq!(w.calls(ALICE), vec![("c1".into(), CallState::Connecting)]);
    w.keys_arrive(ALICE);
    w.run_for(secs(2));
    let sent = sent_by(&w, ALICE);
    let first = sent
        .iter()
        .position(|k| k.starts_with("session-") || k == "transport-info");
    assert_eq!(
        first.map(|i| sent[i].as_str()),
        Some("session-initiate"),
        "{sent:?}"
    );
    for side in [ALICE, BOB] {
        assert_eq!(w.calls(side), vec![("c1".into(), CallState::Active)]);
    }
}

/// Keys that never come: the session-initiate goes unsealed after `KEYS_WAIT`
/// (an unverified call rather than none).
#[test]
fn keys_that_never_come_hold_the_call_3_s_at_most() {
    let mut w = answered_while_keys_come(4);
    w.run_for(KEYS_WAIT - Duration::from_millis(300));
    assert!(!sent_by(&w, ALICE).contains(&"session-initiate".to_string()));
    w.run_for(secs(2));
    assert!(sent_by(&w, ALICE).contains(&"session-initiate".to_string()));
    for side in [ALICE, BOB] {
        assert_eq!(w.calls(side), vec![("c1".into(), CallState::Active)]);
    }
}

/// The caller hangs up while its session-initiate waits: the callee, who accepted,
/// hears of the end at once (JMI), and what was held is never sent.
#[test]
fn hanging_up_while_held_ends_the_call_on_both_sides() {
    let mut w = answered_while_keys_come(5);
    w.run_for(secs(1));
    w.user(ALICE, "c1", Input::Hangup);
    w.run_for(secs(1));
    assert_eq!(w.calls(ALICE), vec![]);
    assert_eq!(w.calls(BOB), vec![], "bob's call ended too");
    let sent = sent_by(&w, ALICE);
    assert!(!sent.contains(&"session-initiate".to_string()), "{sent:?}");
    let cancel = EndReason::Jingle(Reason::Cancel);
    for side in [ALICE, BOB] {
        assert_eq!(w.outcomes().get(&(side, "c1".to_string())), Some(&cancel));
    }
}

/// A carbon of the proceed our other device sent to the caller is its accept: the call
/// stops ringing here as answered elsewhere.
#[test]
fn a_carbon_of_our_own_proceed_is_an_accept() {
    let bob = FullJid::new("bob@example.test/phone").unwrap();
    let mut ep = Endpoint::new(bob.to_bare(), true, secs(45), 1);
    ep.set_bound(Some(bob));
    let now = Instant::now();
    let propose = message(
        "<message xmlns='jabber:client' from='alice@example.test/pc' to='bob@example.test' \
         type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='c1'>\
         <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
    );
    ep.handle_jmi(&propose, now, &Open);
    let rang = drain(&mut ep);
    assert_eq!(rang.len(), 2, "{rang:?}");
    assert!(rang[0].contains("<ringing") && rang[0].contains("to='alice@example.test/pc'"));
    assert_eq!(rang[1], "state c1 ringing");
    let carbon = message(
        "<message xmlns='jabber:client' from='bob@example.test' to='bob@example.test/phone'>\
         <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
         <message xmlns='jabber:client' from='bob@example.test/laptop' \
         to='alice@example.test/pc'><proceed xmlns='urn:xmpp:jingle-message:0' id='c1'/>\
         </message></forwarded></sent></message>",
    );
    assert!(ep.is_jmi(&carbon));
    ep.handle_jmi(&carbon, now + secs(1), &Open);
    assert_eq!(
        drain(&mut ep),
        vec![
            "state c1 ended".to_string(),
            "ended c1 answered-elsewhere".to_string()
        ]
    );
    assert_eq!(ep.poll_timeout(), None, "nothing left to time");
}

/// The peer's features asked and not here yet: our offer waits for them (their answer
/// decides whether audio and video share a transport, and whether RED is offered), at
/// most FEATURES_WAIT.
#[test]
fn an_offer_waits_for_the_features_on_their_way() {
    /// What the peer's features say, once here: (bundles, takes RED).
    struct Pending(Option<(bool, bool)>);
    impl Directory for Pending {
        fn may_call(&self, _: &BareJid) -> bool {
            true
        }
        fn bundles(&self, _: &FullJid) -> Option<bool> {
            self.0.map(|f| f.0)
        }
        fn features_pending(&self, _: &FullJid) -> bool {
            self.0.is_none()
        }
        fn takes_red(&self, _: &FullJid) -> bool {
            self.0.is_some_and(|f| f.1)
        }
    }
    for arrive in [Some((false, false)), Some((true, true)), None] {
        let alice = FullJid::new("alice@example.test/pc").unwrap();
        let mut ep = Endpoint::new(alice.to_bare(), true, secs(45), 1);
        ep.set_bound(Some(alice));
        let t0 = Instant::now();
        let bob = Jid::new("bob@example.test").unwrap();
        ep.place("c1".into(), bob, true, t0, &Pending(None))
            .unwrap();
        drain(&mut ep);
        let proceed = message(
            "<message xmlns='jabber:client' from='bob@example.test/dino' \
             to='alice@example.test/pc'><proceed xmlns='urn:xmpp:jingle-message:0' id='c1'/>\
             </message>",
        );
        ep.handle_jmi(&proceed, t0 + secs(1), &Pending(None));
        assert_eq!(drain(&mut ep), vec!["state c1 connecting".to_string()]);
        assert_eq!(ep.poll_timeout(), Some(t0 + secs(1) + FEATURES_WAIT));
        let got = if arrive.is_some() {
            let dino = Jid::new("bob@example.test/dino").unwrap();
            ep.features_arrived(&dino, t0 + secs(2), &Pending(arrive));
            drain(&mut ep)
        } else {
            ep.handle_timeout(t0 + secs(3), &Pending(None));
            drain(&mut ep)
        };
        let expected = match arrive {
            // Dino: a transport per content, no RED.
            Some((false, false)) => "media c1 create-offer video=true bundle=false red=false",
            // Another Banter.
            Some(_) => "media c1 create-offer video=true bundle=true red=true",
            // Unknown: bundled, as libwebrtc clients do, and no RED.
            None => "media c1 create-offer video=true bundle=true red=false",
        };
        assert_eq!(got, vec![expected.to_string()]);
    }
}

/// A duplicated proposal that arrives after its call ended rings nobody again.
#[test]
fn a_late_copy_of_a_proposal_does_not_ring_again() {
    let mut w = World::new(3, CLEAN);
    w.place(ALICE, "c1", false, false);
    w.run_for(secs(1));
    w.user(BOB, "c1", Input::Reject(Reason::Decline));
    w.run_for(secs(1));
    assert!(w.calls(BOB).is_empty());
    let propose = message(
        "<message xmlns='jabber:client' from='alice@example.test/pc' to='bob@example.test' \
         type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='c1'>\
         <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
    );
    let now = w.now + secs(10);
    w.eps[BOB].handle_jmi(&propose, now, &Open);
    assert_eq!(drain(&mut w.eps[BOB]), Vec::<String>::new());
}

/// What one random case does: users act at random moments on a network that loses,
/// duplicates and reorders; then both hang up and time runs out.
fn random_case(seed: u64, net: Net) -> World {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = World::new(seed, net);
    // Sometimes a side's calls wait for keys to seal them (OMEMO bundles on their
    // way), which may come at a random moment or never; sometimes a side takes no
    // calls from the other, or never learns the other's features.
    w.keys_slow = [rng.random_bool(0.25), rng.random_bool(0.25)];
    for side in [ALICE, BOB] {
        w.dirs[side].refuses = rng.random_bool(0.1);
        w.dirs[side].features_lost = rng.random_bool(0.15);
    }
    // On a lossy network, streams also go down and come back.
    let outages = net.drop > 0.0;
    let steps = rng.random_range(1..12);
    let mut placed = 0;
    for _ in 0..steps {
        let side = rng.random_range(0..2);
        let calls = w.calls(side);
        let pick = |rng: &mut StdRng| -> Option<String> {
            (!calls.is_empty()).then(|| calls[rng.random_range(0..calls.len())].0.clone())
        };
        match rng.random_range(0..10) {
            // A person places a call when not in one (the window offers no second).
            0 | 1 if calls.is_empty() => {
                placed += 1;
                let id = format!("{}{placed}", if side == ALICE { 'a' } else { 'b' });
                w.place(side, &id, rng.random_bool(0.2), rng.random_bool(0.3));
                // Sometimes both call at once.
                if rng.random_bool(0.2) && w.calls(1 - side).is_empty() {
                    placed += 1;
                    let id = format!("{}{placed}", if side == ALICE { 'b' } else { 'a' });
                    w.place(1 - side, &id, false, false);
                }
            }
            2..=4 => {
                if let Some(c) = pick(&mut rng) {
                    w.user(side, &c, Input::Accept);
                }
            }
            5 => {
                if let Some(c) = pick(&mut rng) {
                    w.user(side, &c, Input::Reject(Reason::Decline));
                }
            }
            6 => {
                if let Some(c) = pick(&mut rng) {
                    w.user(side, &c, Input::Hangup);
                }
            }
            7 => {
                if let Some(c) = pick(&mut rng) {
                    let on = rng.random_bool(0.5);
                    w.user(side, &c, Input::Camera(on));
                }
            }
            8 => {
                if let Some(c) = pick(&mut rng) {
                    let on = rng.random_bool(0.5);
                    w.user(side, &c, if on { Input::Hold(on) } else { Input::Mute(on) });
                }
            }
            9 if w.keys_slow[side] => w.keys_arrive(side),
            9 if outages && !w.down[side] => w.stream(side, false, false),
            _ => {}
        }
        // A stream that went down comes back, often as a new session.
        for s in [ALICE, BOB] {
            if w.down[s] && rng.random_bool(0.5) {
                w.stream(s, true, rng.random_bool(0.5));
            }
        }
        let wait = Duration::from_millis(rng.random_range(0..20_000));
        w.run_for(wait);
    }
    for s in [ALICE, BOB] {
        if w.down[s] {
            w.stream(s, true, true);
        }
    }
    w.run_for(secs(3));
    w.hang_up_all(ALICE);
    w.hang_up_all(BOB);
    w.run_for(secs(120));
    w
}

/// The invariants of issue #17 over one case; `Err` says which broke.
fn check(w: &World, net: Net) -> Result<(), String> {
    // Every call reached its end, on both sides, within the time given.
    for side in [ALICE, BOB] {
        if !w.calls(side).is_empty() {
            return Err(format!("side {side} still has calls {:?}", w.calls(side)));
        }
    }
    let mut ended: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut accepted: Vec<(usize, String)> = Vec::new();
    let mut busy_now: [BTreeMap<String, CallState>; 2] = Default::default();
    for (i, s) in w.seen.iter().enumerate() {
        match s {
            Seen::Sent {
                side,
                sid: Some(sid),
                candidates,
                ..
            } if *candidates > 0 => {
                // No candidate (no address) before the callee accepted: from the callee
                // never before its own accept, from the caller of a JMI call never
                // before the callee's.
                let callee_accepted = accepted.iter().any(|(_, c)| c == sid);
                let own_accept = accepted.iter().any(|(sd, c)| c == sid && sd == side);
                let ok = if w.direct.contains(sid) {
                    own_accept || w.placed.get(sid) == Some(side)
                } else {
                    callee_accepted
                };
                if !ok {
                    return Err(format!(
                        "side {side} sent a candidate for {sid} before accept"
                    ));
                }
            }
            Seen::State { side, call, state } => {
                // The callee's call connects only once its user took it (or took the
                // crossing call, in a tie-break).
                if *state == CallState::Connecting && w.placed.get(call) != Some(side) {
                    accepted.push((*side, call.clone()));
                }
                if let CallState::Ended(_) = state {
                    ended.insert((*side, call.clone()), i);
                    busy_now[*side].remove(call);
                } else {
                    busy_now[*side].insert(call.clone(), *state);
                }
                let talking = busy_now[*side]
                    .values()
                    .filter(|s| matches!(s, CallState::Connecting | CallState::Active))
                    .count();
                if talking > 1 {
                    return Err(format!(
                        "side {side} in two calls at once: {:?}",
                        busy_now[*side]
                    ));
                }
            }
            _ => {}
        }
        // Nothing about a call after it ended.
        if let Seen::About { side, call } = s {
            if ended.get(&(*side, call.clone())).is_some_and(|e| *e < i) {
                return Err(format!("side {side} acted on {call} after it ended"));
            }
        }
    }
    // With every stanza delivered, both sides agree on how each call went.
    if net.drop == 0.0 {
        let outcomes = w.outcomes();
        let talked = w.talked();
        for ((side, call), r) in &outcomes {
            let Some(theirs) = outcomes.get(&(1 - side, call.clone())) else {
                continue;
            };
            if talked.contains(&(*side, call.clone())) != talked.contains(&(1 - side, call.clone()))
            {
                return Err(format!("{call}: only one side talked ({r:?} / {theirs:?})"));
            }
            // Both ended it at the same moment (each said so before hearing the
            // other): each keeps its own reason.
            let ended_by = |sd: usize| {
                w.seen.iter().any(|e| {
                    matches!(e, Seen::Sent { side, kind, sid: Some(id), .. }
                        if *side == sd && id == call && matches!(kind.as_str(),
                            "Retract" | "Reject" | "Finish" | "session-terminate"))
                })
            };
            let crossed = ended_by(*side) && ended_by(1 - side);
            if *r != *theirs && !crossed {
                return Err(format!("{call}: side {side} {r:?}, the other {theirs:?}"));
            }
        }
    }
    Ok(())
}

fn run_cases(first: u64, n: u64, net: Net) {
    for seed in first..first + n {
        let w = random_case(seed, net);
        if let Err(e) = check(&w, net) {
            let at = w.seen.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>();
            panic!(
                "seed {seed} ({net:?}): {e}\nwhat happened:\n{}",
                at.join("\n")
            );
        }
    }
}

/// Issue #17, item 2: thousands of random call histories on a clean network.
#[test]
fn random_calls_on_a_clean_network_keep_the_invariants() {
    run_cases(0, 1500, CLEAN);
}

/// The same on a network that loses, duplicates and reorders stanzas (a stream that
/// breaks and resumes, a server under load).
#[test]
fn random_calls_on_a_bad_network_keep_the_invariants() {
    let bad = Net {
        drop: 0.1,
        duplicate: 0.1,
        max_delay: Duration::from_millis(2_000),
    };
    run_cases(100_000, 1500, bad);
}

/// Duplicates and reordering without loss: both sides must still agree.
#[test]
fn random_calls_with_duplicates_and_reordering_agree() {
    let net = Net {
        drop: 0.0,
        duplicate: 0.2,
        max_delay: Duration::from_millis(1_500),
    };
    run_cases(200_000, 1500, net);
}

/// Do not disturb: a proposal and a direct call are both refused as busy and nothing
/// rings; once it is off, calls ring again.
#[test]
fn do_not_disturb_refuses_calls_as_busy() {
    use crate::jingle::session::EndReason;
    let mut w = World::new(5, CLEAN);
    w.eps[BOB].set_do_not_disturb(true);
    w.place(ALICE, "c1", false, false);
    w.place(ALICE, "c2", true, false);
    w.run_for(secs(2));
    assert!(w.calls(BOB).is_empty(), "{:?}", w.calls(BOB));
    let outcomes = w.outcomes();
    for id in ["c1", "c2"] {
        assert_eq!(
            outcomes.get(&(ALICE, id.to_string())),
            Some(&EndReason::Jingle(Reason::Busy)),
            "{outcomes:?}"
        );
    }
    w.eps[BOB].set_do_not_disturb(false);
    w.place(ALICE, "c3", false, false);
    w.run_for(secs(1));
    assert_eq!(
        w.calls(BOB),
        vec![("c3".to_string(), CallState::Ringing)],
        "{:?}",
        w.calls(BOB)
    );
}
