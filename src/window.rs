//! `banter` without a subcommand: the egui window. It owns the `Model` of banter-ui,
//! feeds it from the client's events and turns the window's `UiCommand`s into client
//! `Command`s. The client runs on a tokio runtime beside the UI thread; an event asks
//! for a repaint, so an idle window does not redraw.

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use banter_media::audio::echo::Processing;
use banter_media::audio::ring::Ringer;
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::video::{VideoSinkSpec, VideoSourceSpec, VideoView};
use banter_ui::command::TypingState;
use banter_ui::model::{
    ActiveCall, Availability, CallLogRow, CallPhase, Connection, ContactRow, Delivery,
    IncomingCall, QualitySample, Settings, TimelineItem, VideoTexture, TEST_PATTERN,
};
use banter_ui::{eframe, egui, Model, UiCommand};
use tokio::sync::mpsc;
use xmpp_parsers::jid::{BareJid, Jid};

use crate::backlog::Queued;
use crate::client::{
    self, CallDirection, CallInfo, CallStatus, Command, Config, Event, Media, SettingsChange,
    Typing,
};
use crate::xmpp::presence::Show;

/// Messages loaded from the store at a time (the first page, then each "earlier").
const HISTORY_PAGE: usize = 200;

enum AppEvent {
    Online(mpsc::UnboundedSender<Command>, String),
    LoginFailed(String),
    /// "Try it locally" is up: sign in to it.
    Local(Box<crate::local::TryLocally>),
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
    runtime: tokio::runtime::Runtime,
    events: std_mpsc::Receiver<AppEvent>,
    events_tx: std_mpsc::Sender<AppEvent>,
    client: Option<mpsc::UnboundedSender<Command>>,
    data_dir: PathBuf,
    media: banter_media::MediaConfig,
    call_started: Option<Instant>,
    /// Conversations whose stored history was asked for already.
    history_loaded: std::collections::HashSet<String>,
    /// To wake the window from background tasks.
    ctx: Option<egui::Context>,
    /// "Try it locally": the private server and echo contact, while in use.
    local: Option<Box<crate::local::TryLocally>>,
    /// Every signed-in account's client, by JID.
    clients: std::collections::HashMap<String, mpsc::UnboundedSender<Command>>,
    /// The models of the accounts not on screen (the one shown is `model`).
    stash: std::collections::HashMap<String, Model>,
    /// While a call rings: the ringtone and the desktop notification.
    ringer: Option<Ringer>,
    notification: Option<crate::notify::CallNotification>,
    /// Where the video thread leaves the latest pictures (remote and preview).
    video: Arc<VideoView>,
    /// The last call was placed or answered with the camera on.
    camera_wanted: bool,
    /// A new password sent to the server, kept until it answers (for the keyring).
    new_password: Option<String>,
    /// Client events sent to the window and not taken yet (see backlog.rs).
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Each account's event forwarder: it ends when its client stopped.
    forwarders: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the window; returns when it is closed.
pub fn run(
    data_dir: PathBuf,
    media: banter_media::MediaConfig,
    start: Option<StartAccount>,
    try_locally: bool,
    json: bool,
) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (events_tx, events) = std_mpsc::channel();
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
                runtime,
                events,
                events_tx,
                client: None,
                data_dir,
                media,
                call_started: None,
                history_loaded: Default::default(),
                ctx: None,
                ringer: None,
                notification: None,
                local: None,
                clients: Default::default(),
                stash: Default::default(),
                video: VideoView::new(),
                camera_wanted: false,
                new_password: None,
                queued: Default::default(),
                forwarders: Vec::new(),
            };
            app.ctx = Some(cc.egui_ctx.clone());
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
            let (inputs, outputs) = banter_media::audio::list_devices();
            app.model.microphones = inputs;
            app.model.speakers = outputs;
            app.model.cameras = banter_media::video::camera::list()
                .into_iter()
                .map(|c| c.name)
                .chain([TEST_PATTERN.to_string()])
                .collect();
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
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let ctx = &ctx;
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
        if let (Some(call), Some(t0)) = (&mut self.model.call, self.call_started) {
            call.elapsed_s = t0.elapsed().as_secs();
        }
        self.model.now_ms = crate::xmpp::chat::now_ms();
        self.pull_video(ctx);
        let commands = banter_ui::view::show(ui, &mut self.model);
        for c in commands {
            self.execute(c, ctx);
        }
        // Live meters during a call; otherwise only events and input repaint.
        if self.model.call.is_some() {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }

    /// The window closes (its button, or SIGINT/SIGTERM): every account goes offline
    /// cleanly (calls hung up, unavailable presence, `</stream>`), so no session stays
    /// behind on the server; at most a few seconds.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
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
                        name: Some("Echo (plays you back)".into()),
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
                    self.sign_in(account, false, ctx);
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
            AppEvent::Registered(cfg, keep) => {
                if let Some(ctx) = self.ctx.clone() {
                    self.start_client(*cfg, keep, ctx);
                }
                return;
            }
            AppEvent::Quit => {
                if let Some(ctx) = &self.ctx {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
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

    /// An event of the account on screen (`with_account` puts another one there).
    fn apply_event(&mut self, ev: Event) {
        if self.json {
            println!("{}", client::to_json(&ev));
        }
        match ev {
            Event::Connected { .. } => {
                self.model.connection = Connection::Online;
                self.model.notice = None;
            }
            Event::ConnectionLost => self.model.connection = Connection::Connecting,
            Event::ConnectionError { message, .. } | Event::Error { message } => {
                self.model.notice = Some(message)
            }
            Event::Roster { contacts } => {
                for c in contacts {
                    self.contact_mut(&c.jid).name = c.name;
                }
                self.model
                    .contacts
                    .sort_by(|a, b| a.display_name().cmp(b.display_name()));
            }
            Event::ContactChanged { contact } => self.contact_mut(&contact.jid).name = contact.name,
            Event::ContactRemoved { jid } => self.model.contacts.retain(|c| c.jid != jid),
            Event::Presence { from, show, status } => {
                let bare = from.split('/').next().unwrap_or(&from);
                self.model.set_presence(bare, availability(show), status);
            }
            Event::Features { jid, features } => {
                let bare = jid.split('/').next().unwrap_or(&jid).to_string();
                if self.model.contacts.iter().any(|c| c.jid == bare) {
                    let c = self.contact_mut(&bare);
                    c.can_audio = features
                        .iter()
                        .any(|f| f == "urn:xmpp:jingle:apps:rtp:audio");
                    // An app without BUNDLE (Dino) gets its video on a transport of
                    // its own: rtp:video is all it takes.
                    c.can_video = features
                        .iter()
                        .any(|f| f == "urn:xmpp:jingle:apps:rtp:video");
                }
            }
            // The local echo contact asks back when added: no question for the user.
            Event::SubscriptionRequest { from }
                if self.local.as_ref().is_some_and(|l| l.echo.as_str() == from) =>
            {
                if let Ok(jid) = BareJid::new(&from) {
                    self.send(Command::AnswerSubscription { jid, accept: true });
                }
            }
            // At most 100 open questions: more (from many JIDs) wait until some are answered.
            Event::SubscriptionRequest { from }
                if !self.model.subscription_requests.contains(&from)
                    && self.model.subscription_requests.len() < 100 =>
            {
                self.model.subscription_requests.push(from);
            }
            Event::Message { message } => {
                let outgoing = message.direction == crate::store::Direction::Out;
                self.model.receive_message(
                    &message.peer,
                    TimelineItem::Message {
                        id: message.id,
                        seq: message.seq,
                        outgoing,
                        body: message.body,
                        ts_ms: message.ts_ms,
                        delivery: if outgoing {
                            Delivery::Sending
                        } else {
                            Delivery::Received
                        },
                    },
                );
            }
            Event::History { peer, messages } => {
                // Stored history goes before what arrived since; the same message can be
                // in both, once.
                let peer_key = peer.clone();
                let conv = self.model.conversations.entry(peer).or_default();
                // A full page means there may be more before it.
                conv.more_history = messages.len() >= HISTORY_PAGE;
                if let Some(first) = messages.first() {
                    conv.history_cursor =
                        Some(conv.history_cursor.map_or(first.seq, |c| c.min(first.seq)));
                }
                let known: std::collections::HashSet<String> = conv
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        TimelineItem::Message { id, .. } => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                let mut items: Vec<TimelineItem> = messages
                    .into_iter()
                    .filter(|m| !known.contains(&m.id))
                    .map(|m| {
                        let outgoing = m.direction == crate::store::Direction::Out;
                        TimelineItem::Message {
                            id: m.id,
                            seq: m.seq,
                            outgoing,
                            body: m.body,
                            ts_ms: m.ts_ms,
                            delivery: match m.state {
                                crate::store::MessageState::Pending => Delivery::Sending,
                                crate::store::MessageState::Acked => Delivery::Sent,
                                crate::store::MessageState::Delivered => Delivery::Delivered,
                                crate::store::MessageState::Received => Delivery::Received,
                            },
                        }
                    })
                    .collect();
                items.append(&mut conv.items);
                conv.items = items;
                let peer = peer_key.clone();
                self.merge_calls(&peer);
            }
            Event::MessageAcked { id } => self.set_delivery(&id, Delivery::Sent),
            Event::MessageDelivered { id } => self.set_delivery(&id, Delivery::Delivered),
            Event::Call {
                id,
                peer,
                direction,
                state,
                media,
                ..
            } => {
                let video = media.contains(&Media::Video);
                self.on_call(id, peer, direction, state, video)
            }
            Event::CallVideo { id, .. } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    call.video = true;
                }
            }
            Event::CallHistory { calls } => {
                self.model.call_log = calls
                    .into_iter()
                    .map(|c| CallLogRow {
                        id: c.id,
                        peer: c.peer,
                        outgoing: c.direction == crate::store::Direction::Out,
                        duration_s: c.duration_s.map(|d| d.max(0) as u64),
                        ts_ms: c.started_ms,
                    })
                    .collect();
                let peers: Vec<String> = self.model.conversations.keys().cloned().collect();
                for p in peers {
                    self.merge_calls(&p);
                }
            }
            Event::ChatState { from, state } => {
                let conv = self.model.conversations.entry(from).or_default();
                conv.peer_typing = state == Typing::Composing;
            }
            Event::CallInfo { id, info } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    match info {
                        CallInfo::Mute => call.peer_muted = true,
                        CallInfo::Unmute => call.peer_muted = false,
                        CallInfo::Hold => call.peer_held = true,
                        CallInfo::Unhold => call.peer_held = false,
                        CallInfo::CameraOff => call.peer_camera_off = true,
                        CallInfo::CameraOn => call.peer_camera_off = false,
                        CallInfo::VideoDeclined => {
                            call.camera_on = false;
                            self.model.notice =
                                Some(format!("{} did not take the video.", call.peer));
                        }
                        _ => {}
                    }
                }
            }
            Event::PasswordChanged => {
                let a = &mut self.model.account_settings;
                *a = Default::default();
                a.message = Some("The password is changed.".into());
                // A password kept in the keyring follows (D-Bus blocks: off the runtime).
                if let (Some(jid), Some(password)) =
                    (self.model.account.clone(), self.new_password.take())
                {
                    self.runtime.spawn_blocking(move || {
                        if matches!(crate::secrets::load(&jid), Ok(Some(_))) {
                            let _ = crate::secrets::save(&jid, &password);
                        }
                    });
                }
            }
            Event::AccountRefused { message } => {
                let a = &mut self.model.account_settings;
                a.busy = false;
                a.message = Some(message);
                self.new_password = None;
            }
            Event::AccountDeleted => self.account_deleted(),
            Event::CallStats { stats, .. } => {
                if let Some(call) = &mut self.model.call {
                    call.mic_level_dbfs = stats.audio_level_in;
                    call.quality.push_back(QualitySample {
                        rtt_ms: stats.rtt_ms.unwrap_or(0.0),
                        jitter_ms: stats.jitter_ms,
                        loss_pct: stats.loss_pct,
                        kbps: stats.recv_kbps,
                    });
                    if call.quality.len() > 120 {
                        call.quality.pop_front();
                    }
                    call.video_info = stats.video.as_ref().map(|v| {
                        format!(
                            "{}x{} · {:.0} fps · {:.0} kb/s",
                            v.width, v.height, v.fps, v.recv_kbps
                        )
                    });
                }
            }
            _ => {}
        }
    }

    fn set_delivery(&mut self, id: &str, d: Delivery) {
        for conv in self.model.conversations.values_mut() {
            for item in &mut conv.items {
                if let TimelineItem::Message {
                    id: mid, delivery, ..
                } = item
                {
                    if mid == id && *delivery != Delivery::Delivered {
                        *delivery = d;
                    }
                }
            }
        }
    }

    fn on_call(
        &mut self,
        id: String,
        peer: String,
        direction: CallDirection,
        state: CallStatus,
        video: bool,
    ) {
        let incoming = direction == CallDirection::In;
        match state {
            CallStatus::Ringing if incoming => {
                let who = self
                    .model
                    .contact(&peer)
                    .map(|c| c.display_name().to_string())
                    .unwrap_or_else(|| peer.clone());
                self.notification = Some(crate::notify::CallNotification::show(&who, &peer));
                self.ringer = match Ringer::start(self.media.audio_out.clone()) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::info!(error = %e, "no ringtone");
                        None
                    }
                };
                self.model.incoming = Some(IncomingCall { id, peer, video })
            }
            CallStatus::Ended => {
                self.stop_ringing();
                // The call history list gets the record the client just stored.
                self.send(Command::LoadCallHistory { limit: 500 });
                let answered = self.call_started.is_some();
                let duration = self.call_started.take().map(|t| t.elapsed().as_secs());
                self.model.call = None;
                self.model.incoming = None;
                self.model
                    .conversations
                    .entry(peer)
                    .or_default()
                    .push_live(TimelineItem::Call {
                        id,
                        outgoing: !incoming,
                        answered,
                        duration_s: duration,
                        ts_ms: crate::xmpp::chat::now_ms(),
                    });
            }
            other => {
                let phase = match other {
                    CallStatus::Proposing => CallPhase::Calling,
                    CallStatus::Ringing => CallPhase::Ringing,
                    CallStatus::Connecting => CallPhase::Connecting,
                    CallStatus::Active | CallStatus::Ended => CallPhase::Active,
                };
                if phase == CallPhase::Active && self.call_started.is_none() {
                    self.call_started = Some(Instant::now());
                }
                self.model.incoming = None;
                self.stop_ringing();
                let camera_on = self.camera_wanted;
                let call = self.model.call.get_or_insert_with(|| {
                    let mut c = ActiveCall::new(id, peer, phase);
                    c.camera_on = camera_on;
                    c
                });
                call.phase = phase;
                // The call's media as it is now (video added, or removed by the peer).
                call.video = video;
            }
        }
    }

    /// A model for another account: the devices and settings carry over.
    fn fresh_model(&self) -> Model {
        let mut m = Model {
            now_ms: self.model.now_ms,
            ..Default::default()
        };
        carry_devices(&self.model, &mut m);
        m
    }

    /// Runs `f` with `account`'s model and client in place (for its events).
    fn with_account(&mut self, account: &str, f: impl FnOnce(&mut App)) {
        let Some(mut m) = self.stash.remove(account) else {
            return f(self);
        };
        std::mem::swap(&mut self.model, &mut m);
        let client = std::mem::replace(&mut self.client, self.clients.get(account).cloned());
        f(self);
        self.client = client;
        std::mem::swap(&mut self.model, &mut m);
        self.stash.insert(account.to_string(), m);
    }

    /// Shows `account` (its contacts, conversations, calls).
    fn switch_to(&mut self, account: &str) {
        let Some(mut m) = self.stash.remove(account) else {
            return;
        };
        carry_devices(&self.model, &mut m);
        std::mem::swap(&mut self.model, &mut m);
        m.adding_account = false;
        if let Some(old) = m.account.clone() {
            self.stash.insert(old, m);
        }
        self.client = self.clients.get(account).cloned();
        self.sync_accounts();
    }

    /// The account shown was deleted from its server: its client stops, its password
    /// leaves the keyring, and another signed-in account (or the form) is shown.
    fn account_deleted(&mut self) {
        let Some(gone) = self.model.account.clone() else {
            return;
        };
        self.clients.remove(&gone);
        let forget = gone.clone();
        self.runtime.spawn_blocking(move || {
            let _ = crate::secrets::forget(&forget);
        });
        let next = self.stash.keys().next().cloned();
        match next {
            Some(other) => {
                self.switch_to(&other);
                self.stash.remove(&gone);
            }
            None => {
                self.model = self.fresh_model();
                self.client = None;
            }
        }
        self.model.notice = Some(format!("{gone} is deleted from its server."));
        self.sync_accounts();
    }

    /// Every model knows the list of accounts (for the switcher).
    fn sync_accounts(&mut self) {
        let mut all: Vec<String> = self.clients.keys().cloned().collect();
        all.sort();
        self.model.accounts = all.clone();
        for m in self.stash.values_mut() {
            m.accounts = all.clone();
        }
    }

    fn send(&self, cmd: Command) {
        if let Some(c) = &self.client {
            let _ = c.send(cmd);
        }
    }

    fn execute(&mut self, c: UiCommand, ctx: &egui::Context) {
        match c {
            UiCommand::AddAccount {
                jid,
                password,
                server,
                ca_file,
                remember,
                register,
            } => self.sign_in(
                StartAccount {
                    jid,
                    password,
                    server,
                    ca_file,
                    register,
                },
                remember,
                ctx.clone(),
            ),
            UiCommand::TryLocally => self.try_locally(ctx.clone()),
            UiCommand::ChangePassword { password } => {
                self.new_password = Some(password.clone());
                self.send(Command::ChangePassword { password });
            }
            UiCommand::DeleteAccount => self.send(Command::DeleteAccount),
            UiCommand::RemoveContact { jid } => {
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::RemoveContact { jid });
                }
                self.model.selected = None;
            }
            UiCommand::SwitchAccount { jid } => self.switch_to(&jid),
            UiCommand::SelectContact { jid } => {
                self.contact_mut(&jid).unread = 0;
                let account = self.model.account.clone().unwrap_or_default();
                if self.history_loaded.insert(format!("{account} {jid}")) {
                    if let Ok(peer) = BareJid::new(&jid) {
                        self.send(Command::LoadHistory {
                            peer,
                            before_seq: None,
                            limit: HISTORY_PAGE,
                        });
                    }
                }
                self.model.selected = Some(jid);
            }
            UiCommand::SendMessage { to, body } => {
                if let Ok(to) = BareJid::new(&to) {
                    self.send(Command::SendMessage {
                        id: client::new_id(),
                        to,
                        body,
                    });
                }
            }
            UiCommand::AddContact { jid } => match BareJid::new(&jid) {
                Ok(jid) => self.send(Command::AddContact { jid, name: None }),
                Err(e) => self.model.notice = Some(format!("invalid address {jid}: {e}")),
            },
            UiCommand::AnswerSubscription { jid, accept } => {
                self.model.subscription_requests.retain(|j| *j != jid);
                if let Ok(jid) = BareJid::new(&jid) {
                    self.send(Command::AnswerSubscription { jid, accept });
                }
            }
            UiCommand::Call { jid, video } => {
                self.camera_wanted = video;
                if let Ok(to) = Jid::new(&jid) {
                    self.send(Command::Call {
                        id: client::new_id(),
                        to,
                        video,
                    });
                }
            }
            UiCommand::AcceptCall { id, video } => {
                self.camera_wanted = video;
                self.stop_ringing();
                self.send(Command::AcceptCall { id, video })
            }
            UiCommand::DeclineCall { id } => {
                self.stop_ringing();
                self.send(Command::RejectCall {
                    id,
                    reason: crate::jingle::Reason::Decline,
                })
            }
            UiCommand::Hangup { id } => self.send(Command::Hangup { id }),
            UiCommand::SetMuted { id, muted } => {
                if let Some(call) = &mut self.model.call {
                    call.muted = muted;
                }
                self.send(Command::MuteCall { id, muted });
            }
            UiCommand::Typing { to, state } => {
                use xmpp_parsers::chatstates::ChatState;
                if let Ok(to) = BareJid::new(&to) {
                    let state = match state {
                        TypingState::Composing => ChatState::Composing,
                        TypingState::Paused => ChatState::Paused,
                        TypingState::Active => ChatState::Active,
                    };
                    self.send(Command::SendChatState { to, state });
                }
            }
            UiCommand::LoadEarlier { jid } => {
                let cursor = self
                    .model
                    .conversations
                    .get(&jid)
                    .and_then(|c| c.history_cursor);
                if let (Ok(peer), Some(before)) = (BareJid::new(&jid), cursor) {
                    self.send(Command::LoadHistory {
                        peer,
                        before_seq: Some(before),
                        limit: HISTORY_PAGE,
                    });
                }
            }
            UiCommand::SetMicrophone { name } => {
                // Only when sending from a microphone (not a file or tone given on
                // the command line).
                if matches!(self.media.audio_in, SourceSpec::Mic(_)) {
                    self.media.audio_in = SourceSpec::Mic(name);
                    self.send(Command::Settings(SettingsChange::AudioIn(
                        self.media.audio_in.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::SetCameraDevice { name } => {
                if !self.media.video_in.is_none() {
                    self.media.video_in = camera_spec(&name);
                    self.send(Command::Settings(SettingsChange::VideoIn(
                        self.media.video_in.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::SetCamera { id, on } => {
                if let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) {
                    call.camera_on = on;
                }
                self.send(Command::SetCamera { id, on });
            }
            UiCommand::SetSpeaker { name } => {
                if matches!(self.media.audio_out, SinkSpec::Speaker(_)) {
                    self.media.audio_out = SinkSpec::Speaker(name);
                    self.send(Command::Settings(SettingsChange::AudioOut(
                        self.media.audio_out.clone(),
                    )));
                }
                self.save_settings();
            }
            UiCommand::ChangeSettings(s) => {
                let p = Processing {
                    echo_cancel: s.echo_cancellation,
                    noise_suppress: s.echo_cancellation,
                    ..self.media.processing
                };
                self.media.processing = p;
                self.media.relay_only = s.relay_only;
                self.send(Command::Settings(SettingsChange::Processing(p)));
                self.send(Command::Settings(SettingsChange::RelayOnly(s.relay_only)));
                self.send(Command::Settings(SettingsChange::CallsFromAnyone(
                    s.calls_from_anyone,
                )));
                self.save_settings();
            }
            UiCommand::SetHeld { id, held } => {
                if let Some(call) = &mut self.model.call {
                    call.held = held;
                }
                self.send(Command::HoldCall { id, held });
            }
        }
    }

    /// The saved accounts, signed in with their passwords from the OS keyring; the
    /// form (pre-filled) when the keyring has none or cannot be reached.
    fn resume_saved_account(&mut self) {
        let accounts = crate::store::Store::open_dir(&self.data_dir)
            .ok()
            .and_then(|s| s.accounts().ok())
            .unwrap_or_default();
        let Some(first) = accounts.first() else {
            return;
        };
        self.model.form.jid = first.jid.clone();
        self.model.form.server = first.server.clone().unwrap_or_default();
        self.model.form.ca_file = first.ca_file.clone().unwrap_or_default();
        self.model.form.busy = true;
        // Every saved account signs in; the first one online is shown.
        for account in accounts {
            let tx = self.events_tx.clone();
            let ctx = self.ctx.clone();
            self.runtime.spawn_blocking(move || {
                let ev = match crate::secrets::load(&account.jid) {
                    Ok(Some(password)) => AppEvent::Saved(StartAccount {
                        jid: account.jid,
                        password,
                        server: account.server,
                        ca_file: account.ca_file,
                        register: false,
                    }),
                    Ok(None) => AppEvent::LoginFailed(format!(
                        "Enter the password of {} to sign in.",
                        account.jid
                    )),
                    Err(e) => AppEvent::LoginFailed(e.to_string()),
                };
                let _ = tx.send(ev);
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            });
        }
    }

    /// Silences the ringtone and withdraws the notification.
    fn stop_ringing(&mut self) {
        self.ringer = None;
        self.notification = None;
    }

    /// Puts the stored calls with `peer` into its timeline (once each), in time order.
    fn merge_calls(&mut self, peer: &str) {
        let Some(conv) = self.model.conversations.get_mut(peer) else {
            return;
        };
        let known: std::collections::HashSet<String> = conv
            .items
            .iter()
            .filter_map(|i| match i {
                TimelineItem::Call { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut added = false;
        for c in self.model.call_log.iter().filter(|c| c.peer == peer) {
            if !known.contains(&c.id) {
                conv.items.push(TimelineItem::Call {
                    id: c.id.clone(),
                    outgoing: c.outgoing,
                    answered: c.duration_s.is_some(),
                    duration_s: c.duration_s,
                    ts_ms: c.ts_ms,
                });
                added = true;
            }
        }
        if added {
            conv.items.sort_by_key(|i| match i {
                TimelineItem::Message { ts_ms, .. } | TimelineItem::Call { ts_ms, .. } => *ts_ms,
            });
        }
    }

    fn settings_path(&self) -> PathBuf {
        self.data_dir.join("settings.json")
    }

    /// Devices and call settings, kept in the data dir (no secrets in it).
    fn save_settings(&self) {
        let s = &self.model.settings;
        let v = serde_json::json!({
            "microphone": self.model.microphone,
            "speaker": self.model.speaker,
            "camera": self.model.camera,
            "echo_cancellation": s.echo_cancellation,
            "relay_only": s.relay_only,
            "calls_from_anyone": s.calls_from_anyone,
        });
        let _ = std::fs::create_dir_all(&self.data_dir);
        if let Err(e) = std::fs::write(self.settings_path(), v.to_string()) {
            tracing::warn!(error = %e, "settings not saved");
        }
    }

    /// The saved settings, applied to the model and to the media of the next calls.
    fn load_settings(&mut self) {
        let Some(v) = std::fs::read_to_string(self.settings_path())
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            return;
        };
        let text = |k: &str| v[k].as_str().map(str::to_string);
        let flag = |k: &str, d: bool| v[k].as_bool().unwrap_or(d);
        self.model.microphone = text("microphone");
        self.model.speaker = text("speaker");
        self.model.camera = text("camera");
        self.model.settings = Settings {
            echo_cancellation: flag("echo_cancellation", true),
            relay_only: flag("relay_only", false),
            calls_from_anyone: flag("calls_from_anyone", false),
        };
        if matches!(self.media.audio_in, SourceSpec::Mic(None)) {
            self.media.audio_in = SourceSpec::Mic(self.model.microphone.clone());
        }
        if matches!(self.media.audio_out, SinkSpec::Speaker(None)) {
            self.media.audio_out = SinkSpec::Speaker(self.model.speaker.clone());
        }
        if matches!(self.media.video_in, VideoSourceSpec::Camera(None)) {
            self.media.video_in = camera_spec(&self.model.camera);
        }
        let s = self.model.settings;
        self.media.processing.echo_cancel = s.echo_cancellation;
        self.media.processing.noise_suppress = s.echo_cancellation;
        self.media.relay_only |= s.relay_only;
    }

    fn sign_in(&mut self, account: StartAccount, remember: bool, ctx: egui::Context) {
        let StartAccount {
            jid,
            password,
            server,
            ca_file,
            register,
        } = account;
        let Ok(bare) = BareJid::new(&jid) else {
            self.model.form.busy = false;
            self.model.form.error = Some(format!("invalid address {jid}"));
            return;
        };
        let keep = remember.then(|| password.clone());
        let mut cfg = Config::new(bare, password, self.data_dir.clone());
        cfg.server = server
            .as_deref()
            .and_then(crate::xmpp::connect::parse_server);
        cfg.ca_file = ca_file.map(PathBuf::from);
        cfg.media = Some(self.media.clone());
        if register {
            // Created first, then signed in like any account.
            let tx = self.events_tx.clone();
            self.runtime.spawn(async move {
                let ev = match client::register(&cfg).await {
                    Ok(()) => AppEvent::Registered(Box::new(cfg), keep),
                    Err(e) => AppEvent::LoginFailed(format!("The account was not created: {e}")),
                };
                let _ = tx.send(ev);
                ctx.request_repaint();
            });
            return;
        }
        self.start_client(cfg, keep, ctx);
    }

    /// "Try it locally": starts the private server and the echo contact, then signs
    /// in to it (`AppEvent::Local`).
    fn try_locally(&mut self, ctx: egui::Context) {
        self.model.form.busy = true;
        self.model.form.error = None;
        let dir = self.data_dir.join("try-locally");
        let tx = self.events_tx.clone();
        self.runtime.spawn(async move {
            let ev = match crate::local::TryLocally::start(&dir).await {
                Ok(local) => AppEvent::Local(Box::new(local)),
                Err(e) => AppEvent::LoginFailed(e.to_string()),
            };
            let _ = tx.send(ev);
            ctx.request_repaint();
        });
    }

    /// Runs a client for `cfg`, its events feeding the window; `keep` is a password
    /// to save in the keyring once it proved right.
    fn start_client(&mut self, mut cfg: Config, keep: Option<String>, ctx: egui::Context) {
        cfg.call_policy.anyone = self.model.settings.calls_from_anyone;
        let jid = cfg.jid.to_string();
        let tx = self.events_tx.clone();
        let queued = self.queued.clone();
        self.forwarders.retain(|h| !h.is_finished());
        let forwarder = self.runtime.spawn(async move {
            match client::start(cfg).await {
                Ok(mut handle) => {
                    if let Some(password) = keep {
                        // A working password only; D-Bus blocks, so off the runtime.
                        let (jid, tx) = (jid.clone(), tx.clone());
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = crate::secrets::save(&jid, &password) {
                                let _ = tx.send(AppEvent::Notice(format!(
                                    "Signed in, but the password was not saved: {e}"
                                )));
                            }
                        });
                    }
                    let _ = tx.send(AppEvent::Online(handle.sender(), jid.clone()));
                    ctx.request_repaint();
                    // A window that is not drawn takes no events: see backlog.rs.
                    let mut backlog = crate::backlog::Backlog::default();
                    let mut tick = tokio::time::interval(Duration::from_millis(500));
                    loop {
                        let waiting = queued.load(std::sync::atomic::Ordering::Relaxed);
                        let items = tokio::select! {
                            ev = handle.next_event() => match ev {
                                Some(ev) => backlog.admit(ev, waiting),
                                None => break,
                            },
                            _ = tick.tick() => backlog.release(waiting),
                        };
                        if items.is_empty() {
                            continue;
                        }
                        for item in items {
                            let ev = match item {
                                Queued::Event(ev) => AppEvent::Client(jid.clone(), ev),
                                Queued::Reload(peer) => AppEvent::Reload(jid.clone(), peer),
                            };
                            queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if tx.send(ev).is_err() {
                                return;
                            }
                        }
                        ctx.request_repaint();
                    }
                }
                Err(e) => {
                    let _ = tx.send(AppEvent::LoginFailed(e.to_string()));
                    ctx.request_repaint();
                }
            }
        });
        self.forwarders.push(forwarder);
    }
}

#[cfg(test)]
mod tests;
