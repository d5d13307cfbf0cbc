//! XEP-0084 User Avatar over PEP: a contact's metadata notification (which picture,
//! by its SHA-1), fetching its data, and publishing ours (data first, then the
//! metadata that points at it). What a contact publishes is bounded and checked:
//! at most `MAX_BYTES`, and its SHA-1 must be the id it was announced under.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use minidom::Element;
use sha1::Digest as _;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message;

use super::{pubsub, Attr};

pub const DATA: &str = "urn:xmpp:avatar:data";
pub const METADATA: &str = "urn:xmpp:avatar:metadata";
/// A picture larger than this is not fetched (clients publish a few kilobytes).
pub const MAX_BYTES: u64 = 512 * 1024;

/// The picture a contact's metadata points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Its SHA-1, lowercase hex: also the data item's id and the cache file's name.
    pub id: String,
    pub bytes: u64,
    pub mime: String,
}

/// A metadata notification: whose, and their picture now (`None`: they removed it).
pub fn metadata_event(m: &Message) -> Option<(BareJid, Option<Info>)> {
    let n = pubsub::notification(m, METADATA)?;
    let owner = m.from.as_ref()?.to_bare();
    let Some(item) = n.published.first() else {
        return Some((owner, None));
    };
    let info = item
        .get_child("metadata", METADATA)
        .and_then(|md| md.children().find(|c| c.is("info", METADATA)))
        .and_then(|i| {
            let id = i.attr("id")?.to_ascii_lowercase();
            let hex = id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit());
            Some(Info {
                bytes: i.attr("bytes")?.parse().ok()?,
                mime: i.attr("type").unwrap_or("image/png").to_string(),
                id: hex.then_some(id)?,
            })
        });
    Some((owner, info))
}

/// Asks `owner` for the data item `id`.
pub fn fetch(id: &str, owner: &BareJid, item: &str) -> Iq {
    Iq::Get {
        from: None,
        to: Some(Jid::from(owner.clone())),
        id: id.to_string(),
        payload: Element::builder("pubsub", pubsub::NS)
            .append(
                Element::builder("items", pubsub::NS)
                    .a("node", DATA)
                    .append(Element::builder("item", pubsub::NS).a("id", item)),
            )
            .build(),
    }
}

/// The picture in a data answer, if it is the one announced as `expected`.
pub fn read_data(pubsub_answer: &Element, expected: &str) -> Option<Vec<u8>> {
    let item = pubsub::fetched_items(pubsub_answer).next()?;
    let text = item.get_child("data", DATA)?.text();
    // Base64 takes 4 characters for 3 bytes: anything longer is over the limit.
    if text.len() as u64 > MAX_BYTES / 3 * 4 + 1024 {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()?;
    (sha1_hex(&bytes) == expected).then_some(bytes)
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Publishes our picture's data (a PNG) under its SHA-1.
pub fn publish_data(id: &str, png: &[u8]) -> Iq {
    let data = Element::builder("data", DATA)
        .append(base64::engine::general_purpose::STANDARD.encode(png))
        .build();
    pubsub::publish(id, DATA, &sha1_hex(png), data, &[])
}

/// Publishes the metadata that points contacts at our picture (`png` published
/// before), or, with `None`, says we have none.
pub fn publish_metadata(id: &str, png: Option<(&[u8], u32, u32)>) -> Iq {
    let mut md = Element::builder("metadata", METADATA);
    let item_id = match png {
        Some((bytes, w, h)) => {
            let sha = sha1_hex(bytes);
            md = md.append(
                Element::builder("info", METADATA)
                    .a("id", sha.clone())
                    .a("bytes", bytes.len().to_string())
                    .a("type", "image/png")
                    .a("width", w.to_string())
                    .a("height", h.to_string()),
            );
            sha
        }
        None => "current".into(),
    };
    pubsub::publish(id, METADATA, &item_id, md.build(), &[])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn data_is_taken_only_under_its_own_hash() {
        let png = b"\x89PNG fake".to_vec();
        let Iq::Set { payload, .. } = publish_data("1", &png) else {
            panic!()
        };
        // The published item, as an items answer carries it.
        let item = payload
            .get_child("publish", pubsub::NS)
            .and_then(|p| p.get_child("item", pubsub::NS))
            .unwrap()
            .clone();
        let answer = Element::builder("pubsub", pubsub::NS)
            .append(
                Element::builder("items", pubsub::NS)
                    .a("node", DATA)
                    .append(item),
            )
            .build();
        assert_eq!(read_data(&answer, &sha1_hex(&png)), Some(png.clone()));
        assert_eq!(read_data(&answer, &sha1_hex(b"other")), None);
        let m = Message::try_from(
            Element::from_str(&format!(
                "<message xmlns='jabber:client' from='bob@x'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
                 <items node='urn:xmpp:avatar:metadata'><item id='{0}'><metadata xmlns='urn:xmpp:avatar:metadata'>\
                 <info id='{0}' bytes='9' type='image/png'/></metadata></item></items></event></message>",
                sha1_hex(&png)
            ))
            .unwrap(),
        )
        .unwrap();
        let (owner, info) = metadata_event(&m).unwrap();
        assert_eq!(owner.as_str(), "bob@x");
        assert_eq!(info.unwrap().id, sha1_hex(&png));
    }
}
