//! Group chat rooms as the window shows them: the rooms beside the contacts (with
//! unread and mention counts), one room's lines, subject and occupants, invitations,
//! and the join form. Filled by the binary from the client's room events.

use std::collections::VecDeque;

/// Lines a room keeps in memory: a busy room costs no more memory or frame time.
pub const MAX_ROOM_LINES: usize = 500;
/// Invitations listed at once (more, from many senders, wait until some are answered).
pub const MAX_INVITATIONS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RoomLineKind {
    #[default]
    Message,
    /// A private message (`outgoing`: ours to `nick`).
    Private { outgoing: bool },
    /// Something that happened (joined, left, kicked, subject …).
    Notice,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomLine {
    pub nick: String,
    pub body: String,
    pub ts_ms: i64,
    pub kind: RoomLineKind,
    /// Ours (as the room sent it back).
    pub own: bool,
    /// It names us.
    pub mention: bool,
    /// Its sender's id (what a correction names).
    pub id: String,
    /// The room's id (what retractions, reactions and replies name).
    pub stanza_id: Option<String>,
    /// Edited, retracted, what it answers, reactions, its file.
    pub extra: super::MessageExtras,
}

impl RoomLine {
    /// What the room's amends name this line by: the room's id, else its sender's.
    pub fn reference(&self) -> &str {
        self.stanza_id.as_deref().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccupantRow {
    pub nick: String,
    pub role: String,
    pub affiliation: String,
    pub jid: Option<String>,
    pub show: String,
}

impl OccupantRow {
    /// Moderators first, then participants, then visitors.
    fn rank(&self) -> u8 {
        match self.role.as_str() {
            "moderator" => 0,
            "participant" => 1,
            _ => 2,
        }
    }

    fn key(&self) -> (u8, String) {
        (self.rank(), self.nick.to_lowercase())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomView {
    pub jid: String,
    /// The room's own name (its disco#info), else the bookmark's.
    pub name: Option<String>,
    /// Our nick in it.
    pub nick: String,
    pub joined: bool,
    /// Why we are out of it, when we did not leave.
    pub left_reason: Option<String>,
    /// The last join failed because our nickname is taken there (the view offers
    /// another).
    pub nick_taken: bool,
    pub subject: Option<String>,
    /// Sorted as listed: by role, then nick.
    pub occupants: Vec<OccupantRow>,
    pub lines: VecDeque<RoomLine>,
    pub unread: u32,
    pub mentions: u32,
    pub bookmarked: bool,
    pub autojoin: bool,
    /// Mentions here are not announced.
    pub muted: bool,
    pub draft: String,
    /// The contact address typed to invite.
    pub invite: String,
    /// The occupant list is shown.
    pub show_occupants: bool,
    /// The room's archive has earlier messages than those shown.
    pub more_history: bool,
    /// The subject being edited (None: not editing).
    pub subject_draft: Option<String>,
    /// The owner asked to destroy the room: awaiting the confirmation.
    pub confirm_destroy: bool,
    /// The draft corrects our message with this id (↑ or "Edit").
    pub editing: Option<String>,
    /// The draft answers this message (by the room's id).
    pub replying: Option<super::ReplyPreview>,
    /// Scroll to this line on the next frame (a reply's quote was clicked).
    pub jump_to: Option<String>,
    /// Files of ours being sent here.
    pub uploads: Vec<super::Upload>,
    /// The ids of files we sent here this session: their pictures are shown without
    /// a click (a line's nick alone does not make it ours: nicks are reused).
    pub sent_files: Vec<String>,
}

impl RoomView {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.jid)
    }

    /// An occupant came or changed.
    pub fn upsert_occupant(&mut self, o: OccupantRow) {
        self.remove_occupant(&o.nick);
        let at = self
            .occupants
            .binary_search_by(|x| x.key().cmp(&o.key()))
            .unwrap_or_else(|i| i);
        self.occupants.insert(at, o);
    }

    pub fn remove_occupant(&mut self, nick: &str) {
        if let Some(i) = self.occupants.iter().position(|x| x.nick == nick) {
            self.occupants.remove(i);
        }
    }

    pub fn push_line(&mut self, line: RoomLine) {
        if self.lines.len() >= MAX_ROOM_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// A line from the room's history, put in its place by time (history read on
    /// rejoining can come after live lines; earlier pages go before everything).
    /// Times compare to the second: archives stamp no finer, and within a second
    /// what came later goes after. When full, an older line makes room by
    /// dropping the newest.
    pub fn insert_line(&mut self, line: RoomLine) {
        let second = |ts: i64| ts.div_euclid(1000);
        let mut at = self
            .lines
            .iter()
            .rposition(|l| second(l.ts_ms) <= second(line.ts_ms))
            .map_or(0, |i| i + 1);
        if self.lines.len() >= MAX_ROOM_LINES {
            if at == 0 {
                self.lines.pop_back();
            } else {
                self.lines.pop_front();
                at -= 1;
            }
        }
        let at = at.min(self.lines.len());
        self.lines.insert(at, line);
    }

    /// The message line the room's amends name `reference` (its id, else its
    /// sender's).
    pub fn line_mut(&mut self, reference: &str) -> Option<&mut RoomLine> {
        self.lines
            .iter_mut()
            .rev()
            .find(|l| l.kind == RoomLineKind::Message && l.reference() == reference)
    }

    /// Our own occupant row, once the room listed us.
    pub fn me(&self) -> Option<&OccupantRow> {
        self.occupants.iter().find(|o| o.nick == self.nick)
    }

    /// Whether `body` names our nick (as a word, any case).
    pub fn mentions_us(&self, body: &str) -> bool {
        mentions(&self.nick, body)
    }
}

/// Whether `body` has `nick` as a word of its own (any case): "alice:", "@alice",
/// "hi alice!" do, "malice" does not.
pub fn mentions(nick: &str, body: &str) -> bool {
    if nick.trim().is_empty() {
        return false;
    }
    let (nick, body) = (nick.to_lowercase(), body.to_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    body.match_indices(&nick).any(|(i, m)| {
        let before = body.get(..i).and_then(|s| s.chars().next_back());
        let after = body.get(i + m.len()..).and_then(|s| s.chars().next());
        !word(before) && !word(after)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub room: String,
    pub from: String,
    pub reason: Option<String>,
    pub password: Option<String>,
    /// Through the room: declining tells the inviter.
    pub mediated: bool,
}

/// What the rooms dialog shows: join one by address, create one, or browse a
/// service's directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RoomDialogTab {
    #[default]
    Join,
    Create,
    Browse,
}

/// A room a service lists (its directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    pub jid: String,
    pub name: Option<String>,
}

/// The rooms dialog: join by address, create configured, or browse a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinForm {
    pub open: bool,
    pub tab: RoomDialogTab,
    pub room: String,
    pub nick: String,
    pub password: String,
    /// Create: the room's name and settings.
    pub name: String,
    pub members_only: bool,
    pub persistent: bool,
    pub public: bool,
    /// Browse: the MUC service, the text the list is narrowed to, what the service
    /// listed (None: not asked yet) and whether its answer is awaited.
    pub service: String,
    pub filter: String,
    pub directory: Option<Vec<DirectoryRow>>,
    pub listing: bool,
}

impl JoinForm {
    /// The listed rooms whose name or address holds the filter (any case).
    pub fn matching(&self) -> Vec<&DirectoryRow> {
        let f = self.filter.trim().to_lowercase();
        self.directory
            .iter()
            .flatten()
            .filter(|r| {
                f.is_empty()
                    || r.jid.to_lowercase().contains(&f)
                    || r.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(&f))
            })
            .collect()
    }
}

impl super::Model {
    pub fn room(&self, jid: &str) -> Option<&RoomView> {
        self.rooms.iter().find(|r| r.jid == jid)
    }

    /// The view of room `jid`, listed (in address order) if it was not.
    pub fn room_mut(&mut self, jid: &str) -> &mut RoomView {
        let at = match self.rooms.binary_search_by(|r| r.jid.as_str().cmp(jid)) {
            Ok(i) => i,
            Err(i) => {
                self.rooms.insert(
                    i,
                    RoomView {
                        jid: jid.to_string(),
                        ..Default::default()
                    },
                );
                i
            }
        };
        // `at` is in range: found above, or the row just inserted there.
        #[allow(clippy::indexing_slicing)]
        &mut self.rooms[at]
    }

    /// A line for room `jid`: counted as unread (and as a mention when it names
    /// us) unless the room is on screen or the line is history. True when it is a
    /// mention to announce.
    pub fn room_line(&mut self, jid: &str, mut line: RoomLine, history: bool) -> bool {
        let on_screen = self.selected_room.as_deref() == Some(jid);
        let r = self.room_mut(jid);
        line.own = line.own || (line.nick == r.nick && line.kind == RoomLineKind::Message);
        line.mention = !line.own && line.kind != RoomLineKind::Notice && r.mentions_us(&line.body);
        let private_in = line.kind == (RoomLineKind::Private { outgoing: false });
        let count = !history && !line.own && line.kind != RoomLineKind::Notice && !on_screen;
        let announce =
            !history && !on_screen && !r.muted && (line.mention || private_in) && !line.own;
        if count {
            r.unread = r.unread.saturating_add(1);
            if line.mention || private_in {
                r.mentions = r.mentions.saturating_add(1);
            }
        }
        if history {
            r.insert_line(line);
        } else {
            r.push_line(line);
        }
        announce
    }

    /// Mentions waiting in all rooms (the Rooms tab's count).
    pub fn room_mentions(&self) -> u32 {
        self.rooms.iter().map(|r| r.mentions).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_our_nick_as_a_word() {
        assert!(mentions("alice", "alice: look"));
        assert!(mentions("alice", "hi @Alice!"));
        assert!(mentions("Bob Smith", "thanks bob smith"));
        assert!(!mentions("alice", "malice aforethought"));
        assert!(!mentions("al", "also"));
        assert!(!mentions("", "anything"));
    }

    #[test]
    fn the_directory_is_narrowed_by_name_or_address() {
        let row = |jid: &str, name: Option<&str>| DirectoryRow {
            jid: jid.into(),
            name: name.map(str::to_string),
        };
        let mut f = JoinForm {
            directory: Some(vec![
                row("team@muc.x", Some("The Team")),
                row("rust@muc.x", Some("Rustaceans")),
                row("misc@muc.x", None),
            ]),
            ..Default::default()
        };
        assert_eq!(f.matching().len(), 3);
        f.filter = "RUST".into();
        let jids: Vec<&str> = f.matching().iter().map(|r| r.jid.as_str()).collect();
        assert_eq!(jids, ["rust@muc.x"]);
        f.filter = "team".into();
        assert_eq!(f.matching().len(), 1);
        f.filter = "misc@".into();
        assert_eq!(f.matching().len(), 1);
        f.filter = "nothing".into();
        assert!(f.matching().is_empty());
    }

    #[test]
    fn occupants_are_listed_by_role_then_nick() {
        let mut r = RoomView::default();
        let o = |nick: &str, role: &str| OccupantRow {
            nick: nick.into(),
            role: role.into(),
            affiliation: "none".into(),
            jid: None,
            show: "available".into(),
        };
        r.upsert_occupant(o("zed", "participant"));
        r.upsert_occupant(o("amy", "participant"));
        r.upsert_occupant(o("mod", "moderator"));
        r.upsert_occupant(o("vic", "visitor"));
        r.upsert_occupant(o("amy", "moderator"));
        let nicks: Vec<&str> = r.occupants.iter().map(|o| o.nick.as_str()).collect();
        assert_eq!(nicks, ["amy", "mod", "zed", "vic"]);
        r.remove_occupant("mod");
        assert_eq!(r.occupants.len(), 3);
    }

    #[test]
    fn unread_and_mentions_count_what_is_not_on_screen() {
        let mut m = super::super::Model::default();
        m.room_mut("r@x").nick = "alice".into();
        let line = |nick: &str, body: &str| RoomLine {
            nick: nick.into(),
            body: body.into(),
            ts_ms: 0,
            kind: RoomLineKind::Message,
            own: false,
            mention: false,
            ..Default::default()
        };
        assert!(!m.room_line("r@x", line("bob", "hello"), false));
        assert!(m.room_line("r@x", line("bob", "alice, look"), false));
        assert!(
            !m.room_line("r@x", line("alice", "alice here"), false),
            "our own"
        );
        assert!(
            !m.room_line("r@x", line("bob", "alice, old"), true),
            "history"
        );
        let r = m.room("r@x").unwrap();
        assert_eq!((r.unread, r.mentions), (2, 1));
        assert!(r.lines.get(2).is_some_and(|l| l.own));
        m.room_mut("r@x").muted = true;
        assert!(!m.room_line("r@x", line("bob", "alice?"), false), "muted");
        m.selected_room = Some("r@x".into());
        m.room_line("r@x", line("bob", "seen"), false);
        assert_eq!(m.room("r@x").unwrap().unread, 3);
        for _ in 0..MAX_ROOM_LINES + 10 {
            m.room_line("r@x", line("bob", "flood"), false);
        }
        // History goes in its place by time.
        let mut old = line("bob", "from the archive");
        old.ts_ms = -5_000;
        m.room_line("r@x", old, true);
        assert_eq!(
            m.room("r@x")
                .unwrap()
                .lines
                .front()
                .map(|l| l.body.as_str()),
            Some("from the archive")
        );
        assert_eq!(m.room("r@x").unwrap().lines.len(), MAX_ROOM_LINES);
        assert_eq!(m.room_mentions(), 2);
    }
}
