//! A conversation: the timeline, typing, and the message field.

use super::*;
use crate::t;

/// What to tell the peer about our typing, if anything changed: composing on the first
/// key, active when the draft is emptied, paused after a quiet spell.
pub(crate) fn typing_change(
    conv: &mut Conversation,
    edited: bool,
    now: f64,
) -> Option<TypingState> {
    if edited {
        conv.last_typed_s = now;
        if conv.draft.is_empty() {
            return std::mem::take(&mut conv.composing_sent).then_some(TypingState::Active);
        }
        if !conv.composing_sent {
            conv.composing_sent = true;
            return Some(TypingState::Composing);
        }
    } else if conv.composing_sent && now - conv.last_typed_s >= TYPING_PAUSE_S {
        conv.composing_sent = false;
        return Some(TypingState::Paused);
    }
    None
}

/// The conversation with the selected contact: call buttons, timeline, input.
pub fn conversation(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let Some(jid) = model.selected.clone() else {
        ui.centered_and_justified(|ui| {
            ui.label(t!("chat-choose-contact"));
        });
        return;
    };
    let contact = model.contact(&jid).cloned().unwrap_or_default();
    ui.horizontal(|ui| {
        avatar(ui, 28.0, Face::of(model, &jid));
        ui.heading(contact.display_name());
        ui.label(RichText::new(&jid).weak());
        encryption_state(ui, model, &jid);
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.menu_button(t!("chat-more"), |ui| {
                if model.settings.omemo && ui.button(t!("chat-encryption-devices")).clicked() {
                    out.push(UiCommand::OmemoDevices { jid: jid.clone() });
                    match model.omemo.as_mut().filter(|v| v.jid == jid) {
                        Some(v) => v.open = true,
                        None => {
                            model.omemo = Some(OmemoView {
                                jid: jid.clone(),
                                open: true,
                                ..Default::default()
                            })
                        }
                    }
                    ui.close();
                }
                let blocked = model.blocked.contains(&jid);
                let label = if blocked {
                    t!("chat-unblock-contact", name = contact.display_name())
                } else {
                    t!("chat-block-contact", name = contact.display_name())
                };
                if ui.button(label).clicked() {
                    out.push(UiCommand::Block {
                        jid: jid.clone(),
                        blocked: !blocked,
                    });
                    ui.close();
                }
                let label = t!("chat-remove-contact", name = contact.display_name());
                if ui.button(label).clicked() {
                    out.push(UiCommand::RemoveContact { jid: jid.clone() });
                    ui.close();
                }
            });
            let busy = model.call.is_some();
            if ui
                .add_enabled(
                    contact.can_video && !busy,
                    egui::Button::new(t!("chat-video-call")),
                )
                .clicked()
            {
                out.push(UiCommand::Call {
                    jid: jid.clone(),
                    video: true,
                });
            }
            if ui
                .add_enabled(
                    contact.can_audio && !busy,
                    egui::Button::new(t!("chat-call")),
                )
                .clicked()
            {
                out.push(UiCommand::Call {
                    jid: jid.clone(),
                    video: false,
                });
            }
        });
    });
    ui.separator();
    devices(ui, model, &jid, out);
    let conv = model.conversations.entry(jid.clone()).or_default();
    let input_height = 36.0;
    ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .max_height(ui.available_height() - input_height - 8.0)
        .show(ui, |ui| {
            if conv.more_history {
                ui.vertical_centered(|ui| {
                    if ui.button(t!("chat-show-earlier")).clicked() {
                        out.push(UiCommand::LoadEarlier { jid: jid.clone() });
                        conv.more_history = false;
                    }
                });
            }
            let mut day = String::new();
            let Conversation {
                items,
                jump_to,
                replying,
                editing,
                draft,
                ..
            } = &mut *conv;
            let mut compose = Compose {
                jump_to,
                replying,
                editing,
                draft,
            };
            for item in items.iter() {
                let ts_ms = match item {
                    TimelineItem::Message { ts_ms, .. } | TimelineItem::Call { ts_ms, .. } => {
                        *ts_ms
                    }
                };
                let this_day = day_label(ts_ms, model.now_ms);
                if this_day != day {
                    ui.vertical_centered(|ui| ui.label(RichText::new(&this_day).small().weak()));
                    day = this_day;
                }
                match item {
                    TimelineItem::Message {
                        id,
                        outgoing,
                        body,
                        ts_ms,
                        delivery,
                        extra,
                        ..
                    } => {
                        let row = Row {
                            id,
                            outgoing: *outgoing,
                            body,
                            ts_ms: *ts_ms,
                            delivery: *delivery,
                            extra,
                        };
                        message_row(ui, row, &jid, &mut compose, out);
                    }
                    TimelineItem::Call {
                        outgoing,
                        answered,
                        duration_s,
                        ..
                    } => {
                        let text = match (answered, outgoing, duration_s) {
                            (true, _, Some(d)) if *d >= 60 => {
                                t!("chat-call-minutes", min = d / 60, sec = d % 60)
                            }
                            (true, _, Some(d)) => t!("chat-call-seconds", sec = *d),
                            (false, true, _) => t!("chat-call-not-answered"),
                            (false, false, _) => t!("chat-call-missed"),
                            _ => t!("chat-call-item"),
                        };
                        let text = format!("{text} · {}", clock_time(ts_ms));
                        ui.vertical_centered(|ui| ui.label(RichText::new(text).italics().weak()));
                    }
                }
            }
            uploads(ui, &jid, &conv.uploads, out);
            if conv.peer_typing {
                ui.label(
                    RichText::new(t!("chat-typing", name = contact.display_name()))
                        .italics()
                        .weak(),
                );
            }
        });
    files_in(ui, &jid, contact.display_name(), out);
    // Read: the conversation is on screen in a focused window.
    let newest_in = conv.items.iter().rev().find_map(|i| match i {
        TimelineItem::Message {
            id,
            outgoing: false,
            ..
        } => Some(id.clone()),
        _ => None,
    });
    if newest_in.is_some()
        && newest_in != conv.marked_read
        && ui.input(|i| i.viewport().focused.unwrap_or(true))
    {
        conv.marked_read = newest_in;
        out.push(UiCommand::MarkRead { jid: jid.clone() });
    }
    let doing = match (&conv.editing, &conv.replying) {
        (Some(_), _) => Some(t!("chat-editing")),
        (None, Some(r)) => Some(t!("chat-replying-to", text = &r.text)),
        _ => None,
    };
    if let Some(doing) = doing {
        ui.horizontal(|ui| {
            ui.label(RichText::new(doing).small().weak());
            if ui.small_button(t!("chat-cancel")).clicked()
                || ui.input(|i| i.key_pressed(egui::Key::Escape))
            {
                if conv.editing.take().is_some() {
                    conv.draft.clear();
                }
                conv.replying = None;
            }
        });
    }
    ui.horizontal(|ui| {
        let l = ui.label(t!("chat-message"));
        let r = ui
            .add(
                TextEdit::singleline(&mut conv.draft)
                    .desired_width(ui.available_width() - 100.0)
                    .hint_text(t!("chat-message-hint")),
            )
            .labelled_by(l.id);
        if r.has_focus() && conv.draft.is_empty() && ui.input(|i| i.key_pressed(egui::Key::ArrowUp))
        {
            edit_last(conv);
        }
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .button("📎")
            .on_hover_text(t!("chat-attach-hover"))
            .clicked()
        {
            out.push(UiCommand::AttachFile { to: jid.clone() });
        }
        let now = ui.input(|i| i.time);
        if (ui.button(t!("chat-send")).clicked() || enter) && !conv.draft.trim().is_empty() {
            let body = conv.draft.trim().to_string();
            out.push(match (conv.editing.take(), conv.replying.take()) {
                (Some(id), _) => UiCommand::Correct {
                    to: jid.clone(),
                    id,
                    body,
                },
                (None, Some(r)) => UiCommand::Reply {
                    to: jid.clone(),
                    id: r.id,
                    body,
                },
                (None, None) => UiCommand::SendMessage {
                    to: jid.clone(),
                    body,
                },
            });
            conv.draft.clear();
            // The message itself says `active`.
            conv.composing_sent = false;
            r.request_focus();
        } else if let Some(state) = typing_change(conv, r.changed(), now) {
            out.push(UiCommand::Typing {
                to: jid.clone(),
                state,
            });
        }
        if conv.composing_sent {
            // Wake up to say "paused" if no key comes.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs_f64(TYPING_PAUSE_S));
        }
    });
}

/// Our files on their way: progress and Cancel, or why one failed.
pub(crate) fn uploads(ui: &mut egui::Ui, jid: &str, uploads: &[Upload], out: &mut Vec<UiCommand>) {
    for up in uploads {
        ui.with_layout(Layout::top_down(Align::Max), |ui| {
            ui.label(format!("📎 {}", up.name));
            ui.horizontal(|ui| match &up.failed {
                Some(why) => {
                    ui.label(
                        RichText::new(why)
                            .small()
                            .color(ui.visuals().error_fg_color),
                    );
                    if ui.small_button(t!("chat-dismiss")).clicked() {
                        out.push(UiCommand::DismissUpload {
                            peer: jid.to_string(),
                            id: up.id.clone(),
                        });
                    }
                }
                None => {
                    progress(ui, up.done, up.total);
                    if ui.small_button(t!("chat-cancel")).clicked() {
                        out.push(UiCommand::CancelTransfer { id: up.id.clone() });
                    }
                }
            });
        });
    }
}

/// Files dropped on the window, or a picture pasted, go to this conversation; while
/// files hover over it, it says so.
pub(crate) fn files_in(ui: &mut egui::Ui, jid: &str, name: &str, out: &mut Vec<UiCommand>) {
    let (hovering, dropped, pasted) = ui.input(|i| {
        let pasted = i.events.iter().find_map(|e| match e {
            egui::Event::PasteImage(img) => Some(img.clone()),
            _ => None,
        });
        let dropped: Vec<std::path::PathBuf> = i
            .raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        (!i.raw.hovered_files.is_empty(), dropped, pasted)
    });
    if !dropped.is_empty() {
        out.push(UiCommand::SendFiles {
            to: jid.to_string(),
            paths: dropped,
        });
    }
    if let Some(img) = pasted {
        let [width, height] = img.size;
        out.push(UiCommand::SendPicture {
            to: jid.to_string(),
            width,
            height,
            rgba: img
                .pixels
                .iter()
                .flat_map(|p| p.to_srgba_unmultiplied())
                .collect(),
        });
    }
    if hovering {
        let rect = ui.max_rect();
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop files"),
        ));
        painter.rect_filled(rect, 8.0, ui.visuals().extreme_bg_color.gamma_multiply(0.9));
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            t!("chat-drop-to-send", name = name),
            egui::FontId::proportional(20.0),
            ui.visuals().strong_text_color(),
        );
    }
}
