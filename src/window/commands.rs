//! What a click asks for (`UiCommand`), carried out: client commands, devices,
//! settings, accounts.

use super::*;

impl App {
    pub(super) fn execute(&mut self, c: UiCommand, ctx: &egui::Context) {
        let Some(c) = self.chat_command(c).and_then(|c| self.file_command(c)) else {
            return;
        };
        match c {
            UiCommand::AddAccount {
                jid,
                password,
                server,
                ca_file,
                remember,
                register,
            } => self.sign_in(
                StartAccount {
                    jid,
                    password,
                    server,
                    ca_file,
                    register,
                },
                remember,
                ctx.clone(),
            ),
            UiCommand::TryLocally => self.try_locally(ctx.clone()),
            UiCommand::ChangePassword { password } => {
                self.new_password = Some(password.clone());
                self.send(Command::ChangePassword { password });
            }
            UiCommand::DeleteAccount => self.send(Command::DeleteAccount),
            UiCommand::RemoveContact { jid } => {
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::RemoveContact { jid });
                }
                self.model.selected = None;
            }
            UiCommand::SwitchAccount { jid } => self.switch_to(&jid),
            UiCommand::SelectContact { jid } => {
                self.contact_mut(&jid).unread = 0;
                let account = self.model.account.clone().unwrap_or_default();
                if self.history_loaded.insert(format!("{account} {jid}")) {
                    if let Ok(peer) = BareJid::new(&jid) {
                        self.send(Command::LoadHistory {
                            peer,
                            before_seq: None,
                            limit: HISTORY_PAGE,
                        });
                    }
                }
                if self.model.settings.omemo {
                    if let Ok(peer) = BareJid::new(&jid) {
                        self.send(Command::OmemoDevices { jid: peer });
                    }
                }
                self.model.selected_room = None;
                self.model.selected = Some(jid);
            }
            UiCommand::OmemoDevices { jid } => {
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::OmemoDevices { jid });
                }
            }
            UiCommand::TrustDevice {
                jid,
                fingerprint,
                verified,
            } => {
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::OmemoTrust {
                        jid,
                        fingerprint,
                        verified,
                    });
                }
            }
            UiCommand::SendMessage { to, body } => {
                if let Ok(to) = BareJid::new(&to) {
                    self.send(Command::SendMessage {
                        id: client::new_id(),
                        to,
                        body,
                    });
                }
            }
            UiCommand::AddContact { jid } => match BareJid::new(&jid) {
                Ok(jid) => self.send(Command::AddContact { jid, name: None }),
                Err(e) => {
                    self.model.notice = Some(banter_ui::t!(
                        "common-invalid-address-error",
                        address = &jid,
                        error = e.to_string()
                    ))
                }
            },
            UiCommand::AnswerSubscription { jid, accept } => {
                self.model.subscription_requests.retain(|j| *j != jid);
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::AnswerSubscription { jid, accept });
                }
            }
            UiCommand::Call { jid, video } => {
                self.camera_wanted = video;
                if let Ok(to) = Jid::new(&jid) {
                    self.send(Command::Call {
                        id: client::new_id(),
                        to,
                        video,
                    });
                }
            }
            UiCommand::AcceptCall { id, video } => {
                // Answered once: a second Accept (the notification's and the
                // window's) finds nothing ringing.
                if self.model.incoming.as_ref().is_some_and(|i| i.id == id) {
                    self.model.incoming = None;
                }
                self.camera_wanted = video;
                self.stop_ringing();
                self.send(Command::AcceptCall { id, video })
            }
            UiCommand::DeclineCall { id } => {
                if self.model.incoming.as_ref().is_some_and(|i| i.id == id) {
                    self.model.incoming = None;
                }
                self.stop_ringing();
                self.send(Command::RejectCall {
                    id,
                    reason: banter::client::Reason::Decline,
                })
            }
            UiCommand::Hangup { id } => self.send(Command::Hangup { id }),
            UiCommand::CopyCallReport => {
                if let (Some(r), Some(ctx)) = (&self.call_report, &self.ctx) {
                    ctx.copy_text(r.render());
                    self.model.notice = Some(banter_ui::t!("common-call-report-copied"));
                }
            }
            UiCommand::NetCheck => {
                self.model.net_check.running = true;
                self.send(Command::NetCheck);
            }
            UiCommand::SetMuted { id, muted } => {
                if let Some(call) = &mut self.model.call {
                    call.muted = muted;
                }
                self.send(Command::MuteCall { id, muted });
            }
            UiCommand::Typing { to, state } => {
                if let Ok(to) = BareJid::new(&to) {
                    let state = match state {
                        TypingState::Composing => Typing::Composing,
                        TypingState::Paused => Typing::Paused,
                        TypingState::Active => Typing::Active,
                    };
                    self.send(Command::SendChatState { to, state });
                }
            }
            UiCommand::LoadEarlier { jid } => {
                let cursor = self
                    .model
                    .conversations
                    .get(&jid)
                    .and_then(|c| c.history_cursor);
                if let (Ok(peer), Some(before)) = (BareJid::new(&jid), cursor) {
                    self.send(Command::LoadHistory {
                        peer,
                        before_seq: Some(before),
                        limit: HISTORY_PAGE,
                    });
                }
            }
            UiCommand::SetMicrophone { name } => {
                // Only when sending from a microphone (not a file or tone given on
                // the command line).
                if matches!(self.media.audio_in, SourceSpec::Mic(_)) {
                    self.media.audio_in = SourceSpec::Mic(name);
                    self.send(Command::Settings(SettingsChange::AudioIn(
                        self.media.audio_in.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::SetCameraDevice { name } => {
                if !self.media.video_in.is_none() {
                    self.media.video_in = camera_spec(&name);
                    self.send(Command::Settings(SettingsChange::VideoIn(
                        self.media.video_in.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::PickScreen { id } => self.pick_screen(id),
            UiCommand::ShareScreen { id, source } => self.share_screen(id, source),
            UiCommand::SetCamera { id, on } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    call.camera_on = on;
                }
                self.send(Command::SetCamera { id, on });
            }
            UiCommand::SetSpeaker { name } => {
                if matches!(self.media.audio_out, SinkSpec::Speaker(_)) {
                    self.media.audio_out = SinkSpec::Speaker(name);
                    self.send(Command::Settings(SettingsChange::AudioOut(
                        self.media.audio_out.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::ChangeSettings(s) => {
                let p = Processing {
                    echo_cancel: s.echo_cancellation,
                    noise_suppress: s.echo_cancellation,
                    ..self.media.processing
                };
                self.media.processing = p;
                self.media.relay_only = s.relay_only;
                self.send(Command::Settings(SettingsChange::Processing(p)));
                self.send(Command::Settings(SettingsChange::RelayOnly(s.relay_only)));
                self.send(Command::Settings(SettingsChange::CallsFromAnyone(
                    s.calls_from_anyone,
                )));
                self.save_settings();
            }
            UiCommand::SetStatus(s) => self.set_status(s),
            UiCommand::SetAutostart(on) => self.set_autostart(on),
            UiCommand::SetLanguage(choice) => {
                self.model.language = choice;
                for m in self.stash.values_mut() {
                    m.language = choice;
                }
                self.apply_language();
                self.save_settings();
                ctx.request_repaint();
            }
            UiCommand::SetHeld { id, held } => {
                if let Some(call) = &mut self.model.call {
                    call.held = held;
                }
                self.send(Command::HoldCall { id, held });
            }
            room => self.execute_room(room),
        }
    }
}
