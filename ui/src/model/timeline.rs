//! A conversation's timeline: messages (with what later messages did to them) and
//! calls, as the window shows them.

/// What later messages did to a message, and what it answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageExtras {
    /// Its sender corrected it (the body is the latest).
    pub edited: bool,
    /// Its sender retracted it: a tombstone.
    pub retracted: bool,
    /// The message it answers.
    pub reply: Option<ReplyPreview>,
    /// Reactions to it, one chip per emoji.
    pub reactions: Vec<ReactionChip>,
    /// The file it carries: its name and where it is (boxed: most messages have none).
    pub file: Option<Box<FileLink>>,
}

/// A file in a message (XEP-0066, or XEP-0454 encrypted): a card to fetch it, its
/// progress, then the picture (previewed) or the saved file to open.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileLink {
    pub name: String,
    pub url: String,
    pub mime: Option<String>,
    /// Its size, once known (its sender said, or fetched).
    pub size: Option<u64>,
    /// Its SHA-256 as its sender said: what is fetched must be that file.
    pub sha256: Option<String>,
    pub state: FileState,
    /// The picture, decoded small (off the UI thread) once fetched.
    pub picture: Option<super::VideoTexture>,
}

impl FileLink {
    /// A picture Banter previews inline.
    pub fn is_picture(&self) -> bool {
        matches!(
            self.mime.as_deref(),
            Some("image/jpeg" | "image/png" | "image/gif")
        )
    }
}

/// Where a file of a message is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum FileState {
    /// On the server only: nothing is fetched without a click (except pictures from
    /// contacts, previewed).
    #[default]
    Remote,
    Fetching {
        done: u64,
        total: Option<u64>,
    },
    /// On this machine, here.
    Saved(std::path::PathBuf),
    Failed(String),
}

/// A file of ours on its way to the server (its message follows once it is there).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Upload {
    /// The transfer's id (its message's id too).
    pub id: String,
    pub name: String,
    pub done: u64,
    pub total: Option<u64>,
    /// Why it stopped, shown until dismissed.
    pub failed: Option<String>,
}

/// The message a reply answers: its id (to jump to it) and a line of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyPreview {
    pub id: String,
    pub text: String,
}

/// One emoji on a message: who chose it, and whether we did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionChip {
    pub emoji: String,
    pub from: Vec<String>,
    pub mine: bool,
}

/// The emoji the reaction picker offers.
pub const QUICK_REACTIONS: [&str; 8] = ["👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "👎"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sending,
    Sent,
    Delivered,
    /// The recipient's client showed it (XEP-0333).
    Read,
    Received,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimelineItem {
    Message {
        id: String,
        /// The store's position (orders history pages); 0 when not stored yet.
        seq: i64,
        outgoing: bool,
        body: String,
        /// Milliseconds since the Unix epoch.
        ts_ms: i64,
        delivery: Delivery,
        /// Edited, retracted, a reply, reactions.
        extra: MessageExtras,
    },
    Call {
        /// The call's id (its Jingle sid), so the same call is shown once.
        id: String,
        outgoing: bool,
        answered: bool,
        duration_s: Option<u64>,
        ts_ms: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub items: Vec<TimelineItem>,
    pub draft: String,
    /// The peer is typing (XEP-0085).
    pub peer_typing: bool,
    /// We told the peer we are typing (and when we last typed, in egui seconds).
    pub composing_sent: bool,
    pub last_typed_s: f64,
    /// Older stored messages exist before the oldest one shown.
    pub more_history: bool,
    /// The store's position of the oldest message shown (for the next page).
    pub history_cursor: Option<i64>,
    /// The draft corrects our message with this id (↑ or "Edit").
    pub editing: Option<String>,
    /// The draft answers this message.
    pub replying: Option<ReplyPreview>,
    /// Scroll to this message on the next frame (a reply's quote was clicked).
    pub jump_to: Option<String>,
    /// The newest message from the peer we said was read.
    pub marked_read: Option<String>,
    /// Files of ours being sent.
    pub uploads: Vec<Upload>,
}

/// Live messages a conversation keeps in memory: beyond it the oldest go (they stay in
/// the store, a click away), so a flood costs neither memory nor frame time.
pub const MAX_LIVE_ITEMS: usize = 400;
/// What is left after trimming (trim in steps, not on every message).
pub const KEEP_AFTER_TRIM: usize = 300;

impl Conversation {
    /// Appends a message or call that happened now; trims the oldest beyond
    /// `MAX_LIVE_ITEMS` and points "Show earlier messages" at them.
    pub fn push_live(&mut self, item: TimelineItem) {
        self.items.push(item);
        if self.items.len() <= MAX_LIVE_ITEMS {
            return;
        }
        let cut = self.items.len() - KEEP_AFTER_TRIM;
        self.items.drain(..cut);
        // The next page is read from the store before the oldest message left.
        let first = self.items.iter().find_map(|i| match i {
            TimelineItem::Message { seq, .. } if *seq > 0 => Some(*seq),
            _ => None,
        });
        if let Some(seq) = first {
            self.history_cursor = Some(seq);
            self.more_history = true;
        }
    }
}
