//! XEP-0454 OMEMO Media Sharing: a file sent in an encrypted conversation is
//! encrypted with a fresh AES-256-GCM key before it is uploaded; the message (itself
//! OMEMO-encrypted) carries `aesgcm://host/path#<iv><key>` in hex. Conversations,
//! Dino, Gajim and Monal send 12-byte IVs; older ones sent 16, which we still read.
//! The ciphertext is the file followed by the 16-byte tag.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};

/// The tag AES-GCM appends.
pub const TAG: usize = 16;

/// A file's key and IV, as the URL's fragment carries them.
#[derive(Clone, PartialEq, Eq)]
pub struct FileKey {
    pub iv: Vec<u8>,
    pub key: [u8; 32],
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

impl FileKey {
    /// A fresh key and 12-byte IV.
    pub fn random() -> FileKey {
        FileKey {
            iv: rand::random::<[u8; 12]>().to_vec(),
            key: rand::random(),
        }
    }
}

/// Encrypts a file: ciphertext and tag.
pub fn seal(plain: &[u8], k: &FileKey) -> Option<Vec<u8>> {
    match k.iv.len() {
        12 => Aes256Gcm::new(&k.key.into())
            .encrypt(Nonce::from_slice(&k.iv), plain)
            .ok(),
        16 => AesGcm::<Aes256, U16>::new(&k.key.into())
            .encrypt(aes_gcm::Nonce::<U16>::from_slice(&k.iv), plain)
            .ok(),
        _ => None,
    }
}

/// Decrypts and checks a downloaded file; `None` when it was altered or the key is
/// not its key.
pub fn open(cipher: &[u8], k: &FileKey) -> Option<Vec<u8>> {
    match k.iv.len() {
        12 => Aes256Gcm::new(&k.key.into())
            .decrypt(Nonce::from_slice(&k.iv), cipher)
            .ok(),
        16 => AesGcm::<Aes256, U16>::new(&k.key.into())
            .decrypt(aes_gcm::Nonce::<U16>::from_slice(&k.iv), cipher)
            .ok(),
        _ => None,
    }
}

/// The `aesgcm://` URL of an uploaded `https://` one.
pub fn url(https: &str, k: &FileKey) -> Option<String> {
    let rest = https.strip_prefix("https://")?;
    let rest = rest.split('#').next().unwrap_or_default();
    Some(format!("aesgcm://{rest}#{}{}", hex(&k.iv), hex(&k.key)))
}

/// An `aesgcm://` URL: the https URL to fetch and the key. `None` for anything else.
pub fn parse(url: &str) -> Option<(String, FileKey)> {
    let rest = url.strip_prefix("aesgcm://")?;
    let (path, fragment) = rest.rsplit_once('#')?;
    let bytes = unhex(fragment)?;
    let iv_len = match bytes.len() {
        44 => 12,
        48 => 16,
        _ => return None,
    };
    let (iv, key) = bytes.split_at(iv_len);
    Some((
        format!("https://{path}"),
        FileKey {
            iv: iv.to_vec(),
            key: key.try_into().ok()?,
        },
    ))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_and_a_changed_byte_is_refused() {
        let k = FileKey::random();
        let cipher = seal(b"hello file", &k).unwrap();
        assert_eq!(cipher.len(), 10 + TAG);
        let u = url("https://up.example.org/s/a.jpg", &k).unwrap();
        assert!(u.starts_with("aesgcm://up.example.org/s/a.jpg#"));
        let (https, k2) = parse(&u).unwrap();
        assert_eq!(https, "https://up.example.org/s/a.jpg");
        assert_eq!(open(&cipher, &k2).unwrap(), b"hello file");
        let mut bad = cipher.clone();
        bad[3] ^= 1;
        assert!(open(&bad, &k2).is_none());
        // The 16-byte IVs older clients send.
        let old = FileKey {
            iv: vec![7; 16],
            key: [9; 32],
        };
        let c = seal(b"x", &old).unwrap();
        let (_, k3) = parse(&url("https://h/f", &old).unwrap()).unwrap();
        assert_eq!(open(&c, &k3).unwrap(), b"x");
        for bad in [
            "https://h/f#00",
            "aesgcm://h/f",
            "aesgcm://h/f#zz",
            "aesgcm://h/f#0011",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
