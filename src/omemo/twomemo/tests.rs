use super::session::{Session, MAX_JUMP};
use super::*;

fn pair() -> (OwnDevice, OwnDevice) {
    (OwnDevice::generate(), OwnDevice::generate())
}

#[test]
fn our_bundle_is_signed_as_omemo_2_checks_it_and_goes_through_xml() {
    let own = OwnDevice::generate();
    let b = Bundle::of(&own).unwrap();
    assert!(b.verified(), "an XEdDSA signature checks as Ed25519");
    // The Ed25519 identity maps back to our Curve25519 key.
    assert_eq!(curve_of(&b.identity).unwrap(), own.identity.public());
    let back = parse_bundle(&bundle(&b)).unwrap();
    assert_eq!(back, b);
    let mut forged = b.clone();
    forged.signed_prekey = OwnDevice::generate().signed_prekey.public();
    assert!(!forged.verified());
}

#[test]
fn a_session_both_ways_with_the_key_exchange_until_answered() {
    let (alice, mut bob) = pair();
    let mut a = Session::initiate(&alice, &Bundle::of(&bob).unwrap()).unwrap();
    let first = a.encrypt(b"key and tag 1").unwrap();
    let second = a.encrypt(b"key and tag 2").unwrap();
    assert!(first.kex && second.kex);
    let (mut b, plain, pk) = Session::accept(&bob, &first.bytes).unwrap();
    assert_eq!(plain, b"key and tag 1");
    assert_eq!(b.their_identity(), &own_identity(&alice).unwrap());
    bob.prekeys.remove(&pk);
    // Alice's second exchange, sent before Bob answered, is this same session.
    assert!(b.is_our_exchange(&second.bytes));
    assert_eq!(b.decrypt(&second.bytes, true).unwrap(), b"key and tag 2");
    let reply = b.encrypt(b"answer").unwrap();
    assert!(!reply.kex);
    assert_eq!(a.decrypt(&reply.bytes, false).unwrap(), b"answer");
    // Answered: no more key exchanges.
    let third = a.encrypt(b"three").unwrap();
    assert!(!third.kex);
    assert_eq!(b.decrypt(&third.bytes, false).unwrap(), b"three");
    // Another exchange (another ephemeral key) is not this session.
    let other = Session::initiate(&alice, &Bundle::of(&bob).unwrap())
        .unwrap()
        .encrypt(b"x")
        .unwrap();
    assert!(!b.is_our_exchange(&other.bytes));
    assert_eq!(
        b.decrypt(&other.bytes, true),
        Err(OmemoError::UntrustedIdentity)
    );
}

#[test]
fn out_of_order_duplicates_and_tampering() {
    let (alice, bob) = pair();
    let mut a = Session::initiate(&alice, &Bundle::of(&bob).unwrap()).unwrap();
    let m0 = a.encrypt(b"0").unwrap();
    let (mut b, _, _) = Session::accept(&bob, &m0.bytes).unwrap();
    let r = b.encrypt(b"r").unwrap();
    a.decrypt(&r.bytes, false).unwrap();
    let msgs: Vec<_> = (1..=5)
        .map(|i| a.encrypt(format!("{i}").as_bytes()).unwrap())
        .collect();
    // 5, then 2, then 4: the skipped keys serve the late ones.
    for i in [4, 1, 3, 0, 2] {
        let m = &msgs[i];
        assert_eq!(
            b.decrypt(&m.bytes, false).unwrap(),
            format!("{}", i + 1).as_bytes()
        );
    }
    assert_eq!(b.decrypt(&msgs[2].bytes, false), Err(OmemoError::Duplicate));
    // A flipped bit anywhere: refused, and the session goes on unharmed.
    let next = a.encrypt(b"after").unwrap();
    let mut bad = next.bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(b.decrypt(&bad, false).is_err());
    assert_eq!(b.decrypt(&next.bytes, false).unwrap(), b"after");
    // Both sides step their ratchets again, with a message lost on the way.
    let _lost = b.encrypt(b"lost").unwrap();
    let kept = b.encrypt(b"kept").unwrap();
    assert_eq!(a.decrypt(&kept.bytes, false).unwrap(), b"kept");
}

#[test]
fn a_counter_far_ahead_is_refused_without_the_work() {
    let (alice, bob) = pair();
    let mut a = Session::initiate(&alice, &Bundle::of(&bob).unwrap()).unwrap();
    let m0 = a.encrypt(b"0").unwrap();
    let (mut b, _, _) = Session::accept(&bob, &m0.bytes).unwrap();
    // Answered, so that what follows is no key exchange.
    let r = b.encrypt(b"r").unwrap();
    a.decrypt(&r.bytes, false).unwrap();
    for _ in 0..MAX_JUMP + 2 {
        a.encrypt(b"unsent").unwrap();
    }
    let far = a.encrypt(b"far").unwrap();
    assert_eq!(
        b.decrypt(&far.bytes, false),
        Err(OmemoError::Malformed("a counter too far ahead"))
    );
}

#[test]
fn a_session_survives_the_vault() {
    let (alice, bob) = pair();
    let mut a = Session::initiate(&alice, &Bundle::of(&bob).unwrap()).unwrap();
    let m0 = a.encrypt(b"0").unwrap();
    let (b, _, _) = Session::accept(&bob, &m0.bytes).unwrap();
    let mut a = Session::from_bytes(&a.to_bytes()).unwrap();
    let mut b = Session::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(b.their_identity(), &own_identity(&alice).unwrap());
    assert_eq!(a.their_identity(), &own_identity(&bob).unwrap());
    let m1 = a.encrypt(b"1").unwrap();
    assert!(m1.kex, "still unanswered after the vault");
    assert_eq!(b.decrypt(&m1.bytes, true).unwrap(), b"1");
    let r = b.encrypt(b"r").unwrap();
    assert_eq!(a.decrypt(&r.bytes, false).unwrap(), b"r");
    assert!(Session::from_bytes(&[1, 2, 3]).is_err());
}

#[test]
fn a_key_exchange_naming_a_prekey_we_do_not_have_says_so() {
    let (alice, mut bob) = pair();
    let mut a = Session::initiate(&alice, &Bundle::of(&bob).unwrap()).unwrap();
    let m0 = a.encrypt(b"0").unwrap();
    bob.prekeys.clear();
    assert!(matches!(
        Session::accept(&bob, &m0.bytes),
        Err(OmemoError::UnknownPreKey(_))
    ));
    assert!(Session::accept(&bob, b"garbage").is_err());
}

#[test]
fn a_payload_opens_with_its_key_material_only() {
    let p = seal(b"<envelope/>").unwrap();
    assert_eq!(p.key_material.len(), 48);
    assert_eq!(
        open(&p.key_material, &p.ciphertext).unwrap(),
        b"<envelope/>"
    );
    let mut c = p.ciphertext.clone();
    c[0] ^= 1;
    assert_eq!(open(&p.key_material, &c), Err(OmemoError::BadMac));
    assert!(open(&empty_key_material(), &p.ciphertext).is_err());
}

/// The payload as python-twomemo computes it (`encrypt_plaintext`) for the key
/// 00 01 … 1f and the plaintext "hello": HKDF-SHA-256 "OMEMO Payload", AES-256-CBC,
/// HMAC-SHA-256 cut to 16 bytes. Printed by the venv's `cryptography` with
/// twomemo's own steps (see `tests/omemo/twomemo_vector.py`).
#[test]
fn the_payload_matches_python_twomemo() {
    let key: Vec<u8> = (0u8..32).collect();
    let (enc, auth, iv) = session::expand(&key, b"OMEMO Payload").unwrap();
    let c = session::cbc_encrypt(&enc, &iv, b"hello");
    let tag = session::mac16(&auth, &[&c]).unwrap();
    assert_eq!(keys_hex(&c), PY_CIPHERTEXT);
    assert_eq!(keys_hex(&tag), PY_TAG);
}

fn keys_hex(b: &[u8]) -> String {
    super::super::keys::hex(b)
}

const PY_CIPHERTEXT: &str = "833db8ba8ab03b93116ddae41e453010";
const PY_TAG: &str = "5c748812a844a71c752b41a3e4cc1c71";

#[test]
fn messages_and_device_lists_go_through_xml() {
    let e = Encrypted {
        sid: 7,
        keys: vec![
            KeyFor {
                jid: "bob@x".into(),
                rid: 1,
                kex: true,
                data: vec![1, 2],
            },
            KeyFor {
                jid: "alice@x".into(),
                rid: 2,
                kex: false,
                data: vec![3],
            },
        ],
        payload: Some(vec![9, 9]),
    };
    let el = e.to_element();
    let back = Encrypted::parse(&el).unwrap();
    assert_eq!(back.sid, 7);
    assert_eq!(back.payload, Some(vec![9, 9]));
    assert!(back.key_for("bob@x", 1).is_some_and(|k| k.kex));
    assert!(back.key_for("alice@x", 2).is_some_and(|k| !k.kex));
    assert!(back.key_for("bob@x", 2).is_none(), "keys are per account");
    let list = device_list(&[5, 3]);
    assert_eq!(parse_device_list(&list).unwrap(), [3, 5]);
    let hostile: Element = format!(
        "<devices xmlns='{NS}'>{}<device id='0'/><device id='x'/></devices>",
        (1..10_000)
            .map(|i| format!("<device id='{i}'/>"))
            .collect::<String>()
    )
    .parse()
    .unwrap();
    assert_eq!(parse_device_list(&hostile).unwrap().len(), MAX_DEVICES);
}

#[test]
fn an_envelope_names_its_sender_and_another_is_refused() {
    let e = envelope("hi <there> & you", "alice@x", "bob@x");
    assert_eq!(
        open_envelope(&e, "alice@x", None).unwrap().as_deref(),
        Some("hi <there> & you")
    );
    assert_eq!(
        open_envelope(&e, "mallory@x", None),
        Err(OmemoError::UntrustedIdentity)
    );
    // Sealed for Bob: Bob reads it; passed on to Carol, it is refused.
    assert!(open_envelope(&e, "alice@x", Some("bob@x")).is_ok());
    assert!(open_envelope(&e, "alice@x", Some("Bob@X")).is_ok());
    assert_eq!(
        open_envelope(&e, "alice@x", Some("carol@x")),
        Err(OmemoError::Malformed(
            "an SCE envelope addressed to someone else"
        ))
    );
    let no_body =
        format!("<envelope xmlns='{SCE_NS}'><content/><from jid='alice@x/phone'/></envelope>");
    assert_eq!(
        open_envelope(no_body.as_bytes(), "alice@x", None).unwrap(),
        None
    );
    // As ElementTree writes it, with prefixes.
    let prefixed = format!(
        "<ns0:envelope xmlns:ns0='{SCE_NS}'><ns0:content><ns1:body xmlns:ns1='jabber:client'>hi</ns1:body></ns0:content><ns0:from jid='alice@x'/></ns0:envelope>"
    );
    assert_eq!(
        open_envelope(prefixed.as_bytes(), "alice@x", None)
            .unwrap()
            .as_deref(),
        Some("hi")
    );
    let no_from = format!("<envelope xmlns='{SCE_NS}'><content/></envelope>");
    assert!(open_envelope(no_from.as_bytes(), "alice@x", None).is_err());
    assert!(open_envelope(b"\xff\xfe", "alice@x", None).is_err());
    assert!(open_envelope(b"<x/>", "alice@x", None).is_err());
}

#[test]
fn an_envelope_nested_thousands_deep_or_huge_is_refused_unparsed() {
    let deep = format!(
        "<envelope xmlns='{SCE_NS}'>{}{}</envelope>",
        "<a>".repeat(20_000),
        "</a>".repeat(20_000)
    );
    assert_eq!(
        open_envelope(deep.as_bytes(), "alice@x", None),
        Err(OmemoError::Malformed("an SCE envelope nested too deep"))
    );
    // Quoted `/>` does not hide the depth.
    let sly = format!(
        "<envelope xmlns='{SCE_NS}'>{}</envelope>",
        "<a x='/>/>'>".repeat(40)
    );
    assert!(open_envelope(sly.as_bytes(), "alice@x", None).is_err());
    let huge = vec![b'x'; MAX_ENVELOPE + 1];
    assert!(open_envelope(&huge, "alice@x", None).is_err());
    // What a chat client sends is well within.
    assert!(open_envelope(&envelope("hi", "alice@x", "bob@x"), "alice@x", None).is_ok());
    assert_eq!(depth("<a><b/><c><d/></c></a>"), 3);
    assert_eq!(depth("<a><!-- <x> --><?pi?></a>"), 1);
}
