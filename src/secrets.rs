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

/// Removes the stored password (and the account's FAST tokens); `false` when there
/// was no password.
pub fn forget(jid: &str) -> Result<bool, SecretError> {
    if let Ok(e) = tokens_entry(jid) {
        let _ = e.delete_credential();
    }
    match entry(jid)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(map(e)),
    }
}

/// The account's FAST tokens (XEP-0484) sit beside its password, as `{jid}#fast`.
fn tokens_entry(jid: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, &format!("{jid}#fast")).map_err(map)
}

/// Keeps an account's FAST tokens in the keyring; for accounts whose password is
/// kept there too (a token stands in for the password for weeks).
struct KeyringTokens {
    jid: String,
}

impl banter::client::TokenKeeper for KeyringTokens {
    fn load(&self) -> Option<String> {
        tokens_entry(&self.jid).ok()?.get_password().ok()
    }

    fn save(&self, state: Option<&str>) {
        let Ok(e) = tokens_entry(&self.jid) else {
            return;
        };
        let done = match state {
            Some(s) => e.set_password(s).map_err(map),
            None => match e.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(err) => Err(map(err)),
            },
        };
        if let Err(err) = done {
            tracing::warn!(error = %err, "cannot keep the sign-in token in the keyring");
        }
    }
}

/// The token store for `jid`'s account.
pub fn token_store(jid: &str) -> banter::client::TokenStore {
    banter::client::TokenStore(std::sync::Arc::new(KeyringTokens {
        jid: jid.to_string(),
    }))
}
