//! What the account reports to its front ends, typed; and the one JSON shape of it
//! (README's event lines), which the command line and the window's `--json` share.

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use crate::jingle::endpoint::CallInfo;
use crate::jingle::session::{CallDirection, CallState, EndReason};
use crate::store::{Contact, StoredMessage};
use crate::xmpp::presence::Show;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Our proposal is out; nothing rings yet.
    Proposing,
    /// Out: the peer's device rings. In: we ring, waiting for the user.
    Ringing,
    /// Accepted; ICE and DTLS are being set up.
    Connecting,
    /// Media flows.
    Active,
    /// Over; the event's `reason` says why.
    Ended,
}

impl From<CallState> for CallStatus {
    fn from(s: CallState) -> CallStatus {
        match s {
            CallState::Proposing => CallStatus::Proposing,
            CallState::Ringing => CallStatus::Ringing,
            CallState::Connecting => CallStatus::Connecting,
            CallState::Active => CallStatus::Active,
            CallState::Ended(_) => CallStatus::Ended,
        }
    }
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Proposing => "proposing",
            CallStatus::Ringing => "ringing",
            CallStatus::Connecting => "connecting",
            CallStatus::Active => "active",
            CallStatus::Ended => "ended",
        }
    }
}

impl std::fmt::Display for CallStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EndReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A call's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Audio,
    Video,
}

/// A contact's chat state (XEP-0085).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Typing {
    Active,
    Composing,
    Paused,
    Inactive,
    Gone,
}

impl Typing {
    pub fn as_str(self) -> &'static str {
        match self {
            Typing::Active => "active",
            Typing::Composing => "composing",
            Typing::Paused => "paused",
            Typing::Inactive => "inactive",
            Typing::Gone => "gone",
        }
    }
}

impl From<Typing> for xmpp_parsers::chatstates::ChatState {
    fn from(t: Typing) -> Self {
        use xmpp_parsers::chatstates::ChatState as C;
        match t {
            Typing::Active => C::Active,
            Typing::Composing => C::Composing,
            Typing::Paused => C::Paused,
            Typing::Inactive => C::Inactive,
            Typing::Gone => C::Gone,
        }
    }
}

impl From<&xmpp_parsers::chatstates::ChatState> for Typing {
    fn from(s: &xmpp_parsers::chatstates::ChatState) -> Typing {
        use xmpp_parsers::chatstates::ChatState as C;
        match s {
            C::Active => Typing::Active,
            C::Composing => Typing::Composing,
            C::Paused => Typing::Paused,
            C::Inactive => Typing::Inactive,
            C::Gone => Typing::Gone,
        }
    }
}

/// One of a contact's OMEMO devices, as `Event::OmemoDeviceList` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OmemoDeviceInfo {
    pub device_id: u32,
    /// Its identity key, hex, once a session or bundle showed it.
    pub fingerprint: Option<String>,
    /// `blind`, `verified`, `untrusted` or `undecided`.
    pub trust: String,
    /// Its owner's device list still names it.
    pub active: bool,
}

/// What the account reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Online (first time, or after a reconnect that lost the session).
    Connected {
        jid: String,
        resumed: bool,
        /// How the sign-in went (also before a resumption: the stream signed in
        /// anew, then resumed).
        #[serde(skip_serializing_if = "Option::is_none")]
        login: Option<SignIn>,
    },
    /// The connection dropped; reconnecting in the background.
    ConnectionLost,
    /// A reconnect attempt failed; `fatal` ones need the user (password, certificate).
    ConnectionError {
        message: String,
        fatal: bool,
    },
    Roster {
        contacts: Vec<Contact>,
    },
    ContactChanged {
        contact: Contact,
    },
    ContactRemoved {
        jid: String,
    },
    Presence {
        from: String,
        show: Show,
        status: Option<String>,
    },
    SubscriptionRequest {
        from: String,
    },
    /// A new history entry (received live, from a carbon or from the archive).
    Message {
        message: StoredMessage,
    },
    /// A message was corrected by its sender (XEP-0308): `message` is the history
    /// entry as it is now (its id the original's, its body the new one).
    MessageCorrected {
        message: StoredMessage,
    },
    /// A message was retracted by its sender (XEP-0424): a tombstone now.
    #[serde(rename = "retracted")]
    MessageRetracted {
        peer: String,
        id: String,
        from: String,
    },
    /// `from`'s reactions to message `id` are now these (XEP-0444; empty: none).
    #[serde(rename = "reaction")]
    Reactions {
        peer: String,
        id: String,
        from: String,
        reactions: Vec<String>,
    },
    /// `peer` read our messages up to `id` (XEP-0333): they are "displayed".
    #[serde(rename = "displayed")]
    MessageDisplayed {
        peer: String,
        id: String,
    },
    /// `jid`'s picture (XEP-0084; ours too) is this file now; `None`: they have none.
    Avatar {
        jid: String,
        path: Option<std::path::PathBuf>,
    },
    /// A file on its way to or from `peer` (`kind`), named `name`.
    Transfer {
        id: String,
        kind: super::TransferKind,
        peer: String,
        name: String,
        #[serde(flatten)]
        state: super::TransferState,
    },
    /// What the server holding message `id`'s file says of it (`Command::FileInfo`):
    /// its size (an encrypted file's without the tag) and type, when it said.
    FileInfo {
        peer: String,
        id: String,
        size: Option<u64>,
        mime: Option<String>,
    },
    /// The JIDs we block (XEP-0191), whenever the list changes (here or on another
    /// device of ours) and at sign-in.
    Blocklist {
        jids: Vec<String>,
    },
    /// The server confirmed our message.
    MessageAcked {
        id: String,
    },
    /// The recipient's device confirmed our message (XEP-0184).
    MessageDelivered {
        id: String,
    },
    MessageFailed {
        id: String,
        error: String,
    },
    /// A contact's resource's features (disco#info, via caps).
    Features {
        jid: String,
        features: Vec<String>,
    },
    /// Archive catch-up finished with `count` new messages.
    CaughtUp {
        count: usize,
    },
    History {
        peer: String,
        messages: Vec<StoredMessage>,
    },
    /// A call changed state.
    Call {
        id: String,
        peer: String,
        direction: CallDirection,
        media: Vec<Media>,
        state: CallStatus,
        reason: Option<EndReason>,
    },
    /// The peer's client in an active call, as its caps node names it.
    CallPeer {
        id: String,
        client: String,
    },
    /// A contact is typing, stopped, or left the chat (XEP-0085).
    ChatState {
        from: String,
        state: Typing,
    },
    /// The peer muted, unmuted, put the call on hold or resumed it, and the like.
    CallInfo {
        id: String,
        info: CallInfo,
    },
    /// A signaling message of the call (Jingle or JMI), sent or received, as a line
    /// without addresses: the call report's log.
    CallSignal {
        id: String,
        outgoing: bool,
        line: String,
    },
    /// The latest calls, newest first.
    CallHistory {
        calls: Vec<crate::store::CallRecord>,
    },
    /// The first audio from the peer was decoded.
    CallAudio {
        id: String,
    },
    /// Our screen sharing in a call started or stopped (`reason`: why it stopped by
    /// itself or could not start, in words).
    ScreenShare {
        id: String,
        sharing: bool,
        reason: Option<String>,
    },
    /// The first picture from the peer was decoded, and again when its size or codec
    /// changes (a screen shared, the camera back).
    CallVideo {
        id: String,
        width: usize,
        height: usize,
        /// "VP8" or "VP9".
        codec: &'static str,
    },
    /// Once a second during a call.
    CallStats {
        id: String,
        #[serde(skip)]
        stats: banter_media::CallStats,
    },
    /// Our OMEMO device is published (its list and bundle sent): contacts can
    /// encrypt to it. Its fingerprint is what they compare.
    OmemoReady {
        device_id: u32,
        fingerprint: String,
    },
    /// A contact's device began a session with us (its first message, or a new
    /// session after ours broke).
    OmemoSession {
        jid: String,
        device_id: u32,
        fingerprint: String,
    },
    /// A call's DTLS fingerprint came OMEMO-encrypted from the peer's device
    /// (jingle/dtls_verify.rs): `verified` when every content's did and that device
    /// is verified; else the call is encrypted to a device trusted as `trust` says.
    CallOmemo {
        id: String,
        device_id: u32,
        fingerprint: String,
        trust: String,
        verified: bool,
    },
    /// A contact's OMEMO devices (`Command::OmemoDevices`, `Command::OmemoTrust`),
    /// and our own device's fingerprint to compare with what the contact sees.
    OmemoDeviceList {
        jid: String,
        own_fingerprint: Option<String>,
        devices: Vec<OmemoDeviceInfo>,
    },
    /// We are in a group chat room, as `nick`.
    RoomJoined {
        room: String,
        nick: String,
    },
    /// We are out of a room: we left, were kicked or banned, or could not join
    /// (`reason` in words).
    RoomLeft {
        room: String,
        reason: String,
    },
    /// An occupant of a room came or changed (role, affiliation, show).
    Occupant {
        room: String,
        present: bool,
        #[serde(flatten)]
        occupant: crate::rooms::Occupant,
    },
    /// An occupant left a room (`reason`: kicked, banned, changed nick).
    OccupantLeft {
        room: String,
        nick: String,
        reason: Option<String>,
    },
    /// A message in a room (ours too, as the room sends it back); `from_archive`
    /// for the room's history sent on joining.
    RoomMessage {
        room: String,
        nick: String,
        id: String,
        body: String,
        ts_ms: i64,
        from_archive: bool,
        /// The room's id for it (XEP-0359): what retractions, reactions and replies
        /// name it by.
        stanza_id: Option<String>,
        /// What it answers, its file (edited, retracted and reactions come later, as
        /// their own events, and with kept history).
        #[serde(flatten)]
        meta: crate::store::MessageMeta,
    },
    /// `nick` corrected their room message `id` (the room's id for it): its text is
    /// `body` now (XEP-0308).
    RoomMessageCorrected {
        room: String,
        id: String,
        nick: String,
        body: String,
    },
    /// `nick` retracted their room message `id` (XEP-0424): a tombstone now.
    RoomMessageRetracted {
        room: String,
        id: String,
        nick: String,
    },
    /// `nick`'s reactions to room message `id` are now these (XEP-0444; empty: none).
    RoomReactions {
        room: String,
        id: String,
        nick: String,
        reactions: Vec<String>,
    },
    /// A room's subject, and who set it.
    RoomSubject {
        room: String,
        subject: String,
        nick: Option<String>,
    },
    /// A private message from (or, `outgoing`, to) one occupant of a room.
    RoomPrivateMessage {
        room: String,
        nick: String,
        id: String,
        body: String,
        ts_ms: i64,
        outgoing: bool,
    },
    /// What a room says of itself (its disco#info), once we are in.
    RoomInfo {
        room: String,
        #[serde(flatten)]
        info: crate::xmpp::muc::admin::RoomInfo,
    },
    /// The room's archive was read: what we missed (on joining), or an earlier page
    /// (`Command::RoomHistory`); `count` new messages came as `RoomMessage`s with
    /// `from_archive`; `more`: earlier ones remain.
    RoomHistoryRead {
        room: String,
        count: usize,
        more: bool,
    },
    /// Messages of a room kept on this device, oldest first: the last ones when we
    /// start joining it (before anything new from the room), or an earlier page
    /// (`earlier`, for `Command::RoomHistory`). `more`: earlier ones remain here or
    /// in the room's archive.
    RoomStoredHistory {
        room: String,
        messages: Vec<crate::store::StoredRoomMessage>,
        earlier: bool,
        more: bool,
    },
    /// The room we asked to create exists, configured as asked.
    RoomCreated {
        room: String,
    },
    /// An invitation to a room (`mediated`: through the room, else straight from
    /// `from`). Joining it is up to the user.
    Invitation {
        room: String,
        from: String,
        reason: Option<String>,
        password: Option<String>,
        mediated: bool,
    },
    /// Our invitation went out (`Command::InviteToRoom`).
    Invited {
        room: String,
        jid: String,
        mediated: bool,
    },
    /// Someone declined our invitation.
    InvitationDeclined {
        room: String,
        by: String,
        reason: Option<String>,
    },
    /// A change we made to an occupant (`Command::ChangeOccupant`) was made.
    RoomChanged {
        room: String,
        target: String,
        change: String,
    },
    /// Our bookmarked rooms, whenever they change (here or in another client).
    Bookmarks {
        bookmarks: Vec<crate::xmpp::bookmarks::Bookmark>,
    },
    /// A MUC service's public rooms (`Command::ListRooms`).
    RoomList {
        service: String,
        rooms: Vec<crate::xmpp::muc::admin::ListedRoom>,
    },
    /// A network check's findings (`Command::NetCheck`).
    NetCheck {
        #[serde(skip)]
        report: std::sync::Arc<banter_media::netcheck::NetReport>,
    },
    /// Something went wrong that is not about the connection.
    Error {
        message: String,
    },
    /// The server took the new password.
    PasswordChanged,
    /// The server deleted the account; the client stops.
    AccountDeleted,
    /// The server refused a password change or deletion, in words.
    AccountRefused {
        message: String,
    },
    /// The client stopped.
    Disconnected,
}

/// The event as one JSON object: the shape README and CLI.md describe, the same for
/// the command line and the window's `--json`.
pub fn to_json(ev: &Event) -> Value {
    match ev {
        Event::Message { message } => message_json(message, None),
        Event::MessageCorrected { message } => message_json(message, Some(&message.id)),
        Event::Error { message } => json!({"event": "error", "message": message}),
        Event::ConnectionError { message, fatal } => {
            json!({"event": "error", "message": message, "fatal": fatal})
        }
        Event::CallStats { id, stats } => stats_json(Some(id), stats),
        // Our public address is private: redacted here (`banter net-check
        // --show-addresses` prints it).
        Event::NetCheck { report } => super::netcheck::json(report, false),
        other => serde_json::to_value(other).unwrap_or_else(|_| json!({"event": "unknown"})),
    }
}

/// A `message` event; a correction names the message it corrected.
fn message_json(message: &StoredMessage, correction_of: Option<&str>) -> Value {
    let mut v = json!({
        "event": "message", "from": message.from, "to": message.to, "id": message.id,
        "body": message.body, "peer": message.peer, "direction": message.direction,
        "ts_ms": message.ts_ms, "stanza_id": message.stanza_id,
        "encryption": message.encryption, "trust": message.trust,
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(r) = &message.meta.reply_to {
            o.insert("reply_to".into(), json!(r));
        }
        if message.meta.edited {
            o.insert("edited".into(), json!(true));
        }
        if let Some(f) = &message.meta.file {
            o.insert("file".into(), json!(f));
        }
        if message.meta.retracted {
            o.insert("retracted".into(), json!(true));
        }
        if !message.meta.reactions.is_empty() {
            o.insert("reactions".into(), json!(message.meta.reactions));
        }
        if let Some(of) = correction_of {
            o.insert("correction_of".into(), json!(of));
            o.insert("edited".into(), json!(true));
        }
    }
    v
}

/// A `stats` event: a call's figures once a second (also the sound test's).
pub fn stats_json(id: Option<&str>, s: &banter_media::CallStats) -> Value {
    json!({
        "event": "stats", "id": id, "rtt_ms": s.rtt_ms, "jitter_ms": s.jitter_ms,
        "loss_pct": s.loss_pct, "send_kbps": s.send_kbps, "recv_kbps": s.recv_kbps,
        "audio_packets_received": s.audio_packets_received,
        "audio_level_in": s.audio_level_in, "audio_level_out": s.audio_level_out,
        "candidate_pair": s.candidate_pair.map(|k| k.as_str()),
        "fec_recovered": s.fec_recovered, "red_recovered": s.red_recovered,
        "concealed": s.concealed,
        "jitter_buffer_ms": s.jitter_target_ms, "bitrate": s.bitrate,
        "video_frames_decoded": s.video.as_ref().map(|v| v.frames_decoded),
        "video_frames_sent": s.video.as_ref().map(|v| v.frames_sent),
        "video_width": s.video.as_ref().map(|v| v.width),
        "video_height": s.video.as_ref().map(|v| v.height),
        "video_fps": s.video.as_ref().map(|v| v.fps),
        "video_send_kbps": s.video.as_ref().map(|v| v.send_kbps),
        "video_recv_kbps": s.video.as_ref().map(|v| v.recv_kbps),
        "video_target_kbps": s.video.as_ref().map(|v| v.target_kbps),
        "video_send_codec": s.video.as_ref().and_then(|v| v.send_codec).map(|c| c.name()),
        "video_recv_codec": s.video.as_ref().and_then(|v| v.recv_codec).map(|c| c.name()),
        "bandwidth_estimate_kbps": s.video.as_ref().and_then(|v| v.estimate_kbps),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::jingle::Reason;

    /// The JSON lines README documents, from typed events.
    #[test]
    fn events_have_the_documented_json_shape() {
        let call = to_json(&Event::Call {
            id: "c1".into(),
            peer: "bob@x".into(),
            direction: CallDirection::In,
            media: vec![Media::Audio, Media::Video],
            state: CallStatus::Ended,
            reason: Some(EndReason::Jingle(Reason::ConnectivityError)),
        });
        assert_eq!(
            call,
            json!({"event": "call", "id": "c1", "peer": "bob@x", "direction": "in",
                   "media": ["audio", "video"], "state": "ended",
                   "reason": "connectivity-error"})
        );
        let info = to_json(&Event::CallInfo {
            id: "c1".into(),
            info: CallInfo::VideoDeclined,
        });
        assert_eq!(
            info,
            json!({"event": "call_info", "id": "c1", "info": "video-declined"})
        );
        let typing = to_json(&Event::ChatState {
            from: "bob@x".into(),
            state: Typing::Composing,
        });
        assert_eq!(
            typing,
            json!({"event": "chat_state", "from": "bob@x", "state": "composing"})
        );
        // Stats carry their figures (the window's writer once printed none).
        let stats = to_json(&Event::CallStats {
            id: "c1".into(),
            stats: banter_media::CallStats {
                rtt_ms: Some(12.0),
                ..Default::default()
            },
        });
        assert_eq!(stats["event"], "stats");
        assert_eq!(stats["id"], "c1");
        assert_eq!(stats["rtt_ms"], 12.0);
        assert_eq!(
            to_json(&Event::ConnectionError {
                message: "m".into(),
                fatal: true
            }),
            json!({"event": "error", "message": "m", "fatal": true})
        );
        assert_eq!(
            to_json(&Event::AccountDeleted),
            json!({"event": "account_deleted"})
        );
        // The words of the text output are the JSON's.
        for i in [
            CallInfo::CameraOff,
            CallInfo::VideoDeclined,
            CallInfo::Unhold,
        ] {
            assert_eq!(serde_json::to_value(i).unwrap(), i.as_str());
        }
        for s in [CallStatus::Proposing, CallStatus::Ended] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}

/// How a sign-in went: the mechanism, and what of SASL2 (XEP-0388), Bind 2
/// (XEP-0386) and FAST (XEP-0484) the server and Banter used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignIn {
    pub mechanism: String,
    pub sasl2: bool,
    pub bind2: bool,
    /// A FAST token stood in for the password.
    pub fast: bool,
    /// The channel binding (`tls-exporter`), when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<&'static str>,
}
