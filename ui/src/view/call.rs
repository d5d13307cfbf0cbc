//! Calls: the incoming-call window, the call bar with its quality plots, and the
//! video area.

use super::*;

/// The peer's picture as large as fits, our preview small in its bottom-right corner.
pub fn video_area(ui: &mut egui::Ui, call: &crate::model::ActiveCall, who: &str) {
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
                    RichText::new(format!("{who} turned their camera off"))
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
                    .alt_text(format!("Video from {who}")),
            );
        }
        None => {
            ui.put(
                full,
                egui::Label::new(
                    RichText::new(format!("Waiting for {who}'s video…"))
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
            ui.vertical_centered(|ui| avatar(ui, 72.0, Face::of(model, &inc.peer)));
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
                // A stranger's call can be the last one from them.
                if model.contact(&inc.peer).is_none() && ui.button("Block caller").clicked() {
                    out.push(UiCommand::DeclineCall { id: inc.id.clone() });
                    out.push(UiCommand::Block {
                        jid: inc.peer.clone(),
                        blocked: true,
                    });
                }
            });
        });
}

/// The call bar: who, timer, mute, hang up, microphone level and quality verdict.
pub fn call_bar(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    // The peer's face, owned: the call below is borrowed mutably.
    let face = model.call.as_ref().map(|c| {
        let f = Face::of(model, &c.peer);
        (f.name.to_string(), c.peer.clone(), f.picture.cloned())
    });
    let Some(call) = &mut model.call else { return };
    // The contact's name where it has one (issue #22: the bar showed the JID).
    let who = face
        .as_ref()
        .map_or_else(|| call.peer.clone(), |f| f.0.clone());
    ui.horizontal(|ui| {
        if let Some((name, jid, picture)) = &face {
            let face = Face {
                name,
                jid,
                picture: picture.as_ref(),
            };
            avatar(ui, 32.0, face);
        }
        let phase = match call.phase {
            CallPhase::Calling => "calling…".to_string(),
            CallPhase::Ringing => "ringing…".to_string(),
            CallPhase::Connecting => "connecting…".to_string(),
            CallPhase::Active => format!("{:02}:{:02}", call.elapsed_s / 60, call.elapsed_s % 60),
        };
        ui.heading(format!("{who} · {phase}"));
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button("Hang up").clicked() {
                out.push(UiCommand::Hangup {
                    id: call.id.clone(),
                });
            }
            if ui
                .button("Copy call report")
                .on_hover_text("Signaling, network and quality of this call, without addresses: for a bug report")
                .clicked()
            {
                out.push(UiCommand::CopyCallReport);
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
    let talking_muted = call.muted && !call.held && call.mic_level_dbfs > -45.0;
    let notice = match (call.held, call.peer_held, call.peer_muted) {
        _ if call.reconnecting => Some(format!(
            "Reconnecting: the network path to {who} is lost. The call goes on when it is found again."
        )),
        (true, _, _) => Some("The call is on hold: you hear nothing and send nothing.".into()),
        // Speech into a muted microphone (its level is measured before muting).
        _ if talking_muted => Some("You are muted: the others do not hear you.".into()),
        (_, true, _) => Some(format!("{who} put the call on hold.")),
        (_, _, true) => Some(format!("{who} muted their microphone.")),
        _ if call.silent_s >= 5 && call.phase == CallPhase::Active => Some(format!(
            "Your microphone has sent only silence for {} s: check that it is on and not muted in the system, or pick another below.",
            call.silent_s
        )),
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
            match call.omemo_verified {
                Some(true) => {
                    ui.label("Verified")
                        .on_hover_text("Its encryption key is one you verified (OMEMO).");
                }
                Some(false) => {
                    ui.label("Encrypted").on_hover_text(
                        "Tied to the contact's OMEMO device, which you have not verified.",
                    );
                }
                None if model.settings.omemo => {
                    ui.label("Not verified").on_hover_text(
                        "The contact's device did not send its media key through OMEMO \
                         (no session with it yet, or a client without it).",
                    );
                }
                None => {}
            }
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
pub(crate) fn quality_plots(ui: &mut egui::Ui, call: &crate::model::ActiveCall) {
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
