//! TLS policy: certificates are verified against the system roots plus an optional
//! user-supplied PEM file. A certificate in that file is also accepted when the
//! server presents exactly it (self-signed server certificates, often marked CA:TRUE,
//! which plain webpki chain validation refuses as an end entity). There is no way to
//! switch verification off.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use super::error::ConnectError;

/// Why the last certificate was refused, kept so the connection error can name the
/// problem and the certificate's fingerprint (rustls only carries a generic error).
#[derive(Debug, Clone)]
pub struct CertRefusal {
    pub reason: String,
    pub fingerprint: String,
}

/// SHA-256 fingerprint of a DER certificate, as colon-separated upper-case hex.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    last_refusal: Arc<Mutex<Option<CertRefusal>>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        let result = match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        if let Err(e) = &result {
            let reason = match e {
                rustls::Error::InvalidCertificate(c) => describe_cert_error(c),
                other => other.to_string(),
            };
            if let Ok(mut slot) = self.last_refusal.lock() {
                *slot = Some(CertRefusal {
                    reason,
                    fingerprint: fingerprint_sha256(end_entity),
                });
            }
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn describe_cert_error(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "issued by an unknown authority (self-signed or private CA)".into(),
        C::Expired | C::ExpiredContext { .. } => "expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "issued for a different server name".into()
        }
        C::Revoked => "revoked".into(),
        C::BadSignature => "has a bad signature".into(),
        other => format!("{other:?}"),
    }
}

/// A verified TLS client configuration plus the slot where a refusal is explained.
#[derive(Clone, Debug)]
pub struct TlsSetup {
    pub config: Arc<rustls::ClientConfig>,
    pub last_refusal: Arc<Mutex<Option<CertRefusal>>>,
}

/// Reads every certificate in a PEM file.
pub fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let bad = |why: String| ConnectError::CaFile {
        path: path.display().to_string(),
        why,
    };
    let data = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut reader = std::io::BufReader::new(&data[..]);
    let certs: Vec<_> = rustls_pemfile::certs(&mut reader)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate found in it".into()));
    }
    Ok(certs)
}

/// Builds the TLS configuration: system roots, plus `ca_file` if given.
pub fn build(ca_file: Option<&Path>) -> Result<TlsSetup, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let mut pinned = Vec::new();
    if let Some(path) = ca_file {
        for cert in load_pem_certs(path)? {
            // A CA goes into the trust store; the exact certificate is pinned too, so a
            // self-signed end-entity certificate is accepted when presented as is.
            let _ = roots.add(cert.clone());
            pinned.push(cert);
        }
    }
    let webpki = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| ConnectError::Tls(e.to_string()))?,
        )
    };
    let last_refusal = Arc::new(Mutex::new(None));
    let verifier = Arc::new(Verifier {
        webpki,
        pinned,
        provider: provider.clone(),
        last_refusal: last_refusal.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsSetup {
        config: Arc::new(config),
        last_refusal,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let fp = fingerprint_sha256(b"abc");
        assert!(fp.starts_with("BA:78:16:BF"));
        assert_eq!(fp.len(), 32 * 3 - 1);
    }
}
