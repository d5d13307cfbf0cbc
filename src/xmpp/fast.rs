//! FAST (XEP-0484): a token the server hands out at a password login and takes at the
//! next ones instead of the password. One round trip, no PBKDF2 on either side, and the
//! password itself stays home. Only the HT-SHA-256 family is spoken (the one servers
//! offer), in its `-NONE` form (no channel binding): Prosody's module offers only that.
//!
//! Tokens are bound to the device's user-agent id (XEP-0388), rotate (the server sends
//! a new one unasked at a later login) and sit in two slots on the server, so a
//! logout has to invalidate the newest token *and* the one before it.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hmac::{Hmac, Mac};

use super::Attr;
use minidom::Element;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const NS: &str = "urn:xmpp:fast:0";
/// HT-SHA-256 without channel binding.
pub const HT_SHA_256_NONE: &str = "HT-SHA-256-NONE";

/// One token as the server gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub secret: String,
    /// Unix seconds; `None` when the server's date did not parse.
    pub expiry: Option<i64>,
}

impl Token {
    fn alive(&self, now: i64) -> bool {
        self.expiry.is_none_or(|e| e > now)
    }
}

/// What this device keeps for FAST on one account: its user-agent id (tokens are bound
/// to it), the newest token and the one it replaced (which the server may still take),
/// and the use counter XEP-0484 asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FastState {
    pub client_id: String,
    #[serde(default)]
    pub token: Option<Token>,
    #[serde(default)]
    pub previous: Option<Token>,
    #[serde(default)]
    pub count: u32,
    /// The token failed for a reason that does not end it (a temporary failure):
    /// this session's next login uses the password. Not kept.
    #[serde(skip)]
    pub skip: bool,
}

impl FastState {
    /// A device id of its own (a random UUID) and no token yet.
    pub fn new() -> FastState {
        FastState {
            client_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        }
    }

    /// The token to log in with, when there is one that has not expired.
    pub fn usable(&self, now: i64) -> Option<&Token> {
        if self.skip {
            return None;
        }
        self.token.as_ref().filter(|t| t.alive(now))
    }

    /// A new token from the server: it becomes the one used, the old one is kept
    /// for the logout (the server keeps it too).
    pub fn received(&mut self, token: Token) {
        if self.token.as_ref() == Some(&token) {
            return;
        }
        self.previous = self.token.take();
        self.token = Some(token);
    }

    /// The token was refused: forget it (and the one before it), so the next login
    /// uses the password.
    pub fn refused(&mut self) {
        self.token = None;
        self.previous = None;
    }

    /// Forgets `token` wherever it is held (it was logged out).
    pub fn forget(&mut self, token: &Token) {
        if self.token.as_ref() == Some(token) {
            self.token = None;
        }
        if self.previous.as_ref() == Some(token) {
            self.previous = None;
        }
    }

    /// The next value of `<fast count>` (it must grow with every use).
    pub fn next_count(&mut self) -> u32 {
        self.count = self.count.wrapping_add(1);
        self.count
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(secret: &str, label: &[u8], cb: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(label);
    mac.update(cb);
    mac.finalize().into_bytes().to_vec()
}

/// The initial response of HT-SHA-256-*: `username NUL HMAC(token, "Initiator" || cb)`.
pub fn initial_response(username: &str, secret: &str, cb: &[u8]) -> Vec<u8> {
    let mut out = username.as_bytes().to_vec();
    out.push(0);
    out.extend(hmac(secret, b"Initiator", cb));
    out
}

/// Whether the server's `additional-data` proves it knows the token too:
/// `HMAC(token, "Responder" || cb)`. A server that cannot prove it is not ours.
pub fn server_proof_ok(secret: &str, cb: &[u8], data: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(b"Responder");
    mac.update(cb);
    // verify_slice compares in constant time.
    mac.verify_slice(data).is_ok()
}

/// `<fast xmlns='urn:xmpp:fast:0' count='N'/>`, with `invalidate='true'` to log out.
pub fn using(count: u32, invalidate: bool) -> Element {
    let mut b = Element::builder("fast", NS).a("count", count.to_string());
    if invalidate {
        b = b.a("invalidate", "true");
    }
    b.build()
}

/// `<request-token xmlns='urn:xmpp:fast:0' mechanism='…'/>`.
pub fn request_token(mechanism: &str) -> Element {
    Element::builder("request-token", NS)
        .a("mechanism", mechanism)
        .build()
}

/// The FAST mechanisms in the `<inline>` of the server's SASL2 offer.
pub fn offered(inline_payloads: &[Element]) -> Vec<String> {
    inline_payloads
        .iter()
        .filter(|e| e.is("fast", NS))
        .flat_map(|f| {
            f.children()
                .filter(|m| m.is("mechanism", NS))
                .map(|m| m.text())
        })
        .collect()
}

/// A `<token>` among the payloads of a SASL2 `<success>`.
pub fn token_in(payloads: &[Element]) -> Option<Token> {
    let t = payloads.iter().find(|e| e.is("token", NS))?;
    let secret = t.attr("token")?.to_string();
    if secret.is_empty() {
        return None;
    }
    let expiry = t
        .attr("expiry")
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .map(|d| d.timestamp());
    Some(Token { secret, expiry })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ht_sha_256_matches_an_independent_hmac() {
        // HMAC-SHA-256(key "secret-token:x", "Initiator"), from Python's hmac module.
        let r = initial_response("alice", "secret-token:x", b"");
        assert_eq!(&r[..6], b"alice\0");
        assert_eq!(
            r[6..]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "9546559072ad51d04d349542879f6ac2bebc5fc1d7386e4f8faa3252b4ddc422"
        );
        let responder = hmac("secret-token:x", b"Responder", b"");
        assert!(server_proof_ok("secret-token:x", b"", &responder));
        assert!(!server_proof_ok("secret-token:y", b"", &responder));
        assert!(!server_proof_ok("secret-token:x", b"", &responder[1..]));
    }

    #[test]
    fn a_new_token_keeps_the_one_before_for_the_logout() {
        let mut s = FastState::new();
        assert_eq!(s.client_id.len(), 36);
        let t1 = Token {
            secret: "one".into(),
            expiry: Some(100),
        };
        let t2 = Token {
            secret: "two".into(),
            expiry: None,
        };
        s.received(t1.clone());
        s.received(t1.clone());
        assert_eq!(s.previous, None, "the same token again is no rotation");
        s.received(t2.clone());
        assert_eq!(s.token, Some(t2));
        assert_eq!(s.previous, Some(t1.clone()));
        s.token = Some(t1);
        assert!(s.usable(99).is_some());
        assert!(s.usable(100).is_none(), "expired");
        s.refused();
        assert!(s.token.is_none() && s.previous.is_none());
        assert_eq!((s.next_count(), s.next_count()), (1, 2));
    }

    #[test]
    fn offer_and_token_are_read_from_prosodys_elements() {
        let inline: Element = "<inline xmlns='urn:xmpp:sasl:2'><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline>"
            .parse()
            .unwrap();
        let payloads: Vec<Element> = inline.children().cloned().collect();
        assert_eq!(offered(&payloads), vec![HT_SHA_256_NONE.to_string()]);
        let success: Element = "<success xmlns='urn:xmpp:sasl:2'><token xmlns='urn:xmpp:fast:0' token='secret-token:fast-abc' expiry='2026-12-28T12:00:00Z'/></success>"
            .parse()
            .unwrap();
        let payloads: Vec<Element> = success.children().cloned().collect();
        let t = token_in(&payloads).unwrap();
        assert_eq!(t.secret, "secret-token:fast-abc");
        assert_eq!(t.expiry, Some(1_798_459_200));
        let u = using(3, true);
        assert_eq!(
            (u.attr("count"), u.attr("invalidate")),
            (Some("3"), Some("true"))
        );
    }
}
