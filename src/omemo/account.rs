//! One account's OMEMO: our device (created once, then loaded, its secrets unlocked
//! with the account's password) and our sessions, kept sealed in the store after each
//! change; encrypting a body for a set of devices and decrypting what one sent us.
//! No network: the client fetches bundles and device lists and sends what this makes.

use std::collections::HashMap;

use minidom::Element;
use thiserror::Error;

use super::axolotl::{self, Encrypted, KeyFor};
use super::keys::{self, Bundle, OwnDevice};
use super::session::Session;
use super::vault::{Vault, Wrapped};
use super::OmemoError;
use crate::store::{OmemoOwn, Store, StoreError};

#[derive(Debug, Error)]
pub enum AccountError {
    #[error(transparent)]
    Omemo(#[from] OmemoError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
        store: &Store,
        account: &str,
        password: &str,
    ) -> Result<Omemo, AccountError> {
        if let Some(row) = store.omemo_own(account)? {
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
            });
        }
        let (vault, wrapped) = Vault::create(password)?;
        let o = Omemo {
            account: account.to_string(),
            vault,
            own: OwnDevice::generate(),
            sessions: HashMap::new(),
        };
        o.save_own(store, &wrapped)?;
        Ok(o)
    }

    /// A new device for `account`, replacing the stored one (whose keys could not be
    /// unlocked: the password was changed elsewhere).
    pub fn create_new(store: &Store, account: &str, password: &str) -> Result<Omemo, AccountError> {
        let (vault, wrapped) = Vault::create(password)?;
        let o = Omemo {
            account: account.to_string(),
            vault,
            own: OwnDevice::generate(),
            sessions: HashMap::new(),
        };
        o.save_own(store, &wrapped)?;
        Ok(o)
    }

    fn save_own(&self, store: &Store, wrapped: &Wrapped) -> Result<(), AccountError> {
        store.save_omemo_own(
            &self.account,
            &OmemoOwn {
                device_id: self.own.device_id,
                salt: wrapped.salt.to_vec(),
                wrapped: wrapped.sealed.clone(),
                sealed: self.vault.seal(&self.own.to_bytes(), OWN)?,
            },
        )?;
        Ok(())
    }

    fn save_device(&self, store: &Store) -> Result<(), AccountError> {
        let row = store.omemo_own(&self.account)?.ok_or(OmemoError::Locked)?;
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

    /// The account's password changed: the data key is wrapped with the new one.
    pub fn rewrap(&self, store: &Store, password: &str) -> Result<(), AccountError> {
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
        store: &Store,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<&mut Session>, AccountError> {
        let key = (peer.to_string(), device_id);
        if !self.sessions.contains_key(&key) {
            let Some(sealed) = store.omemo_session(&self.account, peer, device_id)? else {
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

    fn keep(
        &mut self,
        store: &Store,
        peer: &str,
        device_id: u32,
        s: Session,
    ) -> Result<(), AccountError> {
        let sealed = self
            .vault
            .seal(&s.to_bytes(), &session_context(peer, device_id))?;
        store.save_omemo_session(&self.account, peer, device_id, &sealed)?;
        store.set_omemo_identity(
            &self.account,
            peer,
            device_id,
            s.their_identity().as_bytes(),
            "blind",
        )?;
        self.sessions.insert((peer.to_string(), device_id), s);
        Ok(())
    }

    /// Whether we have a session with that device.
    pub fn has_session(
        &mut self,
        store: &Store,
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
        store: &Store,
        devices: &[(String, u32, Option<Bundle>)],
        body: Option<&str>,
    ) -> Result<Encrypted, AccountError> {
        let (material, iv, payload) = match body {
            Some(text) => {
                let b = axolotl::seal(text.as_bytes())?;
                (b.material.to_vec(), b.iv, Some(b.payload))
            }
            None => (rand::random::<[u8; 32]>().to_vec(), rand::random(), None),
        };
        let mut keys = Vec::new();
        for (peer, device_id, bundle) in devices {
            let mut s = match (self.session(store, peer, *device_id)?.cloned(), bundle) {
                (Some(s), _) => s,
                (None, Some(b)) => Session::initiate(&self.own, b)?,
                (None, None) => continue,
            };
            let sealed = s.encrypt(&material)?;
            keys.push(KeyFor {
                rid: *device_id,
                prekey: sealed.prekey,
                data: sealed.bytes,
            });
            self.keep(store, peer, *device_id, s)?;
        }
        Ok(Encrypted {
            sid: self.own.device_id,
            keys,
            iv: iv.to_vec(),
            payload,
        })
    }

    /// Decrypts a message `peer`'s device sent us.
    pub fn decrypt(
        &mut self,
        store: &Store,
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
        let fingerprint = keys::fingerprint(session.their_identity());
        self.keep(store, peer, e.sid, session)?;
        if began {
            self.save_device(store)?;
        }
        Ok(Decrypted {
            body,
            device_id: e.sid,
            fingerprint,
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
