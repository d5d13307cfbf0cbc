//! The `Client`: one task per account. Front ends (window, headless commands, tests)
//! send it `Command`s and read its `Event`s; nothing else touches the network.
//!
//! The connection itself is tokio-xmpp's `StanzaStream` (resource binding, XEP-0198
//! stream management and resumption), fed by our own connector (`xmpp::connect`) so
//! that login failures are reported instead of retried silently.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use minidom::Element;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::stanzastream::{Connection, Event as StreamEv, StanzaStream, StreamEvent};
use tokio_xmpp::xmlstream::Timeouts;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::store::{Direction, MessageState, Store, StoreError, StoredMessage};
use crate::xmpp::connect::{self, ConnectOptions};
use crate::xmpp::error::ConnectError;
use crate::xmpp::presence::Show;
use crate::xmpp::{
    caps, carbons, chat, chatstates, disco, guard, mam, presence, receipts, register, roster, tls,
};

/// What an account needs to go online.
#[derive(Debug, Clone)]
pub struct Config {
    pub jid: BareJid,
    pub password: String,
    /// Requested resource; the server may assign another.
    pub resource: Option<String>,
    /// `HOST:PORT` instead of DNS SRV.
    pub server: Option<connect::Target>,
    pub ca_file: Option<PathBuf>,
    /// Where `banter.sqlite3` lives.
    pub data_dir: PathBuf,
    /// Upper bound for one connection attempt.
    pub connect_timeout: Duration,
    /// Presence announced when online; `None` stays invisible to contacts (no
    /// initial presence), e.g. for `banter send`.
    pub presence: Option<(Show, Option<String>)>,
    /// Fetch what arrived while offline (XEP-0313).
    pub catch_up: bool,
    /// Media for calls: devices or files, ICE policy. `None`: calls are declined.
    pub media: Option<banter_media::MediaConfig>,
    /// Who may ring us.
    pub call_policy: CallPolicy,
    /// How long calls ring before they are given up.
    pub ring_timeout: Duration,
}

/// Who may call: by default only contacts with a presence subscription; `allowed`
/// adds JIDs (or, with `only_allowed`, limits calls to them).
#[derive(Debug, Clone, Default)]
pub struct CallPolicy {
    pub allowed: Vec<BareJid>,
    pub only_allowed: bool,
    /// Anyone may ring (not only contacts); `only_allowed` still wins.
    pub anyone: bool,
}

impl Config {
    pub fn new(jid: BareJid, password: String, data_dir: PathBuf) -> Self {
        Config {
            jid,
            password,
            resource: None,
            server: None,
            ca_file: None,
            data_dir,
            connect_timeout: Duration::from_secs(15),
            presence: Some((Show::Available, None)),
            catch_up: true,
            media: None,
            call_policy: CallPolicy::default(),
            ring_timeout: crate::jingle::session::RING_TIMEOUT,
        }
    }
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One media or privacy setting.
#[derive(Debug, Clone)]
pub enum SettingsChange {
    AudioIn(banter_media::audio::source::SourceSpec),
    AudioOut(banter_media::audio::sink::SinkSpec),
    /// The camera (or test pattern) video is sent from.
    VideoIn(banter_media::video::VideoSourceSpec),
    Processing(banter_media::audio::echo::Processing),
    /// Only TURN relays: our address is never sent.
    RelayOnly(bool),
    /// Anyone may ring us, not only contacts with a presence subscription.
    CallsFromAnyone(bool),
}

/// What a front end asks of the account.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send a chat message; `id` (also its origin-id) identifies it in later events.
    SendMessage {
        id: String,
        to: BareJid,
        body: String,
    },
    AddContact {
        jid: BareJid,
        name: Option<String>,
    },
    RenameContact {
        jid: BareJid,
        name: String,
    },
    RemoveContact {
        jid: BareJid,
    },
    /// Answer a subscription request; accepting also asks for theirs in return.
    AnswerSubscription {
        jid: BareJid,
        accept: bool,
    },
    SetPresence {
        show: Show,
        status: Option<String>,
    },
    /// Ask for a page of history: answered by `Event::History`.
    LoadHistory {
        peer: BareJid,
        before_seq: Option<i64>,
        limit: usize,
    },
    /// Call `to`: a bare JID rings all its devices (JMI), a full JID gets a
    /// session-initiate directly.
    Call {
        id: String,
        to: Jid,
        /// A video call: the camera is on from the start.
        video: bool,
    },
    /// Answer a ringing call; with `video`, our camera goes on too.
    AcceptCall {
        id: String,
        video: bool,
    },
    /// Camera on or off during a call; on in an audio call adds video (content-add).
    SetCamera {
        id: String,
        on: bool,
    },
    RejectCall {
        id: String,
        reason: crate::jingle::Reason,
    },
    Hangup {
        id: String,
    },
    MuteCall {
        id: String,
        muted: bool,
    },
    /// Tell `to` whether we are typing (XEP-0085).
    SendChatState {
        to: BareJid,
        state: xmpp_parsers::chatstates::ChatState,
    },
    /// Change media settings: for the next calls, and (devices, processing) live in
    /// the current ones.
    Settings(SettingsChange),
    /// The latest calls (an `Event::CallHistory`).
    LoadCallHistory {
        limit: usize,
    },
    /// Put an active call on hold (both directions silent) or resume it.
    HoldCall {
        id: String,
        held: bool,
    },
    /// Change the account's password on the server (XEP-0077); answered by
    /// `Event::PasswordChanged` or `Event::AccountRefused`. Reconnects use the new one.
    ChangePassword {
        password: String,
    },
    /// Delete the account on the server (XEP-0077); answered by `Event::AccountDeleted`
    /// (and the client stops) or `Event::AccountRefused`.
    DeleteAccount,
    /// Go offline cleanly.
    Disconnect,
}

/// A front end's end of the client.
pub struct ClientHandle {
    pub jid: BareJid,
    commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    task: tokio::task::JoinHandle<()>,
}

impl ClientHandle {
    pub fn send(&self, cmd: Command) {
        let _ = self.commands.send(cmd);
    }

    pub fn sender(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }

    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Disconnects and waits for the task to finish (bounded).
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Disconnect);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// A fresh random id for stanzas.
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Creates the account `config.jid` with `config.password` on its server by in-band
/// registration (XEP-0077); sign in afterwards with [`start`].
pub async fn register(config: &Config) -> Result<(), ClientError> {
    if config.jid.node().is_none() {
        return Err(ConnectError::InvalidJid(config.jid.to_string()).into());
    }
    let opts = ConnectOptions {
        jid: Jid::from(config.jid.clone()),
        password: config.password.clone(),
        server: config.server.clone(),
        tls: tls::build(config.ca_file.as_deref())?,
        timeout: config.connect_timeout,
        timeouts: Timeouts {
            read_timeout: Duration::from_secs(60),
            response_timeout: Duration::from_secs(20),
        },
        binding: Default::default(),
    };
    Ok(connect::register(&opts).await?)
}

/// Logs in (reporting failure), then runs the account in a background task.
pub async fn start(config: Config) -> Result<ClientHandle, ClientError> {
    let store = Store::open_dir(&config.data_dir)?;
    let tls = tls::build(config.ca_file.as_deref())?;
    let jid: Jid = match &config.resource {
        Some(r) => Jid::from(FullJid::from_parts(
            config.jid.node(),
            config.jid.domain(),
            &xmpp_parsers::jid::ResourcePart::new(r)
                .map_err(|_| ConnectError::InvalidJid(format!("{}/{}", config.jid, r)))?,
        )),
        None => Jid::from(config.jid.clone()),
    };
    if config.jid.node().is_none() {
        return Err(ConnectError::InvalidJid(config.jid.to_string()).into());
    }
    let opts = ConnectOptions {
        jid,
        password: config.password.clone(),
        server: config.server.clone(),
        tls,
        timeout: config.connect_timeout,
        timeouts: Timeouts {
            read_timeout: Duration::from_secs(60),
            response_timeout: Duration::from_secs(20),
        },
        binding: Default::default(),
    };
    let binding = opts.binding.clone();
    let first = connect::login(&opts).await?;
    store.save_account(
        config.jid.as_str(),
        config
            .server
            .as_ref()
            .map(connect::Target::to_server_string)
            .as_deref(),
        config
            .ca_file
            .as_ref()
            .map(|p| p.display().to_string())
            .as_deref(),
    )?;

    let (fail_tx, fail_rx) = mpsc::unbounded_channel();
    let password = std::sync::Arc::new(std::sync::Mutex::new(opts.password.clone()));
    let stream = StanzaStream::new(reconnector(first, opts, password.clone(), fail_tx), 64);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let state = State {
        own: config.jid.clone(),
        bound: None,
        config,
        store,
        events: ev_tx,
        pending_iqs: HashMap::new(),
        unconfirmed: Vec::new(),
        confirm_in_flight: false,
        catching_up: false,
        catch_up_count: 0,
        mam_queryid: String::new(),
        caps_asked: HashMap::new(),
        // A call's setup is a dozen IQs (trickled candidates); proposals are rarer.
        jingle_limit: limits::RateLimiter::new(20.0, 60.0),
        propose_limit: limits::RateLimiter::new(1.0, 5.0),
        // Presence is state: a device that changes it faster keeps only its latest.
        presences: limits::Coalescer::new(5.0, 20.0),
        subscribe_limit: limits::RateLimiter::new(0.1, 3.0),
        message_limit: limits::RateLimiter::new(50.0, 500.0),
        archive_gap: false,
        archive_gap_fetch: None,
        refetch_after_catch_up: false,
        flood_notice: None,
        features: HashMap::new(),
        calls: HashMap::new(),
        ice_servers: Vec::new(),
        media_tx,
        password,
        deleted: false,
        closing: Vec::new(),
        binding,
    };
    let jid = state.own.clone();
    let task = tokio::spawn(run(state, stream, cmd_rx, fail_rx, media_rx));
    Ok(ClientHandle {
        jid,
        commands: cmd_tx,
        events: ev_rx,
        task,
    })
}

type Reconnector = Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static>;

/// Hands the stream the first connection, then reconnects with back-off (0.5 s → 30 s),
/// reporting every failure to the client task.
///
/// A connection that dies within seconds of being handed over is usually a failed
/// XEP-0198 resumption: Prosody 0.12 answers a resume for a session it no longer knows
/// (after a restart) with `<failed/>` without `h`, which tokio-xmpp cannot parse, so it
/// would retry the resumption forever. The next connection is then handed over without
/// the stream-management feature, which makes tokio-xmpp drop its resumption state and
/// start a fresh session (our own catch-up and resend recover what was in flight).
fn reconnector(
    first: Connection,
    opts: ConnectOptions,
    password: std::sync::Arc<std::sync::Mutex<String>>,
    fail_tx: mpsc::UnboundedSender<ConnectError>,
) -> Reconnector {
    let mut first = Some(first);
    let mut young_deaths = 0u32;
    let last_handed = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
    Box::new(move |_location, slot| {
        if let Some(conn) = first.take() {
            let _ = slot.send(conn);
            return;
        }
        let mut opts = opts.clone();
        // The password may have been changed since (Command::ChangePassword).
        if let Ok(p) = password.lock() {
            opts.password = p.clone();
        }
        let fail_tx = fail_tx.clone();
        let last_handed = last_handed.clone();
        let died_young = last_handed
            .lock()
            .map(|t| t.elapsed() < Duration::from_secs(3))
            .unwrap_or(false);
        young_deaths = if died_young { young_deaths + 1 } else { 0 };
        let young_deaths = young_deaths;
        tokio::spawn(async move {
            if died_young {
                // Whatever kills each new connection (a server, a stanza) must not turn
                // into a reconnect storm: 0.2 s, then doubling up to 30 s, reported.
                let pause = young_backoff(young_deaths);
                if young_deaths >= 3 {
                    let _ = fail_tx.send(ConnectError::Unstable {
                        count: young_deaths,
                        retry_secs: pause.as_secs_f64().ceil() as u64,
                    });
                }
                tokio::time::sleep(pause).await;
            }
            let mut delay = Duration::from_millis(500);
            loop {
                if slot.is_closed() {
                    return;
                }
                match connect::login(&opts).await {
                    Ok(mut conn) => {
                        if died_young {
                            tracing::info!("fresh session instead of stream resumption");
                            conn.features.stream_management = None;
                        }
                        if let Ok(mut t) = last_handed.lock() {
                            *t = std::time::Instant::now();
                        }
                        let _ = slot.send(conn);
                        return;
                    }
                    Err(e) => {
                        tracing::info!(error = %e, retry_in = ?delay, "reconnect failed");
                        if fail_tx.send(e).is_err() {
                            return;
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
        });
    })
}

/// The pause before reconnecting after the `n`-th connection in a row that died within
/// seconds of sign-in.
fn young_backoff(n: u32) -> Duration {
    let ms = 200u64.saturating_mul(1u64 << n.saturating_sub(1).min(10));
    Duration::from_millis(ms.min(30_000))
}

/// Caps vers being asked about at once (each a disco#info query in flight).
const MAX_CAPS_IN_FLIGHT: usize = 64;
/// Devices waiting for the answer about one ver.
const MAX_CAPS_WAITING: usize = 64;
/// How long an unanswered caps query keeps its place.
const CAPS_ANSWER_WAIT: Duration = Duration::from_secs(30);

/// Why we sent an IQ, to route its answer.
#[derive(Debug)]
enum IqPurpose {
    RosterGet,
    RosterSet,
    Carbons,
    Mam {
        queryid: String,
    },
    Disco {
        jid: Jid,
        ver: Option<String>,
    },
    /// A ping that confirms messages sent before it (servers without XEP-0198).
    AckPing {
        ids: Vec<String>,
    },
    /// STUN/TURN servers (XEP-0215).
    ExtDisco,
    ChangePassword {
        password: String,
    },
    DeleteAccount,
}

struct State {
    own: BareJid,
    bound: Option<FullJid>,
    config: Config,
    store: Store,
    events: mpsc::UnboundedSender<Event>,
    /// Our IQs awaiting an answer: why we sent them, and to whom (only that entity's
    /// answer is believed).
    pending_iqs: HashMap<String, (IqPurpose, Option<Jid>)>,
    /// Chat messages written to the stream and not yet confirmed by the server.
    unconfirmed: Vec<String>,
    /// A confirming ping is outstanding (at most one at a time).
    confirm_in_flight: bool,
    catching_up: bool,
    catch_up_count: usize,
    mam_queryid: String,
    /// JIDs whose caps we asked about, by ver, to ask once.
    /// Jingle IQs and call proposals each peer may send us per second.
    jingle_limit: limits::RateLimiter,
    propose_limit: limits::RateLimiter,
    /// Available/unavailable presences, per full JID, over a peer's rate.
    presences: limits::Coalescer<Jid, Presence>,
    /// Subscription requests (a repeat within seconds is no new question).
    subscribe_limit: limits::RateLimiter,
    /// Live chat messages per sender; beyond it they are read from the archive later.
    message_limit: limits::RateLimiter,
    /// Messages were left in the archive: the catch-up point stays where it is.
    archive_gap: bool,
    /// When to read them; and whether a catch-up in progress must be followed by one.
    archive_gap_fetch: Option<std::time::Instant>,
    refetch_after_catch_up: bool,
    /// When we last said so.
    flood_notice: Option<std::time::Instant>,
    /// The password reconnects use (shared with the reconnector).
    password: std::sync::Arc<std::sync::Mutex<String>>,
    /// The server deleted the account: stop.
    deleted: bool,
    /// Calls' media being closed (see `closing_media`).
    closing: Vec<tokio::task::JoinHandle<()>>,
    /// The channel binding of the latest login (set by the connector).
    binding: std::sync::Arc<std::sync::Mutex<Option<&'static str>>>,
    /// Caps vers asked about (when), and the devices waiting for the answer.
    caps_asked: HashMap<String, (std::time::Instant, Vec<Jid>)>,
    calls: HashMap<String, calls::ActiveCall>,
    /// What each contact's device supports (full JID → disco#info features), for the
    /// call decisions that depend on the peer's client.
    features: HashMap<String, Vec<String>>,
    /// STUN/TURN servers last given by our server (XEP-0215), asked again per call.
    ice_servers: Vec<banter_media::IceServer>,
    media_tx: mpsc::UnboundedSender<(String, banter_media::MediaEvent)>,
}

mod calls;
mod events;
mod limits;

pub use crate::jingle::session::{CallDirection, EndReason};
pub use crate::jingle::Reason;
pub use events::{stats_json, to_json, CallInfo, CallStatus, Event, Media, Typing};

/// Devices whose features are kept (an entry goes when its device goes offline).
const MAX_FEATURE_ENTRIES: usize = 1024;
/// How long messages over a sender's rate wait in the archive before they are read.
const ARCHIVE_GAP_WAIT: Duration = Duration::from_secs(3);
/// Store key: the channel binding a login of this account used (downgrade check).
const SASL_BINDING: &str = "sasl_binding";
const MAM_LAST: &str = "mam_last_id";

async fn run(
    mut st: State,
    mut stream: StanzaStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut failures: mpsc::UnboundedReceiver<ConnectError>,
    mut media: mpsc::UnboundedReceiver<(String, banter_media::MediaEvent)>,
) {
    let mut out: Vec<Stanza> = Vec::new();
    loop {
        let next_timer = [
            st.next_call_timer(),
            st.presences
                .next_flush()
                .map(tokio::time::Instant::from_std),
            st.archive_gap_fetch.map(tokio::time::Instant::from_std),
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            Some((sid, ev)) = media.recv() => {
                let done = std::panic::AssertUnwindSafe(st.on_media_event(sid, ev, &mut out))
                    .catch_unwind()
                    .await;
                st.report_panic(done, "a call's media event");
            }
            _ = async { match next_timer { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                let done = std::panic::AssertUnwindSafe(st.on_call_timers(&mut out))
                    .catch_unwind()
                    .await;
                st.report_panic(done, "a call's timer");
                for p in st.presences.take_due(std::time::Instant::now()) {
                    st.on_availability(p, &mut out);
                }
                st.on_archive_timer(&mut out);
            }
            ev = stream.next() => {
                let Some(ev) = ev else { break };
                match ev {
                    StreamEv::Stream(StreamEvent::Reset { bound_jid, .. }) => {
                        st.bound = bound_jid.clone().try_into_full().ok();
                        st.emit(Event::Connected { jid: bound_jid.to_string(), resumed: false });
                        st.check_downgrade();
                        st.on_online(&mut out);
                    }
                    StreamEv::Stream(StreamEvent::Suspended) => st.emit(Event::ConnectionLost),
                    StreamEv::Stream(StreamEvent::Resumed) => {
                        let jid = st.bound.as_ref().map(|j| j.to_string()).unwrap_or_default();
                        st.emit(Event::Connected { jid, resumed: true });
                    }
                    StreamEv::Stanza(stanza) => {
                        // A panic on one stanza is a bug; it must cost that stanza,
                        // not the account.
                        let from = stanza_from(&stanza);
                        let handled = std::panic::AssertUnwindSafe(st.on_stanza(stanza, &mut out))
                            .catch_unwind()
                            .await;
                        if handled.is_err() {
                            tracing::error!(?from, "internal error handling a stanza");
                            st.emit(Event::Error {
                                message: format!(
                                    "a stanza from {} hit an internal error and was dropped (please report this bug)",
                                    from.map(|j| j.to_string()).unwrap_or_else(|| "the server".into())
                                ),
                            });
                        }
                    }
                }
            }
            cmd = commands.recv() => {
                match cmd {
                    None | Some(Command::Disconnect) => {
                        st.hangup_all(&mut out).await;
                        for stanza in out.drain(..) {
                            st.transmit(&stream, stanza).await;
                        }
                        let bye: Stanza = Presence::new(PresenceType::Unavailable).into();
                        let _ = stream.send(Box::new(bye)).await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), stream.close()).await;
                        // Recordings are complete and devices released when we return.
                        for h in st.closing.drain(..) {
                            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
                        }
                        st.emit(Event::Disconnected);
                        return;
                    }
                    Some(cmd) => {
                        let done = std::panic::AssertUnwindSafe(st.on_command(cmd, &mut out))
                            .catch_unwind()
                            .await;
                        st.report_panic(done, "a command");
                    }
                }
            }
            Some(err) = failures.recv() => {
                st.emit(Event::ConnectionError { fatal: err.is_fatal(), message: err.to_string() });
            }
        }
        for stanza in out.drain(..) {
            st.transmit(&stream, stanza).await;
        }
        if st.deleted {
            // The account is gone: no reconnect (it would fail as a wrong password).
            st.hangup_all(&mut out).await;
            for stanza in out.drain(..) {
                st.transmit(&stream, stanza).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.close()).await;
            break;
        }
        if let Some(ping) = st.confirm_ping() {
            st.transmit(&stream, ping).await;
        }
    }
    st.emit(Event::Disconnected);
}

impl State {
    /// A panic while handling something is a bug: it costs that thing, reported, and
    /// the account goes on.
    fn report_panic(&self, done: std::thread::Result<()>, what: &str) {
        if done.is_err() {
            tracing::error!(what, "internal error");
            self.emit(Event::Error {
                message: format!(
                    "{what} hit an internal error and was dropped (please report this bug)"
                ),
            });
        }
    }

    fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    fn store_err(&self, e: StoreError) {
        tracing::error!(error = %e, "store");
        self.emit(Event::Error {
            message: e.to_string(),
        });
    }

    fn iq(&mut self, purpose: IqPurpose, make: impl FnOnce(&str) -> Iq, out: &mut Vec<Stanza>) {
        let id = new_id();
        let iq = make(&id);
        let to = match &iq {
            Iq::Get { to, .. }
            | Iq::Set { to, .. }
            | Iq::Result { to, .. }
            | Iq::Error { to, .. } => to.clone(),
        };
        out.push(iq.into());
        self.pending_iqs.insert(id, (purpose, to));
    }

    /// Writes a stanza to the stream (queued there while reconnecting).
    async fn transmit(&mut self, stream: &StanzaStream, stanza: Stanza) {
        if let Stanza::Message(m) = &stanza {
            if chat::body(m).is_some() && chat::origin_id(m).is_some() {
                if let Some(id) = &m.id {
                    self.unconfirmed.push(id.0.clone());
                }
            }
        }
        let _token = stream.send(Box::new(stanza)).await;
    }

    /// A server processes a stream's stanzas in order, so the answer to a ping sent
    /// after some messages confirms all of them. One ping is in flight at a time; it
    /// covers every message written before it. This works with and without XEP-0198
    /// (whose acks tokio-xmpp does not always request for the tail of a burst).
    fn confirm_ping(&mut self) -> Option<Stanza> {
        if self.confirm_in_flight || self.unconfirmed.is_empty() {
            return None;
        }
        self.confirm_in_flight = true;
        let ids = std::mem::take(&mut self.unconfirmed);
        let id = new_id();
        self.pending_iqs
            .insert(id.clone(), (IqPurpose::AckPing { ids }, None));
        Some(
            Iq::Get {
                from: None,
                to: None,
                id,
                payload: Element::builder("ping", ns::PING).build(),
            }
            .into(),
        )
    }

    fn mark_acked(&self, id: &str) {
        match self
            .store
            .set_state(self.own.as_str(), id, MessageState::Acked)
        {
            Ok(true) => self.emit(Event::MessageAcked { id: id.to_string() }),
            Ok(false) => {}
            Err(e) => self.store_err(e),
        }
    }

    fn on_online(&mut self, out: &mut Vec<Stanza>) {
        // Session state is gone: unconfirmed messages are still pending in the store
        // and are sent again below; the receiver drops duplicates by origin-id.
        self.pending_iqs.clear();
        self.caps_asked.clear();
        self.unconfirmed.clear();
        self.confirm_in_flight = false;
        self.iq(IqPurpose::RosterGet, roster::get, out);
        self.iq(IqPurpose::Carbons, carbons::enable, out);
        if self.config.media.is_some() {
            self.request_ice_servers(out);
        }
        if let Some((show, status)) = self.config.presence.clone() {
            out.push(presence::own(show, status.as_deref()).into());
        }
        if self.config.catch_up {
            let from = match self.store.get_meta(self.own.as_str(), MAM_LAST) {
                Ok(Some(id)) => mam::From::After(id),
                Ok(None) => mam::From::Newest,
                Err(e) => {
                    self.store_err(e);
                    mam::From::Newest
                }
            };
            self.catching_up = true;
            self.catch_up_count = 0;
            self.request_mam_page(&from, out);
        }
        match self.store.pending_messages(self.own.as_str()) {
            Ok(pending) => {
                for m in pending {
                    if let Ok(to) = BareJid::new(&m.peer) {
                        out.push(chat::outgoing(&to, &m.id, &m.body).into());
                    }
                }
            }
            Err(e) => self.store_err(e),
        }
    }

    /// Asks our server for STUN/TURN servers and fresh credentials.
    fn request_ice_servers(&mut self, out: &mut Vec<Stanza>) {
        let server = Jid::from(xmpp_parsers::jid::BareJid::from_parts(
            None,
            self.own.domain(),
        ));
        self.iq(
            IqPurpose::ExtDisco,
            |id| crate::xmpp::extdisco::query(id, server),
            out,
        );
    }

    fn request_mam_page(&mut self, from: &mam::From, out: &mut Vec<Stanza>) {
        let queryid = new_id();
        self.mam_queryid = queryid.clone();
        let from = from.clone();
        self.iq(
            IqPurpose::Mam {
                queryid: queryid.clone(),
            },
            |id| mam::query(id, &queryid, &from),
            out,
        );
    }

    async fn on_command(&mut self, cmd: Command, out: &mut Vec<Stanza>) {
        let account = self.own.to_string();
        match cmd {
            Command::Call { id, to, video } => self.place_call(id, to, video, out).await,
            Command::AcceptCall { id, video } => {
                self.set_video_wanted(&id, video);
                self.call_input(&id, crate::jingle::session::Input::Accept, out)
                    .await
            }
            Command::SetCamera { id, on } => {
                self.call_input(&id, crate::jingle::session::Input::Camera(on), out)
                    .await
            }
            Command::RejectCall { id, reason } => {
                self.call_input(&id, crate::jingle::session::Input::Reject(reason), out)
                    .await
            }
            Command::Hangup { id } => {
                self.call_input(&id, crate::jingle::session::Input::Hangup, out)
                    .await
            }
            Command::MuteCall { id, muted } => {
                self.call_input(&id, crate::jingle::session::Input::Mute(muted), out)
                    .await
            }
            Command::SendChatState { to, state } => {
                out.push(crate::xmpp::chatstates::notification(&to, state).into());
            }
            Command::Settings(change) => self.apply_settings(change),
            Command::LoadCallHistory { limit } => {
                match self.store.calls(self.own.as_str(), limit) {
                    Ok(calls) => self.emit(Event::CallHistory { calls }),
                    Err(e) => self.store_err(e),
                }
            }
            Command::HoldCall { id, held } => {
                self.call_input(&id, crate::jingle::session::Input::Hold(held), out)
                    .await
            }
            Command::SendMessage { id, to, body } => {
                let msg = chat::outgoing(&to, &id, &body);
                let mut stored = match chat::to_stored(&msg, &self.own, None, None) {
                    Some(s) => s,
                    None => return,
                };
                stored.state = MessageState::Pending;
                if let Some(b) = &self.bound {
                    stored.from = b.to_string();
                }
                match self.store.insert_message(&account, stored) {
                    Ok(Some(m)) => self.emit(Event::Message { message: m }),
                    Ok(None) => {}
                    Err(e) => {
                        self.emit(Event::MessageFailed {
                            id,
                            error: e.to_string(),
                        });
                        return;
                    }
                }
                out.push(msg.into());
            }
            Command::AddContact { jid, name } => {
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::set_item(id, &jid, name.as_deref(), &[]),
                    out,
                );
                out.push(Presence::subscribe().with_to(jid).into());
            }
            Command::RenameContact { jid, name } => {
                let groups = self
                    .store
                    .roster(&account)
                    .ok()
                    .and_then(|r| r.into_iter().find(|c| c.jid == jid.as_str()))
                    .map(|c| c.groups)
                    .unwrap_or_default();
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::set_item(id, &jid, Some(&name), &groups),
                    out,
                );
            }
            Command::RemoveContact { jid } => {
                self.iq(
                    IqPurpose::RosterSet,
                    |id| roster::remove_item(id, &jid),
                    out,
                );
            }
            Command::AnswerSubscription { jid, accept } => {
                if accept {
                    out.push(Presence::subscribed().with_to(jid.clone()).into());
                    let already = self
                        .store
                        .roster(&account)
                        .ok()
                        .and_then(|r| r.into_iter().find(|c| c.jid == jid.as_str()))
                        .map(|c| c.subscription == "to" || c.subscription == "both" || c.ask)
                        .unwrap_or(false);
                    if !already {
                        out.push(Presence::subscribe().with_to(jid).into());
                    }
                } else {
                    out.push(
                        Presence::new(PresenceType::Unsubscribed)
                            .with_to(jid)
                            .into(),
                    );
                }
            }
            Command::SetPresence { show, status } => {
                self.config.presence = Some((show, status.clone()));
                out.push(presence::own(show, status.as_deref()).into());
            }
            Command::LoadHistory {
                peer,
                before_seq,
                limit,
            } => match self
                .store
                .history(&account, peer.as_str(), before_seq, limit)
            {
                Ok(messages) => self.emit(Event::History {
                    peer: peer.to_string(),
                    messages,
                }),
                Err(e) => self.store_err(e),
            },
            Command::ChangePassword { password } => {
                let username = self.own.node().map(|n| n.to_string()).unwrap_or_default();
                self.iq(
                    IqPurpose::ChangePassword {
                        password: password.clone(),
                    },
                    |id| register::change_password(id, &username, &password),
                    out,
                );
            }
            Command::DeleteAccount => {
                self.iq(IqPurpose::DeleteAccount, register::remove, out);
            }
            Command::Disconnect => {}
        }
    }

    async fn on_stanza(&mut self, stanza: Stanza, out: &mut Vec<Stanza>) {
        if self.on_unreadable(&stanza, out) {
            return;
        }
        match stanza {
            Stanza::Iq(Iq::Set {
                from, id, payload, ..
            }) if payload.is("jingle", crate::jingle::NS) => {
                self.on_jingle_iq(from, id, payload, out).await
            }
            Stanza::Iq(
                Iq::Result {
                    ref id, ref from, ..
                }
                | Iq::Error {
                    ref id, ref from, ..
                },
            ) if self.is_call_iq(id, from.as_ref()) => self.on_call_iq_answer(stanza, out).await,
            Stanza::Message(m) if self.is_jmi(&m) => self.on_jmi_message(m, out).await,
            Stanza::Presence(p) => {
                if p.type_ == PresenceType::Unavailable {
                    if let Some(from) = &p.from {
                        self.peer_went_offline(from, out).await;
                    }
                }
                self.on_presence(p, out)
            }
            Stanza::Iq(iq) => self.on_iq(iq, out),
            Stanza::Message(m) => self.on_message(m, out),
        }
    }

    /// A stanza the guard replaced (xmpp/guard.rs) is reported, answered with an error
    /// when it asked something, and goes no further. True when it was one.
    fn on_unreadable(&mut self, stanza: &Stanza, out: &mut Vec<Stanza>) -> bool {
        let (from, reason) = match stanza {
            Stanza::Message(m) => (m.from.clone(), guard::unreadable_reason(&m.payloads)),
            Stanza::Presence(p) => (p.from.clone(), guard::unreadable_reason(&p.payloads)),
            Stanza::Iq(Iq::Get { from, payload, .. } | Iq::Set { from, payload, .. }) => (
                from.clone(),
                guard::unreadable_reason(std::slice::from_ref(payload)),
            ),
            Stanza::Iq(Iq::Result {
                from,
                payload: Some(payload),
                ..
            }) => (
                from.clone(),
                guard::unreadable_reason(std::slice::from_ref(payload)),
            ),
            Stanza::Iq(Iq::Error {
                from,
                payload: Some(payload),
                ..
            }) => (
                from.clone(),
                guard::unreadable_reason(std::slice::from_ref(payload)),
            ),
            Stanza::Iq(_) => (None, None),
        };
        let Some(reason) = reason else {
            return false;
        };
        let who = from
            .as_ref()
            .map(|j| j.to_string())
            .unwrap_or_else(|| "the server".into());
        let what = match stanza {
            Stanza::Message(_) => "a message",
            Stanza::Presence(_) => "a presence",
            Stanza::Iq(_) => "a request",
        };
        tracing::warn!(from = %who, %reason, "unreadable stanza dropped");
        self.emit(Event::Error {
            message: format!("{what} from {who} could not be read ({reason}) and was dropped"),
        });
        match stanza {
            Stanza::Iq(Iq::Get { from, id, .. } | Iq::Set { from, id, .. }) => {
                out.push(iq_error(
                    from.clone(),
                    id.clone(),
                    DefinedCondition::BadRequest,
                ));
            }
            // An answer we were waiting for will not come.
            Stanza::Iq(Iq::Result { id, .. } | Iq::Error { id, .. })
                if self.pending_iqs.contains_key(id) =>
            {
                let error = Iq::Error {
                    from: from.clone(),
                    to: None,
                    id: id.clone(),
                    payload: None,
                    error: StanzaError::new(
                        ErrorType::Cancel,
                        DefinedCondition::BadRequest,
                        "en",
                        reason,
                    ),
                };
                self.on_iq(error, out);
            }
            _ => {}
        }
        true
    }

    /// True for stanzas from our server or our own account (trusted for roster pushes).
    fn is_self_or_server(&self, from: Option<&Jid>) -> bool {
        match from {
            None => true,
            // Our bare JID exactly (RFC 6121 §2.1.6): a device of ours is not the server.
            Some(j) => j.as_str() == self.own.as_str(),
        }
    }

    fn on_iq(&mut self, iq: Iq, out: &mut Vec<Stanza>) {
        match iq {
            Iq::Get {
                from, id, payload, ..
            } => {
                // Some(payload): we answer (payload may be empty); None: not served.
                let answer: Option<Option<Element>> = if payload.is("query", ns::DISCO_INFO) {
                    let node = payload.attr("node");
                    let ours = format!("{}#{}", caps::NODE, caps::own_ver());
                    (node.is_none() || node == Some(ours.as_str()))
                        .then(|| Some(disco::own_info(node)))
                } else if payload.is("ping", ns::PING) {
                    Some(None)
                } else {
                    None
                };
                match answer {
                    Some(payload) => out.push(iq_result(from, id, payload)),
                    None => out.push(iq_error(from, id, DefinedCondition::ServiceUnavailable)),
                }
            }
            Iq::Set {
                from, id, payload, ..
            } => {
                if payload.is("query", ns::ROSTER) {
                    if !self.is_self_or_server(from.as_ref()) {
                        tracing::warn!(?from, "ignoring roster push from a stranger");
                        out.push(iq_error(from, id, DefinedCondition::Forbidden));
                        return;
                    }
                    self.apply_roster_push(&payload);
                    out.push(iq_result(from, id, None));
                } else {
                    out.push(iq_error(from, id, DefinedCondition::ServiceUnavailable));
                }
            }
            Iq::Result {
                id, payload, from, ..
            } => {
                let Some(purpose) = self.take_pending(&id, from.as_ref()) else {
                    return;
                };
                self.on_iq_result(purpose, from, payload, out);
            }
            Iq::Error {
                id, error, from, ..
            } => {
                let Some(purpose) = self.take_pending(&id, from.as_ref()) else {
                    return;
                };
                tracing::info!(?purpose, condition = ?error.defined_condition, "iq failed");
                match purpose {
                    IqPurpose::Mam { .. } => {
                        self.catching_up = false;
                        self.caught_up_after_gap();
                        self.emit(Event::CaughtUp {
                            count: self.catch_up_count,
                        });
                    }
                    IqPurpose::ChangePassword { .. } | IqPurpose::DeleteAccount => {
                        self.emit(Event::AccountRefused {
                            message: register::account_refusal(&error),
                        })
                    }
                    IqPurpose::RosterSet => self.emit(Event::Error {
                        message: format!(
                            "the server refused the roster change: {:?}",
                            error.defined_condition
                        ),
                    }),
                    IqPurpose::AckPing { ids } => {
                        // Even an error answer means the server processed what came before.
                        self.confirm_in_flight = false;
                        for id in ids {
                            self.mark_acked(&id);
                        }
                    }
                    // Nothing more will come for this ver (a later presence asks again).
                    IqPurpose::Disco { ver: Some(ver), .. } => {
                        self.caps_asked.remove(&ver);
                    }
                    _ => {}
                }
            }
        }
    }

    /// The purpose of our pending IQ `id`, if `from` may answer it.
    fn take_pending(&mut self, id: &str, from: Option<&Jid>) -> Option<IqPurpose> {
        let (_, to) = self.pending_iqs.get(id)?;
        if !answered_by(&self.own, to.as_ref(), from) {
            tracing::warn!(?from, expected = ?to, "answer to our IQ from the wrong JID ignored");
            return None;
        }
        self.pending_iqs.remove(id).map(|(purpose, _)| purpose)
    }

    fn on_iq_result(
        &mut self,
        purpose: IqPurpose,
        from: Option<Jid>,
        payload: Option<Element>,
        out: &mut Vec<Stanza>,
    ) {
        let account = self.own.to_string();
        match purpose {
            IqPurpose::RosterGet => {
                let Some(q) = payload else { return };
                let contacts = roster::parse_items(&q);
                if let Err(e) = self.store.replace_roster(&account, &contacts) {
                    self.store_err(e);
                }
                self.emit(Event::Roster { contacts });
            }
            IqPurpose::RosterSet | IqPurpose::Carbons => {}
            IqPurpose::ChangePassword { password } => {
                if let Ok(mut p) = self.password.lock() {
                    *p = password.clone();
                }
                self.config.password = password;
                self.emit(Event::PasswordChanged);
            }
            IqPurpose::DeleteAccount => {
                self.deleted = true;
                if let Err(e) = self.store.forget_account(&account) {
                    self.store_err(e);
                }
                self.emit(Event::AccountDeleted);
            }
            IqPurpose::ExtDisco => {
                if let Some(p) = payload {
                    self.ice_servers = crate::xmpp::extdisco::parse(&p);
                    tracing::debug!(servers = ?self.ice_servers, "external services");
                }
            }
            IqPurpose::AckPing { ids } => {
                self.confirm_in_flight = false;
                for id in ids {
                    self.mark_acked(&id);
                }
            }
            IqPurpose::Mam { queryid } => {
                if queryid != self.mam_queryid {
                    return;
                }
                let fin = payload.as_ref().and_then(mam::fin);
                let (complete, last) = fin.unwrap_or((true, None));
                let previous = self.store.get_meta(&account, MAM_LAST).ok().flatten();
                if let Some(last) = &last {
                    if let Err(e) = self.store.set_meta(&account, MAM_LAST, last) {
                        self.store_err(e);
                    }
                }
                // Results of a finished query are no longer believed.
                self.mam_queryid.clear();
                match (complete, last) {
                    // A server that names the same page again would page forever.
                    (false, Some(last)) if previous.as_deref() != Some(last.as_str()) => {
                        self.request_mam_page(&mam::From::After(last), out)
                    }
                    _ => {
                        self.catching_up = false;
                        self.caught_up_after_gap();
                        self.emit(Event::CaughtUp {
                            count: self.catch_up_count,
                        });
                    }
                }
            }
            IqPurpose::Disco { jid, ver } => {
                let Some(q) = payload else { return };
                let Some((_, features)) = disco::parse_info(&q) else {
                    return;
                };
                if let Some(ver) = &ver {
                    if disco::matches_ver(&q, ver) {
                        if let Err(e) = self.store.save_caps(ver, &features) {
                            self.store_err(e);
                        }
                    } else {
                        tracing::warn!(%jid, %ver, "disco#info does not match advertised caps");
                    }
                }
                let jid = from.unwrap_or(jid);
                let mut jids = ver
                    .and_then(|v| self.caps_asked.remove(&v))
                    .map(|(_, jids)| jids)
                    .unwrap_or_default();
                if !jids.contains(&jid) {
                    jids.push(jid);
                }
                for j in jids {
                    self.learned_features(j, features.clone());
                }
            }
        }
    }

    fn apply_roster_push(&mut self, query: &Element) {
        let account = self.own.to_string();
        for c in roster::parse_items(query) {
            if c.subscription == "remove" {
                if let Err(e) = self.store.remove_contact(&account, &c.jid) {
                    self.store_err(e);
                }
                self.emit(Event::ContactRemoved { jid: c.jid });
            } else {
                if let Err(e) = self.store.upsert_contact(&account, &c) {
                    self.store_err(e);
                }
                self.emit(Event::ContactChanged { contact: c });
            }
        }
    }

    fn record(&mut self, stored: StoredMessage) {
        let account = self.own.to_string();
        let stanza_id = stored.stanza_id.clone();
        let inserted = self.store.insert_message(&account, stored);
        // Live messages move the catch-up point forward, but only once the archive
        // has been read up to now, and not while messages over a sender's rate wait
        // in the archive: otherwise a gap could be skipped. Done before the
        // event goes out, so whoever sees the message sees the position moved too.
        if let (false, false, Some(sid)) = (self.catching_up, self.archive_gap, stanza_id) {
            if let Err(e) = self.store.set_meta(&account, MAM_LAST, &sid) {
                self.store_err(e);
            }
        }
        match inserted {
            Ok(Some(m)) => {
                if self.catching_up {
                    self.catch_up_count += 1;
                }
                self.emit(Event::Message { message: m });
            }
            Ok(None) => {}
            Err(e) => self.store_err(e),
        }
    }

    fn on_message(&mut self, m: Message, out: &mut Vec<Stanza>) {
        if let Some((archive_id, inner, ts)) = mam::unwrap_result(&m, &self.own, &self.mam_queryid)
        {
            if let Some(stored) = chat::to_stored(&inner, &self.own, Some(archive_id), ts) {
                self.record(stored);
            }
            return;
        }
        if let Some((kind, inner, ts)) = carbons::unwrap(&m, &self.own) {
            if let Some(id) = receipts::received_id(&inner) {
                if kind == carbons::Carbon::Received {
                    self.on_receipt(&id);
                }
            }
            if let Some(stored) = chat::to_stored(&inner, &self.own, None, ts) {
                self.record(stored);
            }
            return;
        }
        if m.type_ == MessageType::Error {
            // Only the recipient, its server or ours may say a message failed.
            let said_by_them = match (m.id.as_ref(), m.from.as_ref()) {
                (Some(id), Some(from)) => self.may_speak_for(&id.0, from),
                _ => false,
            };
            if let (Some(id), true) = (m.id.as_ref(), said_by_them) {
                let text = m
                    .payloads
                    .iter()
                    .find(|e| e.name() == "error")
                    .and_then(|e| e.children().next().map(|c| c.name().to_string()))
                    .unwrap_or_else(|| "error".into());
                self.emit(Event::MessageFailed {
                    id: id.0.clone(),
                    error: format!("the server could not deliver it: {text}"),
                });
            }
            return;
        }
        if let Some(id) = receipts::received_id(&m) {
            // Only the recipient may say it received our message.
            let peer = self
                .store
                .outgoing_peer(self.own.as_str(), &id)
                .ok()
                .flatten();
            let from = m.from.as_ref().map(|f| f.to_bare().to_string());
            if peer.is_some() && peer == from {
                self.on_receipt(&id);
            } else {
                tracing::info!(?from, %id, "receipt from someone else than the recipient ignored");
            }
        }
        if let (Some(state), Some(from)) = (chatstates::state_of(&m), &m.from) {
            if from.to_bare() != self.own {
                self.emit(Event::ChatState {
                    from: from.to_bare().to_string(),
                    state: Typing::from(&state),
                });
            }
        }
        let wants_receipt = receipts::requested(&m);
        if let Some(stored) = chat::to_stored(&m, &self.own, None, None) {
            if stored.direction == Direction::In && !self.within_message_rate(&stored.peer) {
                return;
            }
            let (from, id) = (m.from.clone(), m.id.clone());
            if stored.direction == Direction::In && wants_receipt {
                if let (Some(from), Some(id)) = (from, id) {
                    out.push(receipts::receipt(from, &id.0).into());
                }
            }
            self.record(stored);
        }
    }

    /// A server that bound our login to the TLS channel before (SCRAM-PLUS) and does
    /// not now may have been put behind someone who strips it (RFC 5802 §6): said,
    /// once per session. The binding used is remembered per account.
    fn check_downgrade(&mut self) {
        let used = self.binding.lock().ok().and_then(|b| *b);
        let account = self.own.to_string();
        let before = self.store.get_meta(&account, SASL_BINDING).ok().flatten();
        match downgrade(used, before) {
            Binding::Remember(b) => {
                if let Err(e) = self.store.set_meta(&account, SASL_BINDING, b) {
                    self.store_err(e);
                }
            }
            Binding::Downgraded(b) => self.emit(Event::Error {
                message: format!(
                    "{} signed you in without channel binding this time, though it used it ({b}) before: someone between you and the server could be weakening the login. If the server was not changed, check your network.",
                    self.own.domain()
                ),
            }),
            Binding::Never => {}
        }
    }

    /// Live messages from one sender beyond 50 a second (500 at once) are not handled
    /// as they come: they wait in our server's archive and are read from there a few
    /// seconds later, at the archive's pace. A flood costs bounded work per second and
    /// loses nothing (on a server without an archive the excess is lost; said).
    fn within_message_rate(&mut self, peer: &str) -> bool {
        let Ok(bare) = BareJid::new(peer) else {
            return true;
        };
        let now = std::time::Instant::now();
        if bare == self.own || self.message_limit.allow(&bare, now) {
            return true;
        }
        tracing::info!(%peer, "message over the sender's rate: left in the archive");
        self.archive_gap = true;
        if self.catching_up {
            self.refetch_after_catch_up = true;
        } else if self.archive_gap_fetch.is_none() {
            self.archive_gap_fetch = Some(now + ARCHIVE_GAP_WAIT);
        }
        if self
            .flood_notice
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60))
        {
            self.flood_notice = Some(now);
            self.emit(Event::Error {
                message: format!(
                    "{peer} sends messages faster than 50 a second; the rest are read from the server's archive shortly"
                ),
            });
        }
        false
    }

    /// A catch-up ended: if messages were left in the archive during it, read again.
    fn caught_up_after_gap(&mut self) {
        if std::mem::take(&mut self.refetch_after_catch_up) {
            self.archive_gap_fetch = Some(std::time::Instant::now() + ARCHIVE_GAP_WAIT);
        } else {
            self.archive_gap = false;
        }
    }

    /// Time to read what a flood left in the archive.
    fn on_archive_timer(&mut self, out: &mut Vec<Stanza>) {
        match self.archive_gap_fetch {
            Some(at) if at <= std::time::Instant::now() => {}
            _ => return,
        }
        self.archive_gap_fetch = None;
        if self.catching_up {
            self.refetch_after_catch_up = true;
            return;
        }
        let from = match self.store.get_meta(self.own.as_str(), MAM_LAST) {
            Ok(Some(id)) => mam::From::After(id),
            _ => mam::From::Newest,
        };
        self.catching_up = true;
        self.catch_up_count = 0;
        self.request_mam_page(&from, out);
    }

    /// Whether `from` (the recipient, its server, or ours) may report on our message `id`.
    fn may_speak_for(&self, id: &str, from: &Jid) -> bool {
        let Ok(Some(peer)) = self.store.outgoing_peer(self.own.as_str(), id) else {
            return false;
        };
        let bare = from.to_bare();
        let domain = from.domain().as_str();
        bare.as_str() == peer
            || (from.node().is_none()
                && (domain == self.own.domain().as_str()
                    || BareJid::new(&peer).is_ok_and(|p| p.domain().as_str() == domain)))
    }

    fn on_receipt(&self, id: &str) {
        // A receipt can overtake the server's confirmation: the server has it, then.
        self.mark_acked(id);
        match self
            .store
            .set_state(self.own.as_str(), id, MessageState::Delivered)
        {
            Ok(true) => self.emit(Event::MessageDelivered { id: id.to_string() }),
            Ok(false) => {}
            Err(e) => self.store_err(e),
        }
    }

    fn on_presence(&mut self, p: Presence, out: &mut Vec<Stanza>) {
        let Some(from) = p.from.clone() else { return };
        match p.type_ {
            // Asking again and again (or from many JIDs) is not worth more questions.
            PresenceType::Subscribe
                if self
                    .subscribe_limit
                    .allow(&from.to_bare(), std::time::Instant::now()) =>
            {
                self.emit(Event::SubscriptionRequest {
                    from: from.to_bare().to_string(),
                })
            }
            PresenceType::None | PresenceType::Unavailable => {
                let now = std::time::Instant::now();
                if let Some(p) = self.presences.offer(&from.to_bare(), from, p, now) {
                    self.on_availability(p, out);
                }
            }
            _ => {}
        }
    }

    /// An available or unavailable presence, let through by the coalescer.
    fn on_availability(&mut self, p: Presence, out: &mut Vec<Stanza>) {
        let Some(from) = p.from.clone() else { return };
        let show = presence::show_of(&p);
        self.emit(Event::Presence {
            from: from.to_string(),
            show,
            status: presence::status_of(&p),
        });
        if show == Show::Unavailable {
            self.features.remove(&from.to_string());
        } else if self.wants_features_of(&from) {
            self.learn_caps(&p, from, out);
        }
    }

    fn learned_features(&mut self, jid: Jid, features: Vec<String>) {
        tracing::debug!(%jid, count = features.len(), "features learned");
        let key = jid.to_string();
        if self.features.len() >= MAX_FEATURE_ENTRIES && !self.features.contains_key(&key) {
            tracing::info!(%jid, "too many devices' features kept; not keeping these");
        } else {
            self.features.insert(key, features.clone());
        }
        self.features_arrived(&jid);
        self.emit(Event::Features {
            jid: jid.to_string(),
            features,
        });
    }

    /// Looks up a contact's features: from the caps cache, or by asking once per ver.
    fn learn_caps(&mut self, p: &Presence, from: Jid, out: &mut Vec<Stanza>) {
        let Some((node, ver)) = presence::caps_of(p) else {
            return;
        };
        match self.store.caps(&ver) {
            Ok(Some(features)) => self.learned_features(from, features),
            Ok(None) => {
                // Asked once per ver; every device showing it gets the answer.
                if let Some((_, waiting)) = self.caps_asked.get_mut(&ver) {
                    if !waiting.contains(&from) && waiting.len() < MAX_CAPS_WAITING {
                        waiting.push(from);
                    }
                    return;
                }
                // Anyone can show new vers: the questions in flight are bounded, and one
                // left unanswered is given up after a while.
                self.caps_asked
                    .retain(|_, (at, _)| at.elapsed() < CAPS_ANSWER_WAIT);
                // Their questions are given up too: pending IQs stay bounded.
                let asked = &self.caps_asked;
                self.pending_iqs.retain(|_, (purpose, _)| match purpose {
                    IqPurpose::Disco { ver: Some(v), .. } => asked.contains_key(v),
                    _ => true,
                });
                if self.caps_asked.len() >= MAX_CAPS_IN_FLIGHT {
                    tracing::info!(%from, "too many caps queries in flight; not asking");
                    return;
                }
                self.caps_asked
                    .insert(ver.clone(), (std::time::Instant::now(), vec![from.clone()]));
                let node = format!("{node}#{ver}");
                let to = from.clone();
                self.iq(
                    IqPurpose::Disco {
                        jid: from,
                        ver: Some(ver),
                    },
                    |id| disco::info_query(id, to, Some(&node)),
                    out,
                );
            }
            Err(e) => self.store_err(e),
        }
    }
}

fn stanza_from(stanza: &Stanza) -> Option<Jid> {
    match stanza {
        Stanza::Message(m) => m.from.clone(),
        Stanza::Presence(p) => p.from.clone(),
        Stanza::Iq(
            Iq::Get { from, .. }
            | Iq::Set { from, .. }
            | Iq::Result { from, .. }
            | Iq::Error { from, .. },
        ) => from.clone(),
    }
}

/// Whether `from` may answer an IQ we sent to `sent_to` (RFC 6120 §10.3.3: the server
/// answers for the account without `from` or with our bare JID). Anyone else's answer
/// with a guessed id is a spoof.
fn answered_by(own: &BareJid, sent_to: Option<&Jid>, from: Option<&Jid>) -> bool {
    let ours = |j: &Jid| j.to_bare() == *own || j.as_str() == own.domain().as_str();
    match (sent_to, from) {
        (None, None) => true,
        (None, Some(f)) => ours(f),
        (Some(t), None) => ours(t),
        (Some(t), Some(f)) => t == f || (ours(t) && ours(f)),
    }
}

/// What a login's channel binding means, given the one used before.
#[derive(Debug, PartialEq, Eq)]
enum Binding {
    /// Bound: remember it.
    Remember(&'static str),
    /// Not bound, though logins of this account were (with this binding).
    Downgraded(String),
    /// Never bound.
    Never,
}

fn downgrade(used: Option<&'static str>, before: Option<String>) -> Binding {
    match (used, before) {
        (Some(b), _) => Binding::Remember(b),
        (None, Some(b)) => Binding::Downgraded(b),
        (None, None) => Binding::Never,
    }
}

/// An IQ result to `to`, answering request `id`.
fn iq_result(to: Option<Jid>, id: String, payload: Option<Element>) -> Stanza {
    Iq::Result {
        from: None,
        to,
        id,
        payload,
    }
    .into()
}

fn iq_error(to: Option<Jid>, id: String, cond: DefinedCondition) -> Stanza {
    let err_type = match cond {
        DefinedCondition::Forbidden => ErrorType::Auth,
        _ => ErrorType::Cancel,
    };
    Iq::Error {
        from: None,
        to,
        id,
        error: StanzaError::new(err_type, cond, "en", ""),
        payload: None,
    }
    .into()
}

#[cfg(test)]
mod tests;
