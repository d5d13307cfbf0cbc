//! One account's OMEMO: our device (created once, then loaded, its secrets unlocked
//! with the account's password) and our sessions, kept sealed by the keeper (the
//! client's store) after each
//! change; encrypting a body for a set of devices and decrypting what one sent us.
//! No network: the client fetches bundles and device lists and sends what this makes.

use std::collections::HashMap;

use minidom::Element;
use thiserror::Error;

use super::axolotl::{self, Encrypted, KeyFor};
use super::keeper::{KeepError, Keeper, KeptOwn, Version};
use super::keys::{self, Bundle, OwnDevice};
use super::session::Session;
use super::vault::{Vault, Wrapped};
use super::OmemoError;

#[derive(Debug, Error)]
pub enum AccountError {
    #[error(transparent)]
    Omemo(#[from] OmemoError),
    #[error(transparent)]
    Keep(#[from] KeepError),
}

/// How far a device is trusted (Conversations' "blind trust before verification").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Trusted without verification: no device of its owner is verified yet.
    Blind,
    /// Its fingerprint was compared by the user.
    Verified,
    /// Refused by the user: nothing is encrypted to it.
    Untrusted,
    /// New while its owner has verified devices, or its key changed: nothing is
    /// encrypted to it until the user decides.
    Undecided,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Blind => "blind",
            Trust::Verified => "verified",
            Trust::Untrusted => "untrusted",
            Trust::Undecided => "undecided",
        }
    }

    pub fn parse(s: &str) -> Trust {
        match s {
            "blind" => Trust::Blind,
            "verified" => Trust::Verified,
            "untrusted" => Trust::Untrusted,
            _ => Trust::Undecided,
        }
    }

    /// Whether messages are encrypted to such a device.
    pub fn sendable(self) -> bool {
        matches!(self, Trust::Blind | Trust::Verified)
    }
}

/// A fingerprint as people write it (spaces, colons, either case, with or without
/// the type byte) to the 32 key bytes.
pub fn parse_fingerprint(s: &str) -> Option<Vec<u8>> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let hex = match hex.len() {
        66 if hex.starts_with("05") => &hex[2..],
        64 => &hex[..],
        _ => return None,
    };
    (0..32)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

/// What `encrypt` made, and the devices it left out for want of trust.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub encrypted: Encrypted,
    pub left_out: Vec<(String, u32, Trust)>,
}

/// What a message for us held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The body; `None` for a key-transport (empty) message.
    pub body: Option<String>,
    /// The sender's device.
    pub device_id: u32,
    /// Its identity key, hex (the fingerprint people compare).
    pub fingerprint: String,
    /// Our trust in the sending device.
    pub trust: Trust,
    /// It began a session: the sender waits for an answer to stop sending PreKey
    /// messages (an empty message does), and one of our prekeys is gone, so our
    /// bundle must be published again.
    pub began_session: bool,
}

pub struct Omemo {
    account: String,
    vault: Vault,
    own: OwnDevice,
    /// Sessions read so far: (peer bare JID, device id).
    sessions: HashMap<(String, u32), Session>,
    /// OMEMO 2's, likewise.
    sessions2: HashMap<(String, u32), super::twomemo::session::Session>,
}

impl std::fmt::Debug for Omemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Omemo({} device {})", self.account, self.own.device_id)
    }
}

const OWN: &str = "own device";

fn session_context(peer: &str, device_id: u32) -> String {
    format!("session {peer} {device_id}")
}

impl Omemo {
    /// Our device for `account`: the one in the store, unlocked with `password`, or
    /// a new one (then saved). A wrong password is an error, not a new device.
    pub fn load_or_create(
        store: &dyn Keeper,
        account: &str,
        password: &str,
    ) -> Result<Omemo, AccountError> {
        if let Some(row) = store.own(account)? {
            let salt: [u8; 16] = row
                .salt
                .as_slice()
                .try_into()
                .map_err(|_| OmemoError::Locked)?;
            let vault = Vault::unlock(
                password,
                &Wrapped {
                    salt,
                    sealed: row.wrapped,
                },
            )?;
            let own = OwnDevice::from_bytes(&vault.open(&row.sealed, OWN)?)?;
            return Ok(Omemo {
                account: account.to_string(),
                vault,
                own,
                sessions: HashMap::new(),
                sessions2: HashMap::new(),
            });
        }
        Omemo::create_new(store, account, password)
    }

    /// A new device for `account`, replacing the stored one (whose keys could not be
    /// unlocked: the password was changed elsewhere).
    pub fn create_new(
        store: &dyn Keeper,
        account: &str,
        password: &str,
    ) -> Result<Omemo, AccountError> {
        let (vault, wrapped) = Vault::create(password)?;
        let o = Omemo {
            account: account.to_string(),
            vault,
            own: OwnDevice::generate(),
            sessions: HashMap::new(),
            sessions2: HashMap::new(),
        };
        o.save_own(store, &wrapped)?;
        Ok(o)
    }

    fn save_own(&self, store: &dyn Keeper, wrapped: &Wrapped) -> Result<(), AccountError> {
        store.save_own(
            &self.account,
            &KeptOwn {
                device_id: self.own.device_id,
                salt: wrapped.salt.to_vec(),
                wrapped: wrapped.sealed.clone(),
                sealed: self.vault.seal(&self.own.to_bytes(), OWN)?,
            },
        )?;
        Ok(())
    }

    fn save_device(&self, store: &dyn Keeper) -> Result<(), AccountError> {
        let row = store.own(&self.account)?.ok_or(OmemoError::Locked)?;
        let salt: [u8; 16] = row
            .salt
            .as_slice()
            .try_into()
            .map_err(|_| OmemoError::Locked)?;
        self.save_own(
            store,
            &Wrapped {
                salt,
                sealed: row.wrapped,
            },
        )
    }

    /// A new signed prekey when the current one is a week old (kept on disk at once);
    /// whether it rotated, i.e. the bundle must be published again.
    pub fn rotate_if_due(&mut self, store: &dyn Keeper) -> Result<bool, AccountError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if !self.own.rotate_signed_prekey(now) {
            return Ok(false);
        }
        self.save_device(store)?;
        Ok(true)
    }

    /// The account's password changed: the data key is wrapped with the new one.
    pub fn rewrap(&self, store: &dyn Keeper, password: &str) -> Result<(), AccountError> {
        let wrapped = self.vault.wrap(password)?;
        self.save_own(store, &wrapped)
    }

    pub fn device_id(&self) -> u32 {
        self.own.device_id
    }

    pub fn fingerprint(&self) -> String {
        self.own.fingerprint()
    }

    /// Our `<bundle>` to publish.
    pub fn bundle(&self) -> Element {
        axolotl::bundle(&self.own.bundle())
    }

    fn session(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<&mut Session>, AccountError> {
        let key = (peer.to_string(), device_id);
        if !self.sessions.contains_key(&key) {
            let Some(sealed) = store.session(Version::Axolotl, &self.account, peer, device_id)?
            else {
                return Ok(None);
            };
            let s = Session::from_bytes(
                &self
                    .vault
                    .open(&sealed, &session_context(peer, device_id))?,
            )?;
            self.sessions.insert(key.clone(), s);
        }
        Ok(self.sessions.get_mut(&key))
    }

    /// Our trust in `peer`'s device with this identity key: as decided before for
    /// that key; for a new device blind, unless its owner has a verified one; for a
    /// device whose key changed, undecided.
    pub fn trust_of(
        &self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
        identity: &[u8],
    ) -> Result<Trust, AccountError> {
        let devices = store.identities(&self.account, peer)?;
        if let Some(d) = devices.iter().find(|d| d.device_id == device_id) {
            match &d.identity {
                Some(known) if known.as_slice() == identity => return Ok(Trust::parse(&d.trust)),
                Some(_) => return Ok(Trust::Undecided),
                None => {}
            }
        }
        if devices.iter().any(|d| d.trust == Trust::Verified.as_str()) {
            Ok(Trust::Undecided)
        } else {
            Ok(Trust::Blind)
        }
    }

    fn keep(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
        s: Session,
    ) -> Result<Trust, AccountError> {
        let identity = s.their_identity().to_bytes();
        let trust = self.trust_of(store, peer, device_id, &identity)?;
        let sealed = self
            .vault
            .seal(&s.to_bytes(), &session_context(peer, device_id))?;
        store.save_session(Version::Axolotl, &self.account, peer, device_id, &sealed)?;
        store.set_identity(&self.account, peer, device_id, &identity, trust.as_str())?;
        self.sessions.insert((peer.to_string(), device_id), s);
        Ok(trust)
    }

    /// Forgets the session with that device (it cannot decrypt any more): the next
    /// message to it begins a new one from its bundle.
    pub fn forget_session(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<(), AccountError> {
        self.sessions.remove(&(peer.to_string(), device_id));
        store.delete_session(Version::Axolotl, &self.account, peer, device_id)?;
        Ok(())
    }

    /// Whether we have a session with that device.
    pub fn has_session(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
    ) -> Result<bool, AccountError> {
        Ok(self.session(store, peer, device_id)?.is_some())
    }

    /// Encrypts `body` (or, with `None`, nothing: a key-transport message that
    /// answers a session begun by the peer) for each device: with its session, or a
    /// new one from the bundle given. Devices with neither are skipped; the caller
    /// fetches their bundles first.
    pub fn encrypt(
        &mut self,
        store: &dyn Keeper,
        devices: &[(String, u32, Option<Bundle>)],
        body: Option<&str>,
    ) -> Result<Sealed, AccountError> {
        self.encrypt_for(store, devices, body, true)
    }

    /// `text` to one device, whatever our trust in it: for what is not secret but
    /// must not be changed on the way (a call's DTLS fingerprint), which the receiving
    /// side judges by its own trust in us. `None`: no session with it and no bundle.
    pub fn encrypt_to_any(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        device_id: u32,
        bundle: Option<Bundle>,
        text: &str,
    ) -> Result<Option<Encrypted>, AccountError> {
        let sealed = self.encrypt_for(
            store,
            &[(peer.to_string(), device_id, bundle)],
            Some(text),
            false,
        )?;
        Ok((!sealed.encrypted.keys.is_empty()).then_some(sealed.encrypted))
    }

    fn encrypt_for(
        &mut self,
        store: &dyn Keeper,
        devices: &[(String, u32, Option<Bundle>)],
        body: Option<&str>,
        trust_needed: bool,
    ) -> Result<Sealed, AccountError> {
        let (material, iv, payload) = match body {
            Some(text) => {
                let b = axolotl::seal(text.as_bytes())?;
                (b.material.to_vec(), b.iv, Some(b.payload))
            }
            None => (rand::random::<[u8; 32]>().to_vec(), rand::random(), None),
        };
        let mut keys = Vec::new();
        let mut left_out = Vec::new();
        for (peer, device_id, bundle) in devices {
            let mut s = match (self.session(store, peer, *device_id)?.cloned(), bundle) {
                (Some(s), _) => s,
                (None, Some(b)) => match Session::initiate(&self.own, b) {
                    Ok(s) => s,
                    // A bad bundle leaves that device out, not the message.
                    Err(e) => {
                        tracing::info!(%peer, device_id, error = %e, "unusable OMEMO bundle");
                        left_out.push((peer.clone(), *device_id, Trust::Untrusted));
                        continue;
                    }
                },
                (None, None) => continue,
            };
            // A device known by another identity: nothing to this one, and the known
            // one keeps its trust (a server's bundle cannot make it undecided).
            if self.known_otherwise(store, peer, *device_id, s.their_identity().as_bytes())? {
                left_out.push((peer.clone(), *device_id, Trust::Undecided));
                continue;
            }
            let trust = self.trust_of(store, peer, *device_id, s.their_identity().as_bytes())?;
            // An empty message only answers a session the device began: no secret
            // in it, so no trust needed.
            if trust_needed && body.is_some() && !trust.sendable() {
                // Its key is kept, for the user to compare and decide.
                store.set_identity(
                    &self.account,
                    peer,
                    *device_id,
                    s.their_identity().as_bytes(),
                    trust.as_str(),
                )?;
                left_out.push((peer.clone(), *device_id, trust));
                continue;
            }
            let sealed = s.encrypt(&material)?;
            keys.push(KeyFor {
                rid: *device_id,
                prekey: sealed.prekey,
                data: sealed.bytes,
            });
            self.keep(store, peer, *device_id, s)?;
        }
        Ok(Sealed {
            encrypted: Encrypted {
                sid: self.own.device_id,
                keys,
                iv: iv.to_vec(),
                payload,
            },
            left_out,
        })
    }

    /// Decrypts a message `peer`'s device sent us.
    pub fn decrypt(
        &mut self,
        store: &dyn Keeper,
        peer: &str,
        e: &Encrypted,
    ) -> Result<Decrypted, AccountError> {
        let k = e.key_for(self.own.device_id).ok_or(OmemoError::NotForUs)?;
        let mut began = false;
        let existing = self.session(store, peer, e.sid)?.cloned();
        let (session, material) = match existing {
            Some(mut s) => match s.decrypt(&k.data, k.prekey) {
                Ok(m) => (s, m),
                // The peer began anew (it lost its session): a new one from its
                // PreKey message replaces ours.
                Err(_) if k.prekey => {
                    began = true;
                    self.accept(&k.data)?
                }
                Err(err) => return Err(err.into()),
            },
            None if k.prekey => {
                began = true;
                self.accept(&k.data)?
            }
            None => {
                return Err(OmemoError::Malformed("a message of a session we do not have").into())
            }
        };
        let body = match &e.payload {
            Some(p) => Some(
                String::from_utf8(axolotl::open(&material, &e.iv, p)?)
                    .map_err(|_| OmemoError::Malformed("a body that is not UTF-8"))?,
            ),
            None => None,
        };
        // A new session from a device known by another identity: refused, nothing kept.
        if began && self.known_otherwise(store, peer, e.sid, session.their_identity().as_bytes())? {
            return Err(OmemoError::UntrustedIdentity.into());
        }
        let fingerprint = keys::fingerprint(session.their_identity());
        let trust = self.keep(store, peer, e.sid, session)?;
        if began {
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

    /// A session from a PreKey message; its one-time prekey is used up and replaced.
    fn accept(&mut self, data: &[u8]) -> Result<(Session, Vec<u8>), AccountError> {
        let (s, material, used) = Session::accept(&self.own, data)?;
        if let Some(id) = used {
            self.own.prekeys.remove(&id);
            self.own.refill_prekeys();
        }
        Ok((s, material))
    }
}

mod two;
pub use two::Sealed2;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
