//! Group chat: the Rooms tab (join form, invitations, the rooms with unread and
//! mention counts) and a room on screen (subject, people, lines, the message field).

use crate::model::{RoomLineKind, RoomView};
use crate::t;

use super::*;

/// Height of one occupant row; fixed so that thousands are virtualized.
pub const OCCUPANT_ROW_HEIGHT: f32 = 22.0;

/// The Rooms tab.
pub fn room_list(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    if ui
        .selectable_label(model.join_form.open, t!("rooms-join-or-create"))
        .clicked()
    {
        model.join_form.open = !model.join_form.open;
        if model.join_form.nick.is_empty() {
            model.join_form.nick = model
                .account
                .as_deref()
                .and_then(|a| a.split('@').next())
                .unwrap_or_default()
                .to_string();
        }
    }
    if model.join_form.open {
        ui.group(|ui| super::room_dialog::room_dialog(ui, model, out));
    }
    for inv in model.invitations.clone() {
        ui.group(|ui| {
            ui.add(
                egui::Label::new(t!("rooms-invites-you", from = &inv.from, room = &inv.room))
                    .wrap(),
            );
            if let Some(r) = &inv.reason {
                ui.label(RichText::new(r).italics().weak());
            }
            ui.horizontal(|ui| {
                if ui.button(t!("rooms-join")).clicked() {
                    let nick = default_nick(model);
                    out.push(UiCommand::JoinRoom {
                        room: inv.room.clone(),
                        nick,
                        password: inv.password.clone(),
                    });
                }
                if ui.button(t!("rooms-decline")).clicked() {
                    out.push(UiCommand::DeclineInvitation {
                        room: inv.room.clone(),
                    });
                }
            });
        });
    }
    ui.separator();
    if model.rooms.is_empty() {
        ui.label(RichText::new(t!("rooms-none-yet")).weak());
        return;
    }
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, CONTACT_ROW_HEIGHT, model.rooms.len(), |ui, range| {
            for r in &model.rooms[range] {
                let selected = model.selected_room.as_deref() == Some(r.jid.as_str());
                if room_row(ui, r, selected).clicked() {
                    out.push(UiCommand::SelectRoom {
                        room: r.jid.clone(),
                    });
                }
            }
        });
}

fn default_nick(model: &Model) -> String {
    model
        .account
        .as_deref()
        .and_then(|a| a.split('@').next())
        .unwrap_or("me")
        .to_string()
}

/// One room: its name, its subject (or why we are out), and a badge: mentions
/// (`@3`) else unread messages.
fn room_row(ui: &mut egui::Ui, r: &RoomView, selected: bool) -> egui::Response {
    let (response, inner) = list_row(ui, r.display_name(), selected);
    let Some(inner) = inner else {
        return response;
    };
    let visuals = ui.visuals();
    let painter = ui.painter();
    let text_color = if selected {
        visuals.selection.stroke.color
    } else if r.joined {
        visuals.text_color()
    } else {
        visuals.weak_text_color()
    };
    let left = inner.left() + 10.0;
    let badge = match (r.mentions, r.unread) {
        (0, 0) => None,
        (0, n) => Some((n.to_string(), Color32::from_rgb(60, 130, 220))),
        (m, _) => Some((format!("@{m}"), Color32::from_rgb(200, 90, 40))),
    };
    // A long address stops short of the badge.
    let text_right = inner.right() - if badge.is_some() { 48.0 } else { 6.0 };
    let text = painter.with_clip_rect(egui::Rect::from_min_max(
        inner.min,
        egui::pos2(text_right, inner.max.y),
    ));
    let name = text.layout_no_wrap(
        r.display_name().to_string(),
        egui::FontId::proportional(15.0),
        text_color,
    );
    text.galley(egui::pos2(left, inner.top() + 4.0), name, text_color);
    let second = match (&r.left_reason, &r.subject) {
        (Some(why), _) if !r.joined => Some(why.clone()),
        (_, Some(s)) => Some(s.clone()),
        _ if !r.joined => Some(t!("rooms-not-joined")),
        _ => None,
    };
    if let Some(s) = second {
        let weak = visuals.weak_text_color();
        let g = painter.layout(
            s.lines().next().unwrap_or_default().to_string(),
            egui::FontId::proportional(12.0),
            weak,
            inner.width() - 60.0,
        );
        text.galley(egui::pos2(left, inner.top() + 23.0), g, weak);
    }
    if let Some((text, color)) = badge {
        row_badge(painter, inner, text, color);
    }
    response
}

/// The room on screen.
pub fn room_view(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let Some(jid) = model.selected_room.clone() else {
        return;
    };
    let nick_default = default_nick(model);
    let r = model.room_mut(&jid);
    r.unread = 0;
    r.mentions = 0;
    ui.horizontal(|ui| {
        ui.heading(r.display_name().to_string());
        ui.label(RichText::new(&jid).weak());
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.menu_button(t!("rooms-more"), |ui| {
                if r.joined && ui.button(t!("rooms-leave")).clicked() {
                    out.push(UiCommand::LeaveRoom { room: jid.clone() });
                    ui.close();
                }
                let (label, bookmarked) = match r.bookmarked {
                    true => (t!("rooms-remove-bookmark"), false),
                    false => (t!("rooms-bookmark"), true),
                };
                if ui.button(label).clicked() {
                    out.push(UiCommand::BookmarkRoom {
                        room: jid.clone(),
                        bookmarked,
                        autojoin: bookmarked,
                    });
                    ui.close();
                }
                if r.bookmarked {
                    let mut autojoin = r.autojoin;
                    if ui.checkbox(&mut autojoin, t!("rooms-autojoin")).changed() {
                        out.push(UiCommand::BookmarkRoom {
                            room: jid.clone(),
                            bookmarked: true,
                            autojoin,
                        });
                    }
                }
                ui.checkbox(&mut r.muted, t!("rooms-mute-mentions"));
                let owner = r.me().is_some_and(|m| m.affiliation == "owner");
                if r.joined && owner && ui.button(t!("rooms-destroy-room")).clicked() {
                    r.confirm_destroy = true;
                    ui.close();
                }
            });
            let people = t!("rooms-people", count = r.occupants.len());
            ui.toggle_value(&mut r.show_occupants, people);
        });
    });
    if r.confirm_destroy {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(Color32::from_rgb(200, 60, 60), t!("rooms-destroy-confirm"));
            if ui.button(t!("rooms-destroy")).clicked() {
                out.push(UiCommand::DestroyRoom { room: jid.clone() });
                r.confirm_destroy = false;
            }
            if ui.button(t!("rooms-cancel")).clicked() {
                r.confirm_destroy = false;
            }
        });
    }
    subject(ui, r, &jid, out);
    if !r.joined {
        ui.horizontal(|ui| {
            let why = r
                .left_reason
                .clone()
                .unwrap_or_else(|| t!("rooms-not-in-room"));
            ui.colored_label(Color32::from_rgb(200, 60, 60), why);
            // A nick taken there: offer the same with a mark, as a choice to click.
            let taken = r.nick_taken;
            let nick = if r.nick.is_empty() {
                nick_default.clone()
            } else {
                r.nick.clone()
            };
            let (nick, label) = match taken {
                true => (
                    format!("{nick}_"),
                    t!("rooms-join-as", nick = format!("{nick}_")),
                ),
                false => (nick, t!("rooms-join")),
            };
            if ui.button(label).clicked() {
                out.push(UiCommand::JoinRoom {
                    room: jid.clone(),
                    nick,
                    password: None,
                });
            }
        });
    } else {
        ui.horizontal(|ui| {
            let l = ui.label(t!("rooms-invite"));
            let t = ui
                .add(
                    TextEdit::singleline(&mut r.invite)
                        .hint_text(t!("rooms-invite-hint"))
                        .desired_width(200.0),
                )
                .labelled_by(l.id);
            let enter = t.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button(t!("rooms-send-invitation")).clicked() || enter) && r.invite.contains('@')
            {
                out.push(UiCommand::InviteToRoom {
                    room: jid.clone(),
                    jid: r.invite.trim().to_string(),
                });
                r.invite.clear();
            }
        });
    }
    ui.separator();
    if r.show_occupants {
        egui::Panel::right("occupants")
            .resizable(true)
            .default_size(180.0)
            .show(ui, |ui| occupant_list(ui, r, &jid, out));
    }
    let input_height = 36.0;
    ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .max_height(ui.available_height() - input_height - 8.0)
        .show(ui, |ui| {
            if r.more_history {
                ui.vertical_centered(|ui| {
                    if ui.button(t!("rooms-show-earlier")).clicked() {
                        out.push(UiCommand::RoomHistory { room: jid.clone() });
                        r.more_history = false;
                    }
                });
            }
            let RoomView {
                lines,
                editing,
                replying,
                jump_to,
                draft,
                uploads: ups,
                joined,
                ..
            } = &mut *r;
            let mut compose = super::message::Compose {
                jump_to,
                replying,
                editing,
                draft,
            };
            for line in lines.iter() {
                room_line(ui, line, &jid, *joined, &mut compose, out);
            }
            uploads(ui, &jid, ups, out);
        });
    let name = r.display_name().to_string();
    files_in(ui, &jid, &name, out);
    let doing = match (&r.editing, &r.replying) {
        (Some(_), _) => Some(t!("rooms-editing")),
        (None, Some(q)) => Some(t!("rooms-replying", text = &q.text)),
        _ => None,
    };
    if let Some(doing) = doing {
        ui.horizontal(|ui| {
            ui.label(RichText::new(doing).small().weak());
            if ui.small_button(t!("rooms-cancel")).clicked()
                || ui.input(|i| i.key_pressed(egui::Key::Escape))
            {
                if r.editing.take().is_some() {
                    r.draft.clear();
                }
                r.replying = None;
            }
        });
    }
    ui.horizontal(|ui| {
        let l = ui.label(t!("rooms-message"));
        let t = ui
            .add_enabled(
                r.joined,
                TextEdit::singleline(&mut r.draft)
                    .desired_width(ui.available_width() - 100.0)
                    .hint_text(t!("rooms-message-hint")),
            )
            .labelled_by(l.id);
        if t.has_focus() && r.draft.is_empty() && ui.input(|i| i.key_pressed(egui::Key::ArrowUp)) {
            edit_last_in_room(r);
        }
        let enter = t.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(r.joined, egui::Button::new("📎"))
            .on_hover_text(t!("rooms-attach-hover"))
            .clicked()
        {
            out.push(UiCommand::AttachFile { to: jid.clone() });
        }
        if (ui
            .add_enabled(r.joined, egui::Button::new(t!("rooms-send")))
            .clicked()
            || enter)
            && !r.draft.trim().is_empty()
        {
            let body = r.draft.trim().to_string();
            out.push(match (r.editing.take(), r.replying.take()) {
                (Some(id), _) => UiCommand::Correct {
                    to: jid.clone(),
                    id,
                    body,
                },
                (None, Some(q)) => UiCommand::Reply {
                    to: jid.clone(),
                    id: q.id,
                    body,
                },
                (None, None) => UiCommand::SendRoomMessage {
                    room: jid.clone(),
                    body,
                },
            });
            r.draft.clear();
            t.request_focus();
        }
    });
}

/// The room's subject; in the room, a click to change it (the room says in words
/// when it does not let us).
fn subject(ui: &mut egui::Ui, r: &mut RoomView, room: &str, out: &mut Vec<UiCommand>) {
    if let Some(draft) = &mut r.subject_draft {
        let mut done = None;
        ui.horizontal(|ui| {
            let l = ui.label(t!("rooms-subject"));
            let t = ui
                .add(TextEdit::singleline(draft).desired_width(ui.available_width() - 130.0))
                .labelled_by(l.id);
            let enter = t.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button(t!("rooms-save")).clicked() || enter {
                done = Some(true);
            }
            if ui.button(t!("rooms-cancel")).clicked() {
                done = Some(false);
            }
        });
        match done {
            Some(true) => {
                out.push(UiCommand::SetRoomSubject {
                    room: room.to_string(),
                    subject: draft.trim().to_string(),
                });
                r.subject_draft = None;
            }
            Some(false) => r.subject_draft = None,
            None => {}
        }
        return;
    }
    ui.horizontal_wrapped(|ui| {
        if let Some(s) = &r.subject {
            ui.add(egui::Label::new(RichText::new(s).italics().weak()).wrap());
        }
        if r.joined
            && ui
                .small_button(if r.subject.is_some() {
                    t!("rooms-change-subject")
                } else {
                    t!("rooms-set-subject")
                })
                .clicked()
        {
            r.subject_draft = Some(r.subject.clone().unwrap_or_default());
        }
    });
}

/// One line of the room: a notice, or a message with who sent it, its quote, its
/// text (or tombstone, or file), "edited", reactions and (right click) reply, react,
/// and for ours edit and retract.
fn room_line(
    ui: &mut egui::Ui,
    line: &crate::model::RoomLine,
    room: &str,
    joined: bool,
    conv: &mut super::message::Compose<'_>,
    out: &mut Vec<UiCommand>,
) {
    let time = RichText::new(clock_time(line.ts_ms)).small().weak();
    if line.kind == RoomLineKind::Notice {
        ui.horizontal_wrapped(|ui| {
            ui.label(time);
            ui.label(RichText::new(&line.body).italics().weak());
        });
        return;
    }
    let nick_color = if line.own {
        Color32::from_rgb(60, 130, 220)
    } else {
        nick_color(&line.nick)
    };
    let frame = if line.mention {
        egui::Frame::new()
            .fill(Color32::from_rgba_unmultiplied(220, 170, 40, 40))
            .corner_radius(4.0)
    } else {
        egui::Frame::new()
    };
    let reference = line.reference();
    let extra = &line.extra;
    let response = frame
        .show(ui, |ui| {
            if let Some(q) = &extra.reply {
                let quote = ui.add(
                    egui::Label::new(RichText::new(format!("↪ {}", q.text)).small().weak())
                        .sense(egui::Sense::click()),
                );
                if quote.on_hover_text(t!("rooms-show-answered")).clicked() {
                    *conv.jump_to = Some(q.id.clone());
                }
            }
            let r = ui.horizontal_wrapped(|ui| {
                ui.label(time);
                let who = match line.kind {
                    RoomLineKind::Private { outgoing: true } => {
                        t!("rooms-private-to", nick = &line.nick)
                    }
                    RoomLineKind::Private { outgoing: false } => {
                        t!("rooms-private-from", nick = &line.nick)
                    }
                    _ => line.nick.clone(),
                };
                ui.label(RichText::new(who).strong().color(nick_color));
                if extra.retracted {
                    ui.label(RichText::new(t!("rooms-retracted")).italics().weak());
                } else if let Some(f) = &extra.file {
                    super::message::file_card(ui, f, room, reference, out);
                } else {
                    ui.add(egui::Label::new(line.body.as_str()).wrap());
                }
                if extra.edited && !extra.retracted {
                    ui.label(RichText::new(t!("rooms-edited")).small().weak());
                }
            });
            super::message::reaction_chips(ui, reference, room, extra, out);
            r.response
        })
        .inner;
    if conv.jump_to.as_deref() == Some(reference) {
        response.scroll_to_me(Some(Align::Center));
        *conv.jump_to = None;
    }
    if extra.retracted || line.kind != RoomLineKind::Message || !joined {
        return;
    }
    response.context_menu(|ui| {
        if ui.button(t!("rooms-reply")).clicked() {
            *conv.replying = Some(crate::model::ReplyPreview {
                id: reference.to_string(),
                text: super::message::preview(&line.body),
            });
            *conv.editing = None;
            ui.close();
        }
        ui.menu_button(t!("rooms-react"), |ui| {
            ui.horizontal(|ui| {
                for e in crate::model::QUICK_REACTIONS {
                    if ui.button(e).clicked() {
                        super::message::react(reference, room, extra, e, out);
                        ui.close();
                    }
                }
            });
        });
        if line.own {
            if ui.button(t!("rooms-edit")).clicked() {
                *conv.editing = Some(line.id.clone());
                *conv.replying = None;
                *conv.draft = line.body.clone();
                ui.close();
            }
            if ui.button(t!("rooms-retract")).clicked() {
                out.push(UiCommand::Retract {
                    to: room.to_string(),
                    id: reference.to_string(),
                });
                ui.close();
            }
        }
    });
}

/// ↑ in an empty message field: edit our latest message in the room.
fn edit_last_in_room(r: &mut RoomView) {
    let last = r
        .lines
        .iter()
        .rev()
        .find(|l| {
            l.own && l.kind == RoomLineKind::Message && !l.extra.retracted && l.extra.file.is_none()
        })
        .map(|l| (l.id.clone(), l.body.clone()));
    if let Some((id, body)) = last {
        r.editing = Some(id);
        r.replying = None;
        r.draft = body;
    }
}

/// A steady colour per nick, so that people are told apart at a glance.
fn nick_color(nick: &str) -> Color32 {
    const COLORS: [Color32; 6] = [
        Color32::from_rgb(180, 80, 60),
        Color32::from_rgb(60, 140, 80),
        Color32::from_rgb(140, 90, 170),
        Color32::from_rgb(30, 130, 140),
        Color32::from_rgb(170, 120, 30),
        Color32::from_rgb(200, 70, 120),
    ];
    let h = nick
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS
        .get((h as usize) % COLORS.len())
        .copied()
        .unwrap_or(Color32::GRAY)
}

/// The people in the room by role, virtualized (a room of thousands costs what a
/// screenful does); a moderator's or admin's right click offers what they may do.
fn occupant_list(ui: &mut egui::Ui, r: &RoomView, room: &str, out: &mut Vec<UiCommand>) {
    use crate::command::Moderation;
    let me = r.me();
    let moderator = me.is_some_and(|m| m.role == "moderator");
    let admin = me.is_some_and(|m| matches!(m.affiliation.as_str(), "admin" | "owner"));
    let owner = me.is_some_and(|m| m.affiliation == "owner");
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, OCCUPANT_ROW_HEIGHT, r.occupants.len(), |ui, range| {
            for o in r.occupants.get(range).unwrap_or_default() {
                ui.horizontal(|ui| {
                    ui.set_height(OCCUPANT_ROW_HEIGHT - 2.0);
                    let color = match o.show.as_str() {
                        "available" | "chat" => Color32::from_rgb(60, 170, 90),
                        "dnd" => Color32::from_rgb(200, 60, 60),
                        _ => Color32::from_rgb(220, 170, 40),
                    };
                    presence_dot(ui, color);
                    let name = ui.add(egui::Label::new(&o.nick).sense(egui::Sense::click()));
                    if o.role == "moderator" {
                        ui.label(RichText::new(t!("rooms-role-moderator")).small().weak());
                    } else if o.role == "visitor" {
                        ui.label(RichText::new(t!("rooms-role-visitor")).small().weak());
                    }
                    name
                })
                .inner
                .on_hover_text(o.jid.clone().unwrap_or_else(|| o.affiliation.clone()))
                .context_menu(|ui| {
                    let mut offer = |ui: &mut egui::Ui, label: &str, action: Moderation| {
                        if ui.button(label).clicked() {
                            out.push(UiCommand::ModerateOccupant {
                                room: room.to_string(),
                                nick: o.nick.clone(),
                                action,
                            });
                            ui.close();
                        }
                    };
                    if o.nick == r.nick || !(moderator || admin) {
                        ui.label(t!("rooms-nothing-to-change"));
                        return;
                    }
                    if moderator {
                        offer(ui, &t!("rooms-kick"), Moderation::Kick);
                        match o.role.as_str() {
                            "visitor" => offer(ui, &t!("rooms-give-voice"), Moderation::Voice),
                            _ => offer(ui, &t!("rooms-take-voice"), Moderation::Mute),
                        }
                    }
                    if admin {
                        offer(ui, &t!("rooms-ban"), Moderation::Ban);
                        offer(ui, &t!("rooms-make-member"), Moderation::Member);
                        offer(ui, &t!("rooms-make-admin"), Moderation::Admin);
                    }
                    if owner {
                        offer(ui, &t!("rooms-make-owner"), Moderation::Owner);
                        if o.affiliation != "none" {
                            offer(ui, &t!("rooms-revoke"), Moderation::Revoke);
                        }
                    }
                });
            }
        });
}
