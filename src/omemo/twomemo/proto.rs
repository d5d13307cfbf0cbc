//! OMEMO 2's three protobuf messages (twomemo.proto in python-twomemo, XEP-0384
//! §"Protobuf"): `OMEMOMessage` (the ratchet header and the ciphertext),
//! `OMEMOAuthenticatedMessage` (a MAC and the `OMEMOMessage` as sent), and
//! `OMEMOKeyExchange` (what begins a session, with the first message inside).

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::super::wire::{as_bytes, as_u32, field_bytes, field_varint, fields};
use super::OmemoError;

/// A Double Ratchet message: `n` (its number on the sending chain), `pn` (the length
/// of the sender's previous chain), the sender's ratchet key (32 bytes) and the
/// ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OmemoMessage {
    pub n: u32,
    pub pn: u32,
    pub dh_pub: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl OmemoMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.ciphertext.len() + 48);
        field_varint(&mut out, 1, self.n);
        field_varint(&mut out, 2, self.pn);
        field_bytes(&mut out, 3, &self.dh_pub);
        field_bytes(&mut out, 4, &self.ciphertext);
        out
    }

    pub fn parse(b: &[u8]) -> Result<OmemoMessage, OmemoError> {
        let mut m = OmemoMessage::default();
        let (mut n, mut pn, mut dh) = (false, false, false);
        for (field, v) in fields(b)? {
            match field {
                1 => (m.n, n) = (as_u32(&v)?, true),
                2 => (m.pn, pn) = (as_u32(&v)?, true),
                3 => (m.dh_pub, dh) = (as_bytes(&v)?, true),
                4 => m.ciphertext = as_bytes(&v)?,
                _ => {}
            }
        }
        if !(n && pn && dh) {
            return Err(OmemoError::Malformed("an OMEMO message without its header"));
        }
        Ok(m)
    }
}

/// A MAC (16 bytes) and the `OMEMOMessage` it covers, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authenticated {
    pub mac: Vec<u8>,
    pub message: Vec<u8>,
}

impl Authenticated {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 24);
        field_bytes(&mut out, 1, &self.mac);
        field_bytes(&mut out, 2, &self.message);
        out
    }

    pub fn parse(b: &[u8]) -> Result<Authenticated, OmemoError> {
        let mut m = Authenticated::default();
        let (mut mac, mut message) = (false, false);
        for (field, v) in fields(b)? {
            match field {
                1 => (m.mac, mac) = (as_bytes(&v)?, true),
                2 => (m.message, message) = (as_bytes(&v)?, true),
                _ => {}
            }
        }
        if !(mac && message) {
            return Err(OmemoError::Malformed(
                "an authenticated message missing a part",
            ));
        }
        Ok(m)
    }
}

/// The first messages of a session (`kex`): the prekey and signed prekey used, the
/// sender's identity (Ed25519) and ephemeral key, and the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyExchange {
    pub pk_id: u32,
    pub spk_id: u32,
    pub ik: Vec<u8>,
    pub ek: Vec<u8>,
    pub message: Authenticated,
}

impl KeyExchange {
    pub fn to_bytes(&self) -> Vec<u8> {
        let inner = self.message.to_bytes();
        let mut out = Vec::with_capacity(inner.len() + 80);
        field_varint(&mut out, 1, self.pk_id);
        field_varint(&mut out, 2, self.spk_id);
        field_bytes(&mut out, 3, &self.ik);
        field_bytes(&mut out, 4, &self.ek);
        field_bytes(&mut out, 5, &inner);
        out
    }

    pub fn parse(b: &[u8]) -> Result<KeyExchange, OmemoError> {
        let mut m = KeyExchange::default();
        let mut seen = [false; 5];
        for (field, v) in fields(b)? {
            match field {
                1 => m.pk_id = as_u32(&v)?,
                2 => m.spk_id = as_u32(&v)?,
                3 => m.ik = as_bytes(&v)?,
                4 => m.ek = as_bytes(&v)?,
                5 => m.message = Authenticated::parse(&as_bytes(&v)?)?,
                _ => continue,
            }
            if let Some(s) = (field as usize)
                .checked_sub(1)
                .and_then(|i| seen.get_mut(i))
            {
                *s = true;
            }
        }
        if seen.contains(&false) {
            return Err(OmemoError::Malformed("a key exchange missing a part"));
        }
        Ok(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_and_come_back_as_protobuf_writes_them() {
        let m = OmemoMessage {
            n: 0,
            pn: 300,
            dh_pub: vec![7; 32],
            ciphertext: vec![1, 2, 3],
        };
        let b = m.to_bytes();
        // proto2 required fields: n is written even when 0; 300 is a two-byte varint.
        assert_eq!(&b[..6], &[0x08, 0x00, 0x10, 0xac, 0x02, 0x1a]);
        assert_eq!(OmemoMessage::parse(&b).unwrap(), m);
        let a = Authenticated {
            mac: vec![9; 16],
            message: b,
        };
        let k = KeyExchange {
            pk_id: 5,
            spk_id: 1,
            ik: vec![2; 32],
            ek: vec![3; 32],
            message: a.clone(),
        };
        assert_eq!(KeyExchange::parse(&k.to_bytes()).unwrap(), k);
        assert_eq!(Authenticated::parse(&a.to_bytes()).unwrap(), a);
    }

    #[test]
    fn a_message_missing_a_required_field_is_refused() {
        let mut b = Vec::new();
        field_varint(&mut b, 1, 1);
        field_bytes(&mut b, 3, &[1; 32]);
        assert!(OmemoMessage::parse(&b).is_err(), "no pn");
        let k = KeyExchange {
            pk_id: 5,
            ..Default::default()
        };
        assert!(KeyExchange::parse(&k.to_bytes()[..2]).is_err());
        assert!(Authenticated::parse(&[0xff]).is_err());
    }
}
