//! OMEMO 0.3's elements (`eu.siacs.conversations.axolotl`): the device list, the
//! bundle, and `<encrypted>` with its AES-128-GCM payload, whose key and tag travel
//! to each device in a ratchet message.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, AesGcm, Nonce};
use base64::prelude::{Engine, BASE64_STANDARD};
use minidom::Element;

use crate::xmpp::Attr;

use super::keys::{self, Bundle};
use super::OmemoError;

pub const NS: &str = "eu.siacs.conversations.axolotl";
pub const DEVICELIST_NODE: &str = "eu.siacs.conversations.axolotl.devicelist";

/// The PEP node of a device's bundle.
pub fn bundle_node(device_id: u32) -> String {
    format!("eu.siacs.conversations.axolotl.bundles:{device_id}")
}

/// Device lists longer than this are cut: each device costs a bundle fetch and a
/// key per message.
pub const MAX_DEVICES: usize = 64;
/// Bundles may carry at most this many prekeys (XEP-0384 asks for about 100).
pub const MAX_PREKEYS: usize = 256;

type Aes128Gcm16 = AesGcm<aes::Aes128, aes_gcm::aead::consts::U16>;

/// `<list><device id/>…</list>`.
pub fn device_list(ids: &[u32]) -> Element {
    let mut list = Element::builder("list", NS);
    for id in ids {
        list = list.append(Element::builder("device", NS).a("id", id.to_string()));
    }
    list.build()
}

/// The device ids in a `<list/>`: valid ones, each once, at most [`MAX_DEVICES`].
pub fn parse_device_list(list: &Element) -> Result<Vec<u32>, OmemoError> {
    if !list.is("list", NS) {
        return Err(OmemoError::Malformed("not a device list"));
    }
    let mut ids: Vec<u32> = Vec::new();
    for d in list.children().filter(|c| c.is("device", NS)) {
        let Some(id) = d.attr("id").and_then(|i| i.parse::<u32>().ok()) else {
            continue;
        };
        if id != 0 && id < 0x8000_0000 && !ids.contains(&id) && ids.len() < MAX_DEVICES {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub(super) fn b64(bytes: &[u8]) -> String {
    BASE64_STANDARD.encode(bytes)
}

pub(super) fn unb64(el: &Element) -> Result<Vec<u8>, OmemoError> {
    let text: String = el.text().chars().filter(|c| !c.is_whitespace()).collect();
    BASE64_STANDARD
        .decode(text)
        .map_err(|_| OmemoError::Malformed("not base64"))
}

/// `<bundle>` as OMEMO 0.3 publishes it.
pub fn bundle(b: &Bundle) -> Element {
    let mut prekeys = Element::builder("prekeys", NS);
    for (id, k) in &b.prekeys {
        prekeys = prekeys.append(
            Element::builder("preKeyPublic", NS)
                .a("preKeyId", id.to_string())
                .append(b64(&keys::serialize(k))),
        );
    }
    Element::builder("bundle", NS)
        .append(
            Element::builder("signedPreKeyPublic", NS)
                .a("signedPreKeyId", b.signed_prekey_id.to_string())
                .append(b64(&keys::serialize(&b.signed_prekey))),
        )
        .append(Element::builder("signedPreKeySignature", NS).append(b64(&b.signature)))
        .append(Element::builder("identityKey", NS).append(b64(&keys::serialize(&b.identity))))
        .append(prekeys)
        .build()
}

/// A `<bundle>`; its signature is checked when a session is begun with it.
pub fn parse_bundle(el: &Element) -> Result<Bundle, OmemoError> {
    if !el.is("bundle", NS) {
        return Err(OmemoError::Malformed("not a bundle"));
    }
    let child = |name: &str| {
        el.get_child(name, NS)
            .ok_or(OmemoError::Malformed("a bundle missing a part"))
    };
    let spk = child("signedPreKeyPublic")?;
    let signed_prekey_id = spk
        .attr("signedPreKeyId")
        .and_then(|i| i.parse().ok())
        .ok_or(OmemoError::Malformed("a signed prekey without its id"))?;
    let mut prekeys = Vec::new();
    for p in child("prekeys")?
        .children()
        .filter(|c| c.is("preKeyPublic", NS))
        .take(MAX_PREKEYS)
    {
        let (Some(id), Ok(bytes)) = (p.attr("preKeyId").and_then(|i| i.parse().ok()), unb64(p))
        else {
            continue;
        };
        if let Ok(k) = keys::parse(&bytes) {
            prekeys.push((id, k));
        }
    }
    if prekeys.is_empty() {
        return Err(OmemoError::Malformed("a bundle without prekeys"));
    }
    Ok(Bundle {
        identity: keys::parse(&unb64(child("identityKey")?)?)?,
        signed_prekey_id,
        signed_prekey: keys::parse(&unb64(spk)?)?,
        signature: unb64(child("signedPreKeySignature")?)?,
        prekeys,
    })
}

/// A ratchet message to one device: `<key rid prekey>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFor {
    pub rid: u32,
    pub prekey: bool,
    pub data: Vec<u8>,
}

/// `<encrypted>`: the sender's device, a key for each recipient device, the IV and
/// the payload (absent in a key-transport message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub sid: u32,
    pub keys: Vec<KeyFor>,
    pub iv: Vec<u8>,
    pub payload: Option<Vec<u8>>,
}

impl Encrypted {
    pub fn to_element(&self) -> Element {
        let mut header = Element::builder("header", NS).a("sid", self.sid.to_string());
        for k in &self.keys {
            let mut key = Element::builder("key", NS).a("rid", k.rid.to_string());
            if k.prekey {
                key = key.a("prekey", "true");
            }
            header = header.append(key.append(b64(&k.data)));
        }
        header = header.append(Element::builder("iv", NS).append(b64(&self.iv)));
        let mut e = Element::builder("encrypted", NS).append(header);
        if let Some(p) = &self.payload {
            e = e.append(Element::builder("payload", NS).append(b64(p)));
        }
        e.build()
    }

    pub fn parse(el: &Element) -> Result<Encrypted, OmemoError> {
        if !el.is("encrypted", NS) {
            return Err(OmemoError::Malformed("not an OMEMO 0.3 message"));
        }
        let header = el
            .get_child("header", NS)
            .ok_or(OmemoError::Malformed("no header"))?;
        let sid = header
            .attr("sid")
            .and_then(|s| s.parse().ok())
            .ok_or(OmemoError::Malformed("no sender device"))?;
        let mut keys = Vec::new();
        for k in header
            .children()
            .filter(|c| c.is("key", NS))
            .take(MAX_DEVICES * 4)
        {
            let Some(rid) = k.attr("rid").and_then(|r| r.parse().ok()) else {
                continue;
            };
            let prekey = matches!(k.attr("prekey"), Some("true" | "1"));
            keys.push(KeyFor {
                rid,
                prekey,
                data: unb64(k)?,
            });
        }
        let iv = unb64(
            header
                .get_child("iv", NS)
                .ok_or(OmemoError::Malformed("no IV"))?,
        )?;
        let payload = match el.get_child("payload", NS) {
            Some(p) => Some(unb64(p)?),
            None => None,
        };
        Ok(Encrypted {
            sid,
            keys,
            iv,
            payload,
        })
    }

    /// The ratchet message for our device `rid`.
    pub fn key_for(&self, rid: u32) -> Option<&KeyFor> {
        self.keys.iter().find(|k| k.rid == rid)
    }
}

/// A message body encrypted once for all devices.
pub struct Body {
    /// What each device gets through its ratchet: the AES key, then the GCM tag.
    pub material: [u8; 32],
    pub iv: [u8; 12],
    pub payload: Vec<u8>,
}

/// Encrypts a message body (AES-128-GCM, a fresh key and IV).
pub fn seal(plaintext: &[u8]) -> Result<Body, OmemoError> {
    let key: [u8; 16] = rand::random();
    let iv: [u8; 12] = rand::random();
    let cipher = Aes128Gcm::new(&key.into());
    let mut out = cipher
        .encrypt(Nonce::from_slice(&iv), plaintext)
        .map_err(|_| OmemoError::Crypto("AES-GCM"))?;
    let tag = out.split_off(out.len().saturating_sub(16));
    let mut material = [0u8; 32];
    material
        .get_mut(..16)
        .ok_or(OmemoError::Crypto("key"))?
        .copy_from_slice(&key);
    material
        .get_mut(16..)
        .ok_or(OmemoError::Crypto("tag"))?
        .copy_from_slice(&tag);
    Ok(Body {
        material,
        iv,
        payload: out,
    })
}

/// Decrypts a payload with the key material a ratchet message carried (16 bytes of
/// key and 16 of tag; 16 bytes alone for the oldest clients, who append the tag to
/// the payload) and the IV (12 bytes, or the 16 some clients use).
pub fn open(material: &[u8], iv: &[u8], payload: &[u8]) -> Result<Vec<u8>, OmemoError> {
    let (key, tag) = match material.len() {
        32 => material.split_at(16),
        16 => (material, &[][..]),
        _ => return Err(OmemoError::Malformed("key material of a strange length")),
    };
    let mut sealed = payload.to_vec();
    sealed.extend_from_slice(tag);
    let bad = |_| OmemoError::Crypto("the payload does not decrypt (wrong key or altered)");
    match iv.len() {
        12 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| OmemoError::Crypto("key"))?
            .decrypt(Nonce::from_slice(iv), sealed.as_slice())
            .map_err(bad),
        16 => Aes128Gcm16::new_from_slice(key)
            .map_err(|_| OmemoError::Crypto("key"))?
            .decrypt(
                aes_gcm::aead::generic_array::GenericArray::from_slice(iv),
                sealed.as_slice(),
            )
            .map_err(bad),
        _ => Err(OmemoError::Malformed("an IV of a strange length")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
