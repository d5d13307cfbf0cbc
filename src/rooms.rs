//! A group chat room as we are in it (XEP-0045), without I/O: its occupants with
//! their roles, affiliations and presence, its subject, and whether we are in it.
//! Presences go in, what changed comes out. Group calls are to build on the same
//! occupants.

use std::collections::{BTreeMap, HashSet, VecDeque};

use xmpp_parsers::jid::BareJid;

use crate::xmpp::muc::admin::{RoomConfig, RoomInfo};
use crate::xmpp::muc::{nick_ok, UserInfo};

/// Occupants kept per room: a flood of presences costs no more.
pub const MAX_OCCUPANTS: usize = 5_000;
/// Messages remembered per room to know a copy again (the history a rejoin brings).
const SEEN_MESSAGES: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomState {
    /// Our join presence went; the room has not answered with ours yet.
    Joining,
    Joined,
    /// We left, were removed, or could not join.
    Out,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Occupant {
    pub nick: String,
    pub role: String,
    pub affiliation: String,
    /// The real JID, where the room shows it.
    pub jid: Option<String>,
    /// `available`, `away`, `chat`, `dnd`, `xa`.
    pub show: String,
}

/// What changed in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomUpdate {
    /// We are in (our own presence came back, status 110).
    Joined { nick: String },
    /// Our join created the room (status 201): it stays locked until its owner (we)
    /// accepts a configuration; an instant room takes the service's defaults.
    Created,
    /// An occupant came or changed.
    Occupant(Occupant),
    /// An occupant left (`reason`: kicked, banned, or a new nick).
    OccupantLeft {
        nick: String,
        reason: Option<String>,
    },
    /// We are out of the room, and why.
    Left { reason: String },
}

#[derive(Debug, Clone)]
pub struct Room {
    pub nick: String,
    pub password: Option<String>,
    pub state: RoomState,
    pub occupants: BTreeMap<String, Occupant>,
    pub subject: Option<String>,
    /// The newest message's time: a rejoin asks for the history since then.
    pub last_message_ms: Option<i64>,
    /// What the room's disco#info said of it (asked once we are in).
    pub info: Option<RoomInfo>,
    /// Set when we create the room: the configuration to give it on status 201.
    pub create: Option<RoomConfig>,
    /// Invitations waiting for the room's info (members-only rooms are invited to
    /// through the room, others directly).
    pub pending_invites: Vec<(BareJid, Option<String>)>,
    /// Whether anything came from the room since the last self-ping round.
    pub heard: bool,
    /// The room keeps an archive (XEP-0313): its messages are read from there.
    pub mam: bool,
    /// The archive query in flight, if any: its id, and whether it pages forward
    /// (catching up) rather than back.
    pub archive_query: Option<(String, bool)>,
    /// Archive pages read by the query in flight, and messages they brought.
    pub archive_pages: u32,
    pub archive_count: usize,
    /// The room's id of the newest message seen (live or archived), and its time:
    /// a rejoin reads the archive after it.
    pub newest_archive_id: Option<(i64, String)>,
    /// The room's id of the oldest message read from its archive: earlier pages
    /// are read before it.
    pub oldest_archive_id: Option<(i64, String)>,
    /// When we first got in (this time we joined by command): a rejoin that saw no
    /// message with an id reads the archive since then.
    pub in_since_ms: Option<i64>,
    /// A join that has not been answered by then is given up (set while our
    /// stream is up).
    pub join_deadline: Option<std::time::Instant>,
    /// Where this device's next earlier page of the room begins (None: no earlier
    /// one here; the room's archive is read instead).
    pub stored_cursor: Option<crate::store::RoomCursor>,
    /// Rows reserved for the page being read back from the archive (the next one,
    /// and how many are left): older, they go before what was kept earlier.
    pub back_rows: (i64, i64),
    /// The last row this device had kept of the room when we began joining it:
    /// later ones were shown as they came, and are not paged again.
    pub kept_upto: Option<i64>,
    /// Keys of the messages shown lately (the room's stanza-id, else nick and id).
    seen: VecDeque<String>,
    seen_set: HashSet<String>,
}

impl Room {
    pub fn new(nick: String, password: Option<String>) -> Room {
        Room {
            nick,
            password,
            state: RoomState::Joining,
            occupants: BTreeMap::new(),
            subject: None,
            last_message_ms: None,
            info: None,
            create: None,
            pending_invites: Vec::new(),
            heard: true,
            mam: false,
            archive_query: None,
            archive_pages: 0,
            archive_count: 0,
            newest_archive_id: None,
            oldest_archive_id: None,
            in_since_ms: None,
            join_deadline: None,
            stored_cursor: None,
            kept_upto: None,
            back_rows: (0, 0),
            seen: VecDeque::new(),
            seen_set: HashSet::new(),
        }
    }

    /// A message of the room with this key and time: whether it is new (not a copy
    /// the room's history brings again after a rejoin).
    pub fn fresh_message(&mut self, key: String, ts_ms: i64) -> bool {
        if self.seen_set.contains(&key) {
            return false;
        }
        if self.seen.len() >= SEEN_MESSAGES {
            if let Some(old) = self.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
        self.seen_set.insert(key.clone());
        self.seen.push_back(key);
        self.last_message_ms = Some(self.last_message_ms.map_or(ts_ms, |t| t.max(ts_ms)));
        true
    }

    /// A presence of occupant `nick` (`available` false: unavailable), what the room
    /// said of it, and its show.
    pub fn on_presence(
        &mut self,
        nick: &str,
        available: bool,
        show: &str,
        user: Option<UserInfo>,
    ) -> Vec<RoomUpdate> {
        let mut out = Vec::new();
        if !nick_ok(nick) {
            return out;
        }
        let user = user.unwrap_or_default();
        let ours =
            user.codes.contains(&110) || (nick == self.nick && self.state == RoomState::Joining);
        if !available && ours && self.state == RoomState::Joining && user.destroyed.is_none() {
            // What the room says to a leave we sent before this join: not about it.
            return out;
        }
        if !available {
            let reason = leave_reason(&user);
            if self.occupants.remove(nick).is_some() && !ours {
                out.push(RoomUpdate::OccupantLeft {
                    nick: nick.to_string(),
                    reason: reason.clone(),
                });
            }
            if ours {
                match (user.codes.contains(&303), user.nick) {
                    // Our nick changed: the room sends us in again under the new one.
                    (true, Some(new)) => self.nick = new,
                    _ => {
                        self.state = RoomState::Out;
                        self.occupants.clear();
                        out.push(RoomUpdate::Left {
                            reason: reason.unwrap_or_else(|| "left".into()),
                        });
                    }
                }
            }
            return out;
        }
        if !self.occupants.contains_key(nick) && self.occupants.len() >= MAX_OCCUPANTS {
            return out;
        }
        let occupant = Occupant {
            nick: nick.to_string(),
            role: user.role.clone(),
            affiliation: user.affiliation.clone(),
            jid: user.jid.clone(),
            show: show.to_string(),
        };
        let changed = self.occupants.get(nick) != Some(&occupant);
        self.occupants.insert(nick.to_string(), occupant.clone());
        if changed {
            out.push(RoomUpdate::Occupant(occupant));
        }
        if ours {
            self.nick = nick.to_string();
            if self.state != RoomState::Joined {
                // Only the presence that lets us in can say our join made the room.
                if user.codes.contains(&201) {
                    out.push(RoomUpdate::Created);
                }
                self.state = RoomState::Joined;
                out.push(RoomUpdate::Joined {
                    nick: nick.to_string(),
                });
            }
        }
        out
    }

    /// The room refused us (an error presence): out, for the reason given.
    pub fn refused(&mut self, reason: String) -> Vec<RoomUpdate> {
        self.state = RoomState::Out;
        self.occupants.clear();
        vec![RoomUpdate::Left { reason }]
    }

    /// Our connection is new (not resumed): the room forgot us; we join again.
    pub fn rejoining(&mut self) {
        self.state = RoomState::Joining;
        self.occupants.clear();
    }

    /// The row for the next message of a page read back (0: none reserved, the next
    /// row after all).
    pub fn next_back_row(&mut self) -> i64 {
        let (next, left) = self.back_rows;
        if left <= 0 {
            return 0;
        }
        self.back_rows = (next + 1, left - 1);
        next
    }

    /// A page read back from the room's archive began with `id`: the oldest now.
    pub fn read_back_to(&mut self, id: String) {
        let ts = self
            .oldest_archive_id
            .as_ref()
            .map_or(i64::MIN, |(t, _)| *t);
        self.oldest_archive_id = Some((ts, id));
    }

    /// A message the room's archive knows as `id` (its stanza-id), at `ts_ms`.
    /// Times compare to the second (archives stamp no finer; a live message is timed
    /// on arrival): within one second, what came later is newer. A page read back
    /// says its oldest itself (`read_back_to`).
    pub fn saw_archive_id(&mut self, id: &str, ts_ms: i64) {
        let second = |t: i64| t.div_euclid(1000);
        if self
            .newest_archive_id
            .as_ref()
            .is_none_or(|(t, _)| second(ts_ms) >= second(*t))
        {
            self.newest_archive_id = Some((ts_ms, id.to_string()));
        }
        if self
            .oldest_archive_id
            .as_ref()
            .is_none_or(|(t, _)| second(ts_ms) < second(*t))
        {
            self.oldest_archive_id = Some((ts_ms, id.to_string()));
        }
    }

    /// The bare real JID of occupant `nick`, where the room shows it.
    pub fn real_jid_of(&self, nick: &str) -> Option<String> {
        let jid = self.occupants.get(nick)?.jid.as_deref()?;
        xmpp_parsers::jid::Jid::new(jid)
            .ok()
            .map(|j| j.to_bare().to_string())
    }
}

fn leave_reason(user: &UserInfo) -> Option<String> {
    let why = |what: &str| match &user.reason {
        Some(r) if !r.trim().is_empty() => format!("{what}: {r}"),
        _ => what.to_string(),
    };
    if let Some(d) = &user.destroyed {
        Some(match d.trim().is_empty() {
            true => "the room was destroyed".into(),
            false => format!("the room was destroyed: {d}"),
        })
    } else if user.codes.contains(&307) {
        Some(why("kicked"))
    } else if user.codes.contains(&301) {
        Some(why("banned"))
    } else if user.codes.contains(&303) {
        Some("changed nick".into())
    } else if user.codes.iter().any(|c| matches!(c, 321 | 322)) {
        Some("removed (no longer a member)".into())
    } else if user.codes.contains(&332) {
        Some("the room's service shut down".into())
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn user(role: &str, codes: &[u16]) -> Option<UserInfo> {
        Some(UserInfo {
            affiliation: "member".into(),
            role: role.into(),
            codes: codes.to_vec(),
            ..Default::default()
        })
    }

    #[test]
    fn joining_occupants_and_leaving() {
        let mut r = Room::new("alice".into(), None);
        // Others first, then our own presence: joined.
        let out = r.on_presence("bob", true, "available", user("participant", &[]));
        assert!(matches!(&out[..], [RoomUpdate::Occupant(o)] if o.nick == "bob"));
        assert_eq!(r.state, RoomState::Joining);
        let out = r.on_presence("alice", true, "available", user("participant", &[110]));
        assert!(out.contains(&RoomUpdate::Joined {
            nick: "alice".into()
        }));
        assert_eq!(r.state, RoomState::Joined);
        // The same presence again changes nothing.
        assert!(r
            .on_presence("bob", true, "available", user("participant", &[]))
            .is_empty());
        let out = r.on_presence("bob", true, "away", user("participant", &[]));
        assert!(matches!(&out[..], [RoomUpdate::Occupant(o)] if o.show == "away"));
        let out = r.on_presence("bob", false, "available", user("none", &[307]));
        assert_eq!(
            out,
            [RoomUpdate::OccupantLeft {
                nick: "bob".into(),
                reason: Some("kicked".into())
            }]
        );
        let out = r.on_presence("alice", false, "available", user("none", &[110, 301]));
        assert_eq!(
            out,
            [RoomUpdate::Left {
                reason: "banned".into()
            }]
        );
        assert!(r.occupants.is_empty());
    }

    #[test]
    fn the_history_a_rejoin_brings_again_is_not_shown_twice() {
        let mut r = Room::new("alice".into(), None);
        assert!(r.fresh_message("sid-1".into(), 1_000));
        assert!(r.fresh_message("sid-2".into(), 2_000));
        r.rejoining();
        assert_eq!(r.last_message_ms, Some(2_000), "the rejoin asks since then");
        assert!(!r.fresh_message("sid-2".into(), 2_000));
        assert!(r.fresh_message("sid-3".into(), 3_000));
        for i in 0..SEEN_MESSAGES + 10 {
            r.fresh_message(format!("n{i}"), 4_000);
        }
        assert!(r.seen.len() <= SEEN_MESSAGES && r.seen_set.len() <= SEEN_MESSAGES);
    }

    #[test]
    fn archive_ids_are_ordered_to_the_second_then_as_they_came() {
        let mut r = Room::new("alice".into(), None);
        // Live, timed to the millisecond; then the archive's next, stamped to the
        // second only (earlier by the clock): it is the newest all the same.
        r.saw_archive_id("live", 7_900);
        r.saw_archive_id("next", 7_000);
        assert_eq!(
            r.newest_archive_id.as_ref().map(|x| x.1.as_str()),
            Some("next")
        );
        assert_eq!(
            r.oldest_archive_id.as_ref().map(|x| x.1.as_str()),
            Some("live")
        );
        r.saw_archive_id("older", 6_000);
        assert_eq!(
            r.oldest_archive_id.as_ref().map(|x| x.1.as_str()),
            Some("older")
        );
        r.read_back_to("first of a page".into());
        assert_eq!(r.oldest_archive_id, Some((6_000, "first of a page".into())));
    }

    #[test]
    fn the_answer_to_an_earlier_leave_does_not_end_a_new_join() {
        // Left and joined again at once: the room's answer to the leave comes
        // while the new join waits; a room cannot say 201 after we are in.
        let mut r = Room::new("alice".into(), None);
        assert!(r
            .on_presence("alice", false, "available", user("none", &[110]))
            .is_empty());
        assert_eq!(r.state, RoomState::Joining);
        let out = r.on_presence("alice", true, "available", user("participant", &[110]));
        assert!(out.contains(&RoomUpdate::Joined {
            nick: "alice".into()
        }));
        let out = r.on_presence("alice", true, "away", user("participant", &[110, 201]));
        assert!(!out.contains(&RoomUpdate::Created), "{out:?}");
    }

    #[test]
    fn a_nick_change_of_ours_keeps_us_in() {
        let mut r = Room::new("alice".into(), None);
        r.on_presence("alice", true, "available", user("participant", &[110]));
        let mut u = user("participant", &[110, 303]).unwrap();
        u.nick = Some("alicia".into());
        assert!(r
            .on_presence("alice", false, "available", Some(u))
            .is_empty());
        assert_eq!(r.nick, "alicia");
        assert_eq!(r.state, RoomState::Joined);
    }

    #[test]
    fn a_flood_of_occupants_is_capped_and_bad_nicks_are_dropped() {
        let mut r = Room::new("alice".into(), None);
        for i in 0..MAX_OCCUPANTS + 100 {
            r.on_presence(&format!("n{i}"), true, "available", None);
        }
        assert_eq!(r.occupants.len(), MAX_OCCUPANTS);
        assert!(r
            .on_presence("bad\u{7}", true, "available", None)
            .is_empty());
        assert!(r.on_presence("", true, "available", None).is_empty());
    }
}
