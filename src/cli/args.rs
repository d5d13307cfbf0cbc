//! The command line as clap reads it: options and subcommands.

use super::*;

#[derive(Parser, Debug)]
#[command(
    name = "banter",
    version,
    about = "Voice and video calls and chat over XMPP"
)]
pub struct Cli {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub media: MediaArgs,
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Open the window on a private local server with an echo contact (no account
    /// needed; as the first-run button "Try it locally")
    #[arg(long)]
    pub try_locally: bool,
    /// Open the window creating the account given by --jid and its password on its
    /// server (XEP-0077), then signed in (as the first screen's "Create an account")
    #[arg(long)]
    pub create_account: bool,
    /// Start in the tray, the window not shown (as at login); without a tray the
    /// window shows
    #[arg(long)]
    pub hidden: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// The account, e.g. alice@example.org
    #[arg(long, global = true)]
    pub jid: Option<String>,
    /// File holding the password (or set BANTER_PASSWORD)
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
    /// Connect to [tls:]HOST:PORT instead of looking up DNS SRV records (`tls:` for a
    /// direct-TLS port; without it, STARTTLS and then direct TLS are tried)
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// Also trust this CA certificate, or exactly this server certificate (PEM)
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// Settings and history directory
    #[arg(long, global = true)]
    pub config_dir: Option<PathBuf>,
    /// Resource to request (default: chosen by the server)
    #[arg(long, global = true)]
    pub resource: Option<String>,
    /// Print events as JSON lines
    #[arg(long, global = true)]
    pub json: bool,
    /// End-to-end encryption is on by default (OMEMO 2 and 0.3): chats with contacts
    /// who publish OMEMO devices are encrypted, theirs decrypted, calls carry their
    /// media fingerprint encrypted (a new device is trusted blindly until you verify
    /// one: `banter omemo trust`). This flag is kept for scripts that ask for it.
    #[arg(long, global = true, hide = true)]
    pub omemo: bool,
    /// Turn end-to-end encryption off for this run (nothing is encrypted or
    /// decrypted; this device publishes no OMEMO keys)
    #[arg(long, global = true, conflicts_with = "omemo")]
    pub no_omemo: bool,
}

/// Media options of the headless commands.
#[derive(Args, Debug, Clone)]
pub struct MediaArgs {
    /// What is sent: mic[:NAME], FILE.wav, tone:HZ or silence
    #[arg(long, global = true, default_value = "mic")]
    pub audio_in: String,
    /// Where received audio goes: speaker[:NAME], FILE.wav or null
    #[arg(long, global = true, default_value = "speaker")]
    pub audio_out: String,
    /// all, or relay (only TURN candidates: hides the local address)
    #[arg(long, global = true, default_value = "all")]
    pub ice_policy: String,
    /// Gather and accept ICE candidates only in this range (repeatable), e.g. 127.0.0.0/8
    #[arg(long, global = true)]
    pub ice_allow: Vec<String>,
    /// Turn off echo cancellation, noise suppression and gain control
    #[arg(long, global = true)]
    pub no_audio_processing: bool,
    /// What video is sent when the call has video: camera[:NAME], pattern,
    /// slow-pattern:MS (opened after MS ms, as a slow camera), echo or none
    #[arg(long, global = true, default_value = "camera")]
    pub video_in: String,
    /// Where received video goes: FILE.y4m (every picture, YUV4MPEG2) or null
    #[arg(long, global = true, default_value = "null")]
    pub video_out: String,
}

impl MediaArgs {
    /// The media configuration these options describe.
    pub fn config(&self) -> Result<banter_media::MediaConfig, CliError> {
        use banter_media::audio::sink::SinkSpec;
        use banter_media::audio::source::SourceSpec;
        let mut cfg = banter_media::MediaConfig::new(
            SourceSpec::parse(&self.audio_in)?,
            SinkSpec::parse(&self.audio_out)?,
        );
        cfg.relay_only = match self.ice_policy.as_str() {
            "all" => false,
            "relay" => true,
            other => {
                return Err(CliError(format!(
                    "invalid --ice-policy '{other}': use all or relay"
                )))
            }
        };
        cfg.allow = self
            .ice_allow
            .iter()
            .map(|c| banter_media::Cidr::parse(c))
            .collect::<Result<_, _>>()?;
        if self.no_audio_processing {
            cfg.processing = banter_media::audio::echo::Processing::off();
        }
        cfg.video_in = banter_media::video::VideoSourceSpec::parse(&self.video_in)?;
        cfg.video_out = banter_media::video::VideoSinkSpec::parse(&self.video_out);
        Ok(cfg)
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Loop your microphone through the whole call pipeline to your speaker and measure
    /// the latency (no account needed)
    SoundTest {
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// Send your camera through the whole video path of a call (VP8, RTP, decoding) and
    /// measure what comes out (no account needed); --video-out FILE.y4m keeps it
    CameraTest {
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// List audio inputs and outputs (and cameras)
    Devices,
    /// Check what calls get from this network with the account's STUN/TURN services
    /// (XEP-0215): STUN, the relay over UDP, TCP and TLS, the NAT; says what will and
    /// will not work
    NetCheck {
        /// Print the public address the servers saw (hidden by default: it locates you)
        #[arg(long)]
        show_addresses: bool,
    },
    /// Send one chat message; exits 0 once the server acknowledged it
    Send {
        /// Recipient (bare JID)
        to: String,
        #[arg(long, required_unless_present = "file")]
        body: Option<String>,
        /// Send this file instead (XEP-0363 upload through your server; encrypted
        /// where messages are); prints its progress, exits 0 once its message is sent
        #[arg(long, value_name = "PATH", conflicts_with_all = ["body", "correct", "reply_to"])]
        file: Option<PathBuf>,
        /// Send it unencrypted even where OMEMO would encrypt it (an explicit choice)
        #[arg(long)]
        plaintext: bool,
        /// Correct our message with this id instead (XEP-0308): its text becomes --body
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        correct: Option<String>,
        /// Answer the message with this id (XEP-0461), quoting it
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        reply_to: Option<String>,
    },
    /// Fetch a file a contact sent (its URL from `listen --json` or `history --json`;
    /// `aesgcm://` ones are decrypted and checked) into your downloads folder or
    /// --dir; prints its progress, then where it was saved and its SHA-256. Needs no
    /// sign-in (only --ca-file for a private server)
    Download {
        url: String,
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Save it only if it is this file (the `sha256` its sender gave, as `listen
        /// --json` prints it in `file`)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// React to a message with emoji (XEP-0444): the whole set, replacing ours
    /// before; none removes our reactions. Exits 0 once the server acknowledged it
    React {
        /// The conversation (bare JID)
        peer: String,
        /// The message's id (as `listen --json` or `history --json` print it)
        // Server-made ids can begin with "-".
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// The emoji, e.g. 👍 ❤️
        reactions: Vec<String>,
    },
    /// Block a JID (XEP-0191): none of their messages, calls or requests reach you
    /// and you seem offline to them. Without a JID: list whom you block
    Block {
        /// Whom (bare JID)
        contact: Option<String>,
    },
    /// Set your picture (XEP-0084) from a PNG or JPEG file: cropped to a square, at
    /// most 192 px, published to your contacts. Exits 0 once the server has it
    Avatar {
        /// The picture file
        file: PathBuf,
    },
    /// Unblock a JID
    Unblock {
        /// Whom (bare JID)
        contact: String,
    },
    /// Retract a message we sent (XEP-0424): a tombstone for everyone. Exits 0 once
    /// the server acknowledged it
    Retract {
        /// The conversation (bare JID)
        peer: String,
        /// Our message's id
        // Server-made ids can begin with "-".
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Stay online and print events (messages, presence, subscription requests)
    Listen {
        /// Stop after this many seconds
        #[arg(long)]
        duration: Option<f64>,
        /// Accept every subscription request (for bots and tests)
        #[arg(long)]
        accept_subscriptions: bool,
        /// Presence to announce: available, away, dnd, xa, chat
        #[arg(long, default_value = "available")]
        show: String,
        #[arg(long)]
        status: Option<String>,
    },
    /// Call someone: a bare JID rings all their devices; a full JID gets a direct
    /// session-initiate. Exits 0 when the call was answered and ended normally.
    Call {
        /// Who to call
        to: String,
        /// Hang up after this many seconds of active call (default: when the peer does)
        #[arg(long)]
        duration: Option<f64>,
        /// A video call (camera from --video-in)
        #[arg(long)]
        video: bool,
        /// Turn the camera on this many seconds into an audio call (adds video)
        #[arg(long)]
        add_video_after: Option<f64>,
        #[command(flatten)]
        share: ShareArgs,
        /// Write the call report (signaling, pairs, quality; no addresses) to FILE
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Wait for calls and accept them (default only from contacts)
    Answer {
        /// Accept calls only from this JID (repeatable)
        #[arg(long)]
        from: Vec<String>,
        /// Hang up after this many seconds of active call
        #[arg(long)]
        duration: Option<f64>,
        /// Exit after this many calls have ended
        #[arg(long)]
        calls: Option<u32>,
        /// Answer with the camera on (--video-in)
        #[arg(long)]
        video: bool,
        #[command(flatten)]
        share: ShareArgs,
        /// Write each call's report (signaling, pairs, quality; no addresses) to FILE
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Print the local history with a contact (works offline)
    History {
        /// The contact (bare JID)
        peer: String,
        /// How many of the newest messages
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Create the account, save or forget its password in the OS keyring, change its
    /// password, or delete it from the server
    Account {
        #[arg(value_enum)]
        verb: AccountVerb,
        /// The new password, for `password` (a file holding it; or BANTER_NEW_PASSWORD)
        #[arg(long)]
        new_password_file: Option<PathBuf>,
        /// Confirms `delete`: the account and what the server keeps of it are gone
        #[arg(long)]
        yes: bool,
    },
    /// Group chat rooms (XEP-0045): join one and stay printing its events, send to
    /// it, create, invite, moderate, list a service's rooms, bookmark
    Room {
        #[arg(value_enum)]
        verb: RoomVerb,
        /// The room, e.g. team@rooms.example.org (list: the MUC service; bookmarks:
        /// none)
        room: Option<String>,
        #[command(flatten)]
        opts: RoomOptions,
    },
    /// OMEMO devices and their fingerprints (this device's and contacts'), and
    /// trusting or refusing one after comparing its fingerprint (works offline)
    Omemo {
        #[arg(value_enum)]
        verb: OmemoVerb,
        /// Whose devices (for devices: default all known; for trust/untrust: needed).
        /// Not named `jid`: that would shadow --jid.
        contact: Option<String>,
        /// The device's fingerprint (trust, untrust), as `devices` shows it
        fingerprint: Option<String>,
    },
    /// Manage the roster: add, remove or rename a contact
    Contact {
        /// add, remove, rename or list
        #[arg(value_enum)]
        verb: ContactVerb,
        /// The contact (for all but list). Not named `jid`: that would shadow --jid.
        contact: Option<String>,
        /// Its name (add, rename)
        #[arg(long)]
        name: Option<String>,
    },
}

/// What `banter account` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AccountVerb {
    /// Create the account on its server (XEP-0077 in-band registration) with the
    /// password from --password-file/BANTER_PASSWORD, then sign in once
    Register,
    /// Sign in with --password-file/BANTER_PASSWORD, then store the password
    Save,
    /// Remove the stored password
    Forget,
    /// Change the password on the server (XEP-0077) to the one in --new-password-file
    /// (or BANTER_NEW_PASSWORD); a password stored in the keyring is updated too
    Password,
    /// Delete the account on the server (XEP-0077); needs --yes. Its stored password is
    /// forgotten; the history on this device is kept
    Delete,
}

/// The options of `banter room`.
#[derive(clap::Args, Debug)]
pub struct RoomOptions {
    /// Whom: the JID to invite; the nick (or JID) to kick, ban, voice, mute,
    /// make member/admin/owner, or revoke. For react and retract: the message's
    /// id (the room's, as `stanza_id` in events)
    // Server-made ids can begin with "-".
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    /// Your nickname in the room (default: your account's name)
    #[arg(long)]
    pub nick: Option<String>,
    /// The room's password (join; create: protect the room with it)
    #[arg(long)]
    pub password: Option<String>,
    /// The message to send (send); the subject (subject)
    #[arg(long)]
    pub body: Option<String>,
    /// Send privately to this occupant's nick (send)
    #[arg(long)]
    pub to: Option<String>,
    /// Correct our message with this id instead (send; XEP-0308): its text becomes
    /// --body
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub correct: Option<String>,
    /// Answer the message with this id (send; the room's id, as `stanza_id` in
    /// events; XEP-0461), quoting it
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub reply_to: Option<String>,
    /// Send this file (send; XEP-0363 upload through your server)
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// An emoji of our reactions (react; repeat it for more, none takes ours back)
    #[arg(long = "emoji", value_name = "EMOJI")]
    pub reactions: Vec<String>,
    /// Why (invite, kick, ban, destroy)
    #[arg(long)]
    pub reason: Option<String>,
    /// The room's name (create, bookmark); list: only rooms whose name or address
    /// holds it
    #[arg(long)]
    pub name: Option<String>,
    /// Only members may join; real JIDs shown to all (create)
    #[arg(long)]
    pub members_only: bool,
    /// The room stays when the last occupant leaves (create)
    #[arg(long)]
    pub persistent: bool,
    /// Listed in the service's directory (create)
    #[arg(long)]
    pub public: bool,
    /// Join the bookmarked room at sign-in, here and in your other clients
    /// (bookmark)
    #[arg(long)]
    pub autojoin: bool,
    /// Leave after this many seconds (join; default: when stopped)
    #[arg(long)]
    pub duration: Option<f64>,
    /// Print what this device kept of the room, without signing in (history)
    #[arg(long)]
    pub offline: bool,
    /// How many of the newest kept messages (history --offline)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// What `banter room` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomVerb {
    /// Join and stay, printing the room's events
    Join,
    /// Join, send one message (--body; --to NICK: privately; --correct ID, --reply-to
    /// ID, --file PATH), and leave once the room has it
    Send,
    /// React to a message (its id; --emoji, repeated: our whole set), once the room
    /// has it (XEP-0444)
    React,
    /// Retract our message (its id), once the room has it (XEP-0424)
    Retract,
    /// Create the room configured as asked, then leave (a --persistent room stays)
    Create,
    /// Set the room's subject (--body), once the room has it
    Subject,
    /// Invite a JID (through the room when it is members-only, else directly)
    Invite,
    /// Kick an occupant (by nick)
    Kick,
    /// Ban a user (nick or JID)
    Ban,
    /// Let an occupant speak in a moderated room
    Voice,
    /// Stop an occupant speaking
    Mute,
    /// Make a user a member
    Member,
    /// Make a user an admin
    Admin,
    /// Make a user an owner
    Owner,
    /// Take a user's affiliation away
    Revoke,
    /// Destroy the room (owners)
    Destroy,
    /// List a MUC service's public rooms
    List,
    /// Bookmark the room (--autojoin, --name, --nick)
    Bookmark,
    /// Remove the room's bookmark
    Unbookmark,
    /// List the bookmarked rooms
    Bookmarks,
    /// Join, print the room's messages kept on this device and those it missed
    /// (from the room's archive where it keeps one), and leave; --offline: print
    /// what this device kept without signing in
    History,
}

/// What `banter omemo` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OmemoVerb {
    /// List devices with fingerprints and trust
    Devices,
    /// Mark a device verified (after comparing its fingerprint)
    Trust,
    /// Refuse a device: nothing is encrypted to it
    Untrust,
}

/// What `banter contact` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ContactVerb {
    Add,
    Remove,
    Rename,
    List,
}

/// A roster change asked for on the command line.
#[derive(Debug)]
pub enum ContactAction {
    /// Add a contact and ask for its presence
    Add { jid: String, name: Option<String> },
    /// Remove a contact (and the subscriptions both ways)
    Remove { jid: String },
    /// Rename a contact
    Rename { jid: String, name: String },
    /// Print the roster
    List,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Prosody's stanza-ids and other server-made ids can begin with "-": they are
    /// ids, not options (a CI run hit one: `room react ROOM -ALAq… --emoji 🚀`).
    #[test]
    fn ids_that_begin_with_a_hyphen_are_ids() {
        let room =
            Cli::try_parse_from(["banter", "room", "react", "r@x", "-ALAq", "--emoji", "🚀"])
                .expect("parsed");
        let Some(Cmd::Room { opts, .. }) = room.command else {
            panic!("not a room command")
        };
        assert_eq!(opts.target.as_deref(), Some("-ALAq"));
        let fix =
            Cli::try_parse_from(["banter", "send", "b@x", "--correct", "-x1", "--body", "hi"])
                .expect("parsed");
        assert!(matches!(fix.command, Some(Cmd::Send { correct: Some(c), .. }) if c == "-x1"));
        let gone =
            Cli::try_parse_from(["banter", "retract", "b@x", "-x1", "--json"]).expect("parsed");
        assert!(gone.account.json);
        assert!(matches!(gone.command, Some(Cmd::Retract { id, .. }) if id == "-x1"));
    }
}

/// Screen sharing in `call` and `answer`.
#[derive(Args, Debug, Clone)]
pub struct ShareArgs {
    /// Share the screen as the call's video: on X11 the primary monitor, another
    /// (monitor:N, from 0) or a window by title (window:NAME); on Wayland (or with
    /// `portal`) what the desktop's own dialog picks. `call`: from the start, or from
    /// --share-screen-after; `answer`: in each call, once it is connected
    #[arg(long, value_name = "SOURCE", num_args = 0..=1, default_missing_value = "monitor")]
    pub share_screen: Option<String>,
    /// Start sharing this many seconds into the call (adds video to an audio call)
    #[arg(long, value_name = "SECS", requires = "share_screen")]
    pub share_screen_after: Option<f64>,
    /// Stop sharing this many seconds into the call (back to the camera if it was on)
    #[arg(long, value_name = "SECS", requires = "share_screen")]
    pub stop_sharing_after: Option<f64>,
}
