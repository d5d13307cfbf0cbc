//! Where an account's OMEMO state is kept between runs: our device, sessions and what
//! we know of other devices, always as sealed bytes or public keys. The OMEMO layer
//! names no database: the client hands it the store (store/omemo.rs implements this),
//! and a test may hand it anything else that keeps bytes.

use thiserror::Error;

/// Which OMEMO a session speaks: each keeps its own (a device may speak both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// OMEMO 0.3 (`eu.siacs.conversations.axolotl`).
    Axolotl,
    /// OMEMO 2 (`urn:xmpp:omemo:2`).
    Two,
}

/// Our device as kept: its secrets sealed with the data key, which is itself
/// wrapped with the account's password (salt beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOwn {
    pub device_id: u32,
    pub salt: Vec<u8>,
    pub wrapped: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// What is known of one of a peer's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownIdentity {
    pub device_id: u32,
    /// Its identity key, once a session or bundle showed it.
    pub identity: Option<Vec<u8>>,
    /// Our trust in it, as `Trust::as_str` writes it.
    pub trust: String,
}

/// The keeper could not read or write (a full disk, a damaged database), in words.
#[derive(Debug, Error)]
#[error(transparent)]
pub struct KeepError(#[from] pub Box<dyn std::error::Error + Send + Sync>);

/// What the account needs kept. Each call is one read or one write; nothing is
/// cached here (the account keeps what it read).
pub trait Keeper {
    fn own(&self, account: &str) -> Result<Option<KeptOwn>, KeepError>;
    fn save_own(&self, account: &str, own: &KeptOwn) -> Result<(), KeepError>;
    /// A session with `peer`'s device, sealed.
    fn session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<Option<Vec<u8>>, KeepError>;
    fn save_session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
        sealed: &[u8],
    ) -> Result<(), KeepError>;
    fn delete_session(
        &self,
        v: Version,
        account: &str,
        peer: &str,
        device_id: u32,
    ) -> Result<(), KeepError>;
    /// What is known of each of `peer`'s devices.
    fn identities(&self, account: &str, peer: &str) -> Result<Vec<KnownIdentity>, KeepError>;
    /// A device's identity key and our trust in it.
    fn set_identity(
        &self,
        account: &str,
        peer: &str,
        device_id: u32,
        identity: &[u8],
        trust: &str,
    ) -> Result<(), KeepError>;
}
