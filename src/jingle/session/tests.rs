#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use banter_media::description::{Codec, Content as MC, Direction};

pub(crate) fn own(s: &str) -> FullJid {
    FullJid::new(s).unwrap()
}

/// An audio offer (also the endpoint harness's stand-in media's).
pub(crate) fn desc() -> SessionDescription {
    SessionDescription {
        ice_ufrag: "uf".into(),
        ice_pwd: "pwd-pwd-pwd-pwd-pwd-pwd".into(),
        fingerprint: Fingerprint {
            hash: "sha-256".into(),
            value: "AA:BB".into(),
        },
        setup: Setup::ActPass,
        bundle: vec!["0".into()],
        contents: vec![MC {
            name: "0".into(),
            kind: MediaKind::Audio,
            codecs: vec![Codec::opus()],
            header_extensions: vec![],
            ssrcs: vec![],
            ssrc_groups: vec![],
            rtcp_mux: true,
            direction: Direction::SendRecv,
            transport: None,
        }],
        candidates: vec![],
    }
}

pub(crate) fn cand(port: u16) -> Candidate {
    Candidate::from_sdp(&format!(
        "candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"
    ))
    .unwrap()
}

pub(crate) fn jingle_of(out: &[Output], action: Action) -> Option<Jingle> {
    out.iter().find_map(|o| match o {
        Output::Jingle { jingle, .. } if jingle.action == action => Some(jingle.clone()),
        _ => None,
    })
}

fn jmi_of(out: &[Output]) -> Vec<Jmi> {
    out.iter()
        .filter_map(|o| match o {
            Output::Message(m) => Jmi::from_message(m),
            _ => None,
        })
        .collect()
}

fn states(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::State(s) => Some(s.name()),
            _ => None,
        })
        .collect()
}

/// A direct session-initiate from Alice to Bob, as Bob's machine sees it.
fn initiated_call() -> (Call, FullJid, Jingle) {
    let alice = own("alice@x/pc");
    let (contents, group) = mapping::to_jingle(&desc(), "initiator", true);
    let mut init = Jingle::new(Action::SessionInitiate, "s9");
    init.initiator = Some(alice.to_string());
    init.contents = contents;
    init.group = group;
    let (call, _) = Call::initiated(alice.clone(), own("bob@x/phone"), &init, RING_TIMEOUT);
    (call, alice, init)
}

fn transport_info(init: &Jingle, cands: Vec<Candidate>) -> Jingle {
    let mut ti = Jingle::new(Action::TransportInfo, "s9");
    ti.contents = init.contents.clone();
    for c in &mut ti.contents {
        c.description = None;
        if let Some(t) = c.transport.as_mut() {
            t.candidates = cands.clone();
        }
    }
    ti
}

/// Issue #12, item 5: 10 000 candidates in one transport-info once cost a core for
/// 14 s and thousands of packets to addresses the peer chose. At most
/// MAX_REMOTE_CANDIDATES per transport are taken, across transport-infos.
#[test]
fn remote_candidates_are_capped_per_call() {
    let (mut b, alice, init) = initiated_call();
    let many: Vec<Candidate> = (1..=1000).map(|p| cand(p as u16)).collect();
    for chunk in many.chunks(500) {
        let out = b.handle(Input::Jingle {
            from: Jid::from(alice.clone()),
            jingle: transport_info(&init, chunk.to_vec()),
        });
        assert!(out.is_empty(), "held until the user accepts: {out:?}");
    }
    let out = b.handle(Input::Accept);
    let taken: usize = out
        .iter()
        .map(|o| match o {
            Output::RemoteCandidates(c) => c.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(taken, mapping::MAX_REMOTE_CANDIDATES);
    // Later ones are ignored too.
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice),
        jingle: transport_info(&init, vec![cand(4000)]),
    });
    assert!(!out.iter().any(|o| matches!(o, Output::RemoteCandidates(_))));
}

/// Issue #12, item 2: a candidate string that would add SDP lines ends the call.
#[test]
fn a_candidate_that_does_not_fit_sdp_ends_the_call() {
    let (mut b, alice, init) = initiated_call();
    let mut bad = cand(5000);
    bad.foundation = "1\r\na=candidate:2 1 udp 1 203.0.113.9 9 typ host".into();
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice),
        jingle: transport_info(&init, vec![bad]),
    });
    let term = jingle_of(&out, Action::SessionTerminate).expect("terminated");
    assert_eq!(term.reason, Some(Reason::FailedApplication));
    assert!(!out.iter().any(|o| matches!(o, Output::RemoteCandidates(_))));
}

/// Both sides of a JMI call, messages carried by hand.
#[test]
fn jmi_call_end_to_end_without_network() {
    let alice = own("alice@x/pc");
    let bob = own("bob@x/phone");
    let (mut a, out) = Call::place(
        "sid1".into(),
        Jid::from(bob.to_bare()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    assert!(matches!(jmi_of(&out)[0], Jmi::Propose { .. }));
    assert_eq!(states(&out), ["proposing"]);
    // Nothing reveals an address yet: candidates gathered early are held.
    assert!(a.handle(Input::LocalCandidate(cand(1))).is_empty());

    let (mut b, out) = Call::proposed(
        "sid1".into(),
        alice.clone(),
        bob.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    assert_eq!(jmi_of(&out), [Jmi::Ringing { id: "sid1".into() }]);
    // Someone else's "ringing" for this id is not the peer's.
    let out = a.handle(Input::Jmi {
        from: Jid::from(own("eve@x/raw")),
        jmi: Jmi::Ringing { id: "sid1".into() },
    });
    assert!(states(&out).is_empty());
    let out = a.handle(Input::Jmi {
        from: Jid::from(bob.clone()),
        jmi: Jmi::Ringing { id: "sid1".into() },
    });
    assert_eq!(states(&out), ["ringing"]);

    let out = b.handle(Input::Accept);
    let msgs = jmi_of(&out);
    assert!(msgs.contains(&Jmi::Accept { id: "sid1".into() }));
    assert!(msgs.contains(&Jmi::Proceed { id: "sid1".into() }));
    // No candidate or media before the session-initiate arrives.
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::AcceptOffer(_) | Output::Jingle { .. })));

    let out = a.handle(Input::Jmi {
        from: Jid::from(bob.clone()),
        jmi: Jmi::Proceed { id: "sid1".into() },
    });
    assert!(out.iter().any(|o| matches!(o, Output::CreateOffer)));
    let out = a.handle(Input::LocalDescription(desc()));
    let init = jingle_of(&out, Action::SessionInitiate).unwrap();
    assert_eq!(init.initiator.as_deref(), Some("alice@x/pc"));
    // The held candidate follows the offer.
    let ti = jingle_of(&out, Action::TransportInfo).unwrap();
    assert_eq!(
        ti.contents[0].transport.as_ref().unwrap().candidates.len(),
        1
    );

    // Bob: a candidate may arrive before the session-initiate (odd order).
    let mut early = Jingle::new(Action::TransportInfo, "sid1");
    early.contents = ti.contents.clone();
    assert!(b
        .handle(Input::Jingle {
            from: Jid::from(alice.clone()),
            jingle: early
        })
        .is_empty());
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice.clone()),
        jingle: init.clone(),
    });
    assert!(out.iter().any(|o| matches!(o, Output::AcceptOffer(_))));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::RemoteCandidates(c) if c.len() == 1)));
    // A duplicate session-initiate changes nothing.
    assert!(b
        .handle(Input::Jingle {
            from: Jid::from(alice.clone()),
            jingle: init
        })
        .is_empty());
    let out = b.handle(Input::LocalDescription(desc()));
    let accept = jingle_of(&out, Action::SessionAccept).unwrap();
    assert_eq!(accept.responder.as_deref(), Some("bob@x/phone"));

    let out = a.handle(Input::Jingle {
        from: Jid::from(bob.clone()),
        jingle: accept,
    });
    assert!(out.iter().any(|o| matches!(o, Output::AcceptAnswer(_))));
    assert_eq!(states(&a.handle(Input::MediaConnected)), ["active"]);
    assert_eq!(states(&b.handle(Input::MediaConnected)), ["active"]);

    // Hold and mute reach the peer as session-info and are reported there.
    for (input, info, local) in [
        (Input::Hold(true), Info::Hold, "SetHeld(true)"),
        (Input::Hold(false), Info::Unhold, "SetHeld(false)"),
        (Input::Mute(true), Info::Mute(None), "SetMuted(true)"),
    ] {
        let out = a.handle(input);
        assert!(out.iter().any(|o| format!("{o:?}") == local), "{out:?}");
        let si = jingle_of(&out, Action::SessionInfo).unwrap();
        assert_eq!(si.info, Some(info.clone()));
        let out = b.handle(Input::Jingle {
            from: Jid::from(alice.clone()),
            jingle: si,
        });
        assert!(
            matches!(&out[..], [Output::PeerInfo(i)] if *i == info),
            "{out:?}"
        );
    }

    let out = a.handle(Input::Hangup);
    let term = jingle_of(&out, Action::SessionTerminate).unwrap();
    assert_eq!(term.reason, Some(Reason::Success));
    assert!(out.iter().any(|o| matches!(o, Output::CloseMedia)));
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice),
        jingle: term,
    });
    assert_eq!(states(&out), ["ended"]);
    assert_eq!(
        b.state,
        CallState::Ended(EndReason::Jingle(Reason::Success))
    );
}

/// An audio call between two machines, direct session-initiate, both active.
pub(crate) fn active_pair() -> (Call, Call) {
    let alice = own("alice@x/pc");
    let bob = own("bob@x/phone");
    let (mut a, _) = Call::place(
        "v".into(),
        Jid::from(bob.clone()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    let init = jingle_of(
        &a.handle(Input::LocalDescription(desc())),
        Action::SessionInitiate,
    )
    .unwrap();
    let (mut b, _) = Call::initiated(alice, bob.clone(), &init, RING_TIMEOUT);
    b.handle(Input::Accept);
    let accept = jingle_of(
        &b.handle(Input::LocalDescription(desc())),
        Action::SessionAccept,
    )
    .unwrap();
    a.handle(Input::Jingle {
        from: Jid::from(bob),
        jingle: accept,
    });
    a.handle(Input::MediaConnected);
    b.handle(Input::MediaConnected);
    (a, b)
}

pub(crate) fn with_video(mut d: SessionDescription) -> SessionDescription {
    let mut v = d.contents[0].clone();
    v.name = "1".into();
    v.kind = MediaKind::Video;
    d.contents.push(v);
    d.bundle = vec!["0".into(), "1".into()];
    d
}

/// The callee turns its camera on in an audio call: content-add with the new
/// content and the whole bundle, the caller answers with content-accept, both
/// sides' media list gains video; the camera off again is a session-info mute
/// naming the video content.
#[test]
fn video_added_mid_call_by_content_add() {
    let (mut a, mut b) = active_pair();
    let out = b.handle(Input::Camera(true));
    assert!(matches!(&out[..], [Output::AddVideo]), "{out:?}");
    let out = b.handle(Input::LocalReoffer(with_video(desc())));
    let add = jingle_of(&out, Action::ContentAdd).unwrap();
    assert_eq!(add.contents.len(), 1);
    assert_eq!(add.contents[0].name, "1");
    assert_eq!(add.contents[0].creator, "responder");
    assert_eq!(add.group.as_ref().unwrap().contents, ["0", "1"]);

    let out = a.handle(Input::Jingle {
        from: Jid::from(own("bob@x/phone")),
        jingle: add,
    });
    let Some(Output::AcceptContentAdd { offer, send_video }) = out.first() else {
        panic!("{out:?}");
    };
    assert!(!send_video);
    assert_eq!(offer.contents.len(), 2);
    assert_eq!(offer.contents[1].kind, MediaKind::Video);
    // The bundle keeps the transport agreed at the start.
    assert_eq!(offer.ice_ufrag, "uf");
    let out = a.handle(Input::ContentAnswer(with_video(desc())));
    let accept = jingle_of(&out, Action::ContentAccept).unwrap();
    assert_eq!(accept.contents.len(), 1);
    assert_eq!(accept.contents[0].creator, "responder");
    assert!(out.iter().any(|o| matches!(o, Output::MediaChanged)));
    assert_eq!(a.media, [MediaKind::Audio, MediaKind::Video]);

    let out = b.handle(Input::Jingle {
        from: Jid::from(own("alice@x/pc")),
        jingle: accept,
    });
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::AcceptAnswer(d) if d.contents.len() == 2)),
        "{out:?}"
    );
    assert_eq!(b.media, [MediaKind::Audio, MediaKind::Video]);

    let out = b.handle(Input::Camera(false));
    assert!(out.iter().any(|o| matches!(o, Output::SetCamera(false))));
    let si = jingle_of(&out, Action::SessionInfo).unwrap();
    assert_eq!(si.info, Some(Info::Mute(Some("1".into()))));
    // For the peer, that names its video content: the camera, not the microphone.
    assert!(a.is_video_content("1") && !a.is_video_content("0"));
}

/// A refused content-add leaves an audio call that goes on.
#[test]
fn refused_video_is_reported() {
    let (_, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let add = jingle_of(
        &b.handle(Input::LocalReoffer(with_video(desc()))),
        Action::ContentAdd,
    )
    .unwrap();
    let mut reject = Jingle::new(Action::ContentReject, "v");
    reject.contents = add.contents;
    let out = b.handle(Input::Jingle {
        from: Jid::from(own("alice@x/pc")),
        jingle: reject,
    });
    assert!(matches!(&out[..], [Output::VideoRefused]), "{out:?}");
    assert!(!b.video_on);
    assert_eq!(b.state, CallState::Active);
}

/// The peer removes the video content it had: the call goes on as audio.
#[test]
fn removed_video_leaves_an_audio_call() {
    let (mut a, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let add = jingle_of(
        &b.handle(Input::LocalReoffer(with_video(desc()))),
        Action::ContentAdd,
    )
    .unwrap();
    a.handle(Input::Jingle {
        from: Jid::from(own("bob@x/phone")),
        jingle: add.clone(),
    });
    a.handle(Input::ContentAnswer(with_video(desc())));
    assert_eq!(a.media, [MediaKind::Audio, MediaKind::Video]);
    let mut remove = Jingle::new(Action::ContentRemove, "v");
    remove.contents = add.contents;
    let out = a.handle(Input::Jingle {
        from: Jid::from(own("bob@x/phone")),
        jingle: remove,
    });
    assert!(
        out.iter().any(|o| matches!(o, Output::VideoRemoved)),
        "{out:?}"
    );
    assert_eq!(a.media, [MediaKind::Audio]);
    assert_eq!(a.state, CallState::Active);
    assert!(!a.is_video_content("1"));
    // Video may be added again, under the same name.
    assert!(matches!(
        &a.handle(Input::Camera(true))[..],
        [Output::AddVideo]
    ));
    let again = a.handle(Input::LocalReoffer(with_video(desc())));
    let add = jingle_of(&again, Action::ContentAdd).expect("added again");
    assert_eq!(add.contents[0].name, "1");
}

/// The camera goes off again before the peer accepted the video: the offer is taken
/// back with content-remove, a late content-accept changes nothing, and the peer
/// (which had begun to accept) sends no content-accept and keeps an audio call.
#[test]
fn video_offer_taken_back_before_it_was_accepted() {
    let (mut a, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let add = jingle_of(
        &b.handle(Input::LocalReoffer(with_video(desc()))),
        Action::ContentAdd,
    )
    .unwrap();
    let out = a.handle(Input::Jingle {
        from: Jid::from(own("bob@x/phone")),
        jingle: add.clone(),
    });
    assert!(matches!(out.first(), Some(Output::AcceptContentAdd { .. })));

    let out = b.handle(Input::Camera(false));
    assert!(
        out.iter().any(|o| matches!(o, Output::VideoWithdrawn)),
        "{out:?}"
    );
    let remove = jingle_of(&out, Action::ContentRemove).unwrap();
    assert_eq!(remove.contents.len(), 1);
    assert_eq!(remove.contents[0].name, "1");
    assert_eq!(remove.contents[0].creator, "responder");
    assert!(remove.contents[0].description.is_none());

    let out = a.handle(Input::Jingle {
        from: Jid::from(own("bob@x/phone")),
        jingle: remove,
    });
    assert!(
        out.iter().any(|o| matches!(o, Output::VideoRemoved)),
        "{out:?}"
    );
    // The answer the media was making for it is not sent.
    let out = a.handle(Input::ContentAnswer(with_video(desc())));
    assert!(jingle_of(&out, Action::ContentAccept).is_none(), "{out:?}");
    assert_eq!(a.media, [MediaKind::Audio]);

    // A content-accept that crossed our content-remove: still an audio call.
    let mut late = Jingle::new(Action::ContentAccept, "v");
    late.contents = add.contents;
    let out = b.handle(Input::Jingle {
        from: Jid::from(own("alice@x/pc")),
        jingle: late,
    });
    assert!(
        !out.iter().any(|o| matches!(o, Output::AcceptAnswer(_))),
        "{out:?}"
    );
    assert_eq!(b.media, [MediaKind::Audio]);
    assert_eq!((a.state, b.state), (CallState::Active, CallState::Active));

    // And video can be offered again afterwards.
    let out = b.handle(Input::Camera(true));
    assert!(matches!(&out[..], [Output::AddVideo]), "{out:?}");
    let out = b.handle(Input::LocalReoffer(with_video(desc())));
    assert!(jingle_of(&out, Action::ContentAdd).is_some(), "{out:?}");
}

/// Off while the re-offer is still being made: nothing is sent and it is undone.
#[test]
fn camera_off_while_the_video_offer_is_made() {
    let (_, mut b) = active_pair();
    assert!(matches!(
        &b.handle(Input::Camera(true))[..],
        [Output::AddVideo]
    ));
    assert!(b.handle(Input::Camera(false)).is_empty());
    let out = b.handle(Input::LocalReoffer(with_video(desc())));
    assert!(matches!(&out[..], [Output::VideoWithdrawn]), "{out:?}");
}

#[test]
fn decline_retract_timeout_and_answered_elsewhere() {
    let alice = own("alice@x/pc");
    let bob = own("bob@x/phone");
    // Decline (busy) → the caller ends with busy.
    let (mut b, _) = Call::proposed("s".into(), alice.clone(), bob.clone(), vec![], RING_TIMEOUT);
    let out = b.handle(Input::Reject(Reason::Busy));
    assert!(jmi_of(&out).contains(&Jmi::Reject {
        id: "s".into(),
        reason: Some(Reason::Busy)
    }));
    let (mut a, _) = Call::place(
        "s".into(),
        Jid::from(bob.to_bare()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    a.handle(Input::Jmi {
        from: Jid::from(bob.clone()),
        jmi: Jmi::Reject {
            id: "s".into(),
            reason: Some(Reason::Busy),
        },
    });
    assert_eq!(a.state, CallState::Ended(EndReason::Jingle(Reason::Busy)));

    // Retract before answer; and retract racing our proceed.
    let (mut b, _) = Call::proposed("r".into(), alice.clone(), bob.clone(), vec![], RING_TIMEOUT);
    b.handle(Input::Accept);
    b.handle(Input::Jmi {
        from: Jid::from(alice.clone()),
        jmi: Jmi::Retract {
            id: "r".into(),
            reason: None,
        },
    });
    assert_eq!(b.state, CallState::Ended(EndReason::Jingle(Reason::Cancel)));
    let (mut a, _) = Call::place(
        "r".into(),
        Jid::from(bob.to_bare()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    let out = a.handle(Input::Hangup);
    assert!(matches!(jmi_of(&out)[0], Jmi::Retract { .. }));
    // A proceed arriving after our retract is ignored.
    assert!(a
        .handle(Input::Jmi {
            from: Jid::from(bob.clone()),
            jmi: Jmi::Proceed { id: "r".into() }
        })
        .is_empty());

    // Nobody answers.
    let (mut a, _) = Call::place(
        "t".into(),
        Jid::from(bob.to_bare()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    let out = a.handle(Input::Timeout);
    assert!(matches!(
        jmi_of(&out)[0],
        Jmi::Retract {
            reason: Some(Reason::Timeout),
            ..
        }
    ));

    // Our other device accepted: stop ringing here.
    let (mut b2, _) = Call::proposed(
        "e".into(),
        alice.clone(),
        own("bob@x/laptop"),
        vec![],
        RING_TIMEOUT,
    );
    b2.handle(Input::Jmi {
        from: Jid::from(bob.clone()),
        jmi: Jmi::Accept { id: "e".into() },
    });
    assert_eq!(b2.state, CallState::Ended(EndReason::AnsweredElsewhere));
}

#[test]
fn direct_session_initiate_rings_then_answers() {
    let alice = own("alice@x/pc");
    let bob = own("bob@x/phone");
    let (mut a, out) = Call::place(
        "d".into(),
        Jid::from(bob.clone()),
        alice.clone(),
        vec![MediaKind::Audio],
        RING_TIMEOUT,
    );
    assert!(out.iter().any(|o| matches!(o, Output::CreateOffer)));
    let out = a.handle(Input::LocalDescription(desc()));
    let init = jingle_of(&out, Action::SessionInitiate).unwrap();
    let (mut b, out) = Call::initiated(alice.clone(), bob, &init, RING_TIMEOUT);
    assert_eq!(
        jingle_of(&out, Action::SessionInfo).unwrap().info,
        Some(Info::Ringing)
    );
    assert!(!out.iter().any(|o| matches!(o, Output::AcceptOffer(_))));
    let out = b.handle(Input::Accept);
    assert!(out.iter().any(|o| matches!(o, Output::AcceptOffer(_))));
}

#[test]
fn unusable_content_add_is_rejected_and_the_call_goes_on() {
    let alice = own("alice@x/pc");
    let (mut b, _) = Call::proposed(
        "s".into(),
        alice.clone(),
        own("bob@x/phone"),
        vec![],
        RING_TIMEOUT,
    );
    b.handle(Input::Accept);
    let mut add = Jingle::new(Action::ContentAdd, "s");
    add.contents.push(Content {
        creator: "initiator".into(),
        name: "video".into(),
        senders: "both".into(),
        description: None,
        transport: None,
    });
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice),
        jingle: add,
    });
    let reject = jingle_of(&out, Action::ContentReject).unwrap();
    assert_eq!(reject.contents[0].name, "video");
    assert_eq!(b.state, CallState::Connecting);
}

#[test]
fn jingle_from_a_stranger_is_ignored() {
    let alice = own("alice@x/pc");
    let (mut b, _) = Call::proposed("s".into(), alice, own("bob@x/phone"), vec![], RING_TIMEOUT);
    b.handle(Input::Accept);
    let mut j = Jingle::new(Action::SessionTerminate, "s");
    j.reason = Some(Reason::Success);
    assert!(b
        .handle(Input::Jingle {
            from: Jid::new("mallory@x/evil").unwrap(),
            jingle: j
        })
        .is_empty());
    assert_eq!(b.state, CallState::Connecting);
}

/// Dino, the caller, turns its camera on in an audio call: content-add of a video
/// it alone sends, with an ICE transport of its own and no group. We receive only,
/// our content-accept says so and carries our own transport for it, the candidates
/// of that transport go their own way both ways, and our camera turned on joins
/// with content-modify.
#[test]
fn dino_one_way_video_on_its_own_transport_and_ours_joining() {
    use super::super::rtp::Description;
    let alice = own("alice@x/pc");
    let (_, mut b) = active_pair();
    let fp = Fingerprint {
        hash: "sha-256".into(),
        value: "CC:DD".into(),
    };
    let mut add = Jingle::new(Action::ContentAdd, "v");
    add.contents.push(Content {
        creator: "initiator".into(),
        name: "webcam".into(),
        senders: "initiator".into(),
        description: Some(Description {
            media: MediaKind::Video,
            codecs: vec![Codec::opus()],
            header_extensions: vec![],
            sources: vec![],
            source_groups: vec![],
            rtcp_mux: true,
        }),
        transport: Some(Transport {
            ufrag: Some("DinoV".into()),
            pwd: Some("dinodinodinodinodinodino".into()),
            fingerprint: Some((fp, Setup::ActPass)),
            candidates: vec![cand(5002)],
        }),
    });
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice.clone()),
        jingle: add,
    });
    let Some(Output::AcceptContentAdd { offer, .. }) = out.first() else {
        panic!("{out:?}");
    };
    let video = &offer.contents[1];
    assert_eq!(
        video.direction,
        Direction::SendOnly,
        "Dino sends, we receive"
    );
    let own_t = video.transport.as_ref().expect("its own transport");
    assert_eq!(
        (own_t.ice_ufrag.as_str(), own_t.candidates.len()),
        ("DinoV", 1)
    );
    assert_eq!(offer.contents[0].transport, None);

    // Our answer: the audio as it was, the video received only, on a transport of
    // its own.
    let mut answer = offer.clone();
    answer.contents[1].direction = Direction::RecvOnly;
    answer.contents[1].transport = Some(banter_media::description::OwnTransport {
        ice_ufrag: "ours-v".into(),
        ice_pwd: "ours-v-pwd-ours-v-pwd-xx".into(),
        fingerprint: Fingerprint {
            hash: "sha-256".into(),
            value: "EE:FF".into(),
        },
        setup: Setup::Active,
        candidates: vec![],
    });
    // A candidate of the video's transport before the content-accept waits for it.
    assert!(b.handle(Input::LocalVideoCandidate(cand(6002))).is_empty());
    let out = b.handle(Input::ContentAnswer(answer));
    let accept = jingle_of(&out, Action::ContentAccept).unwrap();
    assert!(accept.group.is_none());
    assert_eq!(accept.contents.len(), 1);
    let c = &accept.contents[0];
    assert_eq!(
        (c.name.as_str(), c.creator.as_str()),
        ("webcam", "initiator")
    );
    assert_eq!(c.senders, "initiator");
    assert_eq!(
        c.transport.as_ref().unwrap().ufrag.as_deref(),
        Some("ours-v")
    );
    let ti = jingle_of(&out, Action::TransportInfo).expect("the waiting candidate");
    assert_eq!(ti.contents[0].name, "webcam");
    assert_eq!(
        ti.contents[0].transport.as_ref().unwrap().candidates[0].port,
        6002
    );
    // Later ones go at once, named the same.
    let out = b.handle(Input::LocalVideoCandidate(cand(6003)));
    let ti = jingle_of(&out, Action::TransportInfo).unwrap();
    assert_eq!(ti.contents[0].name, "webcam");
    // The peer's candidates for the video's transport are not the audio's.
    let mut ti = Jingle::new(Action::TransportInfo, "v");
    ti.contents.push(Content {
        creator: "initiator".into(),
        name: "webcam".into(),
        senders: "both".into(),
        description: None,
        transport: Some(Transport {
            ufrag: Some("DinoV".into()),
            pwd: None,
            fingerprint: None,
            candidates: vec![cand(5003)],
        }),
    });
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice.clone()),
        jingle: ti,
    });
    assert!(
        matches!(&out[..], [Output::RemoteVideoCandidates(c)] if c[0].port == 5003),
        "{out:?}"
    );

    // Our camera on: content-modify to both, the video renegotiated to send too.
    let out = b.handle(Input::Camera(true));
    let modify = jingle_of(&out, Action::ContentModify).expect("content-modify");
    let c = &modify.contents[0];
    assert_eq!(
        (c.name.as_str(), c.creator.as_str(), c.senders.as_str()),
        ("webcam", "initiator", "both")
    );
    let dir = out
        .iter()
        .position(|o| matches!(o, Output::SetVideoDirection(Direction::SendRecv)));
    let cam = out
        .iter()
        .position(|o| matches!(o, Output::SetCamera(true)));
    assert!(dir.is_some() && cam.is_some() && dir < cam, "{out:?}");
    // Off and on again: already both, no second content-modify.
    b.handle(Input::Camera(false));
    let out = b.handle(Input::Camera(true));
    assert!(jingle_of(&out, Action::ContentModify).is_none(), "{out:?}");

    // The peer's own content-modify (it stops sending) is applied locally.
    let mut m = Jingle::new(Action::ContentModify, "v");
    m.contents.push(Content {
        creator: "initiator".into(),
        name: "webcam".into(),
        senders: "responder".into(),
        description: None,
        transport: None,
    });
    let out = b.handle(Input::Jingle {
        from: Jid::from(alice),
        jingle: m,
    });
    assert!(
        matches!(&out[..], [Output::SetVideoDirection(Direction::RecvOnly)]),
        "{out:?}"
    );
}

/// A refused session-info or transport-info is news the peer did not take: the
/// call goes on. A refused session-accept ends it.
#[test]
fn refused_requests_end_the_call_only_when_it_cannot_go_on() {
    let (mut a, mut b) = active_pair();
    for action in [
        Action::SessionInfo,
        Action::TransportInfo,
        Action::ContentModify,
    ] {
        assert!(a.handle(Input::JingleRefused(action)).is_empty());
    }
    assert_eq!(a.state, CallState::Active);
    let out = b.handle(Input::JingleRefused(Action::SessionAccept));
    assert!(
        jingle_of(&out, Action::SessionTerminate).is_some(),
        "{out:?}"
    );
    assert!(b.is_ended());
}

/// The callee adds its camera in a call with a peer that does not bundle (Dino):
/// the content-add carries the video's own transport and no group, and names the
/// content's creator "initiator" (what Dino's own content-adds say and the only
/// creator its transport-info accepts), and so do its candidates.
#[test]
fn callee_adds_video_on_its_own_transport_as_dino_expects() {
    let (_, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let mut reoffer = with_video(desc());
    reoffer.bundle.clear();
    reoffer.contents[1].transport = Some(banter_media::description::OwnTransport {
        ice_ufrag: "uv".into(),
        ice_pwd: "uv-pwd-uv-pwd-uv-pwd-uvx".into(),
        fingerprint: Fingerprint {
            hash: "sha-256".into(),
            value: "12:34".into(),
        },
        setup: Setup::ActPass,
        candidates: vec![],
    });
    let out = b.handle(Input::LocalReoffer(reoffer));
    let add = jingle_of(&out, Action::ContentAdd).unwrap();
    assert!(add.group.is_none());
    let c = &add.contents[0];
    assert_eq!((c.name.as_str(), c.creator.as_str()), ("1", "initiator"));
    assert_eq!(c.transport.as_ref().unwrap().ufrag.as_deref(), Some("uv"));
    let ti = jingle_of(
        &b.handle(Input::LocalVideoCandidate(cand(7000))),
        Action::TransportInfo,
    )
    .unwrap();
    assert_eq!(
        (
            ti.contents[0].name.as_str(),
            ti.contents[0].creator.as_str()
        ),
        ("1", "initiator")
    );
    // The audio's candidates still name the audio content.
    let ti = jingle_of(
        &b.handle(Input::LocalCandidate(cand(7001))),
        Action::TransportInfo,
    )
    .unwrap();
    assert_eq!(ti.contents[0].name, "0");
}

/// A content-add the peer's server or client refuses (an IQ error) is a refused
/// video, and the camera may be offered again under the same name.
#[test]
fn refused_content_add_can_be_offered_again() {
    let (_, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let first = b.handle(Input::LocalReoffer(with_video(desc())));
    assert!(jingle_of(&first, Action::ContentAdd).is_some());
    let out = b.handle(Input::JingleRefused(Action::ContentAdd));
    assert!(matches!(&out[..], [Output::VideoRefused]), "{out:?}");
    assert_eq!(b.state, CallState::Active);
    let out = b.handle(Input::Camera(true));
    assert!(matches!(&out[..], [Output::AddVideo]), "{out:?}");
    let again = b.handle(Input::LocalReoffer(with_video(desc())));
    let add = jingle_of(&again, Action::ContentAdd).expect("offered again");
    assert_eq!(add.contents[0].name, "1");
}

/// The media engine could not take the peer's content-add: it is rejected, the
/// call goes on without it, and a later content-add is taken.
#[test]
fn content_add_the_media_cannot_take_is_rejected() {
    let (mut a, mut b) = active_pair();
    b.handle(Input::Camera(true));
    let add = jingle_of(
        &b.handle(Input::LocalReoffer(with_video(desc()))),
        Action::ContentAdd,
    )
    .unwrap();
    let bob = Jid::from(own("bob@x/phone"));
    a.handle(Input::Jingle {
        from: bob.clone(),
        jingle: add.clone(),
    });
    let out = a.handle(Input::ContentAddFailed);
    let reject = jingle_of(&out, Action::ContentReject).expect("content-reject");
    assert_eq!(reject.contents[0].name, "1");
    assert!(!a.is_video_content("1"));
    assert_eq!(a.state, CallState::Active);
    let out = a.handle(Input::Jingle {
        from: bob,
        jingle: add,
    });
    assert!(
        matches!(out.first(), Some(Output::AcceptContentAdd { .. })),
        "{out:?}"
    );
}
