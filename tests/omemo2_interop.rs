//! OMEMO 2 (`urn:xmpp:omemo:2`, issue #13) against an implementation not written
//! here: python-omemo with its twomemo backend (PyPI; what slixmpp-omemo uses),
//! driven through tests/omemo/peer.py with PEER_OMEMO=2, one process per step.
//! What crosses is the wire itself: the `<bundle>` and `<encrypted>` elements of
//! OMEMO 2, the key exchange and ratchet protobufs, and the payload, an SCE envelope
//! (XEP-0420). No XMPP server: this proves the cryptographic core both ways.

mod support;

use std::path::Path;
use std::process::Command;

use banter::omemo::keys::OwnDevice;
use banter::omemo::twomemo::session::Session;
use banter::omemo::twomemo::{self, Bundle, Encrypted, KeyFor};
use minidom::Element;
use serde_json::Value;

const DOMAIN: &str = "example.test";

/// One step of the Python peer (OMEMO 2) whose state is `dir`: its stdout.
fn peer(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(support::omemo_python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/omemo/peer.py"))
        .arg(dir)
        .args(args)
        .env("PEER_OMEMO", "2")
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "peer.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn jid(name: &str) -> String {
    format!("{name}@{DOMAIN}")
}

fn write_bundle(dir: &Path, name: &str, d: &OwnDevice) -> String {
    let path = dir.join(name);
    let b = twomemo::bundle(&Bundle::of(d).unwrap());
    std::fs::write(&path, String::from(&b)).unwrap();
    path.display().to_string()
}

fn element(xml: &str) -> Element {
    xml.trim().parse().expect("XML from the peer")
}

/// Our message from `from` to one device of `to`: an SCE envelope sealed, its key
/// material sent in the session.
fn seal_for(
    session: &mut Session,
    from: &str,
    sid: u32,
    to: &str,
    rid: u32,
    text: &str,
) -> Encrypted {
    let p = twomemo::seal(&twomemo::envelope(text, &jid(from), &jid(to))).unwrap();
    let sealed = session.encrypt(&p.key_material).unwrap();
    Encrypted {
        sid,
        keys: vec![KeyFor {
            jid: jid(to),
            rid,
            kex: sealed.kex,
            data: sealed.bytes,
        }],
        payload: Some(p.ciphertext),
    }
}

/// `from`'s message to our device `rid` of `to`: the body, or `None` for an empty
/// message.
fn open_with(
    session: &mut Session,
    e: &Encrypted,
    to: &str,
    rid: u32,
    from: &str,
) -> Option<String> {
    let k = e.key_for(&jid(to), rid).expect("a key for our device");
    let material = session.decrypt(&k.data, k.kex).expect("decrypts");
    let p = e.payload.as_ref()?;
    let envelope = twomemo::open(&material, p).expect("the payload opens");
    twomemo::open_envelope(&envelope, &jid(from), Some(&jid(to)))
        .expect("an envelope from the sender")
}

fn python_encrypts(dir: &Path, to: &str, device: &str, bundle: &str, text: &str) -> Encrypted {
    let xml = peer(
        dir,
        &[
            "encrypt",
            "--to",
            &jid(to),
            "--device",
            device,
            "--bundle",
            bundle,
            "--text",
            text,
        ],
    );
    Encrypted::parse(&element(&xml)).unwrap()
}

fn python_decrypts(dir: &Path, from: &str, device: &str, bundle: &str, file: &Path) -> Value {
    let out = peer(
        dir,
        &[
            "decrypt",
            "--from",
            &jid(from),
            "--device",
            device,
            "--bundle",
            bundle,
            "--message",
            file.to_str().unwrap(),
        ],
    );
    serde_json::from_str::<Value>(out.trim()).unwrap()["text"].clone()
}

/// python-twomemo begins: its key exchange builds our session (X3DH as the
/// responder) and its envelope opens; we answer in that session and it reads us;
/// its next message is no key exchange; a replay is refused.
#[test]
fn python_twomemo_begins_and_both_read_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let bob_dir = tmp.path().join("bob");
    let mut alice = OwnDevice::generate();
    let alice_bundle = write_bundle(tmp.path(), "alice.xml", &alice);
    let init: Value =
        serde_json::from_str(&peer(&bob_dir, &["init", "--jid", &jid("bob")])).unwrap();
    let bob_id = init["device_id"].as_u64().unwrap() as u32;
    let alice_id = alice.device_id.to_string();

    let e = python_encrypts(
        &bob_dir,
        "alice",
        &alice_id,
        &alice_bundle,
        "hello from python-twomemo",
    );
    assert_eq!(e.sid, bob_id);
    let k = e.key_for(&jid("alice"), alice.device_id).unwrap();
    assert!(k.kex, "the first message begins the session");
    let (mut session, material, used) = Session::accept(&alice, &k.data).unwrap();
    let envelope = twomemo::open(&material, e.payload.as_ref().unwrap()).unwrap();
    assert_eq!(
        twomemo::open_envelope(&envelope, &jid("bob"), Some(&jid("alice")))
            .unwrap()
            .as_deref(),
        Some("hello from python-twomemo")
    );
    alice.prekeys.remove(&used);

    let reply = seal_for(
        &mut session,
        "alice",
        alice.device_id,
        "bob",
        bob_id,
        "hello from Banter",
    );
    assert!(!reply.keys[0].kex, "we answer inside the session it began");
    let reply_file = tmp.path().join("reply.xml");
    std::fs::write(&reply_file, String::from(&reply.to_element())).unwrap();
    assert_eq!(
        python_decrypts(&bob_dir, "alice", &alice_id, &alice_bundle, &reply_file),
        "hello from Banter"
    );

    let e = python_encrypts(&bob_dir, "alice", &alice_id, &alice_bundle, "and again");
    assert!(
        !e.key_for(&jid("alice"), alice.device_id).unwrap().kex,
        "answered"
    );
    assert_eq!(
        open_with(&mut session, &e, "alice", alice.device_id, "bob").as_deref(),
        Some("and again")
    );
    let k = e.key_for(&jid("alice"), alice.device_id).unwrap();
    assert!(session.decrypt(&k.data, k.kex).is_err(), "a replay");
}

/// Banter begins from python-twomemo's bundle (its Ed25519 identity and signature):
/// python reads our key exchange and envelope, completes the session with an empty
/// message, and its next one decrypts here; ours then carry no key exchange.
#[test]
fn banter_begins_from_python_twomemos_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let bob_dir = tmp.path().join("bob");
    let carol = OwnDevice::generate();
    let carol_bundle = write_bundle(tmp.path(), "carol.xml", &carol);
    let init: Value =
        serde_json::from_str(&peer(&bob_dir, &["init", "--jid", &jid("bob")])).unwrap();
    let bob_id = init["device_id"].as_u64().unwrap() as u32;
    let bundle = twomemo::parse_bundle(&element(init["bundle"].as_str().unwrap())).unwrap();
    assert!(bundle.verified(), "python-twomemo's Ed25519 signature");
    let mut session = Session::initiate(&carol, &bundle).unwrap();

    let first = seal_for(
        &mut session,
        "carol",
        carol.device_id,
        "bob",
        bob_id,
        "hello, python",
    );
    assert!(first.keys[0].kex);
    let file = tmp.path().join("first.xml");
    std::fs::write(&file, String::from(&first.to_element())).unwrap();
    let carol_id = carol.device_id.to_string();
    assert_eq!(
        python_decrypts(&bob_dir, "carol", &carol_id, &carol_bundle, &file),
        "hello, python"
    );

    // python-omemo completes the session with an empty message (no payload).
    let empty = std::fs::read_dir(&bob_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("outbox-") && n.ends_with(".xml"))
        })
        .expect("python-twomemo's empty message");
    let e = Encrypted::parse(&element(&std::fs::read_to_string(empty).unwrap())).unwrap();
    assert!(e.payload.is_none());
    assert_eq!(
        open_with(&mut session, &e, "carol", carol.device_id, "bob"),
        None
    );

    let e = python_encrypts(&bob_dir, "carol", &carol_id, &carol_bundle, "hello, Banter");
    assert_eq!(
        open_with(&mut session, &e, "carol", carol.device_id, "bob").as_deref(),
        Some("hello, Banter")
    );
    let next = seal_for(
        &mut session,
        "carol",
        carol.device_id,
        "bob",
        bob_id,
        "no key exchange now",
    );
    assert!(!next.keys[0].kex);
    let file = tmp.path().join("next.xml");
    std::fs::write(&file, String::from(&next.to_element())).unwrap();
    assert_eq!(
        python_decrypts(&bob_dir, "carol", &carol_id, &carol_bundle, &file),
        "no key exchange now"
    );
}
