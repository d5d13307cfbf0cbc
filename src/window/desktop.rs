//! The window on the desktop: the tray icon and its menu, closing into the tray,
//! showing the window again (tray, notification, a second `banter`), our status for
//! every account (do not disturb), and starting at login.

use super::*;
use crate::tray::{TrayAction, TrayHandle, TrayState};
use banter_ui::model::MyStatus;

/// What the window keeps about its place on the desktop.
#[derive(Default)]
pub(super) struct Desktop {
    pub tray: Option<TrayHandle>,
    /// The window was hidden into the tray (not just minimized).
    pub hidden: bool,
    /// Quit was asked for (tray, signal): the close that follows is not into the tray.
    pub quitting: bool,
    /// `--hidden`: hide once the first frame is up (eframe shows it after that frame).
    pub start_hidden: bool,
    /// Frames drawn (the first two only matter, for `start_hidden`).
    pub frames: u8,
    /// Where the XDG autostart entry goes (`None`: no config directory known).
    pub autostart: Option<PathBuf>,
    /// This window is the instance of its settings folder (socket removed at exit).
    pub instance: Option<crate::instance::Primary>,
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
            .is_some_and(crate::autostart::is_on);
        self.desktop.start_hidden = hidden;
        self.sync_desktop();
    }

    /// Whether closing the window hides it into the tray instead of quitting.
    fn closes_to_tray(&self) -> bool {
        self.model.settings.background && self.desktop.tray.as_ref().is_some_and(TrayHandle::shown)
    }

    /// Each pass: the close button (into the tray when it may), `--hidden`'s first
    /// hide, and the tray brought up to date.
    pub(super) fn desktop_logic(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested()) && !self.desktop.quitting {
            if self.closes_to_tray() {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.hide(ctx);
            } else {
                self.desktop.quitting = true;
            }
        }
        self.sync_desktop();
    }

    /// Each frame drawn: `--hidden` hides the window once eframe has shown it.
    pub(super) fn desktop_frame(&mut self, ctx: &egui::Context) {
        self.desktop.frames = self.desktop.frames.saturating_add(1);
        if self.desktop.start_hidden {
            if self.desktop.frames < 2 {
                ctx.request_repaint();
            } else {
                self.desktop.start_hidden = false;
                if self.closes_to_tray() {
                    self.hide(ctx);
                }
            }
        }
    }

    /// Into the tray: the window unmapped (minimized on Wayland, which cannot hide
    /// a window); the accounts stay signed in and calls ring.
    pub(super) fn hide(&mut self, ctx: &egui::Context) {
        self.desktop.hidden = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
        if std::env::var_os("WAYLAND_DISPLAY").is_some() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(true));
        }
        if self.json {
            println!("{}", serde_json::json!({"event": "window_hidden"}));
        }
        self.sync_desktop();
    }

    /// Brings the window up (restored, in front).
    pub(super) fn raise(&mut self, ctx: &egui::Context) {
        let was_hidden = std::mem::take(&mut self.desktop.hidden);
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        if self.json && was_hidden {
            println!("{}", serde_json::json!({"event": "window_shown"}));
        }
        self.sync_desktop();
    }

    /// Quit for good: every account signs out (`on_exit`), the tray icon goes.
    pub(super) fn quit(&mut self, ctx: &egui::Context) {
        self.desktop.quitting = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    pub(super) fn on_tray(&mut self, action: TrayAction) {
        let Some(ctx) = self.ctx.clone() else { return };
        match action {
            TrayAction::Toggle if !self.desktop.hidden => self.hide(&ctx),
            TrayAction::Toggle | TrayAction::Show => self.raise(&ctx),
            TrayAction::Hide => self.hide(&ctx),
            TrayAction::Status(s) => self.set_status(s),
            TrayAction::Quit => self.quit(&ctx),
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
        for c in self.clients.values() {
            let _ = c.send(Command::SetPresence { show, status: None });
        }
        if self.json {
            let v = serde_json::json!({"event": "status", "show": show});
            println!("{v}");
        }
        self.save_settings();
        self.sync_desktop();
    }

    /// Start at login, or not: the autostart entry written or removed.
    pub(super) fn set_autostart(&mut self, on: bool) {
        let Some(path) = self.desktop.autostart.clone() else {
            self.model.notice = Some("No configuration folder was found for autostart.".into());
            self.model.desktop.autostart = false;
            return;
        };
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("banter"));
        match crate::autostart::set(&path, on, &exe, &self.data_dir) {
            Ok(()) => self.model.desktop.autostart = on,
            Err(e) => {
                self.model.desktop.autostart = crate::autostart::is_on(&path);
                self.model.notice = Some(format!(
                    "Could not change the autostart entry {}: {e}",
                    path.display()
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
            status: self.model.status,
            ringing,
        }
    }

    /// The tray and the Settings told what is true now.
    fn sync_desktop(&mut self) {
        self.model.desktop.tray = self.desktop.tray.as_ref().is_some_and(TrayHandle::shown);
        let state = self.tray_state();
        if let Some(tray) = &mut self.desktop.tray {
            tray.set(&self.runtime, state);
        }
    }

    /// At exit: the icon taken off the bus at once.
    pub(super) fn stop_desktop(&mut self) {
        if let Some(tray) = self.desktop.tray.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), tray.stop()).await
            });
        }
        self.desktop.instance = None;
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
