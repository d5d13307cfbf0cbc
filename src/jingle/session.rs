//! A call's signaling state (XEP-0166 session, reached through XEP-0353 or directly),
//! without I/O: inputs (user actions, stanzas, media results, timer) go in, outputs
//! (stanzas to send, media commands, state changes, timers) come out.
//!
//! Privacy: no local candidate leaves before the callee accepted. The caller's
//! candidates go out only after the callee proceeded (JMI) or in reply to nothing at all
//! (direct session-initiate needs the offer first; its candidates trickle after it).

use std::time::Duration;

use xmpp_parsers::jid::{BareJid, FullJid, Jid};

use banter_media::description::{
    Candidate, Direction, Fingerprint, MediaKind, SessionDescription, Setup,
};
use banter_media::session::IceCredentials;

use super::ice_udp::Transport;
use super::jmi::Jmi;
use super::rtp::Info;
use super::{mapping, Action, Content, Jingle, Reason};

/// How long a call may ring before it is given up.
pub const RING_TIMEOUT: Duration = Duration::from_secs(45);
/// How long from "accepted" to media flowing.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallDirection {
    Out,
    In,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing JMI proposal sent, nobody rings yet.
    Proposing,
    /// Out: the peer's device rings. In: we ring, waiting for the user.
    Ringing,
    /// Accepted; setting up ICE and DTLS.
    Connecting,
    /// Media flows.
    Active,
    Ended(EndReason),
}

impl CallState {
    pub fn name(self) -> &'static str {
        match self {
            CallState::Proposing => "proposing",
            CallState::Ringing => "ringing",
            CallState::Connecting => "connecting",
            CallState::Active => "active",
            CallState::Ended(_) => "ended",
        }
    }
}

/// Why a call ended, as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Jingle(Reason),
    /// Another device of ours took (or declined) the call.
    AnsweredElsewhere,
    RejectedElsewhere,
}

impl EndReason {
    /// A call that ended normally (hung up after it was answered).
    pub fn is_success(self) -> bool {
        self == EndReason::Jingle(Reason::Success)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Jingle(r) => r.as_str(),
            EndReason::AnsweredElsewhere => "answered-elsewhere",
            EndReason::RejectedElsewhere => "rejected-elsewhere",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Call {
    pub id: String,
    pub peer: BareJid,
    /// The peer's device once known (proceed or session-initiate sender).
    pub peer_full: Option<FullJid>,
    pub direction: CallDirection,
    pub media: Vec<MediaKind>,
    pub state: CallState,
    pub via_jmi: bool,
    own: FullJid,
    /// The user accepted an incoming call.
    accepted: bool,
    /// session-initiate sent (out) or received (in).
    session: bool,
    /// Our description is signaled, so candidates may follow.
    can_send_candidates: bool,
    local_candidates: Vec<Candidate>,
    local_video_candidates: Vec<Candidate>,
    /// Offer of a direct incoming session-initiate, kept until the user accepts.
    remote_offer: Option<SessionDescription>,
    /// Remote candidates held until the media session exists.
    remote_candidates: Vec<Candidate>,
    remote_video_candidates: Vec<Candidate>,
    /// Remote candidates taken from transport-infos, main transport and video's own.
    candidates_taken: usize,
    video_candidates_taken: usize,
    media_started: bool,
    remote_fingerprint: Option<(Fingerprint, Setup)>,
    /// Name of our (bundled) content, for transport-info.
    content_name: Option<String>,
    /// Creator and name of the video content when it has a transport of its own.
    video_transport: Option<(String, String)>,
    /// Who created the video content (content-modify names it so).
    video_creator: String,
    ring_timeout: Duration,
    /// The peer's description as agreed so far (contents added mid-call merge into it).
    remote_desc: Option<SessionDescription>,
    /// Content names of our last description.
    local_names: Vec<String>,
    /// Contents we proposed with content-add, waiting for the peer's answer.
    adding: Vec<String>,
    /// The peer's content-add waiting for our answer: its creator and content names.
    peer_adding: Option<(String, Vec<String>)>,
    /// The user wants to send video (call placed or answered with video, camera on).
    pub video_on: bool,
    restart: restart::Restart,
    news: news::News,
}

impl Call {
    fn new(id: String, peer: BareJid, own: FullJid, direction: CallDirection) -> Call {
        Call {
            id,
            peer,
            peer_full: None,
            direction,
            media: vec![MediaKind::Audio],
            state: CallState::Proposing,
            via_jmi: true,
            own,
            accepted: false,
            session: false,
            can_send_candidates: false,
            local_candidates: Vec::new(),
            local_video_candidates: Vec::new(),
            remote_offer: None,
            remote_candidates: Vec::new(),
            remote_video_candidates: Vec::new(),
            candidates_taken: 0,
            video_candidates_taken: 0,
            media_started: false,
            remote_fingerprint: None,
            content_name: None,
            video_transport: None,
            video_creator: "initiator".into(),
            ring_timeout: RING_TIMEOUT,
            remote_desc: None,
            local_names: Vec::new(),
            adding: Vec::new(),
            peer_adding: None,
            video_on: false,
            restart: restart::Restart::default(),
            news: news::News::default(),
        }
    }

    /// Places a call. To a bare JID: a JMI proposal rings all its devices. To a full JID:
    /// a session-initiate straight away (peers without JMI).
    pub fn place(
        id: String,
        to: Jid,
        own: FullJid,
        media: Vec<MediaKind>,
        ring: Duration,
    ) -> (Call, Vec<Output>) {
        let mut call = Call::new(id, to.to_bare(), own, CallDirection::Out);
        call.ring_timeout = ring;
        call.video_on = media.contains(&MediaKind::Video);
        call.media = media;
        let mut out = Vec::new();
        match to.try_into_full() {
            Ok(full) => {
                call.via_jmi = false;
                call.peer_full = Some(full);
                call.state = CallState::Connecting;
                // The media session exists from now on: the callee's candidates go to
                // it as they come (found by the property tests of jingle::endpoint:
                // they were held for good). It rings meanwhile, so the ring timeout.
                call.media_started = true;
                out.push(Output::State(call.state));
                out.push(Output::CreateOffer);
                out.push(Output::SetTimer(call.ring_timeout));
            }
            Err(bare) => {
                let propose = Jmi::Propose {
                    id: call.id.clone(),
                    media: call.media.clone(),
                };
                out.push(Output::Message(propose.message(Jid::from(bare))));
                out.push(Output::State(call.state));
                out.push(Output::SetTimer(call.ring_timeout));
            }
        }
        (call, out)
    }

    /// An incoming JMI proposal: we ring, and tell the caller so.
    pub fn proposed(
        id: String,
        from: FullJid,
        own: FullJid,
        media: Vec<MediaKind>,
        ring: Duration,
    ) -> (Call, Vec<Output>) {
        let mut call = Call::new(id.clone(), from.to_bare(), own, CallDirection::In);
        call.ring_timeout = ring;
        call.media = if media.is_empty() {
            vec![MediaKind::Audio]
        } else {
            media
        };
        call.peer_full = Some(from.clone());
        call.state = CallState::Ringing;
        let out = vec![
            Output::Message(Jmi::Ringing { id }.message(Jid::from(from))),
            Output::State(call.state),
            Output::SetTimer(call.ring_timeout),
        ];
        (call, out)
    }

    /// An incoming session-initiate without a proposal before it.
    pub fn initiated(
        from: FullJid,
        own: FullJid,
        jingle: &Jingle,
        ring: Duration,
    ) -> (Call, Vec<Output>) {
        let mut call = Call::new(jingle.sid.clone(), from.to_bare(), own, CallDirection::In);
        call.ring_timeout = ring;
        call.via_jmi = false;
        call.peer_full = Some(from.clone());
        call.session = true;
        call.state = CallState::Ringing;
        let mut out = Vec::new();
        match mapping::from_jingle(jingle, None, true) {
            Ok(offer) => {
                call.media = offer.contents.iter().map(|c| c.kind).collect();
                call.count_candidates(&offer);
                call.remote_desc = Some(offer.clone());
                call.remote_offer = Some(offer);
                let mut info = Jingle::new(Action::SessionInfo, &call.id);
                info.info = Some(Info::Ringing);
                out.push(Output::Jingle {
                    to: from,
                    jingle: info,
                });
                out.push(Output::State(call.state));
                out.push(Output::SetTimer(call.ring_timeout));
            }
            Err(e) => {
                tracing::info!(error = %e, "unusable session-initiate");
                out.extend(call.terminate(Reason::FailedApplication));
            }
        }
        (call, out)
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.state, CallState::Ended(_))
    }

    fn set_state(&mut self, s: CallState, out: &mut Vec<Output>) {
        if self.state != s {
            self.state = s;
            out.push(Output::State(s));
        }
    }

    fn end(&mut self, reason: EndReason, out: &mut Vec<Output>) {
        if self.is_ended() {
            return;
        }
        if self.media_started {
            out.push(Output::CloseMedia);
        }
        self.set_state(CallState::Ended(reason), out);
    }

    /// Ends with a session-terminate (when a session exists) or the JMI message that
    /// fits the stage we are in.
    /// The peer (or its server) refused our request.
    fn refused(&mut self, action: Action, out: &mut Vec<Output>) {
        match action {
            // Without these there is no call.
            Action::SessionInitiate | Action::SessionAccept => {
                out.extend(self.terminate(Reason::GeneralError));
            }
            Action::ContentAdd if !self.adding.is_empty() => self.video_refused(out),
            Action::TransportInfo => self.restart_refused(),
            // News the peer did not take (an unsupported session-info, a
            // content-modify or transport-info it does not know): the call goes on.
            other => tracing::info!(action = other.as_str(), "the peer refused a request"),
        }
    }

    fn terminate(&mut self, reason: Reason) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_ended() {
            return out;
        }
        if self.session {
            if let Some(to) = self.peer_full.clone() {
                let mut j = Jingle::new(Action::SessionTerminate, &self.id);
                j.reason = Some(reason);
                out.push(Output::Jingle { to, jingle: j });
            }
            if self.via_jmi {
                let finish = Jmi::Finish {
                    id: self.id.clone(),
                    reason: Some(reason),
                };
                out.push(Output::Message(
                    finish.message(Jid::from(self.peer.clone())),
                ));
            }
        } else if self.via_jmi {
            match self.direction {
                CallDirection::Out => {
                    let retract = Jmi::Retract {
                        id: self.id.clone(),
                        reason: Some(reason),
                    };
                    out.push(Output::Message(
                        retract.message(Jid::from(self.peer.clone())),
                    ));
                }
                CallDirection::In => {
                    let reject = Jmi::Reject {
                        id: self.id.clone(),
                        reason: Some(reason),
                    };
                    if let Some(f) = &self.peer_full {
                        out.push(Output::Message(reject.message(Jid::from(f.clone()))));
                    }
                    // Our other devices stop ringing too.
                    out.push(Output::Message(
                        reject.message(Jid::from(self.own.to_bare())),
                    ));
                }
            }
        }
        self.end(EndReason::Jingle(reason), &mut out);
        out
    }

    /// The call's peer: its device once known, else anyone of its JID.
    pub(crate) fn is_from_peer(&self, from: &Jid) -> bool {
        match (&self.peer_full, from.clone().try_into_full()) {
            (Some(p), Ok(f)) => *p == f,
            (None, _) => from.to_bare() == self.peer,
            (Some(_), Err(bare)) => bare == self.peer,
        }
    }

    fn start_media(&mut self, cmd: Output, out: &mut Vec<Output>) {
        self.media_started = true;
        out.push(cmd);
        if !self.remote_candidates.is_empty() {
            out.push(Output::RemoteCandidates(std::mem::take(
                &mut self.remote_candidates,
            )));
        }
        if !self.remote_video_candidates.is_empty() {
            out.push(Output::RemoteVideoCandidates(std::mem::take(
                &mut self.remote_video_candidates,
            )));
        }
        out.push(Output::SetTimer(CONNECT_TIMEOUT));
    }

    /// Our candidates for the main transport. After an ICE restart each names its
    /// generation by our credentials (the first one answers the peer's restart).
    fn send_candidates(&mut self, cands: Vec<Candidate>, out: &mut Vec<Output>) {
        // Contents are created by the initiator, whoever sends the candidates.
        let name = self.content_name.clone().unwrap_or_else(|| "0".into());
        let creds = self.restart.local.clone();
        self.send_candidates_of("initiator".into(), name, cands, creds, out);
    }

    /// Candidates for the video's own transport, named by its content.
    fn send_video_candidates(&mut self, cands: Vec<Candidate>, out: &mut Vec<Output>) {
        let Some((creator, name)) = self.video_transport.clone() else {
            tracing::debug!("a video candidate without a video transport");
            return;
        };
        self.send_candidates_of(creator, name, cands, None, out);
    }

    fn send_candidates_of(
        &mut self,
        creator: String,
        name: String,
        cands: Vec<Candidate>,
        creds: Option<IceCredentials>,
        out: &mut Vec<Output>,
    ) {
        let (Some(to), false) = (self.peer_full.clone(), cands.is_empty()) else {
            return;
        };
        let mut j = Jingle::new(Action::TransportInfo, &self.id);
        j.contents.push(Content {
            transport: Some(Transport {
                ufrag: creds.as_ref().map(|c| c.ufrag.clone()),
                pwd: creds.map(|c| c.pwd),
                fingerprint: None,
                candidates: cands,
            }),
            ..Content::named(&creator, &name, "both")
        });
        out.push(Output::Jingle { to, jingle: j });
    }

    /// Feeds one input; returns what to do.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        if self.is_ended() {
            return out;
        }
        match input {
            Input::Accept => {
                if self.direction != CallDirection::In || self.accepted {
                    return out;
                }
                self.accepted = true;
                self.set_state(CallState::Connecting, &mut out);
                if self.via_jmi {
                    let accept = Jmi::Accept {
                        id: self.id.clone(),
                    };
                    out.push(Output::Message(
                        accept.message(Jid::from(self.own.to_bare())),
                    ));
                    if let Some(f) = &self.peer_full {
                        let proceed = Jmi::Proceed {
                            id: self.id.clone(),
                        };
                        out.push(Output::Message(proceed.message(Jid::from(f.clone()))));
                    }
                    out.push(Output::SetTimer(CONNECT_TIMEOUT));
                } else if let Some(offer) = self.remote_offer.take() {
                    self.start_media(Output::AcceptOffer(offer), &mut out);
                }
            }
            Input::Reject(reason) => {
                if self.direction == CallDirection::In && !self.accepted {
                    out.extend(self.terminate(reason));
                }
            }
            Input::Hangup => {
                let reason = match (self.state, self.direction) {
                    (CallState::Active, _) => Reason::Success,
                    (_, CallDirection::Out) => Reason::Cancel,
                    (_, CallDirection::In) => Reason::Decline,
                };
                out.extend(self.terminate(reason));
            }
            Input::Mute(m) => self.mute(m, &mut out),
            Input::Hold(h) => self.hold(h, &mut out),
            Input::Camera(on) => self.camera(on, &mut out),
            Input::LocalReoffer(offer) => {
                if !self.video_on {
                    // The camera went off again while the offer was being made.
                    out.push(Output::VideoWithdrawn);
                    return out;
                }
                let Some(to) = self.peer_full.clone() else {
                    return out;
                };
                // The content's creator is our role, except with a peer that does not
                // bundle: Dino takes every content for the initiator's (its own
                // content-adds say so whoever sends them) and refuses transport-info
                // naming another creator, so ours say "initiator" too.
                let creator = if offer.unbundled() {
                    "initiator"
                } else {
                    self.role()
                };
                let (mut contents, group) =
                    mapping::to_jingle(&offer, creator, self.we_initiated());
                contents.retain(|c| !self.local_names.contains(&c.name));
                if contents.is_empty() {
                    return out;
                }
                self.adding = contents.iter().map(|c| c.name.clone()).collect();
                self.local_names = offer.contents.iter().map(|c| c.name.clone()).collect();
                self.note_video_transport(&offer, creator);
                self.video_creator = creator.to_string();
                let mut j = Jingle::new(Action::ContentAdd, &self.id);
                j.contents = contents;
                j.group = group;
                out.push(Output::Jingle { to, jingle: j });
                self.flush_video_candidates(&mut out);
            }
            Input::ContentAnswer(answer) => {
                let (Some((creator, names)), Some(to)) =
                    (self.peer_adding.take(), self.peer_full.clone())
                else {
                    return out;
                };
                let (mut contents, group) =
                    mapping::to_jingle(&answer, &creator, self.we_initiated());
                contents.retain(|c| names.contains(&c.name));
                self.local_names = answer.contents.iter().map(|c| c.name.clone()).collect();
                self.note_video_transport(&answer, &creator);
                self.video_creator = creator.clone();
                let mut j = Jingle::new(Action::ContentAccept, &self.id);
                j.contents = contents;
                j.group = group;
                out.push(Output::Jingle { to, jingle: j });
                self.flush_video_candidates(&mut out);
                if !self.media.contains(&MediaKind::Video) {
                    self.media.push(MediaKind::Video);
                }
                out.push(Output::MediaChanged);
                // Our camera is on already: it joins a one-way video at once.
                if self.video_on {
                    if let Some(name) = names.first() {
                        self.join_one_way_video(name, &mut out);
                    }
                }
            }
            Input::ContentAddFailed => {
                let Some((creator, names)) = self.peer_adding.take() else {
                    return out;
                };
                if let Some(d) = self.remote_desc.as_mut() {
                    d.contents.retain(|c| !names.contains(&c.name));
                    d.bundle.retain(|b| !names.contains(b));
                }
                let contents = names
                    .iter()
                    .map(|n| Content::named(&creator, n, "both"))
                    .collect();
                self.content_reject(contents, &mut out);
            }
            Input::Jmi { from, jmi } => self.on_jmi(from, jmi, &mut out),
            Input::Jingle { from, jingle } => {
                if !self.is_from_peer(&from) {
                    tracing::warn!(%from, "jingle from someone else than the peer");
                    return out;
                }
                self.peer_alive();
                self.on_jingle(jingle, &mut out);
            }
            Input::JingleRefused(action) => {
                self.answered(action);
                self.refused(action, &mut out);
            }
            Input::LocalDescription(desc) => {
                let Some(to) = self.peer_full.clone() else {
                    return out;
                };
                // A video call whose camera could not be opened goes on as audio.
                let kinds: Vec<MediaKind> = desc.contents.iter().map(|c| c.kind).collect();
                if self.direction == CallDirection::Out && kinds != self.media {
                    self.media = kinds;
                    self.video_on = self.media.contains(&MediaKind::Video);
                    out.push(Output::MediaChanged);
                }
                let (action, creator) = match self.direction {
                    CallDirection::Out => (Action::SessionInitiate, "initiator"),
                    CallDirection::In => (Action::SessionAccept, "initiator"),
                };
                let (contents, group) = mapping::to_jingle(&desc, creator, self.we_initiated());
                self.content_name = contents.first().map(|c| c.name.clone());
                self.note_video_transport(&desc, "initiator");
                self.local_names = contents.iter().map(|c| c.name.clone()).collect();
                let mut j = Jingle::new(action, &self.id);
                match self.direction {
                    CallDirection::Out => j.initiator = Some(self.own.to_string()),
                    CallDirection::In => j.responder = Some(self.own.to_string()),
                }
                j.contents = contents;
                j.group = group;
                out.push(Output::Jingle { to, jingle: j });
                self.session = true;
                self.can_send_candidates = true;
                let pending = std::mem::take(&mut self.local_candidates);
                self.send_candidates(pending, &mut out);
                self.flush_video_candidates(&mut out);
            }
            Input::LocalCandidate(c) => {
                let Some(c) = self.hold_candidate(c) else {
                    return out;
                };
                if self.can_send_candidates {
                    self.send_candidates(vec![c], &mut out);
                } else {
                    self.local_candidates.push(c);
                }
            }
            Input::LocalVideoCandidate(c) => {
                self.local_video_candidates.push(c);
                self.flush_video_candidates(&mut out);
            }
            Input::MediaConnected => {
                self.set_state(CallState::Active, &mut out);
                out.push(Output::CancelTimer);
                self.path_back(&mut out);
                self.plan_news_retry(&mut out);
            }
            Input::PathLost => self.path_lost(&mut out),
            Input::AddressesChanged => self.addresses_changed(&mut out),
            Input::LocalRestart { ours, offer } => self.local_restart(ours, offer, &mut out),
            Input::MediaFailed(reason) => {
                out.extend(self.terminate(reason));
            }
            Input::JingleAcked(action) => {
                self.delivered(action);
                self.peer_alive();
            }
            Input::Undelivered(action) => self.undelivered(action, &mut out),
            Input::Signaling(up) => self.signaling(up),
            Input::StreamRenewed => self.stream_renewed(&mut out),
            Input::PeerLostSession => {
                // Nobody to tell: the peer already forgot the call.
                self.end(EndReason::Jingle(Reason::Gone), &mut out);
            }
            Input::PeerGone => self.peer_gone(&mut out),
            Input::Insecure => out.extend(self.terminate(Reason::SecurityError)),
            Input::PeerBack => self.peer_back(&mut out),
            Input::Timeout => {
                let reason = match self.state {
                    // A direct call the callee never answered timed out; one that was
                    // accepted and never connected had no path.
                    CallState::Connecting
                        if self.media_started
                            && (self.via_jmi
                                || self.direction == CallDirection::In
                                || self.remote_desc.is_some()) =>
                    {
                        Reason::ConnectivityError
                    }
                    _ => Reason::Timeout,
                };
                if self.state != CallState::Active {
                    out.extend(self.terminate(reason));
                } else {
                    self.path_timeout(&mut out);
                    self.news_timeout(&mut out);
                }
            }
        }
        out
    }
}

mod io;
mod news;
mod restart;
mod signaling;
mod video;

pub use io::{Input, Output};

pub use restart::PATH_GIVE_UP;

#[cfg(test)]
pub(crate) mod tests;
