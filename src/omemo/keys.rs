//! Curve25519 keys as OMEMO 0.3 (libsignal) writes them, and XEdDSA signatures made
//! with an identity key (the signed prekey's). Primitives: x25519-dalek and xeddsa.

use std::collections::BTreeMap;

use x25519_dalek::{PublicKey, StaticSecret};
use xeddsa::xed25519;
use xeddsa::{Sign, Verify};

use super::OmemoError;

/// libsignal's type byte for a Curve25519 public key ("DJB").
pub const DJB_TYPE: u8 = 0x05;

/// A Curve25519 key pair (identity, signed prekey, prekey or ratchet key).
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret half.
        write!(f, "KeyPair({})", hex(&self.public.to_bytes()))
    }
}

impl KeyPair {
    pub fn generate() -> KeyPair {
        KeyPair::from_secret(rand::random())
    }

    pub fn from_secret(bytes: [u8; 32]) -> KeyPair {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret);
        KeyPair { secret, public }
    }

    pub fn public(&self) -> PublicKey {
        self.public
    }

    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// X25519 with `their` key. An all-zero result (a low-order point sent by a
    /// peer) is refused: it would make the shared secret known to anyone.
    pub fn agree(&self, their: &PublicKey) -> Result<[u8; 32], OmemoError> {
        let shared = self.secret.diffie_hellman(their);
        if !shared.was_contributory() {
            return Err(OmemoError::BadKey("a low-order public key"));
        }
        Ok(shared.to_bytes())
    }

    /// An XEdDSA signature by this (identity) key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let key = xed25519::PrivateKey::from(&self.secret);
        key.sign(message, rand010::rng())
    }
}

/// Whether `signature` is `identity`'s signature of `message`: XEdDSA, or libsignal's
/// older scheme that keeps the Edwards key's sign in the signature's top bit (what
/// clients whose identity is an Ed25519 key send, python-omemo among them). An XEdDSA
/// signature has that bit clear, so one rule reads both.
pub fn verify(identity: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(mut sig) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    let sign = sig[63] >> 7;
    sig[63] &= 0x7f;
    if sign == 0 {
        return xed25519::PublicKey::from(identity)
            .verify(message, &sig)
            .is_ok();
    }
    let mont = curve25519_dalek::montgomery::MontgomeryPoint(identity.to_bytes());
    let Some(edwards) = mont.to_edwards(sign) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&edwards.compress().to_bytes()) else {
        return false;
    };
    ed25519_dalek::Verifier::verify(&key, message, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

/// The 33-byte form: the type byte, then the key.
pub fn serialize(key: &PublicKey) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = DJB_TYPE;
    out[1..].copy_from_slice(key.as_bytes());
    out
}

/// A public key in the 33-byte form (the 32-byte one is taken too: some clients
/// publish it so).
pub fn parse(bytes: &[u8]) -> Result<PublicKey, OmemoError> {
    let raw: [u8; 32] = match bytes {
        [DJB_TYPE, rest @ ..] if rest.len() == 32 => rest.try_into().map_err(|_| bad())?,
        _ if bytes.len() == 32 => bytes.try_into().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Ok(PublicKey::from(raw))
}

fn bad() -> OmemoError {
    OmemoError::BadKey("not a Curve25519 public key")
}

/// Lower-case hex, for fingerprints and logs.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a device publishes for others to start sessions with it (X3DH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub identity: PublicKey,
    pub signed_prekey_id: u32,
    pub signed_prekey: PublicKey,
    pub signature: Vec<u8>,
    pub prekeys: Vec<(u32, PublicKey)>,
}

impl Bundle {
    /// Whether the signed prekey carries its identity key's signature.
    pub fn verified(&self) -> bool {
        verify(
            &self.identity,
            &serialize(&self.signed_prekey),
            &self.signature,
        )
    }
}

/// How many one-time prekeys a device offers (XEP-0384: at least 100).
pub const PREKEYS: u32 = 100;

/// Our device's keys: the identity (for as long as the device exists), the signed
/// prekey (rotated) and the one-time prekeys (each used once, then replaced).
#[derive(Clone)]
pub struct OwnDevice {
    pub device_id: u32,
    /// libsignal's registration id (sent in PreKey messages; nobody checks it).
    pub registration_id: u32,
    pub identity: KeyPair,
    pub signed_prekey_id: u32,
    pub signed_prekey: KeyPair,
    pub signature: [u8; 64],
    pub prekeys: BTreeMap<u32, KeyPair>,
    /// The next prekey id to hand out.
    pub next_prekey_id: u32,
    /// When the signed prekey was made (seconds since the epoch).
    pub signed_prekey_made: u64,
    /// The signed prekey before the last rotation: a PreKey message built from the
    /// bundle a peer fetched before it still opens.
    pub previous_signed_prekey: Option<(u32, KeyPair)>,
}

/// How long a signed prekey is used before a new one replaces it (XEP-0384 asks for
/// rotation; Conversations and python-omemo rotate weekly).
pub const SIGNED_PREKEY_LIFETIME: u64 = 7 * 24 * 3600;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl OwnDevice {
    /// A new device with a random id, fresh keys and [`PREKEYS`] prekeys.
    pub fn generate() -> OwnDevice {
        // Device ids are 31-bit and never 0 (XEP-0384).
        let device_id = rand::random::<u32>() % 0x7fff_fffe + 1;
        let identity = KeyPair::generate();
        let signed_prekey = KeyPair::generate();
        let signature = identity.sign(&serialize(&signed_prekey.public()));
        let mut d = OwnDevice {
            device_id,
            registration_id: rand::random::<u32>() % 16380 + 1,
            identity,
            signed_prekey_id: 1,
            signed_prekey,
            signature,
            prekeys: BTreeMap::new(),
            next_prekey_id: 1,
            signed_prekey_made: now_secs(),
            previous_signed_prekey: None,
        };
        d.refill_prekeys();
        d
    }

    /// Replaces the signed prekey when it is older than [`SIGNED_PREKEY_LIFETIME`]
    /// at `now` (seconds); the old one is kept for messages already under way.
    /// Whether it rotated (the bundle must be published again).
    pub fn rotate_signed_prekey(&mut self, now: u64) -> bool {
        if now.saturating_sub(self.signed_prekey_made) < SIGNED_PREKEY_LIFETIME {
            return false;
        }
        let new = KeyPair::generate();
        let old = std::mem::replace(&mut self.signed_prekey, new);
        self.previous_signed_prekey = Some((self.signed_prekey_id, old));
        self.signed_prekey_id = self.signed_prekey_id % 0x00ff_ffff + 1;
        self.signature = self.identity.sign(&serialize(&self.signed_prekey.public()));
        self.signed_prekey_made = now;
        true
    }

    /// The signed prekey with this id: the current one or the one before.
    pub fn signed_prekey_by_id(&self, id: u32) -> Option<&KeyPair> {
        if id == self.signed_prekey_id {
            return Some(&self.signed_prekey);
        }
        match &self.previous_signed_prekey {
            Some((old, k)) if *old == id => Some(k),
            _ => None,
        }
    }

    /// Tops the one-time prekeys up to [`PREKEYS`] (after some were used).
    pub fn refill_prekeys(&mut self) {
        while (self.prekeys.len() as u32) < PREKEYS {
            self.prekeys
                .insert(self.next_prekey_id, KeyPair::generate());
            self.next_prekey_id = self.next_prekey_id % 0x00ff_ffff + 1;
        }
    }

    pub fn bundle(&self) -> Bundle {
        Bundle {
            identity: self.identity.public(),
            signed_prekey_id: self.signed_prekey_id,
            signed_prekey: self.signed_prekey.public(),
            signature: self.signature.to_vec(),
            prekeys: self
                .prekeys
                .iter()
                .map(|(id, k)| (*id, k.public()))
                .collect(),
        }
    }

    /// The fingerprint people compare: the identity key in hex, as Conversations shows it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.identity.public())
    }

    /// The device's secrets, for the vault (never stored unsealed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = super::persist::Writer::new();
        w.u32(self.device_id);
        w.u32(self.registration_id);
        w.bytes(&self.identity.secret_bytes());
        w.u32(self.signed_prekey_id);
        w.bytes(&self.signed_prekey.secret_bytes());
        w.bytes(&self.signature);
        w.u32(self.next_prekey_id);
        w.u32(self.prekeys.len() as u32);
        for (id, k) in &self.prekeys {
            w.u32(*id);
            w.bytes(&k.secret_bytes());
        }
        w.u32((self.signed_prekey_made >> 32) as u32);
        w.u32(self.signed_prekey_made as u32);
        match &self.previous_signed_prekey {
            None => w.u8(0),
            Some((id, k)) => {
                w.u8(1);
                w.u32(*id);
                w.bytes(&k.secret_bytes());
            }
        }
        w.done()
    }

    pub fn from_bytes(b: &[u8]) -> Result<OwnDevice, OmemoError> {
        let mut r = super::persist::Reader::new(b)?;
        let device_id = r.u32()?;
        let registration_id = r.u32()?;
        let identity = KeyPair::from_secret(r.array()?);
        let signed_prekey_id = r.u32()?;
        let signed_prekey = KeyPair::from_secret(r.array()?);
        let signature = r.array()?;
        let next_prekey_id = r.u32()?;
        let n = r.u32()?;
        let mut prekeys = BTreeMap::new();
        for _ in 0..n.min(10_000) {
            let id = r.u32()?;
            prekeys.insert(id, KeyPair::from_secret(r.array()?));
        }
        // Version 1 had no rotation: its signed prekey counts as made now.
        let (signed_prekey_made, previous_signed_prekey) = if r.version() >= 2 && !r.at_end() {
            let made = (u64::from(r.u32()?) << 32) | u64::from(r.u32()?);
            let previous = match r.u8()? {
                0 => None,
                _ => Some((r.u32()?, KeyPair::from_secret(r.array()?))),
            };
            (made, previous)
        } else {
            (now_secs(), None)
        };
        r.end()?;
        Ok(OwnDevice {
            device_id,
            registration_id,
            identity,
            signed_prekey_id,
            signed_prekey,
            signature,
            prekeys,
            next_prekey_id,
            signed_prekey_made,
            previous_signed_prekey,
        })
    }
}

/// A device's fingerprint (its identity key, hex, without the type byte).
pub fn fingerprint(identity: &PublicKey) -> String {
    hex(identity.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Our XEdDSA signatures verify; so do signatures by an Ed25519 identity that
    /// carry the Edwards sign bit in the signature (libsignal's older form, what
    /// python-omemo sends), whichever that bit is; a wrong message or key does not.
    #[test]
    fn both_signature_forms_verify_and_forgeries_do_not() {
        let id = KeyPair::generate();
        let msg = serialize(&KeyPair::generate().public());
        let sig = id.sign(&msg);
        assert_eq!(sig[63] & 0x80, 0, "XEdDSA leaves the sign bit clear");
        assert!(verify(&id.public(), &msg, &sig));
        assert!(!verify(&id.public(), b"another message", &sig));
        assert!(!verify(&KeyPair::generate().public(), &msg, &sig));
        assert!(!verify(&id.public(), &msg, &sig[..63]));

        let mut signs = [false; 2];
        for seed in 0u8..=255 {
            let ed = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let point = ed.verifying_key().to_bytes();
            let sign = point[31] >> 7;
            signs[sign as usize] = true;
            let mont = curve25519_dalek::edwards::CompressedEdwardsY(point)
                .decompress()
                .unwrap()
                .to_montgomery();
            let identity = PublicKey::from(mont.to_bytes());
            let mut sig = ed25519_dalek::Signer::sign(&ed, &msg).to_bytes();
            sig[63] |= sign << 7;
            assert!(verify(&identity, &msg, &sig), "seed {seed}, sign {sign}");
            sig[63] ^= 0x80;
            assert!(!verify(&identity, &msg, &sig), "the wrong sign bit");
            if signs == [true, true] {
                return;
            }
        }
        panic!("no key of each sign");
    }

    #[test]
    fn keys_parse_in_both_forms_and_nothing_else() {
        let k = KeyPair::generate().public();
        assert_eq!(parse(&serialize(&k)).unwrap(), k);
        assert_eq!(parse(k.as_bytes()).unwrap(), k);
        assert!(parse(&[0x06; 33]).is_err());
        assert!(parse(&[0x05; 20]).is_err());
        assert!(parse(&[]).is_err());
        // A low-order point gives no shared secret.
        let zero = PublicKey::from([0u8; 32]);
        assert!(KeyPair::generate().agree(&zero).is_err());
    }
}
