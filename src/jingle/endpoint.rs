//! Every call of one account, without I/O (in the spirit of quinn-proto's `Endpoint`):
//! routing JMI messages and Jingle IQs to each call's machine (`session::Call`) by
//! (peer, sid), who may ring and who gets "busy", the simultaneous-call tie-break, the
//! carbon of our own proceed, holding an offer until the peer's features arrive, the
//! answers to our Jingle requests, timers.
//!
//! Time comes in as `Instant`s (`handle_timeout(now)`, `poll_timeout()`) and ids from a
//! seeded generator, so the same inputs give the same outputs. What to do comes out of
//! `poll()`: stanzas to send, commands for a call's media engine, call states. The
//! client (`client/calls.rs`) only carries these out and feeds results back.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use minidom::Element;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use banter_media::description::{Candidate, Direction, MediaKind, SessionDescription};
use banter_media::session::IceCredentials;

use super::jmi::Jmi;
use super::rtp::Info;
use super::session::{Call, CallDirection, CallState, EndReason, Input, Output};
use super::{Action, Jingle, Reason};
use crate::limits::RateLimiter;
use crate::xmpp::carbons::{self, Carbon};

/// Calls ringing at once; more are refused as busy.
pub const MAX_RINGING: usize = 4;
/// Longest Jingle sid taken (ours are 16 characters).
pub const MAX_SID: usize = 256;
/// Ended calls whose ids are remembered, so a late copy of their proposal or
/// session-initiate rings nobody.
const REMEMBERED_ENDED: usize = 256;
/// How long an offer waits for the features of the device that took the call.
pub const FEATURES_WAIT: Duration = Duration::from_secs(2);
/// How long a session-initiate waits for the keys that seal its fingerprints
/// (`Directory::keys_pending`); past it, it goes unsealed (the call unverified)
/// rather than not at all.
pub const KEYS_WAIT: Duration = Duration::from_secs(3);

/// What the endpoint needs to know about the world, asked when it matters.
pub trait Directory {
    /// Whether `peer` may ring us (the call policy and the roster).
    fn may_call(&self, peer: &BareJid) -> bool;
    /// Whether the device's features are known, and if so whether it bundles audio
    /// and video on one transport (XEP-0338).
    fn bundles(&self, device: &FullJid) -> Option<bool>;
    /// Whether the device's features were asked for and are on their way.
    fn features_pending(&self, device: &FullJid) -> bool;
    /// Whether the device takes redundant audio (RED) in our offer: another Banter.
    /// (A peer's own offer with RED is answered with it regardless.)
    fn takes_red(&self, _device: &FullJid) -> bool {
        false
    }
    /// Whether what call `call` sends is to be sealed (its DTLS fingerprints
    /// encrypted to the peer's device, OMEMO) with keys still on their way: its
    /// session-initiate, and what follows it, wait for them (`keys_arrived`), at
    /// most [`KEYS_WAIT`].
    fn keys_pending(&self, _call: &str) -> bool {
        false
    }
}

/// What the peer told us about the call (XEP-0167 informational messages), or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallInfo {
    Mute,
    Unmute,
    /// The peer turned its camera off (a mute of the video content) or on.
    CameraOff,
    CameraOn,
    Hold,
    Unhold,
    Active,
    Ringing,
    /// The peer did not take the video we added.
    VideoDeclined,
    /// The network path to the peer is lost: restarting ICE.
    Reconnecting,
    /// Media flows again after `Reconnecting`.
    Reconnected,
}

impl CallInfo {
    pub fn as_str(self) -> &'static str {
        match self {
            CallInfo::Mute => "mute",
            CallInfo::Unmute => "unmute",
            CallInfo::CameraOff => "camera-off",
            CallInfo::CameraOn => "camera-on",
            CallInfo::Hold => "hold",
            CallInfo::Unhold => "unhold",
            CallInfo::Active => "active",
            CallInfo::Ringing => "ringing",
            CallInfo::VideoDeclined => "video-declined",
            CallInfo::Reconnecting => "reconnecting",
            CallInfo::Reconnected => "reconnected",
        }
    }
}

impl std::fmt::Display for CallInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Work for a call's media engine, in the order given (one engine per call).
#[derive(Debug, Clone)]
pub enum MediaCommand {
    /// Create the engine (first command only) and our offer (→ `MediaResult::Description`).
    CreateOffer {
        send_video: bool,
        bundle: bool,
        /// Offer redundant audio (the peer takes it).
        red: bool,
    },
    /// Create the engine (first command only) and answer (→ `MediaResult::Description`).
    AcceptOffer {
        offer: SessionDescription,
        send_video: bool,
        bundle: bool,
    },
    AcceptAnswer(SessionDescription),
    RemoteCandidates(Vec<Candidate>),
    RemoteVideoCandidates(Vec<Candidate>),
    SetVideoDirection(Direction),
    SetMuted(bool),
    SetHeld(bool),
    /// Start sending video and make a new offer (→ `Reoffer` or `AddVideoFailed`).
    AddVideo,
    /// Answer the peer's content-add (→ `ContentAnswer` or `ContentAddFailed`).
    AcceptContentAdd {
        offer: SessionDescription,
        send_video: bool,
    },
    SetCamera(bool),
    /// Share a screen as the call's video, or stop (`None`; back to the camera when
    /// `camera_back`). Given by the front end, not the call machine.
    ShareScreen {
        screen: Option<banter_media::video::screen::ScreenSpec>,
        camera_back: bool,
        /// The share's number, for telling its end from an earlier share's.
        share: u64,
    },
    RemoveVideo,
    /// Undo our video re-offer (withdrawn or refused).
    CancelVideoOffer,
    /// Restart ICE (→ `Restarted { offer: true }`).
    RestartIce,
    /// The peer's new ICE credentials: its restart (`offer`; → `Restarted { offer:
    /// false }`) or its answer to ours.
    PeerRestarted {
        peer: IceCredentials,
        offer: bool,
    },
    /// Stop the engine and release its devices; nothing follows.
    Close,
}

/// How the call's peer answered one of our Jingle requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqAnswer {
    Done,
    Refused,
    /// `item-not-found` (XEP-0166 `unknown-session`): the peer has no such call
    /// any more (it ended it while our streams were down, or restarted).
    NoSuchSession,
    /// The peer's server says its device is not there (`service-unavailable`,
    /// `recipient-unavailable`): offline, or reconnecting.
    Unreachable,
}

/// What a call's media engine did, fed back with [`Endpoint::handle_media`].
#[derive(Debug, Clone)]
pub enum MediaResult {
    /// Our offer or answer.
    Description(SessionDescription),
    Reoffer(SessionDescription),
    AddVideoFailed,
    ContentAnswer(SessionDescription),
    ContentAddFailed,
    Candidate(Candidate),
    VideoCandidate(Candidate),
    Connected,
    /// The path is lost after media flowed.
    PathLost,
    /// Our new ICE credentials: our restart (`offer`) or our answer to the peer's.
    Restarted {
        ours: IceCredentials,
        offer: bool,
    },
    /// The engine failed; the call ends for this reason.
    Failed(Reason),
}

/// A call that ended (or was refused as busy), for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub id: String,
    pub peer: BareJid,
    pub direction: CallDirection,
    pub started: Instant,
    /// How long media flowed, for a call that became active.
    pub talked: Option<Duration>,
    pub reason: EndReason,
}

/// What the endpoint asks for.
#[derive(Debug)]
pub enum Event {
    Send(Stanza),
    Media {
        call: String,
        command: MediaCommand,
    },
    /// A call's state, with what the window shows beside it.
    State {
        call: String,
        peer: BareJid,
        direction: CallDirection,
        media: Vec<MediaKind>,
        state: CallState,
    },
    Info {
        call: String,
        info: CallInfo,
    },
    /// A signaling message of the call, sent or received, in a line for its report.
    Signal {
        call: String,
        outgoing: bool,
        line: String,
    },
    Ended(Ended),
}

/// Why a call could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("not connected: the call cannot be placed")]
    NotConnected,
    #[error("calls are not set up on this client")]
    NoCalls,
    #[error("a call with this id exists already")]
    DuplicateId,
}

struct Entry {
    call: Call,
    deadline: Option<Instant>,
    /// Our offer waits, until then at the most, for the peer device's features.
    offer_wait: Option<Instant>,
    offer_waited: bool,
    /// Outgoing Jingle IQ ids and their actions, to route their answers.
    iq_ids: Vec<(String, Action)>,
    started: Instant,
    active_at: Option<Instant>,
    /// A media engine was asked for and not closed.
    media: bool,
    /// Our session-initiate and what followed it, held until then at the most for
    /// the keys that seal it (`Directory::keys_pending`).
    held: Vec<Stanza>,
    hold_until: Option<Instant>,
}

/// All calls of one account.
pub struct Endpoint {
    own: BareJid,
    bound: Option<FullJid>,
    /// Calls are set up on this client (a media configuration exists).
    calls_enabled: bool,
    /// Do not disturb: every new incoming call is refused as busy.
    do_not_disturb: bool,
    ring_timeout: Duration,
    calls: BTreeMap<String, Entry>,
    /// Ids of the latest ended calls (oldest first).
    ended: VecDeque<String>,
    rng: StdRng,
    out: VecDeque<Event>,
    /// Jingle IQs and call proposals each peer may send us per second.
    jingle_limit: RateLimiter,
    propose_limit: RateLimiter,
}

impl Endpoint {
    /// `seed` makes every id drawn here reproducible (tests); use a random one otherwise.
    pub fn new(own: BareJid, calls_enabled: bool, ring_timeout: Duration, seed: u64) -> Self {
        Endpoint {
            own,
            bound: None,
            calls_enabled,
            do_not_disturb: false,
            ring_timeout,
            calls: BTreeMap::new(),
            ended: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            out: VecDeque::new(),
            // A call's setup is a dozen IQs (trickled candidates); proposals are rarer.
            jingle_limit: RateLimiter::new(20.0, 60.0),
            propose_limit: RateLimiter::new(1.0, 5.0),
        }
    }

    /// Our resource after (re)binding; calls need it.
    pub fn set_bound(&mut self, full: Option<FullJid>) {
        self.bound = full;
    }

    pub fn set_calls_enabled(&mut self, on: bool) {
        self.calls_enabled = on;
    }

    /// Do not disturb (our presence says `dnd`): new calls are refused as busy, as
    /// if we were in one, and nothing rings. Calls already ringing go on.
    pub fn set_do_not_disturb(&mut self, on: bool) {
        self.do_not_disturb = on;
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    /// When `handle_timeout` is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .flat_map(|c| [c.deadline, c.offer_wait, c.hold_until])
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, dir: &dyn Directory) {
        let due = |t: Option<Instant>| t.is_some_and(|d| d <= now);
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            if self.calls.get(&id).is_some_and(|e| due(e.hold_until)) {
                tracing::info!(call = %id, "the keys to seal the call did not come: it goes unsealed");
                self.release(&id);
            }
            if let Some(e) = self.calls.get_mut(&id).filter(|e| due(e.offer_wait)) {
                e.offer_wait = None;
                self.run(&id, vec![Output::CreateOffer], now, dir);
            }
            if let Some(e) = self.calls.get_mut(&id).filter(|e| due(e.deadline)) {
                e.deadline = None;
                self.input(&id, Input::Timeout, now, dir);
            }
        }
    }

    /// The peer's device in call `id`, once known.
    pub fn peer_device(&self, id: &str) -> Option<&FullJid> {
        self.calls.get(id)?.call.peer_full.as_ref()
    }

    /// Whether `from` is call `id`'s peer (its device, once known).
    pub fn is_call_peer(&self, id: &str, from: &Jid) -> bool {
        self.calls
            .get(id)
            .is_some_and(|c| c.call.is_from_peer(from))
    }

    /// Whether we have a call (of any state) with `peer`.
    pub fn has_call_with(&self, peer: &BareJid) -> bool {
        self.calls.values().any(|c| c.call.peer == *peer)
    }

    pub fn call_ids(&self) -> impl Iterator<Item = &String> {
        self.calls.keys()
    }

    /// Whether our camera (or whatever is sent as video) is on in a call.
    pub fn video_on(&self, id: &str) -> Option<bool> {
        self.calls.get(id).map(|c| c.call.video_on)
    }

    /// A call's state, while it is known.
    pub fn state(&self, id: &str) -> Option<CallState> {
        self.calls.get(id).map(|c| c.call.state)
    }

    /// Places a call: to a bare JID as a JMI proposal, to a full JID directly.
    pub fn place(
        &mut self,
        id: String,
        to: Jid,
        video: bool,
        now: Instant,
        dir: &dyn Directory,
    ) -> Result<(), PlaceError> {
        let own = self.bound.clone().ok_or(PlaceError::NotConnected)?;
        if !self.calls_enabled {
            return Err(PlaceError::NoCalls);
        }
        if self.calls.contains_key(&id) {
            return Err(PlaceError::DuplicateId);
        }
        let media = if video {
            vec![MediaKind::Audio, MediaKind::Video]
        } else {
            vec![MediaKind::Audio]
        };
        let (call, outputs) = Call::place(id.clone(), to, own, media, self.ring_timeout);
        self.insert(id.clone(), call, now);
        self.run(&id, outputs, now, dir);
        Ok(())
    }

    /// A user action on a call (accept, reject, hang up, mute, hold, camera).
    pub fn input(&mut self, id: &str, input: Input, now: Instant, dir: &dyn Directory) {
        if !self.calls.contains_key(id) {
            return;
        }
        let line = match &input {
            Input::Jingle { jingle, .. } => Some(log::jingle_line(jingle)),
            Input::Jmi { jmi, .. } => Some(log::jmi_line(jmi)),
            _ => None,
        };
        if let Some(line) = line {
            self.signal(id, false, line);
        }
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        let outputs = c.call.handle(input);
        self.run(id, outputs, now, dir);
    }

    /// Before answering: whether the user answers with the camera on.
    pub fn set_video_wanted(&mut self, id: &str, video: bool) {
        if let Some(c) = self.calls.get_mut(id) {
            c.call.video_on = video;
        }
    }

    /// Our XMPP stream went down or came back: every call is told (a restart the
    /// peer cannot answer meanwhile says nothing of the peer); `renewed` when it came
    /// back as a new session (what was in flight may be lost).
    pub fn signaling(&mut self, up: bool, renewed: bool, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.input(&id, Input::Signaling(up), now, dir);
            if up && renewed {
                self.input(&id, Input::StreamRenewed, now, dir);
            }
        }
    }

    /// The addresses calls bind changed: each call restarts ICE.
    pub fn addresses_changed(&mut self, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.input(&id, Input::AddressesChanged, now, dir);
        }
    }

    pub fn hang_up_all(&mut self, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.input(&id, Input::Hangup, now, dir);
        }
    }

    /// A device went offline: its calls end at once (no need to wait for ICE to
    /// fail), unless their media still flows (news.rs).
    pub fn peer_offline(&mut self, device: &FullJid, now: Instant, dir: &dyn Directory) {
        self.tell_device(device, Input::PeerGone, now, dir);
    }

    /// A device is online (again): its calls say what did not reach it meanwhile.
    pub fn peer_online(&mut self, device: &FullJid, now: Instant, dir: &dyn Directory) {
        self.tell_device(device, Input::PeerBack, now, dir);
    }

    fn tell_device(&mut self, device: &FullJid, input: Input, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| c.call.peer_full.as_ref() == Some(device))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.input(&id, input.clone(), now, dir);
        }
    }

    /// A device's features arrived: an offer waiting for them goes now.
    pub fn features_arrived(&mut self, device: &Jid, now: Instant, dir: &dyn Directory) {
        let waiting: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| {
                c.offer_wait.is_some()
                    && c.call
                        .peer_full
                        .as_ref()
                        .is_some_and(|f| f.to_string() == device.to_string())
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in waiting {
            if let Some(c) = self.calls.get_mut(&id) {
                c.offer_wait = None;
            }
            self.run(&id, vec![Output::CreateOffer], now, dir);
        }
    }

    /// Keys arrived (or were given up on): held calls whose keys are no longer
    /// pending send what they held.
    pub fn keys_arrived(&mut self, dir: &dyn Directory) {
        let ready: Vec<String> = self
            .calls
            .iter()
            .filter(|(id, e)| e.hold_until.is_some() && !dir.keys_pending(id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            self.release(&id);
        }
    }

    fn release(&mut self, id: &str) {
        let Some(e) = self.calls.get_mut(id) else {
            return;
        };
        e.hold_until = None;
        for s in std::mem::take(&mut e.held) {
            self.send(s);
        }
    }

    /// What a call's media engine did.
    pub fn handle_media(&mut self, id: &str, r: MediaResult, now: Instant, dir: &dyn Directory) {
        let input = match r {
            MediaResult::Description(d) => Input::LocalDescription(d),
            MediaResult::Reoffer(d) => Input::LocalReoffer(d),
            MediaResult::AddVideoFailed => {
                if let Some(c) = self.calls.get_mut(id) {
                    c.call.video_on = false;
                }
                return;
            }
            MediaResult::ContentAnswer(d) => Input::ContentAnswer(d),
            MediaResult::ContentAddFailed => Input::ContentAddFailed,
            MediaResult::Candidate(c) => Input::LocalCandidate(c),
            MediaResult::VideoCandidate(c) => Input::LocalVideoCandidate(c),
            MediaResult::Connected => Input::MediaConnected,
            MediaResult::PathLost => Input::PathLost,
            MediaResult::Restarted { ours, offer } => Input::LocalRestart { ours, offer },
            MediaResult::Failed(r) => Input::MediaFailed(r),
        };
        self.input(id, input, now, dir);
    }

    /// An answer to one of our Jingle requests from the call's peer (anyone else's
    /// "answer" is not one). Returns whether it was one.
    pub fn handle_iq_answer(
        &mut self,
        iq_id: &str,
        from: Option<&Jid>,
        answer: IqAnswer,
        now: Instant,
        dir: &dyn Directory,
    ) -> bool {
        let Some(from) = from.map(Jid::to_bare) else {
            return false;
        };
        let Some((call_id, action)) = self.calls.iter_mut().find_map(|(k, c)| {
            if c.call.peer != from {
                return None;
            }
            let pos = c.iq_ids.iter().position(|(i, _)| i == iq_id)?;
            Some((k.clone(), c.iq_ids.remove(pos).1))
        }) else {
            return false;
        };
        match answer {
            IqAnswer::Done => self.input(&call_id, Input::JingleAcked(action), now, dir),
            IqAnswer::Unreachable => {
                tracing::info!(call = %call_id, action = action.as_str(), "the peer's device is not there");
                self.input(&call_id, Input::Undelivered(action), now, dir);
            }
            IqAnswer::NoSuchSession if action != Action::SessionInitiate => {
                tracing::info!(call = %call_id, action = action.as_str(), "the peer has no such session");
                self.input(&call_id, Input::PeerLostSession, now, dir);
            }
            IqAnswer::Refused | IqAnswer::NoSuchSession => {
                tracing::info!(call = %call_id, action = action.as_str(), "the peer refused a jingle request");
                self.input(&call_id, Input::JingleRefused(action), now, dir);
            }
        }
        true
    }

    fn remember_ended(&mut self, id: &str) {
        if self.ended.len() >= REMEMBERED_ENDED {
            self.ended.pop_front();
        }
        self.ended.push_back(id.to_string());
    }

    fn insert(&mut self, id: String, call: Call, now: Instant) {
        let entry = Entry {
            call,
            deadline: None,
            offer_wait: None,
            offer_waited: false,
            iq_ids: Vec::new(),
            started: now,
            active_at: None,
            media: false,
            held: Vec::new(),
            hold_until: None,
        };
        self.calls.insert(id, entry);
    }

    fn send(&mut self, s: Stanza) {
        self.out.push_back(Event::Send(s));
    }

    fn new_id(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }

    fn media(&mut self, id: &str, command: MediaCommand) {
        self.out.push_back(Event::Media {
            call: id.to_string(),
            command,
        });
    }
}

mod inbound;
mod log;
mod run;

#[cfg(test)]
mod harness;
#[cfg(test)]
mod tests;
