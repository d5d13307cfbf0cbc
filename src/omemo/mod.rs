//! OMEMO (XEP-0384) end-to-end encryption: OMEMO 0.3 (`eu.siacs.conversations.axolotl`,
//! what Conversations, Dino and Monal speak: keys and bundles, sessions (X3DH and the
//! Double Ratchet, libsignal v3), the message element with its AES-128-GCM payload)
//! and OMEMO 2 (`urn:xmpp:omemo:2`, twomemo.rs: the same keys, its own ratchet
//! labels, protobufs and SCE payload). The account (account.rs) keeps them, through
//! a `keeper::Keeper` the client hands it (the store).
//!
//! Primitives come from RustCrypto (AES, GCM, CBC, HMAC, HKDF, SHA-2) and dalek
//! (X25519, XEdDSA through the xeddsa crate); the protocol is written here.

pub mod account;
pub mod axolotl;
pub mod keeper;
pub mod keys;
mod persist;
pub mod session;
pub mod twomemo;
pub mod vault;
pub mod wire;

use thiserror::Error;

/// Why a key, bundle or message was not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OmemoError {
    #[error("malformed OMEMO data: {0}")]
    Malformed(&'static str),
    #[error("unusable key: {0}")]
    BadKey(&'static str),
    #[error("the bundle's signed prekey is not signed by its identity key")]
    BadSignature,
    #[error("the message was altered or is not for this session (MAC mismatch)")]
    BadMac,
    #[error("a message received before (or too old to decrypt)")]
    Duplicate,
    #[error("the message names prekey {0}, which this device does not have")]
    UnknownPreKey(u32),
    #[error("the message comes from another identity than the session's")]
    UntrustedIdentity,
    #[error("the message holds no key for this device")]
    NotForUs,
    #[error("the OMEMO keys cannot be unlocked (wrong password, or the store was altered)")]
    Locked,
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}

/// Whether a received MAC is the one computed, compared in constant time (a
/// comparison that stops at the first wrong byte tells a forger how far it got).
pub(crate) fn same_mac(computed: &[u8], received: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    computed.len() == received.len() && bool::from(computed.ct_eq(received))
}
