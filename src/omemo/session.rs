//! A session with one device of a contact: X3DH to begin it, the Double Ratchet for
//! every message, as libsignal v3 (OMEMO 0.3) does them: the same KDF labels, chain
//! steps, AES-256-CBC with HMAC-SHA256 over both identities, so that Conversations,
//! Dino and Monal read what we write. Pure: bytes in, bytes out.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::PublicKey;

use super::keys::{self, KeyPair, OwnDevice};
use super::persist::{Reader, Writer};
use super::wire::{PreKeyWhisperMessage, WhisperMessage, MAC_LEN, VERSION};
use super::OmemoError;

type HmacSha256 = Hmac<Sha256>;

/// Message keys skipped (sent but not yet received) kept per session, as libsignal.
pub const MAX_SKIPPED: usize = 2000;
/// How far ahead of its chain a message may be: more would cost that many key
/// derivations for one forged counter.
pub const MAX_JUMP: u32 = 2000;
/// Receiving chains kept (the peer's last ratchet keys), as libsignal.
const MAX_RECEIVING: usize = 5;

/// What the X3DH secret begins with (libsignal's "discontinuity bytes").
const DISCONTINUITY: [u8; 32] = [0xff; 32];

/// Keys for one message.
#[derive(Clone)]
struct MessageKeys {
    cipher: [u8; 32],
    mac: [u8; 32],
    iv: [u8; 16],
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), OmemoError> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| OmemoError::Crypto("HKDF length"))
}

fn hmac(key: &[u8], data: &[&[u8]]) -> Result<[u8; 32], OmemoError> {
    let mut m = HmacSha256::new_from_slice(key).map_err(|_| OmemoError::Crypto("HMAC key"))?;
    for d in data {
        m.update(d);
    }
    Ok(m.finalize().into_bytes().into())
}

/// The root KDF: a new root key and a chain key from a ratchet DH.
fn root_step(root: &[u8; 32], dh: &[u8; 32]) -> Result<([u8; 32], [u8; 32]), OmemoError> {
    let mut out = [0u8; 64];
    hkdf(root, dh, b"WhisperRatchet", &mut out)?;
    Ok(split(&out))
}

fn split(out: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(out.get(..32).unwrap_or(&[0u8; 32]));
    b.copy_from_slice(out.get(32..).unwrap_or(&[0u8; 32]));
    (a, b)
}

/// A sending or receiving chain.
#[derive(Clone)]
struct Chain {
    key: [u8; 32],
    /// The index of the next message key.
    index: u32,
}

impl Chain {
    /// The next message's keys; the chain moves on.
    fn step(&mut self) -> Result<MessageKeys, OmemoError> {
        let seed = hmac(&self.key, &[&[0x01]])?;
        self.key = hmac(&self.key, &[&[0x02]])?;
        self.index = self
            .index
            .checked_add(1)
            .ok_or(OmemoError::Crypto("a chain at its end"))?;
        let mut out = [0u8; 80];
        hkdf(&[0u8; 32], &seed, b"WhisperMessageKeys", &mut out)?;
        let mut k = MessageKeys {
            cipher: [0; 32],
            mac: [0; 32],
            iv: [0; 16],
        };
        k.cipher.copy_from_slice(out.get(..32).unwrap_or(&[0; 32]));
        k.mac.copy_from_slice(out.get(32..64).unwrap_or(&[0; 32]));
        k.iv.copy_from_slice(out.get(64..).unwrap_or(&[0; 16]));
        Ok(k)
    }
}

/// What the first messages carry until the peer answers (they are PreKey messages).
#[derive(Clone)]
struct Pending {
    prekey_id: Option<u32>,
    signed_prekey_id: u32,
    base_key: PublicKey,
}

/// A session with one device.
#[derive(Clone)]
pub struct Session {
    ours: PublicKey,
    theirs: PublicKey,
    root: [u8; 32],
    ratchet: KeyPair,
    sending: Chain,
    previous_counter: u32,
    /// (the peer's ratchet key, its chain), newest last.
    receiving: Vec<(PublicKey, Chain)>,
    skipped: Vec<((PublicKey, u32), MessageKeys)>,
    pending: Option<Pending>,
    registration_id: u32,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(with {})", keys::fingerprint(&self.theirs))
    }
}

/// An encrypted message for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    /// A PreKey message (the session is not confirmed by the peer yet).
    pub prekey: bool,
}

impl Session {
    /// Begins a session with the device whose bundle this is (X3DH, as the initiator):
    /// our messages are PreKey messages until the device answers.
    pub fn initiate(own: &OwnDevice, bundle: &keys::Bundle) -> Result<Session, OmemoError> {
        if !bundle.verified() {
            return Err(OmemoError::BadSignature);
        }
        let prekey = bundle
            .prekeys
            .get(rand::random::<u32>() as usize % bundle.prekeys.len().max(1))
            .copied();
        let base = KeyPair::generate();
        let mut secret = DISCONTINUITY.to_vec();
        secret.extend(own.identity.agree(&bundle.signed_prekey)?);
        secret.extend(base.agree(&bundle.identity)?);
        secret.extend(base.agree(&bundle.signed_prekey)?);
        if let Some((_, k)) = prekey {
            secret.extend(base.agree(&k)?);
        }
        let mut out = [0u8; 64];
        hkdf(&[0u8; 32], &secret, b"WhisperText", &mut out)?;
        let (root, chain) = split(&out);
        let ratchet = KeyPair::generate();
        let (root, sending) = root_step(&root, &ratchet.agree(&bundle.signed_prekey)?)?;
        Ok(Session {
            ours: own.identity.public(),
            theirs: bundle.identity,
            root,
            ratchet,
            sending: Chain {
                key: sending,
                index: 0,
            },
            previous_counter: 0,
            receiving: vec![(
                bundle.signed_prekey,
                Chain {
                    key: chain,
                    index: 0,
                },
            )],
            skipped: Vec::new(),
            pending: Some(Pending {
                prekey_id: prekey.map(|(id, _)| id),
                signed_prekey_id: bundle.signed_prekey_id,
                base_key: base.public(),
            }),
            registration_id: own.registration_id,
        })
    }

    /// A session begun by the peer's PreKey message (X3DH, as the responder), and the
    /// message's plaintext. The one-time prekey it used is returned for the caller to
    /// delete (and replace) once the result is kept; the device itself is not changed.
    pub fn accept(
        own: &OwnDevice,
        bytes: &[u8],
    ) -> Result<(Session, Vec<u8>, Option<u32>), OmemoError> {
        let m = PreKeyWhisperMessage::parse(bytes)?;
        let signed_prekey = own
            .signed_prekey_by_id(m.signed_prekey_id)
            .ok_or(OmemoError::UnknownPreKey(m.signed_prekey_id))?;
        let prekey = match m.prekey_id {
            Some(id) => Some(own.prekeys.get(&id).ok_or(OmemoError::UnknownPreKey(id))?),
            None => None,
        };
        let their_identity = keys::parse(&m.identity_key)?;
        let base = keys::parse(&m.base_key)?;
        let mut secret = DISCONTINUITY.to_vec();
        secret.extend(signed_prekey.agree(&their_identity)?);
        secret.extend(own.identity.agree(&base)?);
        secret.extend(signed_prekey.agree(&base)?);
        if let Some(k) = prekey {
            secret.extend(k.agree(&base)?);
        }
        let mut out = [0u8; 64];
        hkdf(&[0u8; 32], &secret, b"WhisperText", &mut out)?;
        let (root, chain) = split(&out);
        let mut s = Session {
            ours: own.identity.public(),
            theirs: their_identity,
            root,
            ratchet: signed_prekey.clone(),
            sending: Chain {
                key: chain,
                index: 0,
            },
            previous_counter: 0,
            receiving: Vec::new(),
            skipped: Vec::new(),
            pending: None,
            registration_id: own.registration_id,
        };
        let plain = s.decrypt_whisper(&m.message)?;
        Ok((s, plain, m.prekey_id))
    }

    /// The peer's identity key.
    pub fn their_identity(&self) -> &PublicKey {
        &self.theirs
    }

    /// The session for the vault (never stored unsealed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(self.ours.as_bytes());
        w.bytes(self.theirs.as_bytes());
        w.bytes(&self.root);
        w.bytes(&self.ratchet.secret_bytes());
        w.bytes(&self.sending.key);
        w.u32(self.sending.index);
        w.u32(self.previous_counter);
        w.u32(self.registration_id);
        w.u8(self.receiving.len() as u8);
        for (k, c) in &self.receiving {
            w.bytes(k.as_bytes());
            w.bytes(&c.key);
            w.u32(c.index);
        }
        w.u32(self.skipped.len() as u32);
        for ((k, counter), m) in &self.skipped {
            w.bytes(k.as_bytes());
            w.u32(*counter);
            w.bytes(&m.cipher);
            w.bytes(&m.mac);
            w.bytes(&m.iv);
        }
        match &self.pending {
            None => w.u8(0),
            Some(p) => {
                w.u8(1);
                w.u8(u8::from(p.prekey_id.is_some()));
                w.u32(p.prekey_id.unwrap_or(0));
                w.u32(p.signed_prekey_id);
                w.bytes(p.base_key.as_bytes());
            }
        }
        w.done()
    }

    pub fn from_bytes(b: &[u8]) -> Result<Session, OmemoError> {
        let mut r = Reader::new(b)?;
        let key = |r: &mut Reader<'_>| r.array::<32>().map(PublicKey::from);
        let ours = key(&mut r)?;
        let theirs = key(&mut r)?;
        let root = r.array()?;
        let ratchet = KeyPair::from_secret(r.array()?);
        let sending = Chain {
            key: r.array()?,
            index: r.u32()?,
        };
        let previous_counter = r.u32()?;
        let registration_id = r.u32()?;
        let mut receiving = Vec::new();
        for _ in 0..r.u8()?.min(MAX_RECEIVING as u8) {
            let k = key(&mut r)?;
            receiving.push((
                k,
                Chain {
                    key: r.array()?,
                    index: r.u32()?,
                },
            ));
        }
        let mut skipped = Vec::new();
        for _ in 0..r.u32()?.min(MAX_SKIPPED as u32) {
            let k = key(&mut r)?;
            let counter = r.u32()?;
            skipped.push((
                (k, counter),
                MessageKeys {
                    cipher: r.array()?,
                    mac: r.array()?,
                    iv: r.array()?,
                },
            ));
        }
        let pending = match r.u8()? {
            0 => None,
            _ => {
                let has = r.u8()? != 0;
                let id = r.u32()?;
                Some(Pending {
                    prekey_id: has.then_some(id),
                    signed_prekey_id: r.u32()?,
                    base_key: key(&mut r)?,
                })
            }
        };
        r.end()?;
        Ok(Session {
            ours,
            theirs,
            root,
            ratchet,
            sending,
            previous_counter,
            receiving,
            skipped,
            pending,
            registration_id,
        })
    }

    /// Encrypts for the device. Until the device has answered, a PreKey message.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Sealed, OmemoError> {
        let counter = self.sending.index;
        let k = self.sending.step()?;
        let ciphertext = cbc::Encryptor::<aes::Aes256>::new(&k.cipher.into(), &k.iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let m = WhisperMessage {
            ratchet_key: keys::serialize(&self.ratchet.public()).to_vec(),
            counter,
            previous_counter: self.previous_counter,
            ciphertext,
        };
        let mut bytes = m.to_bytes_unauthenticated();
        let mac = hmac(
            &k.mac,
            &[
                &keys::serialize(&self.ours),
                &keys::serialize(&self.theirs),
                &bytes,
            ],
        )?;
        bytes.extend_from_slice(mac.get(..MAC_LEN).unwrap_or_default());
        let Some(p) = &self.pending else {
            return Ok(Sealed {
                bytes,
                prekey: false,
            });
        };
        let outer = PreKeyWhisperMessage {
            registration_id: self.registration_id,
            prekey_id: p.prekey_id,
            signed_prekey_id: p.signed_prekey_id,
            base_key: keys::serialize(&p.base_key).to_vec(),
            identity_key: keys::serialize(&self.ours).to_vec(),
            message: bytes,
        };
        Ok(Sealed {
            bytes: outer.to_bytes(),
            prekey: true,
        })
    }

    /// Decrypts a message of this session: a normal one, or a PreKey message that
    /// repeats the session's beginning (the peer sent more before our answer came).
    /// On any failure the session is as it was.
    pub fn decrypt(&mut self, bytes: &[u8], prekey: bool) -> Result<Vec<u8>, OmemoError> {
        let inner = if prekey {
            let m = PreKeyWhisperMessage::parse(bytes)?;
            if keys::parse(&m.identity_key)? != self.theirs {
                return Err(OmemoError::UntrustedIdentity);
            }
            m.message
        } else {
            bytes.to_vec()
        };
        let mut next = self.clone();
        let plain = next.decrypt_whisper(&inner)?;
        *self = next;
        Ok(plain)
    }

    fn decrypt_whisper(&mut self, bytes: &[u8]) -> Result<Vec<u8>, OmemoError> {
        let (m, signed, mac) = WhisperMessage::parse(bytes)?;
        if signed.first() != Some(&VERSION) {
            return Err(OmemoError::Malformed("not a version 3 message"));
        }
        let their_ratchet = keys::parse(&m.ratchet_key)?;
        let k = self.message_keys(their_ratchet, m.counter)?;
        let want = hmac(
            &k.mac,
            &[
                &keys::serialize(&self.theirs),
                &keys::serialize(&self.ours),
                signed,
            ],
        )?;
        if !want
            .get(..MAC_LEN)
            .is_some_and(|w| crate::omemo::same_mac(w, mac))
        {
            return Err(OmemoError::BadMac);
        }
        let plain = cbc::Decryptor::<aes::Aes256>::new(&k.cipher.into(), &k.iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&m.ciphertext)
            .map_err(|_| OmemoError::Crypto("bad padding"))?;
        // The peer has our answer: our next messages need no prekey part.
        self.pending = None;
        Ok(plain)
    }

    /// The keys of message `counter` on the peer's chain `their_ratchet`: skipped
    /// before, on a chain we know, or after a ratchet step to a new one.
    fn message_keys(
        &mut self,
        their_ratchet: PublicKey,
        counter: u32,
    ) -> Result<MessageKeys, OmemoError> {
        if let Some(i) = self
            .skipped
            .iter()
            .position(|((r, c), _)| *r == their_ratchet && *c == counter)
        {
            return Ok(self.skipped.remove(i).1);
        }
        if !self.receiving.iter().any(|(r, _)| *r == their_ratchet) {
            self.ratchet_step(their_ratchet)?;
        }
        let skipped = &mut self.skipped;
        let Some((_, chain)) = self.receiving.iter_mut().find(|(r, _)| *r == their_ratchet) else {
            return Err(OmemoError::Crypto("no receiving chain"));
        };
        if counter < chain.index {
            return Err(OmemoError::Duplicate);
        }
        if counter - chain.index > MAX_JUMP {
            return Err(OmemoError::Malformed("a counter too far ahead"));
        }
        while chain.index < counter {
            let index = chain.index;
            let k = chain.step()?;
            if skipped.len() >= MAX_SKIPPED {
                skipped.remove(0);
            }
            skipped.push(((their_ratchet, index), k));
        }
        chain.step()
    }

    /// The peer's new ratchet key: a receiving chain for it, and a new sending chain
    /// with a new key of ours.
    fn ratchet_step(&mut self, their_ratchet: PublicKey) -> Result<(), OmemoError> {
        let (root, receiving) = root_step(&self.root, &self.ratchet.agree(&their_ratchet)?)?;
        let ratchet = KeyPair::generate();
        let (root, sending) = root_step(&root, &ratchet.agree(&their_ratchet)?)?;
        self.previous_counter = self.sending.index.saturating_sub(1);
        self.root = root;
        self.ratchet = ratchet;
        self.sending = Chain {
            key: sending,
            index: 0,
        };
        if self.receiving.len() >= MAX_RECEIVING {
            self.receiving.remove(0);
        }
        self.receiving.push((
            their_ratchet,
            Chain {
                key: receiving,
                index: 0,
            },
        ));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
