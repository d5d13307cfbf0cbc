//! OMEMO 0.3 encryption cost (issue #13, goal: one message to 10 devices ≤ 5 ms): the
//! body sealed once (AES-128-GCM) and its key encrypted in each of 10 established
//! sessions (a Double Ratchet step each, AES-256-CBC, HMAC), then the `<encrypted>`
//! element built; and one device's decryption. 2 000 messages; median and worst.
//!
//!     cargo bench --bench omemo
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::Instant;

use banter::omemo::axolotl::{self, Encrypted, KeyFor};
use banter::omemo::keys::OwnDevice;
use banter::omemo::session::Session;

const DEVICES: usize = 10;
const RUNS: usize = 2000;

fn main() {
    let me = OwnDevice::generate();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..DEVICES {
        let peer = OwnDevice::generate();
        let mut s = Session::initiate(&me, &peer.bundle()).unwrap();
        let first = s.encrypt(b"begin").unwrap();
        let (mut t, _, _) = Session::accept(&peer, &first.bytes).unwrap();
        // Answered: from now on normal messages, as in a conversation under way.
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
        let axolotl::Body {
            material,
            iv,
            payload,
        } = axolotl::seal(text.as_bytes()).unwrap();
        let keys: Vec<KeyFor> = ours
            .iter_mut()
            .map(|(rid, s)| {
                let sealed = s.encrypt(&material).unwrap();
                KeyFor {
                    rid: *rid,
                    prekey: sealed.prekey,
                    data: sealed.bytes,
                }
            })
            .collect();
        let e = Encrypted {
            sid: me.device_id,
            keys,
            iv: iv.to_vec(),
            payload: Some(payload),
        };
        let el = e.to_element();
        enc.push(t.elapsed().as_secs_f64() * 1000.0);

        let t = Instant::now();
        let got = Encrypted::parse(&el).unwrap();
        let (rid, s) = &mut theirs[i % DEVICES];
        let k = got.key_for(*rid).unwrap();
        let material = s.decrypt(&k.data, k.prekey).unwrap();
        let body = axolotl::open(&material, &got.iv, got.payload.as_ref().unwrap()).unwrap();
        dec.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(body, text.as_bytes());
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (em, ew) = stat(&mut enc);
    let (dm, dw) = stat(&mut dec);
    println!(
        "{{\"bench\":\"omemo\",\"devices\":{DEVICES},\"runs\":{RUNS},\"encrypt_median_ms\":{em:.3},\"encrypt_worst_ms\":{ew:.3},\"decrypt_median_ms\":{dm:.3},\"decrypt_worst_ms\":{dw:.3}}}"
    );
}
