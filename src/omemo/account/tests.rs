use super::*;
use crate::store::Store;

fn bundle_of(o: &Omemo) -> Bundle {
    axolotl::parse_bundle(&o.bundle()).unwrap()
}

/// Two accounts, each with its own store: Alice writes first (a PreKey message from
/// Bob's bundle), Bob answers, both restart (everything from the stores, unlocked
/// with the passwords) and go on; a wrong password unlocks nothing.
#[test]
fn messages_both_ways_across_restarts() {
    let (sa, sb) = (Store::in_memory().unwrap(), Store::in_memory().unwrap());
    let mut alice = Omemo::load_or_create(&sa, "alice@x", "pa").unwrap();
    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    let bob_bundle_before = bob.bundle();

    let e = alice
        .encrypt(
            &sa,
            &[("bob@x".into(), bob.device_id(), Some(bundle_of(&bob)))],
            Some("hi bob"),
        )
        .unwrap()
        .encrypted;
    assert!(e.keys[0].prekey);
    let d = bob.decrypt(&sb, "alice@x", &e).unwrap();
    assert_eq!(d.body.as_deref(), Some("hi bob"));
    assert!(d.began_session);
    assert_eq!(d.fingerprint, alice.fingerprint());
    assert_ne!(
        bob.bundle(),
        bob_bundle_before,
        "a prekey used and replaced"
    );

    // Bob's answer: an empty message completes the session.
    let empty = bob
        .encrypt(&sb, &[("alice@x".into(), alice.device_id(), None)], None)
        .unwrap()
        .encrypted;
    assert_eq!(empty.payload, None);
    assert_eq!(alice.decrypt(&sa, "bob@x", &empty).unwrap().body, None);

    // Both restart.
    let alice_id = alice.device_id();
    drop((alice, bob));
    assert!(matches!(
        Omemo::load_or_create(&sa, "alice@x", "wrong"),
        Err(AccountError::Omemo(OmemoError::Locked))
    ));
    let mut alice = Omemo::load_or_create(&sa, "alice@x", "pa").unwrap();
    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    assert_eq!(
        alice.device_id(),
        alice_id,
        "the same device, not a new one"
    );
    let e = alice
        .encrypt(
            &sa,
            &[("bob@x".into(), bob.device_id(), None)],
            Some("after restart"),
        )
        .unwrap()
        .encrypted;
    assert!(
        !e.keys[0].prekey,
        "the session was answered before the restart"
    );
    assert_eq!(
        bob.decrypt(&sb, "alice@x", &e).unwrap().body.as_deref(),
        Some("after restart")
    );
    // A replay: refused, and nothing else lost.
    assert!(bob.decrypt(&sb, "alice@x", &e).is_err());
    let e = bob
        .encrypt(
            &sb,
            &[("alice@x".into(), alice_id, None)],
            Some("still here"),
        )
        .unwrap()
        .encrypted;
    assert_eq!(
        alice.decrypt(&sa, "bob@x", &e).unwrap().body.as_deref(),
        Some("still here")
    );

    // A new password: the same keys, unlocked with it only.
    alice.rewrap(&sa, "new").unwrap();
    assert!(Omemo::load_or_create(&sa, "alice@x", "pa").is_err());
    assert_eq!(
        Omemo::load_or_create(&sa, "alice@x", "new")
            .unwrap()
            .device_id(),
        alice_id
    );
    let devices = sa.omemo_devices("alice@x", "bob@x").unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].trust, "blind");
}

/// A message with no key for our device, or for a device we know no session with
/// and that is not a PreKey message: errors, in words.
#[test]
fn messages_not_for_us_are_errors() {
    let s = Store::in_memory().unwrap();
    let mut alice = Omemo::load_or_create(&s, "alice@x", "p").unwrap();
    let e = Encrypted {
        sid: 5,
        keys: vec![KeyFor {
            rid: alice.device_id().wrapping_add(1),
            prekey: false,
            data: vec![1, 2, 3],
        }],
        iv: vec![0; 12],
        payload: Some(vec![1]),
    };
    assert!(matches!(
        alice.decrypt(&s, "bob@x", &e),
        Err(AccountError::Omemo(OmemoError::NotForUs))
    ));
    let mut e = e;
    e.keys[0].rid = alice.device_id();
    assert!(alice.decrypt(&s, "bob@x", &e).is_err());
}

/// Blind trust until the user verifies a device of the contact; then a new device of
/// theirs is undecided (nothing is encrypted to it) until decided; an untrusted
/// device gets nothing; a device whose key changed is undecided again.
#[test]
fn blind_trust_before_verification() {
    let sa = Store::in_memory().unwrap();
    let mut alice = Omemo::load_or_create(&sa, "alice@x", "pa").unwrap();
    let (s1, s2) = (Store::in_memory().unwrap(), Store::in_memory().unwrap());
    let bob1 = Omemo::load_or_create(&s1, "bob@x", "p").unwrap();
    let bob2 = Omemo::load_or_create(&s2, "bob@x", "p").unwrap();
    let to = |o: &Omemo| ("bob@x".to_string(), o.device_id(), Some(bundle_of(o)));

    let s = alice.encrypt(&sa, &[to(&bob1)], Some("one")).unwrap();
    assert_eq!(s.encrypted.keys.len(), 1);
    assert!(s.left_out.is_empty(), "blind trust");
    let fp = parse_fingerprint(&bob1.fingerprint()).unwrap();
    assert!(sa
        .set_omemo_trust("alice@x", "bob@x", &fp, "verified")
        .unwrap());

    // Bob's second device appears after the first was verified.
    let s = alice
        .encrypt(&sa, &[to(&bob1), to(&bob2)], Some("two"))
        .unwrap();
    assert_eq!(
        s.encrypted.keys.iter().map(|k| k.rid).collect::<Vec<_>>(),
        vec![bob1.device_id()]
    );
    assert_eq!(
        s.left_out,
        vec![("bob@x".to_string(), bob2.device_id(), Trust::Undecided)]
    );
    // Verifying it lets it in.
    let fp2 = parse_fingerprint(&bob2.fingerprint()).unwrap();
    assert!(sa
        .set_omemo_trust("alice@x", "bob@x", &fp2, "verified")
        .unwrap());
    let s = alice
        .encrypt(&sa, &[to(&bob1), to(&bob2)], Some("three"))
        .unwrap();
    assert_eq!(s.encrypted.keys.len(), 2);
    // Untrusting the first keeps it out.
    assert!(sa
        .set_omemo_trust("alice@x", "bob@x", &fp, "untrusted")
        .unwrap());
    let s = alice.encrypt(&sa, &[to(&bob1)], Some("four")).unwrap();
    assert!(s.encrypted.keys.is_empty());
    assert_eq!(s.left_out[0].2, Trust::Untrusted);

    // The same device id with another key: undecided.
    let other = Omemo::create_new(&Store::in_memory().unwrap(), "bob@x", "p").unwrap();
    let key = axolotl::parse_bundle(&other.bundle()).unwrap().identity;
    assert_eq!(
        alice
            .trust_of(&sa, "bob@x", bob2.device_id(), key.as_bytes())
            .unwrap(),
        Trust::Undecided
    );
    assert!(
        !sa.set_omemo_trust("alice@x", "bob@x", &[7; 32], "verified")
            .unwrap(),
        "no such key"
    );
}

#[test]
fn fingerprints_are_read_as_people_write_them() {
    let hex = "a1b2c3d4".repeat(8);
    let bytes = parse_fingerprint(&hex).unwrap();
    assert_eq!(bytes.len(), 32);
    assert_eq!(bytes[0], 0xa1);
    let spaced: String = hex
        .to_uppercase()
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(parse_fingerprint(&spaced).unwrap(), bytes);
    assert_eq!(parse_fingerprint(&format!("05{hex}")).unwrap(), bytes);
    assert_eq!(parse_fingerprint("abc"), None);
    assert_eq!(parse_fingerprint(&format!("{hex}00")), None);
}

/// OMEMO 2 between two accounts: Alice begins from Bob's OMEMO 2 bundle; Bob reads
/// the envelope, answers with an empty message, restarts, and reads Alice's next
/// (no key exchange now); the fingerprint is the device's one fingerprint, whichever
/// version showed it; an envelope that names another sender is refused; and a device
/// verified in OMEMO 0.3 is verified in OMEMO 2 too.
#[test]
fn omemo_2_both_ways_across_a_restart_with_one_trust_per_device() {
    use crate::omemo::twomemo;
    let (sa, sb) = (Store::in_memory().unwrap(), Store::in_memory().unwrap());
    let mut alice = Omemo::load_or_create(&sa, "alice@x", "pa").unwrap();
    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    let bundle2 = twomemo::parse_bundle(&bob.bundle2().unwrap()).unwrap();
    let to_bob = |text: &str| twomemo::envelope(text, "alice@x", "bob@x");

    let e = alice
        .encrypt2(
            &sa,
            &[("bob@x".into(), bob.device_id(), Some(bundle2))],
            Some(&to_bob("hi bob")),
        )
        .unwrap()
        .encrypted;
    assert!(e.keys[0].kex);
    let d = bob.decrypt2(&sb, "alice@x", &e).unwrap();
    assert_eq!(d.body.as_deref(), Some("hi bob"));
    assert!(d.began_session);
    assert_eq!(d.fingerprint, alice.fingerprint());

    let empty = bob
        .encrypt2(&sb, &[("alice@x".into(), alice.device_id(), None)], None)
        .unwrap()
        .encrypted;
    assert!(empty.payload.is_none());
    assert_eq!(alice.decrypt2(&sa, "bob@x", &empty).unwrap().body, None);

    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    assert!(bob.has_session2(&sb, "alice@x", alice.device_id()).unwrap());
    let e = alice
        .encrypt2(
            &sa,
            &[("bob@x".into(), bob.device_id(), None)],
            Some(&to_bob("after the restart")),
        )
        .unwrap()
        .encrypted;
    assert!(!e.keys[0].kex, "answered: no key exchange");
    assert_eq!(
        bob.decrypt2(&sb, "alice@x", &e).unwrap().body.as_deref(),
        Some("after the restart")
    );

    // Mallory's words in an envelope that says they are Alice's: refused.
    let forged = alice
        .encrypt2(
            &sa,
            &[("bob@x".into(), bob.device_id(), None)],
            Some(&twomemo::envelope("it's me", "mallory@x", "bob@x")),
        )
        .unwrap()
        .encrypted;
    assert!(bob.decrypt2(&sb, "alice@x", &forged).is_err());

    // Bob verifies Alice's device (by the fingerprint both versions show): the
    // OMEMO 2 session's trust follows.
    let fp = parse_fingerprint(&alice.fingerprint()).unwrap();
    sb.set_omemo_trust("bob@x", "alice@x", &fp, Trust::Verified.as_str())
        .unwrap();
    let e = alice
        .encrypt2(
            &sa,
            &[("bob@x".into(), bob.device_id(), None)],
            Some(&to_bob("verified?")),
        )
        .unwrap()
        .encrypted;
    assert_eq!(
        bob.decrypt2(&sb, "alice@x", &e).unwrap().trust,
        Trust::Verified
    );
}

/// A device verified by its OMEMO 0.3 identity: an OMEMO 2 bundle (or key exchange)
/// for the same device id with another identity is refused and changes nothing —
/// the device stays verified, and nothing is encrypted to the other key. A bad
/// bundle leaves its device out, not the message.
#[test]
fn another_identity_for_a_known_device_is_refused_and_trust_stays() {
    use crate::omemo::twomemo;
    let (sa, sb) = (Store::in_memory().unwrap(), Store::in_memory().unwrap());
    let mut alice = Omemo::load_or_create(&sa, "alice@x", "pa").unwrap();
    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    let e = alice
        .encrypt(
            &sa,
            &[("bob@x".into(), bob.device_id(), Some(bundle_of(&bob)))],
            Some("hi"),
        )
        .unwrap()
        .encrypted;
    bob.decrypt(&sb, "alice@x", &e).unwrap();
    let fp = parse_fingerprint(&bob.fingerprint()).unwrap();
    assert!(sa
        .set_omemo_trust("alice@x", "bob@x", &fp, Trust::Verified.as_str())
        .unwrap());
    // A server's fake OMEMO 2 bundle for Bob's device: another identity.
    let impostor = Omemo::load_or_create(&Store::in_memory().unwrap(), "bob@x", "x").unwrap();
    let fake = twomemo::parse_bundle(&impostor.bundle2().unwrap()).unwrap();
    let s = alice
        .encrypt2(
            &sa,
            &[("bob@x".into(), bob.device_id(), Some(fake))],
            Some(&twomemo::envelope("secret", "alice@x", "bob@x")),
        )
        .unwrap();
    assert!(s.encrypted.keys.is_empty(), "nothing to the other key");
    assert_eq!(s.left_out.len(), 1);
    let d = sa.omemo_devices("alice@x", "bob@x").unwrap();
    assert_eq!(d[0].trust, "verified");
    assert_eq!(d[0].identity.as_deref(), Some(fp.as_slice()));
    // A bundle whose signature does not check: that device left out, no error.
    let mut bad = twomemo::parse_bundle(&bob.bundle2().unwrap()).unwrap();
    bad.signature[0] ^= 1;
    let s = alice
        .encrypt2(
            &sa,
            &[("carol@x".into(), 7, Some(bad))],
            Some(&twomemo::envelope("hi", "alice@x", "carol@x")),
        )
        .unwrap();
    assert_eq!(s.left_out.len(), 1);
}

/// 120 new devices (more than the 100 prekeys Bob offers at a time) begin
/// sessions with Bob, in turn OMEMO 0.3 and OMEMO 2, each
/// from the bundle Bob publishes at that moment: every first message reads, each
/// takes one prekey, which is gone from the next bundle and replaced by one never
/// offered before (one pool for both versions); Bob always offers 100.
#[test]
fn used_prekeys_are_replaced_and_every_new_session_reads() {
    use crate::omemo::twomemo;
    use std::collections::BTreeSet;
    let sb = Store::in_memory().unwrap();
    let mut bob = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    let ids = |b: &Bundle| {
        b.prekeys
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<u32>>()
    };
    let mut offered = ids(&bundle_of(&bob));
    for i in 0..120 {
        let before = ids(&bundle_of(&bob));
        assert_eq!(before.len(), 100);
        let sa = Store::in_memory().unwrap();
        let who = format!("a{i}@x");
        let mut a = Omemo::load_or_create(&sa, &who, "pa").unwrap();
        let d = if i % 2 == 0 {
            let e = a
                .encrypt(
                    &sa,
                    &[("bob@x".into(), bob.device_id(), Some(bundle_of(&bob)))],
                    Some("first"),
                )
                .unwrap()
                .encrypted;
            bob.decrypt(&sb, &who, &e).unwrap()
        } else {
            let b2 = twomemo::parse_bundle(&bob.bundle2().unwrap()).unwrap();
            let env = twomemo::envelope("first", &who, "bob@x");
            let e = a
                .encrypt2(
                    &sa,
                    &[("bob@x".into(), bob.device_id(), Some(b2))],
                    Some(&env),
                )
                .unwrap()
                .encrypted;
            bob.decrypt2(&sb, &who, &e).unwrap()
        };
        assert_eq!(d.body.as_deref(), Some("first"), "device {i}");
        assert!(d.began_session);
        let after = ids(&bundle_of(&bob));
        assert_eq!(after.len(), 100);
        assert_eq!(before.difference(&after).count(), 1, "one used");
        let new: Vec<u32> = after.difference(&before).copied().collect();
        assert_eq!(new.len(), 1);
        assert!(offered.insert(new[0]), "a prekey id offered before");
    }
    // Kept: a restart offers what was last published.
    let again = Omemo::load_or_create(&sb, "bob@x", "pb").unwrap();
    assert_eq!(ids(&bundle_of(&again)), ids(&bundle_of(&bob)));
}
