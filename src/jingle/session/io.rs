//! The call machine's interface: what it is told and what it asks for.

use std::time::Duration;

use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::message::Message;

use banter_media::description::{Candidate, Direction, SessionDescription};
use banter_media::session::IceCredentials;

use super::super::jmi::Jmi;
use super::super::rtp::Info;
use super::super::{Action, Jingle, Reason};
use super::CallState;

/// What the machine is told.
#[derive(Debug, Clone)]
pub enum Input {
    Accept,
    Reject(Reason),
    Hangup,
    Mute(bool),
    /// Put the call on hold or take it off (XEP-0167 §7).
    Hold(bool),
    /// The user turns the camera on or off. On in a call without video adds a video
    /// content (content-add); otherwise the camera is switched and the peer told
    /// (session-info mute/unmute naming the video content).
    Camera(bool),
    /// The media engine's new offer after video was added (for our content-add).
    LocalReoffer(SessionDescription),
    /// The media engine's answer to the peer's content-add (for our content-accept).
    ContentAnswer(SessionDescription),
    /// The media engine could not take the peer's content-add: it is refused.
    ContentAddFailed,
    /// A JMI message about this call; `from` is its sender.
    Jmi {
        from: Jid,
        jmi: Jmi,
    },
    /// A Jingle request about this call from the peer (already acknowledged).
    Jingle {
        from: Jid,
        jingle: Jingle,
    },
    /// Our Jingle request was refused by the peer or its server.
    JingleRefused(Action),
    /// The peer answered one of our requests about this call with `item-not-found`:
    /// it has no such session (it ended it while our stream was down).
    PeerLostSession,
    /// The peer acknowledged one of our Jingle requests (IQ result).
    JingleAcked(Action),
    /// Our Jingle request did not reach the peer's device (its server answered that
    /// it is not there: offline, or reconnecting).
    Undelivered(Action),
    /// Our XMPP stream went down (`false`) or is back.
    Signaling(bool),
    /// Our stream came back as a new session, not a resumed one: what was in flight
    /// on the old one may be lost.
    StreamRenewed,
    /// The media engine produced our offer or answer.
    LocalDescription(SessionDescription),
    LocalCandidate(Candidate),
    /// A local candidate of the video's own transport (a peer that does not bundle).
    LocalVideoCandidate(Candidate),
    MediaConnected,
    /// The path to the peer is gone after media flowed (an ICE restart may help).
    PathLost,
    /// The addresses this machine's calls bind changed: restart ICE now.
    AddressesChanged,
    /// The engine made our new ICE credentials: our restart (`offer`) or our answer
    /// to the peer's.
    LocalRestart {
        ours: IceCredentials,
        offer: bool,
    },
    MediaFailed(Reason),
    /// The peer's DTLS fingerprint failed its OMEMO check (dtls_verify.rs): the
    /// call ends as a security error.
    Insecure,
    /// The peer's device went offline (unavailable presence).
    PeerGone,
    /// The peer's device is online again (available presence).
    PeerBack,
    /// The timer set last expired.
    Timeout,
}

/// What the machine asks for.
#[derive(Debug, Clone)]
pub enum Output {
    Message(Message),
    /// An IQ set carrying this Jingle element to `to`.
    Jingle {
        to: FullJid,
        jingle: Jingle,
    },
    /// Create the media session and our offer.
    CreateOffer,
    /// Create the media session and answer this offer.
    AcceptOffer(SessionDescription),
    AcceptAnswer(SessionDescription),
    RemoteCandidates(Vec<Candidate>),
    /// The peer's candidates for the video's own transport.
    RemoteVideoCandidates(Vec<Candidate>),
    SetMuted(bool),
    SetHeld(bool),
    /// The peer said it muted, unmuted, held or unheld (session-info).
    PeerInfo(Info),
    /// Start sending video and create a new offer (→ `LocalReoffer`).
    AddVideo,
    /// Answer the peer's re-offer carrying its added video (→ `ContentAnswer`); send
    /// our camera too when `send_video`.
    AcceptContentAdd {
        offer: SessionDescription,
        send_video: bool,
    },
    SetCamera(bool),
    /// The peer's direction for the video is now this (our content-modify when our
    /// camera joins its one-way video, or the peer's): renegotiate it locally.
    SetVideoDirection(Direction),
    /// The call's media changed (video added): `media` is the new list.
    MediaChanged,
    /// The peer refused the video we offered (content-reject or a failed request).
    VideoRefused,
    /// The peer removed the video content (content-remove): the call goes on as audio.
    VideoRemoved,
    /// We took back the video we were adding (camera turned off before the peer
    /// accepted): undo the re-offer, nothing to report.
    VideoWithdrawn,
    CloseMedia,
    /// Restart ICE: new credentials of ours (→ `LocalRestart` with `offer`).
    RestartIce,
    /// The peer's new ICE credentials: its restart (`offer`; → `LocalRestart`
    /// answering it) or its answer to ours.
    PeerRestarted {
        peer: IceCredentials,
        offer: bool,
    },
    /// The path to the peer was lost (reconnecting) or is back.
    Path {
        lost: bool,
    },
    State(CallState),
    /// (Re)arms the call's one timer to fire this long from now (`Input::Timeout`).
    SetTimer(Duration),
    /// Disarms it.
    CancelTimer,
}
