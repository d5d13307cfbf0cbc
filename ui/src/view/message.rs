//! One chat message in a conversation: its body (or a tombstone), "edited", the
//! quote of the message it answers (a click jumps there), reaction chips (a click
//! adds or takes back ours) and a menu (right click) to reply, react, edit or retract.

use super::*;
use crate::model::{MessageExtras, ReplyPreview, QUICK_REACTIONS};
use crate::t;

/// What a message row needs to know about its message.
pub(crate) struct Row<'a> {
    pub id: &'a str,
    pub outgoing: bool,
    pub body: &'a str,
    pub ts_ms: i64,
    pub delivery: Delivery,
    pub extra: &'a MessageExtras,
}

/// The parts of a conversation a message's menu changes (the draft and what it
/// does), apart from its timeline, which is being drawn.
pub(crate) struct Compose<'a> {
    pub jump_to: &'a mut Option<String>,
    pub replying: &'a mut Option<ReplyPreview>,
    pub editing: &'a mut Option<String>,
    pub draft: &'a mut String,
}

/// Draws one message; pushes what its menu and chips ask for.
pub(crate) fn message_row(
    ui: &mut egui::Ui,
    m: Row<'_>,
    jid: &str,
    conv: &mut Compose<'_>,
    out: &mut Vec<UiCommand>,
) {
    // Ours on the right, theirs on the left; each a column: quote, text, time, chips.
    let layout = if m.outgoing {
        Layout::top_down(Align::Max)
    } else {
        Layout::top_down(Align::Min)
    };
    let response = ui
        .with_layout(layout, |ui| {
            ui.scope(|ui| {
                if let Some(r) = &m.extra.reply {
                    let quote = ui.add(
                        egui::Label::new(RichText::new(format!("↪ {}", r.text)).small().weak())
                            .sense(egui::Sense::click()),
                    );
                    if quote.on_hover_text(t!("chat-show-answered")).clicked() {
                        *conv.jump_to = Some(r.id.clone());
                    }
                }
                let body = if m.extra.retracted {
                    ui.label(RichText::new(t!("chat-retracted")).italics().weak())
                } else if let Some(f) = &m.extra.file {
                    file_card(ui, f, jid, m.id, out)
                } else {
                    ui.add(egui::Label::new(m.body).wrap().sense(egui::Sense::click()))
                };
                let mark = match m.delivery {
                    Delivery::Sending => format!(" · {}", t!("chat-status-sending")),
                    Delivery::Sent => format!(" · {}", t!("chat-status-sent")),
                    Delivery::Delivered => format!(" · {}", t!("chat-status-delivered")),
                    Delivery::Read => format!(" · {}", t!("chat-status-read")),
                    Delivery::Received => String::new(),
                };
                let edited = if m.extra.edited && !m.extra.retracted {
                    format!(" · {}", t!("chat-status-edited"))
                } else {
                    String::new()
                };
                ui.label(
                    RichText::new(format!("{}{edited}{mark}", clock_time(m.ts_ms)))
                        .small()
                        .weak(),
                );
                reaction_chips(ui, m.id, jid, m.extra, out);
                body
            })
            .inner
        })
        .inner;
    if conv.jump_to.as_deref() == Some(m.id) {
        response.scroll_to_me(Some(Align::Center));
        *conv.jump_to = None;
    }
    if m.extra.retracted {
        return;
    }
    response.context_menu(|ui| {
        if ui.button(t!("chat-reply")).clicked() {
            *conv.replying = Some(ReplyPreview {
                id: m.id.to_string(),
                text: preview(m.body),
            });
            *conv.editing = None;
            ui.close();
        }
        ui.menu_button(t!("chat-react"), |ui| {
            ui.horizontal(|ui| {
                for e in QUICK_REACTIONS {
                    if ui.button(e).clicked() {
                        react(m.id, jid, m.extra, e, out);
                        ui.close();
                    }
                }
            });
        });
        if m.outgoing {
            if ui.button(t!("chat-edit")).clicked() {
                *conv.editing = Some(m.id.to_string());
                *conv.replying = None;
                *conv.draft = m.body.to_string();
                ui.close();
            }
            if ui.button(t!("chat-retract")).clicked() {
                out.push(UiCommand::Retract {
                    to: jid.to_string(),
                    id: m.id.to_string(),
                });
                ui.close();
            }
        }
    });
}

/// One chip per emoji with its count; a click adds ours or takes it back.
pub(crate) fn reaction_chips(
    ui: &mut egui::Ui,
    id: &str,
    jid: &str,
    extra: &MessageExtras,
    out: &mut Vec<UiCommand>,
) {
    if extra.reactions.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for chip in &extra.reactions {
            let text = format!("{} {}", chip.emoji, chip.from.len());
            if ui
                .selectable_label(chip.mine, text)
                .on_hover_text(if chip.mine {
                    t!("chat-reaction-take-back")
                } else {
                    t!("chat-reaction-same", names = chip.from.join(", "))
                })
                .clicked()
            {
                react(id, jid, extra, &chip.emoji, out);
            }
        }
    });
}

/// Pictures are shown at most this wide (the texture is at most as large).
const PICTURE_WIDTH: f32 = 320.0;

/// A file: a picture once fetched (a click opens it), otherwise a card with its
/// name, size and what can be done: fetch (nothing is fetched before a click, but a
/// contact's pictures), follow the progress and cancel, open, retry.
pub(crate) fn file_card(
    ui: &mut egui::Ui,
    f: &crate::model::FileLink,
    peer: &str,
    id: &str,
    out: &mut Vec<UiCommand>,
) -> egui::Response {
    use crate::model::FileState;
    if let (Some(tex), FileState::Saved(path)) = (&f.picture, &f.state) {
        let [w, h] = tex.0.size();
        let scale = (PICTURE_WIDTH / w.max(1) as f32).min(1.0);
        let size = egui::vec2(w as f32 * scale, h as f32 * scale);
        let r = ui
            .add(egui::Image::new((tex.0.id(), size)).sense(egui::Sense::click()))
            .on_hover_text(t!("chat-picture-open", name = &f.name));
        if r.clicked() {
            out.push(UiCommand::OpenFile { path: path.clone() });
        }
        return r;
    }
    let icon = if f.is_picture() { "🖼" } else { "📎" };
    let size = f.size.map(size_words).map(|s| format!(" · {s}"));
    let fetch = |preview: bool| UiCommand::FetchFile {
        peer: peer.to_string(),
        id: id.to_string(),
        url: f.url.clone(),
        preview,
    };
    egui::Frame::group(ui.style())
        .show(ui, |ui| {
            ui.set_max_width(PICTURE_WIDTH);
            ui.label(format!("{icon} {}{}", f.name, size.unwrap_or_default()))
                .on_hover_text(&f.url);
            match &f.state {
                FileState::Remote => {
                    ui.horizontal(|ui| {
                        if f.is_picture() && ui.button(t!("chat-show-picture")).clicked() {
                            out.push(fetch(true));
                        }
                        if ui.button(t!("chat-download")).clicked() {
                            out.push(fetch(false));
                        }
                    });
                }
                FileState::Fetching { done, total } => {
                    ui.horizontal(|ui| {
                        progress(ui, *done, *total);
                        if ui.small_button(t!("chat-cancel")).clicked() {
                            out.push(UiCommand::CancelTransfer {
                                id: format!("dl:{id}"),
                            });
                        }
                    });
                }
                FileState::Saved(path) => {
                    ui.horizontal(|ui| {
                        if ui
                            .button(t!("chat-open"))
                            .on_hover_text(path.display().to_string())
                            .clicked()
                        {
                            out.push(UiCommand::OpenFile { path: path.clone() });
                        }
                        if f.is_picture() && f.picture.is_none() {
                            ui.label(RichText::new(t!("chat-no-preview")).small().weak());
                        }
                    });
                }
                FileState::Failed(why) => {
                    ui.label(
                        RichText::new(why)
                            .small()
                            .color(ui.visuals().error_fg_color),
                    );
                    if ui.small_button(t!("chat-try-again")).clicked() {
                        out.push(fetch(f.is_picture()));
                    }
                }
            }
        })
        .response
}

/// A transfer's progress bar: a fraction when the size is known, bytes otherwise.
pub(crate) fn progress(ui: &mut egui::Ui, done: u64, total: Option<u64>) {
    let bar = match total.filter(|t| *t > 0) {
        Some(t) => egui::ProgressBar::new(done as f32 / t as f32).text(t!(
            "chat-progress",
            done = size_words(done),
            total = size_words(t)
        )),
        None => egui::ProgressBar::new(0.0)
            .text(size_words(done))
            .animate(true),
    };
    ui.add(bar.desired_width(180.0));
}

/// A size as people read it.
pub fn size_words(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!(
            "{} MB",
            crate::i18n::decimal(n as f64 / (1024.0 * 1024.0), 1)
        ),
        n if n >= 1024 => format!("{} kB", n.div_ceil(1024)),
        n => t!("chat-size-bytes", count = n),
    }
}

/// Our reactions with `emoji` added, or taken back if it was ours.
pub(crate) fn react(
    id: &str,
    jid: &str,
    extra: &MessageExtras,
    emoji: &str,
    out: &mut Vec<UiCommand>,
) {
    let mut ours: Vec<String> = extra
        .reactions
        .iter()
        .filter(|c| c.mine)
        .map(|c| c.emoji.clone())
        .collect();
    match ours.iter().position(|e| e == emoji) {
        Some(i) => {
            ours.remove(i);
        }
        None => ours.push(emoji.to_string()),
    }
    out.push(UiCommand::React {
        to: jid.to_string(),
        id: id.to_string(),
        reactions: ours,
    });
}

/// A line of a message, for a reply's quote.
pub fn preview(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(80).collect();
    if short.len() < line.len() || body.lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// ↑ in an empty message field: edit our latest message, as Conversations and Dino do.
pub(crate) fn edit_last(conv: &mut Conversation) {
    let last = conv.items.iter().rev().find_map(|i| match i {
        TimelineItem::Message {
            id,
            outgoing: true,
            body,
            extra,
            ..
        } if !extra.retracted => Some((id.clone(), body.clone())),
        _ => None,
    });
    if let Some((id, body)) = last {
        conv.editing = Some(id);
        conv.replying = None;
        conv.draft = body;
    }
}
