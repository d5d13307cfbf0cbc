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

/// What the endpoint needs to know about the world, asked when it matters.
pub trait Directory {
    /// Whether `peer` may ring us (the call policy and the roster).
    fn may_call(&self, peer: &BareJid) -> bool;
    /// Whether the device's features are known, and if so whether it bundles audio
    /// and video on one transport (XEP-0338).
    fn bundles(&self, device: &FullJid) -> Option<bool>;
    /// Whether the device's features were asked for and are on their way.
    fn features_pending(&self, device: &FullJid) -> bool;
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
    RemoveVideo,
    /// Undo our video re-offer (withdrawn or refused).
    CancelVideoOffer,
    /// Stop the engine and release its devices; nothing follows.
    Close,
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
}

/// All calls of one account.
pub struct Endpoint {
    own: BareJid,
    bound: Option<FullJid>,
    /// Calls are set up on this client (a media configuration exists).
    calls_enabled: bool,
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

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    /// When `handle_timeout` is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .flat_map(|c| [c.deadline, c.offer_wait])
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, dir: &dyn Directory) {
        let due = |t: Option<Instant>| t.is_some_and(|d| d <= now);
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
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

    /// Whether we have a call (of any state) with `peer`.
    pub fn has_call_with(&self, peer: &BareJid) -> bool {
        self.calls.values().any(|c| c.call.peer == *peer)
    }

    pub fn call_ids(&self) -> impl Iterator<Item = &String> {
        self.calls.keys()
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

    pub fn hang_up_all(&mut self, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.input(&id, Input::Hangup, now, dir);
        }
    }

    /// A device went offline: its calls end at once (no need to wait for ICE to fail).
    pub fn peer_offline(&mut self, device: &FullJid, now: Instant, dir: &dyn Directory) {
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| c.call.peer_full.as_ref() == Some(device))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.input(&id, Input::PeerGone, now, dir);
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
        failed: bool,
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
        if failed {
            tracing::info!(call = %call_id, action = action.as_str(), "the peer refused a jingle request");
            self.input(&call_id, Input::JingleRefused(action), now, dir);
        }
        true
    }

    /// Whether `m` is a JMI message, directly or as a carbon copy of one of ours.
    pub fn is_jmi(&self, m: &Message) -> bool {
        Jmi::from_message(m).is_some()
            || carbons::unwrap(m, &self.own)
                .is_some_and(|(_, inner, _)| Jmi::from_message(&inner).is_some())
    }

    /// A JMI message (XEP-0353), directly or as a carbon.
    pub fn handle_jmi(&mut self, m: &Message, now: Instant, dir: &dyn Directory) {
        let (m, carbon) = match carbons::unwrap(m, &self.own) {
            Some((kind, inner, _)) => (inner, Some(kind)),
            None => (m.clone(), None),
        };
        let Some(jmi) = Jmi::from_message(&m) else {
            return;
        };
        // What our other device sent to the caller (proceed, reject) also settles the
        // call here; its `from` is that device.
        let Some(from) = m.from.clone() else { return };
        let id = jmi.id().to_string();
        if id.is_empty() || id.len() > MAX_SID {
            return;
        }
        if self.calls.contains_key(&id) {
            // Our other device's proceed, seen as a carbon, is its accept.
            let jmi = match (carbon, jmi) {
                (Some(Carbon::Sent), Jmi::Proceed { id }) => Jmi::Accept { id },
                (_, j) => j,
            };
            self.input(&id, Input::Jmi { from, jmi }, now, dir);
            return;
        }
        let Jmi::Propose { id, media } = jmi else {
            return;
        };
        if self.ended.contains(&id) {
            tracing::debug!(%id, "a late copy of an ended call's proposal");
            return;
        }
        if !self.propose_limit.allow(&from.to_bare(), now) {
            tracing::info!(%from, "too many call proposals: ignored");
            return;
        }
        if carbon == Some(Carbon::Sent) || from.to_bare() == self.own {
            return; // a call we (another device) placed
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            return;
        };
        let peer = from_full.to_bare();
        if !dir.may_call(&peer) {
            tracing::info!(%from, "call from someone without a subscription: not ringing");
            return;
        }
        let Some(own) = self.bound.clone() else {
            return;
        };
        // Both called each other at the same moment: the proposal with the smaller id
        // wins on both sides; the other side's own proposal is withdrawn and the winning
        // call is taken at once (the user wanted this conversation anyway).
        let crossing: Option<String> = self
            .calls
            .iter()
            .find(|(_, c)| {
                c.call.peer == peer
                    && c.call.direction == CallDirection::Out
                    && matches!(c.call.state, CallState::Proposing | CallState::Ringing)
            })
            .map(|(k, _)| k.clone());
        if let Some(ours) = &crossing {
            if *ours < id {
                tracing::info!(%ours, theirs = %id, "simultaneous calls: ours wins");
                return;
            }
        }
        if !self.calls_enabled {
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::UnsupportedApplications),
            };
            self.send(reject.message(from).into());
            return;
        }
        if crossing.is_none() && self.busy_for(&peer) {
            tracing::info!(%from, "call while busy: rejected");
            self.busy(&id, &peer, now);
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::Busy),
            };
            self.send(reject.message(from).into());
            return;
        }
        let (call, outputs) = Call::proposed(id.clone(), from_full, own, media, self.ring_timeout);
        self.insert(id.clone(), call, now);
        self.run(&id, outputs, now, dir);
        if let Some(ours) = crossing {
            tracing::info!(%ours, theirs = %id, "simultaneous calls: theirs wins");
            self.input(&ours, Input::Hangup, now, dir);
            self.input(&id, Input::Accept, now, dir);
        }
    }

    /// A Jingle IQ set (XEP-0166); every one is answered.
    pub fn handle_jingle(
        &mut self,
        from: Option<Jid>,
        iq_id: String,
        payload: &Element,
        now: Instant,
        dir: &dyn Directory,
    ) {
        let Some(from) = from else {
            self.send(iq_error(None, iq_id, DefinedCondition::BadRequest));
            return;
        };
        // Cheap checks first: a flood, or Jingle from someone with no business here,
        // costs no parsing (a description can be large).
        if !self.jingle_limit.allow(&from.to_bare(), now) {
            let e = iq_error(Some(from), iq_id, DefinedCondition::ResourceConstraint);
            self.send(e);
            return;
        }
        let sid = payload.attr("sid").unwrap_or_default();
        if sid.is_empty() || sid.len() > MAX_SID {
            self.send(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        }
        match self.calls.get(sid).map(|c| c.call.peer.clone()) {
            Some(peer) if peer == from.to_bare() => {
                let Some(jingle) = self.parse_or_refuse(&from, &iq_id, payload) else {
                    return;
                };
                self.send(iq_result(Some(from.clone()), iq_id));
                let sid = jingle.sid.clone();
                self.input(&sid, Input::Jingle { from, jingle }, now, dir);
                return;
            }
            // Someone else naming a live call's sid learns what any unknown sid gets.
            Some(_) => {
                self.send(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
                return;
            }
            None => {}
        }
        let ended = self.ended.iter().any(|e| e == sid);
        if ended || payload.attr("action") != Some(Action::SessionInitiate.as_str()) {
            // XEP-0166: unknown session (a late copy of an ended one's initiate too).
            self.send(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
            return;
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            self.send(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        };
        let peer = from_full.to_bare();
        // Someone who may not call us gets what a client without calls would say: no
        // ringing, no candidate, no call in the history.
        if !self.calls_enabled || !dir.may_call(&peer) {
            tracing::info!(%from, "direct call from someone who may not call: refused");
            let e = iq_error(Some(from), iq_id, DefinedCondition::ServiceUnavailable);
            self.send(e);
            return;
        }
        let Some(jingle) = self.parse_or_refuse(&from, &iq_id, payload) else {
            return;
        };
        self.send(iq_result(Some(from.clone()), iq_id));
        if self.busy_for(&peer) {
            tracing::info!(%from, "direct call while busy: rejected");
            self.busy(&jingle.sid, &peer, now);
            let mut terminate = Jingle::new(Action::SessionTerminate, &jingle.sid);
            terminate.reason = Some(Reason::Busy);
            let id = self.new_id();
            self.send(jingle_set(from, id, &terminate));
            return;
        }
        let Some(own) = self.bound.clone() else {
            return;
        };
        let sid = jingle.sid.clone();
        let (call, outputs) = Call::initiated(from_full, own, &jingle, self.ring_timeout);
        self.insert(sid.clone(), call, now);
        self.run(&sid, outputs, now, dir);
    }

    fn parse_or_refuse(&mut self, from: &Jid, iq_id: &str, payload: &Element) -> Option<Jingle> {
        match Jingle::parse(payload) {
            Ok(j) => Some(j),
            Err(e) => {
                tracing::info!(%from, error = %e, "malformed jingle");
                let e = iq_error(
                    Some(from.clone()),
                    iq_id.into(),
                    DefinedCondition::BadRequest,
                );
                self.send(e);
                None
            }
        }
    }

    /// Whether a new incoming call from `peer` is refused as busy: we are in a call
    /// (placing one, connecting or talking), that peer already rings here, or
    /// [`MAX_RINGING`] calls ring at once. (A crossing call of our own to the same peer
    /// is the simultaneous-call case, decided before this.)
    fn busy_for(&self, peer: &BareJid) -> bool {
        let live: Vec<&Call> = self
            .calls
            .values()
            .map(|c| &c.call)
            .filter(|c| !c.is_ended())
            .collect();
        live.len() >= MAX_RINGING
            || live.iter().any(|c| {
                c.peer == *peer || c.direction != CallDirection::In || c.state != CallState::Ringing
            })
    }

    /// A contact's call refused as busy is still a call they tried: in the history.
    fn busy(&mut self, id: &str, peer: &BareJid, now: Instant) {
        self.remember_ended(id);
        self.out.push_back(Event::Ended(Ended {
            id: id.to_string(),
            peer: peer.clone(),
            direction: CallDirection::In,
            started: now,
            talked: None,
            reason: EndReason::Jingle(Reason::Busy),
        }));
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

    /// Carries out a call's outputs; media work is handed out, its results come back
    /// through `handle_media`.
    fn run(&mut self, id: &str, outputs: Vec<Output>, now: Instant, dir: &dyn Directory) {
        for o in outputs {
            self.run_one(id, o, now, dir);
        }
        if self.calls.get(id).is_some_and(|c| c.call.is_ended()) {
            self.remember_ended(id);
            if let Some(c) = self.calls.remove(id) {
                if c.media {
                    self.media(id, MediaCommand::Close);
                }
            }
        }
    }

    fn run_one(&mut self, id: &str, o: Output, now: Instant, dir: &dyn Directory) {
        let Some(entry) = self.calls.get(id) else {
            return;
        };
        let command = match o {
            Output::Message(m) => return self.send(m.into()),
            Output::Jingle { to, jingle } => {
                let iq_id = self.new_id();
                if let Some(e) = self.calls.get_mut(id) {
                    e.iq_ids.push((iq_id.clone(), jingle.action));
                }
                return self.send(jingle_set(Jid::from(to), iq_id, &jingle));
            }
            Output::CreateOffer => {
                let peer = entry.call.peer_full.clone();
                let known = peer.as_ref().and_then(|p| dir.bundles(p));
                let pending = peer.as_ref().is_some_and(|p| dir.features_pending(p));
                let (waited, video) = (entry.offer_waited, entry.call.video_on);
                if !waited && known.is_none() && pending {
                    tracing::debug!(call = id, "the offer waits for the peer's features");
                    if let Some(e) = self.calls.get_mut(id) {
                        e.offer_waited = true;
                        e.offer_wait = Some(now + FEATURES_WAIT);
                    }
                    return;
                }
                // Devices whose features are unknown are taken to bundle, as every
                // libwebrtc-based client does; Dino does not (one transport per content).
                MediaCommand::CreateOffer {
                    send_video: video,
                    bundle: known.unwrap_or(true),
                }
            }
            Output::AcceptOffer(offer) => {
                let peer = entry.call.peer_full.clone();
                MediaCommand::AcceptOffer {
                    offer,
                    send_video: entry.call.video_on,
                    bundle: peer.and_then(|p| dir.bundles(&p)).unwrap_or(true),
                }
            }
            Output::AcceptAnswer(a) => MediaCommand::AcceptAnswer(a),
            Output::RemoteCandidates(c) => MediaCommand::RemoteCandidates(c),
            Output::RemoteVideoCandidates(c) => MediaCommand::RemoteVideoCandidates(c),
            Output::SetVideoDirection(d) => MediaCommand::SetVideoDirection(d),
            Output::SetMuted(m) => MediaCommand::SetMuted(m),
            Output::SetHeld(h) => MediaCommand::SetHeld(h),
            Output::AddVideo => MediaCommand::AddVideo,
            Output::AcceptContentAdd { offer, send_video } => {
                MediaCommand::AcceptContentAdd { offer, send_video }
            }
            Output::SetCamera(on) => MediaCommand::SetCamera(on),
            Output::VideoRemoved => MediaCommand::RemoveVideo,
            Output::VideoWithdrawn => MediaCommand::CancelVideoOffer,
            Output::VideoRefused => {
                self.media(id, MediaCommand::CancelVideoOffer);
                let info = CallInfo::VideoDeclined;
                self.out.push_back(Event::Info {
                    call: id.to_string(),
                    info,
                });
                return;
            }
            Output::CloseMedia => {
                if let Some(e) = self.calls.get_mut(id).filter(|e| e.media) {
                    e.media = false;
                    self.media(id, MediaCommand::Close);
                }
                return;
            }
            Output::PeerInfo(info) => {
                let camera = |n: &Option<String>| {
                    n.as_deref().is_some_and(|n| entry.call.is_video_content(n))
                };
                let info = match info {
                    Info::Mute(n) if camera(&n) => CallInfo::CameraOff,
                    Info::Unmute(n) if camera(&n) => CallInfo::CameraOn,
                    Info::Mute(_) => CallInfo::Mute,
                    Info::Unmute(_) => CallInfo::Unmute,
                    Info::Hold => CallInfo::Hold,
                    Info::Unhold => CallInfo::Unhold,
                    Info::Active => CallInfo::Active,
                    Info::Ringing => CallInfo::Ringing,
                };
                self.out.push_back(Event::Info {
                    call: id.to_string(),
                    info,
                });
                return;
            }
            Output::MediaChanged => return self.state_event(id, entry.call.state),
            Output::SetTimer(d) => {
                if let Some(e) = self.calls.get_mut(id) {
                    e.deadline = (d > Duration::ZERO).then(|| now + d);
                }
                return;
            }
            Output::State(s) => {
                let mut close = false;
                if let Some(e) = self.calls.get_mut(id) {
                    if s == CallState::Active && e.active_at.is_none() {
                        e.active_at = Some(now);
                    }
                    // The engine stops before the end is reported: nothing about a call
                    // comes after its end.
                    close = matches!(s, CallState::Ended(_)) && std::mem::take(&mut e.media);
                }
                if close {
                    self.media(id, MediaCommand::Close);
                }
                self.state_event(id, s);
                if let (CallState::Ended(reason), Some(e)) = (s, self.calls.get(id)) {
                    let ended = Ended {
                        id: id.to_string(),
                        peer: e.call.peer.clone(),
                        direction: e.call.direction,
                        started: e.started,
                        talked: e.active_at.map(|t| now.saturating_duration_since(t)),
                        reason,
                    };
                    self.out.push_back(Event::Ended(ended));
                }
                return;
            }
        };
        let creates = matches!(
            command,
            MediaCommand::CreateOffer { .. } | MediaCommand::AcceptOffer { .. }
        );
        match self.calls.get_mut(id) {
            Some(e) if creates => e.media = true,
            // Work for an engine that was never made (or is closed) has nowhere to go.
            Some(e) if !e.media => return,
            _ => {}
        }
        self.media(id, command);
    }

    fn state_event(&mut self, id: &str, state: CallState) {
        let Some(c) = self.calls.get(id).map(|e| &e.call) else {
            return;
        };
        let ev = Event::State {
            call: id.to_string(),
            peer: c.peer.clone(),
            direction: c.direction,
            media: c.media.clone(),
            state,
        };
        self.out.push_back(ev);
    }
}

fn jingle_set(to: Jid, id: String, jingle: &Jingle) -> Stanza {
    Iq::Set {
        from: None,
        to: Some(to),
        id,
        payload: jingle.to_element(),
    }
    .into()
}

fn iq_result(to: Option<Jid>, id: String) -> Stanza {
    Iq::Result {
        from: None,
        to,
        id,
        payload: None,
    }
    .into()
}

fn iq_error(to: Option<Jid>, id: String, cond: DefinedCondition) -> Stanza {
    Iq::Error {
        from: None,
        to,
        id,
        error: StanzaError::new(ErrorType::Cancel, cond, "en", ""),
        payload: None,
    }
    .into()
}

#[cfg(test)]
mod harness;
#[cfg(test)]
mod tests;
