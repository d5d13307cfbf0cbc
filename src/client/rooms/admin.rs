//! Rooms beyond joining and talking: creating one configured, what a room says of
//! itself, invitations both ways, private messages, moderation, destroying, a
//! service's room list, and XEP-0410 self-pings that notice when a room dropped us.

use crate::xmpp::muc::admin::{self as muc_admin, Change, RoomConfig};
use crate::xmpp::self_ping::{self, Verdict};
use crate::xmpp::{bookmarks, direct_invite};

use super::*;

/// How often rooms we have heard nothing from are asked whether they still have us.
const ROOM_PING_EVERY: Duration = Duration::from_secs(300);

/// Why we asked a room (or a MUC service, or our bookmarks) something.
#[derive(Debug)]
pub(in crate::client) enum RoomIq {
    /// What the room is, asked before joining it.
    PreJoin(BareJid),
    Info(BareJid),
    /// A page of the room's archive.
    Archive(BareJid),
    ConfigForm(BareJid),
    ConfigSubmit(BareJid),
    Change {
        room: BareJid,
        change: Change,
        target: String,
    },
    Destroy(BareJid),
    List(BareJid),
    SelfPing(BareJid),
    Bookmarks,
    LegacyBookmarks,
    PublishBookmark(bookmarks::Bookmark),
    RemoveBookmark(String),
}

/// A room's refusal, in words.
fn refusal(cond: &DefinedCondition) -> &'static str {
    match cond {
        DefinedCondition::Forbidden | DefinedCondition::NotAllowed => {
            "you are not allowed to do that there"
        }
        DefinedCondition::ItemNotFound => "no such room or occupant",
        DefinedCondition::NotAcceptable | DefinedCondition::BadRequest => {
            "the room did not accept the request"
        }
        DefinedCondition::Conflict => "it conflicts with the room's state",
        DefinedCondition::ServiceUnavailable | DefinedCondition::FeatureNotImplemented => {
            "the room's service does not offer it"
        }
        DefinedCondition::RemoteServerNotFound | DefinedCondition::RemoteServerTimeout => {
            "the room's server cannot be reached"
        }
        _ => "the room refused",
    }
}

impl State {
    pub(in crate::client) fn create_room(
        &mut self,
        room: BareJid,
        nick: String,
        config: RoomConfig,
        out: &mut Vec<Stanza>,
    ) {
        let password = config.password.clone();
        self.join_room(room.clone(), nick, password, out);
        if let Some(r) = self.rooms.get_mut(&room) {
            r.create = Some(config);
        }
    }

    /// Our own presence came back: we are in. Ask what the room is.
    pub(super) fn room_joined(&mut self, room: &BareJid, created: bool, out: &mut Vec<Stanza>) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        r.join_deadline = None;
        let existed = !created && r.create.take().is_some();
        let info_known = r.info.is_some();
        if existed {
            self.emit(Event::Error {
                message: format!(
                    "{room} already exists: you are in it as it is, not as you asked to create it"
                ),
            });
        }
        if !created && !info_known {
            self.ask_room_info(room, out);
        }
        if !created {
            self.catch_up_room(room, out);
        }
        if self.room_ping_at.is_none() {
            self.room_ping_at = Some(Instant::now() + ROOM_PING_EVERY);
        }
    }

    fn ask_room_info(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let to = Jid::from(room.clone());
        self.iq(
            IqPurpose::Room(RoomIq::Info(room.clone())),
            |id| disco::info_query(id, to, None),
            out,
        );
    }

    /// Our join made the room (status 201): configure it as asked, or take the
    /// service's defaults. Until then it is locked to others.
    pub(super) fn room_created(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        if self.rooms.get(room).is_some_and(|r| r.create.is_some()) {
            self.iq(
                IqPurpose::Room(RoomIq::ConfigForm(room.clone())),
                |id| muc_admin::config_request(id, room),
                out,
            );
        } else {
            out.push(muc::instant_room(new_id(), room).into());
            self.ask_room_info(room, out);
        }
    }

    /// The room could not be made as asked: say so and leave it (a room left
    /// unconfigured is destroyed by its service).
    fn creation_failed(&mut self, room: &BareJid, why: &str, out: &mut Vec<Stanza>) {
        self.emit(Event::Error {
            message: format!("could not create {room} as asked: {why}"),
        });
        self.leave_room(room, out);
    }

    pub(in crate::client) fn invite_to_room(
        &mut self,
        room: BareJid,
        jid: BareJid,
        reason: Option<String>,
        out: &mut Vec<Stanza>,
    ) {
        if let Some(r) = self.rooms.get_mut(&room) {
            if r.info.is_none() && r.state != RoomState::Out {
                // Sent once we know whether the room is members-only.
                r.pending_invites.push((jid, reason));
                return;
            }
        }
        self.send_invite(&room, &jid, reason.as_deref(), out);
    }

    fn send_invite(
        &mut self,
        room: &BareJid,
        jid: &BareJid,
        reason: Option<&str>,
        out: &mut Vec<Stanza>,
    ) {
        let r = self.rooms.get(room);
        // As Conversations does: a members-only room is invited to through the
        // room, which makes the invitee a member; others directly.
        let mediated = r
            .and_then(|r| r.info.as_ref())
            .is_some_and(|i| i.members_only);
        let password = r.and_then(|r| r.password.clone());
        out.push(match mediated {
            true => muc_admin::invite(room, jid, reason).into(),
            false => direct_invite::invite(jid, room, password.as_deref(), reason).into(),
        });
        self.emit(Event::Invited {
            room: room.to_string(),
            jid: jid.to_string(),
            mediated,
        });
    }

    fn flush_invites(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let pending = self
            .rooms
            .get_mut(room)
            .map(|r| std::mem::take(&mut r.pending_invites))
            .unwrap_or_default();
        for (jid, reason) in pending {
            self.send_invite(room, &jid, reason.as_deref(), out);
        }
    }

    pub(in crate::client) fn decline_invitation(
        &mut self,
        room: &BareJid,
        inviter: &str,
        reason: Option<&str>,
        out: &mut Vec<Stanza>,
    ) {
        out.push(muc_admin::decline(room, inviter, reason).into());
    }

    /// An invitation, or a decline of ours, in a live message: reported (when it
    /// can be believed), and true.
    pub(in crate::client) fn on_invitation(&mut self, m: &Message) -> bool {
        match muc_admin::mediated(m) {
            Some(Ok(inv)) => self.emit_invitation(inv),
            Some(Err((by, reason))) => {
                // Only a room we are in says who declined our invitation.
                let room = m.from.as_ref().map(|f| f.to_bare());
                if let Some(room) = room.filter(|r| self.rooms.contains_key(r)) {
                    self.emit(Event::InvitationDeclined {
                        room: room.to_string(),
                        by,
                        reason,
                    });
                }
            }
            None => match direct_invite::read(m) {
                Some(inv) => self.emit_invitation(inv),
                None => return false,
            },
        }
        true
    }

    /// Whether `room` cannot be a room: a domain, ourselves, or one of our
    /// contacts (joining one would take its messages for a room's).
    pub(in crate::client) fn not_a_room(&self, room: &BareJid) -> Option<String> {
        if room.node().is_none() {
            return Some(format!("{room} is a server, not a room"));
        }
        if *room == self.own {
            return Some("that is your own address, not a room".into());
        }
        let contact = self
            .store
            .roster(self.own.as_str())
            .ok()
            .is_some_and(|r| r.iter().any(|c| c.jid == room.as_str()));
        contact.then(|| format!("{room} is one of your contacts, not a room"))
    }

    fn emit_invitation(&mut self, inv: muc_admin::Invitation) {
        if let Some(why) = self.not_a_room(&inv.room) {
            tracing::info!(room = %inv.room, from = %inv.from, %why, "invitation ignored");
            return;
        }
        self.emit(Event::Invitation {
            room: inv.room.to_string(),
            from: inv.from,
            reason: inv.reason,
            password: inv.password,
            mediated: inv.mediated,
        });
    }

    pub(in crate::client) fn send_room_private(
        &mut self,
        id: String,
        room: &BareJid,
        nick: &str,
        body: &str,
        out: &mut Vec<Stanza>,
    ) {
        if self.rooms.get(room).map(|r| &r.state) != Some(&RoomState::Joined) {
            return self.emit(Event::Error {
                message: format!("not in {room}: join it first"),
            });
        }
        let Ok(to) = room.with_resource_str(nick) else {
            return self.emit(Event::Error {
                message: format!("'{nick}' cannot be a nickname"),
            });
        };
        out.push(muc_admin::private(to, &id, body).into());
        let ts_ms = chat::now_ms();
        self.keep_private(room, nick, &id, body, ts_ms, true);
        self.emit(Event::RoomPrivateMessage {
            room: room.to_string(),
            nick: nick.to_string(),
            id,
            body: body.to_string(),
            ts_ms,
            outgoing: true,
        });
    }

    /// A private message from an occupant of a room we are in.
    pub(in crate::client) fn on_room_private(&mut self, m: Message) {
        let Some(from) = m.from.clone() else { return };
        let (Some(nick), Some(body)) = (from.resource(), chat::body(&m)) else {
            return;
        };
        let room = from.to_bare();
        if let Some(r) = self.rooms.get_mut(&room) {
            r.heard = true;
        }
        // A room's private messages share one sender's rate: a flood is dropped.
        if !self.message_limit.allow(&room, Instant::now()) {
            tracing::info!(%room, "private message over the room's rate: dropped");
            return;
        }
        let now = chat::now_ms();
        let ts_ms = chat::delay_ms(&m.payloads).map_or(now, |t| t.min(now));
        let id = m.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        if !self.keep_private(&room, nick, &id, &body, ts_ms, false) {
            return;
        }
        self.emit(Event::RoomPrivateMessage {
            room: room.to_string(),
            nick: nick.to_string(),
            id,
            body,
            ts_ms,
            outgoing: false,
        });
    }

    pub(in crate::client) fn change_occupant(
        &mut self,
        room: BareJid,
        change: Change,
        target: String,
        reason: Option<String>,
        out: &mut Vec<Stanza>,
    ) {
        let who = if change.by_nick() {
            Some(target.clone())
        } else {
            // An address is an address (an occupant who takes someone's address as
            // a nick must not be changed in their place); else a nick in the room
            // whose real JID we see.
            BareJid::new(&target)
                .ok()
                .filter(|j| j.node().is_some())
                .map(|j| j.to_string())
                .or_else(|| self.rooms.get(&room).and_then(|r| r.real_jid_of(&target)))
        };
        let Some(who) = who else {
            return self.emit(Event::Error {
                message: format!(
                    "cannot {} {target} in {room}: the room does not show their address; give their JID",
                    change.verb()
                ),
            });
        };
        let purpose = IqPurpose::Room(RoomIq::Change {
            room: room.clone(),
            change,
            target,
        });
        self.iq(
            purpose,
            |id| muc_admin::admin(id, &room, change, &who, reason.as_deref()),
            out,
        );
    }

    pub(in crate::client) fn destroy_room(
        &mut self,
        room: BareJid,
        reason: Option<String>,
        out: &mut Vec<Stanza>,
    ) {
        self.iq(
            IqPurpose::Room(RoomIq::Destroy(room.clone())),
            |id| muc_admin::destroy(id, &room, reason.as_deref()),
            out,
        );
    }

    pub(in crate::client) fn list_rooms(&mut self, service: BareJid, out: &mut Vec<Stanza>) {
        let to = Jid::from(service.clone());
        self.iq(
            IqPurpose::Room(RoomIq::List(service)),
            |id| muc_admin::list(id, &to),
            out,
        );
    }

    /// When rooms are next asked whether they still have us, or a join is due (the
    /// account's one timer for these).
    pub(in crate::client) fn next_account_timer(&self) -> Option<Instant> {
        [self.room_ping_at, self.next_join_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    pub(in crate::client) fn on_account_timer(&mut self, out: &mut Vec<Stanza>) {
        self.expire_room_joins();
        if self.room_ping_at.is_some_and(|t| t <= Instant::now()) {
            self.ping_rooms(false, out);
        }
    }

    /// Asks the rooms we are in (`all`, else those silent since the last round)
    /// whether they still have us (XEP-0410).
    pub(in crate::client) fn ping_rooms(&mut self, all: bool, out: &mut Vec<Stanza>) {
        let mut ask = Vec::new();
        for (room, r) in self.rooms.iter_mut() {
            if r.state == RoomState::Joined && (all || !r.heard) {
                if let Ok(at) = room.with_resource_str(&r.nick) {
                    ask.push((room.clone(), at));
                }
            }
            r.heard = false;
        }
        for (room, at) in ask {
            self.iq(
                IqPurpose::Room(RoomIq::SelfPing(room)),
                |id| self_ping::ping(id, at),
                out,
            );
        }
        self.room_ping_at = (!self.rooms.is_empty()).then(|| Instant::now() + ROOM_PING_EVERY);
    }

    /// Asks one room whether it still has us (XEP-0410), unless that is being asked.
    pub(in crate::client) fn ping_room(&mut self, room: &BareJid, out: &mut Vec<Stanza>) {
        let asking = self
            .pending_iqs
            .values()
            .any(|(p, _)| matches!(p, IqPurpose::Room(RoomIq::SelfPing(r)) if r == room));
        let Some(at) = self
            .rooms
            .get(room)
            .filter(|r| r.state == RoomState::Joined && !asking)
            .and_then(|r| room.with_resource_str(&r.nick).ok())
        else {
            return;
        };
        self.iq(
            IqPurpose::Room(RoomIq::SelfPing(room.clone())),
            |id| self_ping::ping(id, at),
            out,
        );
    }

    /// What a room's disco#info answer says of it, kept (whether it has an archive
    /// above all) and reported; false when it said nothing readable.
    pub(super) fn keep_room_info(
        &mut self,
        room: &BareJid,
        answer: Result<Option<Element>, DefinedCondition>,
    ) -> bool {
        let info = answer
            .ok()
            .flatten()
            .as_ref()
            .and_then(disco::parse_info)
            .map(|(ids, features)| muc_admin::room_info(&ids, &features));
        let (Some(info), Some(r)) = (info, self.rooms.get_mut(room)) else {
            return false;
        };
        r.mam = info.archived;
        r.info = Some(info.clone());
        self.emit(Event::RoomInfo {
            room: room.to_string(),
            info,
        });
        true
    }

    /// The answer to a `RoomIq`: its payload, or the error's condition.
    pub(in crate::client) fn on_room_iq(
        &mut self,
        q: RoomIq,
        answer: Result<Option<Element>, DefinedCondition>,
        out: &mut Vec<Stanza>,
    ) {
        match q {
            RoomIq::PreJoin(room) => self.pre_join_answer(room, answer, out),
            RoomIq::Archive(room) => self.archive_page_answer(room, answer, out),
            RoomIq::Info(room) => {
                if !self.keep_room_info(&room, answer) {
                    if let Some(r) = self.rooms.get_mut(&room) {
                        // Nothing known: invitations go directly.
                        r.info = Some(Default::default());
                    }
                }
                self.flush_invites(&room, out);
            }
            RoomIq::ConfigForm(room) => {
                let cfg = self.rooms.get(&room).and_then(|r| r.create.clone());
                let form = match answer {
                    Ok(Some(form)) => form,
                    Ok(None) => return self.creation_failed(&room, "no form came", out),
                    Err(c) => return self.creation_failed(&room, refusal(&c), out),
                };
                let Some(cfg) = cfg else { return };
                let id = new_id();
                match muc_admin::config_submit(&id, &room, &form, &cfg) {
                    Ok(iq) => {
                        out.push(iq.into());
                        self.pending_iqs.insert(
                            id,
                            (
                                IqPurpose::Room(RoomIq::ConfigSubmit(room.clone())),
                                Some(Jid::from(room)),
                            ),
                        );
                    }
                    Err(why) => self.creation_failed(&room, &why, out),
                }
            }
            RoomIq::ConfigSubmit(room) => match answer {
                Ok(_) => {
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.create = None;
                    }
                    self.emit(Event::RoomCreated {
                        room: room.to_string(),
                    });
                    self.ask_room_info(&room, out);
                }
                Err(c) => self.creation_failed(&room, refusal(&c), out),
            },
            RoomIq::Change {
                room,
                change,
                target,
            } => match answer {
                Ok(_) => self.emit(Event::RoomChanged {
                    room: room.to_string(),
                    target,
                    change: change.verb().into(),
                }),
                Err(c) => self.emit(Event::Error {
                    message: format!(
                        "could not {} {target} in {room}: {}",
                        change.verb(),
                        refusal(&c)
                    ),
                }),
            },
            RoomIq::Destroy(room) => {
                if let Err(c) = answer {
                    self.emit(Event::Error {
                        message: format!("could not destroy {room}: {}", refusal(&c)),
                    });
                }
            }
            RoomIq::List(service) => match answer {
                Ok(q) => self.emit(Event::RoomList {
                    service: service.to_string(),
                    rooms: q.as_ref().map(muc_admin::parse_list).unwrap_or_default(),
                }),
                Err(c) => self.emit(Event::Error {
                    message: format!("could not list the rooms of {service}: {}", refusal(&c)),
                }),
            },
            RoomIq::SelfPing(room) => {
                let verdict = self_ping::verdict(answer.as_ref().err());
                if verdict == Verdict::Gone {
                    tracing::info!(%room, "the room no longer has us: joining again");
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.rejoining();
                    }
                    self.send_join(&room, out);
                }
            }
            q @ (RoomIq::Bookmarks
            | RoomIq::LegacyBookmarks
            | RoomIq::PublishBookmark(_)
            | RoomIq::RemoveBookmark(_)) => self.on_bookmarks_iq(q, answer, out),
        }
    }
}
