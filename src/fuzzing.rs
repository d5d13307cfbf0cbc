//! Entry points for the fuzz targets (fuzz/, cargo-fuzz with libFuzzer) and for the
//! corpus replay that CI runs as an ordinary test (tests/fuzz_corpus.rs). Each takes
//! arbitrary bytes, feeds them to the code that reads what peers and servers send, and
//! asserts what must hold whatever the input: no panic, and where a property can be
//! stated (no SDP injection, the guard idempotent), that property.

use std::str::FromStr;

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;
use xmpp_parsers::presence::Presence;

use crate::jingle::{jmi::Jmi, mapping, Jingle};
use crate::xmpp::{
    aesgcm, blocking, caps, carbons, chat, chatstates, correct, disco, extdisco, fallback, guard,
    mam, markers, oob, presence, reactions, receipts, reply, retract, roster, upload,
};

/// Parses the bytes as one XML element (as a stanza arrives, in `jabber:client`).
fn element(data: &[u8]) -> Option<Element> {
    let text = std::str::from_utf8(data).ok()?;
    Element::from_str(text).ok()
}

fn own() -> BareJid {
    BareJid::new("alice@example.test").unwrap_or_else(|_| unreachable!())
}

/// The stanza guard: splitting the input anywhere gives the same output, and the
/// output passes a second guard unchanged.
pub fn guard(data: &[u8]) {
    let run = |parts: &[&[u8]]| {
        let mut g = guard::Guard::new();
        let mut out = Vec::new();
        for p in parts {
            g.feed(p, &mut out);
        }
        g.finish(&mut out);
        out
    };
    let whole = run(&[data]);
    let at = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let (a, b) = data.split_at(at);
    assert_eq!(run(&[a, b]), whole, "split at {at}");
    assert_eq!(run(&[&whole]), whole, "not idempotent");
}

/// A Jingle IQ payload → Jingle → the mapping in both roles → SDP: no value from the
/// peer adds SDP lines of its own.
pub fn jingle(data: &[u8]) {
    let Some(el) = element(data) else { return };
    let Ok(j) = Jingle::parse(&el) else { return };
    let _ = j.to_element();
    for initiator in [true, false] {
        let Ok(desc) = mapping::from_jingle(&j, None, initiator) else {
            continue;
        };
        sdp_holds(&desc);
        let (contents, group) = mapping::to_jingle(&desc, "initiator", initiator);
        let mut again = Jingle::new(j.action, &j.sid);
        again.contents = contents;
        again.group = group;
        let _ = Jingle::parse(&again.to_element());
        if let Ok(added) = mapping::with_added(&desc, &j, initiator) {
            sdp_holds(&added);
        }
    }
}

/// Every line is one of ours: as many m= sections as contents, as many candidate
/// lines as candidates in each section, and nothing but known line types.
fn sdp_holds(desc: &banter_media::SessionDescription) {
    let (main, own) = desc.split();
    for d in std::iter::once(&main).chain(own.as_ref()) {
        let sdp = d.to_sdp();
        let lines: Vec<&str> = sdp.split("\r\n").filter(|l| !l.is_empty()).collect();
        for l in &lines {
            assert!(
                ["v=", "o=", "s=", "t=", "a=", "m=", "c="]
                    .iter()
                    .any(|p| l.starts_with(p)),
                "foreign SDP line {l:?}"
            );
            assert!(!l.contains('\n') && !l.contains('\r'), "{l:?}");
        }
        let m = lines.iter().filter(|l| l.starts_with("m=")).count();
        assert_eq!(m, d.contents.len());
        let cands = lines
            .iter()
            .filter(|l| l.starts_with("a=candidate"))
            .count();
        assert_eq!(cands, d.candidates.len() * d.contents.len());
    }
}

/// XEP-0353 messages.
pub fn jmi(data: &[u8]) {
    let Some(el) = element(data) else { return };
    if let Some(j) = Jmi::parse(&el) {
        let _ = Jmi::parse(&j.to_element());
    }
    if let Ok(m) = Message::try_from(el) {
        let _ = Jmi::from_message(&m);
    }
}

/// What the client does with a message: carbons, archive results, history entries,
/// chat states, receipts, corrections, retractions, reactions (bounded), replies (the
/// shown body never longer than the body), markers, and the guard's stand-in marker.
pub fn message(data: &[u8]) {
    let Some(el) = element(data) else { return };
    let Ok(m) = Message::try_from(el) else { return };
    let own = own();
    let _ = guard::unreadable_reason(&m.payloads);
    let _ = (correct::replaces(&m), retract::retracts(&m));
    let _ = (markers::is_markable(&m), markers::displayed_of(&m));
    if let Some((_, set)) = reactions::read(&m) {
        assert!(set.len() <= reactions::MAX_REACTIONS);
        for r in &set {
            assert!(!r.trim().is_empty() && r.len() <= reactions::MAX_REACTION_BYTES);
            assert_eq!(set.iter().filter(|o| *o == r).count(), 1, "{r} twice");
        }
    }
    let _ = reply::read(&m);
    if let Some(body) = chat::body(&m) {
        if let Some(f) = oob::file_of(&m, &body) {
            let scheme = f
                .url
                .split("://")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(
                ["https", "http", "aesgcm"].contains(&scheme.as_str()),
                "{}",
                f.url
            );
            assert!(
                !f.name.contains(['/', '\\']) && !f.name.starts_with('.'),
                "{}",
                f.name
            );
            if let Some(sha) = &f.sha256 {
                assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()));
            }
            if let Some((https, key)) = aesgcm::parse(&f.url) {
                assert!(https.starts_with("https://"));
                assert!(matches!(key.iv.len(), 12 | 16));
                let _ = aesgcm::open(body.as_bytes(), &key);
            }
        }
        let shown = reply::shown_body(&m, &body);
        assert!(shown.chars().count() <= body.chars().count());
        if let Some(r) = fallback::ranges(&m, reply::NS) {
            let _ = fallback::strip(&body, &r);
        }
    }
    if let Some((_, inner, ts)) = mam::unwrap_result(&m, &own, "q1") {
        let _ = chat::read(&inner, &own, Some("a1".into()), ts);
    }
    if let Some((_, inner, ts)) = carbons::unwrap(&m, &own) {
        let _ = receipts::received_id(&inner);
        let _ = chat::read(&inner, &own, None, ts);
    }
    let _ = chatstates::state_of(&m);
    let _ = receipts::requested(&m);
    let _ = receipts::received_id(&m);
    if let Some(s) = chat::read(&m, &own, None, None) {
        assert!(s.ts_ms <= chat::now_ms());
    }
}

/// Roster pushes and results, presences with caps, disco#info answers and their caps
/// verification, XEP-0215 services.
pub fn roster_disco(data: &[u8]) {
    let Some(el) = element(data) else { return };
    let _ = roster::parse_items(&el);
    assert!(disco::parse_items(&el).len() <= 64);
    if let Some(s) = upload::service_of(own().into(), &el) {
        let _ = s.max_size;
    }
    if let Some(slot) = upload::read_slot(&el) {
        assert!(slot.put.starts_with("http") && slot.get.starts_with("http"));
        assert!(slot.headers.iter().all(|(n, _)| {
            ["authorization", "cookie", "expires"].contains(&n.to_ascii_lowercase().as_str())
        }));
    }
    if let Some((ids, features)) = disco::parse_info(&el) {
        let names: Vec<&str> = features.iter().map(String::as_str).collect();
        let _ = caps::ver_hash(&ids, &names, &[]);
        let _ = disco::matches_ver(&el, "x");
    }
    let _ = extdisco::parse(&el);
    if let Some(list) = blocking::read_list(&el) {
        assert!(list.len() <= blocking::MAX_BLOCKED);
    }
    let _ = blocking::read_push(&el);
    if let Ok(p) = Presence::try_from(el.clone()) {
        let _ = presence::show_of(&p);
        let _ = presence::status_of(&p);
        let _ = presence::caps_of(&p);
    }
    if let Ok(Iq::Result {
        payload: Some(q), ..
    }) = Iq::try_from(el)
    {
        let _ = roster::parse_items(&q);
        let _ = disco::parse_info(&q);
        if let Some(slot) = upload::read_slot(&q) {
            assert!(slot.put.starts_with("http") && slot.get.starts_with("http"));
        }
    }
}
