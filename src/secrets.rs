//! Passwords in the OS keyring (the freedesktop Secret Service on Linux: GNOME Keyring,
//! KWallet, KeePassXC), never in Banter's own files.

/// The keyring service name entries are stored under.
const SERVICE: &str = "im.banter.Banter";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no OS keyring is available ({0}); start GNOME Keyring, KWallet or KeePassXC's \
         Secret Service, or give the password with --password-file or BANTER_PASSWORD"
    )]
    Unavailable(String),
    #[error("the OS keyring is locked or refused access ({0}); unlock it and try again")]
    Locked(String),
    #[error("OS keyring: {0}")]
    Other(String),
}

fn map(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::PlatformFailure(e) => SecretError::Unavailable(e.to_string()),
        keyring::Error::NoStorageAccess(e) => SecretError::Locked(e.to_string()),
        other => SecretError::Other(other.to_string()),
    }
}

fn entry(jid: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, jid).map_err(map)
}

/// Stores (or replaces) the password of account `jid`. Blocks on D-Bus: call it off
/// the UI thread.
pub fn save(jid: &str, password: &str) -> Result<(), SecretError> {
    entry(jid)?.set_password(password).map_err(map)
}

/// The stored password of `jid`, `None` when there is none.
pub fn load(jid: &str) -> Result<Option<String>, SecretError> {
    match entry(jid)?.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map(e)),
    }
}

/// Removes the stored password; `false` when there was none.
pub fn forget(jid: &str) -> Result<bool, SecretError> {
    match entry(jid)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(map(e)),
    }
}
