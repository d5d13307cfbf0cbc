//! The screens. Each function draws part of the `Model` and pushes the `UiCommand`s the
//! user's clicks and keys produce. Every input has an accessible label (AccessKit), so
//! screen readers and the tests find widgets by what they say.

use egui::{Align, Color32, Layout, RichText, ScrollArea, TextEdit, Vec2};

use crate::command::{TypingState, UiCommand};
use crate::model::{
    clock_time, day_label, grouped_fingerprint, validate_form, Availability, CallPhase,
    Conversation, Delivery, LeftTab, Model, OmemoView, TimelineItem, Upload, TYPING_PAUSE_S,
};
use crate::t;

/// Height of one contact row; fixed so that the list can be virtualized.
pub const CONTACT_ROW_HEIGHT: f32 = 44.0;

/// Draws the whole window for one frame.
pub fn show(ui: &mut egui::Ui, model: &mut Model) -> Vec<UiCommand> {
    crate::fonts::ensure_icons(ui.ctx());
    let mut out = Vec::new();
    if model.account.is_none() || model.adding_account {
        egui::CentralPanel::default().show(ui, |ui| {
            account_form(ui, model, &mut out);
            if model.adding_account {
                ui.vertical_centered(|ui| {
                    if ui.button(t!("common-cancel")).clicked() {
                        model.adding_account = false;
                        model.form.error = None;
                    }
                });
            }
        });
        return out;
    }
    egui::Panel::top("status").show(ui, |ui| status_bar(ui, model, &mut out));
    if model.settings_open {
        settings_window(ui.ctx(), model, &mut out);
    }
    if model.incoming.is_some() {
        incoming_call(ui.ctx(), model, &mut out);
    }
    screen_picker(ui.ctx(), model, &mut out);
    if model.call.is_some() {
        egui::Panel::top("call")
            .min_size(64.0)
            .show(ui, |ui| call_bar(ui, model, &mut out));
    }
    egui::Panel::left("contacts")
        .resizable(true)
        .default_size(280.0)
        .show(ui, |ui| left_column(ui, model, &mut out));
    if let Some(call) = model.call.as_ref().filter(|c| c.video) {
        // A shared screen (wider than a camera's picture) gets most of the window.
        let wide = call
            .remote_video
            .as_ref()
            .is_some_and(|t| t.0.size()[0] >= 1024 && !call.peer_camera_off);
        let least = if wide {
            ui.available_height() * 0.6
        } else {
            0.0
        };
        let toggled = egui::Panel::top("video")
            .resizable(true)
            .default_size(360.0)
            .min_size(least)
            .show(ui, |ui| {
                video_area(ui, call, Face::of(model, &call.peer).name)
            })
            .inner;
        if let (true, Some(call)) = (toggled, model.call.as_mut()) {
            call.video_actual_size = !call.video_actual_size;
        }
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if model.selected_room.is_some() {
            room_view(ui, model, &mut out)
        } else {
            conversation(ui, model, &mut out)
        }
    });
    out
}

fn status_bar(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let (dot, text) = match model.connection {
            crate::model::Connection::Online => {
                (Color32::from_rgb(60, 170, 90), t!("common-online"))
            }
            crate::model::Connection::Connecting => {
                (Color32::from_rgb(220, 170, 40), t!("common-connecting"))
            }
            crate::model::Connection::Offline => (Color32::GRAY, t!("common-offline")),
        };
        // Online, the dot is our own status's colour, as contacts see it.
        let dot = match model.connection {
            crate::model::Connection::Online => availability_color(model.status.availability()),
            _ => dot,
        };
        presence_dot(ui, dot);
        if let Some(me) = model.account.as_deref() {
            let face = Face {
                name: me,
                jid: me,
                picture: model.own_avatar.as_ref(),
            };
            avatar(ui, 22.0, face);
        }
        account_switcher(ui, model, out);
        if model.connection == crate::model::Connection::Online {
            status_picker(ui, model, out);
        } else {
            ui.label(text);
        }
        if let Some(n) = &model.notice {
            ui.separator();
            ui.colored_label(Color32::from_rgb(200, 60, 60), n);
            if ui
                .small_button("✕")
                .on_hover_text(t!("common-dismiss"))
                .clicked()
            {
                model.notice = None;
                model.notice_call = None;
            }
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button(t!("common-settings")).clicked() {
                model.settings_open = !model.settings_open;
            }
        });
    });
}

/// Our status: available, away, or do not disturb (calls refused as busy).
fn status_picker(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let now = model.status;
    egui::ComboBox::from_id_salt("my-status")
        .selected_text(now.label())
        .show_ui(ui, |ui| {
            for s in crate::model::MyStatus::ALL {
                if ui.selectable_label(s == now, s.label()).clicked() && s != now {
                    model.status = s;
                    out.push(UiCommand::SetStatus(s));
                }
            }
        })
        .response
        .on_hover_text(t!("common-status-hint"));
}

/// A device picker: the system default, then each device by name. Returns the new
/// choice when the user picked one.
fn device_picker(
    ui: &mut egui::Ui,
    salt: &str,
    label: &str,
    devices: &[String],
    current: &Option<String>,
) -> Option<Option<String>> {
    let mut picked = None;
    let system_default = t!("common-system-default");
    let shown = current
        .as_deref()
        .map_or(system_default.clone(), device_name);
    // The label before its box (a ComboBox's own label stands after it, so that in a
    // row of pickers it read as the next box's).
    ui.horizontal(|ui| {
        let name = ui.label(label);
        egui::ComboBox::from_id_salt(salt)
            .selected_text(shown)
            .width(200.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(current.is_none(), system_default)
                    .clicked()
                {
                    picked = Some(None);
                }
                for d in devices {
                    if ui
                        .selectable_label(current.as_deref() == Some(d.as_str()), device_name(d))
                        .clicked()
                    {
                        picked = Some(Some(d.clone()));
                    }
                }
            })
            .response
            .labelled_by(name.id);
    });
    picked
}

/// A device's name as the pickers show it: the test pattern's in the window's language.
fn device_name(d: &str) -> String {
    if d == crate::model::TEST_PATTERN {
        t!("common-test-pattern")
    } else {
        d.to_string()
    }
}

/// Microphone and speaker pickers; a choice applies at once (also mid-call).
pub fn device_pickers(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    if let Some(name) = device_picker(
        ui,
        "microphone",
        &t!("common-microphone"),
        &model.microphones,
        &model.microphone,
    ) {
        model.microphone = name.clone();
        out.push(UiCommand::SetMicrophone { name });
    }
    if let Some(name) = device_picker(
        ui,
        "speaker",
        &t!("common-speaker"),
        &model.speakers,
        &model.speaker,
    ) {
        model.speaker = name.clone();
        out.push(UiCommand::SetSpeaker { name });
    }
    if let Some(name) = device_picker(
        ui,
        "camera",
        &t!("common-camera"),
        &model.cameras,
        &model.camera,
    ) {
        model.camera = name.clone();
        out.push(UiCommand::SetCameraDevice { name });
    }
}

/// Settings: devices, echo cancellation, relay-only calls, who may call.
pub fn settings_window(ctx: &egui::Context, model: &mut Model, out: &mut Vec<UiCommand>) {
    let mut open = model.settings_open;
    egui::Window::new(t!("common-settings"))
        // A fixed id: the title changes with the language, the window must not.
        .id(egui::Id::unique("settings-window"))
        .open(&mut open)
        .anchor(egui::Align2::RIGHT_TOP, Vec2::new(-12.0, 40.0))
        .collapsible(false)
        .resizable(false)
        // Taller than a small window: the Account section must stay reachable.
        .vscroll(true)
        .default_height(ctx.content_rect().height() - 60.0)
        .show(ctx, |ui| settings_panel(ui, model, out));
    model.settings_open = open;
}

/// The window's language: the system's (named), or one chosen. The label stands
/// before its box.
fn language_picker(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    use crate::i18n::{system_language, Lang};
    let name = |choice: Option<Lang>| match choice {
        None => t!(
            "common-language-system",
            language = system_language().name()
        ),
        Some(l) => l.name().to_string(),
    };
    ui.horizontal(|ui| {
        let label = ui.label(t!("common-language"));
        egui::ComboBox::from_id_salt("language")
            .selected_text(name(model.language))
            .show_ui(ui, |ui| {
                let choices = std::iter::once(None).chain(Lang::ALL.map(Some));
                for choice in choices {
                    let picked = ui
                        .selectable_label(model.language == choice, name(choice))
                        .clicked();
                    if picked && model.language != choice {
                        model.language = choice;
                        out.push(UiCommand::SetLanguage(choice));
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
}

/// The contents of the Settings window (a function of its own for the tests).
pub fn settings_panel(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.heading(t!("common-devices"));
    device_pickers(ui, model, out);
    ui.separator();
    ui.heading(t!("common-calls"));
    let before = model.settings;
    let s = &mut model.settings;
    ui.checkbox(&mut s.echo_cancellation, t!("common-echo-cancellation"));
    ui.checkbox(&mut s.relay_only, t!("common-relay-only"));
    ui.checkbox(&mut s.calls_from_anyone, t!("common-calls-from-anyone"));
    ui.separator();
    ui.heading(t!("common-chats"));
    ui.checkbox(&mut s.omemo, t!("common-omemo"))
        .on_hover_text(t!("common-omemo-hint"));
    ui.separator();
    ui.heading(t!("common-desktop"));
    ui.add_enabled(
        model.desktop.tray,
        egui::Checkbox::new(&mut s.background, t!("common-background")),
    )
    .on_disabled_hover_text(t!("common-background-unavailable"));
    if model.desktop.wayland {
        ui.weak(t!("common-wayland-no-hide"));
    } else if !model.desktop.tray {
        ui.weak(t!("common-no-tray"));
    }
    if model.settings != before {
        out.push(UiCommand::ChangeSettings(model.settings));
    }
    language_picker(ui, model, out);
    let mut autostart = model.desktop.autostart;
    if ui
        .checkbox(&mut autostart, t!("common-autostart"))
        .changed()
    {
        model.desktop.autostart = autostart;
        out.push(UiCommand::SetAutostart(autostart));
    }
    if model.account.is_some() {
        ui.separator();
        ui.heading(t!("common-network"));
        net_check(ui, &mut model.net_check, out);
    }
    if let Some(account) = model.account.clone() {
        ui.separator();
        ui.heading(t!("common-account"));
        ui.horizontal(|ui| {
            let face = Face {
                name: &account,
                jid: &account,
                picture: model.own_avatar.as_ref(),
            };
            avatar(ui, 48.0, face);
            if ui
                .button(t!("common-choose-picture"))
                .on_hover_text(t!("common-choose-picture-hint"))
                .clicked()
            {
                out.push(UiCommand::ChooseAvatar);
            }
        });
        account_settings(ui, &account, &mut model.account_settings, out);
    }
}

/// Settings → Test my network: the button, then each step and what it means.
fn net_check(ui: &mut egui::Ui, n: &mut crate::model::NetCheckView, out: &mut Vec<UiCommand>) {
    use crate::model::Finding;
    ui.horizontal(|ui| {
        let label = if n.running {
            t!("common-net-testing")
        } else {
            t!("common-net-test")
        };
        if ui
            .add_enabled(!n.running, egui::Button::new(label))
            .on_hover_text(t!("common-net-test-hint"))
            .clicked()
        {
            n.running = true;
            out.push(UiCommand::NetCheck);
        }
        // No spinner: it would repaint the window every frame while the check waits.
        if n.running {
            ui.weak(t!("common-net-wait"));
        }
    });
    let line = |ui: &mut egui::Ui, l: &crate::model::NetLine| {
        let (mark, color) = match l.finding {
            // Words, not symbols: the bundled font has few, and colour alone is not
            // enough for everyone.
            Finding::Good => (t!("common-finding-ok"), Color32::from_rgb(60, 170, 90)),
            Finding::Note => (t!("common-finding-note"), ui.visuals().weak_text_color()),
            Finding::Warning => (
                t!("common-finding-warning"),
                Color32::from_rgb(220, 170, 40),
            ),
            Finding::Problem => (t!("common-finding-problem"), Color32::from_rgb(200, 60, 60)),
        };
        ui.horizontal_top(|ui| {
            ui.label(egui::RichText::new(mark).color(color).strong());
            ui.add(egui::Label::new(&l.text).wrap());
        });
    };
    for l in &n.steps {
        line(ui, l);
    }
    if !n.advice.is_empty() {
        ui.label(egui::RichText::new(t!("common-net-meaning")).strong());
        for l in &n.advice {
            line(ui, l);
        }
    }
}

mod account;
mod avatar;
mod call;
mod contacts;
mod conversation;
mod encryption;
mod message;
mod room_dialog;
mod rooms;

pub use account::*;
pub use avatar::{avatar, initials, Face};
pub use call::*;
pub use contacts::*;
pub use conversation::*;
use encryption::*;
use message::*;
pub use message::{preview, size_words};
pub use rooms::*;

#[cfg(test)]
mod tests;
