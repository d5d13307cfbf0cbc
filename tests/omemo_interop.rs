//! OMEMO 0.3 (issue #13) against an implementation not written here: python-omemo
//! with its oldmemo backend (PyPI; the library slixmpp-omemo uses), driven through
//! tests/omemo/peer.py, one process per step, its sessions kept in a directory.
//! What crosses between the two is the wire format itself: the `<bundle>` and the
//! `<encrypted>` elements as XEP-0384 v0.3 has them. No XMPP server yet: this proves
//! the cryptographic core (X3DH, the Double Ratchet, the payload) both ways.

mod support;

use std::path::Path;
use std::process::Command;

use banter::omemo::axolotl::{self, Encrypted, KeyFor};
use banter::omemo::keys::OwnDevice;
use banter::omemo::session::Session;
use minidom::Element;
use serde_json::Value;

/// The interpreter with python-omemo (the venv tests/support makes).
fn python() -> String {
    support::omemo_python()
}

/// One step of the Python peer whose state is `dir`: its stdout.
fn peer(py: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/omemo/peer.py"))
        .arg(dir)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "peer.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_bundle(dir: &Path, name: &str, d: &OwnDevice) -> String {
    let path = dir.join(name);
    std::fs::write(&path, String::from(&axolotl::bundle(&d.bundle()))).unwrap();
    path.display().to_string()
}

fn element(xml: &str) -> Element {
    xml.trim().parse().expect("XML from the peer")
}

/// Our message to one device: the body sealed, its key sent in the session.
fn seal_for(session: &mut Session, sid: u32, rid: u32, text: &str) -> Encrypted {
    let axolotl::Body {
        material,
        iv,
        payload,
    } = axolotl::seal(text.as_bytes()).unwrap();
    let sealed = session.encrypt(&material).unwrap();
    Encrypted {
        sid,
        keys: vec![KeyFor {
            rid,
            prekey: sealed.prekey,
            data: sealed.bytes,
        }],
        iv: iv.to_vec(),
        payload: Some(payload),
    }
}

/// Its message to our device: the body, or `None` for a key-transport message.
fn open_with(session: &mut Session, e: &Encrypted, rid: u32) -> Option<String> {
    let k = e.key_for(rid).expect("a key for our device");
    let material = session.decrypt(&k.data, k.prekey).expect("decrypts");
    e.payload.as_ref().map(|p| {
        String::from_utf8(axolotl::open(&material, &e.iv, p).expect("payload opens")).unwrap()
    })
}

/// The Python peer's message to `to`'s device `device` (whose bundle is in `bundle`).
fn python_encrypts(
    py: &str,
    dir: &Path,
    to: &str,
    device: &str,
    bundle: &str,
    text: &str,
) -> Encrypted {
    let to = format!("{to}@example.test");
    let xml = peer(
        py,
        dir,
        &[
            "encrypt", "--to", &to, "--device", device, "--bundle", bundle, "--text", text,
        ],
    );
    Encrypted::parse(&element(&xml)).unwrap()
}

/// What the Python peer reads in our message (written to `file`).
fn python_decrypts(
    py: &str,
    dir: &Path,
    from: &str,
    device: &str,
    bundle: &str,
    file: &Path,
) -> Value {
    let from = format!("{from}@example.test");
    let out = peer(
        py,
        dir,
        &[
            "decrypt",
            "--from",
            &from,
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

/// python-omemo begins: its PreKey message builds our session (X3DH as the
/// responder); we answer; it writes again, now without the prekey part; each side
/// reads the other, across separate Python processes.
#[test]
fn python_omemo_begins_and_both_read_each_other() {
    let py = python();
    let tmp = tempfile::tempdir().unwrap();
    let bob_dir = tmp.path().join("bob");
    let mut alice = OwnDevice::generate();
    let alice_bundle = write_bundle(tmp.path(), "alice.xml", &alice);
    let init: Value =
        serde_json::from_str(&peer(&py, &bob_dir, &["init", "--jid", "bob@example.test"])).unwrap();
    let bob_id = init["device_id"].as_u64().unwrap() as u32;
    let alice_id = alice.device_id.to_string();

    let e = python_encrypts(
        &py,
        &bob_dir,
        "alice",
        &alice_id,
        &alice_bundle,
        "hello from python-omemo",
    );
    assert_eq!(e.sid, bob_id);
    let k = e.key_for(alice.device_id).unwrap();
    assert!(k.prekey, "the first message begins the session");
    let (mut session, material, used) = Session::accept(&alice, &k.data).unwrap();
    let body = axolotl::open(&material, &e.iv, e.payload.as_ref().unwrap()).unwrap();
    assert_eq!(body, b"hello from python-omemo");
    alice.prekeys.remove(&used.expect("a one-time prekey"));

    let reply = seal_for(&mut session, alice.device_id, bob_id, "hello from Banter");
    assert!(
        !reply.keys[0].prekey,
        "we answer inside the session it began"
    );
    let reply_file = tmp.path().join("reply.xml");
    std::fs::write(&reply_file, String::from(&reply.to_element())).unwrap();
    assert_eq!(
        python_decrypts(
            &py,
            &bob_dir,
            "alice",
            &alice_id,
            &alice_bundle,
            &reply_file
        ),
        "hello from Banter"
    );

    let e = python_encrypts(
        &py,
        &bob_dir,
        "alice",
        &alice_id,
        &alice_bundle,
        "and again",
    );
    assert!(
        !e.key_for(alice.device_id).unwrap().prekey,
        "answered: a normal message"
    );
    assert_eq!(
        open_with(&mut session, &e, alice.device_id).as_deref(),
        Some("and again")
    );
    // The same message twice: refused, as a replay.
    let k = e.key_for(alice.device_id).unwrap();
    assert!(session.decrypt(&k.data, k.prekey).is_err());
}

/// Banter begins, from python-omemo's published bundle (its signature kept in
/// libsignal's form, the Edwards sign bit in the signature): python-omemo reads our
/// PreKey message, completes the session with an empty message, and its next one
/// (counter 1: the empty one took 0) decrypts here.
#[test]
fn banter_begins_from_python_omemos_bundle() {
    let py = python();
    let tmp = tempfile::tempdir().unwrap();
    let bob_dir = tmp.path().join("bob");
    let carol = OwnDevice::generate();
    let carol_bundle = write_bundle(tmp.path(), "carol.xml", &carol);
    let init: Value =
        serde_json::from_str(&peer(&py, &bob_dir, &["init", "--jid", "bob@example.test"])).unwrap();
    let bob_id = init["device_id"].as_u64().unwrap() as u32;
    let bundle = axolotl::parse_bundle(&element(init["bundle"].as_str().unwrap())).unwrap();
    assert!(bundle.verified(), "python-omemo's signed prekey signature");
    let mut session = Session::initiate(&carol, &bundle).unwrap();

    let first = seal_for(&mut session, carol.device_id, bob_id, "hello, python");
    assert!(first.keys[0].prekey);
    let file = tmp.path().join("first.xml");
    std::fs::write(&file, String::from(&first.to_element())).unwrap();
    let carol_id = carol.device_id.to_string();
    assert_eq!(
        python_decrypts(&py, &bob_dir, "carol", &carol_id, &carol_bundle, &file),
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
        .expect("python-omemo's empty message");
    let e = Encrypted::parse(&element(&std::fs::read_to_string(empty).unwrap())).unwrap();
    assert_eq!(open_with(&mut session, &e, carol.device_id), None);

    let e = python_encrypts(
        &py,
        &bob_dir,
        "carol",
        &carol_id,
        &carol_bundle,
        "hello, Banter",
    );
    assert_eq!(
        open_with(&mut session, &e, carol.device_id).as_deref(),
        Some("hello, Banter")
    );
    let next = seal_for(&mut session, carol.device_id, bob_id, "no prekey part now");
    assert!(!next.keys[0].prekey);
}
