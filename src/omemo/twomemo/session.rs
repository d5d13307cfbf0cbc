//! A session with one device in OMEMO 2 (`urn:xmpp:omemo:2`): X3DH with the identity
//! published as an Ed25519 key, and the Double Ratchet as XEP-0384 (and
//! python-twomemo) configure it: "OMEMO X3DH" gives one 32-byte secret, the root
//! chain is HKDF "OMEMO Root Chain", each message key becomes AES-256-CBC and
//! HMAC-SHA-256 keys through HKDF "OMEMO Message Key Material", and the MAC (16
//! bytes) covers both identities and the whole `OMEMOMessage`. Pure: bytes in,
//! bytes out. What it encrypts is a payload's key material (see `super::seal`).

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::PublicKey;

use super::super::keys::{KeyPair, OwnDevice};
use super::super::persist::{Reader, Writer};
use super::proto::{Authenticated, KeyExchange, OmemoMessage};
use super::{curve_of, own_identity, Bundle, OmemoError};

/// Skipped message keys kept per session.
pub const MAX_SKIPPED: usize = 2000;
/// How far ahead of its chain a message may be.
pub const MAX_JUMP: u32 = 2000;
/// The MAC's length after truncation.
pub const MAC_LEN: usize = 16;

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), OmemoError> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| OmemoError::Crypto("HKDF length"))
}

fn hmac(key: &[u8], data: &[&[u8]]) -> Result<[u8; 32], OmemoError> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|_| OmemoError::Crypto("HMAC key"))?;
    for d in data {
        m.update(d);
    }
    Ok(m.finalize().into_bytes().into())
}

fn halves(out: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(out.get(..32).unwrap_or(&[0; 32]));
    b.copy_from_slice(out.get(32..).unwrap_or(&[0; 32]));
    (a, b)
}

/// The root chain: a new root key and a chain key from a ratchet DH.
fn root_step(root: &[u8; 32], dh: &[u8; 32]) -> Result<([u8; 32], [u8; 32]), OmemoError> {
    let mut out = [0u8; 64];
    hkdf(root, dh, b"OMEMO Root Chain", &mut out)?;
    Ok(halves(&out))
}

/// An AES-256-CBC key, an HMAC key and an IV.
pub(super) type Keys = ([u8; 32], [u8; 32], [u8; 16]);

/// AES-256-CBC and HMAC keys and the IV for one message key (or a payload key,
/// with its own label).
pub(super) fn expand(key: &[u8], info: &[u8]) -> Result<Keys, OmemoError> {
    let mut out = [0u8; 80];
    hkdf(&[0u8; 32], key, info, &mut out)?;
    let mut enc = [0u8; 32];
    let mut auth = [0u8; 32];
    let mut iv = [0u8; 16];
    enc.copy_from_slice(out.get(..32).unwrap_or(&[0; 32]));
    auth.copy_from_slice(out.get(32..64).unwrap_or(&[0; 32]));
    iv.copy_from_slice(out.get(64..).unwrap_or(&[0; 16]));
    Ok((enc, auth, iv))
}

pub(super) fn cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(&(*key).into(), &(*iv).into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain)
}

pub(super) fn cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], c: &[u8]) -> Result<Vec<u8>, OmemoError> {
    cbc::Decryptor::<aes::Aes256>::new(&(*key).into(), &(*iv).into())
        .decrypt_padded_vec_mut::<Pkcs7>(c)
        .map_err(|_| OmemoError::Crypto("bad padding"))
}

pub(super) fn mac16(key: &[u8], data: &[&[u8]]) -> Result<[u8; MAC_LEN], OmemoError> {
    let full = hmac(key, data)?;
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(full.get(..MAC_LEN).unwrap_or(&[0; MAC_LEN]));
    Ok(out)
}

/// A sending or receiving chain: its key and how many steps it has taken.
#[derive(Clone)]
struct Chain {
    key: [u8; 32],
    length: u32,
}

impl Chain {
    /// The next message key (HMAC with 0x01; the chain moves on with 0x02).
    fn step(&mut self) -> Result<[u8; 32], OmemoError> {
        let mk = hmac(&self.key, &[&[0x01]])?;
        self.key = hmac(&self.key, &[&[0x02]])?;
        self.length = self
            .length
            .checked_add(1)
            .ok_or(OmemoError::Crypto("a chain at its end"))?;
        Ok(mk)
    }
}

/// What our messages carry until the device answers: the X3DH we began.
#[derive(Clone)]
struct Kex {
    pk_id: u32,
    spk_id: u32,
    ek: PublicKey,
}

/// A session with one device (OMEMO 2).
#[derive(Clone)]
pub struct Session {
    /// The initiator's identity, then the responder's (Ed25519): what every MAC covers.
    ad: [u8; 64],
    /// The device's identity (Ed25519), as it published it.
    theirs: [u8; 32],
    root: [u8; 32],
    ratchet: KeyPair,
    their_ratchet: Option<PublicKey>,
    sending: Option<Chain>,
    previous_sending: u32,
    receiving: Option<Chain>,
    skipped: VecDeque<((PublicKey, u32), [u8; 32])>,
    kex: Option<Kex>,
    /// The ephemeral key of the exchange that began it, when the device began it
    /// (a repeated exchange is this session; another one a new session).
    their_ek: Option<[u8; 32]>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Session2(with {})",
            super::super::keys::hex(&self.theirs)
        )
    }
}

/// An encrypted key material for one device: an `OMEMOKeyExchange` (`kex`) until the
/// device has answered, else an `OMEMOAuthenticatedMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    pub kex: bool,
}

/// The X3DH secret: HKDF over 32 0xFF bytes and the DH outputs.
fn x3dh(dhs: &[[u8; 32]]) -> Result<[u8; 32], OmemoError> {
    let mut ikm = vec![0xffu8; 32];
    for d in dhs {
        ikm.extend_from_slice(d);
    }
    let mut sk = [0u8; 32];
    hkdf(&[0u8; 32], &ikm, b"OMEMO X3DH", &mut sk)?;
    Ok(sk)
}

/// The initiator's identity, then the responder's.
fn both(initiator: &[u8; 32], responder: &[u8; 32]) -> [u8; 64] {
    let mut ad = [0u8; 64];
    let (a, b) = ad.split_at_mut(32);
    a.copy_from_slice(initiator);
    b.copy_from_slice(responder);
    ad
}

fn key32(b: &[u8], what: &'static str) -> Result<[u8; 32], OmemoError> {
    b.try_into().map_err(|_| OmemoError::BadKey(what))
}

impl Session {
    /// Begins a session with the device whose bundle this is (X3DH as the initiator,
    /// with one of its prekeys): our messages are key exchanges until it answers.
    pub fn initiate(own: &OwnDevice, bundle: &Bundle) -> Result<Session, OmemoError> {
        if !bundle.verified() {
            return Err(OmemoError::BadSignature);
        }
        let (pk_id, pk) = *bundle
            .prekeys
            .get(rand::random::<u32>() as usize % bundle.prekeys.len().max(1))
            .ok_or(OmemoError::Malformed("a bundle without prekeys"))?;
        let ek = KeyPair::generate();
        let their_curve = curve_of(&bundle.identity)?;
        let sk = x3dh(&[
            own.identity.agree(&bundle.signed_prekey)?,
            ek.agree(&their_curve)?,
            ek.agree(&bundle.signed_prekey)?,
            ek.agree(&pk)?,
        ])?;
        let ad = both(&own_identity(own)?, &bundle.identity);
        let ratchet = KeyPair::generate();
        let (root, chain) = root_step(&sk, &ratchet.agree(&bundle.signed_prekey)?)?;
        Ok(Session {
            ad,
            theirs: bundle.identity,
            root,
            ratchet,
            their_ratchet: Some(bundle.signed_prekey),
            sending: Some(Chain {
                key: chain,
                length: 0,
            }),
            previous_sending: 0,
            receiving: None,
            skipped: VecDeque::new(),
            kex: Some(Kex {
                pk_id,
                spk_id: bundle.signed_prekey_id,
                ek: ek.public(),
            }),
            their_ek: None,
        })
    }

    /// A session begun by the device's key exchange (X3DH as the responder), and what
    /// its message held. The prekey it used is returned for the caller to delete
    /// (and replace) once the result is kept.
    pub fn accept(own: &OwnDevice, bytes: &[u8]) -> Result<(Session, Vec<u8>, u32), OmemoError> {
        let kex = KeyExchange::parse(bytes)?;
        let spk = own
            .signed_prekey_by_id(kex.spk_id)
            .ok_or(OmemoError::UnknownPreKey(kex.spk_id))?;
        let pk = own
            .prekeys
            .get(&kex.pk_id)
            .ok_or(OmemoError::UnknownPreKey(kex.pk_id))?;
        let theirs = key32(&kex.ik, "not an Ed25519 identity")?;
        let their_curve = curve_of(&theirs)?;
        let ek = PublicKey::from(key32(&kex.ek, "not a Curve25519 key")?);
        let sk = x3dh(&[
            spk.agree(&their_curve)?,
            own.identity.agree(&ek)?,
            spk.agree(&ek)?,
            pk.agree(&ek)?,
        ])?;
        let ad = both(&theirs, &own_identity(own)?);
        let mut s = Session {
            ad,
            theirs,
            root: sk,
            ratchet: spk.clone(),
            their_ratchet: None,
            sending: None,
            previous_sending: 0,
            receiving: None,
            skipped: VecDeque::new(),
            kex: None,
            their_ek: Some(ek.to_bytes()),
        };
        let plain = s.open(&kex.message)?;
        Ok((s, plain, kex.pk_id))
    }

    /// The device's identity (Ed25519).
    pub fn their_identity(&self) -> &[u8; 32] {
        &self.theirs
    }

    /// Whether a key exchange is the one that began this session (the device sent
    /// more before our answer reached it): its message is then this session's.
    pub fn is_our_exchange(&self, bytes: &[u8]) -> bool {
        KeyExchange::parse(bytes).is_ok_and(|k| {
            k.ik == self.theirs
                && Some(k.ek.as_slice()) == self.their_ek.as_ref().map(|e| e.as_slice())
        })
    }

    /// Encrypts (a payload's key material) for the device.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Sealed, OmemoError> {
        let sending = self
            .sending
            .as_mut()
            .ok_or(OmemoError::Crypto("no sending chain yet"))?;
        let n = sending.length;
        let mk = sending.step()?;
        let (enc, auth, iv) = expand(&mk, b"OMEMO Message Key Material")?;
        let message = OmemoMessage {
            n,
            pn: self.previous_sending,
            dh_pub: self.ratchet.public().to_bytes().to_vec(),
            ciphertext: cbc_encrypt(&enc, &iv, plaintext),
        }
        .to_bytes();
        let mac = mac16(&auth, &[&self.ad, &message])?;
        let authenticated = Authenticated {
            mac: mac.to_vec(),
            message,
        };
        let Some(k) = &self.kex else {
            return Ok(Sealed {
                bytes: authenticated.to_bytes(),
                kex: false,
            });
        };
        let kex = KeyExchange {
            pk_id: k.pk_id,
            spk_id: k.spk_id,
            ik: self.ad.get(..32).unwrap_or_default().to_vec(),
            ek: k.ek.to_bytes().to_vec(),
            message: authenticated,
        };
        Ok(Sealed {
            bytes: kex.to_bytes(),
            kex: true,
        })
    }

    /// Decrypts a message of this session: an `OMEMOAuthenticatedMessage`, or
    /// (`kex`) the exchange that began it, repeated. On any failure the session is
    /// as it was.
    pub fn decrypt(&mut self, bytes: &[u8], kex: bool) -> Result<Vec<u8>, OmemoError> {
        let authenticated = if kex {
            if !self.is_our_exchange(bytes) {
                return Err(OmemoError::UntrustedIdentity);
            }
            KeyExchange::parse(bytes)?.message
        } else {
            Authenticated::parse(bytes)?
        };
        let mut next = self.clone();
        let plain = next.open(&authenticated)?;
        *self = next;
        Ok(plain)
    }

    fn open(&mut self, a: &Authenticated) -> Result<Vec<u8>, OmemoError> {
        let m = OmemoMessage::parse(&a.message)?;
        let their = PublicKey::from(key32(&m.dh_pub, "not a ratchet key")?);
        let mk = self.message_key(their, m.n, m.pn)?;
        let (enc, auth, iv) = expand(&mk, b"OMEMO Message Key Material")?;
        if !crate::omemo::same_mac(&mac16(&auth, &[&self.ad, &a.message])?, &a.mac) {
            return Err(OmemoError::BadMac);
        }
        let plain = cbc_decrypt(&enc, &iv, &m.ciphertext)?;
        // The device has our answer: no more key exchanges.
        self.kex = None;
        Ok(plain)
    }

    /// The key of message `n` on the device's chain `their`: skipped before, or on
    /// the chain we have, or after a ratchet step (keys up to `pn` of the chain
    /// before kept as skipped).
    fn message_key(&mut self, their: PublicKey, n: u32, pn: u32) -> Result<[u8; 32], OmemoError> {
        if let Some(i) = self
            .skipped
            .iter()
            .position(|((r, c), _)| *r == their && *c == n)
        {
            if let Some((_, mk)) = self.skipped.remove(i) {
                return Ok(mk);
            }
        }
        if self.their_ratchet != Some(their) {
            if let (Some(chain), Some(old)) = (self.receiving.as_mut(), self.their_ratchet) {
                // Past MAX_JUMP the old chain's stragglers are given up, not the step.
                if pn.saturating_sub(chain.length) <= MAX_JUMP {
                    skip(&mut self.skipped, chain, old, pn)?;
                }
            }
            self.ratchet_step(their)?;
        }
        let chain = self
            .receiving
            .as_mut()
            .ok_or(OmemoError::Crypto("no receiving chain"))?;
        if n < chain.length {
            return Err(OmemoError::Duplicate);
        }
        if n - chain.length > MAX_JUMP {
            return Err(OmemoError::Malformed("a counter too far ahead"));
        }
        skip(&mut self.skipped, chain, their, n)?;
        chain.step()
    }

    fn ratchet_step(&mut self, their: PublicKey) -> Result<(), OmemoError> {
        let (root, receiving) = root_step(&self.root, &self.ratchet.agree(&their)?)?;
        let ratchet = KeyPair::generate();
        let (root, sending) = root_step(&root, &ratchet.agree(&their)?)?;
        self.previous_sending = self.sending.as_ref().map_or(0, |c| c.length);
        self.root = root;
        self.ratchet = ratchet;
        self.their_ratchet = Some(their);
        self.receiving = Some(Chain {
            key: receiving,
            length: 0,
        });
        self.sending = Some(Chain {
            key: sending,
            length: 0,
        });
        Ok(())
    }

    /// The session for the vault (never stored unsealed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.ad);
        w.bytes(&self.root);
        w.bytes(&self.ratchet.secret_bytes());
        let opt_key = |w: &mut Writer, k: Option<[u8; 32]>| match k {
            Some(k) => {
                w.u8(1);
                w.bytes(&k);
            }
            None => w.u8(0),
        };
        opt_key(&mut w, self.their_ratchet.map(|k| k.to_bytes()));
        for c in [&self.sending, &self.receiving] {
            opt_key(&mut w, c.as_ref().map(|c| c.key));
            w.u32(c.as_ref().map_or(0, |c| c.length));
        }
        w.u32(self.previous_sending);
        w.u32(self.skipped.len() as u32);
        for ((k, n), mk) in &self.skipped {
            w.bytes(k.as_bytes());
            w.u32(*n);
            w.bytes(mk);
        }
        match &self.kex {
            Some(k) => {
                w.u8(1);
                w.u32(k.pk_id);
                w.u32(k.spk_id);
                w.bytes(k.ek.as_bytes());
            }
            None => w.u8(0),
        }
        opt_key(&mut w, self.their_ek);
        w.done()
    }

    pub fn from_bytes(b: &[u8]) -> Result<Session, OmemoError> {
        let mut r = Reader::new(b)?;
        let ad: [u8; 64] = r.array()?;
        let root = r.array()?;
        let ratchet = KeyPair::from_secret(r.array()?);
        let opt_key = |r: &mut Reader<'_>| -> Result<Option<[u8; 32]>, OmemoError> {
            match r.u8()? {
                0 => Ok(None),
                _ => Ok(Some(r.array()?)),
            }
        };
        let their_ratchet = opt_key(&mut r)?.map(PublicKey::from);
        let chain = |r: &mut Reader<'_>| -> Result<Option<Chain>, OmemoError> {
            let key = opt_key(r)?;
            let length = r.u32()?;
            Ok(key.map(|key| Chain { key, length }))
        };
        let sending = chain(&mut r)?;
        let receiving = chain(&mut r)?;
        let previous_sending = r.u32()?;
        let mut skipped = VecDeque::new();
        for _ in 0..r.u32()?.min(MAX_SKIPPED as u32) {
            let k = PublicKey::from(r.array::<32>()?);
            let n = r.u32()?;
            skipped.push_back(((k, n), r.array()?));
        }
        let kex = match r.u8()? {
            0 => None,
            _ => Some(Kex {
                pk_id: r.u32()?,
                spk_id: r.u32()?,
                ek: PublicKey::from(r.array::<32>()?),
            }),
        };
        let their_ek = opt_key(&mut r)?;
        r.end()?;
        let mut theirs = [0u8; 32];
        // The responder's identity is the second half when we began; the first
        // when the device did (then we kept its exchange's key).
        let half = if their_ek.is_some() { 0..32 } else { 32..64 };
        theirs.copy_from_slice(ad.get(half).unwrap_or(&[0; 32]));
        Ok(Session {
            ad,
            theirs,
            root,
            ratchet,
            their_ratchet,
            sending,
            previous_sending,
            receiving,
            skipped,
            kex,
            their_ek,
        })
    }
}

/// Keeps the keys of `chain` (the device's ratchet key `their`) up to message
/// `upto` as skipped, the oldest going first past [`MAX_SKIPPED`].
fn skip(
    skipped: &mut VecDeque<((PublicKey, u32), [u8; 32])>,
    chain: &mut Chain,
    their: PublicKey,
    upto: u32,
) -> Result<(), OmemoError> {
    while chain.length < upto {
        let n = chain.length;
        let mk = chain.step()?;
        if skipped.len() >= MAX_SKIPPED {
            skipped.pop_front();
        }
        skipped.push_back(((their, n), mk));
    }
    Ok(())
}
