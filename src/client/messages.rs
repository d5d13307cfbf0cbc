//! Chat messages: live, carbons and archive, stored once and confirmed; receipts and
//! errors believed only from the recipient; floods left in the archive for later.

use super::*;

/// What decryption says of a message, for its history entry.
#[derive(Default)]
struct Readable {
    encryption: Option<String>,
    trust: Option<String>,
}

impl State {
    pub(super) fn record(&mut self, stored: StoredMessage) {
        let account = self.own.to_string();
        let stanza_id = stored.stanza_id.clone();
        // Live messages move the catch-up point forward, but only once the archive
        // has been read up to now, and not while messages over a sender's rate wait
        // in the archive: otherwise a gap could be skipped. Done before the
        // event goes out, so whoever sees the message sees the position moved too.
        if let (false, false, Some(sid)) = (self.catching_up, self.archive_gap, stanza_id) {
            if let Err(e) = self.store.set_meta(&account, MAM_LAST, &sid) {
                self.store_err(e);
            }
        }
        // A correction changes what it corrects (a new entry only if it corrects
        // nothing of its sender's).
        let stored = match stored.meta.replaces.clone() {
            Some(of) => match self.apply_correction(stored, &of) {
                Some(s) => s,
                None => return,
            },
            None => stored,
        };
        match self.store.insert_message(&account, stored) {
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

    /// An OMEMO message made readable in place: its body replaced by what it
    /// carried, or by a placeholder when it could not be decrypted (said). `None`:
    /// nothing to keep (a key-transport message, a replay); otherwise its encryption
    /// and our trust in its sender.
    fn readable(&mut self, m: &mut Message, out: &mut Vec<Stanza>) -> Option<Readable> {
        if !self.config.omemo {
            return Some(Readable::default());
        }
        let sender = m
            .from
            .as_ref()
            .map(|f| f.to_bare())
            .unwrap_or_else(|| self.own.clone());
        match self.omemo_incoming(m, &sender, out) {
            omemo::Incoming::Plain => Some(Readable::default()),
            omemo::Incoming::Body(b, trust) => {
                m.bodies.clear();
                m.bodies.insert(xmpp_parsers::message::Lang::new(), b);
                Some(Readable {
                    encryption: Some("omemo".into()),
                    trust: Some(trust.as_str().into()),
                })
            }
            omemo::Incoming::Nothing => None,
            omemo::Incoming::Unreadable => {
                m.bodies.clear();
                m.bodies
                    .insert(xmpp_parsers::message::Lang::new(), omemo::UNREADABLE.into());
                Some(Readable {
                    encryption: Some("omemo-unreadable".into()),
                    trust: None,
                })
            }
        }
    }

    pub(super) fn on_message(&mut self, m: Message, out: &mut Vec<Stanza>) {
        if let Some((archive_id, mut inner, ts)) =
            mam::unwrap_result(&m, &self.own, &self.mam_queryid)
        {
            if self.is_blocked(inner.from.as_ref()) || self.on_amend(&inner) {
                return;
            }
            let Some(encryption) = self.readable(&mut inner, out) else {
                return;
            };
            if let Some(mut stored) = history::to_stored(&inner, &self.own, Some(archive_id), ts) {
                stored.encryption = encryption.encryption;
                stored.trust = encryption.trust;
                self.record(stored);
            }
            return;
        }
        if let Some((kind, mut inner, ts)) = carbons::unwrap(&m, &self.own) {
            // A blocked JID's message to another device of ours (a server that
            // cannot block, or a block on this device only): not here either.
            if kind == carbons::Carbon::Received && self.is_blocked(inner.from.as_ref()) {
                return;
            }
            if let Some(id) = receipts::received_id(&inner) {
                if kind == carbons::Carbon::Received {
                    self.on_receipt(&id);
                }
            }
            if self.on_amend(&inner) {
                return;
            }
            let Some(encryption) = self.readable(&mut inner, out) else {
                return;
            };
            if let Some(mut stored) = history::to_stored(&inner, &self.own, None, ts) {
                stored.encryption = encryption.encryption;
                stored.trust = encryption.trust;
                self.record(stored);
            }
            return;
        }
        if let Some((owner, ids, version)) = crate::xmpp::omemo::device_list_event(&m) {
            if self.config.omemo {
                self.omemo_list_changed(owner, ids, version, out);
            }
            return;
        }
        if self.on_bookmarks_event(&m, out) || self.on_avatar_event(&m, out) {
            return;
        }
        if m.type_ != MessageType::Error && self.on_invitation(&m) {
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
                self.amends.bounced(&id.0);
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
        if amend::is_amend(&m) {
            // Amends cost store writes: a contact's count against its message rate
            // (over it, they wait in the archive like messages).
            let from = m.from.as_ref().map(|f| f.to_bare());
            if let Some(f) = from.filter(|f| *f != self.own) {
                if !self.within_message_rate(f.as_str()) {
                    return;
                }
            }
            self.on_amend(&m);
            return;
        }
        let wants_receipt = receipts::requested(&m);
        let mut m = m;
        let Some(encryption) = self.readable(&mut m, out) else {
            return;
        };
        if let Some(mut stored) = history::to_stored(&m, &self.own, None, None) {
            stored.encryption = encryption.encryption;
            stored.trust = encryption.trust;
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

    /// Live messages from one sender beyond 50 a second (500 at once) are not handled
    /// as they come: they wait in our server's archive and are read from there a few
    /// seconds later, at the archive's pace. A flood costs bounded work per second and
    /// loses nothing (on a server without an archive the excess is lost; said).
    pub(super) fn within_message_rate(&mut self, peer: &str) -> bool {
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
    pub(super) fn caught_up_after_gap(&mut self) {
        if std::mem::take(&mut self.refetch_after_catch_up) {
            self.archive_gap_fetch = Some(std::time::Instant::now() + ARCHIVE_GAP_WAIT);
        } else {
            self.archive_gap = false;
        }
    }

    /// Time to read what a flood left in the archive.
    pub(super) fn on_archive_timer(&mut self, out: &mut Vec<Stanza>) {
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
    pub(super) fn may_speak_for(&self, id: &str, from: &Jid) -> bool {
        let peer = match self.store.outgoing_peer(self.own.as_str(), id) {
            Ok(Some(peer)) => peer,
            // A correction, reaction or retraction of ours (not kept as a message).
            _ => match self.amends.peer_of(id) {
                Some(peer) => peer.to_string(),
                None => return false,
            },
        };
        let bare = from.to_bare();
        let domain = from.domain().as_str();
        bare.as_str() == peer
            || (from.node().is_none()
                && (domain == self.own.domain().as_str()
                    || BareJid::new(&peer).is_ok_and(|p| p.domain().as_str() == domain)))
    }

    pub(super) fn on_receipt(&mut self, id: &str) {
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
}
