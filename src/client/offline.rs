//! What front ends read and decide about an account while it is not signed in, from
//! the store the client keeps: a conversation's and a room's history, the saved
//! accounts, OMEMO devices and our trust in them (`banter history`, `room history
//! --offline`, `omemo devices|trust|untrust`, the window's saved accounts). The
//! front ends never open the store themselves.

use std::path::Path;

use crate::omemo::account::{parse_fingerprint, AccountError, Omemo};
use crate::omemo::keys::hex;
use crate::store::{AccountRow, Store, StoreError, StoredMessage, StoredRoomMessage};

/// Why an offline read or decision failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this device's OMEMO keys: {0}")]
    Omemo(#[from] AccountError),
    /// The front end could not give the account's password (to unlock our keys).
    #[error("{0}")]
    Password(String),
    #[error("'{0}' is not a fingerprint: 64 hexadecimal digits")]
    NotAFingerprint(String),
    #[error(
        "no device of {jid} has the fingerprint {fingerprint} (see banter omemo devices {jid})"
    )]
    NoSuchDevice { jid: String, fingerprint: String },
}

/// An OMEMO device known on this device, and our trust in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// Whose device.
    pub jid: String,
    pub device_id: u32,
    /// Its identity key, hex, once a session or bundle showed it.
    pub fingerprint: Option<String>,
    /// `blind`, `verified`, `untrusted` or `undecided`.
    pub trust: String,
    /// Its owner's device list still names it.
    pub active: bool,
    /// Its owner lists it for OMEMO 2.
    pub omemo2: bool,
}

/// This device's OMEMO identity (id, fingerprint), if it has one, and the devices
/// known (ours aside).
#[derive(Debug, Clone, Default)]
pub struct KnownDevices {
    pub own: Option<(u32, String)>,
    pub devices: Vec<KnownDevice>,
}

/// An account's data directory, read without signing in.
pub struct Offline {
    store: Store,
}

impl Offline {
    pub fn open(dir: &Path) -> Result<Offline, OfflineError> {
        Ok(Offline {
            store: Store::open_dir(dir)?,
        })
    }

    /// The accounts signed in from this directory, the last used first.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, OfflineError> {
        Ok(self.store.accounts()?)
    }

    /// The last `limit` messages with `peer`, oldest first.
    pub fn history(
        &self,
        account: &str,
        peer: &str,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, OfflineError> {
        Ok(self.store.history(account, peer, None, limit)?)
    }

    /// The last `limit` messages of a room kept on this device, oldest first.
    pub fn room_history(
        &self,
        account: &str,
        room: &str,
        limit: usize,
    ) -> Result<Vec<StoredRoomMessage>, OfflineError> {
        Ok(self.store.room_history(account, room, None, None, limit)?)
    }

    /// This device's OMEMO identity (unlocked with the account's password) and the
    /// devices known: `peer`'s, or everyone's.
    pub fn omemo_devices(
        &self,
        account: &str,
        peer: Option<&str>,
        password: impl FnOnce() -> Result<String, OfflineError>,
    ) -> Result<KnownDevices, OfflineError> {
        let own = match self.store.omemo_own(account)? {
            Some(_) => {
                let o = Omemo::load_or_create(&self.store, account, &password()?)?;
                Some((o.device_id(), o.fingerprint()))
            }
            None => None,
        };
        let peers = match peer {
            Some(p) => vec![p.to_string()],
            None => self.store.omemo_peers(account)?,
        };
        let mut devices = Vec::new();
        for p in &peers {
            for d in self.store.omemo_devices(account, p)? {
                if p == account && Some(d.device_id) == own.as_ref().map(|o| o.0) {
                    continue;
                }
                devices.push(KnownDevice {
                    jid: p.clone(),
                    device_id: d.device_id,
                    fingerprint: d.identity.as_deref().map(hex),
                    active: d.listed(),
                    omemo2: d.v2,
                    trust: d.trust,
                });
            }
        }
        Ok(KnownDevices { own, devices })
    }

    /// `jid`'s device with this fingerprint verified (or refused): its
    /// fingerprint, as hex.
    pub fn set_omemo_trust(
        &self,
        account: &str,
        jid: &str,
        fingerprint: &str,
        verified: bool,
    ) -> Result<String, OfflineError> {
        let key = parse_fingerprint(fingerprint)
            .ok_or_else(|| OfflineError::NotAFingerprint(fingerprint.to_string()))?;
        let trust = if verified { "verified" } else { "untrusted" };
        if !self.store.set_omemo_trust(account, jid, &key, trust)? {
            return Err(OfflineError::NoSuchDevice {
                jid: jid.to_string(),
                fingerprint: hex(&key),
            });
        }
        Ok(hex(&key))
    }
}
