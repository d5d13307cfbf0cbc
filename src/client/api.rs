//! The client's API for front ends: its configuration, the commands it takes and the
//! handle to a running account (events are in events.rs).

use super::*;

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
    /// End-to-end encryption (OMEMO 0.3): our device published, messages to contacts
    /// with OMEMO devices encrypted, theirs decrypted. Off until trust and the window
    /// have it too (issue #13).
    pub omemo: bool,
    /// Join the rooms bookmarked with autojoin (XEP-0402) at sign-in and as other
    /// clients bookmark them; off for one-shot commands.
    pub autojoin: bool,
    /// Ask for FAST tokens (XEP-0484) where the server offers them, and reconnect
    /// with them instead of the password.
    pub fast: bool,
    /// Where the tokens are kept between runs (the OS keyring, in the app); without
    /// it they last as long as the session.
    pub tokens: Option<TokenStore>,
}

/// Keeps an account's FAST state (a JSON text holding a secret) between runs. The
/// front end's: the library knows no keyring. Called off the async threads.
pub trait TokenKeeper: Send + Sync {
    fn load(&self) -> Option<String>;
    /// `None`: forget it.
    fn save(&self, state: Option<&str>);
}

/// A shared [`TokenKeeper`].
#[derive(Clone)]
pub struct TokenStore(pub std::sync::Arc<dyn TokenKeeper>);

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
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
            omemo: false,
            autojoin: true,
            fast: true,
            tokens: None,
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
    /// The same, never encrypted, even to a contact with OMEMO devices: the user
    /// chose so explicitly.
    SendPlain {
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
    /// Check what calls would get from this network (STUN, TURN over UDP/TCP/TLS, the
    /// NAT): answered by `Event::NetCheck` within seconds.
    NetCheck,
    /// Join a group chat room (XEP-0045) as `nick`: answered by `Event::RoomJoined`
    /// (then its occupants, subject and last messages) or `Event::RoomLeft` with why.
    JoinRoom {
        room: BareJid,
        nick: String,
        password: Option<String>,
    },
    LeaveRoom {
        room: BareJid,
    },
    /// A message to everyone in a room we are in (it comes back as `RoomMessage`).
    SendRoomMessage {
        id: String,
        room: BareJid,
        body: String,
    },
    SetRoomSubject {
        room: BareJid,
        subject: String,
    },
    /// Create `room` by joining it as `nick`, configured as `config` says:
    /// answered by `Event::RoomCreated`, or an `Event::Error` when it already
    /// existed (then we are in it as it is) or could not be configured.
    CreateRoom {
        room: BareJid,
        nick: String,
        config: crate::xmpp::muc::admin::RoomConfig,
    },
    /// Invite `jid` to a room: through the room when it is members-only (which
    /// makes them a member, where we may), else directly (XEP-0249). Answered by
    /// `Event::Invited`.
    InviteToRoom {
        room: BareJid,
        jid: BareJid,
        reason: Option<String>,
    },
    /// Decline an invitation that came through the room (the inviter is told).
    DeclineInvitation {
        room: BareJid,
        inviter: String,
        reason: Option<String>,
    },
    /// A private message to one occupant of a room we are in.
    SendRoomPrivate {
        id: String,
        room: BareJid,
        nick: String,
        body: String,
    },
    /// Kick, ban, give or take voice, membership, admin or ownership: `target` is a
    /// nick for a role change (kick, voice, mute), a nick or bare JID for an
    /// affiliation. Answered by `Event::RoomChanged` or an `Event::Error` in words.
    ChangeOccupant {
        room: BareJid,
        change: crate::xmpp::muc::admin::Change,
        target: String,
        reason: Option<String>,
    },
    /// Destroy a room we own; everyone in it is told.
    DestroyRoom {
        room: BareJid,
        reason: Option<String>,
    },
    /// Bookmark a room (XEP-0402) or change its bookmark; with `autojoin`, this and
    /// the user's other clients join it at sign-in (and now).
    SetBookmark {
        bookmark: crate::xmpp::bookmarks::Bookmark,
    },
    RemoveBookmark {
        room: BareJid,
    },
    /// An earlier page of a room's archive: its messages come as `RoomMessage`s
    /// (`from_archive`), then `Event::RoomHistoryRead`.
    RoomHistory {
        room: BareJid,
    },
    /// The public rooms of a MUC service: answered by `Event::RoomList`.
    ListRooms {
        service: BareJid,
    },
    /// A contact's OMEMO devices and our trust in each: answered by
    /// `Event::OmemoDeviceList`.
    OmemoDevices {
        jid: BareJid,
    },
    /// Verify (`verified: true`) or refuse a contact's device by its identity key
    /// (hex, as `Event::OmemoDeviceList` gives it); answered by `Event::OmemoDeviceList`.
    OmemoTrust {
        jid: BareJid,
        fingerprint: String,
        verified: bool,
    },
    /// Our presence to everyone. `Show::Dnd` is do not disturb: new calls are
    /// refused as busy (the caller hears busy; the call is in the history).
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
    /// Share a screen as the call's video (`Some`), in place of the camera (added to
    /// an audio call by content-add), or stop sharing (`None`): back to the camera
    /// if it was on. `Event::ScreenShare` says how it went.
    ShareScreen {
        id: String,
        screen: Option<banter_media::video::screen::ScreenSpec>,
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
    /// Correct our message `of` to `to` (XEP-0308): its body becomes `body`; the
    /// correction goes as message `id` (encrypted where the conversation is).
    CorrectMessage {
        id: String,
        to: BareJid,
        of: String,
        body: String,
    },
    /// Answer message `of` in the conversation with `to` (XEP-0461), quoting it for
    /// clients without replies.
    Reply {
        id: String,
        to: BareJid,
        of: String,
        body: String,
    },
    /// Retract our message `of` to `to` (XEP-0424): a tombstone on both sides.
    Retract {
        id: String,
        to: BareJid,
        of: String,
    },
    /// Our reactions to message `of` in the conversation with `to` are now
    /// `reactions` (XEP-0444; the whole set, empty removes them).
    React {
        id: String,
        to: BareJid,
        of: String,
        reactions: Vec<String>,
    },
    /// The conversation with `peer` was read: its newest message that asked for it
    /// gets a displayed marker (XEP-0333), once.
    MarkRead {
        peer: BareJid,
    },
    /// Block `jid` (XEP-0191: nothing of theirs reaches us, we seem offline to them)
    /// or unblock it; answered by `Event::Blocklist`.
    Block {
        jid: BareJid,
        blocked: bool,
    },
    /// Publish our picture (XEP-0084): a PNG made by `avatar_png`, its size.
    SetAvatar {
        png: Vec<u8>,
        width: u32,
        height: u32,
    },
    /// Send the file at `path` to `to` (XEP-0363; encrypted where messages are): its
    /// `Event::Transfer`s say how far it is, and its message goes as `id`.
    SendFile {
        id: String,
        to: BareJid,
        path: PathBuf,
    },
    /// Fetch the file at `url` (one `peer` sent) into `dir`, if it is no larger than
    /// `max_size` (when given) and, when `sha256` is given (its sender said it), only
    /// if it is that file: `Event::Transfer`s as transfer `id`.
    Download {
        id: String,
        peer: String,
        url: String,
        dir: PathBuf,
        max_size: Option<u64>,
        sha256: Option<String>,
        /// The name to save it under, as its sender said (else the URL's); made safe.
        name: Option<String>,
    },
    /// Ask the server holding the file at `url` (of message `id` with `peer`) its size
    /// and type (HTTP HEAD; nothing is fetched): answered by `Event::FileInfo`. For a
    /// contact's file: it tells their server our address, as a download would.
    FileInfo {
        peer: String,
        id: String,
        url: String,
    },
    /// Stop a file transfer (nothing of an upload stays on the server, nothing of a
    /// download on disk).
    CancelTransfer {
        id: String,
    },
    /// Tell `to` whether we are typing (XEP-0085).
    SendChatState {
        to: BareJid,
        state: Typing,
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
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub(super) task: tokio::task::JoinHandle<()>,
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
