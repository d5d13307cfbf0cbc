#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::super::tests::{active_pair, cand, own};
use super::*;

fn alice() -> Jid {
    Jid::new("alice@x/pc").unwrap()
}

fn bob() -> Jid {
    Jid::new("bob@x/phone").unwrap()
}

fn creds(u: &str) -> IceCredentials {
    IceCredentials {
        ufrag: u.into(),
        pwd: format!("{u}-password-password"),
    }
}

/// The transport-infos among `out`, in order.
fn transport_infos(out: &[Output]) -> Vec<Jingle> {
    out.iter()
        .filter_map(|o| match o {
            Output::Jingle { jingle, .. } if jingle.action == Action::TransportInfo => {
                Some(jingle.clone())
            }
            _ => None,
        })
        .collect()
}

fn transport(j: &Jingle) -> &Transport {
    j.contents[0].transport.as_ref().unwrap()
}

pub(crate) fn timers(out: &[Output]) -> Vec<Duration> {
    out.iter()
        .filter_map(|o| match o {
            Output::SetTimer(d) => Some(*d),
            _ => None,
        })
        .collect()
}

fn peer_restarted(out: &[Output]) -> Option<(IceCredentials, bool)> {
    out.iter().find_map(|o| match o {
        Output::PeerRestarted { peer, offer } => Some((peer.clone(), *offer)),
        _ => None,
    })
}

fn remote_candidates(out: &[Output]) -> usize {
    out.iter()
        .map(|o| match o {
            Output::RemoteCandidates(c) => c.len(),
            _ => 0,
        })
        .sum()
}

/// Alice (initiator) loses the path, restarts after 2 s: a transport-info with only
/// her new credentials, her candidates after it; Bob answers with his credentials
/// on his first new candidate; media connects and both are told the path is back.
#[test]
fn a_lost_path_is_restarted_and_answered_as_conversations_does() {
    let (mut a, mut b) = active_pair();
    let out = a.handle(Input::PathLost);
    assert!(out.iter().any(|o| matches!(o, Output::Path { lost: true })));
    assert_eq!(timers(&out), vec![Duration::from_secs(2)]);
    let out = b.handle(Input::PathLost);
    assert_eq!(
        timers(&out),
        vec![Duration::from_secs(4)],
        "the responder waits longer"
    );

    let out = a.handle(Input::Timeout);
    assert!(out.iter().any(|o| matches!(o, Output::RestartIce)));
    assert_eq!(timers(&out), vec![RESTART_RETRY]);
    // A candidate of the new generation made before its credentials: held.
    assert!(a.handle(Input::LocalCandidate(cand(7000))).is_empty());
    let out = a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    });
    let tis = transport_infos(&out);
    assert_eq!(tis.len(), 2, "{out:?}");
    let offer = transport(&tis[0]);
    assert_eq!(offer.ufrag.as_deref(), Some("a1"));
    assert!(offer.candidates.is_empty() && offer.fingerprint.is_none());
    assert_eq!(transport(&tis[1]).ufrag.as_deref(), Some("a1"));
    assert_eq!(transport(&tis[1]).candidates.len(), 1);

    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: tis[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("a1"), true)));
    assert_eq!(
        timers(&out),
        vec![RESTART_RETRY + Duration::from_secs(2)],
        "Bob's own restart waits for Alice's next one"
    );
    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: tis[1].clone(),
    });
    assert_eq!(peer_restarted(&out), None, "same generation");
    assert_eq!(remote_candidates(&out), 1);
    // Bob's answer waits for his first candidate, and goes with it.
    let out = b.handle(Input::LocalRestart {
        ours: creds("b1"),
        offer: false,
    });
    assert!(transport_infos(&out).is_empty(), "{out:?}");
    let out = b.handle(Input::LocalCandidate(cand(7001)));
    let tis = transport_infos(&out);
    assert_eq!(transport(&tis[0]).ufrag.as_deref(), Some("b1"));
    assert_eq!(transport(&tis[0]).candidates.len(), 1);

    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: tis[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("b1"), false)));
    assert_eq!(remote_candidates(&out), 1);

    for c in [&mut a, &mut b] {
        let out = c.handle(Input::MediaConnected);
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::Path { lost: false })));
        assert_eq!(c.state, CallState::Active);
        assert_eq!(c.ice_restarts(), 1);
        // The old timer firing now does nothing.
        assert!(c.handle(Input::Timeout).is_empty());
    }
}

/// Both restart at once: the initiator's restart wins, the responder's is dropped
/// by the initiator and given up by the responder.
#[test]
fn both_restarting_at_once_the_initiators_restart_wins() {
    let (mut a, mut b) = active_pair();
    for c in [&mut a, &mut b] {
        c.handle(Input::PathLost);
        c.handle(Input::Timeout);
    }
    let a_offer = transport_infos(&a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    }));
    let b_offer = transport_infos(&b.handle(Input::LocalRestart {
        ours: creds("b1"),
        offer: true,
    }));
    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: b_offer[0].clone(),
    });
    assert_eq!(peer_restarted(&out), None, "{out:?}");
    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: a_offer[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("a1"), true)));
    // Bob answers; Alice takes it.
    b.handle(Input::LocalRestart {
        ours: creds("b2"),
        offer: false,
    });
    let answer = transport_infos(&b.handle(Input::LocalCandidate(cand(7002))));
    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: answer[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("b2"), false)));
}

/// The peer's restart comes while the engine makes ours: ours is dropped when it
/// comes, our answer goes out with the candidates held meanwhile.
#[test]
fn the_peers_restart_while_ours_is_being_made_replaces_it() {
    let (mut a, mut b) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Timeout);
    b.handle(Input::PathLost);
    b.handle(Input::Timeout);
    let b_offer = transport_infos(&b.handle(Input::LocalRestart {
        ours: creds("b1"),
        offer: true,
    }));
    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: b_offer[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("b1"), true)));
    assert!(a.handle(Input::LocalCandidate(cand(7003))).is_empty());
    let out = a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    });
    assert!(transport_infos(&out).is_empty(), "replaced: {out:?}");
    let out = a.handle(Input::LocalRestart {
        ours: creds("a2"),
        offer: false,
    });
    let tis = transport_infos(&out);
    assert_eq!(tis.len(), 1, "{out:?}");
    assert_eq!(transport(&tis[0]).ufrag.as_deref(), Some("a2"));
    assert_eq!(transport(&tis[0]).candidates.len(), 1);
}

/// After a restart, candidates still carrying the peer's old credentials, and
/// credentials that do not fit SDP, are dropped.
#[test]
fn stale_and_malformed_credentials_are_dropped() {
    let (mut a, mut b) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Timeout);
    let tis = transport_infos(&a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    }));
    b.handle(Input::Jingle {
        from: alice(),
        jingle: tis[0].clone(),
    });
    // A late candidate of Alice's first generation.
    let mut old = tis[0].clone();
    if let Some(t) = old.contents[0].transport.as_mut() {
        t.ufrag = Some("uf".into());
        t.pwd = Some("pwd-pwd-pwd-pwd-pwd-pwd".into());
        t.candidates = vec![cand(7004)];
    }
    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: old,
    });
    assert_eq!(remote_candidates(&out), 0, "{out:?}");
    assert_eq!(peer_restarted(&out), None);
    let mut bad = tis[0].clone();
    if let Some(t) = bad.contents[0].transport.as_mut() {
        t.ufrag = Some("x\r\na=candidate:1 1 udp 1 203.0.113.9 9 typ host".into());
    }
    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: bad,
    });
    assert_eq!(peer_restarted(&out), None, "{out:?}");
    assert_eq!(b.state, CallState::Active);
}

/// A blip: the path comes back before the timer; nothing is restarted. A path that
/// never comes back: restarts every RESTART_RETRY, then the call ends as a
/// connectivity error after PATH_GIVE_UP.
#[test]
fn a_blip_restarts_nothing_and_a_lost_cause_ends_after_the_give_up_time() {
    let (mut a, _) = active_pair();
    a.handle(Input::PathLost);
    let out = a.handle(Input::MediaConnected);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Path { lost: false })));
    assert!(a.handle(Input::Timeout).is_empty());
    assert_eq!(a.ice_restarts(), 0);

    let mut waited = timers(&a.handle(Input::PathLost))[0];
    let mut restarts = 0;
    loop {
        let out = a.handle(Input::Timeout);
        if let Some(t) = jingle_of_terminate(&out) {
            assert_eq!(t, Reason::ConnectivityError);
            break;
        }
        assert!(
            out.iter().any(|o| matches!(o, Output::RestartIce)),
            "{out:?}"
        );
        restarts += 1;
        a.handle(Input::LocalRestart {
            ours: creds(&format!("a{restarts}")),
            offer: true,
        });
        // The peer is there (it acknowledges each restart); only the path is not.
        a.handle(Input::JingleAcked(Action::TransportInfo));
        waited += timers(&out)[0];
    }
    assert!(waited >= PATH_GIVE_UP && waited < PATH_GIVE_UP + RESTART_RETRY * 2);
    assert_eq!(a.ice_restarts(), restarts);
    assert!(a.is_ended());
}

fn jingle_of_terminate(out: &[Output]) -> Option<Reason> {
    out.iter().find_map(|o| match o {
        Output::Jingle { jingle, .. } if jingle.action == Action::SessionTerminate => jingle.reason,
        _ => None,
    })
}

/// What one restart costs on the wire (one host candidate per side, as on loopback):
/// Alice's offer, her candidate, Bob's answer on his candidate, each an IQ set
/// with its result; a real JID pair and real-length credentials. Printed for
/// BENCHMARKS.md; more than 3 KB would mean the stanzas carry more than they need.
#[test]
fn a_restart_costs_under_3_kb_of_signaling() {
    let (mut a, mut b) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Timeout);
    let long = |u: &str| IceCredentials {
        ufrag: format!("{u}Xy7Q"),
        pwd: format!("{u}kZ3pW9sLq2VbN8tRm4YcFdHj"),
    };
    a.handle(Input::LocalCandidate(cand(50123)));
    let mut sent = transport_infos(&a.handle(Input::LocalRestart {
        ours: long("a1"),
        offer: true,
    }));
    for j in sent.clone() {
        b.handle(Input::Jingle {
            from: alice(),
            jingle: j,
        });
    }
    b.handle(Input::LocalRestart {
        ours: long("b1"),
        offer: false,
    });
    sent.extend(transport_infos(
        &b.handle(Input::LocalCandidate(cand(50124))),
    ));
    assert_eq!(sent.len(), 3);
    // The IQ around each (from, to, type, id, namespace) and its empty result,
    // as Prosody relays them for these JIDs.
    let iq = r#"<iq xmlns="jabber:client" type="set" id="0123456789abcdef" from="alice@example.test/pc" to="bob@example.test/pc"></iq>"#.len();
    let result = r#"<iq xmlns="jabber:client" type="result" id="0123456789abcdef" from="bob@example.test/pc" to="alice@example.test/pc"/>"#.len();
    let bytes: usize = sent
        .iter()
        .map(|j| String::from(&j.to_element()).len() + iq + result)
        .sum();
    println!(
        "one ICE restart: {} stanzas, {bytes} bytes of signaling",
        sent.len() * 2
    );
    assert!(bytes < 3000, "{bytes} bytes");
}

/// StanzaJS answers a restart with a transport-info holding its new credentials and
/// its fingerprint with its DTLS role, candidates after: that is the answer, not a
/// crossing restart. Its own restart says `actpass`.
#[test]
fn a_stanzajs_answer_without_candidates_is_an_answer() {
    let (mut a, mut b) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Timeout);
    let tis = transport_infos(&a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    }));
    assert_eq!(tis.len(), 1);
    let fingerprint = |setup| {
        Some((
            Fingerprint {
                hash: "sha-256".into(),
                value: "CC:DD".into(),
            },
            setup,
        ))
    };
    let with = |ufrag: &str, setup| {
        let mut j = tis[0].clone();
        if let Some(t) = j.contents[0].transport.as_mut() {
            t.ufrag = Some(creds(ufrag).ufrag);
            t.pwd = Some(creds(ufrag).pwd);
            t.fingerprint = fingerprint(setup);
        }
        j
    };
    let answer = with("b1", Setup::Active);
    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: answer,
    });
    assert_eq!(peer_restarted(&out), Some((creds("b1"), false)));
    // The browser (initiator) restarting towards Bob: an offer.
    let offer = with("a2", Setup::ActPass);
    let out = b.handle(Input::Jingle {
        from: alice(),
        jingle: offer,
    });
    assert_eq!(peer_restarted(&out), Some((creds("a2"), true)));
}

/// The peer answers one of our requests with item-not-found (it ended the call while
/// our stream was down, and its session-terminate never reached us): the call ends
/// as gone, with nothing sent to a peer that has forgotten it.
#[test]
fn a_peer_without_the_session_ends_the_call() {
    let (mut a, _) = active_pair();
    a.handle(Input::PathLost);
    let out = a.handle(Input::PeerLostSession);
    assert_eq!(a.state, CallState::Ended(EndReason::Jingle(Reason::Gone)));
    assert!(jingle_of_terminate(&out).is_none(), "{out:?}");
    assert!(a.handle(Input::Timeout).is_empty());
}

/// A peer that acknowledges none of our restarts while our stream is up (its client
/// killed, its server keeping the session for resumption) is gone after five (about
/// 45 s: a peer whose network is down answers none either); while our own stream is
/// down, unanswered restarts say nothing of the peer.
#[test]
fn a_peer_that_answers_no_restart_is_gone_unless_our_stream_was_down() {
    let restart_unanswered = |c: &mut Call, n: &str| {
        let out = c.handle(Input::Timeout);
        assert!(
            out.iter().any(|o| matches!(o, Output::RestartIce)),
            "{out:?}"
        );
        c.handle(Input::LocalRestart {
            ours: creds(n),
            offer: true,
        });
    };
    let (mut a, _) = active_pair();
    a.handle(Input::PathLost);
    for n in 1..=UNANSWERED_GIVE_UP {
        restart_unanswered(&mut a, &format!("a{n}"));
    }
    let out = a.handle(Input::Timeout);
    assert_eq!(jingle_of_terminate(&out), Some(Reason::Gone), "{out:?}");

    let (mut a, _) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Signaling(false));
    restart_unanswered(&mut a, "a1");
    restart_unanswered(&mut a, "a2");
    restart_unanswered(&mut a, "a3");
    a.handle(Input::Signaling(true));
    for n in 4..=(2 + UNANSWERED_GIVE_UP) {
        restart_unanswered(&mut a, &format!("a{n}"));
    }
    assert_eq!(a.state, CallState::Active, "still trying");
    // Any Jingle from the peer (here its answer) counts as an answer too.
    let (mut a, mut b) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::Timeout);
    let tis = transport_infos(&a.handle(Input::LocalRestart {
        ours: creds("a1"),
        offer: true,
    }));
    b.handle(Input::Jingle {
        from: alice(),
        jingle: tis[0].clone(),
    });
    b.handle(Input::LocalRestart {
        ours: creds("b1"),
        offer: false,
    });
    let answer = transport_infos(&b.handle(Input::LocalCandidate(cand(7005))));
    a.handle(Input::Jingle {
        from: bob(),
        jingle: answer[0].clone(),
    });
    restart_unanswered(&mut a, "a2");
    assert!(jingle_of_terminate(&a.handle(Input::Timeout)).is_none());
}

/// An address change restarts at once, with no lost path to wait for, from either
/// side; the peer answers as to any restart; twice in a row makes one restart.
#[test]
fn a_change_of_our_addresses_restarts_at_once() {
    let (mut a, mut b) = active_pair();
    let out = b.handle(Input::AddressesChanged);
    assert!(
        out.iter().any(|o| matches!(o, Output::RestartIce)),
        "{out:?}"
    );
    assert!(timers(&out).is_empty(), "no waiting: {out:?}");
    assert!(
        !out.iter().any(|o| matches!(o, Output::Path { .. })),
        "the path is not called lost: it may still work"
    );
    assert!(
        b.handle(Input::AddressesChanged).is_empty(),
        "one restart in the making at a time"
    );
    let offer = transport_infos(&b.handle(Input::LocalRestart {
        ours: creds("b1"),
        offer: true,
    }));
    let out = a.handle(Input::Jingle {
        from: bob(),
        jingle: offer[0].clone(),
    });
    assert_eq!(peer_restarted(&out), Some((creds("b1"), true)));
    assert_eq!(b.ice_restarts(), 1);
    // The initiator's own change works the same.
    assert!(a
        .handle(Input::LocalRestart {
            ours: creds("a1"),
            offer: false,
        })
        .is_empty());
    a.handle(Input::LocalCandidate(cand(7003)));
    let out = a.handle(Input::AddressesChanged);
    assert!(
        out.iter().any(|o| matches!(o, Output::RestartIce)),
        "{out:?}"
    );
}

/// Before the call is up there is nothing to restart: the first ICE gathers on the
/// addresses there are.
#[test]
fn an_address_change_before_the_call_is_up_changes_nothing() {
    let (mut c, _) = Call::place(
        "v".into(),
        bob(),
        own("alice@x/pc"),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    assert!(c.handle(Input::AddressesChanged).is_empty());
}
