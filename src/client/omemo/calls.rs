//! Calls verified by OMEMO (jingle/dtls_verify.rs), as Conversations does them:
//! - our JMI `<proceed>` names our device;
//! - our session-initiate (to the device the callee's proceed named) or
//!   session-accept (to the device that sealed the caller's), and a content-add or
//!   content-accept later in such a call (Dino seals those too), carry their
//!   fingerprints encrypted to that device when we have a session with it; else
//!   plain, and the call is not verified;
//! - the peer's are opened and checked before the call machine sees them, only for
//!   the call's peer: a fingerprint that does not decrypt, comes from another device,
//!   comes plain in answer to our encrypted one or beside an encrypted one, or comes
//!   plain in a content added to a call whose fingerprints came encrypted, ends the
//!   call as a `security-error`; the others are reported (`Event::CallOmemo`),
//!   `verified` when the device is.
// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crate::jingle::{dtls_verify, jmi, Action};

use super::*;

/// What a call's OMEMO check knows.
#[derive(Debug, Default)]
pub(in crate::client) struct CallKeys {
    /// The peer's device: named by its proceed (we called), or the one that sealed
    /// its session-initiate (it called).
    device: Option<u32>,
    /// Our fingerprints went sealed: the peer's answer must be too.
    sealed: bool,
    /// The peer's fingerprints came sealed: so must those of contents it adds.
    opened: bool,
    /// Requests opened so far, as they came and as opened: a copy of one the server
    /// sends again (after a stream resumption) is not decrypted twice (it could not
    /// be: its message keys are used up).
    seen: Vec<(Element, Element)>,
}

/// Requests of one call remembered in `seen` (initiate, accept, a few contents).
const SEEN_PER_CALL: usize = 6;

fn jingle_action(payload: &Element) -> Option<Action> {
    if !payload.is("jingle", crate::jingle::NS) {
        return None;
    }
    match payload.attr("action")? {
        "session-initiate" => Some(Action::SessionInitiate),
        "session-accept" => Some(Action::SessionAccept),
        "content-add" => Some(Action::ContentAdd),
        "content-accept" => Some(Action::ContentAccept),
        _ => None,
    }
}

impl State {
    /// A call we propose: the OMEMO 0.3 bundles of the callee's devices we have no
    /// session with are asked for now, while it rings, so that our session-initiate
    /// can seal its fingerprints to the device that answers (as Conversations does:
    /// chat between two clients that speak OMEMO 2 leaves no 0.3 session).
    pub(in crate::client) fn omemo_call_prepare(&mut self, s: &Stanza, out: &mut Vec<Stanza>) {
        let Stanza::Message(m) = s else { return };
        if self.omemo.omemo.is_none() || !m.payloads.iter().any(|p| p.is("propose", jmi::NS)) {
            return;
        }
        let Some(peer) = m.to.as_ref().map(|t| t.to_bare().to_string()) else {
            return;
        };
        let devices = self
            .store
            .omemo_devices(self.own.as_str(), &peer)
            .unwrap_or_default();
        for d in devices
            .iter()
            .filter(|d| d.listed())
            .take(MAX_DEVICES_PER_MESSAGE)
        {
            let has = self.omemo.omemo.as_mut().is_some_and(|o| {
                o.has_session(&self.store, &peer, d.device_id)
                    .unwrap_or(false)
            });
            if !has
                && !self
                    .omemo
                    .bundles
                    .contains_key(&(peer.clone(), d.device_id))
            {
                self.omemo_ask_bundle(&peer, d.device_id, out);
            }
        }
    }

    /// The bundle of `peer`'s `device` came (or the server said it has none): calls
    /// waiting for it to seal their fingerprints wait no more.
    pub(in crate::client) fn omemo_call_keys(
        &mut self,
        peer: &str,
        device: u32,
        out: &mut Vec<Stanza>,
    ) {
        let before = self.omemo.sealing.len();
        self.omemo
            .sealing
            .retain(|_, (p, d)| !(p == peer && *d == device));
        if self.omemo.sealing.len() != before {
            self.calls_keys_arrived(out);
        }
    }

    /// A new stream: the bundles asked for on the old one will not come; calls
    /// waiting for them go (unsealed where no session or bundle is here).
    pub(in crate::client) fn omemo_call_keys_lost(&mut self, out: &mut Vec<Stanza>) {
        if !self.omemo.sealing.is_empty() {
            self.omemo.sealing.clear();
            self.calls_keys_arrived(out);
        }
    }

    /// A stanza a call sends, with our device or our sealed fingerprints in it.
    pub(in crate::client) fn omemo_call_out(&mut self, mut s: Stanza) -> Stanza {
        let Some(o) = self.omemo.omemo.as_mut() else {
            return s;
        };
        match &mut s {
            Stanza::Message(m) => {
                if let Some(p) = m.payloads.iter_mut().find(|p| p.is("proceed", jmi::NS)) {
                    p.append_child(dtls_verify::device_element(o.device_id()));
                }
            }
            Stanza::Iq(Iq::Set {
                to: Some(to),
                payload,
                ..
            }) if jingle_action(payload).is_some() => {
                let sid = payload.attr("sid").unwrap_or_default().to_string();
                let Some(device) = self.omemo.calls.get(&sid).and_then(|k| k.device) else {
                    return s;
                };
                let peer = to.to_bare().to_string();
                let store = &self.store;
                // Without a session, its bundle if we fetched it for a message.
                let bundle = self
                    .omemo
                    .bundles
                    .get(&(peer.clone(), device))
                    .cloned()
                    .flatten();
                let sealed = dtls_verify::seal(payload, |text| {
                    match o.encrypt_to_any(store, &peer, device, bundle.clone(), text) {
                        Ok(e) => e.map(|e| e.to_element()),
                        Err(e) => {
                            tracing::info!(error = %e, "the call's fingerprint not sealed");
                            None
                        }
                    }
                });
                if sealed {
                    if let Some(k) = self.omemo.calls.get_mut(&sid) {
                        k.sealed = true;
                    }
                } else {
                    tracing::info!(%sid, device, "no session with the peer's device: the call is not verified");
                }
            }
            _ => {}
        }
        s
    }

    /// A JMI message about a call: the device the peer's proceed names is kept (the
    /// first one: a later proceed does not change it). Without a session or bundle
    /// for it, its bundle is asked for (unless it is on its way since the call
    /// rang), and the call's session-initiate waits for it (`keys_pending`).
    pub(in crate::client) fn omemo_call_jmi(&mut self, m: &Message, out: &mut Vec<Stanza>) {
        if !self.omemo.is_on() {
            return;
        }
        let Some(p) = m.payloads.iter().find(|p| p.is("proceed", jmi::NS)) else {
            return;
        };
        let (Some(id), Some(device), Some(from)) = (
            p.attr("id"),
            dtls_verify::proceed_device(p),
            m.from.as_ref(),
        ) else {
            return;
        };
        if !self.endpoint.is_call_peer(id, from) {
            return;
        }
        let keys = self.omemo.calls.entry(id.to_string()).or_default();
        let device = *keys.device.get_or_insert(device);
        let peer = from.to_bare().to_string();
        let has = self
            .omemo
            .omemo
            .as_mut()
            .is_some_and(|o| o.has_session(&self.store, &peer, device).unwrap_or(false));
        if has || self.omemo.bundles.contains_key(&(peer.clone(), device)) {
            return;
        }
        self.omemo_ask_bundle(&peer, device, out);
        tracing::info!(
            call = id,
            device,
            "the call waits for the answering device's bundle"
        );
        self.omemo.sealing.insert(id.to_string(), (peer, device));
    }

    /// A call ended: its keys go, and whatever of it was held.
    pub(in crate::client) fn omemo_call_ended(&mut self, id: &str) {
        self.omemo.calls.remove(id);
        self.omemo.sealing.remove(id);
    }

    /// A Jingle request from `from`: its sealed fingerprints opened in place. `Err`
    /// says why the call is not safe. Only the call's peer is heard.
    pub(in crate::client) fn omemo_call_in(
        &mut self,
        from: &Jid,
        payload: &mut Element,
        out: &mut Vec<Stanza>,
    ) -> Result<(), String> {
        let Some(action) = jingle_action(payload) else {
            return Ok(());
        };
        let sid = payload.attr("sid").unwrap_or_default().to_string();
        if !self.endpoint.is_call_peer(&sid, from) {
            return Ok(());
        }
        let Some(o) = self.omemo.omemo.as_mut() else {
            return Ok(());
        };
        let keys = self.omemo.calls.entry(sid.clone()).or_default();
        if let Some((_, opened)) = keys.seen.iter().find(|(came, _)| came == payload) {
            *payload = opened.clone();
            return Ok(());
        }
        let came = payload.clone();
        let peer = from.to_bare();
        let store = &self.store;
        let opened = dtls_verify::open(
            payload,
            |el| {
                let e = Encrypted::parse(el).map_err(|e| e.to_string())?;
                let d = o
                    .decrypt(store, peer.as_str(), &e)
                    .map_err(|e| e.to_string())?;
                let text = d.body.clone().ok_or("an empty OMEMO message")?;
                Ok((text, d))
            },
            str::to_string,
        )
        .map_err(|e| format!("its DTLS fingerprint did not check out ({e})"))?;
        let all = match opened {
            dtls_verify::Opened::Plain
                if keys.sealed && action == Action::SessionAccept
                    || keys.opened
                        && matches!(action, Action::ContentAdd | Action::ContentAccept) =>
            {
                return Err(
                    "its DTLS fingerprint came unencrypted where it had to be encrypted".into(),
                )
            }
            dtls_verify::Opened::Plain | dtls_verify::Opened::None => return Ok(()),
            dtls_verify::Opened::Sealed(all) => all,
        };
        let Some(first) = all.first().cloned() else {
            return Ok(());
        };
        if all
            .iter()
            .any(|d| d.device_id != first.device_id || d.fingerprint != first.fingerprint)
        {
            return Err("its fingerprints came from several devices".into());
        }
        if keys.device.is_some_and(|d| d != first.device_id) {
            return Err(format!(
                "its fingerprint came from device {}, not the one that took the call",
                first.device_id
            ));
        }
        keys.device = Some(first.device_id);
        keys.opened = true;
        if keys.seen.len() < SEEN_PER_CALL {
            keys.seen.push((came, payload.clone()));
        }
        if all.iter().any(|d| d.began_session) {
            self.omemo.lists.remove(peer.as_str());
            self.emit(Event::OmemoSession {
                jid: peer.to_string(),
                device_id: first.device_id,
                fingerprint: first.fingerprint.clone(),
            });
            self.omemo_answer_session(&peer, first.device_id, out);
        }
        if matches!(action, Action::SessionInitiate | Action::SessionAccept) {
            self.emit(Event::CallOmemo {
                id: sid,
                device_id: first.device_id,
                fingerprint: first.fingerprint.clone(),
                trust: first.trust.as_str().to_string(),
                verified: first.trust == Trust::Verified,
            });
        }
        Ok(())
    }
}
