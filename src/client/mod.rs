//! The `Client`: one task per account. Front ends (window, headless commands, tests)
//! send it `Command`s and read its `Event`s; nothing else touches the network.
//!
//! The connection itself is tokio-xmpp's `StanzaStream` (resource binding, XEP-0198
//! stream management and resumption), fed by our own connector (`xmpp::connect`) so
//! that login failures are reported instead of retried silently.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use minidom::Element;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::stanzastream::{Connection, Event as StreamEv, StanzaStream, StreamEvent};
use xmpp_parsers::iq::Iq;
/// Addresses (RFC 7622), as the XMPP libraries underneath spell them: part of the API.
pub use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::jingle::endpoint::{Endpoint, IqAnswer};
use crate::limits;
use crate::store::{Store, StoreError};
use crate::xmpp::connect::{self, ConnectOptions};
use crate::xmpp::error::ConnectError;
use crate::xmpp::{
    caps, carbons, chat, chatstates, disco, guard, mam, presence, receipts, register, roster, tls,
};

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
    Ok(connect::register(&account_options(config)?).await?)
}

/// Logs in (reporting failure), then runs the account in a background task.
pub async fn start(mut config: Config) -> Result<ClientHandle, ClientError> {
    let store = Store::open_dir(&config.data_dir)?;
    let tls = tls::build(config.ca_file.as_deref())?;
    // TURN over TLS is trusted as the XMPP connection is.
    if let Some(m) = config.media.as_mut() {
        m.turn_tls = Some(tls.config.clone());
    }
    let trust = tls.config.clone();
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
    let mut opts = ConnectOptions::new(jid, config.password.clone(), tls);
    opts.server = config.server.clone();
    opts.timeout = config.connect_timeout;
    if config.fast {
        let id = device_id(&store, &config);
        let (fast, on_token) = fast_state(id, &config).await;
        opts.fast = Some(fast);
        opts.on_token = on_token;
    }
    let binding = opts.binding.clone();
    let login = opts.login.clone();
    let fast_logout = opts.fast.is_some().then(|| opts.clone());
    let xmpp_socket = opts.socket.clone();
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
    let established = Arc::new(AtomicBool::new(false));
    let stream = StanzaStream::new(
        reconnector(first, opts, password.clone(), fail_tx, established.clone()),
        64,
    );
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let (transfers_tx, transfers_rx) = mpsc::unbounded_channel();
    let mut endpoint = Endpoint::new(
        config.jid.clone(),
        config.media.is_some(),
        config.ring_timeout,
        rand::random(),
    );
    endpoint.set_do_not_disturb(matches!(config.presence, Some((Show::Dnd, _))));
    let state = State {
        own: config.jid.clone(),
        bound: None,
        config,
        store,
        events: ev_tx,
        pending_iqs: HashMap::new(),
        unconfirmed: Vec::new(),
        amends: amend::Amends::default(),
        blocked: BTreeSet::new(),
        confirm_in_flight: false,
        catching_up: false,
        catch_up_count: 0,
        mam_queryid: String::new(),
        caps_asked: HashMap::new(),
        // Presence is state: a device that changes it faster keeps only its latest.
        presences: limits::Coalescer::new(5.0, 20.0),
        subscribe_limit: limits::RateLimiter::new(0.1, 3.0),
        message_limit: limits::RateLimiter::new(50.0, 500.0),
        archive_gap: false,
        archive_gap_fetch: None,
        refetch_after_catch_up: false,
        flood_notice: None,
        features: HashMap::new(),
        clients: HashMap::new(),
        endpoint,
        workers: calls::Workers::default(),
        sharing: HashMap::new(),
        screen_asks: Default::default(),
        ice_servers: Vec::new(),
        trust,
        xmpp_socket,
        call_paths: Default::default(),
        omemo: Default::default(),
        rooms: HashMap::new(),
        bookmarks: BTreeMap::new(),
        room_ping_at: None,
        room_writes: 0,
        media_tx,
        transfers: Default::default(),
        transfers_tx,
        password,
        deleted: false,
        established,
        binding,
        login,
        fast_logout,
        logouts: Vec::new(),
    };
    let jid = state.own.clone();
    let task = tokio::spawn(task::run(
        state,
        stream,
        cmd_rx,
        fail_rx,
        media_rx,
        transfers_rx,
    ));
    Ok(ClientHandle {
        jid,
        commands: cmd_tx,
        events: ev_rx,
        task,
    })
}

type Reconnector = Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static>;

/// Caps vers being asked about at once (each a disco#info query in flight).
const MAX_CAPS_IN_FLIGHT: usize = 64;
/// Devices waiting for the answer about one ver.
const MAX_CAPS_WAITING: usize = 64;
/// How long an unanswered caps query keeps its place.
const CAPS_ANSWER_WAIT: Duration = Duration::from_secs(30);

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
    /// JIDs whose stanzas are dropped (XEP-0191; blocking.rs).
    blocked: BTreeSet<BareJid>,
    /// Corrections, retractions, reactions and markers not yet confirmed (amend.rs).
    amends: amend::Amends,
    /// A confirming ping is outstanding (at most one at a time).
    confirm_in_flight: bool,
    catching_up: bool,
    catch_up_count: usize,
    mam_queryid: String,
    /// JIDs whose caps we asked about, by ver, to ask once.
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
    /// The current connection's stream is set up (bound or resumed): told to the
    /// reconnector, which resumes only after a connection that got that far.
    established: Arc<AtomicBool>,
    /// The channel binding of the latest login (set by the connector).
    binding: std::sync::Arc<std::sync::Mutex<Option<&'static str>>>,
    /// How the latest login went (set by the connector).
    login: std::sync::Arc<std::sync::Mutex<connect::LoginInfo>>,
    /// The connector's options when FAST is on: a password change logs the tokens out.
    fast_logout: Option<ConnectOptions>,
    /// Those logouts under way, awaited before the client stops.
    logouts: Vec<tokio::task::JoinHandle<()>>,
    /// Caps vers asked about (when), and the devices waiting for the answer.
    caps_asked: HashMap<String, (std::time::Instant, Vec<Jid>)>,
    /// Every call (the decisions, without I/O), and each call's media worker.
    endpoint: Endpoint,
    workers: calls::Workers,
    /// Calls whose video is a shared screen (the camera before, the share's number).
    sharing: HashMap<String, calls::Sharing>,
    /// Calls whose screen to share is being made ready (the portal's dialog open),
    /// and how to let that go.
    screen_asks: HashMap<String, tokio::task::AbortHandle>,
    /// What each contact's device supports (full JID → disco#info features), for the
    /// call decisions that depend on the peer's client.
    features: HashMap<String, Vec<String>>,
    /// Each such device's client, as its caps name it (`http://conversations.im`),
    /// for the call report.
    clients: HashMap<String, String>,
    /// STUN/TURN servers last given by our server (XEP-0215), asked again per call.
    ice_servers: Vec<banter_media::IceServer>,
    /// The XMPP connection's trust, for TURN over TLS in a network check.
    trust: std::sync::Arc<rustls::ClientConfig>,
    /// End-to-end encryption (when `config.omemo`).
    omemo: omemo::OmemoClient,
    /// Group chat rooms we are in or joining (rooms.rs).
    rooms: HashMap<BareJid, crate::rooms::Room>,
    /// Our bookmarked rooms by JID (rooms/bookmarks.rs).
    bookmarks: BTreeMap<String, crate::xmpp::bookmarks::Bookmark>,
    /// When the rooms are next asked whether they still have us (XEP-0410).
    room_ping_at: Option<Instant>,
    /// Room messages kept this session (every so many, the room is trimmed).
    room_writes: u32,
    /// The XMPP connection in use: cut when its address goes away.
    xmpp_socket: connect::XmppSocket,
    /// The addresses calls bind and the default routes, as last seen: a change
    /// restarts their ICE.
    call_paths: (Vec<std::net::IpAddr>, Vec<String>),
    media_tx: mpsc::UnboundedSender<(String, calls::FromMedia)>,
    /// Files on their way (transfer.rs), and where their tasks say they ended.
    transfers: transfer::Transfers,
    transfers_tx: mpsc::UnboundedSender<transfer::Ended>,
}

mod amend;
mod api;
mod availability;
mod avatars;
mod blocking;
mod calls;
mod commands;
mod events;
pub(crate) mod history;
mod iq;
pub mod local;
mod login;
mod messages;
pub mod netcheck;
pub mod offline;
mod omemo;
mod preview;
mod report;
mod rooms;
mod task;
mod transfer;

pub use api::*;
use iq::*;
pub use login::sign_out;
use login::*;

pub use crate::jingle::endpoint::CallInfo;
pub use crate::jingle::session::{CallDirection, EndReason};
pub use crate::jingle::Reason;
pub use events::{stats_json, to_json, CallStatus, Event, Media, OmemoDeviceInfo, SignIn, Typing};
pub use report::{call_of, now_ms, CallReport};
// Types of the client's API that are defined beside the protocol or store they come
// from: front ends take them from here.
pub use crate::rooms::Occupant;
pub use crate::store::CallRecord;
pub use crate::store::{
    AccountRow, Direction, MessageMeta, MessageState, ReactionCount, StoredMessage,
    StoredRoomMessage,
};
pub use crate::xmpp::bookmarks::Bookmark;
pub use crate::xmpp::connect::{parse_server, Target};
pub use crate::xmpp::muc::admin::ListedRoom;
pub use crate::xmpp::muc::admin::{Change, RoomConfig};
pub use crate::xmpp::oob::{file_ref, FileRef};
pub use crate::xmpp::presence::Show;
pub use crate::xmpp::reply::Reply;
pub use avatars::{avatar_hash, avatar_png};
pub use local::TryLocally;
pub use preview::{picture_preview, Preview};
pub use transfer::{download_file, Downloaded, TransferKind, TransferState, MAX_DOWNLOAD};
/// Bytes a transfer moved so far (`download_file` counts into it).
pub type TransferProgress = crate::http::Progress;

/// Devices whose features are kept (an entry goes when its device goes offline).
const MAX_FEATURE_ENTRIES: usize = 1024;
/// How long messages over a sender's rate wait in the archive before they are read.
const ARCHIVE_GAP_WAIT: Duration = Duration::from_secs(3);
/// Store key: the channel binding a login of this account used (downgrade check).
const SASL_BINDING: &str = "sasl_binding";
/// Store key: this device's user-agent id (XEP-0388), which FAST tokens are bound to.
const SASL2_CLIENT_ID: &str = "sasl2_client_id";
const MAM_LAST: &str = "mam_last_id";

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
            let chat = chat::body(m).is_some() && chat::origin_id(m).is_some();
            if let Some(id) = m.id.as_ref().filter(|id| chat || self.amends.has(&id.0)) {
                self.unconfirmed.push(id.0.clone());
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

    fn mark_acked(&mut self, id: &str) {
        match self
            .store
            .set_state(self.own.as_str(), id, MessageState::Acked)
        {
            Ok(true) => self.emit(Event::MessageAcked { id: id.to_string() }),
            Ok(false) => {
                self.amend_confirmed(id);
            }
            Err(e) => self.store_err(e),
        }
    }

    fn on_online(&mut self, out: &mut Vec<Stanza>) {
        // Session state is gone: unconfirmed messages are still pending in the store
        // and are sent again below; the receiver drops duplicates by origin-id.
        // Uploads that waited for the service or a slot ask again.
        self.transfers_online(out);
        // An account change whose answer the old session took with it is not
        // retried blindly (a deletion twice): the user hears it did not go through.
        let unanswered = self.pending_iqs.values().any(|(p, _)| {
            matches!(
                p,
                IqPurpose::ChangePassword { .. } | IqPurpose::DeleteAccount
            )
        });
        if unanswered {
            self.emit(Event::AccountRefused {
                message: "the connection dropped before the server answered; check and try again"
                    .into(),
            });
        }
        self.pending_iqs.clear();
        self.caps_asked.clear();
        self.unconfirmed.clear();
        self.confirm_in_flight = false;
        self.iq(IqPurpose::RosterGet, roster::get, out);
        self.blocking_online(out);
        self.iq(IqPurpose::Carbons, carbons::enable, out);
        if self.config.media.is_some() {
            self.request_ice_servers(IqPurpose::ExtDisco, out);
        }
        if self.config.omemo {
            self.omemo_online(out);
        }
        self.bookmarks_online(out);
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
                    let Ok(to) = BareJid::new(&m.peer) else {
                        continue;
                    };
                    // A reply goes again as a reply (without its quote).
                    let extra: Vec<Element> = m
                        .meta
                        .reply_to
                        .iter()
                        .map(|r| crate::xmpp::reply::element(&r.id, r.to.as_deref()))
                        .collect();
                    if m.encryption.is_none() {
                        let mut msg = chat::outgoing(&to, &m.id, &m.body);
                        msg.payloads.extend(extra);
                        out.push(msg.into());
                    } else if !self.omemo_send(
                        &m.id,
                        &to,
                        &m.body,
                        extra,
                        m.body.starts_with("aesgcm://"),
                        out,
                    ) {
                        // Written encrypted: never sent otherwise.
                        self.emit(Event::MessageFailed {
                            id: m.id,
                            error: "end-to-end encryption is off now: not sent".into(),
                        });
                    }
                }
            }
            Err(e) => self.store_err(e),
        }
        self.resend_amends(out);
    }

    /// Asks our server for STUN/TURN servers and fresh credentials (for calls, or,
    /// with `IqPurpose::NetCheck`, for a network check).
    fn request_ice_servers(&mut self, purpose: IqPurpose, out: &mut Vec<Stanza>) {
        let server = Jid::from(xmpp_parsers::jid::BareJid::from_parts(
            None,
            self.own.domain(),
        ));
        self.iq(purpose, |id| crate::xmpp::extdisco::query(id, server), out);
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

    async fn on_stanza(&mut self, stanza: Stanza, out: &mut Vec<Stanza>) {
        if self.on_unreadable(&stanza, out) || self.drop_if_blocked(&stanza, out) {
            return;
        }
        match stanza {
            Stanza::Iq(Iq::Set {
                from, id, payload, ..
            }) if payload.is("jingle", crate::jingle::NS) => {
                self.on_jingle_iq(from, id, payload, out)
            }
            Stanza::Iq(Iq::Result {
                ref id, ref from, ..
            }) if self.on_call_iq_answer(id, from.as_ref(), IqAnswer::Done, out) => {}
            Stanza::Iq(Iq::Error {
                ref id,
                ref from,
                ref error,
                ..
            }) if self.on_call_iq_answer(
                id,
                from.as_ref(),
                match error.defined_condition {
                    DefinedCondition::ItemNotFound => IqAnswer::NoSuchSession,
                    DefinedCondition::ServiceUnavailable
                    | DefinedCondition::RecipientUnavailable => IqAnswer::Unreachable,
                    _ => IqAnswer::Refused,
                },
                out,
            ) => {}
            Stanza::Message(m) if self.is_jmi(&m) => self.on_jmi_message(m, out),
            Stanza::Presence(p) if self.is_room(p.from.as_ref()) => self.on_room_presence(p, out),
            Stanza::Message(m) if self.is_room(m.from.as_ref()) && mam::is_result(&m) => {
                self.on_room_archive(m)
            }
            Stanza::Message(m)
                if self.is_room(m.from.as_ref())
                    && matches!(m.type_, MessageType::Groupchat | MessageType::Error) =>
            {
                self.on_room_message(m, out)
            }
            Stanza::Message(m)
                if self.is_room(m.from.as_ref())
                    && m.type_ == MessageType::Chat
                    && m.from.as_ref().is_some_and(|f| f.resource().is_some()) =>
            {
                self.on_room_private(m)
            }
            Stanza::Presence(p) => {
                if let Some(from) = &p.from {
                    match p.type_ {
                        PresenceType::Unavailable => self.peer_went_offline(from, out),
                        PresenceType::None => self.peer_came_online(from, out),
                        _ => {}
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

#[cfg(test)]
mod tests;
