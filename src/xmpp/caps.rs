//! XEP-0115 Entity Capabilities: the verification string and its SHA-1 hash, and the
//! features Banter advertises. Clients such as Conversations decide from these whether
//! to show a call button, so the hash must be exact.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine;
use sha1::{Digest, Sha1};

/// Node advertised in our caps element.
pub const NODE: &str = "https://banter.im";

/// An identity for disco#info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub category: String,
    pub type_: String,
    pub lang: String,
    pub name: String,
}

/// One extended form (XEP-0128) field set: FORM_TYPE value + (var, values) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    pub form_type: String,
    pub fields: Vec<(String, Vec<String>)>,
}

/// Features Banter implements or handles; see ARCHITECTURE.md for which module does what.
pub const FEATURES: &[&str] = &[
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/chatstates",
    "urn:xmpp:receipts",
    "urn:xmpp:ping",
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:apps:rtp:audio",
    // Conversations and Dino offer video calls to whoever advertises this.
    "urn:xmpp:jingle:apps:rtp:video",
    // XEP-0339 sources and ssrc-group (a libwebrtc peer's RTX needs them understood).
    "urn:xmpp:jingle:apps:rtp:ssma:0",
    "urn:xmpp:jingle:transports:ice-udp:1",
    "urn:xmpp:jingle:apps:dtls:0",
    "urn:xmpp:jingle:apps:rtp:rtcp-fb:0",
    "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0",
    "urn:xmpp:jingle:apps:grouping:0",
    "urn:xmpp:jingle-message:0",
    // XEP-0092: our name and version (a peer's call report names its client).
    "jabber:iq:version",
    // XEP-0384: contacts' OMEMO device lists as they change (PEP notifications;
    // ignored unless OMEMO is on).
    "eu.siacs.conversations.axolotl.devicelist+notify",
    "urn:xmpp:omemo:2:devices+notify",
    // XEP-0084: contacts' avatars as they change them.
    "urn:xmpp:avatar:metadata+notify",
    // XEP-0402: our bookmarks as our other clients change them.
    "urn:xmpp:bookmarks:1+notify",
    // XEP-0249: direct invitations to rooms.
    "jabber:x:conference",
    RED,
];

/// Redundant audio (RFC 2198) is welcome in an offer: no XEP names it, and a peer
/// whose signaling drops RED's value-less format parameter (or turns it into
/// something else) must not be offered it, so we offer it only to those saying so.
pub const RED: &str = "https://banter.im/rtp/red";

/// Banter's own identity.
pub fn identity() -> Identity {
    Identity {
        category: "client".into(),
        type_: "pc".into(),
        lang: String::new(),
        name: format!("Banter {}", env!("CARGO_PKG_VERSION")),
    }
}

/// The XEP-0115 §5.1 verification string.
pub fn verification_string(identities: &[Identity], features: &[&str], forms: &[Form]) -> String {
    let mut ids: Vec<String> = identities
        .iter()
        .map(|i| format!("{}/{}/{}/{}", i.category, i.type_, i.lang, i.name))
        .collect();
    ids.sort();
    let mut feats: Vec<&str> = features.to_vec();
    feats.sort_unstable();
    feats.dedup();
    let mut s = String::new();
    for i in ids {
        s.push_str(&i);
        s.push('<');
    }
    for f in feats {
        s.push_str(f);
        s.push('<');
    }
    let mut forms: Vec<&Form> = forms.iter().collect();
    forms.sort_by(|a, b| a.form_type.cmp(&b.form_type));
    for form in forms {
        s.push_str(&form.form_type);
        s.push('<');
        let mut fields: Vec<&(String, Vec<String>)> =
            form.fields.iter().filter(|f| f.0 != "FORM_TYPE").collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        for (var, values) in fields {
            s.push_str(var);
            s.push('<');
            let mut values = values.clone();
            values.sort();
            for v in values {
                s.push_str(&v);
                s.push('<');
            }
        }
    }
    s
}

/// The `ver` attribute: base64 of SHA-1 of the verification string.
pub fn ver_hash(identities: &[Identity], features: &[&str], forms: &[Form]) -> String {
    let s = verification_string(identities, features, forms);
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(s.as_bytes()))
}

/// Banter's own `ver`.
pub fn own_ver() -> String {
    ver_hash(&[identity()], FEATURES, &[])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// XEP-0115 §5.2, the simple example.
    #[test]
    fn xep0115_simple_example() {
        let ids = [Identity {
            category: "client".into(),
            type_: "pc".into(),
            lang: String::new(),
            name: "Exodus 0.9.1".into(),
        }];
        let feats = [
            "http://jabber.org/protocol/caps",
            "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc",
        ];
        assert_eq!(ver_hash(&ids, &feats, &[]), "QgayPKawpkPSDYmwT/WM94uAlu0=");
    }

    /// XEP-0115 §5.3, the complex example with two identities and an extended form.
    #[test]
    fn xep0115_complex_example() {
        let ids = [
            Identity {
                category: "client".into(),
                type_: "pc".into(),
                lang: "en".into(),
                name: "Psi 0.11".into(),
            },
            Identity {
                category: "client".into(),
                type_: "pc".into(),
                lang: "el".into(),
                name: "Ψ 0.11".into(),
            },
        ];
        let feats = [
            "http://jabber.org/protocol/caps",
            "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items",
            "http://jabber.org/protocol/muc",
        ];
        let form = Form {
            form_type: "urn:xmpp:dataforms:softwareinfo".into(),
            fields: vec![
                ("ip_version".into(), vec!["ipv4".into(), "ipv6".into()]),
                ("os".into(), vec!["Mac".into()]),
                ("os_version".into(), vec!["10.5.1".into()]),
                ("software".into(), vec!["Psi".into()]),
                ("software_version".into(), vec!["0.11".into()]),
            ],
        };
        assert_eq!(
            ver_hash(&ids, &feats, &[form]),
            "q07IKJEyjvHSyhy//CH0CxmKi8w="
        );
    }

    #[test]
    fn own_features_include_jingle() {
        for f in [
            "urn:xmpp:jingle:1",
            "urn:xmpp:jingle:apps:rtp:audio",
            "urn:xmpp:jingle:apps:rtp:video",
            "urn:xmpp:jingle-message:0",
            "urn:xmpp:jingle:apps:dtls:0",
        ] {
            assert!(FEATURES.contains(&f));
        }
        assert_eq!(own_ver().len(), 28);
    }
}
