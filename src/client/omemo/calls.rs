//! Calls verified by OMEMO (jingle/dtls_verify.rs), as Conversations does them:
//! - our JMI `<proceed>` names our device;
//! - our session-initiate (to the device the callee's proceed named) or
//!   session-accept (to the device that sealed the caller's) carries its fingerprints
//!   encrypted, when we have a session with that device and trust it; else plain,
//!   and the call is not verified;
//! - the peer's are opened and checked: one that does not decrypt, comes from
//!   another device than the call's, or comes plain in answer to our sealed one ends
//!   the call as a `security-error`; the others are reported (`Event::CallOmemo`),
//!   `verified` when the device is.

use crate::jingle::{dtls_verify, jmi, Action};
use crate::omemo::account::Trust;

use super::*;

/// What a call's OMEMO check knows.
#[derive(Debug, Default)]
pub(in crate::client) struct CallKeys {
    /// The peer's device: named by its proceed (we called), or the one that sealed
    /// its session-initiate (it called).
    device: Option<u32>,
    /// Our fingerprints went sealed: the peer's answer must be too.
    sealed: bool,
}

/// Calls checked at once at most (a flood of proceeds costs no more).
const MAX_CALLS: usize = 16;

fn jingle_action(payload: &Element) -> Option<Action> {
    if !payload.is("jingle", crate::jingle::NS) {
        return None;
    }
    match payload.attr("action")? {
        "session-initiate" => Some(Action::SessionInitiate),
        "session-accept" => Some(Action::SessionAccept),
        _ => None,
    }
}

impl State {
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
                    let e = o.encrypt(store, &[(peer.clone(), device, bundle.clone())], Some(text));
                    match e {
                        Ok(e) if !e.encrypted.keys.is_empty() => Some(e.encrypted.to_element()),
                        Ok(_) => None,
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
                    tracing::info!(%sid, device, "no trusted session with the peer's device: the call is not verified");
                }
            }
            _ => {}
        }
        s
    }

    /// A JMI message about a call: the device a proceed names is kept.
    pub(in crate::client) fn omemo_call_jmi(&mut self, m: &Message) {
        if !self.omemo.is_on() {
            return;
        }
        let Some(p) = m.payloads.iter().find(|p| p.is("proceed", jmi::NS)) else {
            return;
        };
        let (Some(id), Some(device)) = (p.attr("id"), dtls_verify::proceed_device(p)) else {
            return;
        };
        let from = m.from.as_ref().map(Jid::to_bare);
        if from.is_some()
            && self.endpoint.call_peer(id) == from.as_ref()
            && self.omemo.calls.len() < MAX_CALLS
        {
            self.omemo.calls.entry(id.to_string()).or_default().device = Some(device);
        }
    }

    /// A call ended: its keys go.
    pub(in crate::client) fn omemo_call_ended(&mut self, id: &str) {
        self.omemo.calls.remove(id);
    }

    /// A Jingle request from `from`: its sealed fingerprints opened in place. `Err`
    /// says why the call is not safe.
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
        let known = self.endpoint.has_call(&sid);
        let Some(o) = self.omemo.omemo.as_mut().filter(|_| known) else {
            return Ok(());
        };
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
            || "an encrypted fingerprint without its OMEMO message".to_string(),
        )
        .map_err(|e| format!("its DTLS fingerprint could not be decrypted ({e})"))?;
        let keys = self.omemo.calls.entry(sid.clone()).or_default();
        let (all, whole) = match opened {
            dtls_verify::Opened::Plain if keys.sealed && action == Action::SessionAccept => {
                return Err(
                    "its DTLS fingerprint came unencrypted though ours was encrypted".into(),
                )
            }
            dtls_verify::Opened::Plain => return Ok(()),
            dtls_verify::Opened::Sealed(all) => (all, true),
            dtls_verify::Opened::Partly(all) => (all, false),
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
        if all.iter().any(|d| d.began_session) {
            self.omemo_answer_session(&peer, first.device_id, out);
        }
        self.emit(Event::CallOmemo {
            id: sid,
            device_id: first.device_id,
            fingerprint: first.fingerprint.clone(),
            trust: first.trust.as_str().to_string(),
            verified: whole && first.trust == Trust::Verified,
        });
        Ok(())
    }
}
