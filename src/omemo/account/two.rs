//! OMEMO 2 in the account: the same device (identity and prekeys) as OMEMO 0.3, its
//! own sessions (kept sealed apart), and one trust per device whichever version it
//! speaks: a device is known by its identity in Curve25519 form, so verifying it in
//! one version verifies it in both. What is encrypted is an SCE envelope
//! (twomemo::envelope); what is decrypted must be one from the sender.

use minidom::Element;

use super::super::twomemo::{self, session::Session, Bundle, Encrypted, KeyFor};
use super::*;

/// A message sealed for OMEMO 2 devices, and those left out for want of trust.
#[derive(Debug, Clone)]
pub struct Sealed2 {
    pub encrypted: Encrypted,
    pub left_out: Vec<(String, u32, Trust)>,
}

fn context2(peer: &str, device_id: u32) -> String {
    format!("session2 {peer} {device_id}")
}

/// A device's identity as trust knows it: Curve25519, whichever version showed it.
fn identity_of(s: &Session) -> Result<Vec<u8>, OmemoError> {
    Ok(twomemo::curve_of(s.their_identity())?.to_bytes().to_vec())
}

impl Omemo {
    /// Our OMEMO 2 `<bundle>` to publish.
    pub fn bundle2(&self) -> Result<Element, AccountError> {
        Ok(twomemo::bundle(&Bundle::of(&self.own)?))
    }

    fn session2(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<&mut Session>, AccountError> {
        let key = (peer.to_string(), device_id);
        if !self.sessions2.contains_key(&key) {
            let Some(sealed) = store.session(Version::Two, &self.account, peer, device_id)? else {
                return Ok(None);
            };
            let s = Session::from_bytes(&self.vault.open(&sealed, &context2(peer, device_id))?)?;
            self.sessions2.insert(key.clone(), s);
        }
        Ok(self.sessions2.get_mut(&key))
    }

    /// Whether we have an OMEMO 2 session with that device.
    pub fn has_session2(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<bool, AccountError> {
        Ok(self.session2(store, peer, device_id)?.is_some())
    }

    /// Forgets the OMEMO 2 session with that device.
    pub fn forget_session2(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<(), AccountError> {
        self.sessions2.remove(&(peer.to_string(), device_id));
        store.delete_session(Version::Two, &self.account, peer, device_id)?;
        Ok(())
    }

    /// Whether the device is known by another identity (from either version): then
    /// nothing of this one is kept or trusted; the known one, and our trust in it,
    /// stay as they are (a server cannot turn a verified device undecided by
    /// publishing another OMEMO 2 bundle for it).
    pub(super) fn known_otherwise(
        &self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
        identity: &[u8],
    ) -> Result<bool, AccountError> {
        Ok(store.identities(&self.account, peer)?.iter().any(|d| {
            d.device_id == device_id && d.identity.as_deref().is_some_and(|k| k != identity)
        }))
    }

    fn keep2(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
        s: Session,
    ) -> Result<Trust, AccountError> {
        let identity = identity_of(&s)?;
        if self.known_otherwise(store, peer, device_id, &identity)? {
            return Err(OmemoError::UntrustedIdentity.into());
        }
        let trust = self.trust_of(store, peer, device_id, &identity)?;
        let sealed = self.vault.seal(&s.to_bytes(), &context2(peer, device_id))?;
        store.save_session(Version::Two, &self.account, peer, device_id, &sealed)?;
        store.set_identity(&self.account, peer, device_id, &identity, trust.as_str())?;
        self.sessions2.insert((peer.to_string(), device_id), s);
        Ok(trust)
    }

    /// Encrypts `envelope` (an SCE envelope; `None`: an empty message that answers a
    /// session the device began) for each device (account bare JID, device id, and
    /// its bundle when we have no session yet). Devices we may not send to are left
    /// out and named.
    pub fn encrypt2(
        &mut self,
        store: &dyn Keeper,
        devices: &[(String, u32, Option<Bundle>)],
        envelope: Option<&[u8]>,
    ) -> Result<Sealed2, AccountError> {
        let (material, payload) = match envelope {
            Some(e) => {
                let p = twomemo::seal(e)?;
                (p.key_material, Some(p.ciphertext))
            }
            None => (twomemo::empty_key_material(), None),
        };
        let mut keys = Vec::new();
        let mut left_out = Vec::new();
        for (peer, device_id, bundle) in devices {
            let mut s = match (self.session2(store, peer, *device_id)?.cloned(), bundle) {
                (Some(s), _) => s,
                (None, Some(b)) => match Session::initiate(&self.own, b) {
                    Ok(s) => s,
                    // A bad bundle (its signature, its keys) leaves that device
                    // out, not the message.
                    Err(e) => {
                        tracing::info!(%peer, device_id, error = %e, "unusable OMEMO 2 bundle");
                        left_out.push((peer.clone(), *device_id, Trust::Untrusted));
                        continue;
                    }
                },
                (None, None) => continue,
            };
            let identity = identity_of(&s)?;
            if self.known_otherwise(store, peer, *device_id, &identity)? {
                left_out.push((peer.clone(), *device_id, Trust::Undecided));
                continue;
            }
            let trust = self.trust_of(store, peer, *device_id, &identity)?;
            if envelope.is_some() && !trust.sendable() {
                store.set_identity(&self.account, peer, *device_id, &identity, trust.as_str())?;
                left_out.push((peer.clone(), *device_id, trust));
                continue;
            }
            let sealed = s.encrypt(&material)?;
            keys.push(KeyFor {
                jid: peer.clone(),
                rid: *device_id,
                kex: sealed.kex,
                data: sealed.bytes,
            });
            self.keep2(store, peer, *device_id, s)?;
        }
        Ok(Sealed2 {
            encrypted: Encrypted {
                sid: self.own.device_id,
                keys,
                payload,
            },
            left_out,
        })
    }

    /// Decrypts an OMEMO 2 message `peer`'s device sent us: the body of its SCE
    /// envelope, which must name `peer` as its sender.
    pub fn decrypt2(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        e: &Encrypted,
    ) -> Result<Decrypted, AccountError> {
        let k = e
            .key_for(&self.account, self.own.device_id)
            .ok_or(OmemoError::NotForUs)?;
        // The prekey a new session used, given up once all of it checked out.
        let mut used = None;
        let existing = self.session2(store, peer, e.sid)?.cloned();
        let (session, material) = match existing {
            Some(mut s) => match s.decrypt(&k.data, k.kex) {
                Ok(m) => (s, m),
                // Another exchange: the device began anew; its session replaces ours.
                // The same exchange again (a replay, a copy): the session's answer.
                Err(_) if k.kex && !s.is_our_exchange(&k.data) => {
                    let (s, m, pk) = Session::accept(&self.own, &k.data)?;
                    used = Some(pk);
                    (s, m)
                }
                Err(err) => return Err(err.into()),
            },
            None if k.kex => {
                let (s, m, pk) = Session::accept(&self.own, &k.data)?;
                used = Some(pk);
                (s, m)
            }
            None => {
                return Err(OmemoError::Malformed("a message of a session we do not have").into())
            }
        };
        let body = match &e.payload {
            // Our own copies (our other devices') name the contact they went to.
            Some(p) => {
                let recipient = (peer != self.account).then_some(self.account.as_str());
                twomemo::open_envelope(&twomemo::open(&material, p)?, peer, recipient)?
            }
            None => None,
        };
        let fingerprint = keys::fingerprint(&twomemo::curve_of(session.their_identity())?);
        let trust = self.keep2(store, peer, e.sid, session)?;
        let began = used.is_some();
        if let Some(pk) = used {
            self.own.prekeys.remove(&pk);
            self.own.refill_prekeys();
            self.save_device(store)?;
        }
        Ok(Decrypted {
            body,
            device_id: e.sid,
            fingerprint,
            trust,
            began_session: began,
        })
    }
}
