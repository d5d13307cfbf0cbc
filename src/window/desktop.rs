//! The window on the desktop: the tray icon and its menu, closing into the tray,
//! showing the window again (tray, notification, a second `banter`), our status for
//! every account (do not disturb), and starting at login.

use super::*;
use crate::tray::{TrayAction, TrayHandle, TrayState};
use banter_ui::model::MyStatus;

/// How long `--hidden` waits for a panel to take the icon (at login the panel may
/// start after Banter) before it shows the window after all.
const PANEL_WAIT: Duration = Duration::from_secs(15);

/// What the window keeps about its place on the desktop.
#[derive(Default)]
pub(super) struct Desktop {
    pub tray: Option<TrayHandle>,
    /// The window was hidden into the tray (not just minimized).
    pub hidden: bool,
    /// Quit was asked for (tray, signal): the close that follows is not into the tray.
    pub quitting: bool,
    /// `--hidden`: hide once the first frame is up (eframe shows it after that frame)
    /// and a panel holds the icon; given up at this instant.
    pub start_hidden: Option<Instant>,
    /// Frames drawn (the first two only matter, for `start_hidden`).
    pub frames: u8,
    /// The window was just mapped again: focus it on the next frame (X11 ignores
    /// focus for a window not yet mapped).
    pub focus_next: bool,
    /// The window is a Wayland surface: it cannot be hidden, nor brought back from
    /// minimized, so it never closes into the tray. Known from the first pass.
    pub wayland: Option<bool>,
    /// Where the XDG autostart entry goes (`None`: no config directory known).
    pub autostart: Option<PathBuf>,
    /// This window is the instance of its settings folder (socket removed at exit).
    pub instance: Option<crate::instance::Primary>,
    /// The status each account's client was started with (it may have changed
    /// since, while the account was signing in).
    pub started_with: std::collections::HashMap<String, MyStatus>,
}

impl App {
    /// At start: the tray icon (if the session has a bus; shown if it has a tray) and
    /// whether Banter starts at login.
    pub(super) fn start_desktop(&mut self, ctx: &egui::Context, hidden: bool) {
        let (tx, wake) = (self.events_tx.clone(), ctx.clone());
        let state = self.tray_state();
        self.desktop.tray = self.runtime.block_on(TrayHandle::start(state, move |a| {
            let _ = tx.send(AppEvent::Tray(a));
            wake.request_repaint();
        }));
        self.desktop.autostart = crate::autostart::entry_path();
        self.model.desktop.autostart = self
            .desktop
            .autostart
            .as_deref()
            .is_some_and(|p| crate::autostart::is_on(p, &self.data_dir));
        self.desktop.start_hidden = hidden.then(|| Instant::now() + PANEL_WAIT);
        self.sync_desktop();
    }

    /// Whether the window can hide into the tray now: a panel holds the icon and the
    /// window is not on Wayland.
    fn can_hide(&self) -> bool {
        self.desktop.wayland == Some(false)
            && self.desktop.tray.as_ref().is_some_and(TrayHandle::shown)
    }

    /// Whether closing the window hides it into the tray instead of quitting.
    fn closes_to_tray(&self) -> bool {
        self.model.settings.background && self.can_hide()
    }

    /// Each pass: the display server learnt, the close button (into the tray when it
    /// may), and the tray brought up to date.
    pub(super) fn desktop_logic(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        if self.desktop.wayland.is_none() {
            use raw_window_handle::{HasWindowHandle, RawWindowHandle};
            if let Ok(h) = frame.window_handle() {
                let wayland = matches!(h.as_raw(), RawWindowHandle::Wayland(_));
                self.desktop.wayland = Some(wayland);
            }
        }
        if ctx.input(|i| i.viewport().close_requested()) && !self.desktop.quitting {
            tracing::debug!(
                background = self.model.settings.background,
                wayland = ?self.desktop.wayland,
                tray = ?self.desktop.tray.as_ref().map(TrayHandle::shown),
                "close asked for"
            );
            if self.closes_to_tray() {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                if !self.desktop.hidden {
                    self.hide(ctx);
                }
            } else {
                self.desktop.quitting = true;
            }
        }
        self.sync_desktop();
    }

    /// Each frame drawn: the focus a raise asked for, and `--hidden` hiding the window
    /// once eframe has shown it and a panel holds the icon (or showing it for good
    /// when none comes).
    pub(super) fn desktop_frame(&mut self, ctx: &egui::Context) {
        self.desktop.frames = self.desktop.frames.saturating_add(1);
        if std::mem::take(&mut self.desktop.focus_next) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }
        let Some(until) = self.desktop.start_hidden else {
            return;
        };
        if self.desktop.frames < 2 {
            ctx.request_repaint();
        } else if self.closes_to_tray() {
            self.desktop.start_hidden = None;
            self.hide(ctx);
        } else if Instant::now() >= until || self.desktop.wayland == Some(true) {
            self.desktop.start_hidden = None;
        } else {
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    /// Into the tray: the window unmapped; the accounts stay signed in and calls
    /// ring. Only where it can come back (`can_hide`).
    pub(super) fn hide(&mut self, ctx: &egui::Context) {
        if !self.can_hide() {
            return;
        }
        self.desktop.hidden = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
        if self.json {
            println!("{}", serde_json::json!({"event": "window_hidden"}));
        }
        self.sync_desktop();
    }

    /// Brings the window up (restored, in front).
    pub(super) fn raise(&mut self, ctx: &egui::Context) {
        let was_hidden = std::mem::take(&mut self.desktop.hidden);
        self.desktop.start_hidden = None;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        self.desktop.focus_next = true;
        ctx.request_repaint();
        if self.json && was_hidden {
            println!("{}", serde_json::json!({"event": "window_shown"}));
        }
        self.sync_desktop();
    }

    /// Quit for good: every account signs out (`on_exit`), the tray icon goes.
    pub(super) fn quit(&mut self, ctx: &egui::Context) {
        self.desktop.quitting = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        // The close takes effect in the next pass, which nothing else may ask for
        // while the window is hidden.
        ctx.request_repaint();
    }

    pub(super) fn on_tray(&mut self, action: TrayAction) {
        let Some(ctx) = self.ctx.clone() else { return };
        match action {
            // A click on the icon hides a window in view; one hidden, minimized or
            // behind others comes up.
            TrayAction::Toggle => {
                let in_view = ctx.input(|i| {
                    i.viewport().minimized != Some(true) && i.viewport().focused != Some(false)
                });
                if !self.desktop.hidden && in_view {
                    self.hide(&ctx);
                } else {
                    self.raise(&ctx);
                }
            }
            TrayAction::Show => self.raise(&ctx),
            TrayAction::Hide => self.hide(&ctx),
            TrayAction::Status(s) => self.set_status(s),
            TrayAction::Quit => self.quit(&ctx),
            TrayAction::Found => self.sync_desktop(),
            TrayAction::Lost => {
                if self.desktop.hidden {
                    self.raise(&ctx);
                }
                self.sync_desktop();
            }
        }
    }

    /// Our status for every signed-in account; do not disturb also silences room
    /// mentions (calls are refused as busy by the client itself).
    pub(super) fn set_status(&mut self, status: MyStatus) {
        self.model.status = status;
        for m in self.stash.values_mut() {
            m.status = status;
        }
        let show = show_of(status);
        for (jid, c) in &self.clients {
            let _ = c.send(Command::SetPresence { show, status: None });
            self.desktop.started_with.insert(jid.clone(), status);
        }
        if self.json {
            let v = serde_json::json!({"event": "status", "show": show});
            println!("{v}");
        }
        self.save_settings();
        self.sync_desktop();
    }

    /// An account signed in: if the status changed while it was signing in, it gets
    /// the one chosen since (do not disturb must not wait for the next change).
    pub(super) fn status_on_sign_in(&mut self, jid: &str, client: &mpsc::UnboundedSender<Command>) {
        let started = self.desktop.started_with.get(jid).copied();
        if started.is_some_and(|s| s != self.model.status) {
            let show = show_of(self.model.status);
            let _ = client.send(Command::SetPresence { show, status: None });
            self.desktop
                .started_with
                .insert(jid.to_string(), self.model.status);
        }
    }

    /// Start at login, or not: the autostart entry written or removed.
    pub(super) fn set_autostart(&mut self, on: bool) {
        let Some(path) = self.desktop.autostart.clone() else {
            self.model.notice = Some(banter_ui::t!("desktop-autostart-no-folder"));
            self.model.desktop.autostart = false;
            return;
        };
        let result = std::env::current_exe()
            .map_err(|e| e.to_string())
            .and_then(|exe| {
                crate::autostart::set(&path, on, &exe, &self.data_dir).map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.model.desktop.autostart = on,
            Err(e) => {
                self.model.desktop.autostart = crate::autostart::is_on(&path, &self.data_dir);
                self.model.notice = Some(banter_ui::t!(
                    "desktop-autostart-failed",
                    path = path.display().to_string(),
                    error = e,
                ));
            }
        }
    }

    fn tray_state(&self) -> TrayState {
        let ringing = self.model.incoming.as_ref().map(|i| {
            self.model
                .contact(&i.peer)
                .map(|c| c.display_name().to_string())
                .unwrap_or_else(|| i.peer.clone())
        });
        TrayState {
            window_shown: !self.desktop.hidden,
            can_hide: self.desktop.wayland != Some(true),
            status: self.model.status,
            ringing,
            language: banter_ui::i18n::language(),
        }
    }

    /// The tray and the Settings told what is true now.
    fn sync_desktop(&mut self) {
        self.model.desktop.tray = self.can_hide();
        self.model.desktop.wayland = self.desktop.wayland == Some(true);
        let state = self.tray_state();
        if let Some(tray) = &self.desktop.tray {
            tray.set(state);
        }
    }

    /// At exit, first: the icon taken off the bus and the settings folder freed.
    pub(super) fn stop_desktop(&mut self) {
        self.desktop.instance = None;
        if let Some(tray) = self.desktop.tray.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), tray.stop()).await
            });
        }
    }
}

/// The presence that says `status`.
pub(super) fn show_of(status: MyStatus) -> Show {
    match status {
        MyStatus::Available => Show::Available,
        MyStatus::Away => Show::Away,
        MyStatus::DoNotDisturb => Show::Dnd,
    }
}
