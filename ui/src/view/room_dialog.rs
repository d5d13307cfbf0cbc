//! The rooms dialog in the Rooms tab: join a room by its address, create one
//! configured (name, members-only, persistent, public, password), or browse a MUC
//! service's public rooms narrowed by name.

use crate::model::{JoinForm, RoomDialogTab};
use crate::t;

use super::*;

/// Height of one directory row; fixed so that a long directory is virtualized.
const DIRECTORY_ROW_HEIGHT: f32 = 24.0;

pub(super) fn room_dialog(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let domain = model
        .account
        .as_deref()
        .and_then(|a| a.split('@').nth(1))
        .unwrap_or_default()
        .to_string();
    let f = &mut model.join_form;
    ui.horizontal(|ui| {
        ui.selectable_value(&mut f.tab, RoomDialogTab::Join, t!("rooms-tab-address"));
        ui.selectable_value(&mut f.tab, RoomDialogTab::Create, t!("rooms-tab-new"));
        ui.selectable_value(&mut f.tab, RoomDialogTab::Browse, t!("rooms-tab-directory"));
    });
    match f.tab {
        RoomDialogTab::Join => join_tab(ui, f, out),
        RoomDialogTab::Create => create_tab(ui, f, &domain, out),
        RoomDialogTab::Browse => browse_tab(ui, f, &domain, out),
    }
}

fn nick_field(ui: &mut egui::Ui, f: &mut JoinForm) {
    let l = ui.label(t!("rooms-nickname"));
    ui.add(TextEdit::singleline(&mut f.nick)).labelled_by(l.id);
}

fn join_tab(ui: &mut egui::Ui, f: &mut JoinForm, out: &mut Vec<UiCommand>) {
    let l = ui.label(t!("rooms-address"));
    ui.add(TextEdit::singleline(&mut f.room).hint_text("team@conference.example.org"))
        .labelled_by(l.id);
    nick_field(ui, f);
    let l = ui.label(t!("rooms-password-if-any"));
    ui.add(TextEdit::singleline(&mut f.password).password(true))
        .labelled_by(l.id);
    let ready = f.room.contains('@') && !f.nick.trim().is_empty();
    if ui
        .add_enabled(ready, egui::Button::new(t!("rooms-join")))
        .clicked()
    {
        out.push(UiCommand::JoinRoom {
            room: f.room.trim().to_string(),
            nick: f.nick.trim().to_string(),
            password: Some(f.password.clone()).filter(|p| !p.is_empty()),
        });
        close(f);
    }
}

fn create_tab(ui: &mut egui::Ui, f: &mut JoinForm, domain: &str, out: &mut Vec<UiCommand>) {
    let l = ui.label(t!("rooms-address"));
    let hint = format!("team@conference.{domain}");
    ui.add(TextEdit::singleline(&mut f.room).hint_text(hint))
        .labelled_by(l.id);
    let l = ui.label(t!("rooms-name"));
    ui.add(TextEdit::singleline(&mut f.name).hint_text(t!("rooms-name-hint")))
        .labelled_by(l.id);
    nick_field(ui, f);
    ui.checkbox(&mut f.members_only, t!("rooms-members-only"))
        .on_hover_text(t!("rooms-members-only-hover"));
    ui.checkbox(&mut f.persistent, t!("rooms-persistent"));
    ui.checkbox(&mut f.public, t!("rooms-public"));
    let l = ui.label(t!("rooms-password-optional"));
    ui.add(TextEdit::singleline(&mut f.password).password(true))
        .labelled_by(l.id);
    let ready = f.room.contains('@') && !f.nick.trim().is_empty();
    if ui
        .add_enabled(ready, egui::Button::new(t!("rooms-create")))
        .clicked()
    {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        out.push(UiCommand::CreateRoom {
            room: f.room.trim().to_string(),
            nick: f.nick.trim().to_string(),
            name: text(&f.name),
            members_only: f.members_only,
            persistent: f.persistent,
            public: f.public,
            password: text(&f.password),
        });
        close(f);
    }
}

fn browse_tab(ui: &mut egui::Ui, f: &mut JoinForm, domain: &str, out: &mut Vec<UiCommand>) {
    if f.service.is_empty() && !domain.is_empty() {
        f.service = format!("conference.{domain}");
    }
    ui.horizontal(|ui| {
        let l = ui.label(t!("rooms-service"));
        let t = ui
            .add(TextEdit::singleline(&mut f.service).desired_width(180.0))
            .labelled_by(l.id);
        let enter = t.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let ready = !f.service.trim().is_empty() && !f.listing;
        if (ui
            .add_enabled(ready, egui::Button::new(t!("rooms-list")))
            .clicked()
            || enter)
            && ready
        {
            out.push(UiCommand::ListRooms {
                service: f.service.trim().to_string(),
            });
            f.listing = true;
        }
    });
    if f.listing {
        // Words, not a spinner: the window repaints when the answer comes, not in a loop.
        ui.label(RichText::new(t!("rooms-asking")).weak());
        return;
    }
    let Some(all) = f.directory.as_ref().map(Vec::len) else {
        return;
    };
    let l = ui.label(t!("rooms-search"));
    ui.add(TextEdit::singleline(&mut f.filter).hint_text(t!("rooms-search-hint")))
        .labelled_by(l.id);
    let rows: Vec<(String, Option<String>)> = f
        .matching()
        .into_iter()
        .map(|r| (r.jid.clone(), r.name.clone()))
        .collect();
    ui.label(RichText::new(t!("rooms-directory-count", shown = rows.len(), all = all)).weak());
    let mut join = None;
    ScrollArea::vertical()
        .id_salt("directory")
        .max_height(240.0)
        .auto_shrink([false, true])
        .show_rows(ui, DIRECTORY_ROW_HEIGHT, rows.len(), |ui, range| {
            for (jid, name) in rows.get(range).unwrap_or_default() {
                ui.horizontal(|ui| {
                    ui.set_height(DIRECTORY_ROW_HEIGHT - 2.0);
                    if ui.small_button(t!("rooms-join")).clicked() {
                        join = Some(jid.clone());
                    }
                    ui.label(name.as_deref().unwrap_or(jid.as_str()))
                        .on_hover_text(jid.as_str());
                });
            }
        });
    if let Some(room) = join {
        out.push(UiCommand::JoinRoom {
            room,
            nick: f.nick.trim().to_string(),
            password: None,
        });
        close(f);
    }
}

/// The dialog closes; the directory (and where it came from) stays for next time.
fn close(f: &mut JoinForm) {
    *f = JoinForm {
        service: std::mem::take(&mut f.service),
        directory: f.directory.take(),
        nick: std::mem::take(&mut f.nick),
        ..Default::default()
    };
}
