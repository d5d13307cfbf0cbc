//! The left column: contacts (virtualized) and the call history.

use super::*;
use crate::t;

/// A small filled circle (drawn: the bundled fonts have no bullet glyph).
pub(crate) fn presence_dot(ui: &mut egui::Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.5, color);
}

pub(crate) fn availability_color(a: Availability) -> Color32 {
    match a {
        Availability::Available => Color32::from_rgb(60, 170, 90),
        Availability::Away => Color32::from_rgb(220, 170, 40),
        Availability::Busy => Color32::from_rgb(200, 60, 60),
        Availability::Offline => Color32::GRAY,
    }
}

/// The contact list: filter, add, pending requests, and a virtualized list (only the
/// rows in view are laid out, so 10 000 contacts cost what 20 do).
/// The left column: contacts or the call history.
pub fn left_column(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.selectable_value(
            &mut model.left_tab,
            LeftTab::Contacts,
            t!("chat-tab-contacts"),
        );
        let rooms = match (model.room_mentions(), model.invitations.len()) {
            (0, 0) => t!("chat-tab-rooms"),
            (0, 1) => t!("chat-tab-rooms-invitations", count = 1),
            (0, n) => t!("chat-tab-rooms-invitations", count = n),
            (m, _) => t!("chat-tab-rooms-mentions", count = m),
        };
        ui.selectable_value(&mut model.left_tab, LeftTab::Rooms, rooms);
        let missed = model
            .call_log
            .iter()
            .take_while(|c| !c.outgoing && c.duration_s.is_none())
            .count();
        let calls = if missed > 0 {
            t!("chat-tab-calls-missed", count = missed)
        } else {
            t!("chat-tab-calls")
        };
        ui.selectable_value(&mut model.left_tab, LeftTab::Calls, calls);
    });
    ui.separator();
    match model.left_tab {
        LeftTab::Contacts => contact_list(ui, model, out),
        LeftTab::Rooms => room_list(ui, model, out),
        LeftTab::Calls => call_history(ui, model, out),
    }
}

/// The call history, newest first; a click opens the conversation.
pub fn call_history(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    if model.call_report && model.call.is_none() && ui.button(t!("chat-copy-call-report")).clicked()
    {
        out.push(UiCommand::CopyCallReport);
    }
    if model.call_log.is_empty() {
        ui.label(RichText::new(t!("chat-no-calls")).weak());
        return;
    }
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, CONTACT_ROW_HEIGHT, model.call_log.len(), |ui, range| {
            for c in &model.call_log[range] {
                let name = model
                    .contact(&c.peer)
                    .map(|r| r.display_name().to_string())
                    .unwrap_or_else(|| c.peer.clone());
                let missed = !c.outgoing && c.duration_s.is_none();
                let when = format!(
                    "{} {}",
                    day_label(c.ts_ms, model.now_ms),
                    clock_time(c.ts_ms)
                );
                let r = ui
                    .horizontal(|ui| {
                        ui.set_height(CONTACT_ROW_HEIGHT - 4.0);
                        ui.vertical(|ui| {
                            let title = RichText::new(&name).size(15.0);
                            let title = if missed {
                                title.color(Color32::from_rgb(200, 60, 60))
                            } else {
                                title
                            };
                            let r = ui.add(egui::Button::new(title).frame(false));
                            ui.label(
                                RichText::new(format!("{} · {when}", c.summary()))
                                    .small()
                                    .weak(),
                            );
                            r
                        })
                        .inner
                    })
                    .inner;
                if r.clicked() {
                    out.push(UiCommand::SelectContact {
                        jid: c.peer.clone(),
                    });
                }
            }
        });
}

pub fn contact_list(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let l = ui.label(t!("chat-search-contacts"));
    ui.add(TextEdit::singleline(&mut model.filter).hint_text(t!("chat-search-hint")))
        .labelled_by(l.id);
    ui.horizontal(|ui| {
        let l = ui.label(t!("chat-add-contact"));
        let r = ui
            .add(TextEdit::singleline(&mut model.add_contact).desired_width(140.0))
            .labelled_by(l.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(t!("chat-add")).clicked() || enter) && model.add_contact.contains('@') {
            out.push(UiCommand::AddContact {
                jid: model.add_contact.trim().to_string(),
            });
            model.add_contact.clear();
        }
    });
    for jid in model.subscription_requests.clone() {
        ui.horizontal(|ui| {
            ui.label(t!("chat-wants-to-add", jid = &jid));
            if ui.button(t!("chat-allow")).clicked() {
                out.push(UiCommand::AnswerSubscription {
                    jid: jid.clone(),
                    accept: true,
                });
            }
            if ui.button(t!("chat-deny")).clicked() {
                out.push(UiCommand::AnswerSubscription {
                    jid: jid.clone(),
                    accept: false,
                });
            }
            if ui.button(t!("chat-block")).clicked() {
                out.push(UiCommand::AnswerSubscription {
                    jid: jid.clone(),
                    accept: false,
                });
                out.push(UiCommand::Block {
                    jid: jid.clone(),
                    blocked: true,
                });
            }
        });
    }
    ui.separator();
    let visible = model.visible_contacts();
    ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, CONTACT_ROW_HEIGHT, visible.len(), |ui, range| {
            for &i in &visible[range] {
                let c = &model.contacts[i];
                let selected = model.selected.as_deref() == Some(c.jid.as_str());
                if contact_row(ui, c, selected).clicked() {
                    out.push(UiCommand::SelectContact { jid: c.jid.clone() });
                }
            }
        });
}

/// A clickable list row of the fixed height, announced to screen readers by `label`,
/// its background drawn (selected, hovered); the inner rectangle to draw on, when
/// the row is in view.
pub(crate) fn list_row(
    ui: &mut egui::Ui,
    label: &str,
    selected: bool,
) -> (egui::Response, Option<egui::Rect>) {
    let (rect, response) = ui.allocate_exact_size(
        Vec2::new(ui.available_width(), CONTACT_ROW_HEIGHT),
        egui::Sense::click(),
    );
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::Button, ui.is_enabled(), selected, label)
    });
    if !ui.is_rect_visible(rect) {
        return (response, None);
    }
    let visuals = ui.visuals();
    let fill = if selected {
        Some(visuals.selection.bg_fill)
    } else if response.hovered() {
        Some(visuals.widgets.hovered.weak_bg_fill)
    } else {
        None
    };
    let inner = rect.shrink2(Vec2::new(0.0, 2.0));
    if let Some(fill) = fill {
        ui.painter().rect_filled(inner, 6.0, fill);
    }
    (response, Some(inner))
}

/// A count at the right end of a row (`text` on `color`).
pub(crate) fn row_badge(painter: &egui::Painter, inner: egui::Rect, text: String, color: Color32) {
    let g = painter.layout_no_wrap(text, egui::FontId::proportional(12.0), Color32::WHITE);
    let w = g.size().x.max(10.0) + 10.0;
    let badge = egui::Rect::from_center_size(
        egui::pos2(inner.right() - 6.0 - w / 2.0, inner.center().y),
        Vec2::new(w, 18.0),
    );
    painter.rect_filled(badge, 9.0, color);
    painter.galley(badge.center() - g.size() / 2.0, g, Color32::WHITE);
}

/// One contact: presence dot, name, status line and an unread badge, the whole row
/// clickable and announced to screen readers by the contact's name.
pub(crate) fn contact_row(
    ui: &mut egui::Ui,
    c: &crate::model::ContactRow,
    selected: bool,
) -> egui::Response {
    let (response, inner) = list_row(ui, c.display_name(), selected);
    let Some(inner) = inner else {
        return response;
    };
    let centre = egui::pos2(inner.left() + 18.0, inner.center().y);
    let face = avatar::Face {
        name: c.display_name(),
        jid: &c.jid,
        picture: c.avatar.as_ref(),
    };
    avatar::paint_avatar(ui, centre, 30.0, face);
    let visuals = ui.visuals();
    let painter = ui.painter();
    let text_color = if selected {
        visuals.selection.stroke.color
    } else {
        visuals.text_color()
    };
    // The contact's presence: a dot at the edge of their face.
    let dot = centre + Vec2::new(11.0, 10.0);
    painter.circle_filled(dot, 5.5, visuals.panel_fill);
    painter.circle_filled(dot, 4.0, availability_color(c.availability));
    let left = inner.left() + 42.0;
    let name_font = egui::FontId::proportional(15.0);
    let has_status = c.status.as_deref().is_some_and(|s| !s.is_empty());
    let name_y = if has_status {
        inner.top() + 4.0
    } else {
        inner.center().y - 9.0
    };
    let name = painter.layout_no_wrap(c.display_name().to_string(), name_font, text_color);
    painter.galley(egui::pos2(left, name_y), name, text_color);
    if let Some(status) = c.status.as_deref().filter(|s| !s.is_empty()) {
        let weak = visuals.weak_text_color();
        let g = painter.layout(
            status.to_string(),
            egui::FontId::proportional(12.0),
            weak,
            inner.width() - 42.0 - 40.0,
        );
        painter.galley(egui::pos2(left, inner.top() + 23.0), g, weak);
    }
    if c.unread > 0 {
        row_badge(
            painter,
            inner,
            c.unread.to_string(),
            Color32::from_rgb(60, 130, 220),
        );
    }
    response
}
