//! RFC 8122 fingerprints checked against the certificate the peer proved it holds.

use super::Fingerprint;

impl Fingerprint {
    /// Whether `der` (a DER certificate) is the one this fingerprint names (RFC 8122:
    /// the hash of the certificate, colon-separated hex, any case). Unknown hash
    /// functions match nothing.
    pub fn matches(&self, der: &[u8]) -> bool {
        use sha2::Digest;
        let digest: Vec<u8> = match self.hash.to_ascii_lowercase().as_str() {
            "sha-256" => sha2::Sha256::digest(der).to_vec(),
            "sha-384" => sha2::Sha384::digest(der).to_vec(),
            "sha-512" => sha2::Sha512::digest(der).to_vec(),
            _ => return false,
        };
        let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":").eq_ignore_ascii_case(self.value.trim())
    }
}
