use super::*;
use crate::omemo::keys;

fn pair() -> (OwnDevice, OwnDevice) {
    (OwnDevice::generate(), OwnDevice::generate())
}

/// Alice begins with Bob's bundle; her messages are PreKey messages until Bob answers;
/// both ways work, in order and out of it, across several ratchet steps.
#[test]
fn a_session_both_ways_with_ratchet_steps() {
    let (alice, mut bob) = pair();
    let mut a = Session::initiate(&alice, &bob.bundle()).unwrap();
    let first = a.encrypt(b"hello bob").unwrap();
    assert!(first.prekey);
    let second = a.encrypt(b"are you there?").unwrap();
    assert!(second.prekey, "still unanswered");
    let (mut b, plain, used) = Session::accept(&bob, &first.bytes).unwrap();
    assert_eq!(plain, b"hello bob");
    let used = used.expect("a one-time prekey was used");
    bob.prekeys.remove(&used);
    assert_eq!(b.decrypt(&second.bytes, true).unwrap(), b"are you there?");
    assert_eq!(b.their_identity(), &alice.identity.public());

    let reply = b.encrypt(b"yes").unwrap();
    assert!(!reply.prekey);
    assert_eq!(a.decrypt(&reply.bytes, false).unwrap(), b"yes");
    let next = a.encrypt(b"good").unwrap();
    assert!(!next.prekey, "answered: no prekey part any more");

    // Out of order across a ratchet step: keys skipped are kept.
    let m1 = b.encrypt(b"one").unwrap();
    let m2 = b.encrypt(b"two").unwrap();
    assert_eq!(b.decrypt(&next.bytes, false).unwrap(), b"good");
    let m3 = b.encrypt(b"three").unwrap();
    assert_eq!(a.decrypt(&m3.bytes, false).unwrap(), b"three");
    assert_eq!(a.decrypt(&m2.bytes, false).unwrap(), b"two");
    assert_eq!(a.decrypt(&m1.bytes, false).unwrap(), b"one");
    for i in 0..5 {
        let m = a.encrypt(format!("a{i}").as_bytes()).unwrap();
        assert_eq!(
            b.decrypt(&m.bytes, false).unwrap(),
            format!("a{i}").as_bytes()
        );
        let m = b.encrypt(format!("b{i}").as_bytes()).unwrap();
        assert_eq!(
            a.decrypt(&m.bytes, false).unwrap(),
            format!("b{i}").as_bytes()
        );
    }
}

/// A replayed, altered or misdirected message is refused, and the session still
/// decrypts the next real one.
#[test]
fn replays_alterations_and_strangers_are_refused_and_nothing_breaks() {
    let (alice, bob) = pair();
    let mut a = Session::initiate(&alice, &bob.bundle()).unwrap();
    let first = a.encrypt(b"hi").unwrap();
    let (mut b, _, _) = Session::accept(&bob, &first.bytes).unwrap();
    let m = b.encrypt(b"secret").unwrap();
    assert_eq!(a.decrypt(&m.bytes, false).unwrap(), b"secret");
    assert_eq!(a.decrypt(&m.bytes, false), Err(OmemoError::Duplicate));

    let m = b.encrypt(b"again").unwrap();
    for i in [1, 10, m.bytes.len() - 1] {
        let mut bad = m.bytes.clone();
        bad[i] ^= 0x40;
        assert!(a.decrypt(&bad, false).is_err(), "flipped byte {i}");
    }
    assert!(a.decrypt(&m.bytes[..m.bytes.len() - 3], false).is_err());
    assert!(a.decrypt(&[], false).is_err());
    assert!(a.decrypt(&[0x33; 40], false).is_err());

    // Mallory's session with Alice cannot speak in Bob's.
    let mallory = OwnDevice::generate();
    let mut mal = Session::initiate(&mallory, &alice.bundle()).unwrap();
    let forged = mal.encrypt(b"i am bob").unwrap();
    assert!(a.decrypt(&forged.bytes, true).is_err());
    assert_eq!(a.decrypt(&m.bytes, false).unwrap(), b"again");
}

/// A bundle whose signed prekey is not signed by its identity is refused, as is a
/// PreKey message naming a prekey the device does not have, or a counter absurdly
/// far ahead.
#[test]
fn forged_bundles_unknown_prekeys_and_absurd_counters() {
    let (alice, bob) = pair();
    let mut forged = bob.bundle();
    forged.signed_prekey = KeyPair::generate().public();
    assert_eq!(
        Session::initiate(&alice, &forged).err(),
        Some(OmemoError::BadSignature)
    );
    let mut a = Session::initiate(&alice, &bob.bundle()).unwrap();
    let first = a.encrypt(b"hi").unwrap();
    let mut used_up = bob.clone();
    used_up.prekeys.clear();
    assert!(matches!(
        Session::accept(&used_up, &first.bytes),
        Err(OmemoError::UnknownPreKey(_))
    ));

    // A message claiming counter 100 000: refused without deriving 100 000 keys.
    let (mut b, _, _) = Session::accept(&bob, &first.bytes).unwrap();
    let m = b.encrypt(b"x").unwrap();
    let (mut parsed, _, _) = WhisperMessage::parse(&m.bytes).unwrap();
    parsed.counter = 100_000;
    let mut bytes = parsed.to_bytes_unauthenticated();
    bytes.extend_from_slice(&[0; MAC_LEN]);
    assert!(a.decrypt(&bytes, false).is_err());
    assert_eq!(a.decrypt(&m.bytes, false).unwrap(), b"x");
}

/// Our device and a session, stored and read back (as after a restart), go on as
/// before: the read-back session decrypts the peer's next message and the peer ours.
#[test]
fn device_and_sessions_survive_a_restart() {
    let (alice, bob) = pair();
    let mut a = Session::initiate(&alice, &bob.bundle()).unwrap();
    let first = a.encrypt(b"hi").unwrap();
    let (mut b, _, _) = Session::accept(&bob, &first.bytes).unwrap();
    let m1 = b.encrypt(b"one").unwrap();
    let m2 = b.encrypt(b"two").unwrap();
    assert_eq!(a.decrypt(&m2.bytes, false).unwrap(), b"two");

    let alice2 = OwnDevice::from_bytes(&alice.to_bytes()).unwrap();
    assert_eq!(alice2.bundle(), alice.bundle());
    assert_eq!(alice2.device_id, alice.device_id);
    let mut a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(a2.to_bytes(), a.to_bytes());
    // The skipped key of message one came along.
    assert_eq!(a2.decrypt(&m1.bytes, false).unwrap(), b"one");
    let m = a2.encrypt(b"after the restart").unwrap();
    assert_eq!(b.decrypt(&m.bytes, m.prekey).unwrap(), b"after the restart");

    // A pending (unanswered) session keeps its prekey part.
    let mut fresh = Session::initiate(&alice, &bob.bundle()).unwrap();
    let back = Session::from_bytes(&fresh.to_bytes()).unwrap();
    assert_eq!(back.to_bytes(), fresh.to_bytes());
    assert!(fresh.encrypt(b"x").unwrap().prekey);

    for cut in [0, 1, 40, a.to_bytes().len() - 1] {
        assert!(
            Session::from_bytes(&a.to_bytes()[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    assert!(OwnDevice::from_bytes(&[9, 9, 9]).is_err());
}

/// A week-old signed prekey is replaced; a PreKey message built from the bundle a
/// peer fetched before still opens (the old one is kept), as does a device stored
/// before rotation existed (format 1).
#[test]
fn the_signed_prekey_rotates_and_late_messages_still_open() {
    let (alice, mut bob) = pair();
    let old_bundle = bob.bundle();
    let mut a = Session::initiate(&alice, &old_bundle).unwrap();
    let first = a.encrypt(b"built before the rotation").unwrap();

    let made = bob.signed_prekey_made;
    assert!(!bob.rotate_signed_prekey(made + 3600), "not yet");
    assert!(bob.rotate_signed_prekey(made + keys::SIGNED_PREKEY_LIFETIME));
    assert_ne!(bob.bundle().signed_prekey_id, old_bundle.signed_prekey_id);
    assert!(bob.bundle().verified());
    let (mut b, plain, _) = Session::accept(&bob, &first.bytes).unwrap();
    assert_eq!(plain, b"built before the rotation");
    let reply = b.encrypt(b"ok").unwrap();
    assert_eq!(a.decrypt(&reply.bytes, false).unwrap(), b"ok");
    // New sessions use the new one.
    let mut c = Session::initiate(&OwnDevice::generate(), &bob.bundle()).unwrap();
    assert!(Session::accept(&bob, &c.encrypt(b"new").unwrap().bytes).is_ok());
    // Kept across a restart.
    let again = OwnDevice::from_bytes(&bob.to_bytes()).unwrap();
    assert_eq!(
        again.previous_signed_prekey.as_ref().map(|p| p.0),
        Some(old_bundle.signed_prekey_id)
    );

    // A device stored in format 1 (no rotation data) still loads.
    let d = OwnDevice::generate();
    let mut v1 = d.to_bytes();
    v1.truncate(v1.len() - 9);
    v1[0] = 1;
    let back = OwnDevice::from_bytes(&v1).unwrap();
    assert_eq!(back.bundle(), d.bundle());
    assert!(back.previous_signed_prekey.is_none());
}
