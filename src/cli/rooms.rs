//! `banter room …`: group chat rooms from the command line. Each verb signs in,
//! joins the room where the verb needs us in it, does its one thing, waits for the
//! answer that says it was done (or the error in words), and leaves; `join` stays.

use banter::client::Bookmark;
use banter::client::{Change, RoomConfig};

use super::*;

fn change_of(verb: RoomVerb) -> Option<Change> {
    Some(match verb {
        RoomVerb::Kick => Change::Kick,
        RoomVerb::Ban => Change::Ban,
        RoomVerb::Voice => Change::Voice,
        RoomVerb::Mute => Change::Mute,
        RoomVerb::Member => Change::Member,
        RoomVerb::Admin => Change::Admin,
        RoomVerb::Owner => Change::Owner,
        RoomVerb::Revoke => Change::Revoke,
        _ => return None,
    })
}

/// What the verb asks of the account once it is online (or, for verbs that need
/// us in the room, once we are in).
fn the_command(
    verb: RoomVerb,
    room: &BareJid,
    id: &str,
    opts: &RoomOptions,
) -> Result<Option<Command>, CliError> {
    let target = || {
        opts.target.clone().ok_or_else(|| {
            CliError(format!("whom? e.g. banter room {verb:?} ROOM WHO").to_lowercase())
        })
    };
    let (to, id) = (room.clone(), id.to_string());
    Ok(Some(match verb {
        RoomVerb::Send if opts.file.is_some() => Command::SendFile {
            id,
            to,
            path: opts.file.clone().unwrap_or_default(),
        },
        RoomVerb::React => Command::React {
            id,
            to,
            of: target()?,
            reactions: opts.reactions.clone(),
        },
        RoomVerb::Retract => Command::Retract {
            id,
            to,
            of: target()?,
        },
        RoomVerb::Send => {
            let body = opts.body.clone().ok_or_else(|| {
                CliError("what to send? e.g. banter room send ROOM --body hello".into())
            })?;
            if let Some(of) = opts.correct.clone() {
                return Ok(Some(Command::CorrectMessage { id, to, of, body }));
            }
            if let Some(of) = opts.reply_to.clone() {
                return Ok(Some(Command::Reply { id, to, of, body }));
            }
            match &opts.to {
                Some(nick) => Command::SendRoomPrivate {
                    id,
                    room: room.clone(),
                    nick: nick.clone(),
                    body,
                },
                None => Command::SendRoomMessage {
                    id,
                    room: room.clone(),
                    body,
                },
            }
        }
        RoomVerb::Subject => Command::SetRoomSubject {
            room: room.clone(),
            subject: opts.body.clone().ok_or_else(|| {
                CliError("which subject? e.g. banter room subject ROOM --body 'plans'".into())
            })?,
        },
        RoomVerb::Invite => Command::InviteToRoom {
            room: room.clone(),
            jid: parse_jid(&target()?)?,
            reason: opts.reason.clone(),
        },
        RoomVerb::Destroy => Command::DestroyRoom {
            room: room.clone(),
            reason: opts.reason.clone(),
        },
        RoomVerb::List => Command::ListRooms {
            service: room.clone(),
        },
        RoomVerb::Bookmark => Command::SetBookmark {
            bookmark: Bookmark {
                room: room.to_string(),
                name: opts.name.clone(),
                autojoin: opts.autojoin,
                nick: opts.nick.clone(),
                password: opts.password.clone(),
            },
        },
        RoomVerb::Unbookmark => Command::RemoveBookmark { room: room.clone() },
        v => match change_of(v) {
            Some(change) => Command::ChangeOccupant {
                room: room.clone(),
                change,
                target: target()?,
                reason: opts.reason.clone(),
            },
            None => return Ok(None),
        },
    }))
}

/// Whether `ev` says the verb is done: `Some(Ok)` done, `Some(Err)` failed.
fn done(
    verb: RoomVerb,
    room: &str,
    id: &str,
    opts: &RoomOptions,
    ev: &Event,
) -> Option<Result<(), CliError>> {
    let ours = |r: &str| r == room;
    match ev {
        Event::RoomLeft { room: r, reason } if ours(r) => {
            if verb == RoomVerb::Destroy && reason.contains("destroyed") {
                return Some(Ok(()));
            }
            Some(Err(CliError(format!("{room}: {reason}"))))
        }
        // Everything but join waits for one answer; an error is the answer.
        Event::Error { message } if verb != RoomVerb::Join => Some(Err(CliError(message.clone()))),
        // The room sends our amends back too: applied, they are done.
        Event::RoomMessageCorrected { room: r, .. }
            if verb == RoomVerb::Send && opts.correct.is_some() && ours(r) =>
        {
            Some(Ok(()))
        }
        Event::RoomReactions {
            room: r, id: of, ..
        } if verb == RoomVerb::React && ours(r) && opts.target.as_ref() == Some(of) => Some(Ok(())),
        Event::RoomMessageRetracted {
            room: r, id: of, ..
        } if verb == RoomVerb::Retract && ours(r) && opts.target.as_ref() == Some(of) => {
            Some(Ok(()))
        }
        Event::Transfer {
            id: t,
            state: client::TransferState::Failed { reason },
            ..
        } if t == id => Some(Err(CliError(reason.clone()))),
        // The room sends our message back to us too: it has it.
        Event::RoomMessage {
            room: r,
            id: i,
            from_archive: false,
            ..
        } if verb == RoomVerb::Send && ours(r) && i == id => Some(Ok(())),
        Event::RoomPrivateMessage {
            room: r,
            id: i,
            outgoing: true,
            ..
        } if verb == RoomVerb::Send && ours(r) && i == id => Some(Ok(())),
        Event::RoomCreated { room: r } if verb == RoomVerb::Create && ours(r) => Some(Ok(())),
        // The room sends the new subject to all, us included.
        Event::RoomSubject {
            room: r,
            subject,
            nick: Some(_),
        } if verb == RoomVerb::Subject && ours(r) && Some(subject) == opts.body.as_ref() => {
            Some(Ok(()))
        }
        Event::Invited { room: r, .. } if verb == RoomVerb::Invite && ours(r) => Some(Ok(())),
        Event::RoomChanged { room: r, .. } if change_of(verb).is_some() && ours(r) => Some(Ok(())),
        Event::RoomList { service, .. } if verb == RoomVerb::List && ours(service) => Some(Ok(())),
        Event::Bookmarks { bookmarks } => {
            let has = bookmarks
                .iter()
                .any(|b| b.room == room && b.autojoin == opts.autojoin);
            match verb {
                RoomVerb::Bookmarks => Some(Ok(())),
                RoomVerb::Bookmark if has => Some(Ok(())),
                RoomVerb::Unbookmark if !bookmarks.iter().any(|b| b.room == room) => Some(Ok(())),
                _ => None,
            }
        }
        _ => None,
    }
}

pub async fn room(
    args: &AccountArgs,
    verb: RoomVerb,
    room: Option<&str>,
    opts: RoomOptions,
) -> Result<(), CliError> {
    if verb == RoomVerb::History && opts.offline {
        return offline_history(args, room, opts.limit);
    }
    let mut cfg = config(args)?;
    let room = match (verb, room) {
        // A service is a domain.
        (RoomVerb::List, Some(s)) => {
            BareJid::new(s).map_err(|e| CliError(format!("invalid service '{s}': {e}")))?
        }
        (_, Some(r)) => parse_jid(r)?,
        // Not about one room: ours stands in.
        (RoomVerb::Bookmarks, None) => cfg.jid.clone(),
        (RoomVerb::List, None) => {
            return Err(CliError(
                "which service? e.g. banter room list conference.example.org".into(),
            ))
        }
        (_, None) => {
            return Err(CliError(
                "which room? e.g. banter room join team@conference.example.org".into(),
            ))
        }
    };
    let id = client::new_id();
    let mut command = the_command(verb, &room, &id, &opts)?;
    let nick = opts
        .nick
        .clone()
        .unwrap_or_else(|| cfg.jid.node().map(|n| n.to_string()).unwrap_or_default());
    cfg.catch_up = false;
    cfg.autojoin = false;
    let in_room = !matches!(
        verb,
        RoomVerb::List | RoomVerb::Bookmark | RoomVerb::Unbookmark | RoomVerb::Bookmarks
    );
    let mut stop = crate::signals::StopSignals::new();
    let mut client = connect(cfg).await?;
    match verb {
        RoomVerb::Create => client.send(Command::CreateRoom {
            room: room.clone(),
            nick,
            config: RoomConfig {
                name: opts.name.clone(),
                members_only: opts.members_only,
                persistent: opts.persistent,
                password: opts.password.clone(),
                public: opts.public,
            },
        }),
        _ if in_room => client.send(Command::JoinRoom {
            room: room.clone(),
            nick,
            password: opts.password.clone(),
        }),
        _ => {}
    }
    let sleep = async {
        match opts.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let mut out = std::io::stdout();
    // Whether the room keeps an archive (history: read from it, else the room's
    // own history ends with its subject).
    let mut archived = false;
    let result = loop {
        tokio::select! {
            ev = client.next_event() => {
                let Some(mut ev) = ev else { break Err(CliError("the connection ended".into())) };
                // `list --name`: the rooms whose name or address holds it.
                if let (Event::RoomList { rooms, .. }, Some(want)) = (&mut ev, &opts.name) {
                    let want = want.to_lowercase();
                    rooms.retain(|r| {
                        r.jid.to_lowercase().contains(&want)
                            || r.name.as_ref().is_some_and(|n| n.to_lowercase().contains(&want))
                    });
                }
                if let Event::ConnectionError { message, fatal: true } = &ev {
                    break Err(CliError(message.clone()));
                }
                print_event(&mut out, &ev, args.json);
                // In the room, or (verbs that need no room) signed in and our
                // bookmarks read: now the verb's one command.
                let ready = match &ev {
                    Event::RoomJoined { room: r, .. } => in_room && r == room.as_str(),
                    Event::Bookmarks { .. } => !in_room,
                    _ => false,
                };
                if ready {
                    if let Some(c) = command.take() {
                        client.send(c);
                        continue;
                    }
                }
                if verb == RoomVerb::History {
                    match &ev {
                        Event::RoomInfo { room: r, info } if r == room.as_str() => archived = info.archived,
                        Event::RoomHistoryRead { room: r, .. } if r == room.as_str() => break Ok(()),
                        Event::RoomSubject { room: r, .. } if r == room.as_str() && !archived => break Ok(()),
                        _ => {}
                    }
                }
                if let Some(r) = done(verb, room.as_str(), &id, &opts, &ev) {
                    break r;
                }
            }
            _ = &mut sleep => break Ok(()),
            _ = stop.wait() => break Ok(()),
        }
    };
    if in_room {
        client.send(Command::LeaveRoom { room: room.clone() });
    }
    client.shutdown().await;
    result
}

/// `room history --offline`: what this device kept of the room (no sign-in).
fn offline_history(args: &AccountArgs, room: Option<&str>, limit: usize) -> Result<(), CliError> {
    let account = parse_jid(
        args.jid
            .as_deref()
            .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?,
    )?;
    let room = parse_jid(room.ok_or_else(|| {
        CliError("which room? e.g. banter room history team@conference.example.org".into())
    })?)?;
    let offline = banter::client::offline::Offline::open(&data_dir(args)?)?;
    let messages = offline.room_history(account.as_str(), room.as_str(), limit)?;
    let ev = Event::RoomStoredHistory {
        room: room.to_string(),
        more: messages.len() >= limit,
        messages,
        earlier: false,
    };
    print_event(&mut std::io::stdout(), &ev, args.json);
    Ok(())
}

/// A room event as a line of text.
pub fn room_line(ev: &Event) -> Option<String> {
    Some(match ev {
        Event::RoomJoined { room, nick } => format!("joined {room} as {nick}"),
        Event::RoomLeft { room, reason } => format!("out of {room}: {reason}"),
        Event::RoomMessage {
            room, nick, body, ..
        } => format!("[{room}] {nick}: {body}"),
        Event::RoomMessageCorrected {
            room, nick, body, ..
        } => format!("[{room}] {nick} (edited): {body}"),
        Event::RoomMessageRetracted { room, nick, id } => {
            format!("[{room}] {nick} retracted message {id}")
        }
        Event::RoomReactions {
            room,
            nick,
            id,
            reactions,
        } => format!("[{room}] {nick} reacts to {id}: {}", reactions.join(" ")),
        Event::RoomPrivateMessage {
            room,
            nick,
            body,
            outgoing,
            ..
        } => match outgoing {
            true => format!("[{room}] (privately to {nick}) {body}"),
            false => format!("[{room}] (privately) {nick}: {body}"),
        },
        Event::RoomSubject { room, subject, .. } => format!("[{room}] subject: {subject}"),
        Event::Occupant { room, occupant, .. } => format!(
            "[{room}] {} is here ({}, {})",
            occupant.nick, occupant.role, occupant.show
        ),
        Event::OccupantLeft { room, nick, reason } => match reason {
            Some(r) => format!("[{room}] {nick} left ({r})"),
            None => format!("[{room}] {nick} left"),
        },
        Event::RoomCreated { room } => format!("created {room}"),
        Event::RoomStoredHistory { room, messages, .. } => {
            let mut s = format!("[{room}] {} messages kept on this device", messages.len());
            for m in messages {
                match m.private.as_deref() {
                    Some("out") => {
                        s.push_str(&format!("\n[{room}] (privately to {}) {}", m.nick, m.body))
                    }
                    Some(_) => {
                        s.push_str(&format!("\n[{room}] (privately) {}: {}", m.nick, m.body))
                    }
                    None => s.push_str(&format!("\n[{room}] {}: {}", m.nick, m.body)),
                }
            }
            s
        }
        Event::RoomHistoryRead { room, count, .. } => {
            format!("[{room}] {count} messages from the room's archive")
        }
        Event::Invitation {
            room, from, reason, ..
        } => format!(
            "{from} invites you to {room}{}",
            reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        Event::Invited { room, jid, .. } => format!("invited {jid} to {room}"),
        Event::InvitationDeclined { room, by, .. } => format!("{by} declined to join {room}"),
        Event::RoomChanged {
            room,
            target,
            change,
        } => format!("[{room}] {change}: {target}"),
        Event::RoomList { service, rooms } => {
            let mut s = format!("{} rooms at {service}", rooms.len());
            for r in rooms {
                s.push_str(&format!(
                    "\n  {} {}",
                    r.jid,
                    r.name.clone().unwrap_or_default()
                ));
            }
            s
        }
        Event::Bookmarks { bookmarks } => {
            let mut s = format!("{} bookmarked rooms", bookmarks.len());
            for b in bookmarks {
                s.push_str(&format!(
                    "\n  {}{}{}",
                    b.room,
                    b.name
                        .as_ref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    if b.autojoin { " [autojoin]" } else { "" }
                ));
            }
            s
        }
        _ => return None,
    })
}
