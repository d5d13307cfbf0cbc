//! Calls as they reach us: the peer's JMI messages (also as carbons of our own), its
//! Jingle requests and its answers to ours; who may ring, busy, and the checks done
//! before anything is parsed.

use super::*;

impl State {
    /// An answer to one of our Jingle requests: its id, from the call's peer (anyone
    /// else's "answer" is not one).
    pub(in crate::client) fn is_call_iq(&self, id: &str, from: Option<&Jid>) -> bool {
        let Some(from) = from.map(Jid::to_bare) else {
            return false;
        };
        self.calls
            .values()
            .any(|c| c.call.peer == from && c.iq_ids.iter().any(|(i, _)| i == id))
    }

    pub(in crate::client) async fn on_call_iq_answer(
        &mut self,
        stanza: Stanza,
        out: &mut Vec<Stanza>,
    ) {
        let Stanza::Iq(iq) = stanza else { return };
        let (id, failed, from) = match &iq {
            Iq::Result { id, from, .. } => (id.clone(), false, from.clone()),
            Iq::Error { id, from, .. } => (id.clone(), true, from.clone()),
            _ => return,
        };
        let Some(from) = from.map(|f| f.to_bare()) else {
            return;
        };
        let Some((call_id, action)) = self.calls.iter_mut().find_map(|(k, c)| {
            if c.call.peer != from {
                return None;
            }
            let pos = c.iq_ids.iter().position(|(i, _)| *i == id)?;
            Some((k.clone(), c.iq_ids.remove(pos).1))
        }) else {
            return;
        };
        if failed {
            tracing::info!(call = %call_id, action = action.as_str(), "the peer refused a jingle request");
            self.call_input(&call_id, Input::JingleRefused(action), out)
                .await;
        }
    }

    /// A JMI message, directly or as a carbon copy of one sent to our bare JID.
    pub(in crate::client) fn is_jmi(&self, m: &Message) -> bool {
        Jmi::from_message(m).is_some()
            || carbons::unwrap(m, &self.own)
                .is_some_and(|(_, inner, _)| Jmi::from_message(&inner).is_some())
    }

    pub(in crate::client) async fn on_jmi_message(&mut self, m: Message, out: &mut Vec<Stanza>) {
        let (m, carbon) = match carbons::unwrap(&m, &self.own) {
            Some((kind, inner, _)) => (inner, Some(kind)),
            None => (m, None),
        };
        let Some(jmi) = Jmi::from_message(&m) else {
            return;
        };
        // What our other device sent to the caller (proceed, reject) also settles the call
        // here; its `from` is that device.
        let Some(from) = m.from.clone() else { return };
        let id = jmi.id().to_string();
        if id.is_empty() || id.len() > MAX_SID {
            return;
        }
        if self.calls.contains_key(&id) {
            let jmi = match (carbon, jmi) {
                (Some(carbons::Carbon::Sent), Jmi::Proceed { id }) => Jmi::Accept { id },
                (_, j) => j,
            };
            self.call_input(&id, Input::Jmi { from, jmi }, out).await;
            return;
        }
        let Jmi::Propose { id, media } = jmi else {
            return;
        };
        if !self
            .propose_limit
            .allow(&from.to_bare(), std::time::Instant::now())
        {
            tracing::info!(%from, "too many call proposals: ignored");
            return;
        }
        if carbon == Some(carbons::Carbon::Sent) || from.to_bare() == self.own {
            return; // a call we (another device) placed
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            return;
        };
        if !self.may_call(&from_full.to_bare()) {
            tracing::info!(%from, "call from someone without a subscription: not ringing");
            return;
        }
        let Some(own) = self.own_full() else { return };
        // Both called each other at the same moment: the proposal with the smaller id
        // wins on both sides; the other side's own proposal is withdrawn and the winning
        // call is taken at once (the user wanted this conversation anyway).
        let crossing: Option<String> = self
            .calls
            .iter()
            .find(|(_, c)| {
                c.call.peer == from_full.to_bare()
                    && c.call.direction == crate::jingle::session::CallDirection::Out
                    && matches!(c.call.state, CallState::Proposing | CallState::Ringing)
            })
            .map(|(k, _)| k.clone());
        if let Some(ours) = &crossing {
            if *ours < id {
                tracing::info!(%ours, theirs = %id, "simultaneous calls: ours wins");
                return;
            }
        }
        if self.config.media.is_none() {
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::UnsupportedApplications),
            };
            out.push(reject.message(from).into());
            return;
        }
        if crossing.is_none() && self.busy_for(&from_full.to_bare()) {
            tracing::info!(%from, "call while busy: rejected");
            self.record_busy(&id, &from_full.to_bare());
            let reject = Jmi::Reject {
                id,
                reason: Some(Reason::Busy),
            };
            out.push(reject.message(from).into());
            return;
        }
        let (call, outputs) =
            Call::proposed(id.clone(), from_full, own, media, self.config.ring_timeout);
        self.insert_call(id.clone(), call);
        self.run_outputs(&id, outputs, out).await;
        if let Some(ours) = crossing {
            tracing::info!(%ours, theirs = %id, "simultaneous calls: theirs wins");
            self.call_input(&ours, Input::Hangup, out).await;
            self.call_input(&id, Input::Accept, out).await;
        }
    }

    pub(in crate::client) async fn on_jingle_iq(
        &mut self,
        from: Option<Jid>,
        iq_id: String,
        payload: Element,
        out: &mut Vec<Stanza>,
    ) {
        let Some(from) = from else {
            out.push(iq_error(None, iq_id, DefinedCondition::BadRequest));
            return;
        };
        // Cheap checks first: a flood, or Jingle from someone with no business here,
        // costs no parsing (a description can be large).
        if !self
            .jingle_limit
            .allow(&from.to_bare(), std::time::Instant::now())
        {
            out.push(iq_error(
                Some(from),
                iq_id,
                DefinedCondition::ResourceConstraint,
            ));
            return;
        }
        let sid = payload.attr("sid").unwrap_or_default();
        if sid.is_empty() || sid.len() > MAX_SID {
            out.push(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        }
        let ours = self.calls.get(sid).map(|c| c.call.peer.clone());
        match ours {
            Some(peer) if peer == from.to_bare() => {
                let jingle = match Jingle::parse(&payload) {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::info!(%from, error = %e, "malformed jingle");
                        out.push(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
                        return;
                    }
                };
                out.push(iq_result(Some(from.clone()), iq_id, None));
                let sid = jingle.sid.clone();
                self.call_input(&sid, Input::Jingle { from, jingle }, out)
                    .await;
                return;
            }
            // Someone else naming a live call's sid learns what any unknown sid gets.
            Some(_) => {
                out.push(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
                return;
            }
            None => {}
        }
        if payload.attr("action") != Some(Action::SessionInitiate.as_str()) {
            // XEP-0166: unknown session.
            out.push(iq_error(Some(from), iq_id, DefinedCondition::ItemNotFound));
            return;
        }
        let Ok(from_full) = from.clone().try_into_full() else {
            out.push(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
            return;
        };
        let peer = from_full.to_bare();
        // Someone who may not call us gets what a client without calls would say: no
        // ringing, no candidate, no call in the history.
        if !self.may_call(&peer) || self.config.media.is_none() {
            tracing::info!(%from, "direct call from someone who may not call: refused");
            out.push(iq_error(
                Some(from),
                iq_id,
                DefinedCondition::ServiceUnavailable,
            ));
            return;
        }
        let jingle = match Jingle::parse(&payload) {
            Ok(j) => j,
            Err(e) => {
                tracing::info!(%from, error = %e, "malformed jingle");
                out.push(iq_error(Some(from), iq_id, DefinedCondition::BadRequest));
                return;
            }
        };
        let ack =
            |out: &mut Vec<Stanza>, to: Jid| out.push(iq_result(Some(to), iq_id.clone(), None));
        ack(out, from.clone());
        if self.busy_for(&peer) {
            tracing::info!(%from, "direct call while busy: rejected");
            self.record_busy(&jingle.sid, &peer);
            let mut terminate = Jingle::new(Action::SessionTerminate, &jingle.sid);
            terminate.reason = Some(Reason::Busy);
            out.push(
                Iq::Set {
                    from: None,
                    to: Some(from),
                    id: new_id(),
                    payload: terminate.to_element(),
                }
                .into(),
            );
            return;
        }
        let Some(own) = self.own_full() else { return };
        let sid = jingle.sid.clone();
        let (call, outputs) = Call::initiated(from_full, own, &jingle, self.config.ring_timeout);
        self.insert_call(sid.clone(), call);
        self.run_outputs(&sid, outputs, out).await;
    }

    /// Whether a new incoming call from `peer` is refused as busy: we are in a call
    /// (placing one, connecting or talking), that peer already rings here, or
    /// [`MAX_RINGING`] calls ring at once. (A crossing call of our own to the same peer
    /// is the simultaneous-call case, decided before this.)
    pub(super) fn busy_for(&self, peer: &BareJid) -> bool {
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
    pub(super) fn record_busy(&self, id: &str, peer: &BareJid) {
        let record = crate::store::CallRecord {
            id: id.to_string(),
            peer: peer.to_string(),
            direction: crate::store::Direction::In,
            started_ms: crate::xmpp::chat::now_ms(),
            duration_s: None,
            reason: Reason::Busy.as_str().to_string(),
        };
        if let Err(e) = self.store.insert_call(self.own.as_str(), &record) {
            tracing::warn!(error = %e, "call history not saved");
        }
    }
}
