//! `banter` without a subcommand: the egui window. It owns the `Model` of banter-ui,
//! feeds it from the client's events and turns the window's `UiCommand`s into client
//! `Command`s. The client runs on a tokio runtime beside the UI thread; an event asks
//! for a repaint, so an idle window does not redraw.

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use banter::client::{BareJid, Jid};
use banter_media::audio::echo::Processing;
use banter_media::audio::ring::Ringer;
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::video::{VideoSinkSpec, VideoSourceSpec, VideoView};
use banter_ui::command::TypingState;
use banter_ui::model::{
    ActiveCall, Availability, CallLogRow, CallPhase, Connection, ContactRow, Delivery,
    IncomingCall, MyStatus, QualitySample, Settings, TimelineItem, VideoTexture, TEST_PATTERN,
};
use banter_ui::{eframe, egui, Model, UiCommand};
use tokio::sync::mpsc;

use crate::backlog::Queued;
use banter::client::Show;
use banter::client::{
    self, CallDirection, CallInfo, CallStatus, Command, Config, Event, Media, SettingsChange,
    Typing,
};

/// Messages loaded from the store at a time (the first page, then each "earlier").
const HISTORY_PAGE: usize = 200;

// Client events dominate the size; they pass one at a time through a channel to the
// UI thread, where boxing each would cost an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
enum AppEvent {
    Online(mpsc::UnboundedSender<Command>, String),
    LoginFailed(String),
    /// "Try it locally" is up: sign in to it.
    Local(Box<banter::client::TryLocally>),
    /// A saved account and its password from the keyring: sign in with it.
    Saved(StartAccount),
    Notice(String),
    /// The account was created (XEP-0077): sign in to it (and keep this password).
    Registered(Box<Config>, Option<String>),
    /// An event of the account named first.
    Client(String, Event),
    /// The window fell behind: reload this account's conversation with a contact.
    Reload(String, String),
    /// SIGINT or SIGTERM: close the window (and every account cleanly).
    Quit,
    /// A contact's (or our) picture, decoded (chat.rs).
    Avatar {
        account: String,
        jid: String,
        picture: Result<client::Preview, String>,
    },
    /// The user picked an action in a call's notification.
    CallAction {
        call: String,
        action: crate::notify::CallAction,
    },
    /// "Call back" in a missed call's notification.
    CallBack {
        account: String,
        peer: String,
    },
    /// The tray icon or its menu was used.
    Tray(crate::tray::TrayAction),
    /// What the screen picker offers for a call (screen.rs), or why nothing.
    ScreenSources {
        call: String,
        sources: Result<Vec<screen::Offered>, String>,
    },
    /// Another `banter` for this settings folder asked for the window.
    Raise,
    /// A picture of a message in an account's conversation, decoded (files.rs).
    Picture {
        account: String,
        peer: String,
        id: String,
        picture: Result<client::Preview, String>,
    },
}

/// Sign in at start (from the command line), instead of showing the form.
pub struct StartAccount {
    pub jid: String,
    pub password: String,
    pub server: Option<String>,
    pub ca_file: Option<String>,
    /// Create the account on its server first (XEP-0077 in-band registration).
    pub register: bool,
}

struct App {
    model: Model,
    /// Mirror client events as JSON lines on stdout (`--json`: scripts and tests).
    json: bool,
    /// A Wayland session: the desktop's portal dialog picks the screen to share.
    wayland: bool,
    runtime: tokio::runtime::Runtime,
    events: std_mpsc::Receiver<AppEvent>,
    events_tx: std_mpsc::Sender<AppEvent>,
    client: Option<mpsc::UnboundedSender<Command>>,
    data_dir: PathBuf,
    media: banter_media::MediaConfig,
    call_started: Option<Instant>,
    /// Conversations whose stored history was asked for already.
    history_loaded: std::collections::HashSet<String>,
    /// Which room mentions are announced (one per room in a while).
    mentions: crate::notify::MentionGate,
    /// To wake the window from background tasks.
    ctx: Option<egui::Context>,
    /// "Try it locally": the private server and echo contact, while in use.
    local: Option<Box<banter::client::TryLocally>>,
    /// Every signed-in account's client, by JID.
    clients: std::collections::HashMap<String, mpsc::UnboundedSender<Command>>,
    /// The models of the accounts not on screen (the one shown is `model`).
    stash: std::collections::HashMap<String, Model>,
    /// While a call rings: the ringtone and the desktop notification.
    ringer: Option<Ringer>,
    notification: Option<crate::notify::CallNotification>,
    /// Incoming calls that rang here, by id: their peers (a missed one is announced).
    rang: std::collections::HashMap<String, String>,
    /// Where the video thread leaves the latest pictures (remote and preview).
    video: Arc<VideoView>,
    /// The last call was placed or answered with the camera on.
    camera_wanted: bool,
    /// The report of the current or last call ("Copy call report").
    call_report: Option<banter::client::CallReport>,
    /// A new password sent to the server, kept until it answers (for the keyring).
    new_password: Option<String>,
    /// Client events sent to the window and not taken yet (see backlog.rs).
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Each account's event forwarder: it ends when its client stopped.
    forwarders: Vec<tokio::task::JoinHandle<()>>,
    /// The tray, hiding into it, the instance, autostart (desktop.rs).
    desktop: desktop::Desktop,
}

/// Opens the window; returns when it is closed. When a window for `data_dir` is
/// open already, that one is brought up instead (an error if this one was to sign
/// in somewhere: the running one does not take over those options).
pub fn run(
    data_dir: PathBuf,
    media: banter_media::MediaConfig,
    start: Option<StartAccount>,
    try_locally: bool,
    json: bool,
    hidden: bool,
) -> Result<(), String> {
    let (events_tx, events) = std_mpsc::channel();
    let waker: Arc<std::sync::OnceLock<egui::Context>> = Default::default();
    let instance = {
        let (tx, waker) = (events_tx.clone(), waker.clone());
        let path = crate::instance::socket_path(&data_dir);
        // `--hidden` (the autostart entry) only checks that one runs: it stays hidden.
        let claim = crate::instance::claim(&path, !hidden, move || {
            let open = tx.send(AppEvent::Raise).is_ok();
            if let Some(ctx) = waker.get() {
                ctx.request_repaint();
            }
            open
        });
        match claim {
            Ok(crate::instance::Claim::First(p)) => Some(p),
            Ok(crate::instance::Claim::Running) => {
                if json {
                    println!("{}", serde_json::json!({"event": "already_running"}));
                }
                if start.is_some() || try_locally {
                    return Err(format!(
                        "Banter is already running for {}: its window was brought up, \
                         and it did not take this command's options",
                        data_dir.display()
                    ));
                }
                if !hidden {
                    eprintln!("Banter is already running: its window was brought up.");
                }
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(error = %e, "not the single instance");
                None
            }
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Banter")
            .with_app_id("im.banter.Banter")
            .with_inner_size([960.0, 640.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Banter",
        options,
        Box::new(move |cc| {
            let mut app = App {
                model: Model::default(),
                json,
                wayland: banter_media::video::portal::wayland_session(),
                runtime,
                events,
                events_tx,
                client: None,
                data_dir,
                media,
                call_started: None,
                history_loaded: Default::default(),
                mentions: Default::default(),
                ctx: None,
                ringer: None,
                notification: None,
                rang: Default::default(),
                local: None,
                clients: Default::default(),
                stash: Default::default(),
                video: VideoView::new(),
                camera_wanted: false,
                call_report: None,
                new_password: None,
                queued: Default::default(),
                forwarders: Vec::new(),
                desktop: Default::default(),
            };
            app.ctx = Some(cc.egui_ctx.clone());
            let _ = waker.set(cc.egui_ctx.clone());
            app.desktop.instance = instance;
            if !banter_ui::fonts::install_colour_emoji(&cc.egui_ctx) {
                tracing::info!(
                    "no colour-emoji font (fonts-noto-color-emoji): emoji in black and white"
                );
            }
            {
                // SIGINT/SIGTERM close the window like its close button: cleanly.
                let (tx, ctx) = (app.events_tx.clone(), cc.egui_ctx.clone());
                app.runtime.spawn(async move {
                    let mut stop = crate::signals::StopSignals::new();
                    stop.wait().await;
                    let _ = tx.send(AppEvent::Quit);
                    ctx.request_repaint();
                });
            }
            {
                let ctx = cc.egui_ctx.clone();
                app.video.set_waker(move || ctx.request_repaint());
            }
            app.media.video_out = VideoSinkSpec::View(app.video.clone());
            app.load_settings();
            app.apply_language();
            let (inputs, outputs) = banter_media::audio::list_devices();
            app.model.microphones = inputs;
            app.model.speakers = outputs;
            app.model.cameras = banter_media::video::camera::list()
                .into_iter()
                .map(|c| c.name)
                .chain([TEST_PATTERN.to_string()])
                .collect();
            app.check_devices();
            app.start_desktop(&cc.egui_ctx, hidden);
            app.model.form.remember = true;
            if let Some(s) = start {
                app.model.form.jid = s.jid.clone();
                app.model.form.busy = true;
                app.sign_in(s, false, cc.egui_ctx.clone());
            } else if try_locally {
                app.try_locally(cc.egui_ctx.clone());
            } else {
                app.resume_saved_account();
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}

impl eframe::App for App {
    /// Events are taken here, which eframe runs also where `ui` does not run (a
    /// minimized window, or one a Wayland compositor does not draw): a call rings
    /// and its notification's Accept works then too. (A window hidden into the tray
    /// on X11 still gets `ui`, drawn to nothing, when something asks for a repaint.)
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        while let Ok(ev) = self.events.try_recv() {
            if matches!(ev, AppEvent::Client(..) | AppEvent::Reload(..)) {
                let _ = self.queued.fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |n| n.checked_sub(1),
                );
            }
            self.apply(ev);
        }
        self.desktop_logic(ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let ctx = &ctx;
        if let (Some(call), Some(t0)) = (&mut self.model.call, self.call_started) {
            call.elapsed_s = t0.elapsed().as_secs();
        }
        self.model.now_ms = banter::client::now_ms() as i64;
        self.pull_video(ctx);
        self.desktop_frame(ctx);
        let commands = banter_ui::view::show(ui, &mut self.model);
        for c in commands {
            self.execute(c, ctx);
        }
        // During a call only its timer changes by itself: one frame as each second
        // turns. The meters and plots come with the client's stats (1 Hz) and video
        // frames wake the window themselves; events and input repaint as always.
        if let (Some(_), Some(t0)) = (&self.model.call, self.call_started) {
            let into = u64::from(t0.elapsed().subsec_millis());
            ctx.request_repaint_after(Duration::from_millis(1_000 - into + 5));
        }
    }

    /// The window closes (its button, or SIGINT/SIGTERM): every account goes offline
    /// cleanly (calls hung up, unavailable presence, `</stream>`), so no session stays
    /// behind on the server; at most a few seconds.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // The icon goes and the folder is free at once: a `banter` started now opens
        // its own window instead of asking this one, which is on its way out.
        self.stop_desktop();
        for c in self.clients.values() {
            let _ = c.send(Command::Disconnect);
        }
        let forwarders = std::mem::take(&mut self.forwarders);
        self.runtime.block_on(async {
            for f in forwarders {
                let _ = tokio::time::timeout(Duration::from_secs(5), f).await;
            }
        });
    }
}

/// The camera picker's choice as a video source.
fn camera_spec(choice: &Option<String>) -> VideoSourceSpec {
    match choice.as_deref() {
        Some(TEST_PATTERN) => VideoSourceSpec::Pattern,
        other => VideoSourceSpec::Camera(other.map(str::to_string)),
    }
}

/// Devices and settings are the machine's, not an account's: every model shows them.
fn carry_devices(from: &Model, to: &mut Model) {
    to.settings = from.settings;
    to.microphone = from.microphone.clone();
    to.speaker = from.speaker.clone();
    to.microphones = from.microphones.clone();
    to.speakers = from.speakers.clone();
    to.cameras = from.cameras.clone();
    to.camera = from.camera.clone();
    to.status = from.status;
    to.language = from.language;
    to.desktop = from.desktop;
}

fn availability(show: Show) -> Availability {
    match show {
        Show::Available | Show::Chat => Availability::Available,
        Show::Away | Show::Xa => Availability::Away,
        Show::Dnd => Availability::Busy,
        Show::Unavailable => Availability::Offline,
    }
}

/// A picture from the video thread as an egui image (its one copy on the way to the
/// GPU; the conversion from I420 happened on the video thread).
fn color_image(f: &banter_media::video::RgbaFrame) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied([f.width, f.height], &f.pixels)
}

impl App {
    /// New pictures become the call's textures (updated in place, no new texture
    /// per frame); without a call, pictures left over are dropped.
    fn pull_video(&mut self, ctx: &egui::Context) {
        let Some(call) = self.model.call.as_mut() else {
            self.video.take_remote();
            self.video.take_local();
            return;
        };
        let update = |slot: &mut Option<VideoTexture>, name: &str, f: Option<_>| {
            let Some(f) = f else { return };
            let image = color_image(&f);
            match slot {
                Some(t) => t.0.set(image, egui::TextureOptions::LINEAR),
                None => {
                    *slot = Some(VideoTexture(ctx.load_texture(
                        name,
                        image,
                        egui::TextureOptions::LINEAR,
                    )))
                }
            }
        };
        update(
            &mut call.remote_video,
            "remote-video",
            self.video.take_remote(),
        );
        update(
            &mut call.local_video,
            "local-video",
            self.video.take_local(),
        );
    }

    fn contact_mut(&mut self, jid: &str) -> &mut ContactRow {
        self.model.contact_mut(jid)
    }

    fn apply(&mut self, ev: AppEvent) {
        let ev = match ev {
            AppEvent::Online(tx, jid) => {
                if self.json {
                    println!("{}", serde_json::json!({"event": "window", "account": jid}));
                }
                self.clients.insert(jid.clone(), tx.clone());
                self.status_on_sign_in(&jid, &tx);
                let current = self.model.account.clone();
                match current {
                    // Another account signed in beside the one shown: it waits in the
                    // stash unless the user was adding it.
                    Some(cur) if cur != jid && !self.model.adding_account => {
                        let mut m = self.fresh_model();
                        m.account = Some(jid.clone());
                        m.connection = Connection::Online;
                        self.stash.insert(jid.clone(), m);
                        self.with_account(&jid, |app| {
                            app.send(Command::LoadCallHistory { limit: 500 })
                        });
                        self.sync_accounts();
                        return;
                    }
                    Some(cur) if cur != jid => {
                        let mut m = self.fresh_model();
                        std::mem::swap(&mut self.model, &mut m);
                        m.adding_account = false;
                        m.form = Default::default();
                        self.stash.insert(cur, m);
                    }
                    _ => {}
                }
                self.client = Some(tx);
                self.send(Command::LoadCallHistory { limit: 500 });
                if let Some(local) = &self.local {
                    // The echo contact, ready to chat and call.
                    let jid = local.echo.clone();
                    self.model.selected = Some(jid.to_string());
                    self.send(Command::AddContact {
                        jid,
                        name: Some(banter_ui::t!("account-echo-contact")),
                    });
                }
                self.model.account = Some(jid);
                self.model.connection = Connection::Online;
                self.model.form.busy = false;
                self.model.adding_account = false;
                self.sync_accounts();
                return;
            }
            AppEvent::LoginFailed(e) => {
                if self.json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "login_failed", "message": e})
                    );
                }
                if self.model.account.is_some() && !self.model.adding_account {
                    // Another saved account could not sign in; the one shown is fine.
                    self.model.notice = Some(e);
                } else {
                    self.model.form.busy = false;
                    self.model.form.error = Some(e);
                }
                return;
            }
            AppEvent::Saved(account) => {
                self.model.form.jid = account.jid.clone();
                self.model.form.busy = true;
                if let Some(ctx) = self.ctx.clone() {
                    // Remembered already: its tokens are kept beside it.
                    self.sign_in_keeping(account, false, true, ctx);
                }
                return;
            }
            AppEvent::Local(local) => {
                let cfg = local.me_config(self.media.clone());
                self.local = Some(local);
                if let Some(ctx) = self.ctx.clone() {
                    self.start_client(cfg, None, ctx);
                }
                return;
            }
            AppEvent::Notice(n) => {
                self.model.notice = Some(n);
                return;
            }
            AppEvent::CallAction { call, action } => {
                self.on_call_action(call, action);
                return;
            }
            AppEvent::CallBack { account, peer } => {
                let Some(ctx) = self.ctx.clone() else { return };
                self.raise(&ctx);
                // In a call, ringing, or the account gone: only the window comes up.
                let busy = self.model.call.is_some() || self.model.incoming.is_some();
                let known = self.model.account.as_deref() == Some(account.as_str())
                    || self.stash.contains_key(&account);
                if busy || !known {
                    return;
                }
                if self.model.account.as_deref() != Some(account.as_str()) {
                    self.switch_to(&account);
                }
                self.execute(
                    UiCommand::Call {
                        jid: peer,
                        video: false,
                    },
                    &ctx,
                );
                return;
            }
            AppEvent::Registered(cfg, keep) => {
                if let Some(ctx) = self.ctx.clone() {
                    self.start_client(*cfg, keep, ctx);
                }
                return;
            }
            AppEvent::Quit => {
                if let Some(ctx) = self.ctx.clone() {
                    self.quit(&ctx);
                }
                return;
            }
            AppEvent::Tray(action) => {
                self.on_tray(action);
                return;
            }
            AppEvent::Raise => {
                if let Some(ctx) = self.ctx.clone() {
                    self.raise(&ctx);
                }
                return;
            }
            AppEvent::ScreenSources { call, sources } => {
                self.on_screen_sources(&call, sources);
                return;
            }
            AppEvent::Avatar {
                account,
                jid,
                picture,
            } => {
                if self.stash.contains_key(&account) {
                    self.with_account(&account, |app| app.on_avatar_decoded(&jid, picture));
                } else {
                    self.on_avatar_decoded(&jid, picture);
                }
                return;
            }
            AppEvent::Picture {
                account,
                peer,
                id,
                picture,
            } => {
                if self.stash.contains_key(&account) {
                    self.with_account(&account, |app| app.on_picture(&peer, &id, picture));
                } else {
                    self.on_picture(&peer, &id, picture);
                }
                return;
            }
            AppEvent::Reload(account, peer) => {
                self.with_account(&account, |app| app.reload_conversation(peer));
                return;
            }
            AppEvent::Client(account, ev) => {
                let ringing_in = matches!(&ev, Event::Call { state, direction, .. }
                    if *state == CallStatus::Ringing && *direction == CallDirection::In);
                if self.stash.contains_key(&account) {
                    if ringing_in && self.model.call.is_none() {
                        // A call for another account: show that account.
                        self.switch_to(&account);
                    } else {
                        self.with_account(&account, |app| app.apply_event(ev));
                        return;
                    }
                }
                ev
            }
        };
        self.apply_event(ev);
    }

    /// Messages of this conversation were not shown as they came (the window was not
    /// drawn): it is read again from the store.
    fn reload_conversation(&mut self, peer: String) {
        let account = self.model.account.clone().unwrap_or_default();
        if let Some(conv) = self.model.conversations.get_mut(&peer) {
            conv.items.clear();
            conv.history_cursor = None;
            conv.more_history = false;
        }
        if self.model.selected.as_deref() != Some(peer.as_str()) {
            let c = self.contact_mut(&peer);
            c.unread = c.unread.saturating_add(1);
        }
        self.history_loaded.insert(format!("{account} {peer}"));
        if let Ok(p) = BareJid::new(&peer) {
            self.send(Command::LoadHistory {
                peer: p,
                before_seq: None,
                limit: HISTORY_PAGE,
            });
        }
    }

    fn send(&self, cmd: Command) {
        if let Some(c) = &self.client {
            let _ = c.send(cmd);
        }
    }
}

mod accounts;
mod chat;
mod commands;
mod desktop;
mod events;
mod files;
mod rooms;
mod screen;
mod settings;

#[cfg(test)]
mod tests;
