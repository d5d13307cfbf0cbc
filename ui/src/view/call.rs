//! Calls: the incoming-call window, the call bar with its quality plots, and the
//! video area.

use super::*;
use crate::t;

/// The peer's picture as large as fits (or at its own size, scrolled, for a shared
/// screen to be read), our preview small in its bottom-right corner. Returns whether
/// the fit / actual-size switch was clicked.
pub fn video_area(ui: &mut egui::Ui, call: &crate::model::ActiveCall, who: &str) -> bool {
    let full = ui.available_rect_before_wrap();
    // A shared screen (wider than cameras send) larger than the room can be seen at
    // its own size.
    let larger = call.remote_video.as_ref().is_some_and(|t| {
        let s = t.0.size_vec2();
        s.x >= 1024.0 && (s.x > full.width() || s.y > full.height())
    }) && !call.peer_camera_off;
    if larger && call.video_actual_size {
        if let Some(tex) = &call.remote_video {
            let size = tex.0.size_vec2();
            let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(full));
            egui::ScrollArea::both()
                .id_salt("video-actual-size")
                .show(&mut inner, |ui| {
                    ui.add(
                        egui::Image::from_texture(egui::load::SizedTexture::from_handle(&tex.0))
                            .fit_to_exact_size(size)
                            .alt_text(t!("call-video-from", who = who)),
                    );
                });
        }
        ui.allocate_rect(full, egui::Sense::hover());
        return size_switch(ui, full, true);
    }
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
                    RichText::new(t!("call-peer-camera-off", who = who))
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
                    .alt_text(t!("call-video-from", who = who)),
            );
        }
        None => {
            ui.put(
                full,
                egui::Label::new(
                    RichText::new(t!("call-waiting-video", who = who))
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
                .alt_text(t!("call-your-camera")),
        );
    }
    ui.allocate_rect(full, egui::Sense::hover());
    larger && size_switch(ui, full, false)
}

/// The fit / actual-size switch in the video's top-right corner; whether clicked.
fn size_switch(ui: &mut egui::Ui, full: egui::Rect, actual: bool) -> bool {
    let label = if actual {
        t!("call-video-fit")
    } else {
        t!("call-video-actual-size")
    };
    let at = egui::Rect::from_min_size(
        egui::pos2(full.max.x - 130.0, full.min.y + 8.0),
        Vec2::new(122.0, 26.0),
    );
    ui.put(at, egui::Button::new(label)).clicked()
}

/// The "Share your screen" window: each monitor and window with a picture of it.
/// Nothing is sent before one is picked.
pub fn screen_picker(ctx: &egui::Context, model: &mut Model, out: &mut Vec<UiCommand>) {
    let Some(call) = &mut model.call else { return };
    let Some(choices) = &call.screen_picker else {
        return;
    };
    let mut close = false;
    egui::Window::new(t!("call-screen-picker-title"))
        .id(egui::Id::unique("screen-picker-window"))
        .collapsible(false)
        .resizable(false)
        .min_width(660.0)
        .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
        .show(ctx, |ui| {
            ui.label(t!("call-screen-picker-hint"));
            ui.add_space(8.0);
            if choices.is_empty() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t!("call-screen-picker-looking"));
                });
            }
            egui::ScrollArea::vertical()
                .max_height(420.0)
                .show(ui, |ui| {
                    ui.horizontal_wrapped(|ui| {
                        for c in choices {
                            let name = match &c.title {
                                Some(t) => t.clone(),
                                None => t!("call-screen-monitor", n = c.number + 1),
                            };
                            let size = format!("{}×{}", c.width, c.height);
                            let picked = ui
                                .allocate_ui_with_layout(
                                    Vec2::new(210.0, 170.0),
                                    Layout::top_down(Align::Center),
                                    |ui| {
                                        let thumb = Vec2::new(200.0, 120.0);
                                        let button = match &c.thumbnail {
                                            Some(t) => {
                                                let s = t.0.size_vec2();
                                                let k = (thumb.x / s.x).min(thumb.y / s.y);
                                                ui.add(
                                                    egui::Button::image(
                                                        egui::Image::from_texture(
                                                            egui::load::SizedTexture::from_handle(
                                                                &t.0,
                                                            ),
                                                        )
                                                        .fit_to_exact_size(s * k),
                                                    )
                                                    .min_size(thumb),
                                                )
                                            }
                                            None => ui.add(egui::Button::new("").min_size(thumb)),
                                        };
                                        let label = ui.add(
                                            egui::Label::new(&name)
                                                .truncate()
                                                .sense(egui::Sense::click()),
                                        );
                                        ui.label(RichText::new(size).small().weak());
                                        // The picture is named by its caption.
                                        let button = button.labelled_by(label.id);
                                        button.clicked() || label.clicked()
                                    },
                                )
                                .inner;
                            if picked {
                                out.push(UiCommand::ShareScreen {
                                    id: call.id.clone(),
                                    source: Some(c.key.clone()),
                                });
                                close = true;
                            }
                        }
                    });
                });
            ui.add_space(8.0);
            if ui.button(t!("common-cancel")).clicked() {
                close = true;
            }
        });
    if close {
        call.screen_picker = None;
    }
}

/// The incoming-call window: caller, accept (audio / video), decline.
pub fn incoming_call(ctx: &egui::Context, model: &Model, out: &mut Vec<UiCommand>) {
    let Some(inc) = &model.incoming else { return };
    egui::Window::new(t!("call-incoming-title"))
        .id(egui::Id::unique("incoming-call-window"))
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
        .show(ctx, |ui| {
            let who = model
                .contact(&inc.peer)
                .map(|c| c.display_name().to_string())
                .unwrap_or_else(|| inc.peer.clone());
            ui.vertical_centered(|ui| avatar(ui, 72.0, Face::of(model, &inc.peer)));
            ui.heading(t!("call-incoming", who = &who));
            ui.label(&inc.peer);
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                let big = |text: &str, fill: Color32| {
                    egui::Button::new(RichText::new(text).color(Color32::WHITE).size(15.0))
                        .fill(fill)
                        .min_size(Vec2::new(96.0, 32.0))
                };
                let green = Color32::from_rgb(40, 150, 80);
                if ui.add(big(&t!("call-accept"), green)).clicked() {
                    out.push(UiCommand::AcceptCall {
                        id: inc.id.clone(),
                        video: false,
                    });
                }
                if inc.video && ui.add(big(&t!("call-accept-video"), green)).clicked() {
                    out.push(UiCommand::AcceptCall {
                        id: inc.id.clone(),
                        video: true,
                    });
                }
                if ui
                    .add(big(&t!("call-decline"), Color32::from_rgb(200, 60, 60)))
                    .clicked()
                {
                    out.push(UiCommand::DeclineCall { id: inc.id.clone() });
                }
                // A stranger's call can be the last one from them.
                if model.contact(&inc.peer).is_none()
                    && ui.button(t!("call-block-caller")).clicked()
                {
                    out.push(UiCommand::DeclineCall { id: inc.id.clone() });
                    out.push(UiCommand::Block {
                        jid: inc.peer.clone(),
                        blocked: true,
                    });
                }
            });
        });
}

/// A round button with an icon and its caption under it, as calling apps have them;
/// `label` is the caption, which screen readers (and the tests) take as its name.
/// `fill` colours it (hang up in red); `on` shows a switch that is on (muted, held).
fn round_button(
    ui: &mut egui::Ui,
    icon: egui_material_icons::MaterialIcon,
    label: &str,
    fill: Option<Color32>,
    on: bool,
) -> egui::Response {
    ui.allocate_ui_with_layout(
        Vec2::new(76.0, 64.0),
        Layout::top_down(Align::Center),
        |ui| {
            let mut text = icon.rich_text().size(22.0);
            if fill.is_some() {
                text = text.color(Color32::WHITE);
            }
            let mut button = egui::Button::new(text)
                .min_size(Vec2::splat(40.0))
                .corner_radius(20.0)
                .selected(on);
            if let Some(f) = fill {
                button = button.fill(f);
            }
            let response = ui.add(button);
            let caption = ui.label(RichText::new(label).small());
            response.labelled_by(caption.id)
        },
    )
    .inner
}

/// The call bar: who, timer, mute, hang up, microphone level and quality verdict.
pub fn call_bar(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    // Its buttons are icons (also when drawn alone, as the tests do).
    crate::fonts::ensure_icons(ui.ctx());
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
    let phase = match call.phase {
        CallPhase::Calling => t!("call-phase-calling"),
        CallPhase::Ringing => t!("call-phase-ringing"),
        CallPhase::Connecting => t!("call-phase-connecting"),
        CallPhase::Active => format!("{:02}:{:02}", call.elapsed_s / 60, call.elapsed_s % 60),
    };
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        // Who: the face large, the name, and under it the call's state or its timer.
        if let Some((name, jid, picture)) = &face {
            let face = Face {
                name,
                jid,
                picture: picture.as_ref(),
            };
            avatar(ui, 56.0, face);
        }
        ui.vertical(|ui| {
            ui.add_space(4.0);
            // Name and state in one text for screen readers and the tests.
            ui.label(RichText::new(&who).size(20.0).strong())
                .on_hover_text(&call.peer);
            ui.label(RichText::new(&phase).monospace().weak())
                .on_hover_text(format!("{who} · {phase}"));
        });
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            use egui_material_icons::icons;
            let red = Color32::from_rgb(210, 50, 50);
            if round_button(
                ui,
                icons::ICON_CALL_END,
                &t!("call-hang-up"),
                Some(red),
                false,
            )
            .clicked()
            {
                out.push(UiCommand::Hangup {
                    id: call.id.clone(),
                });
            }
            let report = round_button(
                ui,
                icons::ICON_CONTENT_COPY,
                &t!("call-copy-report"),
                None,
                false,
            )
            .on_hover_text(t!("call-copy-report-hint"));
            if report.clicked() {
                out.push(UiCommand::CopyCallReport);
            }
            if call.phase == CallPhase::Active {
                let (icon, label) = if call.held {
                    (icons::ICON_PLAY_ARROW, t!("call-resume"))
                } else {
                    (icons::ICON_PAUSE, t!("call-hold"))
                };
                if round_button(ui, icon, &label, None, call.held).clicked() {
                    out.push(UiCommand::SetHeld {
                        id: call.id.clone(),
                        held: !call.held,
                    });
                }
                // While sharing, the video is the screen: its own button stops it.
                if !call.sharing {
                    let (icon, label) = match (call.video, call.camera_on) {
                        (_, true) => (icons::ICON_VIDEOCAM_OFF, t!("call-camera-off")),
                        (true, false) => (icons::ICON_VIDEOCAM, t!("call-camera-on")),
                        (false, false) => (icons::ICON_VIDEOCAM, t!("call-start-video")),
                    };
                    if round_button(ui, icon, &label, None, call.camera_on).clicked() {
                        out.push(UiCommand::SetCamera {
                            id: call.id.clone(),
                            on: !call.camera_on,
                        });
                    }
                }
                let (icon, label) = if call.sharing {
                    (icons::ICON_STOP_SCREEN_SHARE, t!("call-stop-sharing"))
                } else {
                    (icons::ICON_SCREEN_SHARE, t!("call-share-screen"))
                };
                if round_button(ui, icon, &label, None, call.sharing).clicked() {
                    out.push(if call.sharing {
                        UiCommand::ShareScreen {
                            id: call.id.clone(),
                            source: None,
                        }
                    } else {
                        UiCommand::PickScreen {
                            id: call.id.clone(),
                        }
                    });
                }
            }
            let (icon, label) = if call.muted {
                (icons::ICON_MIC_OFF, t!("call-unmute"))
            } else {
                (icons::ICON_MIC, t!("call-mute"))
            };
            if round_button(ui, icon, &label, None, call.muted).clicked() {
                out.push(UiCommand::SetMuted {
                    id: call.id.clone(),
                    muted: !call.muted,
                });
            }
        });
    });
    ui.add_space(2.0);
    if call.sharing {
        // Always in view while the screen goes out, with its Stop.
        egui::Frame::new()
            .fill(Color32::from_rgb(200, 60, 40))
            .corner_radius(6.0)
            .inner_margin(egui::Margin::symmetric(10, 4))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let icon = egui_material_icons::icons::ICON_SCREEN_SHARE;
                    ui.label(icon.rich_text().color(Color32::WHITE));
                    ui.label(
                        RichText::new(t!("call-sharing-banner"))
                            .color(Color32::WHITE)
                            .strong(),
                    );
                    if ui.button(t!("call-sharing-stop")).clicked() {
                        out.push(UiCommand::ShareScreen {
                            id: call.id.clone(),
                            source: None,
                        });
                    }
                });
            });
    }
    let talking_muted = call.muted && !call.held && call.mic_level_dbfs > -45.0;
    let notice = match (call.held, call.peer_held, call.peer_muted) {
        _ if call.reconnecting => Some(t!("call-reconnecting", who = &who)),
        (true, _, _) => Some(t!("call-on-hold")),
        // Speech into a muted microphone (its level is measured before muting).
        _ if talking_muted => Some(t!("call-you-are-muted")),
        (_, true, _) => Some(t!("call-peer-held", who = &who)),
        (_, _, true) => Some(t!("call-peer-muted", who = &who)),
        _ if call.silent_s >= 5 && call.phase == CallPhase::Active => {
            Some(t!("call-mic-silent", seconds = call.silent_s))
        }
        _ => None,
    };
    if let Some(n) = notice {
        ui.label(RichText::new(n).italics());
    }
    if call.phase == CallPhase::Active {
        ui.horizontal(|ui| {
            ui.label(t!("call-mic-level"));
            let level = ((call.mic_level_dbfs + 60.0) / 60.0).clamp(0.0, 1.0);
            ui.add(egui::ProgressBar::new(level).desired_width(120.0));
            ui.separator();
            match call.omemo_verified {
                Some(true) => {
                    ui.label(t!("call-verified"))
                        .on_hover_text(t!("call-verified-hint"));
                }
                Some(false) => {
                    ui.label(t!("call-encrypted"))
                        .on_hover_text(t!("call-encrypted-hint"));
                }
                None if model.settings.omemo => {
                    ui.label(t!("call-not-verified"))
                        .on_hover_text(t!("call-not-verified-hint"));
                }
                None => {}
            }
            ui.label(call.verdict());
            if let Some(q) = call.quality.back() {
                ui.label(
                    RichText::new(t!(
                        "call-quality-line",
                        rtt = format!("{:.0}", q.rtt_ms),
                        jitter = format!("{:.0}", q.jitter_ms),
                        loss = crate::i18n::decimal(f64::from(q.loss_pct), 1),
                        kbps = format!("{:.0}", q.kbps),
                    ))
                    .small(),
                );
            }
            if let Some(v) = &call.video_info {
                ui.label(RichText::new(t!("call-video-info", info = v)).small());
            }
        });
        ui.horizontal(|ui| device_pickers(ui, model, out));
        let Some(call) = &model.call else { return };
        egui::CollapsingHeader::new(t!("call-quality"))
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
            p.line(Line::new(t!("call-plot-rtt"), series(|q| q.rtt_ms)));
            p.line(Line::new(t!("call-plot-jitter"), series(|q| q.jitter_ms)));
        });
        plot("plot_loss").include_y(5.0).show(ui, |p| {
            p.line(Line::new(t!("call-plot-loss"), series(|q| q.loss_pct)));
        });
        plot("plot_rate").show(ui, |p| {
            p.line(Line::new(t!("call-plot-bitrate"), series(|q| q.kbps)));
        });
    });
}
