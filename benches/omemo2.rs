//! OMEMO 2 encryption cost (issue #13, goal: one message to 10 devices ≤ 5 ms): the
//! SCE envelope written and sealed once (AES-256-CBC, HMAC), its key material
//! encrypted in each of 10 established sessions (a Double Ratchet step each), the
//! `<encrypted>` element built; and one device's decryption back to the body.
//! 2 000 messages; median and worst.
//!
//!     cargo bench --bench omemo2
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::Instant;

use banter::omemo::keys::OwnDevice;
use banter::omemo::twomemo::session::Session;
use banter::omemo::twomemo::{self, Bundle, Encrypted, KeyFor};

const DEVICES: usize = 10;
const RUNS: usize = 2000;

fn main() {
    let me = OwnDevice::generate();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..DEVICES {
        let peer = OwnDevice::generate();
        let mut s = Session::initiate(&me, &Bundle::of(&peer).unwrap()).unwrap();
        let first = s.encrypt(b"begin").unwrap();
        let (mut t, _, _) = Session::accept(&peer, &first.bytes).unwrap();
        // Answered: from now on no key exchange, as in a conversation under way.
        let back = t.encrypt(b"ok").unwrap();
        s.decrypt(&back.bytes, false).unwrap();
        ours.push((peer.device_id, s));
        theirs.push((peer.device_id, t));
    }
    let mut enc = Vec::with_capacity(RUNS);
    let mut dec = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let text = format!("message {i}: a line of chat of an ordinary length");
        let t = Instant::now();
        let p = twomemo::seal(&twomemo::envelope(&text, "alice@x", "bob@x")).unwrap();
        let keys: Vec<KeyFor> = ours
            .iter_mut()
            .map(|(rid, s)| {
                let sealed = s.encrypt(&p.key_material).unwrap();
                KeyFor {
                    jid: "bob@x".into(),
                    rid: *rid,
                    kex: sealed.kex,
                    data: sealed.bytes,
                }
            })
            .collect();
        let el = Encrypted {
            sid: me.device_id,
            keys,
            payload: Some(p.ciphertext),
        }
        .to_element();
        enc.push(t.elapsed().as_secs_f64() * 1000.0);

        let t = Instant::now();
        let got = Encrypted::parse(&el).unwrap();
        let (rid, s) = &mut theirs[i % DEVICES];
        let k = got.key_for("bob@x", *rid).unwrap();
        let material = s.decrypt(&k.data, k.kex).unwrap();
        let envelope = twomemo::open(&material, got.payload.as_ref().unwrap()).unwrap();
        let body = twomemo::open_envelope(&envelope, "alice@x", Some("bob@x")).unwrap();
        dec.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(body.as_deref(), Some(text.as_str()));
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (em, ew) = stat(&mut enc);
    let (dm, dw) = stat(&mut dec);
    println!(
        "{{\"bench\":\"omemo2\",\"devices\":{DEVICES},\"runs\":{RUNS},\"encrypt_median_ms\":{em:.3},\"encrypt_worst_ms\":{ew:.3},\"decrypt_median_ms\":{dm:.3},\"decrypt_worst_ms\":{dw:.3}}}"
    );
}
