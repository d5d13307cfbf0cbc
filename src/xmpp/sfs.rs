//! XEP-0447 Stateless File Sharing with XEP-0446 File Metadata: what a file is (name,
//! type, size, SHA-256) beside its URL, so the receiver knows its size before fetching
//! and can check what it fetched. Sent with plain files next to the OOB URL (newer Dino
//! reads it); read from any sender when its source is the message's file URL. Not sent
//! with encrypted files: OMEMO 0.3 encrypts the body only, and this would be in clear.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Attr;
use base64::Engine;
use minidom::Element;
use xmpp_parsers::message::Message;

pub const NS: &str = "urn:xmpp:sfs:0";
pub const NS_FILE: &str = "urn:xmpp:file:metadata:0";
const NS_HASHES: &str = "urn:xmpp:hashes:2";
const NS_URL_DATA: &str = "http://jabber.org/protocol/url-data";

/// What the metadata says of a file (each part only when sent and sensible).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMeta {
    pub name: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<u64>,
    /// Lower-case hex.
    pub sha256: Option<String>,
}

/// `<file-sharing>` for a file at `url`.
pub fn element(url: &str, meta: &FileMeta) -> Element {
    let mut file = Element::builder("file", NS_FILE);
    if let Some(t) = &meta.media_type {
        file = file.append(
            Element::builder("media-type", NS_FILE)
                .append(t.as_str())
                .build(),
        );
    }
    if let Some(n) = &meta.name {
        file = file.append(Element::builder("name", NS_FILE).append(n.as_str()).build());
    }
    if let Some(s) = meta.size {
        file = file.append(
            Element::builder("size", NS_FILE)
                .append(s.to_string())
                .build(),
        );
    }
    if let Some(bytes) = meta.sha256.as_deref().and_then(unhex) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        file = file.append(
            Element::builder("hash", NS_HASHES)
                .a("algo", "sha-256")
                .append(b64)
                .build(),
        );
    }
    Element::builder("file-sharing", NS)
        .a("disposition", "inline")
        .append(file.build())
        .append(
            Element::builder("sources", NS)
                .append(
                    Element::builder("url-data", NS_URL_DATA)
                        .a("target", url)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// The metadata a message gives of its file at `url` (a `<file-sharing>` one of whose
/// sources is that URL).
pub fn read(m: &Message, url: &str) -> Option<FileMeta> {
    let sharing = m.payloads.iter().find(|e| {
        e.is("file-sharing", NS)
            && e.get_child("sources", NS).is_some_and(|s| {
                s.children()
                    .any(|d| d.is("url-data", NS_URL_DATA) && d.attr("target") == Some(url))
            })
    })?;
    let file = sharing.get_child("file", NS_FILE)?;
    let text = |name: &str, max: usize| {
        file.get_child(name, NS_FILE)
            .map(|e| e.text().trim().to_string())
            .filter(|t| !t.is_empty() && t.len() <= max && !t.chars().any(char::is_control))
    };
    let sha256 = file
        .children()
        .find(|h| h.is("hash", NS_HASHES) && h.attr("algo") == Some("sha-256"))
        .and_then(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.text().trim())
                .ok()
        })
        .filter(|b| b.len() == 32)
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect());
    Some(FileMeta {
        name: text("name", 255),
        media_type: text("media-type", 127).filter(|t| media_type_ok(t)),
        size: text("size", 20).and_then(|s| s.parse().ok()),
        sha256,
    })
}

/// `type/subtype` of the characters RFC 6838 allows (no parameters).
fn media_type_ok(t: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    t.split_once('/').is_some_and(|(a, b)| ok(a) && ok(b))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use xmpp_parsers::jid::BareJid;

    #[test]
    fn metadata_round_trips_and_only_for_its_url() {
        let url = "https://up.example.org/a/cat.png";
        let meta = FileMeta {
            name: Some("cat.png".into()),
            media_type: Some("image/png".into()),
            size: Some(1234),
            sha256: Some("ab".repeat(32)),
        };
        let mut m = super::super::chat::outgoing(&BareJid::new("bob@x").unwrap(), "1", url);
        m.payloads.push(element(url, &meta));
        assert_eq!(read(&m, url), Some(meta));
        assert_eq!(read(&m, "https://elsewhere/cat.png"), None);
        // Nonsense is left out, not believed.
        let bad = FileMeta {
            name: Some("x\u{7}y".into()),
            media_type: Some("text/html; charset=x".into()),
            size: None,
            sha256: None,
        };
        let mut m = super::super::chat::outgoing(&BareJid::new("bob@x").unwrap(), "1", url);
        m.payloads.push(element(url, &bad));
        assert_eq!(read(&m, url), Some(FileMeta::default()));
    }
}
