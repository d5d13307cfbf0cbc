//! What a front end asks for (`Command`), carried out.

use super::*;

impl State {
    pub(super) async fn on_command(&mut self, cmd: Command, out: &mut Vec<Stanza>) {
        let account = self.own.to_string();
        match cmd {
            Command::Call { id, to, video } => self.place_call(id, to, video, out),
            Command::AcceptCall { id, video } => {
                self.set_video_wanted(&id, video);
                self.call_input(&id, crate::jingle::session::Input::Accept, out)
            }
            Command::SetCamera { id, on } => {
                self.call_input(&id, crate::jingle::session::Input::Camera(on), out)
            }
            Command::ShareScreen { id, screen } => self.share_screen(&id, screen, None, out),
            Command::RejectCall { id, reason } => {
                self.call_input(&id, crate::jingle::session::Input::Reject(reason), out)
            }
            Command::Hangup { id } => {
                self.call_input(&id, crate::jingle::session::Input::Hangup, out)
            }
            Command::MuteCall { id, muted } => {
                self.call_input(&id, crate::jingle::session::Input::Mute(muted), out)
            }
            Command::SendChatState { to, state } => {
                out.push(crate::xmpp::chatstates::notification(&to, state.into()).into());
            }
            Command::Settings(change) => self.apply_settings(change),
            Command::LoadCallHistory { limit } => {
                match self.store.calls(self.own.as_str(), limit) {
                    Ok(calls) => self.emit(Event::CallHistory { calls }),
                    Err(e) => self.store_err(e),
                }
            }
            Command::HoldCall { id, held } => {
                self.call_input(&id, crate::jingle::session::Input::Hold(held), out)
            }
            Command::SendMessage { id, to, body } => {
                self.send_chat(id, to, body, vec![], amend::Seal::IfOn, out)
            }
            Command::SendPlain { id, to, body } => {
                self.send_chat(id, to, body, vec![], amend::Seal::Plain, out)
            }
            // In a room: the room's own way (groupchat, by the room's ids).
            Command::CorrectMessage { id, to, of, body } if self.rooms.contains_key(&to) => {
                if self.in_room(&to) {
                    self.room_correct(&id, &to, &of, &body, out)
                }
            }
            Command::Reply { id, to, of, body } if self.rooms.contains_key(&to) => {
                if self.in_room(&to) {
                    self.room_reply(&id, &to, &of, &body, out)
                }
            }
            Command::Retract { id, to, of } if self.rooms.contains_key(&to) => {
                if self.in_room(&to) {
                    self.room_retract(&id, &to, &of, out)
                }
            }
            Command::React {
                id,
                to,
                of,
                reactions,
            } if self.rooms.contains_key(&to) => {
                if self.in_room(&to) {
                    self.room_react(&id, &to, &of, &reactions, out)
                }
            }
            Command::CorrectMessage { id, to, of, body } => self.correct(id, to, of, body, out),
            Command::Reply { id, to, of, body } => self.reply(id, to, of, body, out),
            Command::Retract { id, to, of } => self.retract(id, to, of, out),
            Command::React {
                id,
                to,
                of,
                reactions,
            } => self.react(id, to, of, reactions, out),
            Command::MarkRead { peer } => self.mark_read(&peer, out),
            Command::Block { jid, blocked } => self.block(jid, blocked, out),
            Command::SetAvatar { png, width, height } => self.set_avatar(png, width, height, out),
            Command::SendFile { id, to, path } => self.send_file(id, to, path, out),
            Command::Download {
                id,
                peer,
                url,
                dir,
                max_size,
                sha256,
                name,
            } => self.download(id, peer, url, dir, (max_size, sha256, name)),
            Command::CancelTransfer { id } => self.cancel_transfer(&id),
            Command::FileInfo { peer, id, url } => self.file_info(peer, id, url),
            Command::AddContact { jid, name } => {
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::set_item(id, &jid, name.as_deref(), &[]),
                    out,
                );
                out.push(Presence::subscribe().with_to(jid).into());
            }
            Command::RenameContact { jid, name } => {
                let groups = self
                    .store
                    .roster(&account)
                    .ok()
                    .and_then(|r| r.into_iter().find(|c| c.jid == jid.as_str()))
                    .map(|c| c.groups)
                    .unwrap_or_default();
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::set_item(id, &jid, Some(&name), &groups),
                    out,
                );
            }
            Command::RemoveContact { jid } => {
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::remove_item(id, &jid),
                    out,
                );
            }
            Command::AnswerSubscription { jid, accept } => {
                if accept {
                    out.push(Presence::subscribed().with_to(jid.clone()).into());
                    let already = self
                        .store
                        .roster(&account)
                        .ok()
                        .and_then(|r| r.into_iter().find(|c| c.jid == jid.as_str()))
                        .map(|c| c.subscription == "to" || c.subscription == "both" || c.ask)
                        .unwrap_or(false);
                    if !already {
                        out.push(Presence::subscribe().with_to(jid).into());
                    }
                } else {
                    out.push(
                        Presence::new(PresenceType::Unsubscribed)
                            .with_to(jid)
                            .into(),
                    );
                }
            }
            Command::NetCheck => self.net_check(out),
            Command::OmemoDevices { jid } => self.omemo_devices(&jid),
            Command::JoinRoom {
                room,
                nick,
                password,
            } => self.join_room(room, nick, password, out),
            Command::LeaveRoom { room } => self.leave_room(&room, out),
            Command::SendRoomMessage { id, room, body } => {
                self.send_room_message(id, &room, &body, out)
            }
            Command::SetRoomSubject { room, subject } => {
                self.set_room_subject(&room, &subject, out)
            }
            Command::CreateRoom { room, nick, config } => self.create_room(room, nick, config, out),
            Command::InviteToRoom { room, jid, reason } => {
                self.invite_to_room(room, jid, reason, out)
            }
            Command::DeclineInvitation {
                room,
                inviter,
                reason,
            } => self.decline_invitation(&room, &inviter, reason.as_deref(), out),
            Command::SendRoomPrivate {
                id,
                room,
                nick,
                body,
            } => self.send_room_private(id, &room, &nick, &body, out),
            Command::ChangeOccupant {
                room,
                change,
                target,
                reason,
            } => self.change_occupant(room, change, target, reason, out),
            Command::DestroyRoom { room, reason } => self.destroy_room(room, reason, out),
            Command::SetBookmark { bookmark } => self.set_bookmark(bookmark, out),
            Command::RemoveBookmark { room } => self.remove_bookmark(room, out),
            Command::ListRooms { service } => self.list_rooms(service, out),
            Command::RoomHistory { room } => self.room_history(&room, out),
            Command::OmemoTrust {
                jid,
                fingerprint,
                verified,
            } => self.omemo_trust(&jid, &fingerprint, verified),
            Command::SetPresence { show, status } => {
                self.config.presence = Some((show, status.clone()));
                self.endpoint.set_do_not_disturb(show == Show::Dnd);
                out.push(presence::own(show, status.as_deref()).into());
            }
            Command::LoadHistory {
                peer,
                before_seq,
                limit,
            } => match self
                .store
                .history(&account, peer.as_str(), before_seq, limit)
            {
                Ok(messages) => self.emit(Event::History {
                    peer: peer.to_string(),
                    messages,
                }),
                Err(e) => self.store_err(e),
            },
            Command::ChangePassword { password } => {
                let username = self.own.node().map(|n| n.to_string()).unwrap_or_default();
                self.iq(
                    IqPurpose::ChangePassword {
                        password: password.clone(),
                    },
                    |id| register::change_password(id, &username, &password),
                    out,
                );
            }
            Command::DeleteAccount => {
                self.iq(IqPurpose::DeleteAccount, register::remove, out);
            }
            Command::Disconnect => {}
        }
    }
}
