//! The DTLS fingerprint of a call carried OMEMO-encrypted (Conversations' draft
//! "dtls-srtp-verification", which Dino speaks too), so that a call is tied to a
//! key the user trusts and a server cannot swap the fingerprint.
//!
//! On the wire: the callee's JMI `<proceed>` names its OMEMO device
//! (`<device xmlns=NS id=…/>`); each transport of the caller's session-initiate and
//! of the callee's session-accept then holds `<fingerprint xmlns=NS hash setup>`
//! around an OMEMO 0.3 `<encrypted>` message (to that one device) whose body is the
//! fingerprint's text, in place of the plain XEP-0320 one. Each content's is its own
//! message. Only the element work is here; the keys are the client's.
// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;

use super::ice_udp::{NS as NS_ICE, NS_DTLS};
use crate::xmpp::Attr;

pub const NS: &str = "http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification";
const NS_AXOLOTL: &str = "eu.siacs.conversations.axolotl";

/// Our device, for a JMI `<proceed>`.
pub fn device_element(id: u32) -> Element {
    Element::builder("device", NS).a("id", id).build()
}

/// The device a JMI `<proceed>` names.
pub fn proceed_device(proceed: &Element) -> Option<u32> {
    proceed.get_child("device", NS)?.attr("id")?.parse().ok()
}

fn transports_mut(jingle: &mut Element) -> impl Iterator<Item = &mut Element> {
    jingle
        .children_mut()
        .filter(|c| c.name() == "content")
        .filter_map(|c| c.get_child_mut("transport", NS_ICE))
}

/// Replaces each transport's plain fingerprint by the encrypted one `seal` makes of
/// its text. All or nothing: false (and the Jingle unchanged) when `seal` fails for
/// one, or there is no fingerprint at all.
pub fn seal(jingle: &mut Element, mut seal: impl FnMut(&str) -> Option<Element>) -> bool {
    let mut sealed = Vec::new();
    for t in transports_mut(jingle) {
        if let Some(fp) = t.get_child("fingerprint", NS_DTLS) {
            let Some(encrypted) = seal(fp.text().trim()) else {
                return false;
            };
            let mut b = Element::builder("fingerprint", NS);
            for attr in ["hash", "setup"] {
                if let Some(v) = fp.attr(attr) {
                    b = b.a(attr, v);
                }
            }
            sealed.push(b.append(encrypted).build());
        }
    }
    if sealed.is_empty() {
        return false;
    }
    let mut sealed = sealed.into_iter();
    for t in transports_mut(jingle) {
        if t.remove_child("fingerprint", NS_DTLS).is_some() {
            if let Some(s) = sealed.next() {
                t.append_child(s);
            }
        }
    }
    true
}

/// How a Jingle request's fingerprints came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened<T> {
    /// No fingerprint at all (a content bundled with one that has it).
    None,
    /// Plain ones only.
    Plain,
    /// Every transport had exactly one, encrypted, and each opened: what `open` said
    /// of each.
    Sealed(Vec<T>),
}

/// Puts back the plain fingerprint of each encrypted one, its text what `open` reads
/// from the `<encrypted>` element. All or nothing, so that the fingerprint DTLS is
/// checked against is always the one opened: a transport with an encrypted one and
/// any other, or one without while another has one, is refused (`refuse` says why),
/// as is a failure of `open`, and more contents than a call has. The Jingle is not
/// to be used after an error.
pub fn open<T, E>(
    jingle: &mut Element,
    mut open: impl FnMut(&Element) -> Result<(String, T), E>,
    refuse: impl Fn(&'static str) -> E,
) -> Result<Opened<T>, E> {
    let (mut sealed, mut plain, mut bare) = (0usize, 0usize, 0usize);
    for t in transports_mut(jingle) {
        let count = |ns| t.children().filter(|c| c.is("fingerprint", ns)).count();
        match (count(NS), count(NS_DTLS)) {
            (0, 0) => bare += 1,
            (0, _) => plain += 1,
            (1, 0) => sealed += 1,
            _ => {
                return Err(refuse(
                    "a transport with an encrypted fingerprint and another",
                ))
            }
        }
    }
    if sealed == 0 {
        return Ok(if plain > 0 {
            Opened::Plain
        } else {
            Opened::None
        });
    }
    if plain > 0 || bare > 0 {
        return Err(refuse(
            "some of its contents' fingerprints were not encrypted",
        ));
    }
    if sealed > super::limits::CONTENTS {
        return Err(refuse(
            "more encrypted fingerprints than a call has contents",
        ));
    }
    let mut opened = Vec::new();
    for t in transports_mut(jingle) {
        let Some(fp) = t.remove_child("fingerprint", NS) else {
            continue;
        };
        let hash = fp
            .attr("hash")
            .ok_or_else(|| refuse("an encrypted fingerprint without its hash"))?;
        let encrypted = fp
            .get_child("encrypted", NS_AXOLOTL)
            .ok_or_else(|| refuse("an encrypted fingerprint without its OMEMO message"))?;
        let (text, said) = open(encrypted)?;
        let mut b = Element::builder("fingerprint", NS_DTLS).a("hash", hash);
        if let Some(v) = fp.attr("setup") {
            b = b.a("setup", v);
        }
        t.append_child(b.append(text).build());
        opened.push(said);
    }
    Ok(Opened::Sealed(opened))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn jingle(contents: &[&str]) -> Element {
        let c: String = contents
            .iter()
            .map(|name| {
                format!(
                    "<content creator='initiator' name='{name}'><transport xmlns='{NS_ICE}' ufrag='u' pwd='p'>\
                     <fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='actpass'>AB:CD:{name}</fingerprint>\
                     <candidate component='1' foundation='1' generation='0' id='c' ip='127.0.0.1' port='9' priority='1' protocol='udp' type='host'/>\
                     </transport></content>"
                )
            })
            .collect();
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>{c}</jingle>")
            .parse()
            .unwrap()
    }

    fn fake_encrypted(text: &str) -> Element {
        Element::builder("encrypted", NS_AXOLOTL)
            .append(Element::builder("payload", NS_AXOLOTL).append(text).build())
            .build()
    }

    fn read(e: &Element) -> Result<(String, u32), &'static str> {
        let t = e
            .get_child("payload", NS_AXOLOTL)
            .ok_or("no payload")?
            .text();
        if t.contains("bad") {
            return Err("does not decrypt");
        }
        Ok((t, 7))
    }

    #[test]
    fn sealed_fingerprints_open_to_what_they_were() {
        let original = jingle(&["audio", "video"]);
        let mut j = original.clone();
        assert!(seal(&mut j, |t| Some(fake_encrypted(t))));
        let wire = String::from(&j);
        assert!(!wire.contains(NS_DTLS), "{wire}");
        assert_eq!(wire.matches(NS).count(), 2, "{wire}");
        assert!(wire.contains("hash='sha-256'") || wire.contains("hash=\"sha-256\""));
        assert_eq!(open(&mut j, read, |w| w), Ok(Opened::Sealed(vec![7, 7])));
        let t = super::super::ice_udp::Transport::parse(
            j.get_child("content", super::super::NS)
                .unwrap()
                .get_child("transport", NS_ICE)
                .unwrap(),
        );
        let (fp, setup) = t.fingerprint.unwrap();
        assert_eq!(fp.value, "AB:CD:AUDIO");
        assert_eq!(setup, banter_media::description::Setup::ActPass);
        assert_eq!(t.candidates.len(), 1);
    }

    #[test]
    fn a_failed_seal_leaves_the_plain_jingle() {
        let original = jingle(&["audio", "video"]);
        let mut j = original.clone();
        let mut n = 0;
        assert!(!seal(&mut j, |t| {
            n += 1;
            (n == 1).then(|| fake_encrypted(t))
        }));
        assert_eq!(j, original);
    }

    #[test]
    fn plain_none_and_every_way_of_mixing_them_in() {
        let mut j = jingle(&["audio"]);
        assert_eq!(open(&mut j, read, |w| w), Ok(Opened::Plain));
        let mut j: Element = "<jingle xmlns='urn:xmpp:jingle:1' action='content-add' sid='s'><content creator='initiator' name='v'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle>"
            .parse()
            .unwrap();
        assert_eq!(open(&mut j, read, |w| w), Ok(Opened::None));

        let sealed = || {
            let mut j = jingle(&["audio", "video"]);
            seal(&mut j, |t| Some(fake_encrypted(t)));
            j
        };

        // One content plain, the other encrypted.
        let mut half = jingle(&["audio"]);
        half.append_child(sealed().children().nth(1).unwrap().clone());
        assert!(open(&mut half, read, |w| w).is_err());

        // A plain one (or two) beside the encrypted one: the plain would be what DTLS
        // checks.
        for extra in 1..=2 {
            let mut j = sealed();
            for t in transports_mut(&mut j) {
                for _ in 0..extra {
                    t.append_child(
                        Element::builder("fingerprint", NS_DTLS)
                            .a("hash", "sha-256")
                            .append("EV:IL")
                            .build(),
                    );
                }
            }
            assert!(open(&mut j, read, |w| w).is_err(), "{extra}");
        }

        // One content without any fingerprint (it would take one from elsewhere).
        let mut j = sealed();
        if let Some(t) = transports_mut(&mut j).next() {
            t.remove_child("fingerprint", NS);
        }
        assert!(open(&mut j, read, |w| w).is_err());

        // An encrypted one without its hash (it would parse as none).
        let mut j = sealed();
        for t in transports_mut(&mut j) {
            let mut fp = t.remove_child("fingerprint", NS).unwrap();
            let enc = fp.remove_child("encrypted", NS_AXOLOTL).unwrap();
            t.append_child(Element::builder("fingerprint", NS).append(enc).build());
        }
        assert!(open(&mut j, read, |w| w).is_err());

        let mut j = jingle(&["audio"]);
        seal(&mut j, |_| Some(fake_encrypted("bad")));
        assert_eq!(open(&mut j, read, |w| w), Err("does not decrypt"));

        let mut j = jingle(&["audio"]);
        seal(&mut j, |_| Some(Element::builder("x", "y").build()));
        assert!(open(&mut j, read, |w| w).is_err());

        let mut j = jingle(&["a", "b", "c", "d", "e"]);
        seal(&mut j, |t| Some(fake_encrypted(t)));
        assert!(open(&mut j, read, |w| w).is_err());
    }

    #[test]
    fn the_device_of_a_proceed() {
        let p: Element = format!(
            "<proceed xmlns='urn:xmpp:jingle-message:0' id='a'><device xmlns='{NS}' id='1234'/></proceed>"
        )
        .parse()
        .unwrap();
        assert_eq!(proceed_device(&p), Some(1234));
        let mut q: Element = "<proceed xmlns='urn:xmpp:jingle-message:0' id='a'/>"
            .parse()
            .unwrap();
        assert_eq!(proceed_device(&q), None);
        q.append_child(device_element(99));
        assert_eq!(proceed_device(&q), Some(99));
    }
}
