//! Calls inside the client: the I/O side of `jingle::endpoint`, which decides everything.
//! Stanzas it asks for are sent, media work goes to each call's media worker
//! (`calls/media.rs`, a task of its own, so chat and other calls never wait for a
//! camera or a peer connection), whose results come back as endpoint inputs; states
//! become `Event::Call` and ended calls rows of the call history.

use std::collections::HashMap;
use std::time::Instant;

use minidom::Element;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::Message;
use xmpp_parsers::stanza::Stanza;

use banter_media::description::MediaKind;
use banter_media::video::screen::ScreenSpec;
use banter_media::MediaEvent;

use super::{CallPolicy, Event, State};

/// A call whose video is a shared screen: whether the camera was on before, and the
/// share's number (each share in the process has its own; 0 is the screen a call
/// started with).
pub(super) struct Sharing {
    pub camera_back: bool,
    pub share: u64,
}

impl Sharing {
    /// Whether the end of share `share` ends the call's sharing now (`current`): not
    /// when another share replaced it meanwhile. A screen shared from the call's start
    /// (share 0) has no entry.
    pub(super) fn ended_now(current: Option<&Sharing>, share: u64) -> bool {
        current.map_or(0, |s| s.share) == share
    }
}

/// The next share's number.
static SHARES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
use crate::jingle::endpoint::{self, Directory, Endpoint, IqAnswer, MediaCommand, MediaResult};
use crate::jingle::session::{CallState, Input};
use crate::store::Store;

mod media;
pub(super) use media::{FromMedia, Workers};

/// What the endpoint asks of the rest of the client, read from its state.
struct Dir<'a> {
    policy: &'a CallPolicy,
    store: &'a Store,
    own: &'a BareJid,
    features: &'a HashMap<String, Vec<String>>,
    caps_asked: &'a HashMap<String, (Instant, Vec<Jid>)>,
    omemo: &'a super::omemo::OmemoClient,
}

impl Directory for Dir<'_> {
    fn may_call(&self, jid: &BareJid) -> bool {
        let policy = self.policy;
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

    fn bundles(&self, device: &FullJid) -> Option<bool> {
        let features = self.features.get(&device.to_string())?;
        Some(features.iter().any(|x| x == crate::jingle::grouping::NS))
    }

    fn takes_red(&self, device: &FullJid) -> bool {
        self.features
            .get(&device.to_string())
            .is_some_and(|f| f.iter().any(|x| x == crate::xmpp::caps::RED))
    }

    fn features_pending(&self, device: &FullJid) -> bool {
        let device = Jid::from(device.clone());
        self.caps_asked.values().any(|(_, js)| js.contains(&device))
    }

    fn keys_pending(&self, call: &str) -> bool {
        self.omemo.keys_pending(call)
    }
}

impl State {
    /// Runs `f` on the endpoint with the world as it is now, then carries out what it
    /// asked for.
    fn with_calls(
        &mut self,
        out: &mut Vec<Stanza>,
        f: impl FnOnce(&mut Endpoint, &dyn Directory, Instant),
    ) {
        let dir = Dir {
            policy: &self.config.call_policy,
            store: &self.store,
            own: &self.own,
            features: &self.features,
            caps_asked: &self.caps_asked,
            omemo: &self.omemo,
        };
        f(&mut self.endpoint, &dir, Instant::now());
        self.drain_calls(out);
    }

    /// Keys a call's fingerprints waited for came (or will not): held calls go.
    pub(super) fn calls_keys_arrived(&mut self, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, _| ep.keys_arrived(dir));
    }

    fn drain_calls(&mut self, out: &mut Vec<Stanza>) {
        while let Some(ev) = self.endpoint.poll() {
            match ev {
                endpoint::Event::Send(s) => {
                    self.omemo_call_prepare(&s, out);
                    let s = self.omemo_call_out(s);
                    out.push(s)
                }
                endpoint::Event::Media { call, command } => self.media_work(&call, command),
                endpoint::Event::State {
                    call,
                    peer,
                    direction,
                    media,
                    state,
                } => {
                    if state == CallState::Active {
                        self.ask_peer_client(&call, out);
                    }
                    if matches!(state, CallState::Ended(_)) {
                        self.omemo_call_ended(&call);
                        // Sharing ends with the call (its engine, and the capture, are gone).
                        self.sharing.remove(&call);
                        if let Some(ask) = self.screen_asks.remove(&call) {
                            ask.abort();
                        }
                    }
                    self.emit(Event::Call {
                        id: call,
                        peer: peer.to_string(),
                        direction,
                        media: media
                            .iter()
                            .map(|m| match m {
                                MediaKind::Video => super::Media::Video,
                                _ => super::Media::Audio,
                            })
                            .collect(),
                        state: state.into(),
                        reason: match state {
                            CallState::Ended(r) => Some(r),
                            _ => None,
                        },
                    })
                }
                endpoint::Event::Info { call, info } => {
                    // Our video refused while it is the screen: sharing is over.
                    if info == endpoint::CallInfo::VideoDeclined && self.sharing.contains_key(&call)
                    {
                        let why = "the peer did not take the video".to_string();
                        self.share_screen(&call, None, Some(why), out);
                    }
                    self.emit(Event::CallInfo { id: call, info })
                }
                endpoint::Event::Signal {
                    call,
                    outgoing,
                    line,
                } => self.emit(Event::CallSignal {
                    id: call,
                    outgoing,
                    line,
                }),
                endpoint::Event::Ended(e) => self.record_call(e),
            }
        }
    }

    /// Starts or stops sharing a screen in an active call (`stopped`: why it stopped by
    /// itself). A screen is made ready first (`on_screen_ready` goes on), so one that
    /// cannot be read changes nothing and says why; stopping turns the video back to
    /// what the camera was.
    pub(super) fn share_screen(
        &mut self,
        id: &str,
        screen: Option<ScreenSpec>,
        stopped: Option<String>,
        out: &mut Vec<Stanza>,
    ) {
        let refuse = |me: &mut Self, reason: String| {
            me.emit(Event::ScreenShare {
                id: id.to_string(),
                sharing: me.sharing.contains_key(id),
                reason: Some(reason),
            })
        };
        if self.endpoint.state(id) != Some(CallState::Active) {
            return refuse(
                self,
                "the screen can be shared once the call is connected".into(),
            );
        }
        match screen {
            // Made ready off the account task: on Wayland the desktop's dialog picks
            // (it can stay open for minutes); on X11 the source is tried once.
            Some(spec) => {
                if self.screen_asks.contains_key(id) {
                    return; // the last request is still being made ready
                }
                let (tx, call) = (self.media_tx.clone(), id.to_string());
                let task = tokio::spawn(async move {
                    let ready = banter_media::video::screen::prepare(spec).await;
                    let _ = tx.send((call, FromMedia::ScreenReady(ready)));
                });
                self.screen_asks.insert(id.to_string(), task.abort_handle());
                return; // said when it is ready
            }
            None => {
                // Stopped before a new screen was ready: that one is let go (a portal's
                // dialog closes with it).
                if let Some(ask) = self.screen_asks.remove(id) {
                    ask.abort();
                }
                // A screen shared from the start (`--video-in screen`) has no camera
                // to go back to; with nothing shared, a late word from the engine
                // about a share already stopped changes nothing.
                let from_start = self
                    .config
                    .media
                    .as_ref()
                    .is_some_and(|m| m.video_in.is_screen());
                let camera_back = match self.sharing.remove(id) {
                    Some(s) => s.camera_back,
                    None if from_start => false,
                    None => return,
                };
                self.media_work(
                    id,
                    MediaCommand::ShareScreen {
                        screen: None,
                        camera_back,
                        share: 0,
                    },
                );
                self.call_input(id, Input::Camera(camera_back), out);
            }
        }
        self.emit(Event::ScreenShare {
            id: id.to_string(),
            sharing: self.sharing.contains_key(id),
            reason: stopped,
        });
    }

    /// A screen to share is ready (or cannot be): shared if the call still goes on
    /// (else dropped, which ends a portal's session). The media switches and the call
    /// machine turns the video on (a content-add in an audio call).
    fn on_screen_ready(
        &mut self,
        id: &str,
        ready: Result<ScreenSpec, banter_media::MediaError>,
        out: &mut Vec<Stanza>,
    ) {
        if self.screen_asks.remove(id).is_none() {
            return; // stopped, or the call ended, meanwhile
        }
        let spec = match ready {
            Ok(spec) if self.endpoint.state(id) == Some(CallState::Active) => spec,
            Ok(_) => return,
            Err(e) => {
                return self.emit(Event::ScreenShare {
                    id: id.to_string(),
                    sharing: self.sharing.contains_key(id),
                    reason: Some(screen_reason(&e)),
                })
            }
        };
        let camera_before = self.endpoint.video_on(id).unwrap_or(false);
        let share = SHARES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sharing = self.sharing.entry(id.to_string()).or_insert(Sharing {
            camera_back: camera_before,
            share,
        });
        sharing.share = share;
        let camera_before = sharing.camera_back;
        tracing::info!(call = %id, ?spec, camera_before, share, "sharing the screen");
        self.media_work(
            id,
            MediaCommand::ShareScreen {
                screen: Some(spec),
                camera_back: false,
                share,
            },
        );
        self.call_input(id, Input::Camera(true), out);
        self.emit(Event::ScreenShare {
            id: id.to_string(),
            sharing: true,
            reason: None,
        });
    }

    /// A call's media work goes to its worker, started with the first of it.
    fn media_work(&mut self, id: &str, command: MediaCommand) {
        if !self.workers.has(id) {
            if matches!(command, MediaCommand::Close) {
                return;
            }
            let Some(mut cfg) = self.config.media.clone() else {
                return;
            };
            cfg.ice_servers.extend(self.ice_servers.iter().cloned());
            self.workers.start(id, cfg, self.media_tx.clone());
        }
        self.workers.send(id, command);
    }

    /// An ended call (or one refused as busy) in the history.
    fn record_call(&self, e: endpoint::Ended) {
        let ago = e.started.elapsed().as_millis() as i64;
        let record = crate::store::CallRecord {
            id: e.id,
            peer: e.peer.to_string(),
            direction: match e.direction {
                crate::jingle::session::CallDirection::Out => crate::store::Direction::Out,
                crate::jingle::session::CallDirection::In => crate::store::Direction::In,
            },
            started_ms: crate::xmpp::chat::now_ms() - ago,
            duration_s: e.talked.map(|t| t.as_secs() as i64),
            reason: e.reason.as_str().to_string(),
        };
        if let Err(e) = self.store.insert_call(self.own.as_str(), &record) {
            tracing::warn!(error = %e, "call history not saved");
        }
    }

    pub(super) fn next_call_timer(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    pub(super) fn on_call_timers(&mut self, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, now| ep.handle_timeout(now, dir));
    }

    /// A device's features arrived: an offer waiting for them goes now.
    pub(super) fn features_arrived(&mut self, jid: &Jid, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, now| ep.features_arrived(jid, now, dir));
    }

    /// Whose features we look up: our own devices, whoever may call us, and peers of
    /// our calls. A stranger's presence costs no query and no cache entry.
    pub(super) fn wants_features_of(&self, jid: &Jid) -> bool {
        let bare = jid.to_bare();
        let dir = Dir {
            policy: &self.config.call_policy,
            store: &self.store,
            own: &self.own,
            features: &self.features,
            caps_asked: &self.caps_asked,
            omemo: &self.omemo,
        };
        bare == self.own || self.endpoint.has_call_with(&bare) || dir.may_call(&bare)
    }

    /// A settings change: kept for the next calls, applied live where it can be.
    pub(super) fn apply_settings(&mut self, change: super::SettingsChange) {
        use super::SettingsChange as S;
        if let S::CallsFromAnyone(a) = change {
            self.config.call_policy.anyone = a;
            return;
        }
        let Some(media) = self.config.media.as_mut() else {
            return;
        };
        match &change {
            S::AudioIn(spec) => media.audio_in = spec.clone(),
            S::AudioOut(spec) => media.audio_out = spec.clone(),
            S::Processing(p) => media.processing = *p,
            S::VideoIn(spec) => media.video_in = spec.clone(),
            S::RelayOnly(r) => media.relay_only = *r,
            S::CallsFromAnyone(_) => {}
        }
        self.workers.settings(&change);
    }

    pub(super) fn place_call(&mut self, id: String, to: Jid, video: bool, out: &mut Vec<Stanza>) {
        self.request_ice_servers(super::IqPurpose::ExtDisco, out);
        let mut refused = None;
        self.with_calls(out, |ep, dir, now| {
            refused = ep.place(id, to, video, now, dir).err();
        });
        if let Some(e) = refused {
            self.emit(Event::Error {
                message: e.to_string(),
            });
        }
    }

    /// Before answering: whether the user answers with the camera on.
    pub(super) fn set_video_wanted(&mut self, id: &str, video: bool) {
        self.endpoint.set_video_wanted(id, video);
    }

    /// A user action on a call.
    pub(super) fn call_input(&mut self, id: &str, input: Input, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, now| ep.input(id, input, now, dir));
    }

    /// An answer to one of our Jingle requests (returns false when it is not one).
    pub(super) fn on_call_iq_answer(
        &mut self,
        id: &str,
        from: Option<&Jid>,
        answer: IqAnswer,
        out: &mut Vec<Stanza>,
    ) -> bool {
        let mut ours = false;
        self.with_calls(out, |ep, dir, now| {
            ours = ep.handle_iq_answer(id, from, answer, now, dir);
        });
        ours
    }

    pub(super) fn is_jmi(&self, m: &Message) -> bool {
        self.endpoint.is_jmi(m)
    }

    pub(super) fn on_jmi_message(&mut self, m: Message, out: &mut Vec<Stanza>) {
        // A blocked JID's call to another device of ours, copied here: no ringing.
        if let Some((_, inner, _)) = crate::xmpp::carbons::unwrap(&m, &self.own) {
            if self.is_blocked(inner.from.as_ref()) {
                return;
            }
        }
        self.omemo_call_jmi(&m, out);
        self.with_calls(out, |ep, dir, now| ep.handle_jmi(&m, now, dir));
    }

    pub(super) fn on_jingle_iq(
        &mut self,
        from: Option<Jid>,
        iq_id: String,
        payload: Element,
        out: &mut Vec<Stanza>,
    ) {
        let mut payload = payload;
        let check = match &from {
            Some(f) => self.omemo_call_in(f, &mut payload, out),
            None => Ok(()),
        };
        if let Err(why) = &check {
            // Before the call's end, which ends a `banter call`.
            self.emit(Event::Error {
                message: format!(
                    "a call was ended because {why}: someone may be interfering with it"
                ),
            });
        }
        self.with_calls(out, |ep, dir, now| {
            if let (Err(why), Some(f)) = (&check, &from) {
                let sid = payload.attr("sid").unwrap_or_default();
                tracing::warn!(%f, %sid, "the call is not safe: {why}");
                if ep.jingle_insecure(f, iq_id.clone(), sid, now, dir) {
                    return;
                }
            }
            ep.handle_jingle(from, iq_id, &payload, now, dir)
        });
    }

    pub(super) fn on_media(&mut self, id: String, ev: FromMedia, out: &mut Vec<Stanza>) {
        let result = match ev {
            FromMedia::Done(r) => r,
            FromMedia::Error(message) => return self.emit(Event::Error { message }),
            FromMedia::ScreenReady(ready) => return self.on_screen_ready(&id, ready, out),
            FromMedia::Engine(ev) => match ev {
                MediaEvent::LocalCandidate(c) => MediaResult::Candidate(c),
                MediaEvent::VideoCandidate(c) => MediaResult::VideoCandidate(c),
                MediaEvent::Connected { .. } => MediaResult::Connected,
                MediaEvent::PathLost => MediaResult::PathLost,
                MediaEvent::Failed(e) => MediaResult::Failed(media::failure_reason(&e)),
                MediaEvent::Stats(stats) => return self.emit(Event::CallStats { id, stats }),
                MediaEvent::DeviceError(message) | MediaEvent::Warning(message) => {
                    return self.emit(Event::Error { message })
                }
                // The window's device picker already shows the choice.
                MediaEvent::AudioDeviceSwitched(_) => return,
                MediaEvent::AudioReceived => return self.emit(Event::CallAudio { id }),
                MediaEvent::VideoReceived {
                    width,
                    height,
                    codec,
                } => {
                    let codec = codec.name();
                    return self.emit(Event::CallVideo {
                        id,
                        width,
                        height,
                        codec,
                    });
                }
                MediaEvent::ScreenShareEnded { error, share } => {
                    if !Sharing::ended_now(self.sharing.get(&id), share) {
                        // About a share replaced since (another window picked).
                        tracing::debug!(call = %id, share, %error, "an earlier share ended");
                        return;
                    }
                    return self.share_screen(&id, None, Some(screen_reason(&error)), out);
                }
            },
        };
        self.with_calls(out, |ep, dir, now| ep.handle_media(&id, result, now, dir));
    }

    /// Ends calls with a device that just went offline (the peer crashed or lost its
    /// connection): its server told us, no need to wait for ICE to fail.
    pub(super) fn peer_went_offline(&mut self, from: &Jid, out: &mut Vec<Stanza>) {
        let Ok(full) = from.clone().try_into_full() else {
            return;
        };
        self.with_calls(out, |ep, dir, now| ep.peer_offline(&full, now, dir));
    }

    /// A device is online: calls with it say again what did not reach it meanwhile.
    pub(super) fn peer_came_online(&mut self, from: &Jid, out: &mut Vec<Stanza>) {
        let Ok(full) = from.clone().try_into_full() else {
            return;
        };
        self.with_calls(out, |ep, dir, now| ep.peer_online(&full, now, dir));
    }

    /// Hangs up every call; their media workers are then closing (`Workers::closing`).
    /// Our stream went down or came back (see `Endpoint::signaling`).
    /// Our stream went down or came back (`renewed`: as a new session).
    pub(super) fn calls_signaling(&mut self, up: bool, renewed: bool, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, now| ep.signaling(up, renewed, now, dir));
    }

    /// The client the peer of an active call runs, for its report: the caps node its
    /// presence named, if we kept it, and its answer to a version query (XEP-0092).
    fn ask_peer_client(&mut self, call: &str, out: &mut Vec<Stanza>) {
        let Some(device) = self.endpoint.peer_device(call).cloned() else {
            return;
        };
        if let Some(node) = self.clients.get(device.as_str()) {
            self.emit(Event::CallPeer {
                id: call.to_string(),
                client: node.clone(),
            });
        }
        self.iq(
            super::IqPurpose::PeerVersion {
                call: call.to_string(),
            },
            |id| crate::xmpp::version::query(id, Jid::from(device)),
            out,
        );
    }

    /// The addresses calls bind and the default routes (nothing without media).
    pub(super) fn call_paths(&self) -> (Vec<std::net::IpAddr>, Vec<String>) {
        match &self.config.media {
            Some(m) => (
                banter_media::session::host_addresses(&m.allow),
                banter_media::netwatch::default_routes(),
            ),
            None => Default::default(),
        }
    }

    /// The machine's addresses or routes changed (netwatch): a connection whose address
    /// went away is cut so it reconnects now (the XMPP stream, which resumes), and
    /// calls restart ICE when the addresses they bind or the default route changed.
    pub(super) fn on_addresses_changed(&mut self, out: &mut Vec<Stanza>) {
        let all = banter_media::netwatch::local_addresses();
        if let Some(ip) = self.xmpp_socket.local_ip() {
            if !all.contains(&ip) {
                tracing::info!(%ip, "the XMPP connection's address is gone: reconnecting");
                self.xmpp_socket.cut();
            }
        }
        let now = self.call_paths();
        if now != self.call_paths {
            tracing::info!(before = ?self.call_paths, ?now, "this machine's addresses or routes changed");
            self.call_paths = now;
            self.with_calls(out, |ep, dir, now| ep.addresses_changed(now, dir));
        }
    }

    pub(super) fn hangup_all(&mut self, out: &mut Vec<Stanza>) {
        self.with_calls(out, |ep, dir, now| ep.hang_up_all(now, dir));
    }
}

/// Why a screen is not (or no longer) shared, in words: the reason itself, without
/// the "cannot share the screen" its error says (the front end says that part).
fn screen_reason(e: &banter_media::MediaError) -> String {
    match e {
        banter_media::MediaError::Screen(why) => why.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod share_tests {
    use super::Sharing;

    /// A window closed after another was picked says so late: the new share goes on.
    #[test]
    fn only_the_current_shares_end_stops_sharing() {
        let now = Sharing {
            camera_back: true,
            share: 7,
        };
        assert!(Sharing::ended_now(Some(&now), 7));
        assert!(!Sharing::ended_now(Some(&now), 6), "an earlier share");
        assert!(
            Sharing::ended_now(None, 0),
            "the screen the call started with"
        );
        assert!(!Sharing::ended_now(None, 6), "a share already stopped");
    }
}
