//! The screens. Each function draws part of the `Model` and pushes the `UiCommand`s the
//! user's clicks and keys produce. Every input has an accessible label (AccessKit), so
//! screen readers and the tests find widgets by what they say.

use egui::{Align, Color32, Layout, RichText, ScrollArea, TextEdit, Vec2};

use crate::command::{TypingState, UiCommand};
use crate::model::{
    clock_time, day_label, validate_form, Availability, CallPhase, Conversation, Delivery, LeftTab,
    Model, TimelineItem, TYPING_PAUSE_S,
};

/// Height of one contact row; fixed so that the list can be virtualized.
pub const CONTACT_ROW_HEIGHT: f32 = 44.0;

/// Draws the whole window for one frame.
pub fn show(ui: &mut egui::Ui, model: &mut Model) -> Vec<UiCommand> {
    let mut out = Vec::new();
    if model.account.is_none() || model.adding_account {
        egui::CentralPanel::default().show(ui, |ui| {
            account_form(ui, model, &mut out);
            if model.adding_account {
                ui.vertical_centered(|ui| {
                    if ui.button("Cancel").clicked() {
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
        egui::Panel::top("video")
            .resizable(true)
            .default_size(360.0)
            .show(ui, |ui| video_area(ui, call));
    }
    egui::CentralPanel::default().show(ui, |ui| conversation(ui, model, &mut out));
    out
}

fn labelled_edit(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    password: bool,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.add_sized([110.0, 20.0], egui::Label::new(label));
        ui.add(
            TextEdit::singleline(text)
                .password(password)
                .desired_width(260.0),
        )
        .labelled_by(l.id)
    })
    .inner
}

/// First run: the account form (JID, password, and an Advanced section).
pub fn account_form(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.heading("Welcome to Banter");
        ui.label("Sign in with your XMPP account to call and chat with your contacts.");
        ui.add_space(20.0);
    });
    let form = &mut model.form;
    let before = form.create;
    let width = 420.0_f32.min(ui.available_width());
    let margin = ((ui.available_width() - width) / 2.0).max(0.0);
    ui.horizontal(|ui| {
        ui.add_space(margin);
        // A vertical Ui inside the centering row: a group inherits its parent's
        // direction, and the form must stack.
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.group(|ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut form.create, false, "I have an account");
                    ui.selectable_value(&mut form.create, true, "Create an account");
                });
                if form.create {
                    ui.add(
                        egui::Label::new(
                            RichText::new(
                                "Choose your address as name@server: the server is where the \
                                 account is created (one that lets anyone register).",
                            )
                            .small(),
                        )
                        .wrap(),
                    );
                }
                labelled_edit(ui, "Address", &mut form.jid, false);
                labelled_edit(ui, "Password", &mut form.password, true);
                if form.create {
                    labelled_edit(ui, "Repeat password", &mut form.password_again, true);
                }
                ui.checkbox(
                    &mut form.remember,
                    "Remember password (in the system keyring)",
                );
                ui.checkbox(&mut form.show_advanced, "Advanced");
                if form.show_advanced {
                    labelled_edit(ui, "Server", &mut form.server, false);
                    labelled_edit(ui, "CA file", &mut form.ca_file, false);
                    ui.add(
                    egui::Label::new(
                        RichText::new(
                            "Server: host:port when DNS does not point to it. CA file: a PEM file \
                             with the certificate of a private server.",
                        )
                        .small(),
                    )
                    .wrap(),
                );
                }
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    let label = if form.create {
                        "Create account"
                    } else {
                        "Sign in"
                    };
                    let sign_in = ui.add_enabled(!form.busy, egui::Button::new(label));
                    if form.busy {
                        ui.spinner();
                        ui.label(if form.create {
                            "Creating the account…"
                        } else {
                            "Connecting…"
                        });
                    }
                    if sign_in.clicked() {
                        match validate_form(form) {
                            Ok(()) => {
                                form.error = None;
                                form.busy = true;
                                out.push(UiCommand::AddAccount {
                                    jid: form.jid.trim().to_string(),
                                    password: form.password.clone(),
                                    server: Some(form.server.trim().to_string())
                                        .filter(|s| !s.is_empty()),
                                    ca_file: Some(form.ca_file.trim().to_string())
                                        .filter(|s| !s.is_empty()),
                                    remember: form.remember,
                                    register: form.create,
                                });
                            }
                            Err(e) => form.error = Some(e),
                        }
                    }
                });
                ui.add_space(12.0);
                ui.separator();
                ui.label(
                    RichText::new(
                        "No account yet? Try Banter on this computer: a private server \
                         and an echo contact that answers calls by playing you back.",
                    )
                    .small(),
                );
                if ui
                    .add_enabled(!form.busy, egui::Button::new("Try it locally"))
                    .clicked()
                {
                    form.error = None;
                    form.busy = true;
                    out.push(UiCommand::TryLocally);
                }
                if form.create != before {
                    form.error = None;
                }
                if let Some(e) = &form.error {
                    ui.add(
                        egui::Label::new(RichText::new(e).color(Color32::from_rgb(200, 60, 60)))
                            .wrap(),
                    );
                }
            });
        });
    });
}

/// The account shown, the others signed in, and "Add another account…". Locked during
/// a call.
pub fn account_switcher(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let current = model.account.clone().unwrap_or_default();
    ui.add_enabled_ui(model.call.is_none(), |ui| {
        egui::ComboBox::from_id_salt("account")
            .selected_text(&current)
            .show_ui(ui, |ui| {
                for a in &model.accounts {
                    if ui.selectable_label(*a == current, a).clicked() && *a != current {
                        out.push(UiCommand::SwitchAccount { jid: a.clone() });
                    }
                }
                ui.separator();
                if ui.selectable_label(false, "Add another account…").clicked() {
                    model.adding_account = true;
                    model.form = Default::default();
                    model.form.remember = true;
                }
            })
            .response
            .on_hover_text("Account");
    });
}

fn status_bar(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let (dot, text) = match model.connection {
            crate::model::Connection::Online => (Color32::from_rgb(60, 170, 90), "online"),
            crate::model::Connection::Connecting => {
                (Color32::from_rgb(220, 170, 40), "connecting…")
            }
            crate::model::Connection::Offline => (Color32::GRAY, "offline"),
        };
        presence_dot(ui, dot);
        account_switcher(ui, model, out);
        ui.label(text);
        if let Some(n) = &model.notice {
            ui.separator();
            ui.colored_label(Color32::from_rgb(200, 60, 60), n);
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Settings").clicked() {
                model.settings_open = !model.settings_open;
            }
        });
    });
}

/// A device picker: the system default, then each device by name. Returns the new
/// choice when the user picked one.
fn device_picker(
    ui: &mut egui::Ui,
    label: &str,
    devices: &[String],
    current: &Option<String>,
) -> Option<Option<String>> {
    let mut picked = None;
    let shown = current.as_deref().unwrap_or("System default");
    egui::ComboBox::from_label(label)
        .selected_text(shown)
        .width(200.0)
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(current.is_none(), "System default")
                .clicked()
            {
                picked = Some(None);
            }
            for d in devices {
                if ui
                    .selectable_label(current.as_deref() == Some(d.as_str()), d)
                    .clicked()
                {
                    picked = Some(Some(d.clone()));
                }
            }
        });
    picked
}

/// Microphone and speaker pickers; a choice applies at once (also mid-call).
pub fn device_pickers(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    if let Some(name) = device_picker(ui, "Microphone", &model.microphones, &model.microphone) {
        model.microphone = name.clone();
        out.push(UiCommand::SetMicrophone { name });
    }
    if let Some(name) = device_picker(ui, "Speaker", &model.speakers, &model.speaker) {
        model.speaker = name.clone();
        out.push(UiCommand::SetSpeaker { name });
    }
    if let Some(name) = device_picker(ui, "Camera", &model.cameras, &model.camera) {
        model.camera = name.clone();
        out.push(UiCommand::SetCameraDevice { name });
    }
}

/// The peer's picture as large as fits, our preview small in its bottom-right corner.
pub fn video_area(ui: &mut egui::Ui, call: &crate::model::ActiveCall) {
    let full = ui.available_rect_before_wrap();
    ui.painter().rect_filled(full, 6.0, Color32::from_gray(16));
    let fit = |tex: &crate::model::VideoTexture, room: egui::Rect| {
        let tex = &tex.0;
        let size = tex.size_vec2();
        let scale = (room.width() / size.x).min(room.height() / size.y);
        egui::Rect::from_center_size(room.center(), size * scale)
    };
    match &call.remote_video {
        Some(_) if call.peer_camera_off => {
            ui.put(
                full,
                egui::Label::new(
                    RichText::new(format!("{} turned their camera off", call.peer))
                        .color(Color32::from_gray(200)),
                ),
            );
        }
        Some(tex) => {
            let rect = fit(tex, full);
            ui.put(
                rect,
                egui::Image::from_texture(egui::load::SizedTexture::from_handle(&tex.0))
                    .fit_to_exact_size(rect.size())
                    .alt_text(format!("Video from {}", call.peer)),
            );
        }
        None => {
            ui.put(
                full,
                egui::Label::new(
                    RichText::new(format!("Waiting for {}'s video…", call.peer))
                        .color(Color32::from_gray(200)),
                ),
            );
        }
    }
    if let (Some(tex), true) = (&call.local_video, call.camera_on) {
        let room = egui::Rect::from_min_max(
            full.max - Vec2::new(full.width() * 0.25, full.height() * 0.25) - Vec2::splat(8.0),
            full.max - Vec2::splat(8.0),
        );
        let rect = fit(tex, room);
        ui.put(
            rect,
            egui::Image::from_texture(egui::load::SizedTexture::from_handle(&tex.0))
                .fit_to_exact_size(rect.size())
                .alt_text("Your camera"),
        );
    }
    ui.allocate_rect(full, egui::Sense::hover());
}

/// Settings: devices, echo cancellation, relay-only calls, who may call.
pub fn settings_window(ctx: &egui::Context, model: &mut Model, out: &mut Vec<UiCommand>) {
    let mut open = model.settings_open;
    egui::Window::new("Settings")
        .open(&mut open)
        .anchor(egui::Align2::RIGHT_TOP, Vec2::new(-12.0, 40.0))
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| settings_panel(ui, model, out));
    model.settings_open = open;
}

/// The contents of the Settings window (a function of its own for the tests).
pub fn settings_panel(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.heading("Devices");
    device_pickers(ui, model, out);
    ui.separator();
    ui.heading("Calls");
    let before = model.settings;
    let s = &mut model.settings;
    ui.checkbox(
        &mut s.echo_cancellation,
        "Echo cancellation and noise suppression",
    );
    ui.checkbox(
        &mut s.relay_only,
        "Relay calls through the server (hides your IP address)",
    );
    ui.checkbox(
        &mut s.calls_from_anyone,
        "Anyone may call me (not only my contacts)",
    );
    if model.settings != before {
        out.push(UiCommand::ChangeSettings(model.settings));
    }
    if let Some(account) = model.account.clone() {
        ui.separator();
        ui.heading("Account");
        account_settings(ui, &account, &mut model.account_settings, out);
    }
}

/// Change password and delete account (XEP-0077), for the account shown.
fn account_settings(
    ui: &mut egui::Ui,
    account: &str,
    a: &mut crate::model::AccountSettings,
    out: &mut Vec<UiCommand>,
) {
    let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
        let l = ui.label(label);
        ui.add_sized([190.0, 20.0], TextEdit::singleline(text).password(password))
            .labelled_by(l.id);
        ui.end_row();
    };
    egui::Grid::new("account-passwords").show(ui, |ui| {
        field(ui, "New password", &mut a.new_password, true);
        field(ui, "Repeat new password", &mut a.new_password_again, true);
    });
    if ui
        .add_enabled(!a.busy, egui::Button::new("Change password"))
        .clicked()
    {
        if a.new_password.is_empty() {
            a.message = Some("Type the new password".into());
        } else if a.new_password != a.new_password_again {
            a.message = Some("The two passwords differ".into());
        } else {
            a.busy = true;
            a.message = None;
            out.push(UiCommand::ChangePassword {
                password: a.new_password.clone(),
            });
        }
    }
    ui.add_space(6.0);
    ui.add(
        egui::Label::new(
            RichText::new(format!(
                "Deleting the account removes it from its server for good. Type {account} to confirm."
            ))
            .small(),
        )
        .wrap(),
    );
    egui::Grid::new("account-delete").show(ui, |ui| {
        field(ui, "Confirm address", &mut a.delete_confirm, false);
    });
    let confirmed = a.delete_confirm.trim() == account;
    if ui
        .add_enabled(confirmed && !a.busy, egui::Button::new("Delete account"))
        .clicked()
    {
        a.busy = true;
        a.message = None;
        out.push(UiCommand::DeleteAccount);
    }
    if a.busy {
        ui.spinner();
    }
    if let Some(m) = &a.message {
        ui.add(egui::Label::new(m.as_str()).wrap());
    }
}

/// The incoming-call window: caller, accept (audio / video), decline.
pub fn incoming_call(ctx: &egui::Context, model: &Model, out: &mut Vec<UiCommand>) {
    let Some(inc) = &model.incoming else { return };
    egui::Window::new("Incoming call")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
        .show(ctx, |ui| {
            let who = model
                .contact(&inc.peer)
                .map(|c| c.display_name().to_string())
                .unwrap_or_else(|| inc.peer.clone());
            ui.heading(format!("{who} is calling"));
            ui.label(&inc.peer);
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                let big = |text: &str, fill: Color32| {
                    egui::Button::new(RichText::new(text).color(Color32::WHITE).size(15.0))
                        .fill(fill)
                        .min_size(Vec2::new(96.0, 32.0))
                };
                let green = Color32::from_rgb(40, 150, 80);
                if ui.add(big("Accept", green)).clicked() {
                    out.push(UiCommand::AcceptCall {
                        id: inc.id.clone(),
                        video: false,
                    });
                }
                if inc.video && ui.add(big("Accept with video", green)).clicked() {
                    out.push(UiCommand::AcceptCall {
                        id: inc.id.clone(),
                        video: true,
                    });
                }
                if ui
                    .add(big("Decline", Color32::from_rgb(200, 60, 60)))
                    .clicked()
                {
                    out.push(UiCommand::DeclineCall { id: inc.id.clone() });
                }
            });
        });
}

/// The call bar: who, timer, mute, hang up, microphone level and quality verdict.
pub fn call_bar(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let Some(call) = &mut model.call else { return };
    ui.horizontal(|ui| {
        let phase = match call.phase {
            CallPhase::Calling => "calling…".to_string(),
            CallPhase::Ringing => "ringing…".to_string(),
            CallPhase::Connecting => "connecting…".to_string(),
            CallPhase::Active => format!("{:02}:{:02}", call.elapsed_s / 60, call.elapsed_s % 60),
        };
        ui.heading(format!("{} · {phase}", call.peer));
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Hang up").clicked() {
                out.push(UiCommand::Hangup {
                    id: call.id.clone(),
                });
            }
            let label = if call.muted { "Unmute" } else { "Mute" };
            if ui.button(label).clicked() {
                out.push(UiCommand::SetMuted {
                    id: call.id.clone(),
                    muted: !call.muted,
                });
            }
            if call.phase == CallPhase::Active {
                let label = match (call.video, call.camera_on) {
                    (_, true) => "Camera off",
                    (true, false) => "Camera on",
                    (false, false) => "Start video",
                };
                if ui.button(label).clicked() {
                    out.push(UiCommand::SetCamera {
                        id: call.id.clone(),
                        on: !call.camera_on,
                    });
                }
                let label = if call.held { "Resume" } else { "Hold" };
                if ui.button(label).clicked() {
                    out.push(UiCommand::SetHeld {
                        id: call.id.clone(),
                        held: !call.held,
                    });
                }
            }
        });
    });
    let notice = match (call.held, call.peer_held, call.peer_muted) {
        (true, _, _) => Some("The call is on hold: you hear nothing and send nothing.".into()),
        (_, true, _) => Some(format!("{} put the call on hold.", call.peer)),
        (_, _, true) => Some(format!("{} muted their microphone.", call.peer)),
        _ => None,
    };
    if let Some(n) = notice {
        ui.label(RichText::new(n).italics());
    }
    if call.phase == CallPhase::Active {
        ui.horizontal(|ui| {
            ui.label("Mic level");
            let level = ((call.mic_level_dbfs + 60.0) / 60.0).clamp(0.0, 1.0);
            ui.add(egui::ProgressBar::new(level).desired_width(120.0));
            ui.separator();
            ui.label(call.verdict());
            if let Some(q) = call.quality.back() {
                ui.label(
                    RichText::new(format!(
                        "rtt {:.0} ms · jitter {:.0} ms · loss {:.1} % · {:.0} kb/s",
                        q.rtt_ms, q.jitter_ms, q.loss_pct, q.kbps
                    ))
                    .small(),
                );
            }
            if let Some(v) = &call.video_info {
                ui.label(RichText::new(format!("video {v}")).small());
            }
        });
        ui.horizontal(|ui| device_pickers(ui, model, out));
        let Some(call) = &model.call else { return };
        egui::CollapsingHeader::new("Call quality")
            .id_salt("quality")
            .show(ui, |ui| quality_plots(ui, call));
    }
}

/// The last minutes of RTT, jitter, loss and bitrate, one small plot per unit. The
/// plots take no drags or zooms: they change only when a sample arrives.
fn quality_plots(ui: &mut egui::Ui, call: &crate::model::ActiveCall) {
    use egui_plot::{Legend, Line, Plot, PlotPoints};
    let n = call.quality.len() as f64;
    let series = |f: fn(&crate::model::QualitySample) -> f32| -> PlotPoints<'static> {
        call.quality
            .iter()
            .enumerate()
            .map(|(i, q)| [i as f64 - n + 1.0, f(q) as f64])
            .collect()
    };
    let width = (ui.available_width() / 3.0 - 8.0).max(120.0);
    let plot = |id: &str| {
        Plot::new(id.to_string())
            .height(110.0)
            .width(width)
            .sense(egui::Sense::hover())
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .allow_axis_zoom_drag(false)
            .show_x(false)
            .show_y(false)
            .include_y(0.0)
            .include_x(-60.0)
            .include_x(0.0)
            .x_axis_formatter(|m, _| format!("{:.0}s", m.value))
            .legend(Legend::default().follow_insertion_order(true))
    };
    ui.horizontal(|ui| {
        plot("plot_delay").show(ui, |p| {
            p.line(Line::new("RTT (ms)", series(|q| q.rtt_ms)));
            p.line(Line::new("Jitter (ms)", series(|q| q.jitter_ms)));
        });
        plot("plot_loss").include_y(5.0).show(ui, |p| {
            p.line(Line::new("Loss (%)", series(|q| q.loss_pct)));
        });
        plot("plot_rate").show(ui, |p| {
            p.line(Line::new("Bitrate (kb/s)", series(|q| q.kbps)));
        });
    });
}

/// A small filled circle (drawn: the bundled fonts have no bullet glyph).
fn presence_dot(ui: &mut egui::Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.5, color);
}

fn availability_color(a: Availability) -> Color32 {
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
        ui.selectable_value(&mut model.left_tab, LeftTab::Contacts, "Contacts");
        let missed = model
            .call_log
            .iter()
            .take_while(|c| !c.outgoing && c.duration_s.is_none())
            .count();
        let calls = if missed > 0 {
            format!("Calls ({missed} missed)")
        } else {
            "Calls".to_string()
        };
        ui.selectable_value(&mut model.left_tab, LeftTab::Calls, calls);
    });
    ui.separator();
    match model.left_tab {
        LeftTab::Contacts => contact_list(ui, model, out),
        LeftTab::Calls => call_history(ui, model, out),
    }
}

/// The call history, newest first; a click opens the conversation.
pub fn call_history(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    if model.call_log.is_empty() {
        ui.label(RichText::new("No calls yet.").weak());
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
    let l = ui.label("Search contacts");
    ui.add(TextEdit::singleline(&mut model.filter).hint_text("name or address"))
        .labelled_by(l.id);
    ui.horizontal(|ui| {
        let l = ui.label("Add contact");
        let r = ui
            .add(TextEdit::singleline(&mut model.add_contact).desired_width(140.0))
            .labelled_by(l.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Add").clicked() || enter) && model.add_contact.contains('@') {
            out.push(UiCommand::AddContact {
                jid: model.add_contact.trim().to_string(),
            });
            model.add_contact.clear();
        }
    });
    for jid in model.subscription_requests.clone() {
        ui.horizontal(|ui| {
            ui.label(format!("{jid} wants to add you"));
            if ui.button("Allow").clicked() {
                out.push(UiCommand::AnswerSubscription {
                    jid: jid.clone(),
                    accept: true,
                });
            }
            if ui.button("Deny").clicked() {
                out.push(UiCommand::AnswerSubscription {
                    jid: jid.clone(),
                    accept: false,
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

/// One contact: presence dot, name, status line and an unread badge, the whole row
/// clickable and announced to screen readers by the contact's name.
fn contact_row(ui: &mut egui::Ui, c: &crate::model::ContactRow, selected: bool) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(
        Vec2::new(ui.available_width(), CONTACT_ROW_HEIGHT),
        egui::Sense::click(),
    );
    response.widget_info(|| {
        egui::WidgetInfo::selected(
            egui::Role::Button,
            ui.is_enabled(),
            selected,
            c.display_name(),
        )
    });
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let painter = ui.painter();
    let fill = if selected {
        Some(visuals.selection.bg_fill)
    } else if response.hovered() {
        Some(visuals.widgets.hovered.weak_bg_fill)
    } else {
        None
    };
    let inner = rect.shrink2(Vec2::new(0.0, 2.0));
    if let Some(fill) = fill {
        painter.rect_filled(inner, 6.0, fill);
    }
    let text_color = if selected {
        visuals.selection.stroke.color
    } else {
        visuals.text_color()
    };
    painter.circle_filled(
        egui::pos2(inner.left() + 14.0, inner.center().y),
        5.0,
        availability_color(c.availability),
    );
    let left = inner.left() + 28.0;
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
            inner.width() - 28.0 - 40.0,
        );
        painter.galley(egui::pos2(left, inner.top() + 23.0), g, weak);
    }
    if c.unread > 0 {
        let g = painter.layout_no_wrap(
            c.unread.to_string(),
            egui::FontId::proportional(12.0),
            Color32::WHITE,
        );
        let w = g.size().x.max(10.0) + 10.0;
        let badge = egui::Rect::from_center_size(
            egui::pos2(inner.right() - 6.0 - w / 2.0, inner.center().y),
            Vec2::new(w, 18.0),
        );
        painter.rect_filled(badge, 9.0, Color32::from_rgb(60, 130, 220));
        painter.galley(badge.center() - g.size() / 2.0, g, Color32::WHITE);
    }
    response
}

/// What to tell the peer about our typing, if anything changed: composing on the first
/// key, active when the draft is emptied, paused after a quiet spell.
fn typing_change(conv: &mut Conversation, edited: bool, now: f64) -> Option<TypingState> {
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
            ui.label("Choose a contact to chat or call.");
        });
        return;
    };
    let contact = model.contact(&jid).cloned().unwrap_or_default();
    ui.horizontal(|ui| {
        ui.heading(contact.display_name());
        ui.label(RichText::new(&jid).weak());
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.menu_button("More", |ui| {
                let label = format!("Remove {} from contacts", contact.display_name());
                if ui.button(label).clicked() {
                    out.push(UiCommand::RemoveContact { jid: jid.clone() });
                    ui.close();
                }
            });
            let busy = model.call.is_some();
            if ui
                .add_enabled(contact.can_video && !busy, egui::Button::new("Video call"))
                .clicked()
            {
                out.push(UiCommand::Call {
                    jid: jid.clone(),
                    video: true,
                });
            }
            if ui
                .add_enabled(contact.can_audio && !busy, egui::Button::new("Call"))
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
    let conv = model.conversations.entry(jid.clone()).or_default();
    let input_height = 36.0;
    ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .max_height(ui.available_height() - input_height - 8.0)
        .show(ui, |ui| {
            if conv.more_history {
                ui.vertical_centered(|ui| {
                    if ui.button("Show earlier messages").clicked() {
                        out.push(UiCommand::LoadEarlier { jid: jid.clone() });
                        conv.more_history = false;
                    }
                });
            }
            let mut day = String::new();
            for item in &conv.items {
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
                        outgoing,
                        body,
                        delivery,
                        ..
                    } => {
                        let layout = if *outgoing {
                            Layout::right_to_left(Align::TOP)
                        } else {
                            Layout::left_to_right(Align::TOP)
                        };
                        ui.with_layout(layout, |ui| {
                            let mark = match delivery {
                                Delivery::Sending => " · sending",
                                Delivery::Sent => " · sent",
                                Delivery::Delivered => " · delivered",
                                Delivery::Received => "",
                            };
                            ui.add(egui::Label::new(body.as_str()).wrap());
                            ui.label(
                                RichText::new(format!("{}{mark}", clock_time(ts_ms)))
                                    .small()
                                    .weak(),
                            );
                        });
                    }
                    TimelineItem::Call {
                        outgoing,
                        answered,
                        duration_s,
                        ..
                    } => {
                        let text = match (answered, outgoing, duration_s) {
                            (true, _, Some(d)) if *d >= 60 => {
                                format!("Call, {} min {} s", d / 60, d % 60)
                            }
                            (true, _, Some(d)) => format!("Call, {d} s"),
                            (false, true, _) => "Call not answered".to_string(),
                            (false, false, _) => "Missed call".to_string(),
                            _ => "Call".to_string(),
                        };
                        let text = format!("{text} · {}", clock_time(ts_ms));
                        ui.vertical_centered(|ui| ui.label(RichText::new(text).italics().weak()));
                    }
                }
            }
            if conv.peer_typing {
                ui.label(
                    RichText::new(format!("{} is typing…", contact.display_name()))
                        .italics()
                        .weak(),
                );
            }
        });
    ui.horizontal(|ui| {
        let l = ui.label("Message");
        let r = ui
            .add(
                TextEdit::singleline(&mut conv.draft)
                    .desired_width(ui.available_width() - 70.0)
                    .hint_text("Write a message"),
            )
            .labelled_by(l.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let now = ui.input(|i| i.time);
        if (ui.button("Send").clicked() || enter) && !conv.draft.trim().is_empty() {
            out.push(UiCommand::SendMessage {
                to: jid.clone(),
                body: conv.draft.trim().to_string(),
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

#[cfg(test)]
mod tests;
