//! libsignal's v3 messages as OMEMO 0.3 carries them: a version byte, a protobuf,
//! and for a `WhisperMessage` an 8-byte MAC. The protobuf is read and written here
//! (varints and length-delimited fields only, which is all these messages use); a
//! reader that takes fields in any order and skips unknown ones.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::OmemoError;

/// `(3 << 4) | 3`: message version 3, current version 3.
pub const VERSION: u8 = 0x33;
/// The truncated HMAC-SHA256 after a `WhisperMessage`.
pub const MAC_LEN: usize = 8;

/// A Double Ratchet message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhisperMessage {
    /// The sender's current ratchet key, 33-byte form.
    pub ratchet_key: Vec<u8>,
    pub counter: u32,
    pub previous_counter: u32,
    pub ciphertext: Vec<u8>,
}

/// The first messages of a session: what the receiver needs to build it (X3DH), and
/// the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreKeyWhisperMessage {
    pub registration_id: u32,
    pub prekey_id: Option<u32>,
    pub signed_prekey_id: u32,
    pub base_key: Vec<u8>,
    pub identity_key: Vec<u8>,
    /// A whole serialized `WhisperMessage` (version byte and MAC included).
    pub message: Vec<u8>,
}

pub(super) fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(super) fn field_varint(out: &mut Vec<u8>, field: u32, v: u32) {
    varint(out, u64::from(field) << 3);
    varint(out, u64::from(v));
}

pub(super) fn field_bytes(out: &mut Vec<u8>, field: u32, v: &[u8]) {
    varint(out, (u64::from(field) << 3) | 2);
    varint(out, v.len() as u64);
    out.extend_from_slice(v);
}

/// The fields of a protobuf message: (number, varint value or bytes).
pub(super) enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

pub(super) fn read_varint(b: &[u8], pos: &mut usize) -> Result<u64, OmemoError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos).ok_or(OmemoError::Malformed("a cut varint"))?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(OmemoError::Malformed("a varint too long"))
}

pub(super) fn fields(b: &[u8]) -> Result<Vec<(u32, Value<'_>)>, OmemoError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = read_varint(b, &mut pos)?;
        let number =
            u32::try_from(key >> 3).map_err(|_| OmemoError::Malformed("a field number"))?;
        match key & 7 {
            0 => out.push((number, Value::Varint(read_varint(b, &mut pos)?))),
            2 => {
                let len = usize::try_from(read_varint(b, &mut pos)?)
                    .map_err(|_| OmemoError::Malformed("a length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= b.len())
                    .ok_or(OmemoError::Malformed("a field longer than the message"))?;
                out.push((number, Value::Bytes(b.get(pos..end).unwrap_or_default())));
                pos = end;
            }
            // 64- and 32-bit fields: skipped, as unknown fields are.
            1 => {
                pos = pos
                    .checked_add(8)
                    .ok_or(OmemoError::Malformed("a fixed64"))?
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .ok_or(OmemoError::Malformed("a fixed32"))?
            }
            _ => return Err(OmemoError::Malformed("an unknown wire type")),
        }
    }
    if pos > b.len() {
        return Err(OmemoError::Malformed("a field longer than the message"));
    }
    Ok(out)
}

pub(super) fn as_u32(v: &Value<'_>) -> Result<u32, OmemoError> {
    match v {
        Value::Varint(n) => {
            u32::try_from(*n).map_err(|_| OmemoError::Malformed("a number over 32 bits"))
        }
        Value::Bytes(_) => Err(OmemoError::Malformed("bytes where a number belongs")),
    }
}

pub(super) fn as_bytes(v: &Value<'_>) -> Result<Vec<u8>, OmemoError> {
    match v {
        Value::Bytes(b) => Ok(b.to_vec()),
        Value::Varint(_) => Err(OmemoError::Malformed("a number where bytes belong")),
    }
}

fn check_version(b: &[u8]) -> Result<&[u8], OmemoError> {
    match b.split_first() {
        Some((v, rest)) if v >> 4 == 3 => Ok(rest),
        Some(_) => Err(OmemoError::Malformed("not a version 3 message")),
        None => Err(OmemoError::Malformed("an empty message")),
    }
}

impl WhisperMessage {
    /// Version byte and protobuf: what the MAC covers (then comes the MAC).
    pub fn to_bytes_unauthenticated(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        field_bytes(&mut out, 1, &self.ratchet_key);
        field_varint(&mut out, 2, self.counter);
        field_varint(&mut out, 3, self.previous_counter);
        field_bytes(&mut out, 4, &self.ciphertext);
        out
    }

    /// Reads a serialized message: the message, the bytes its MAC covers, the MAC.
    pub fn parse(b: &[u8]) -> Result<(WhisperMessage, &[u8], &[u8]), OmemoError> {
        if b.len() < 1 + MAC_LEN {
            return Err(OmemoError::Malformed("a message too short"));
        }
        let (signed, mac) = b.split_at(b.len() - MAC_LEN);
        let body = check_version(signed)?;
        let mut m = WhisperMessage::default();
        let (mut key, mut ciphertext) = (false, false);
        for (n, v) in fields(body)? {
            match n {
                1 => {
                    m.ratchet_key = as_bytes(&v)?;
                    key = true;
                }
                2 => m.counter = as_u32(&v)?,
                3 => m.previous_counter = as_u32(&v)?,
                4 => {
                    m.ciphertext = as_bytes(&v)?;
                    ciphertext = true;
                }
                _ => {}
            }
        }
        if !key || !ciphertext {
            return Err(OmemoError::Malformed(
                "a message without its key or ciphertext",
            ));
        }
        Ok((m, signed, mac))
    }
}

impl PreKeyWhisperMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        if let Some(id) = self.prekey_id {
            field_varint(&mut out, 1, id);
        }
        field_bytes(&mut out, 2, &self.base_key);
        field_bytes(&mut out, 3, &self.identity_key);
        field_bytes(&mut out, 4, &self.message);
        field_varint(&mut out, 5, self.registration_id);
        field_varint(&mut out, 6, self.signed_prekey_id);
        out
    }

    pub fn parse(b: &[u8]) -> Result<PreKeyWhisperMessage, OmemoError> {
        let body = check_version(b)?;
        let mut m = PreKeyWhisperMessage::default();
        let mut signed = false;
        for (n, v) in fields(body)? {
            match n {
                1 => m.prekey_id = Some(as_u32(&v)?),
                2 => m.base_key = as_bytes(&v)?,
                3 => m.identity_key = as_bytes(&v)?,
                4 => m.message = as_bytes(&v)?,
                5 => m.registration_id = as_u32(&v)?,
                6 => {
                    m.signed_prekey_id = as_u32(&v)?;
                    signed = true;
                }
                _ => {}
            }
        }
        if !signed || m.base_key.is_empty() || m.identity_key.is_empty() || m.message.is_empty() {
            return Err(OmemoError::Malformed("a prekey message missing a part"));
        }
        Ok(m)
    }
}
