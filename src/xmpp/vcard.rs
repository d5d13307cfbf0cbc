//! XEP-0153 vCard-Based Avatars (over XEP-0054 vcard-temp), read only: the fallback
//! for contacts whose clients do not publish XEP-0084 (older Gajim, Psi, Pidgin). A
//! presence announces the picture's SHA-1; the picture is the PHOTO of the contact's
//! vCard, believed only when its SHA-1 is that hash and it is at most
//! `avatar::MAX_BYTES`.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::presence::Presence;

use super::avatar;

pub const NS_UPDATE: &str = "vcard-temp:x:update";
pub const NS_VCARD: &str = "vcard-temp";

/// What a presence says of the sender's picture: `Some(Some(sha1))` this one,
/// `Some(None)` none; `None` when it says nothing (no update element, or one without
/// `<photo/>`: "not ready to say").
pub fn photo_of(p: &Presence) -> Option<Option<String>> {
    let photo = p
        .payloads
        .iter()
        .find(|e| e.is("x", NS_UPDATE))?
        .get_child("photo", NS_UPDATE)?;
    let hash = photo.text().trim().to_ascii_lowercase();
    if hash.is_empty() {
        return Some(None);
    }
    let sha1 = hash.len() == 40 && hash.chars().all(|c| c.is_ascii_hexdigit());
    sha1.then_some(Some(hash))
}

/// Asks for `jid`'s vCard.
pub fn fetch(id: &str, jid: &BareJid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(Jid::from(jid.clone())),
        id: id.to_string(),
        payload: Element::builder("vCard", NS_VCARD).build(),
    }
}

/// The PHOTO of a vCard answer, if it is the picture announced as `expected`.
pub fn read_photo(vcard: &Element, expected: &str) -> Option<Vec<u8>> {
    if !vcard.is("vCard", NS_VCARD) {
        return None;
    }
    let text = vcard
        .get_child("PHOTO", NS_VCARD)?
        .get_child("BINVAL", NS_VCARD)?
        .text();
    if text.len() as u64 > avatar::MAX_BYTES / 3 * 4 + 1024 {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()?;
    (avatar::sha1_hex(&bytes) == expected).then_some(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn presence(x: &str) -> Presence {
        Presence::try_from(
            Element::from_str(&format!(
                "<presence xmlns='jabber:client' from='bob@x/a'>{x}</presence>"
            ))
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_hash_is_read_and_the_photo_must_match_it() {
        let png = b"\x89PNG not really";
        let sha = avatar::sha1_hex(png);
        let p = presence(&format!(
            "<x xmlns='vcard-temp:x:update'><photo>{}</photo></x>",
            sha.to_uppercase()
        ));
        assert_eq!(photo_of(&p), Some(Some(sha.clone())));
        let none = presence("<x xmlns='vcard-temp:x:update'><photo/></x>");
        assert_eq!(photo_of(&none), Some(None));
        assert_eq!(
            photo_of(&presence("<x xmlns='vcard-temp:x:update'/>")),
            None
        );
        assert_eq!(photo_of(&presence("")), None);
        let junk = presence("<x xmlns='vcard-temp:x:update'><photo>../etc</photo></x>");
        assert_eq!(photo_of(&junk), None);

        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let vcard = Element::from_str(&format!(
            "<vCard xmlns='vcard-temp'><FN>Bob</FN><PHOTO><TYPE>image/png</TYPE>\
             <BINVAL>{}\n{}</BINVAL></PHOTO></vCard>",
            &b64[..4],
            &b64[4..]
        ))
        .unwrap();
        assert_eq!(read_photo(&vcard, &sha).as_deref(), Some(&png[..]));
        assert_eq!(read_photo(&vcard, &"0".repeat(40)), None);
    }
}
