//! What is done to chat messages after they are sent, both ways: corrections
//! (XEP-0308), replies (XEP-0461), retractions (XEP-0424), reactions (XEP-0444) and
//! displayed markers (XEP-0333). Only a message's sender may correct or retract it;
//! reactions and markers count only for a message of that conversation. Outgoing
//! ones are kept until the server confirms them and sent again after a lost session,
//! like messages.

use super::*;
use crate::store::{Corrected, Correction, MessageMeta, Sealing};
use crate::xmpp::{correct, markers, reactions, reply, retract};

/// Amends written but not yet confirmed by the server (at most this many are kept).
const MAX_UNCONFIRMED: usize = 256;

/// Whether a chat message goes end-to-end encrypted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Seal {
    Plain,
    /// Where OMEMO is on (and ready).
    IfOn,
    /// Only encrypted (a correction of an encrypted message): not sent otherwise.
    Must,
}

/// An amend on its way: sent again as it was after a lost session.
#[derive(Clone)]
enum Pending {
    Plain(Message),
    /// A correction or reply, encrypted anew when sent again.
    Chat {
        to: BareJid,
        body: String,
        extra: Vec<Element>,
        seal: Seal,
    },
}

/// Amends not yet confirmed, by id.
#[derive(Default)]
pub(super) struct Amends(Vec<(String, Pending)>);

impl Amends {
    fn keep(&mut self, id: &str, p: Pending) {
        if self.0.len() >= MAX_UNCONFIRMED {
            self.0.remove(0);
        }
        self.0.push((id.to_string(), p));
    }

    pub(super) fn has(&self, id: &str) -> bool {
        self.0.iter().any(|(i, _)| i == id)
    }

    /// To whom amend `id` went (for a bounce: only they, or a server, may say it failed).
    pub(super) fn peer_of(&self, id: &str) -> Option<BareJid> {
        self.0
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, p)| match p {
                Pending::Plain(m) => m.to.as_ref().map(|t| t.to_bare()),
                Pending::Chat { to, .. } => Some(to.clone()),
            })
    }

    /// Amend `id` bounced: it is not sent again.
    pub(super) fn bounced(&mut self, id: &str) -> bool {
        self.confirm(id)
    }

    fn confirm(&mut self, id: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(i, _)| i != id);
        self.0.len() != before
    }
}

impl State {
    /// A chat message: kept as pending, then sent — encrypted (OMEMO, when on and
    /// `may_encrypt`) or as it is — with `extra` elements beside the body (a
    /// correction's `<replace>`, a reply's `<reply>`).
    pub(super) fn send_chat(
        &mut self,
        id: String,
        to: BareJid,
        body: String,
        extra: Vec<Element>,
        seal: Seal,
        out: &mut Vec<Stanza>,
    ) {
        let mut msg = chat::outgoing(&to, &id, &body);
        msg.payloads.extend(extra.iter().cloned());
        let Some(mut stored) = history::to_stored(&msg, &self.own, None, None) else {
            return;
        };
        let encrypt = match seal {
            Seal::Plain => false,
            Seal::IfOn => self.omemo.is_on(),
            Seal::Must => true,
        };
        if let Some(of) = stored.meta.replaces.take() {
            // A correction changes our message in place; it is confirmed on its own.
            let account = self.own.to_string();
            let c = Corrected {
                peer: to.as_str(),
                direction: Direction::Out,
                of: &of,
                new_id: &id,
                body: &body,
            };
            match self.store.correct_message(&account, c, None) {
                Ok(Correction::Done(m)) => self.emit(Event::MessageCorrected { message: *m }),
                Ok(_) => {
                    return self.emit(Event::MessageFailed {
                        id,
                        error: format!("no message of ours with id {of} to {to} to correct"),
                    })
                }
                Err(e) => return self.store_err(e),
            }
            self.amends.keep(
                &id,
                Pending::Chat {
                    to: to.clone(),
                    body: body.clone(),
                    extra: extra.clone(),
                    seal,
                },
            );
            self.seal_and_send(&id, &to, &body, extra, seal, msg, out);
            return;
        }
        stored.state = MessageState::Pending;
        if encrypt {
            stored.encryption = Some("omemo".into());
        }
        if let Some(b) = &self.bound {
            stored.from = b.to_string();
        }
        match self.store.insert_message(self.own.as_str(), stored) {
            Ok(Some(m)) => self.emit(Event::Message { message: m }),
            Ok(None) => {}
            Err(e) => {
                self.emit(Event::MessageFailed {
                    id,
                    error: e.to_string(),
                });
                return;
            }
        }
        self.seal_and_send(&id, &to, &body, extra, seal, msg, out);
    }

    /// Sends `msg` (`body` with `extra`) sealed as `seal` says; a message that must
    /// be encrypted and cannot be is not sent (said).
    #[allow(clippy::too_many_arguments)]
    fn seal_and_send(
        &mut self,
        id: &str,
        to: &BareJid,
        body: &str,
        extra: Vec<Element>,
        seal: Seal,
        msg: Message,
        out: &mut Vec<Stanza>,
    ) {
        let encrypt = match seal {
            Seal::Plain => false,
            Seal::IfOn | Seal::Must => self.omemo.is_on(),
        };
        if encrypt && self.omemo_send(id, to, body, extra, seal == Seal::Must, out) {
            return;
        }
        if seal == Seal::Must {
            self.amends.confirm(id);
            return self.emit(Event::MessageFailed {
                id: id.to_string(),
                error: "the message was encrypted, so its correction must be: end-to-end encryption is not ready".into(),
            });
        }
        out.push(msg.into());
    }

    pub(super) fn correct(
        &mut self,
        id: String,
        to: BareJid,
        of: String,
        body: String,
        out: &mut Vec<Stanza>,
    ) {
        // Sealed as the message it corrects was.
        let original = self
            .store
            .chat_message(self.own.as_str(), to.as_str(), &of)
            .ok()
            .flatten()
            .filter(|m| m.direction == Direction::Out);
        let seal = match original.as_ref().map(|m| m.encryption.is_some()) {
            Some(true) => Seal::Must,
            _ => Seal::Plain,
        };
        self.send_chat(id, to, body, vec![correct::replace(&of)], seal, out);
    }

    /// A reply quotes the original (when we have it) for clients without replies.
    pub(super) fn reply(
        &mut self,
        id: String,
        to: BareJid,
        of: String,
        body: String,
        out: &mut Vec<Stanza>,
    ) {
        let original = self
            .store
            .chat_message(self.own.as_str(), to.as_str(), &of)
            .ok()
            .flatten();
        let (quoted, author) = match &original {
            Some(m) if !m.meta.retracted => {
                let author = BareJid::new(&m.from)
                    .or_else(|_| Jid::new(&m.from).map(|j| j.to_bare()))
                    .map(|j| j.to_string())
                    .ok();
                (m.body.clone(), author)
            }
            _ => (String::new(), None),
        };
        let (full, elements) = if quoted.is_empty() {
            (body, vec![reply::element(&of, author.as_deref())])
        } else {
            reply::compose(&of, author.as_deref(), &quoted, &body)
        };
        self.send_chat(id, to, full, elements, Seal::IfOn, out);
    }

    pub(super) fn retract(&mut self, id: String, to: BareJid, of: String, out: &mut Vec<Stanza>) {
        let account = self.own.to_string();
        match self
            .store
            .retract_message(&account, to.as_str(), Direction::Out, &of)
        {
            Ok(Some(_)) => self.emit(Event::MessageRetracted {
                peer: to.to_string(),
                id: of.clone(),
                from: account,
            }),
            Ok(None) => {
                return self.emit(Event::MessageFailed {
                    id,
                    error: format!("no message of ours with id {of} to {to} to retract"),
                })
            }
            Err(e) => return self.store_err(e),
        }
        self.send_amend(&id, retract::message(&to, &id, &of), out);
    }

    pub(super) fn react(
        &mut self,
        id: String,
        to: BareJid,
        of: String,
        set: Vec<String>,
        out: &mut Vec<Stanza>,
    ) {
        let account = self.own.to_string();
        // XEP-0444: a message is named by its origin-id, else its id.
        let of = match self.store.chat_message(&account, to.as_str(), &of) {
            Ok(Some(m)) => m.origin_id.unwrap_or(m.id),
            _ => of,
        };
        let msg = reactions::message(&to, &id, &of, &set);
        // What goes out is what a peer reads: bounded the same way.
        let set = reactions::read(&msg).map(|r| r.1).unwrap_or_default();
        match self
            .store
            .set_reactions(&account, to.as_str(), &of, &account, &set)
        {
            Ok(Some(of)) => self.emit(Event::Reactions {
                peer: to.to_string(),
                id: of,
                from: account,
                reactions: set,
            }),
            Ok(None) => {
                return self.emit(Event::MessageFailed {
                    id,
                    error: format!("no message with id {of} in the conversation with {to}"),
                })
            }
            Err(e) => return self.store_err(e),
        }
        self.send_amend(&id, msg, out);
    }

    /// Marks the conversation read: a displayed marker for its newest markable
    /// message from the peer, unless that one was marked already.
    pub(super) fn mark_read(&mut self, peer: &BareJid, out: &mut Vec<Stanza>) {
        let account = self.own.to_string();
        let key = format!("displayed:{peer}");
        let last = match self.store.last_markable(&account, peer.as_str()) {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(e) => return self.store_err(e),
        };
        if self
            .store
            .get_meta(&account, &key)
            .ok()
            .flatten()
            .as_deref()
            == Some(last.as_str())
        {
            return;
        }
        if let Err(e) = self.store.set_meta(&account, &key, &last) {
            return self.store_err(e);
        }
        out.push(markers::displayed(peer, &last).into());
    }

    /// Kept until confirmed; sent after any message to the same peer that still
    /// waits to be encrypted (a retraction must not arrive before its message).
    fn send_amend(&mut self, id: &str, m: Message, out: &mut Vec<Stanza>) {
        self.amends.keep(id, Pending::Plain(m.clone()));
        match m.to.as_ref().map(|t| t.to_bare()) {
            Some(to) => self.send_in_order(&to, m, out),
            None => out.push(m.into()),
        }
    }

    /// The server confirmed amend `id` (false: it is none of ours).
    pub(super) fn amend_confirmed(&mut self, id: &str) -> bool {
        if !self.amends.confirm(id) {
            return false;
        }
        self.emit(Event::MessageAcked { id: id.to_string() });
        true
    }

    /// After a lost session: what was not confirmed goes again.
    pub(super) fn resend_amends(&mut self, out: &mut Vec<Stanza>) {
        let pending = std::mem::take(&mut self.amends.0);
        for (id, p) in pending {
            self.amends.0.push((id.clone(), p.clone()));
            match p {
                Pending::Plain(m) => match m.to.as_ref().map(|t| t.to_bare()) {
                    Some(to) => self.send_in_order(&to, m, out),
                    None => out.push(m.into()),
                },
                Pending::Chat {
                    to,
                    body,
                    extra,
                    seal,
                } => {
                    let mut m = chat::outgoing(&to, &id, &body);
                    m.payloads.extend(extra.iter().cloned());
                    self.seal_and_send(&id, &to, &body, extra, seal, m, out);
                }
            }
        }
    }

    /// A retraction, reactions or a displayed marker in a 1:1 message (live, carbon
    /// or archive): applied. Whether it was one (then it is not a chat message).
    pub(super) fn on_amend(&mut self, m: &Message) -> bool {
        if matches!(m.type_, MessageType::Groupchat | MessageType::Error) {
            return false;
        }
        let retracts = retract::retracts(m);
        let reacts = reactions::read(m);
        let displayed = markers::displayed_of(m);
        if retracts.is_none() && reacts.is_none() && displayed.is_none() {
            return false;
        }
        let account = self.own.to_string();
        let from = m.from.as_ref().map(|f| f.to_bare());
        let outgoing = from.as_ref().is_none_or(|f| *f == self.own);
        let peer = if outgoing {
            m.to.as_ref().map(|t| t.to_bare())
        } else {
            from.clone()
        };
        let Some(peer) = peer else {
            return true;
        };
        let (direction, sender) = if outgoing {
            (Direction::Out, account.clone())
        } else {
            (Direction::In, peer.to_string())
        };
        if let Some(of) = retracts {
            // Only the sender's own messages: `direction` is the sender's side.
            match self
                .store
                .retract_message(&account, peer.as_str(), direction, &of)
            {
                Ok(Some(row)) => self.emit(Event::MessageRetracted {
                    peer: peer.to_string(),
                    id: row.id,
                    from: sender.clone(),
                }),
                Ok(None) => tracing::info!(%peer, %of, "retraction of no message of its sender"),
                Err(e) => self.store_err(e),
            }
        }
        if let Some((of, set)) = reacts {
            match self
                .store
                .set_reactions(&account, peer.as_str(), &of, &sender, &set)
            {
                Ok(Some(id)) => self.emit(Event::Reactions {
                    peer: peer.to_string(),
                    id,
                    from: sender.clone(),
                    reactions: set,
                }),
                Ok(None) => tracing::info!(%peer, %of, "reactions to an unknown message"),
                Err(e) => self.store_err(e),
            }
        }
        if let (Some(id), false) = (displayed, outgoing) {
            match self.store.mark_displayed(&account, peer.as_str(), &id) {
                Ok(ids) => {
                    if let Some(id) = ids.last() {
                        self.emit(Event::MessageDisplayed {
                            peer: peer.to_string(),
                            id: id.clone(),
                        })
                    }
                }
                Err(e) => self.store_err(e),
            }
        }
        true
    }

    /// A correction from the conversation's sender side, applied to what it
    /// corrects. `None`: applied (or a copy of one applied before); otherwise the
    /// message back, to be kept as a new one (it corrects nothing of its sender's:
    /// its text still belongs to its sender).
    pub(super) fn apply_correction(
        &mut self,
        stored: StoredMessage,
        of: &str,
    ) -> Option<StoredMessage> {
        let account = self.own.to_string();
        // A correction travels as its message did (a plain one cannot replace an
        // encrypted text), and the text shows our trust in the device that wrote it.
        let sealing = Sealing {
            encryption: stored.encryption.as_deref(),
            trust: stored.trust.as_deref(),
        };
        let c = Corrected {
            peer: &stored.peer,
            direction: stored.direction,
            of,
            new_id: &stored.id,
            body: &stored.body,
        };
        match self.store.correct_message(&account, c, Some(sealing)) {
            Ok(Correction::Done(m)) => {
                self.emit(Event::MessageCorrected { message: *m });
                None
            }
            Ok(Correction::Dropped) => None,
            Ok(Correction::NotFound) => {
                tracing::info!(peer = %stored.peer, %of, "a correction of no message of its sender's: kept as new");
                Some(as_new(stored))
            }
            Err(e) => {
                self.store_err(e);
                None
            }
        }
    }
}

/// A retraction, reactions or a displayed marker in a 1:1 message.
pub(super) fn is_amend(m: &Message) -> bool {
    !matches!(m.type_, MessageType::Groupchat | MessageType::Error)
        && (retract::retracts(m).is_some()
            || reactions::read(m).is_some()
            || markers::displayed_of(m).is_some())
}

/// A correction kept as a message of its own (it corrects nothing it may).
fn as_new(stored: StoredMessage) -> StoredMessage {
    StoredMessage {
        meta: MessageMeta {
            replaces: None,
            ..stored.meta
        },
        ..stored
    }
}
