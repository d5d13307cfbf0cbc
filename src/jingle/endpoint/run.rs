//! A call's outputs carried out: stanzas sent (Jingle IQ ids drawn here), media work
//! handed out, timers set from `now`, states and the call's end reported.

use super::*;

impl Endpoint {
    /// Carries out a call's outputs; media work is handed out, its results come back
    /// through `handle_media`.
    pub(super) fn run(
        &mut self,
        id: &str,
        outputs: Vec<Output>,
        now: Instant,
        dir: &dyn Directory,
    ) {
        for o in outputs {
            self.run_one(id, o, now, dir);
        }
        if self.calls.get(id).is_some_and(|c| c.call.is_ended()) {
            // What was held never goes: the peer never had the session, and hears
            // of the end by JMI (`finish`).
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
            Output::Message(m) => {
                if let Some(jmi) = Jmi::from_message(&m) {
                    self.signal(id, true, super::log::jmi_line(&jmi));
                }
                return self.send(m.into());
            }
            Output::Jingle { to, jingle } => {
                self.signal(id, true, super::log::jingle_line(&jingle));
                let iq_id = self.new_id();
                let action = jingle.action;
                let s = jingle_set(Jid::from(to), iq_id.clone(), &jingle);
                let Some(e) = self.calls.get_mut(id) else {
                    return;
                };
                e.iq_ids.push((iq_id, action));
                if e.hold_until.is_none()
                    && action == Action::SessionInitiate
                    && dir.keys_pending(id)
                {
                    tracing::info!(call = id, "session-initiate held for the keys that seal it");
                    e.hold_until = Some(now + KEYS_WAIT);
                }
                if e.hold_until.is_some() {
                    e.held.push(s);
                    return;
                }
                return self.send(s);
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
                    red: peer.as_ref().is_some_and(|p| dir.takes_red(p)),
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
            Output::RestartIce => MediaCommand::RestartIce,
            Output::PeerRestarted { peer, offer } => MediaCommand::PeerRestarted { peer, offer },
            Output::Path { lost } => {
                let info = if lost {
                    CallInfo::Reconnecting
                } else {
                    CallInfo::Reconnected
                };
                self.out.push_back(Event::Info {
                    call: id.to_string(),
                    info,
                });
                return;
            }
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
                    e.deadline = Some(now + d);
                }
                return;
            }
            Output::CancelTimer => {
                if let Some(e) = self.calls.get_mut(id) {
                    e.deadline = None;
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

    pub(super) fn signal(&mut self, id: &str, outgoing: bool, line: String) {
        self.out.push_back(Event::Signal {
            call: id.to_string(),
            outgoing,
            line,
        });
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

pub(super) fn jingle_set(to: Jid, id: String, jingle: &Jingle) -> Stanza {
    Iq::Set {
        from: None,
        to: Some(to),
        id,
        payload: jingle.to_element(),
    }
    .into()
}

pub(super) fn iq_result(to: Option<Jid>, id: String) -> Stanza {
    Iq::Result {
        from: None,
        to,
        id,
        payload: None,
    }
    .into()
}

pub(super) fn iq_error(to: Option<Jid>, id: String, cond: DefinedCondition) -> Stanza {
    Iq::Error {
        from: None,
        to,
        id,
        error: StanzaError::new(ErrorType::Cancel, cond, "en", ""),
        payload: None,
    }
    .into()
}
