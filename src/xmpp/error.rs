//! Errors of the XMPP layer, worded so that the person reading them can act.

use thiserror::Error;

/// Why a connection or login did not succeed.
#[derive(Debug, Error, Clone)]
pub enum ConnectError {
    #[error("invalid JID '{0}': expected user@domain")]
    InvalidJid(String),
    #[error("cannot reach server {server}: {why}")]
    Unreachable { server: String, why: String },
    #[error("server {server} did not answer within {secs} s")]
    Timeout { server: String, secs: u64 },
    #[error("server {server} does not offer STARTTLS; refusing to talk to it unencrypted")]
    NoStartTls { server: String },
    #[error("server certificate not trusted ({reason}); SHA-256 fingerprint {fingerprint}. If you trust this server, save its certificate to a PEM file and pass it with --ca-file")]
    UntrustedCertificate { reason: String, fingerprint: String },
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("cannot use CA file {path}: {why}")]
    CaFile { path: String, why: String },
    #[error("authentication failed: wrong password or unknown account ({condition})")]
    AuthFailed { condition: String },
    #[error("registration refused: {0}")]
    Registration(String),
    #[error("the server could not prove that it knows your password ({mechanism}): someone may be posing as it; check your network, or ask the server's admin")]
    ServerUnverified { mechanism: String },
    #[error("the server no longer takes the saved sign-in token ({why})")]
    FastRefused { why: String },
    #[error("the server refused the channel binding it advertised")]
    BindingRefused,
    #[error("the server offers no login method Banter can use safely (offered: {offered})")]
    NoMechanism { offered: String },
    #[error("server closed the stream: {0}")]
    Stream(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the connection keeps dropping right after sign-in ({count} times in a row); retrying in {retry_secs} s")]
    Unstable { count: u32, retry_secs: u64 },
}

impl ConnectError {
    /// Errors that retrying will not fix without the user changing something.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ConnectError::InvalidJid(_)
                | ConnectError::NoStartTls { .. }
                | ConnectError::UntrustedCertificate { .. }
                | ConnectError::CaFile { .. }
                | ConnectError::AuthFailed { .. }
                | ConnectError::BindingRefused
                | ConnectError::ServerUnverified { .. }
                | ConnectError::Registration(_)
                | ConnectError::NoMechanism { .. }
        )
    }
}
