//! The account's events applied to what the window shows: contacts, messages,
//! calls (ringing, the call bar, the timeline), the call history.

use super::*;

/// An event as the window's `--json` prints it: the line the command line prints
/// (`cli::print_event`), both from `client::to_json` (a test holds them equal).
pub(super) fn json_line(ev: &Event) -> String {
    client::to_json(ev).to_string()
}

impl App {
    /// An event of the account on screen (`with_account` puts another one there).
    pub(super) fn apply_event(&mut self, ev: Event) {
        if self.json {
            println!("{}", json_line(&ev));
        }
        self.report(&ev);
        match ev {
            Event::Connected { .. } => {
                self.model.connection = Connection::Online;
                self.model.notice = None;
            }
            Event::ConnectionLost => self.model.connection = Connection::Connecting,
            Event::ConnectionError { message, .. } => {
                self.model.join_form.listing = false;
                self.model.notice = Some(message);
                self.model.notice_call = None;
            }
            Event::Error { message } => {
                // A directory asked for and refused is said here: no longer waited for.
                self.model.join_form.listing = false;
                // Said during a call ("no camera found"): about that call.
                self.model.notice_call = self
                    .model
                    .call
                    .as_ref()
                    .map(|c| (c.id.clone(), message.clone()));
                self.model.notice = Some(message);
            }
            Event::Roster { contacts } => {
                for c in contacts {
                    let row = self.contact_mut(&c.jid);
                    row.name = c.name;
                    row.in_roster = true;
                }
                self.model
                    .contacts
                    .sort_by(|a, b| a.display_name().cmp(b.display_name()));
            }
            Event::ContactChanged { contact } => {
                let row = self.contact_mut(&contact.jid);
                row.name = contact.name;
                row.in_roster = true;
            }
            Event::ContactRemoved { jid } => self.model.contacts.retain(|c| c.jid != jid),
            Event::Presence { from, show, status } => {
                let bare = from.split('/').next().unwrap_or(&from);
                self.model.set_presence(bare, availability(show), status);
            }
            Event::Features { jid, features } => {
                let bare = jid.split('/').next().unwrap_or(&jid).to_string();
                if self.model.contacts.iter().any(|c| c.jid == bare) {
                    let c = self.contact_mut(&bare);
                    c.can_audio = features
                        .iter()
                        .any(|f| f == "urn:xmpp:jingle:apps:rtp:audio");
                    // An app without BUNDLE (Dino) gets its video on a transport of
                    // its own: rtp:video is all it takes.
                    c.can_video = features
                        .iter()
                        .any(|f| f == "urn:xmpp:jingle:apps:rtp:video");
                }
            }
            // The local echo contact asks back when added: no question for the user.
            Event::SubscriptionRequest { from }
                if self.local.as_ref().is_some_and(|l| l.echo.as_str() == from) =>
            {
                if let Ok(jid) = BareJid::new(&from) {
                    self.send(Command::AnswerSubscription { jid, accept: true });
                }
            }
            // At most 100 open questions: more (from many JIDs) wait until some are answered.
            Event::SubscriptionRequest { from }
                if !self.model.subscription_requests.contains(&from)
                    && self.model.subscription_requests.len() < 100 =>
            {
                self.model.subscription_requests.push(from);
            }
            Event::Message { message } => {
                let outgoing = message.direction == banter::client::Direction::Out;
                let extra = self.extras_of(&message, &[]);
                let file = extra
                    .file
                    .is_some()
                    .then(|| (message.peer.clone(), message.id.clone()));
                self.model.receive_message(
                    &message.peer,
                    TimelineItem::Message {
                        id: message.id,
                        seq: message.seq,
                        outgoing,
                        body: message.body,
                        ts_ms: message.ts_ms,
                        delivery: if outgoing {
                            Delivery::Sending
                        } else {
                            Delivery::Received
                        },
                        extra,
                    },
                );
                if let Some((peer, id)) = file {
                    self.file_shown(&peer, &id, outgoing);
                }
            }
            Event::MessageCorrected { message } => self.on_corrected(message),
            Event::MessageRetracted { peer, id, .. } => self.on_retracted(&peer, &id),
            Event::Reactions {
                peer,
                id,
                from,
                reactions,
            } => self.on_reactions(&peer, &id, &from, reactions),
            Event::MessageDisplayed { peer, id } => self.on_displayed(&peer, &id),
            Event::Avatar { jid, path } => self.on_avatar(&jid, path.as_deref()),
            Event::Blocklist { jids } => {
                // A blocked JID's questions are gone with them.
                self.model
                    .subscription_requests
                    .retain(|r| !jids.contains(r));
                self.model.blocked = jids;
            }
            Event::History { peer, messages } => {
                // Stored history goes before what arrived since; the same message can be
                // in both, once.
                let peer_key = peer.clone();
                let conv = self.model.conversations.entry(peer).or_default();
                // A full page means there may be more before it.
                conv.more_history = messages.len() >= HISTORY_PAGE;
                if let Some(first) = messages.first() {
                    conv.history_cursor =
                        Some(conv.history_cursor.map_or(first.seq, |c| c.min(first.seq)));
                }
                let known: std::collections::HashSet<String> = conv
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        TimelineItem::Message { id, .. } => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                let extras: Vec<_> = messages
                    .iter()
                    .map(|m| self.extras_of(m, &messages))
                    .collect();
                let conv = self
                    .model
                    .conversations
                    .entry(peer_key.clone())
                    .or_default();
                let mut items: Vec<TimelineItem> = messages
                    .into_iter()
                    .zip(extras)
                    .filter(|(m, _)| !known.contains(&m.id))
                    .map(|(m, extra)| {
                        let outgoing = m.direction == banter::client::Direction::Out;
                        TimelineItem::Message {
                            id: m.id,
                            seq: m.seq,
                            outgoing,
                            body: m.body,
                            ts_ms: m.ts_ms,
                            delivery: match m.state {
                                banter::client::MessageState::Pending => Delivery::Sending,
                                banter::client::MessageState::Acked => Delivery::Sent,
                                banter::client::MessageState::Delivered => Delivery::Delivered,
                                banter::client::MessageState::Displayed => Delivery::Read,
                                banter::client::MessageState::Received => Delivery::Received,
                            },
                            extra,
                        }
                    })
                    .collect();
                let files: Vec<(String, bool)> = items
                    .iter()
                    .filter_map(|i| match i {
                        TimelineItem::Message {
                            id,
                            outgoing,
                            extra,
                            ..
                        } if extra.file.is_some() => Some((id.clone(), *outgoing)),
                        _ => None,
                    })
                    .collect();
                items.append(&mut conv.items);
                conv.items = items;
                let peer = peer_key.clone();
                self.merge_calls(&peer);
                for (id, outgoing) in files {
                    self.file_shown(&peer, &id, outgoing);
                }
            }
            Event::Transfer {
                id,
                kind,
                peer,
                name,
                state,
            } => self.on_transfer(id, kind, peer, name, state),
            Event::FileInfo {
                peer,
                id,
                size,
                mime,
            } => self.on_file_info(&peer, &id, size, mime),
            Event::MessageAcked { id } => self.set_delivery(&id, Delivery::Sent),
            Event::MessageDelivered { id } => self.set_delivery(&id, Delivery::Delivered),
            Event::Call {
                id,
                peer,
                direction,
                state,
                media,
                reason,
            } => {
                let video = media.contains(&Media::Video);
                let ended_in = state == CallStatus::Ended && direction == CallDirection::In;
                let call = ended_in.then(|| id.clone());
                self.on_call(id, peer, direction, state, video);
                if let Some(call) = call {
                    self.maybe_missed(&call, reason);
                }
            }
            Event::CallOmemo {
                id,
                verified,
                trust,
                ..
            } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    // A device refused or not decided on is not shown as a safe one.
                    call.omemo_verified = (verified || trust == "blind").then_some(verified);
                }
            }
            Event::ScreenShare {
                id,
                sharing,
                reason,
            } => self.on_screen_share(&id, sharing, reason),
            Event::CallVideo { id, .. } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    call.video = true;
                }
            }
            Event::CallHistory { calls } => {
                self.model.call_log = calls
                    .into_iter()
                    .map(|c| CallLogRow {
                        id: c.id,
                        peer: c.peer,
                        outgoing: c.direction == banter::client::Direction::Out,
                        duration_s: c.duration_s.map(|d| d.max(0) as u64),
                        ts_ms: c.started_ms,
                    })
                    .collect();
                let peers: Vec<String> = self.model.conversations.keys().cloned().collect();
                for p in peers {
                    self.merge_calls(&p);
                }
            }
            Event::ChatState { from, state } => {
                let conv = self.model.conversations.entry(from).or_default();
                conv.peer_typing = state == Typing::Composing;
            }
            Event::CallInfo { id, info } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    match info {
                        CallInfo::Mute => call.peer_muted = true,
                        CallInfo::Unmute => call.peer_muted = false,
                        CallInfo::Hold => call.peer_held = true,
                        CallInfo::Unhold => call.peer_held = false,
                        CallInfo::CameraOff => call.peer_camera_off = true,
                        CallInfo::CameraOn => call.peer_camera_off = false,
                        CallInfo::Reconnecting => call.reconnecting = true,
                        CallInfo::Reconnected => call.reconnecting = false,
                        CallInfo::VideoDeclined => {
                            call.camera_on = false;
                            self.model.notice =
                                Some(banter_ui::t!("call-video-declined", peer = &call.peer));
                        }
                        _ => {}
                    }
                }
            }
            Event::PasswordChanged => {
                let a = &mut self.model.account_settings;
                *a = Default::default();
                a.message = Some(banter_ui::t!("call-password-changed"));
                // A password kept in the keyring follows (D-Bus blocks: off the runtime).
                if let (Some(jid), Some(password)) =
                    (self.model.account.clone(), self.new_password.take())
                {
                    self.runtime.spawn_blocking(move || {
                        if matches!(crate::secrets::load(&jid), Ok(Some(_))) {
                            let _ = crate::secrets::save(&jid, &password);
                        }
                    });
                }
            }
            Event::AccountRefused { message } => {
                let a = &mut self.model.account_settings;
                a.busy = false;
                a.message = Some(message);
                self.new_password = None;
            }
            Event::AccountDeleted => self.account_deleted(),
            Event::OmemoDeviceList {
                jid,
                own_fingerprint,
                devices,
            } => {
                // The list stays open across its refreshes (after a Verify click).
                let open = self
                    .model
                    .omemo
                    .as_ref()
                    .is_some_and(|v| v.jid == jid && v.open);
                self.model.omemo = Some(banter_ui::model::OmemoView {
                    jid,
                    own_fingerprint,
                    devices: devices
                        .into_iter()
                        .map(|d| banter_ui::model::DeviceRow {
                            device_id: d.device_id,
                            fingerprint: d.fingerprint,
                            trust: d.trust,
                            active: d.active,
                        })
                        .collect(),
                    open,
                });
            }
            Event::NetCheck { report } => {
                self.model.net_check = net_check_view(&report);
            }
            Event::CallStats { stats, .. } => {
                if let Some(call) = &mut self.model.call {
                    call.mic_level_dbfs = stats.audio_level_in;
                    // Stats come once a second: seconds of nothing from the microphone.
                    let silent = stats.audio_level_in <= -90.0 && !call.muted && !call.held;
                    call.silent_s = if silent { call.silent_s + 1 } else { 0 };
                    call.quality.push_back(QualitySample {
                        rtt_ms: stats.rtt_ms.unwrap_or(0.0),
                        jitter_ms: stats.jitter_ms,
                        loss_pct: stats.loss_pct,
                        kbps: stats.recv_kbps,
                    });
                    if call.quality.len() > 120 {
                        call.quality.pop_front();
                    }
                    call.video_info = stats.video.as_ref().map(|v| {
                        banter_ui::t!(
                            "call-video-stats",
                            width = v.width,
                            height = v.height,
                            fps = format!("{:.0}", v.fps),
                            kbps = format!("{:.0}", v.recv_kbps),
                        )
                    });
                }
            }
            other => self.apply_room_event(other),
        }
    }

    pub(super) fn set_delivery(&mut self, id: &str, d: Delivery) {
        for conv in self.model.conversations.values_mut() {
            for item in &mut conv.items {
                if let TimelineItem::Message {
                    id: mid, delivery, ..
                } = item
                {
                    if mid == id && !matches!(*delivery, Delivery::Delivered | Delivery::Read) {
                        *delivery = d;
                    }
                }
            }
        }
    }

    /// Accept, Accept with video or Decline from the call's notification: done as
    /// the window's buttons do, without raising the window (the call shows in it);
    /// clicking the notification itself shows the window.
    pub(super) fn on_call_action(&mut self, call: String, action: crate::notify::CallAction) {
        use crate::notify::CallAction;
        let Some(ctx) = self.ctx.clone() else { return };
        // Only while that call still rings here.
        let ringing = self.model.incoming.as_ref().is_some_and(|i| i.id == call);
        let command = match action {
            CallAction::Show => {
                self.raise(&ctx);
                return;
            }
            _ if !ringing => return,
            CallAction::Accept => UiCommand::AcceptCall {
                id: call,
                video: false,
            },
            CallAction::AcceptWithVideo => UiCommand::AcceptCall {
                id: call,
                video: true,
            },
            CallAction::Decline => UiCommand::DeclineCall { id: call },
        };
        self.execute(command, &ctx);
    }

    /// An incoming call that rang here and was not taken (the caller gave up, or it
    /// rang out): a notification that calls back.
    fn maybe_missed(&mut self, id: &str, reason: Option<banter::client::EndReason>) {
        use banter::client::{EndReason, Reason};
        let rang = self.rang.remove(id);
        let missed = matches!(
            reason,
            Some(EndReason::Jingle(
                Reason::Cancel | Reason::Timeout | Reason::Gone
            ))
        );
        let Some(peer) = rang.filter(|_| missed) else {
            return;
        };
        let who = self
            .model
            .contact(&peer)
            .map(|c| c.display_name().to_string())
            .unwrap_or_else(|| peer.clone());
        let (tx, ctx) = (self.events_tx.clone(), self.ctx.clone());
        let account = self.model.account.clone().unwrap_or_default();
        let back = peer.clone();
        crate::notify::missed_call(&who, &peer, move || {
            let _ = tx.send(AppEvent::CallBack {
                account,
                peer: back,
            });
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    pub(super) fn on_call(
        &mut self,
        id: String,
        peer: String,
        direction: CallDirection,
        state: CallStatus,
        video: bool,
    ) {
        let incoming = direction == CallDirection::In;
        // Taken (accepted here): whatever ends it later, it was not missed.
        if incoming && !matches!(state, CallStatus::Ringing | CallStatus::Ended) {
            self.rang.remove(&id);
        }
        match state {
            CallStatus::Ringing if incoming => {
                let who = self
                    .model
                    .contact(&peer)
                    .map(|c| c.display_name().to_string())
                    .unwrap_or_else(|| peer.clone());
                let act = {
                    let (tx, ctx) = (self.events_tx.clone(), self.ctx.clone());
                    let call = id.clone();
                    move |action| {
                        let call = call.clone();
                        let _ = tx.send(AppEvent::CallAction { call, action });
                        if let Some(ctx) = &ctx {
                            ctx.request_repaint();
                        }
                    }
                };
                self.notification = Some(crate::notify::CallNotification::show(
                    &who, &peer, video, act,
                ));
                self.ringer = match Ringer::start(self.media.audio_out.clone()) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::info!(error = %e, "no ringtone");
                        None
                    }
                };
                self.rang.insert(id.clone(), peer.clone());
                self.model.incoming = Some(IncomingCall { id, peer, video })
            }
            CallStatus::Ended => {
                self.stop_ringing();
                // The call history list gets the record the client just stored.
                self.send(Command::LoadCallHistory { limit: 500 });
                let answered = self.call_started.is_some();
                let duration = self.call_started.take().map(|t| t.elapsed().as_secs());
                self.model.call = None;
                // The call's own notice goes with it, unless another has replaced it.
                if let Some((call, text)) = self.model.notice_call.take() {
                    if call == id && self.model.notice.as_ref() == Some(&text) {
                        self.model.notice = None;
                    }
                }
                self.model.incoming = None;
                self.model
                    .conversations
                    .entry(peer)
                    .or_default()
                    .push_live(TimelineItem::Call {
                        id,
                        outgoing: !incoming,
                        answered,
                        duration_s: duration,
                        ts_ms: banter::client::now_ms() as i64,
                    });
            }
            other => {
                let phase = match other {
                    CallStatus::Proposing => CallPhase::Calling,
                    CallStatus::Ringing => CallPhase::Ringing,
                    CallStatus::Connecting => CallPhase::Connecting,
                    CallStatus::Active | CallStatus::Ended => CallPhase::Active,
                };
                if phase == CallPhase::Active && self.call_started.is_none() {
                    self.call_started = Some(Instant::now());
                }
                self.model.incoming = None;
                self.stop_ringing();
                let camera_on = self.camera_wanted;
                let call = self.model.call.get_or_insert_with(|| {
                    let mut c = ActiveCall::new(id, peer, phase);
                    c.camera_on = camera_on;
                    c
                });
                call.phase = phase;
                // The call's media as it is now (video added, or removed by the peer).
                call.video = video;
            }
        }
    }

    /// Silences the ringtone and withdraws the notification.
    pub(super) fn stop_ringing(&mut self) {
        self.ringer = None;
        self.notification = None;
    }

    /// Puts the stored calls with `peer` into its timeline (once each), in time order.
    pub(super) fn merge_calls(&mut self, peer: &str) {
        let Some(conv) = self.model.conversations.get_mut(peer) else {
            return;
        };
        let known: std::collections::HashSet<String> = conv
            .items
            .iter()
            .filter_map(|i| match i {
                TimelineItem::Call { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut added = false;
        for c in self.model.call_log.iter().filter(|c| c.peer == peer) {
            if !known.contains(&c.id) {
                conv.items.push(TimelineItem::Call {
                    id: c.id.clone(),
                    outgoing: c.outgoing,
                    answered: c.duration_s.is_some(),
                    duration_s: c.duration_s,
                    ts_ms: c.ts_ms,
                });
                added = true;
            }
        }
        if added {
            conv.items.sort_by_key(|i| match i {
                TimelineItem::Message { ts_ms, .. } | TimelineItem::Call { ts_ms, .. } => *ts_ms,
            });
        }
    }
}

impl App {
    /// Feeds the call report: a new one with each new call, kept after it ends.
    fn report(&mut self, ev: &Event) {
        let now = client::now_ms();
        if let Some(id) = client::call_of(ev) {
            if self.call_report.as_ref().is_none_or(|r| r.id() != id) {
                self.call_report = Some(client::CallReport::new(id, now));
                self.model.call_report = true;
            }
        }
        if let Some(r) = self.call_report.as_mut() {
            r.on(ev, now);
        }
    }
}

/// A network check for the window's Settings (no mapped address: a screen is shared).
fn net_check_view(report: &banter_media::netcheck::NetReport) -> banter_ui::model::NetCheckView {
    use banter::client::netcheck;
    use banter_media::netcheck::Level;
    use banter_ui::model::{Finding, NetLine};
    let finding = |l: Level| match l {
        Level::Good => Finding::Good,
        Level::Note => Finding::Note,
        Level::Warning => Finding::Warning,
        Level::Problem => Finding::Problem,
    };
    let mut steps: Vec<NetLine> = report
        .steps
        .iter()
        .map(|s| NetLine {
            finding: if s.outcome.is_ok() {
                Finding::Good
            } else {
                Finding::Problem
            },
            text: netcheck::step_text(s, false),
        })
        .collect();
    if steps.is_empty() {
        steps.push(NetLine {
            finding: Finding::Problem,
            text: banter_ui::t!("call-netcheck-no-service"),
        });
    }
    banter_ui::model::NetCheckView {
        running: false,
        steps,
        advice: report
            .advice
            .iter()
            .map(|a| NetLine {
                finding: finding(a.level),
                text: a.text.clone(),
            })
            .collect(),
    }
}
