//! OMEMO 2 (`urn:xmpp:omemo:2`, XEP-0384 0.8+), what newer clients speak beside
//! OMEMO 0.3: the identity published as an Ed25519 key, bundles and device lists on
//! their own PEP nodes, the message's `<header>` with one `<keys jid>` per account,
//! and a payload that is a whole SCE envelope (XEP-0420) encrypted with AES-256-CBC
//! and HMAC-SHA-256, its key and tag sent through each device's session. Our device
//! keeps one identity for both versions (its Curve25519 key is the Ed25519 one's
//! other form), and one set of prekeys. Pure: no I/O.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod proto;
pub mod session;

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use minidom::Element;
use x25519_dalek::PublicKey;

use super::axolotl::{b64, unb64};
use super::keys::OwnDevice;
use super::OmemoError;
use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:omemo:2";
/// The device list's node (one item, "current").
pub const DEVICES_NODE: &str = "urn:xmpp:omemo:2:devices";
/// The bundles' node: one item per device, named by its id.
pub const BUNDLES_NODE: &str = "urn:xmpp:omemo:2:bundles";
/// XEP-0420's namespace: what the payload holds.
pub const SCE_NS: &str = "urn:xmpp:sce:1";
/// Devices read from one list (more are ignored: a list of thousands is hostile).
pub const MAX_DEVICES: usize = 64;
/// Prekeys read from one bundle.
pub const MAX_PREKEYS: usize = 256;
/// Keys read from one message's header.
pub const MAX_KEYS: usize = 256;
/// The largest SCE envelope opened (a chat message's body is far smaller).
pub const MAX_ENVELOPE: usize = 256 * 1024;
/// How deep an envelope's elements may nest (a chat message's go 3 deep).
pub const MAX_ENVELOPE_DEPTH: usize = 16;

/// Our identity as OMEMO 2 publishes it: the Ed25519 form of our Curve25519 key,
/// with the sign XEdDSA gives it (so that its signatures check as Ed25519 ones).
pub fn own_identity(own: &OwnDevice) -> Result<[u8; 32], OmemoError> {
    MontgomeryPoint(own.identity.public().to_bytes())
        .to_edwards(0)
        .map(|e| e.compress().to_bytes())
        .ok_or(OmemoError::BadKey("an identity without an Ed25519 form"))
}

/// A device's Ed25519 identity as the Curve25519 key X3DH agrees with. A point that
/// is not on the curve, or of small order, is refused.
pub fn curve_of(ed: &[u8; 32]) -> Result<PublicKey, OmemoError> {
    let point = CompressedEdwardsY(*ed)
        .decompress()
        .filter(|p| !p.is_small_order())
        .ok_or(OmemoError::BadKey("not an Ed25519 identity"))?;
    Ok(PublicKey::from(point.to_montgomery().to_bytes()))
}

/// A device's bundle (OMEMO 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Ed25519.
    pub identity: [u8; 32],
    pub signed_prekey_id: u32,
    pub signed_prekey: PublicKey,
    pub signature: Vec<u8>,
    pub prekeys: Vec<(u32, PublicKey)>,
}

impl Bundle {
    /// Whether the signed prekey (its 32 bytes) carries the identity's Ed25519 signature.
    pub fn verified(&self) -> bool {
        let (Ok(key), Ok(sig)) = (
            ed25519_dalek::VerifyingKey::from_bytes(&self.identity),
            ed25519_dalek::Signature::from_slice(&self.signature),
        ) else {
            return false;
        };
        ed25519_dalek::Verifier::verify(&key, self.signed_prekey.as_bytes(), &sig).is_ok()
    }

    /// Our device's bundle: the same keys as its OMEMO 0.3 one; the signed prekey
    /// signed again over its 32 bytes (XEdDSA), as OMEMO 2 checks it.
    pub fn of(own: &OwnDevice) -> Result<Bundle, OmemoError> {
        Ok(Bundle {
            identity: own_identity(own)?,
            signed_prekey_id: own.signed_prekey_id,
            signed_prekey: own.signed_prekey.public(),
            signature: own
                .identity
                .sign(own.signed_prekey.public().as_bytes())
                .to_vec(),
            prekeys: own
                .prekeys
                .iter()
                .map(|(id, k)| (*id, k.public()))
                .collect(),
        })
    }
}

fn key32(bytes: &[u8]) -> Result<[u8; 32], OmemoError> {
    bytes
        .try_into()
        .map_err(|_| OmemoError::BadKey("not a 32-byte key"))
}

/// `<devices>` naming our devices.
pub fn device_list(ids: &[u32]) -> Element {
    let mut list = Element::builder("devices", NS);
    for id in ids {
        list = list.append(Element::builder("device", NS).a("id", id.to_string()));
    }
    list.build()
}

/// The device ids of a `<devices>` (at most [`MAX_DEVICES`]; nonsense entries skipped).
pub fn parse_device_list(el: &Element) -> Result<Vec<u32>, OmemoError> {
    if !el.is("devices", NS) {
        return Err(OmemoError::Malformed("not an OMEMO 2 device list"));
    }
    let mut ids: Vec<u32> = el
        .children()
        .filter(|c| c.is("device", NS))
        .filter_map(|c| c.attr("id")?.parse().ok())
        .filter(|id| *id != 0)
        .take(MAX_DEVICES)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `<bundle>` as OMEMO 2 publishes it.
pub fn bundle(b: &Bundle) -> Element {
    let mut prekeys = Element::builder("prekeys", NS);
    for (id, k) in &b.prekeys {
        prekeys = prekeys.append(
            Element::builder("pk", NS)
                .a("id", id.to_string())
                .append(b64(k.as_bytes())),
        );
    }
    Element::builder("bundle", NS)
        .append(
            Element::builder("spk", NS)
                .a("id", b.signed_prekey_id.to_string())
                .append(b64(b.signed_prekey.as_bytes())),
        )
        .append(Element::builder("spks", NS).append(b64(&b.signature)))
        .append(Element::builder("ik", NS).append(b64(&b.identity)))
        .append(prekeys)
        .build()
}

/// A `<bundle>`; its signature is checked when a session is begun with it.
pub fn parse_bundle(el: &Element) -> Result<Bundle, OmemoError> {
    if !el.is("bundle", NS) {
        return Err(OmemoError::Malformed("not an OMEMO 2 bundle"));
    }
    let child = |name: &str| {
        el.get_child(name, NS)
            .ok_or(OmemoError::Malformed("a bundle missing a part"))
    };
    let spk = child("spk")?;
    let signed_prekey_id = spk
        .attr("id")
        .and_then(|i| i.parse().ok())
        .ok_or(OmemoError::Malformed("a signed prekey without its id"))?;
    let mut prekeys = Vec::new();
    for p in child("prekeys")?
        .children()
        .filter(|c| c.is("pk", NS))
        .take(MAX_PREKEYS)
    {
        let (Some(id), Ok(bytes)) = (p.attr("id").and_then(|i| i.parse().ok()), unb64(p)) else {
            continue;
        };
        if let Ok(k) = key32(&bytes) {
            prekeys.push((id, PublicKey::from(k)));
        }
    }
    if prekeys.is_empty() {
        return Err(OmemoError::Malformed("a bundle without prekeys"));
    }
    Ok(Bundle {
        identity: key32(&unb64(child("ik")?)?)?,
        signed_prekey_id,
        signed_prekey: PublicKey::from(key32(&unb64(spk)?)?),
        signature: unb64(child("spks")?)?,
        prekeys,
    })
}

/// One device's key material in a message: `<key rid [kex='true']>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFor {
    /// The account the device belongs to.
    pub jid: String,
    pub rid: u32,
    pub kex: bool,
    pub data: Vec<u8>,
}

/// `<encrypted xmlns='urn:xmpp:omemo:2'>`: who sent it, the keys for each device,
/// and the payload (none: an empty message that only moves a session on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub sid: u32,
    pub keys: Vec<KeyFor>,
    pub payload: Option<Vec<u8>>,
}

impl Encrypted {
    pub fn to_element(&self) -> Element {
        let mut header = Element::builder("header", NS).a("sid", self.sid.to_string());
        let mut jids: Vec<&str> = self.keys.iter().map(|k| k.jid.as_str()).collect();
        jids.sort_unstable();
        jids.dedup();
        for jid in jids {
            let mut keys = Element::builder("keys", NS).a("jid", jid);
            for k in self.keys.iter().filter(|k| k.jid == jid) {
                let mut key = Element::builder("key", NS).a("rid", k.rid.to_string());
                if k.kex {
                    key = key.a("kex", "true");
                }
                keys = keys.append(key.append(b64(&k.data)));
            }
            header = header.append(keys);
        }
        let mut e = Element::builder("encrypted", NS).append(header);
        if let Some(p) = &self.payload {
            e = e.append(Element::builder("payload", NS).append(b64(p)));
        }
        e.build()
    }

    pub fn parse(el: &Element) -> Result<Encrypted, OmemoError> {
        if !el.is("encrypted", NS) {
            return Err(OmemoError::Malformed("not an OMEMO 2 message"));
        }
        let header = el
            .get_child("header", NS)
            .ok_or(OmemoError::Malformed("a message without its header"))?;
        let sid = header
            .attr("sid")
            .and_then(|s| s.parse().ok())
            .ok_or(OmemoError::Malformed("a message without its sender device"))?;
        let mut keys = Vec::new();
        for ks in header.children().filter(|c| c.is("keys", NS)) {
            let Some(jid) = ks.attr("jid") else { continue };
            for k in ks.children().filter(|c| c.is("key", NS)) {
                if keys.len() >= MAX_KEYS {
                    break;
                }
                let (Some(rid), Ok(data)) = (k.attr("rid").and_then(|r| r.parse().ok()), unb64(k))
                else {
                    continue;
                };
                keys.push(KeyFor {
                    jid: jid.to_string(),
                    rid,
                    kex: matches!(k.attr("kex"), Some("true" | "1")),
                    data,
                });
            }
        }
        let payload = match el.get_child("payload", NS) {
            Some(p) => Some(unb64(p)?),
            None => None,
        };
        Ok(Encrypted { sid, keys, payload })
    }

    /// The key for our device `rid` of account `jid`.
    pub fn key_for(&self, jid: &str, rid: u32) -> Option<&KeyFor> {
        // JIDs' local and domain parts are case-insensitive (as the stream gives them).
        self.keys
            .iter()
            .find(|k| k.rid == rid && k.jid.eq_ignore_ascii_case(jid))
    }
}

/// A payload sealed for sending: its ciphertext, and the key material (key and tag,
/// 48 bytes) each device's session carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub ciphertext: Vec<u8>,
    pub key_material: Vec<u8>,
}

/// Encrypts a payload under a fresh key ("OMEMO Payload").
pub fn seal(plaintext: &[u8]) -> Result<Payload, OmemoError> {
    let key: [u8; 32] = rand::random();
    let (enc, auth, iv) = session::expand(&key, b"OMEMO Payload")?;
    let ciphertext = session::cbc_encrypt(&enc, &iv, plaintext);
    let tag = session::mac16(&auth, &[&ciphertext])?;
    let mut key_material = key.to_vec();
    key_material.extend_from_slice(&tag);
    Ok(Payload {
        ciphertext,
        key_material,
    })
}

/// What an empty message (no payload) carries through a session: 32 zero bytes.
pub fn empty_key_material() -> Vec<u8> {
    vec![0; 32]
}

/// Decrypts a payload with the key material a session gave (checked tag first).
pub fn open(key_material: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, OmemoError> {
    let (Some(key), Some(tag)) = (key_material.get(..32), key_material.get(32..)) else {
        return Err(OmemoError::Malformed("key material of the wrong length"));
    };
    if tag.len() != session::MAC_LEN {
        return Err(OmemoError::Malformed("key material of the wrong length"));
    }
    let (enc, auth, iv) = session::expand(key, b"OMEMO Payload")?;
    if !crate::omemo::same_mac(&session::mac16(&auth, &[ciphertext])?, tag) {
        return Err(OmemoError::BadMac);
    }
    session::cbc_decrypt(&enc, &iv, ciphertext)
}

/// The SCE envelope (XEP-0420) of a chat message: the body, random padding (so
/// that a ciphertext's length says less), the time, and whom it is from and to.
pub fn envelope(body: &str, from: &str, to: &str) -> Vec<u8> {
    let pad_len = rand::random::<u8>() % 40;
    let pad: Vec<u8> = (0..pad_len).map(|_| rand::random()).collect();
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let e = Element::builder("envelope", SCE_NS)
        .append(
            Element::builder("content", SCE_NS)
                .append(Element::builder("body", "jabber:client").append(body)),
        )
        .append(Element::builder("rpad", SCE_NS).append(b64(&pad)))
        .append(Element::builder("time", SCE_NS).a("stamp", stamp))
        .append(Element::builder("to", SCE_NS).a("jid", to))
        .append(Element::builder("from", SCE_NS).a("jid", from))
        .build();
    String::from(&e).into_bytes()
}

/// The body in an SCE envelope from `sender` (bare JID): `None` for an envelope
/// without one. An envelope that says it is from someone else is refused: anyone
/// could otherwise replay another's words as their own.
pub fn open_envelope(
    bytes: &[u8],
    sender: &str,
    recipient: Option<&str>,
) -> Result<Option<String>, OmemoError> {
    if bytes.len() > MAX_ENVELOPE {
        return Err(OmemoError::Malformed("an SCE envelope too large"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OmemoError::Malformed("not UTF-8"))?;
    // What gets past the stream's guard is not XML it has seen: a tree thousands
    // deep would overflow the stack when dropped.
    if depth(text) > MAX_ENVELOPE_DEPTH {
        return Err(OmemoError::Malformed("an SCE envelope nested too deep"));
    }
    let e: Element = text
        .parse()
        .map_err(|_| OmemoError::Malformed("not an SCE envelope"))?;
    if !e.is("envelope", SCE_NS) {
        return Err(OmemoError::Malformed("not an SCE envelope"));
    }
    let from = e
        .get_child("from", SCE_NS)
        .and_then(|f| f.attr("jid"))
        .ok_or(OmemoError::Malformed("an SCE envelope without its sender"))?;
    let from_bare = from.split('/').next().unwrap_or_default();
    if !from_bare.eq_ignore_ascii_case(sender) {
        return Err(OmemoError::UntrustedIdentity);
    }
    // Whom the sender wrote to, sealed with the text: a message to someone else,
    // passed on to us by them or a server, is not ours to show as written to us.
    let to = e.get_child("to", SCE_NS).and_then(|t| t.attr("jid"));
    if let (Some(to), Some(recipient)) = (to, recipient) {
        let to_bare = to.split('/').next().unwrap_or_default();
        if !to_bare.eq_ignore_ascii_case(recipient) {
            return Err(OmemoError::Malformed(
                "an SCE envelope addressed to someone else",
            ));
        }
    }
    let content = e
        .get_child("content", SCE_NS)
        .ok_or(OmemoError::Malformed("an SCE envelope without content"))?;
    Ok(content.get_child("body", "jabber:client").map(|b| b.text()))
}

/// How deep the elements of `xml` nest, read without building them: tags counted
/// outside quoted attribute values (where `/>` and `<` say nothing), comments and
/// processing instructions skipped.
fn depth(xml: &str) -> usize {
    enum At {
        Text,
        Tag,
        Quote(u8),
    }
    let b = xml.as_bytes();
    let (mut at, mut depth, mut max) = (At::Text, 0usize, 0usize);
    for (i, c) in b.iter().enumerate() {
        let next = b.get(i + 1).copied();
        at = match (at, *c) {
            (At::Text, b'<') => {
                match next {
                    Some(b'/') => depth = depth.saturating_sub(1),
                    Some(b'?' | b'!') => {}
                    _ => {
                        depth += 1;
                        max = max.max(depth);
                    }
                }
                At::Tag
            }
            (At::Text, _) => At::Text,
            (At::Tag, q @ (b'"' | b'\'')) => At::Quote(q),
            (At::Tag, b'/') if next == Some(b'>') => {
                depth = depth.saturating_sub(1);
                At::Tag
            }
            (At::Tag, b'>') => At::Text,
            (At::Tag, _) => At::Tag,
            (At::Quote(q), c) if c == q => At::Tag,
            (at @ At::Quote(_), _) => at,
        };
    }
    max
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
