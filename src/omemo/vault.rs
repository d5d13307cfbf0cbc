//! The key that seals OMEMO secrets (our identity and prekeys, every session) before
//! they reach the store: a random data key, itself sealed with a key derived from
//! the account's password (Argon2id), which lives in the OS keyring or the user's
//! head, never in the database. A stolen database alone yields nothing without the
//! password; a changed password rewraps the data key, nothing else.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::OmemoError;

/// The data key as stored: the salt of the password's key, and the sealed data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub salt: [u8; 16],
    pub sealed: Vec<u8>,
}

pub struct Vault {
    key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(…)")
    }
}

/// The password's key (Argon2id, RFC 9106's second recommended setting).
fn password_key(password: &str, salt: &[u8; 16]) -> Result<[u8; 32], OmemoError> {
    let mut out = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|_| OmemoError::Crypto("Argon2"))?;
    Ok(out)
}

fn seal_with(key: &[u8; 32], plain: &[u8], context: &[u8]) -> Result<Vec<u8>, OmemoError> {
    let nonce: [u8; 12] = rand::random();
    let mut out = nonce.to_vec();
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context,
            },
        )
        .map_err(|_| OmemoError::Crypto("AES-GCM"))?;
    out.extend(sealed);
    Ok(out)
}

fn open_with(key: &[u8; 32], sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OmemoError> {
    if sealed.len() < 12 + 16 {
        return Err(OmemoError::Malformed("a sealed record too short"));
    }
    let (nonce, body) = sealed.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: context,
            },
        )
        .map_err(|_| OmemoError::Locked)
}

impl Vault {
    /// A new data key, wrapped with `password`.
    pub fn create(password: &str) -> Result<(Vault, Wrapped), OmemoError> {
        let vault = Vault {
            key: rand::random(),
        };
        let wrapped = vault.wrap(password)?;
        Ok((vault, wrapped))
    }

    /// The data key back, with the password it was wrapped with.
    pub fn unlock(password: &str, w: &Wrapped) -> Result<Vault, OmemoError> {
        let kek = password_key(password, &w.salt)?;
        let key = open_with(&kek, &w.sealed, b"banter omemo data key")?;
        Ok(Vault {
            key: key.try_into().map_err(|_| OmemoError::Locked)?,
        })
    }

    /// The data key wrapped with `password` (a new one after a password change).
    pub fn wrap(&self, password: &str) -> Result<Wrapped, OmemoError> {
        let salt: [u8; 16] = rand::random();
        let kek = password_key(password, &salt)?;
        Ok(Wrapped {
            salt,
            sealed: seal_with(&kek, &self.key, b"banter omemo data key")?,
        })
    }

    /// Seals a record; `context` names it (e.g. whose session), so that records
    /// cannot be swapped in the database unnoticed.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, OmemoError> {
        seal_with(&self.key, plain, context.as_bytes())
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OmemoError> {
        open_with(&self.key, sealed, context.as_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_password_unlocks_and_nothing_else_does() {
        let (v, w) = Vault::create("correct horse").unwrap();
        let sealed = v.seal(b"identity secret", "own").unwrap();
        assert!(!sealed.windows(15).any(|x| x == b"identity secret"));
        let again = Vault::unlock("correct horse", &w).unwrap();
        assert_eq!(again.open(&sealed, "own").unwrap(), b"identity secret");
        assert_eq!(Vault::unlock("wrong", &w).err(), Some(OmemoError::Locked));
        // Another record's place: refused.
        assert_eq!(
            again.open(&sealed, "session bob 7").err(),
            Some(OmemoError::Locked)
        );
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(again.open(&bad, "own").is_err());
        assert!(again.open(&sealed[..10], "own").is_err());
        // A new password: the same data key, newly wrapped.
        let w2 = again.wrap("new password").unwrap();
        let third = Vault::unlock("new password", &w2).unwrap();
        assert_eq!(third.open(&sealed, "own").unwrap(), b"identity secret");
        assert!(Vault::unlock("correct horse", &w2).is_err());
    }
}
