//! Bookmarked rooms (XEP-0402, else XEP-0048 in private storage): read at sign-in,
//! followed as the user's other clients change them, and joined where they say
//! autojoin (when `Config::autojoin`).

use crate::xmpp::bookmarks::{self, Bookmark};

use super::*;

impl State {
    /// A new session: read our bookmarks (rooms marked autojoin are joined).
    pub(in crate::client) fn bookmarks_online(&mut self, out: &mut Vec<Stanza>) {
        self.iq(IqPurpose::Room(RoomIq::Bookmarks), bookmarks::fetch, out);
    }

    pub(in crate::client) fn set_bookmark(&mut self, b: Bookmark, out: &mut Vec<Stanza>) {
        if BareJid::new(&b.room).is_err() {
            return self.emit(Event::Error {
                message: format!("cannot bookmark '{}': not a room address", b.room),
            });
        }
        let purpose = IqPurpose::Room(RoomIq::PublishBookmark(b.clone()));
        self.iq(purpose, |id| bookmarks::publish(id, &b), out);
    }

    pub(in crate::client) fn remove_bookmark(&mut self, room: BareJid, out: &mut Vec<Stanza>) {
        self.iq(
            IqPurpose::Room(RoomIq::RemoveBookmark(room.to_string())),
            |id| bookmarks::remove(id, &room),
            out,
        );
    }

    pub(super) fn on_bookmarks_iq(
        &mut self,
        q: RoomIq,
        answer: Result<Option<Element>, DefinedCondition>,
        out: &mut Vec<Stanza>,
    ) {
        match (q, answer) {
            (RoomIq::Bookmarks, Ok(p)) => {
                let list = p.as_ref().map(bookmarks::parse).unwrap_or_default();
                self.replace_bookmarks(list, out)
            }
            // No XEP-0402 node (or none at all): the older private storage.
            (RoomIq::Bookmarks, Err(_)) => {
                self.iq(
                    IqPurpose::Room(RoomIq::LegacyBookmarks),
                    bookmarks::fetch_legacy,
                    out,
                );
            }
            (RoomIq::LegacyBookmarks, answer) => {
                let list = answer
                    .ok()
                    .flatten()
                    .map(|q| bookmarks::parse_legacy(&q))
                    .unwrap_or_default();
                self.replace_bookmarks(list, out);
            }
            // Our own notification says so too; not every server sends it to us.
            (RoomIq::PublishBookmark(b), Ok(_)) => {
                self.bookmarks_changed(vec![b], vec![], true, out)
            }
            (RoomIq::RemoveBookmark(room), Ok(_)) => {
                self.bookmarks_changed(vec![], vec![room], true, out)
            }
            (RoomIq::PublishBookmark(b), Err(c)) => self.emit(Event::Error {
                message: format!("could not bookmark {}: the server refused ({c:?})", b.room),
            }),
            (RoomIq::RemoveBookmark(room), Err(c)) => self.emit(Event::Error {
                message: format!(
                    "could not remove the bookmark of {room}: the server refused ({c:?})"
                ),
            }),
            _ => {}
        }
    }

    fn replace_bookmarks(&mut self, list: Vec<Bookmark>, out: &mut Vec<Stanza>) {
        self.bookmarks = list.into_iter().map(|b| (b.room.clone(), b)).collect();
        let all: Vec<Bookmark> = self.bookmarks.values().cloned().collect();
        for b in &all {
            self.autojoin(b, out);
        }
        self.emit(Event::Bookmarks { bookmarks: all });
    }

    /// A notification of our bookmarks (from our own account only), if `m` is one.
    pub(in crate::client) fn on_bookmarks_event(
        &mut self,
        m: &Message,
        out: &mut Vec<Stanza>,
    ) -> bool {
        let Some((changed, removed)) = bookmarks::notification(m, &self.own) else {
            return false;
        };
        // Our own change comes back as a notification too: not another client's.
        let publishing: Vec<String> = self
            .pending_iqs
            .values()
            .filter_map(|(p, _)| match p {
                IqPurpose::Room(RoomIq::PublishBookmark(b)) => Some(b.room.clone()),
                IqPurpose::Room(RoomIq::RemoveBookmark(r)) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let theirs: Vec<Bookmark> = changed
            .into_iter()
            .filter(|b| !publishing.contains(&b.room))
            .collect();
        let removed: Vec<String> = removed
            .into_iter()
            .filter(|r| !publishing.contains(r))
            .collect();
        self.bookmarks_changed(theirs, removed, false, out);
        true
    }

    /// Bookmarks changed here or in another client: rooms newly marked autojoin
    /// are joined; a room whose bookmark stops saying autojoin, or goes, is left
    /// (XEP-0402: that is how another client says it left), but a change that
    /// keeps autojoin off leaves nothing.
    /// The list goes out when it changed, or (`ours`) when our own change was taken.
    fn bookmarks_changed(
        &mut self,
        changed: Vec<Bookmark>,
        removed: Vec<String>,
        ours: bool,
        out: &mut Vec<Stanza>,
    ) {
        let mut any = ours;
        for b in changed {
            if self.bookmarks.get(&b.room) == Some(&b) {
                continue;
            }
            any = true;
            let was_autojoin = self.bookmarks.get(&b.room).is_some_and(|o| o.autojoin);
            if b.autojoin {
                self.autojoin(&b, out);
            } else if let (Ok(room), true) = (BareJid::new(&b.room), was_autojoin && !ours) {
                if self.config.autojoin {
                    self.leave_room(&room, out);
                }
            }
            if self.bookmarks.len() < bookmarks::MAX_BOOKMARKS {
                self.bookmarks.insert(b.room.clone(), b);
            }
        }
        for room in removed {
            let Some(old) = self.bookmarks.remove(&room) else {
                continue;
            };
            any = true;
            if let (Ok(room), true) = (
                BareJid::new(&room),
                self.config.autojoin && old.autojoin && !ours,
            ) {
                self.leave_room(&room, out);
            }
        }
        if any {
            self.emit(Event::Bookmarks {
                bookmarks: self.bookmarks.values().cloned().collect(),
            });
        }
    }

    fn autojoin(&mut self, b: &Bookmark, out: &mut Vec<Stanza>) {
        let Ok(room) = BareJid::new(&b.room) else {
            return;
        };
        if !b.autojoin || !self.config.autojoin || self.rooms.contains_key(&room) {
            return;
        }
        let nick = b.nick.clone().unwrap_or_else(|| self.default_nick());
        self.join_room(room, nick, b.password.clone(), out);
    }
}
