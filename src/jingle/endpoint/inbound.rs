//! Calls as they reach us: JMI messages (also as carbons of our own) and Jingle
//! requests; who may ring, busy, the tie-break, and the checks done before parsing.

use super::run::{iq_error, iq_result, jingle_set};
use super::*;

impl Endpoint {
    /// Whether `m` is a JMI message, directly or as a carbon copy of one of ours.
    pub fn is_jmi(&self, m: &Message) -> bool {
        Jmi::from_message(m).is_some()
            || carbons::unwrap(m, &self.own)
                .is_some_and(|(_, inner, _)| Jmi::from_message(&inner).is_some())
    }

    /// A JMI message (XEP-0353), directly or as a carbon.
    pub fn handle_jmi(&mut self, m: &Message, now: Instant, dir: &dyn Directory) {
        let (m, carbon) = match carbons::unwrap(m, &self.own) {
            Some((kind, inner, _)) => (inner, Some(kind)),
            None => (m.clone(), None),
        };
        let Some(jmi) = Jmi::from_message(&m) else {
            return;
        };
        // What our other device sent to the caller (proceed, reject) also settles the
        // call here; its `from` is that device.
        let Some(from) = m.from.clone() else { return };
        let id = jmi.id().to_string();
        if id.is_empty() || id.len() > MAX_SID {
            return;
        }
        if self.calls.contains_key(&id) {
            // Our other device's proceed, seen as a carbon, is its accept.
            let jmi = match (carbon, jmi) {
                (Some(Carbon::Sent), Jmi::Proceed { id }) => Jmi::Accept { id },
                (_, j) => j,
            };
            self.input(&id, Input::Jmi { from, jmi }, now, dir);
            return;
        }
        let Jmi::Propose { id, media } = jmi else {
            return;
        };
        if self.ended.contains(&id) {
            tracing::debug!(%id, "a late copy of an ended call's proposal");
            return;
        }
        if !self.propose_limit.allow(&from.to_bare(), now) {
            tracing::info!(%from, "too many call proposals: ignored");
            return;
        }
        if carbon == Some(Carbon::Sent) || from.to_bare() == self.own {
            return; // a call we (another device) placed
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            return;
        };
        let peer = from_full.to_bare();
        if !dir.may_call(&peer) {
            tracing::info!(%from, "call from someone without a subscription: not ringing");
            return;
        }
        let Some(own) = self.bound.clone() else {
            return;
        };
        // Both called each other at the same moment: the proposal with the smaller id
        // wins on both sides; the other side's own proposal is withdrawn and the winning
        // call is taken at once (the user wanted this conversation anyway).
        let crossing: Option<String> = self
            .calls
            .iter()
            .find(|(_, c)| {
                c.call.peer == peer
                    && c.call.direction == CallDirection::Out
                    && matches!(c.call.state, CallState::Proposing | CallState::Ringing)
            })
            .map(|(k, _)| k.clone());
        if let Some(ours) = &crossing {
            if *ours < id {
                tracing::info!(%ours, theirs = %id, "simultaneous calls: ours wins");
                return;
            }
        }
        if !self.calls_enabled {
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::UnsupportedApplications),
            };
            self.send(reject.message(from).into());
            return;
        }
        if crossing.is_none() && self.busy_for(&peer) {
            tracing::info!(%from, "call while busy: rejected");
            self.busy(&id, &peer, now);
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::Busy),
            };
            self.send(reject.message(from).into());
            return;
        }
        let (call, outputs) = Call::proposed(id.clone(), from_full, own, media, self.ring_timeout);
        self.insert(id.clone(), call, now);
        self.run(&id, outputs, now, dir);
        if let Some(ours) = crossing {
            tracing::info!(%ours, theirs = %id, "simultaneous calls: theirs wins");
            self.input(&ours, Input::Hangup, now, dir);
            self.input(&id, Input::Accept, now, dir);
        }
    }

    /// A Jingle IQ set (XEP-0166); every one is answered.
    /// A Jingle request of call `sid`'s peer whose fingerprint failed its OMEMO
    /// check (dtls_verify.rs): acknowledged, and the call ends as a security error.
    /// False when it is no call's request (then it goes to `handle_jingle`).
    pub fn jingle_insecure(
        &mut self,
        from: &Jid,
        iq_id: String,
        sid: &str,
        now: Instant,
        dir: &dyn Directory,
    ) -> bool {
        if !self.is_call_peer(sid, from) {
            return false;
        }
        self.send(iq_result(Some(from.clone()), iq_id));
        self.input(sid, Input::Insecure, now, dir);
        true
    }

    pub fn handle_jingle(
        &mut self,
        from: Option<Jid>,
        iq_id: String,
        payload: &Element,
        now: Instant,
        dir: &dyn Directory,
    ) {
        let Some(from) = from else {
            self.send(iq_error(None, iq_id, DefinedCondition::BadRequest));
            return;
        };
        // Cheap checks first: a flood, or Jingle from someone with no business here,
        // costs no parsing (a description can be large).
        if !self.jingle_limit.allow(&from.to_bare(), now) {
            let e = iq_error(Some(from), iq_id, DefinedCondition::ResourceConstraint);
            self.send(e);
            return;
        }
        let sid = payload.attr("sid").unwrap_or_default();
        if sid.is_empty() || sid.len() > MAX_SID {
            self.send(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        }
        match self.calls.get(sid).map(|c| c.call.peer.clone()) {
            Some(peer) if peer == from.to_bare() => {
                let Some(jingle) = self.parse_or_refuse(&from, &iq_id, payload) else {
                    return;
                };
                self.send(iq_result(Some(from.clone()), iq_id));
                let sid = jingle.sid.clone();
                self.input(&sid, Input::Jingle { from, jingle }, now, dir);
                return;
            }
            // Someone else naming a live call's sid learns what any unknown sid gets.
            Some(_) => {
                self.send(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
                return;
            }
            None => {}
        }
        let ended = self.ended.iter().any(|e| e == sid);
        if ended || payload.attr("action") != Some(Action::SessionInitiate.as_str()) {
            // XEP-0166: unknown session (a late copy of an ended one's initiate too).
            self.send(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
            return;
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            self.send(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        };
        let peer = from_full.to_bare();
        // Someone who may not call us gets what a client without calls would say: no
        // ringing, no candidate, no call in the history.
        if !self.calls_enabled || !dir.may_call(&peer) {
            tracing::info!(%from, "direct call from someone who may not call: refused");
            let e = iq_error(Some(from), iq_id, DefinedCondition::ServiceUnavailable);
            self.send(e);
            return;
        }
        let Some(jingle) = self.parse_or_refuse(&from, &iq_id, payload) else {
            return;
        };
        self.send(iq_result(Some(from.clone()), iq_id));
        if self.busy_for(&peer) {
            tracing::info!(%from, "direct call while busy: rejected");
            self.busy(&jingle.sid, &peer, now);
            let mut terminate = Jingle::new(Action::SessionTerminate, &jingle.sid);
            terminate.reason = Some(Reason::Busy);
            let id = self.new_id();
            self.send(jingle_set(from, id, &terminate));
            return;
        }
        let Some(own) = self.bound.clone() else {
            return;
        };
        let sid = jingle.sid.clone();
        let (call, outputs) = Call::initiated(from_full, own, &jingle, self.ring_timeout);
        self.insert(sid.clone(), call, now);
        self.run(&sid, outputs, now, dir);
    }

    fn parse_or_refuse(&mut self, from: &Jid, iq_id: &str, payload: &Element) -> Option<Jingle> {
        match Jingle::parse(payload) {
            Ok(j) => Some(j),
            Err(e) => {
                tracing::info!(%from, error = %e, "malformed jingle");
                let e = iq_error(
                    Some(from.clone()),
                    iq_id.into(),
                    DefinedCondition::BadRequest,
                );
                self.send(e);
                None
            }
        }
    }

    /// Whether a new incoming call from `peer` is refused as busy: we are in a call
    /// (placing one, connecting or talking), that peer already rings here, or
    /// [`MAX_RINGING`] calls ring at once, or the user asked not to be disturbed. (A
    /// crossing call of our own to the same peer is the simultaneous-call case, decided
    /// before this.)
    fn busy_for(&self, peer: &BareJid) -> bool {
        if self.do_not_disturb {
            return true;
        }
        let live: Vec<&Call> = self
            .calls
            .values()
            .map(|c| &c.call)
            .filter(|c| !c.is_ended())
            .collect();
        live.len() >= MAX_RINGING
            || live.iter().any(|c| {
                c.peer == *peer || c.direction != CallDirection::In || c.state != CallState::Ringing
            })
    }

    /// A contact's call refused as busy is still a call they tried: in the history.
    fn busy(&mut self, id: &str, peer: &BareJid, now: Instant) {
        self.remember_ended(id);
        self.out.push_back(Event::Ended(Ended {
            id: id.to_string(),
            peer: peer.clone(),
            direction: CallDirection::In,
            started: now,
            talked: None,
            reason: EndReason::Jingle(Reason::Busy),
        }));
    }
}
