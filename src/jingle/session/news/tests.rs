#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::super::restart::tests::timers;
use super::super::tests::{active_pair, jingle_of};
use super::*;

/// The session-infos among `out`, in order.
fn infos(out: &[Output]) -> Vec<Info> {
    out.iter()
        .filter_map(|o| match o {
            Output::Jingle { jingle, .. } if jingle.action == Action::SessionInfo => {
                jingle.info.clone()
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_mute_the_peers_device_missed_is_said_again_when_it_is_back() {
    let (mut a, _) = active_pair();
    let out = a.handle(Input::Mute(true));
    assert_eq!(infos(&out), [Info::Mute(None)]);
    // Its server: the device is not there (reconnecting).
    assert!(infos(&a.handle(Input::Undelivered(Action::SessionInfo))).is_empty());
    assert_eq!(a.state, CallState::Active);
    let out = a.handle(Input::PeerBack);
    assert_eq!(infos(&out), [Info::Mute(None)]);
    // Said once: its next presence changes nothing.
    a.handle(Input::JingleAcked(Action::SessionInfo));
    assert!(a.handle(Input::PeerBack).is_empty());
}

#[test]
fn a_new_session_of_ours_says_again_what_is_unanswered_and_only_that() {
    let (mut a, _) = active_pair();
    a.handle(Input::Hold(true));
    a.handle(Input::JingleAcked(Action::SessionInfo));
    // Nothing in flight: a new session says nothing.
    assert!(a.handle(Input::StreamRenewed).is_empty());
    a.handle(Input::Mute(true));
    a.handle(Input::Mute(false));
    a.handle(Input::JingleAcked(Action::SessionInfo));
    // The unmute may be lost with the old stream: the state as it is now is said.
    let out = a.handle(Input::StreamRenewed);
    assert_eq!(infos(&out), [Info::Unmute(None), Info::Hold]);
    a.handle(Input::JingleAcked(Action::SessionInfo));
    a.handle(Input::JingleAcked(Action::SessionInfo));
    assert!(a.handle(Input::StreamRenewed).is_empty());
}

#[test]
fn other_requests_the_peer_never_got_are_refusals_as_before() {
    let (mut a, b) = active_pair();
    // A session-accept that reached nobody leaves no call.
    let mut b = b;
    b.state = CallState::Connecting;
    let out = b.handle(Input::Undelivered(Action::SessionAccept));
    assert!(
        jingle_of(&out, Action::SessionTerminate).is_some(),
        "{out:?}"
    );
    // A transport-info: the call goes on.
    assert!(a
        .handle(Input::Undelivered(Action::TransportInfo))
        .is_empty());
    assert_eq!(a.state, CallState::Active);
}

#[test]
fn the_peers_device_going_offline_while_media_flows_ends_the_call_only_with_the_path() {
    let (mut a, _) = active_pair();
    // Its stream was replaced (a new session says "unavailable" for the old one).
    assert!(a.handle(Input::PeerGone).is_empty());
    assert_eq!(a.state, CallState::Active);
    a.handle(Input::PeerBack);
    // Back: a lost path is restarted as ever.
    let out = a.handle(Input::PathLost);
    assert!(out.iter().any(|o| matches!(o, Output::Path { lost: true })));
    assert_eq!(a.state, CallState::Active);

    let (mut a, _) = active_pair();
    a.handle(Input::PeerGone);
    let out = a.handle(Input::PathLost);
    assert_eq!(a.state, CallState::Ended(EndReason::Jingle(Reason::Gone)));
    assert!(out.iter().any(|o| matches!(o, Output::CloseMedia)));

    // Gone while the path is already lost, or before the call is up: ended at once.
    let (mut a, _) = active_pair();
    a.handle(Input::PathLost);
    a.handle(Input::PeerGone);
    assert_eq!(a.state, CallState::Ended(EndReason::Jingle(Reason::Gone)));
}

#[test]
fn without_the_peers_presence_a_missed_mute_is_said_again_after_2_4_8_s() {
    let (mut a, _) = active_pair();
    a.handle(Input::Hold(true));
    let out = a.handle(Input::Undelivered(Action::SessionInfo));
    assert_eq!(timers(&out), [Duration::from_secs(2)]);
    let out = a.handle(Input::Timeout);
    assert_eq!(infos(&out), [Info::Hold]);
    let out = a.handle(Input::Undelivered(Action::SessionInfo));
    assert_eq!(timers(&out), [Duration::from_secs(4)]);
    a.handle(Input::Timeout);
    let out = a.handle(Input::Undelivered(Action::SessionInfo));
    assert_eq!(timers(&out), [Duration::from_secs(8)]);
    // Delivered at last: nothing more.
    assert_eq!(infos(&a.handle(Input::Timeout)), [Info::Hold]);
    a.handle(Input::JingleAcked(Action::SessionInfo));
    assert!(a.handle(Input::Timeout).is_empty());
    // The path lost meanwhile keeps its own timer; a restart's timer says it again.
    a.handle(Input::Mute(true));
    a.handle(Input::PathLost);
    let out = a.handle(Input::Undelivered(Action::SessionInfo));
    assert!(timers(&out).is_empty(), "{out:?}");
    let out = a.handle(Input::Timeout);
    assert!(infos(&out).contains(&Info::Mute(None)), "{out:?}");
}
