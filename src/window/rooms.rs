//! Group chat in the window: the account's room events applied to the rooms the
//! window lists, and the room clicks carried out as client commands.

use banter::client::Bookmark;
use banter::client::RoomConfig;
use banter_ui::model::{
    DirectoryRow, InvitationRow, LeftTab, MessageExtras, OccupantRow, ReactionChip, ReplyPreview,
    RoomLine, RoomLineKind, MAX_INVITATIONS,
};

use super::chat::file_link;

use super::*;

impl App {
    /// A room event (others are ignored).
    pub(super) fn apply_room_event(&mut self, ev: Event) {
        let notice = |body: String| RoomLine {
            nick: String::new(),
            body,
            ts_ms: chrono::Utc::now().timestamp_millis(),
            kind: RoomLineKind::Notice,
            ..Default::default()
        };
        match ev {
            Event::RoomJoined { room, nick } => {
                let r = self.model.room_mut(&room);
                r.joined = true;
                r.left_reason = None;
                r.nick = nick.clone();
                // The room lists its occupants again after each join.
                r.occupants.clear();
                self.model.invitations.retain(|i| i.room != room);
                self.model.room_line(
                    &room,
                    notice(banter_ui::t!("rooms-you-joined", nick = &nick)),
                    true,
                );
            }
            Event::RoomLeft { room, reason } => {
                let keep = self
                    .model
                    .room(&room)
                    .is_some_and(|r| r.bookmarked || reason != "left");
                if !keep {
                    // Left by the user and not bookmarked: off the list.
                    self.model.rooms.retain(|r| r.jid != room);
                    if self.model.selected_room.as_deref() == Some(room.as_str()) {
                        self.model.selected_room = None;
                    }
                    return;
                }
                let r = self.model.room_mut(&room);
                r.joined = false;
                r.occupants.clear();
                r.nick_taken = reason.contains("nickname is taken");
                r.left_reason = (reason != "left").then(|| reason_words(&reason));
                // Leaving by choice is said as such, not as the reason "left".
                let line = if reason == "left" {
                    banter_ui::t!("rooms-you-left")
                } else {
                    banter_ui::t!("rooms-you-are-out", reason = reason_words(&reason))
                };
                self.model.room_line(&room, notice(line), true);
            }
            Event::Occupant { room, occupant, .. } => {
                self.model.room_mut(&room).upsert_occupant(OccupantRow {
                    nick: occupant.nick,
                    role: occupant.role,
                    affiliation: occupant.affiliation,
                    jid: occupant.jid,
                    show: occupant.show,
                });
            }
            Event::OccupantLeft { room, nick, reason } => {
                self.model.room_mut(&room).remove_occupant(&nick);
                if let Some(why) = reason.filter(|r| r != "changed nick") {
                    self.model.room_line(
                        &room,
                        notice(banter_ui::t!(
                            "rooms-occupant-out",
                            nick = &nick,
                            reason = reason_words(&why)
                        )),
                        true,
                    );
                }
            }
            Event::RoomMessage {
                room,
                nick,
                id,
                body,
                ts_ms,
                from_archive,
                stanza_id,
                meta,
            } => {
                let extra = self.room_extras_kept(&room, &meta);
                let line = RoomLine {
                    nick: nick.clone(),
                    body: body.clone(),
                    ts_ms,
                    kind: RoomLineKind::Message,
                    id,
                    stanza_id,
                    extra,
                    ..Default::default()
                };
                let reference = line.reference().to_string();
                let file = line.extra.file.is_some();
                if self.model.room_line(&room, line, from_archive) {
                    self.announce_mention(&nick, &room, &body);
                }
                if file {
                    self.room_file_shown(&room, &reference);
                }
            }
            Event::RoomMessageCorrected {
                room,
                id,
                nick,
                body,
            } => {
                let r = self.model.room_mut(&room);
                if let Some(l) = r.line_mut(&id).filter(|l| l.nick == nick) {
                    l.body = body;
                    l.extra.edited = true;
                }
            }
            Event::RoomMessageRetracted { room, id, nick } => {
                let r = self.model.room_mut(&room);
                if let Some(l) = r.line_mut(&id).filter(|l| l.nick == nick) {
                    l.body.clear();
                    l.extra.retracted = true;
                    l.extra.reactions.clear();
                    l.extra.file = None;
                }
            }
            Event::RoomReactions {
                room,
                id,
                nick,
                reactions,
            } => {
                let r = self.model.room_mut(&room);
                let mine = r.nick == nick;
                if let Some(l) = r.line_mut(&id) {
                    set_reactions(&mut l.extra.reactions, &nick, mine, &reactions);
                }
            }
            Event::RoomPrivateMessage {
                room,
                nick,
                body,
                ts_ms,
                outgoing,
                ..
            } => {
                let line = RoomLine {
                    nick: nick.clone(),
                    body: body.clone(),
                    ts_ms,
                    kind: RoomLineKind::Private { outgoing },
                    own: outgoing,
                    ..Default::default()
                };
                if self.model.room_line(&room, line, false) {
                    self.announce_mention(&nick, &room, &body);
                }
            }
            Event::RoomSubject {
                room,
                subject,
                nick,
            } => {
                let r = self.model.room_mut(&room);
                r.subject = Some(subject.clone()).filter(|s| !s.is_empty());
                if let Some(nick) = nick {
                    self.model.room_line(
                        &room,
                        notice(banter_ui::t!(
                            "rooms-subject-set",
                            nick = &nick,
                            subject = &subject
                        )),
                        true,
                    );
                }
            }
            Event::RoomStoredHistory {
                room,
                messages,
                earlier,
                more,
            } => {
                let shown = self
                    .model
                    .room(&room)
                    .is_some_and(|r| r.lines.iter().any(|l| l.kind != RoomLineKind::Notice));
                // Joining again with lines on screen: they are already there.
                if shown && !earlier {
                    return;
                }
                for m in messages {
                    let kind = match m.private.as_deref() {
                        Some(dir) => RoomLineKind::Private {
                            outgoing: dir == "out",
                        },
                        None => RoomLineKind::Message,
                    };
                    // An earlier page after joining again can hold lines still
                    // on screen from before.
                    let on_screen = self.model.room(&room).is_some_and(|r| {
                        r.lines
                            .iter()
                            .any(|l| l.ts_ms == m.ts_ms && l.nick == m.nick && l.body == m.body)
                    });
                    if on_screen {
                        continue;
                    }
                    let extra = self.room_extras_kept(&room, &m.meta);
                    let line = RoomLine {
                        own: kind == (RoomLineKind::Private { outgoing: true }),
                        nick: m.nick,
                        body: m.body,
                        ts_ms: m.ts_ms,
                        kind,
                        id: m.id,
                        stanza_id: m.stanza_id,
                        extra,
                        ..Default::default()
                    };
                    let reference = line.reference().to_string();
                    let file = line.extra.file.is_some();
                    self.model.room_line(&room, line, true);
                    if file {
                        self.room_file_shown(&room, &reference);
                    }
                }
                self.model.room_mut(&room).more_history = more;
            }
            Event::RoomHistoryRead { room, more, .. } => {
                self.model.room_mut(&room).more_history = more;
            }
            Event::RoomInfo { room, info } => {
                if let Some(name) = info.name {
                    self.model.room_mut(&room).name = Some(name);
                }
            }
            Event::Invitation {
                room,
                from,
                reason,
                password,
                mediated,
            } => {
                let joined = self.model.room(&room).is_some_and(|r| r.joined);
                let known = self.model.invitations.iter().any(|i| i.room == room);
                if !joined && !known && self.model.invitations.len() < MAX_INVITATIONS {
                    self.model.invitations.push(InvitationRow {
                        room,
                        from,
                        reason,
                        password,
                        mediated,
                    });
                }
            }
            Event::Invited { room, jid, .. } => {
                self.model.room_line(
                    &room,
                    notice(banter_ui::t!("rooms-you-invited", jid = &jid)),
                    true,
                );
            }
            Event::InvitationDeclined { room, by, reason } => {
                let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
                if self.model.room(&room).is_some() {
                    self.model.room_line(
                        &room,
                        notice(banter_ui::t!("rooms-declined", by = &by, why = &why)),
                        true,
                    );
                }
            }
            Event::RoomList { service, rooms } => {
                let f = &mut self.model.join_form;
                if f.service.trim() == service {
                    f.listing = false;
                    f.directory = Some(
                        rooms
                            .into_iter()
                            .map(|r| DirectoryRow {
                                jid: r.jid,
                                name: r.name,
                            })
                            .collect(),
                    );
                }
            }
            Event::RoomCreated { room } => {
                self.model
                    .room_line(&room, notice(banter_ui::t!("rooms-you-created")), true);
            }
            Event::Bookmarks { bookmarks } => {
                for r in &mut self.model.rooms {
                    r.bookmarked = false;
                }
                for b in bookmarks {
                    let r = self.model.room_mut(&b.room);
                    r.bookmarked = true;
                    r.autojoin = b.autojoin;
                    if r.name.is_none() {
                        r.name = b.name;
                    }
                    if r.nick.is_empty() {
                        r.nick = b.nick.unwrap_or_default();
                    }
                }
            }
            _ => {}
        }
    }

    /// A room click (other commands are ignored).
    pub(super) fn execute_room(&mut self, c: UiCommand) {
        let jid = |s: &str| BareJid::new(s.trim()).ok();
        match c {
            UiCommand::JoinRoom {
                room,
                nick,
                password,
            } => match jid(&room) {
                Some(r) if r.node().is_some() => {
                    self.send(Command::JoinRoom {
                        room: r.clone(),
                        nick: nick.clone(),
                        password,
                    });
                    let view = self.model.room_mut(r.as_str());
                    if !view.joined {
                        view.nick = nick;
                    }
                    self.select_room(r.to_string());
                }
                _ => {
                    self.model.notice =
                        Some(banter_ui::t!("rooms-not-a-room-address", room = &room))
                }
            },
            UiCommand::CreateRoom {
                room,
                nick,
                name,
                members_only,
                persistent,
                public,
                password,
            } => match jid(&room) {
                Some(r) if r.node().is_some() => {
                    self.send(Command::CreateRoom {
                        room: r.clone(),
                        nick: nick.clone(),
                        config: RoomConfig {
                            name: name.clone(),
                            members_only,
                            persistent,
                            password,
                            public,
                        },
                    });
                    let view = self.model.room_mut(r.as_str());
                    view.nick = nick;
                    if view.name.is_none() {
                        view.name = name;
                    }
                    self.select_room(r.to_string());
                }
                _ => {
                    self.model.notice =
                        Some(banter_ui::t!("rooms-not-a-room-address", room = &room))
                }
            },
            UiCommand::ListRooms { service } => match jid(&service) {
                Some(s) if s.node().is_none() => self.send(Command::ListRooms { service: s }),
                _ => {
                    self.model.join_form.listing = false;
                    self.model.notice =
                        Some(banter_ui::t!("rooms-not-a-service", service = &service));
                }
            },
            UiCommand::SetRoomSubject { room, subject } => {
                if let Some(room) = jid(&room) {
                    self.send(Command::SetRoomSubject { room, subject });
                }
            }
            UiCommand::DestroyRoom { room } => {
                if let Some(room) = jid(&room) {
                    self.send(Command::DestroyRoom { room, reason: None });
                }
            }
            UiCommand::ModerateOccupant { room, nick, action } => {
                use banter::client::Change;
                use banter_ui::command::Moderation;
                let change = match action {
                    Moderation::Kick => Change::Kick,
                    Moderation::Ban => Change::Ban,
                    Moderation::Voice => Change::Voice,
                    Moderation::Mute => Change::Mute,
                    Moderation::Member => Change::Member,
                    Moderation::Admin => Change::Admin,
                    Moderation::Owner => Change::Owner,
                    Moderation::Revoke => Change::Revoke,
                };
                if let Some(room) = jid(&room) {
                    self.send(Command::ChangeOccupant {
                        room,
                        change,
                        target: nick,
                        reason: None,
                    });
                }
            }
            UiCommand::RoomHistory { room } => {
                if let Some(room) = jid(&room) {
                    self.send(Command::RoomHistory { room });
                }
            }
            UiCommand::LeaveRoom { room } => {
                if let Some(room) = jid(&room) {
                    self.send(Command::LeaveRoom { room });
                }
            }
            UiCommand::SelectRoom { room } => self.select_room(room),
            UiCommand::SendRoomMessage { room, body } => {
                if let Some(room) = jid(&room) {
                    self.send(Command::SendRoomMessage {
                        id: client::new_id(),
                        room,
                        body,
                    });
                }
            }
            UiCommand::BookmarkRoom {
                room,
                bookmarked,
                autojoin,
            } => {
                let Some(r) = jid(&room) else { return };
                if !bookmarked {
                    return self.send(Command::RemoveBookmark { room: r });
                }
                let view = self.model.room(r.as_str());
                self.send(Command::SetBookmark {
                    bookmark: Bookmark {
                        room: r.to_string(),
                        name: view.and_then(|v| v.name.clone()),
                        autojoin,
                        nick: view.map(|v| v.nick.clone()).filter(|n| !n.is_empty()),
                        password: None,
                    },
                });
            }
            UiCommand::InviteToRoom { room, jid: who } => match (jid(&room), jid(&who)) {
                (Some(room), Some(who)) if who.node().is_some() => {
                    self.send(Command::InviteToRoom {
                        room,
                        jid: who,
                        reason: None,
                    })
                }
                _ => self.model.notice = Some(banter_ui::t!("rooms-not-an-invitee", jid = &who)),
            },
            UiCommand::DeclineInvitation { room } => {
                let Some(at) = self.model.invitations.iter().position(|i| i.room == room) else {
                    return;
                };
                let inv = self.model.invitations.remove(at);
                if let (true, Some(r)) = (inv.mediated, jid(&inv.room)) {
                    self.send(Command::DeclineInvitation {
                        room: r,
                        inviter: inv.from,
                        reason: None,
                    });
                }
            }
            _ => {}
        }
    }

    /// A mention (or private message) to announce: one per room in
    /// `notify::MENTION_GAP`, the rest counted in the next.
    /// Nothing while the user asked not to be disturbed.
    fn announce_mention(&mut self, nick: &str, room: &str, body: &str) {
        if self.model.status == banter_ui::model::MyStatus::DoNotDisturb {
            return;
        }
        if let Some(more) = self.mentions.admit(room, std::time::Instant::now()) {
            crate::notify::mention(nick, room, body, more);
        }
    }

    fn select_room(&mut self, room: String) {
        self.model.selected = None;
        self.model.left_tab = LeftTab::Rooms;
        self.model.selected_room = Some(room);
    }
}

impl App {
    /// What a room message carries beside its text, as the window shows it: the quote
    /// of the line it answers (when on screen), its file.
    fn room_extras(&self, room: &str, meta: &banter::client::MessageMeta) -> MessageExtras {
        let reply = meta.reply_to.as_ref().map(|r| {
            let text = self
                .model
                .room(room)
                .and_then(|v| v.lines.iter().rev().find(|l| l.reference() == r.id))
                .map(|l| match l.extra.retracted {
                    true => banter_ui::t!("rooms-reply-retracted"),
                    false => format!("{}: {}", l.nick, banter_ui::view::preview(&l.body)),
                })
                .unwrap_or_else(|| banter_ui::t!("rooms-reply-earlier"));
            ReplyPreview {
                id: r.id.clone(),
                text,
            }
        });
        MessageExtras {
            reply,
            file: meta.file.as_ref().map(|f| Box::new(file_link(f))),
            ..Default::default()
        }
    }
}

impl App {
    /// As `room_extras`, with what happened to the message since (a kept one, or one
    /// whose amends came first): edited, retracted, reactions (ours marked).
    fn room_extras_kept(&self, room: &str, meta: &banter::client::MessageMeta) -> MessageExtras {
        let mut extra = self.room_extras(room, meta);
        extra.edited = meta.edited;
        extra.retracted = meta.retracted;
        let own_nick = self.model.room(room).map(|r| r.nick.clone());
        extra.reactions = meta
            .reactions
            .iter()
            .map(|r| ReactionChip {
                emoji: r.emoji.clone(),
                mine: own_nick.as_ref().is_some_and(|n| r.from.contains(n)),
                from: r.from.clone(),
            })
            .collect();
        extra
    }
}

/// `nick`'s reactions are now `set`: their name leaves the other chips.
fn set_reactions(chips: &mut Vec<ReactionChip>, nick: &str, mine: bool, set: &[String]) {
    for c in chips.iter_mut() {
        c.from.retain(|f| f != nick);
        if mine {
            c.mine = false;
        }
    }
    for e in set {
        match chips.iter_mut().find(|c| c.emoji == *e) {
            Some(c) => {
                c.from.push(nick.to_string());
                c.mine |= mine;
            }
            None => chips.push(ReactionChip {
                emoji: e.clone(),
                from: vec![nick.to_string()],
                mine,
            }),
        }
    }
    chips.retain(|c| !c.from.is_empty());
}

/// A reason the client library gives (stable English words) in the window's
/// language. What follows ": " after a kick, ban or destruction is the room's own
/// text and stays as it is; a reason not known here is shown as it came.
pub(super) fn reason_words(reason: &str) -> String {
    let whole = match reason {
        "that nickname is taken in this room: choose another" => Some("rooms-reason-nick-taken"),
        "this room needs a password (or the one given is wrong)" => Some("rooms-reason-password"),
        "this room is for members only: ask an owner to add you" => {
            Some("rooms-reason-members-only")
        }
        "you are banned from this room" => Some("rooms-reason-banned-join"),
        "this room does not exist (and may not be created by you)" => {
            Some("rooms-reason-not-found")
        }
        "the room is full, or its service is unavailable" => Some("rooms-reason-full"),
        "the room's server cannot be reached" => Some("rooms-reason-unreachable"),
        "a nickname is needed to join" => Some("rooms-reason-nick-needed"),
        "the room refused to let you in" => Some("rooms-reason-refused"),
        "removed (no longer a member)" => Some("rooms-reason-removed"),
        "the room's service shut down" => Some("rooms-reason-shutdown"),
        _ => None,
    };
    if let Some(id) = whole {
        return banter_ui::t!(id);
    }
    let (head, tail) = match reason.split_once(": ") {
        Some((h, t)) => (h, Some(t)),
        None => (reason, None),
    };
    let id = match head {
        "the room was destroyed" => "rooms-reason-destroyed",
        "kicked" => "rooms-reason-kicked",
        "banned" => "rooms-reason-banned",
        _ => return reason.to_string(),
    };
    match tail {
        Some(t) => format!("{}: {t}", banter_ui::t!(id)),
        None => banter_ui::t!(id),
    }
}
