//! What a click asks for. The binary turns these into client commands.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    AddAccount {
        jid: String,
        password: String,
        server: Option<String>,
        ca_file: Option<String>,
        /// Keep the password in the OS keyring for the next start.
        remember: bool,
        /// Create the account on its server first (XEP-0077).
        register: bool,
    },
    /// Show another signed-in account.
    SwitchAccount {
        jid: String,
    },
    /// Start a private local server with an echo contact and sign in to it.
    TryLocally,
    SelectContact {
        jid: String,
    },
    SendMessage {
        to: String,
        body: String,
    },
    /// Our message `id` gets a new text (XEP-0308).
    Correct {
        to: String,
        id: String,
        body: String,
    },
    /// A message answering message `id` (XEP-0461).
    Reply {
        to: String,
        id: String,
        body: String,
    },
    /// Our reactions to message `id` are now these (the whole set).
    React {
        to: String,
        id: String,
        reactions: Vec<String>,
    },
    /// Take back our message `id` (XEP-0424).
    Retract {
        to: String,
        id: String,
    },
    /// Pick a picture file to be our avatar (the desktop's file picker).
    ChooseAvatar,
    /// Pick files to send to `to` (the desktop's file picker).
    AttachFile {
        to: String,
    },
    /// Send these files to `to` (dropped on the window, or picked).
    SendFiles {
        to: String,
        paths: Vec<std::path::PathBuf>,
    },
    /// Send a pasted picture (RGBA, `width` × `height`) to `to`, as a PNG.
    SendPicture {
        to: String,
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
    /// Fetch the file of message `id` in the conversation with `peer`: to preview it
    /// (`preview`, kept with Banter's data) or into the downloads folder.
    FetchFile {
        peer: String,
        id: String,
        url: String,
        preview: bool,
    },
    /// Stop a file transfer (upload: its message id; download: `dl:` and it).
    CancelTransfer {
        id: String,
    },
    /// Forget a failed upload's row.
    DismissUpload {
        peer: String,
        id: String,
    },
    /// Open a saved file with the desktop's application for it.
    OpenFile {
        path: std::path::PathBuf,
    },
    /// Block (or unblock) a JID: nothing of theirs reaches us (XEP-0191).
    Block {
        jid: String,
        blocked: bool,
    },
    /// The conversation was read (the window shows it, focused): a displayed marker.
    MarkRead {
        jid: String,
    },
    AddContact {
        jid: String,
    },
    /// Remove from the roster (and end the presence subscriptions).
    RemoveContact {
        jid: String,
    },
    /// Show a contact's OMEMO devices (answered into `Model::omemo`).
    OmemoDevices {
        jid: String,
    },
    /// Verify (`verified`) or distrust a contact's device by its fingerprint (hex).
    TrustDevice {
        jid: String,
        fingerprint: String,
        verified: bool,
    },
    AnswerSubscription {
        jid: String,
        accept: bool,
    },
    Call {
        jid: String,
        video: bool,
    },
    AcceptCall {
        id: String,
        video: bool,
    },
    DeclineCall {
        id: String,
    },
    Hangup {
        id: String,
    },
    /// Put the report of the current (or last) call on the clipboard.
    CopyCallReport,
    /// Settings → Test my network: STUN and TURN with the account's services.
    NetCheck,
    SetMuted {
        id: String,
        muted: bool,
    },
    SetHeld {
        id: String,
        held: bool,
    },
    /// Tell the contact whether we are typing.
    Typing {
        to: String,
        state: TypingState,
    },
    /// A device chosen (`None`: the system default); applies to the call in progress.
    SetMicrophone {
        name: Option<String>,
    },
    SetSpeaker {
        name: Option<String>,
    },
    /// A camera chosen (`None`: the first one; `TEST_PATTERN`: the moving pattern);
    /// applies to the call in progress too.
    SetCameraDevice {
        name: Option<String>,
    },
    /// Camera on or off in a call; on in an audio call adds video.
    SetCamera {
        id: String,
        on: bool,
    },
    /// Open the screen picker: list what can be shared, with thumbnails.
    PickScreen {
        id: String,
    },
    /// Share the picked source (`ScreenChoice::key`) as the call's video, or stop
    /// sharing (`None`).
    ShareScreen {
        id: String,
        source: Option<String>,
    },
    /// The Settings window changed (echo cancellation, relay-only, who may call).
    ChangeSettings(crate::model::Settings),
    /// Our status for every account (do not disturb refuses calls as busy).
    SetStatus(crate::model::MyStatus),
    /// Start Banter at login (the XDG autostart entry written or removed).
    SetAutostart(bool),
    /// The window's language (`None`: the system's), at once and from now on.
    SetLanguage(Option<crate::i18n::Lang>),
    /// Load the page of stored messages before the oldest one shown.
    LoadEarlier {
        jid: String,
    },
    /// A new password for the account shown (XEP-0077).
    ChangePassword {
        password: String,
    },
    /// Delete the account shown from its server (XEP-0077).
    DeleteAccount,
    /// Join a group chat room (also: accept an invitation).
    JoinRoom {
        room: String,
        nick: String,
        password: Option<String>,
    },
    LeaveRoom {
        room: String,
    },
    /// Show a room (instead of a contact's conversation).
    SelectRoom {
        room: String,
    },
    SendRoomMessage {
        room: String,
        body: String,
    },
    /// Keep the room bookmarked (`autojoin`: joined at sign-in, here and in the
    /// user's other clients), or not.
    BookmarkRoom {
        room: String,
        bookmarked: bool,
        autojoin: bool,
    },
    InviteToRoom {
        room: String,
        jid: String,
    },
    /// An earlier page of the room's archive.
    RoomHistory {
        room: String,
    },
    /// Decline an invitation (the inviter is told when it came through the room).
    DeclineInvitation {
        room: String,
    },
    /// Create a room configured (answered by the room joined, then created).
    CreateRoom {
        room: String,
        nick: String,
        name: Option<String>,
        members_only: bool,
        persistent: bool,
        public: bool,
        password: Option<String>,
    },
    /// A MUC service's public rooms (its directory).
    ListRooms {
        service: String,
    },
    SetRoomSubject {
        room: String,
        subject: String,
    },
    /// Destroy a room we own (everyone in it is told).
    DestroyRoom {
        room: String,
    },
    /// A moderator's or admin's change to an occupant, by nick.
    ModerateOccupant {
        room: String,
        nick: String,
        action: Moderation,
    },
}

/// What a moderator (kick, voice, mute), an admin or owner (ban, member, admin), or
/// an owner (owner, revoke) may do to an occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    Kick,
    Ban,
    Voice,
    Mute,
    Member,
    Admin,
    Owner,
    /// Take the user's affiliation away (back to none).
    Revoke,
}

/// XEP-0085 states the window sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingState {
    Composing,
    Paused,
    Active,
}
