//! Calls inside the client: routes JMI messages and Jingle IQs to each call's state
//! machine (`jingle::session`), runs what it asks for (stanzas, media session, timers)
//! and reports `Event::Call`.

use std::sync::Arc;
use std::time::Duration;

use minidom::Element;
use tokio::time::Instant;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::DefinedCondition;

use banter_media::description::MediaKind;
use banter_media::{MediaError, MediaEvent, MediaSession};

use super::{iq_error, iq_result, new_id, Event, State};
use crate::jingle::jmi::Jmi;
use crate::jingle::rtp::Info;
use crate::jingle::session::{Call, CallDirection, CallState, Input, Output};
use crate::jingle::{Action, Jingle, Reason};
use crate::xmpp::carbons;

/// A call and what runs for it.
/// Calls ringing at once; more are refused as busy.
const MAX_RINGING: usize = 4;
/// Longest Jingle sid taken (ours are 16 characters).
const MAX_SID: usize = 256;

pub(super) struct ActiveCall {
    call: Call,
    media: Option<Arc<MediaSession>>,
    deadline: Option<Instant>,
    /// Outgoing Jingle IQ ids and their actions, to route their answers.
    iq_ids: Vec<(String, crate::jingle::Action)>,
    /// For the call history: when it began (ms since the epoch) and became active.
    started_ms: i64,
    active_at: Option<std::time::Instant>,
    /// Our offer waits, until then at the most, for the peer device's features that
    /// are on their way (whether it bundles decides the offer's shape).
    offer_wait: Option<Instant>,
    offer_waited: bool,
}

/// How long an offer waits for the features of the device that took the call.
const FEATURES_WAIT: Duration = Duration::from_secs(2);

impl State {
    pub(super) fn next_call_timer(&self) -> Option<Instant> {
        self.calls
            .values()
            .flat_map(|c| [c.deadline, c.offer_wait])
            .flatten()
            .min()
    }

    pub(super) async fn on_call_timers(&mut self, out: &mut Vec<Stanza>) {
        for id in self.take_due(|c| &mut c.deadline) {
            self.call_input(&id, Input::Timeout, out).await;
        }
        for id in self.take_due(|c| &mut c.offer_wait) {
            self.run_outputs(&id, vec![Output::CreateOffer], out).await;
        }
    }

    /// The calls whose timer (the one `timer` picks) is due, that timer cleared.
    fn take_due(&mut self, timer: fn(&mut ActiveCall) -> &mut Option<Instant>) -> Vec<String> {
        let now = Instant::now();
        self.calls
            .iter_mut()
            .filter_map(|(id, c)| {
                let t = timer(c);
                t.is_some_and(|d| d <= now).then(|| {
                    *t = None;
                    id.clone()
                })
            })
            .collect()
    }

    /// A device's features arrived: an offer waiting for them goes now.
    pub(super) fn features_arrived(&mut self, jid: &Jid) {
        let now = Instant::now();
        for c in self.calls.values_mut() {
            let theirs = c
                .call
                .peer_full
                .as_ref()
                .is_some_and(|f| jid.to_string() == f.to_string());
            if theirs && c.offer_wait.is_some() {
                c.offer_wait = Some(now);
            }
        }
    }

    /// Whether the features of the call's peer device are asked for and not known yet
    /// (the first call to a client whose caps this account never saw).
    fn features_on_the_way(&self, id: &str) -> bool {
        let Some(full) = self.calls.get(id).and_then(|c| c.call.peer_full.clone()) else {
            return false;
        };
        let full = Jid::from(full);
        !self.features.contains_key(&full.to_string())
            && self.caps_asked.values().any(|(_, js)| js.contains(&full))
    }

    fn own_full(&self) -> Option<xmpp_parsers::jid::FullJid> {
        self.bound.clone()
    }

    /// Whose features we look up: our own devices, whoever may call us, and peers of
    /// our calls. A stranger's presence costs no query and no cache entry.
    pub(super) fn wants_features_of(&self, jid: &Jid) -> bool {
        let bare = jid.to_bare();
        bare == self.own || self.calls.values().any(|c| c.call.peer == bare) || self.may_call(&bare)
    }

    /// Whether `jid` may ring us (see `CallPolicy`).
    fn may_call(&self, jid: &BareJid) -> bool {
        let policy = &self.config.call_policy;
        if policy.allowed.contains(jid) {
            return true;
        }
        if policy.only_allowed {
            return false;
        }
        if policy.anyone {
            return true;
        }
        self.store
            .roster(self.own.as_str())
            .map(|r| {
                r.iter().any(|c| {
                    c.jid == jid.as_str()
                        && matches!(c.subscription.as_str(), "from" | "to" | "both")
                })
            })
            .unwrap_or(false)
    }

    /// A settings change: kept for the next calls, applied live where it can be.
    pub(super) fn apply_settings(&mut self, change: super::SettingsChange) {
        use super::SettingsChange as S;
        let sessions: Vec<Arc<MediaSession>> = self
            .calls
            .values()
            .filter_map(|c| c.media.clone())
            .collect();
        match change {
            S::CallsFromAnyone(a) => self.config.call_policy.anyone = a,
            other => {
                let Some(media) = self.config.media.as_mut() else {
                    return;
                };
                match other {
                    S::AudioIn(spec) => {
                        sessions.iter().for_each(|s| s.set_audio_in(spec.clone()));
                        media.audio_in = spec;
                    }
                    S::AudioOut(spec) => {
                        sessions.iter().for_each(|s| s.set_audio_out(spec.clone()));
                        media.audio_out = spec;
                    }
                    S::Processing(p) => {
                        sessions.iter().for_each(|s| s.set_processing(p));
                        media.processing = p;
                    }
                    S::VideoIn(spec) => {
                        for s in &sessions {
                            if let Err(e) = s.set_video_in(spec.clone()) {
                                let _ = self.events.send(Event::Error {
                                    message: e.to_string(),
                                });
                            }
                        }
                        media.video_in = spec;
                    }
                    S::RelayOnly(r) => media.relay_only = r,
                    S::CallsFromAnyone(_) => {}
                }
            }
        }
    }

    fn insert_call(&mut self, id: String, call: Call) {
        self.calls.insert(
            id,
            ActiveCall {
                call,
                media: None,
                deadline: None,
                iq_ids: Vec::new(),
                started_ms: crate::xmpp::chat::now_ms(),
                active_at: None,
                offer_wait: None,
                offer_waited: false,
            },
        );
    }

    /// Before answering: whether the user answers with the camera on.
    pub(super) fn set_video_wanted(&mut self, id: &str, video: bool) {
        if let Some(c) = self.calls.get_mut(id) {
            c.call.video_on = video;
        }
    }

    pub(super) async fn place_call(
        &mut self,
        id: String,
        to: Jid,
        video: bool,
        out: &mut Vec<Stanza>,
    ) {
        let Some(own) = self.own_full() else {
            self.emit(Event::Error {
                message: "not connected: the call cannot be placed".into(),
            });
            return;
        };
        if self.config.media.is_none() {
            self.emit(Event::Error {
                message: "calls are not set up on this client".into(),
            });
            return;
        }
        self.request_ice_servers(out);
        let (call, outputs) = Call::place(
            id.clone(),
            to,
            own,
            if video {
                vec![MediaKind::Audio, MediaKind::Video]
            } else {
                vec![MediaKind::Audio]
            },
            self.config.ring_timeout,
        );
        self.insert_call(id.clone(), call);
        self.run_outputs(&id, outputs, out).await;
    }

    /// Feeds an input to a call and carries out the result (which may feed more).
    pub(super) async fn call_input(&mut self, id: &str, input: Input, out: &mut Vec<Stanza>) {
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        let outputs = c.call.handle(input);
        self.run_outputs(id, outputs, out).await;
    }

    async fn run_outputs(&mut self, id: &str, outputs: Vec<Output>, out: &mut Vec<Stanza>) {
        let mut queue = std::collections::VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            let wait_for_features = matches!(o, Output::CreateOffer)
                && self.calls.get(id).is_some_and(|c| !c.offer_waited)
                && self.features_on_the_way(id);
            let Some(entry) = self.calls.get_mut(id) else {
                return;
            };
            let more: Vec<Output> = match o {
                Output::Message(m) => {
                    out.push(m.into());
                    vec![]
                }
                Output::Jingle { to, jingle } => {
                    let iq_id = new_id();
                    entry.iq_ids.push((iq_id.clone(), jingle.action));
                    out.push(
                        Iq::Set {
                            from: None,
                            to: Some(Jid::from(to)),
                            id: iq_id,
                            payload: jingle.to_element(),
                        }
                        .into(),
                    );
                    vec![]
                }
                Output::CreateOffer if wait_for_features => {
                    tracing::debug!(call = id, "the offer waits for the peer's features");
                    entry.offer_waited = true;
                    entry.offer_wait = Some(Instant::now() + FEATURES_WAIT);
                    vec![]
                }
                Output::CreateOffer => match self.media_session(id).await {
                    Ok(session) => match session.create_offer().await {
                        Ok(offer) => self.feed(id, Input::LocalDescription(offer)),
                        Err(e) => self.feed(id, media_failure(&e)),
                    },
                    Err(e) => self.feed(id, media_failure(&e)),
                },
                Output::AcceptOffer(offer) => match self.media_session(id).await {
                    Ok(session) => match session.accept_offer(&offer).await {
                        Ok(answer) => self.feed(id, Input::LocalDescription(answer)),
                        Err(e) => self.feed(id, media_failure(&e)),
                    },
                    Err(e) => self.feed(id, media_failure(&e)),
                },
                Output::AcceptAnswer(answer) => {
                    let session = entry.media.clone();
                    match session {
                        Some(s) => match s.accept_answer(&answer).await {
                            Ok(()) => vec![],
                            Err(e) => self.feed(id, media_failure(&e)),
                        },
                        None => vec![],
                    }
                }
                Output::RemoteCandidates(cands) => {
                    if let Some(s) = entry.media.clone() {
                        for c in cands {
                            s.add_remote_candidate(c).await;
                        }
                    }
                    vec![]
                }
                Output::RemoteVideoCandidates(cands) => {
                    if let Some(s) = entry.media.clone() {
                        for c in cands {
                            s.add_remote_video_candidate(c).await;
                        }
                    }
                    vec![]
                }
                Output::SetVideoDirection(d) => {
                    if let Some(s) = entry.media.clone() {
                        if let Err(e) = s.set_video_direction(d).await {
                            self.emit(Event::Error {
                                message: format!("the video could not change direction: {e}"),
                            });
                        }
                    }
                    vec![]
                }
                Output::SetMuted(m) => {
                    if let Some(s) = &entry.media {
                        s.set_muted(m);
                    }
                    vec![]
                }
                Output::SetHeld(h) => {
                    if let Some(s) = &entry.media {
                        s.set_held(h);
                    }
                    vec![]
                }
                Output::PeerInfo(info) => {
                    let camera = |n: &Option<String>| {
                        n.as_deref().is_some_and(|n| entry.call.is_video_content(n))
                    };
                    use super::CallInfo as I;
                    let info = match info {
                        Info::Mute(n) if camera(&n) => I::CameraOff,
                        Info::Unmute(n) if camera(&n) => I::CameraOn,
                        Info::Mute(_) => I::Mute,
                        Info::Unmute(_) => I::Unmute,
                        Info::Hold => I::Hold,
                        Info::Unhold => I::Unhold,
                        Info::Active => I::Active,
                        Info::Ringing => I::Ringing,
                    };
                    self.emit(Event::CallInfo {
                        id: id.to_string(),
                        info,
                    });
                    vec![]
                }
                Output::AddVideo => {
                    let Some(s) = entry.media.clone() else {
                        continue;
                    };
                    match s.add_video().await {
                        Ok(offer) => self.feed(id, Input::LocalReoffer(offer)),
                        Err(e) => {
                            if let Some(c) = self.calls.get_mut(id) {
                                c.call.video_on = false;
                            }
                            self.emit(Event::Error {
                                message: format!("{e}: the call goes on without video"),
                            });
                            vec![]
                        }
                    }
                }
                Output::AcceptContentAdd { offer, send_video } => {
                    let Some(s) = entry.media.clone() else {
                        continue;
                    };
                    match s.accept_offer(&offer).await {
                        Ok(answer) => {
                            if send_video {
                                if let Err(e) = s.set_camera(true) {
                                    self.emit(Event::Error {
                                        message: e.to_string(),
                                    });
                                }
                            }
                            self.feed(id, Input::ContentAnswer(answer))
                        }
                        Err(e) => {
                            tracing::info!(error = %e, "the peer's video could not be added");
                            self.emit(Event::Error {
                                message: format!("the peer's video could not be added: {e}"),
                            });
                            self.feed(id, Input::ContentAddFailed)
                        }
                    }
                }
                Output::SetCamera(on) => {
                    if let Some(Err(e)) = entry.media.as_ref().map(|s| s.set_camera(on)) {
                        self.emit(Event::Error {
                            message: e.to_string(),
                        });
                    }
                    vec![]
                }
                Output::VideoRemoved => {
                    if let Some(s) = entry.media.clone() {
                        s.remove_video().await;
                    }
                    vec![]
                }
                Output::VideoWithdrawn => {
                    if let Some(s) = entry.media.clone() {
                        s.cancel_video_offer().await;
                    }
                    vec![]
                }
                Output::VideoRefused => {
                    if let Some(s) = entry.media.clone() {
                        s.cancel_video_offer().await;
                    }
                    self.emit(Event::CallInfo {
                        id: id.to_string(),
                        info: super::CallInfo::VideoDeclined,
                    });
                    vec![]
                }
                Output::MediaChanged => {
                    let state = entry.call.state;
                    self.emit_call(id, state);
                    vec![]
                }
                Output::CloseMedia => {
                    if let Some(s) = entry.media.take() {
                        // Closing waits for the engine to flush; do not hold up the client.
                        self.closing_media(s);
                    }
                    vec![]
                }
                Output::SetTimer(d) => {
                    entry.deadline = (d > Duration::ZERO).then(|| Instant::now() + d);
                    vec![]
                }
                Output::State(s) => {
                    if s == CallState::Active && entry.active_at.is_none() {
                        entry.active_at = Some(std::time::Instant::now());
                    }
                    let c = &entry.call;
                    let reason = match s {
                        CallState::Ended(r) => Some(r.as_str().to_string()),
                        _ => None,
                    };
                    if let Some(reason) = &reason {
                        let record = crate::store::CallRecord {
                            id: c.id.clone(),
                            peer: c.peer.to_string(),
                            direction: match c.direction {
                                CallDirection::Out => crate::store::Direction::Out,
                                CallDirection::In => crate::store::Direction::In,
                            },
                            started_ms: entry.started_ms,
                            duration_s: entry.active_at.map(|t| t.elapsed().as_secs() as i64),
                            reason: reason.clone(),
                        };
                        if let Err(e) = self.store.insert_call(self.own.as_str(), &record) {
                            tracing::warn!(error = %e, "call history not saved");
                        }
                    }
                    self.emit_call(id, s);
                    vec![]
                }
            };
            // Results of media work feed the machine again, ahead of older outputs.
            for o in more.into_iter().rev() {
                queue.push_front(o);
            }
        }
        if self.calls.get(id).is_some_and(|c| c.call.is_ended()) {
            if let Some(c) = self.calls.remove(id) {
                if let Some(s) = c.media {
                    self.closing_media(s);
                }
            }
        }
    }

    /// Closes a call's media off the account task (it waits for the engines to flush);
    /// a clean stop of the client waits for these (`Command::Disconnect`).
    fn closing_media(&mut self, s: Arc<MediaSession>) {
        self.closing.retain(|h| !h.is_finished());
        self.closing
            .push(tokio::spawn(async move { s.close().await }));
    }

    /// A `call` event with the call's current media and the given state.
    fn emit_call(&mut self, id: &str, s: CallState) {
        let Some(c) = self.calls.get(id).map(|e| &e.call) else {
            return;
        };
        let ev = Event::Call {
            id: c.id.clone(),
            peer: c.peer.to_string(),
            direction: c.direction,
            media: c
                .media
                .iter()
                .map(|m| match m {
                    MediaKind::Video => super::Media::Video,
                    _ => super::Media::Audio,
                })
                .collect(),
            state: s.into(),
            reason: match s {
                CallState::Ended(r) => Some(r),
                _ => None,
            },
        };
        self.emit(ev);
    }

    /// Feeds the machine synchronously and returns its outputs (for `run_outputs`).
    fn feed(&mut self, id: &str, input: Input) -> Vec<Output> {
        match self.calls.get_mut(id) {
            Some(c) => c.call.handle(input),
            None => vec![],
        }
    }

    /// Whether the call's peer device can take audio and video over one transport
    /// (BUNDLE, XEP-0338). Dino cannot (one transport per content): its video gets a
    /// connection of its own. Devices whose features are not known yet are taken to
    /// bundle, as every libwebrtc-based client does.
    fn peer_bundles(&self, id: &str) -> bool {
        let Some(c) = self.calls.get(id) else {
            return true;
        };
        let features = c
            .call
            .peer_full
            .as_ref()
            .and_then(|f| self.features.get(&f.to_string()));
        let bundles = features.is_none_or(|f| f.iter().any(|x| x == crate::jingle::grouping::NS));
        tracing::debug!(peer = ?c.call.peer_full, known = features.is_some(), bundles, "bundle check");
        bundles
    }

    /// The call's media session, created on first use (after the user accepted, so
    /// nothing is gathered for a call that is declined).
    async fn media_session(&mut self, id: &str) -> Result<Arc<MediaSession>, MediaError> {
        if let Some(s) = self.calls.get(id).and_then(|c| c.media.clone()) {
            return Ok(s);
        }
        let mut cfg = self
            .config
            .media
            .clone()
            .ok_or_else(|| MediaError::Transport("calls are not set up".into()))?;
        cfg.ice_servers.extend(self.ice_servers.iter().cloned());
        cfg.send_video = self.calls.get(id).is_some_and(|c| c.call.video_on);
        cfg.bundle = self.peer_bundles(id);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let session = Arc::new(MediaSession::new(cfg, tx).await?);
        let forward = self.media_tx.clone();
        let sid = id.to_string();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if forward.send((sid.clone(), ev)).is_err() {
                    return;
                }
            }
        });
        if let Some(c) = self.calls.get_mut(id) {
            c.media = Some(session.clone());
        }
        Ok(session)
    }

    pub(super) async fn on_media_event(
        &mut self,
        id: String,
        ev: MediaEvent,
        out: &mut Vec<Stanza>,
    ) {
        let input = match ev {
            MediaEvent::LocalCandidate(c) => Input::LocalCandidate(c),
            MediaEvent::VideoCandidate(c) => Input::LocalVideoCandidate(c),
            MediaEvent::Connected { .. } => Input::MediaConnected,
            MediaEvent::Failed(e) => media_failure(&e),
            MediaEvent::Stats(stats) => {
                self.emit(Event::CallStats { id, stats });
                return;
            }
            MediaEvent::DeviceError(message) => {
                self.emit(Event::Error { message });
                return;
            }
            MediaEvent::AudioReceived => {
                self.emit(Event::CallAudio { id });
                return;
            }
            MediaEvent::VideoReceived { width, height } => {
                self.emit(Event::CallVideo { id, width, height });
                return;
            }
        };
        self.call_input(&id, input, out).await;
    }

    /// Ends calls with a device that just went offline (the peer crashed or lost its
    /// connection): its server told us, no need to wait for ICE to fail.
    pub(super) async fn peer_went_offline(&mut self, from: &Jid, out: &mut Vec<Stanza>) {
        let Ok(full) = from.clone().try_into_full() else {
            return;
        };
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| c.call.peer_full.as_ref() == Some(&full))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.call_input(&id, Input::PeerGone, out).await;
        }
    }

    pub(super) async fn hangup_all(&mut self, out: &mut Vec<Stanza>) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.call_input(&id, Input::Hangup, out).await;
        }
    }
}

fn media_failure(e: &MediaError) -> Input {
    tracing::info!(error = %e, "media failed");
    Input::MediaFailed(match e {
        MediaError::FingerprintMismatch => Reason::SecurityError,
        MediaError::Description(_) | MediaError::Internal(_) => Reason::FailedApplication,
        _ => Reason::ConnectivityError,
    })
}

mod inbound;
