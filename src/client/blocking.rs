//! Blocking (XEP-0191) in the account: the server's blocklist read at sign-in and
//! kept in step with its pushes (another device of ours blocks too); block and
//! unblock on command. What a blocked JID sends never reaches the user: the server
//! drops it, and so does the client (a server without blocking, or a stanza that
//! slipped through), answering a blocked JID's questions as if nobody were here.

use super::*;
use crate::xmpp::blocking;

/// The blocked set as kept between runs (one JID a line), for a server that cannot
/// block and for the moments before its list arrives.
const BLOCKED_META: &str = "blocked";

impl State {
    /// The blocked JIDs kept from the last run.
    pub(super) fn blocked_from_store(&mut self) {
        let kept = self
            .store
            .get_meta(self.own.as_str(), BLOCKED_META)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.blocked = kept.lines().filter_map(|l| BareJid::new(l).ok()).collect();
    }

    pub(super) fn blocking_online(&mut self, out: &mut Vec<Stanza>) {
        self.iq(IqPurpose::Blocklist, blocking::get, out);
    }

    pub(super) fn block(&mut self, jid: BareJid, block: bool, out: &mut Vec<Stanza>) {
        let jids = [jid.clone()];
        self.iq(
            IqPurpose::Block { jid, block },
            |id| blocking::change(id, block, &jids),
            out,
        );
    }

    /// Whether this stanza's sender is blocked (never our own account or server).
    pub(super) fn is_blocked(&self, from: Option<&Jid>) -> bool {
        from.map(|f| f.to_bare())
            .is_some_and(|b| b != self.own && self.blocked.contains(&b))
    }

    /// Our server's answer to `blocking_online`: the list as it is.
    pub(super) fn on_blocklist(&mut self, payload: Option<&Element>) {
        match payload.and_then(blocking::read_list) {
            Some(list) => {
                self.blocked = list.into_iter().collect();
                self.blocked_changed();
            }
            // No list: the server cannot block; ours (kept) stays, enforced here.
            None => self.emit_blocklist(),
        }
    }

    /// Our block or unblock was answered: refused means the server cannot block
    /// (then it holds on this device only, said), or refused it for a reason.
    pub(super) fn on_block_answer(&mut self, jid: BareJid, block: bool, refused: Option<String>) {
        if let Some(why) = refused {
            self.emit(Event::Error {
                message: format!(
                    "the server did not {} {jid} ({why}): {} on this device only",
                    if block { "block" } else { "unblock" },
                    if block { "blocked" } else { "unblocked" },
                ),
            });
        }
        if block {
            self.blocked.insert(jid);
        } else {
            self.blocked.remove(&jid);
        }
        self.blocked_changed();
    }

    /// A push from our server (another device of ours changed the list). Whether it
    /// was one (answered then).
    pub(super) fn on_block_push(
        &mut self,
        from: &Option<Jid>,
        id: &str,
        payload: &Element,
        out: &mut Vec<Stanza>,
    ) -> bool {
        let Some((block, jids)) = blocking::read_push(payload) else {
            return false;
        };
        if !self.is_self_or_server(from.as_ref()) {
            out.push(iq_error(
                from.clone(),
                id.to_string(),
                DefinedCondition::Forbidden,
            ));
            return true;
        }
        match (block, jids) {
            (true, Some(jids)) => self.blocked.extend(jids),
            (false, Some(jids)) => {
                for j in jids {
                    self.blocked.remove(&j);
                }
            }
            (_, None) => self.blocked.clear(),
        }
        self.blocked_changed();
        out.push(iq_result(from.clone(), id.to_string(), None));
        true
    }

    fn blocked_changed(&mut self) {
        let text: Vec<&str> = self.blocked.iter().map(|j| j.as_str()).collect();
        if let Err(e) = self
            .store
            .set_meta(self.own.as_str(), BLOCKED_META, &text.join("\n"))
        {
            self.store_err(e);
        }
        self.emit_blocklist();
    }

    fn emit_blocklist(&self) {
        self.emit(Event::Blocklist {
            jids: self.blocked.iter().map(|j| j.to_string()).collect(),
        });
    }

    /// A stanza from a blocked JID: dropped; a question gets the answer of an
    /// account with nobody there. True when it was one.
    pub(super) fn drop_if_blocked(&mut self, stanza: &Stanza, out: &mut Vec<Stanza>) -> bool {
        let from = match stanza {
            Stanza::Message(m) => m.from.as_ref(),
            Stanza::Presence(p) => p.from.as_ref(),
            Stanza::Iq(Iq::Get { from, .. } | Iq::Set { from, .. }) => from.as_ref(),
            Stanza::Iq(_) => return false,
        };
        if !self.is_blocked(from) {
            return false;
        }
        tracing::info!(?from, "stanza from a blocked JID dropped");
        if let Stanza::Iq(Iq::Get { from, id, .. } | Iq::Set { from, id, .. }) = stanza {
            out.push(iq_error(
                from.clone(),
                id.clone(),
                DefinedCondition::ServiceUnavailable,
            ));
        }
        true
    }
}
