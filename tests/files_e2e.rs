//! Issue #15, files: XEP-0363 HTTP File Upload through a real Prosody
//! (mod_http_file_share over https, its limit from disco) and downloads, between two
//! Banters. A 5 MB file arrives with the same SHA-256, plain (URL in the body and as
//! OOB) and end-to-end encrypted (XEP-0454 `aesgcm://`, from the command line, where
//! the server only ever holds ciphertext); a file over the server's limit is refused
//! before anything is uploaded; a cancelled upload leaves nothing on the server and
//! sends no message.

mod support;

use std::time::Duration;

use banter::client::{self, BareJid, ClientHandle, Command, Event, TransferKind, TransferState};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{Proc, Prosody, User};

const T: Duration = Duration::from_secs(30);
const MB: u64 = 1024 * 1024;

async fn next(c: &mut ClientHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    support::next_event(c, what, T, pred).await
}

async fn online(user: &User, device: &str) -> ClientHandle {
    let mut c = client::start(user.config(device)).await.expect("login");
    next(&mut c, "connected", |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    c
}

/// A file of `len` random bytes (not compressible, not all alike) and its SHA-256.
fn random_file(dir: &std::path::Path, name: &str, len: u64) -> (std::path::PathBuf, String) {
    let mut data = vec![0u8; len as usize];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (path, hex(&Sha256::digest(&data)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The transfer `id`'s end (done, failed or cancelled).
async fn transfer_end(c: &mut ClientHandle, id: &str) -> TransferState {
    match next(c, "the transfer's end", |e| {
        matches!(e, Event::Transfer { id: t, state, .. } if t == id
            && !matches!(state, TransferState::Waiting | TransferState::Progress { .. }))
    })
    .await
    {
        Event::Transfer { state, .. } => state,
        _ => unreachable!(),
    }
}

/// Files in the upload service's store (complete or partial).
fn stored_files(server: &Prosody) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(server.upload_store())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5_mb_file_arrives_with_the_same_sha256() {
    let server = Prosody::start_with_uploads(10 * MB);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(&alice, "pc").await;
    let mut b = online(&bob, "pc").await;
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = random_file(dir.path(), "holiday video.mp4", 5 * MB);

    a.send(Command::SendFile {
        id: "f1".into(),
        to: BareJid::new(&bob.jid).unwrap(),
        path,
    });
    let state = transfer_end(&mut a, "f1").await;
    let TransferState::Done { size, url, .. } = state else {
        panic!("the upload did not finish: {state:?}")
    };
    assert_eq!(size, 5 * MB);
    let url = url.unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    // Stored on the server as sent.
    let stored = stored_files(&server);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        hex(&Sha256::digest(std::fs::read(&stored[0]).unwrap())),
        sha
    );

    // Bob gets a message that is a file: the URL, its name and type.
    let got = next(
        &mut b,
        "alice's file",
        |e| matches!(e, Event::Message { message } if message.id == "f1"),
    )
    .await;
    let Event::Message { message } = got else {
        unreachable!()
    };
    let file = message.meta.file.clone().expect("a file, not a bare link");
    assert_eq!(file.url, url);
    assert_eq!(file.name, "holiday video.mp4");
    assert_eq!(file.mime.as_deref(), Some("video/mp4"));
    // What it is, before fetching it (XEP-0446 metadata beside the URL).
    assert_eq!(
        (file.size, file.sha256.as_deref()),
        (Some(5 * MB), Some(sha.as_str()))
    );
    assert_eq!(
        message.body, url,
        "the URL is the body too, for clients without OOB"
    );

    // A file that is not the one its sender described is not saved.
    let elsewhere = tempfile::tempdir().unwrap();
    b.send(Command::Download {
        id: "d0".into(),
        peer: alice.jid.clone(),
        url: file.url.clone(),
        dir: elsewhere.path().to_path_buf(),
        max_size: None,
        sha256: Some("00".repeat(32)),
        name: None,
    });
    let state = transfer_end(&mut b, "d0").await;
    assert!(
        matches!(&state, TransferState::Failed { reason } if reason.contains("not the one that was sent")),
        "{state:?}"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    // He fetches it (a click): same bytes, under its own name.
    let downloads = tempfile::tempdir().unwrap();
    b.send(Command::Download {
        id: "d1".into(),
        peer: alice.jid.clone(),
        url: file.url.clone(),
        dir: downloads.path().to_path_buf(),
        max_size: None,
        sha256: file.sha256.clone(),
        name: None,
    });
    let mut progressed = false;
    let end = loop {
        match next(
            &mut b,
            "download",
            |e| matches!(e, Event::Transfer { id, .. } if id == "d1"),
        )
        .await
        {
            Event::Transfer {
                kind,
                state: TransferState::Progress { .. },
                ..
            } => {
                assert_eq!(kind, TransferKind::Download);
                progressed = true;
            }
            Event::Transfer { state, .. } => break state,
            _ => unreachable!(),
        }
    };
    let TransferState::Done {
        path, sha256, size, ..
    } = end
    else {
        panic!("the download failed: {end:?}")
    };
    assert!(progressed, "no progress was reported");
    assert_eq!((sha256.as_deref(), size), (Some(sha.as_str()), 5 * MB));
    let path = path.unwrap();
    assert_eq!(path, downloads.path().join("holiday video.mp4"));
    assert_eq!(hex(&Sha256::digest(std::fs::read(&path).unwrap())), sha);
    // Fetched again, it does not replace the first; no partial file is left.
    b.send(Command::Download {
        id: "d2".into(),
        peer: alice.jid.clone(),
        url: file.url,
        dir: downloads.path().to_path_buf(),
        max_size: None,
        sha256: None,
        name: None,
    });
    let TransferState::Done { path: second, .. } = transfer_end(&mut b, "d2").await else {
        panic!("the second download failed")
    };
    assert_eq!(
        second.unwrap(),
        downloads.path().join("holiday video (1).mp4")
    );
    let names: Vec<_> = std::fs::read_dir(downloads.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_over_the_servers_limit_is_refused_before_any_upload() {
    let server = Prosody::start_with_uploads(MB);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(&alice, "pc").await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = random_file(dir.path(), "big.bin", MB + 1);
    a.send(Command::SendFile {
        id: "big".into(),
        to: BareJid::new(&bob.jid).unwrap(),
        path,
    });
    let state = transfer_end(&mut a, "big").await;
    let TransferState::Failed { reason } = state else {
        panic!("an over-limit file was not refused: {state:?}")
    };
    assert!(
        reason.contains("big.bin") && reason.contains("up to 1.0 MB"),
        "{reason}"
    );
    // Refused by Banter from the limit disco gave: no slot was even asked for.
    assert!(!server.log_contains("Issuing upload slot"));
    // A file that is not there: said as such.
    a.send(Command::SendFile {
        id: "none".into(),
        to: BareJid::new(&bob.jid).unwrap(),
        path: dir.path().join("no such file.png"),
    });
    let state = transfer_end(&mut a, "none").await;
    assert!(
        matches!(&state, TransferState::Failed { reason } if reason.contains("cannot read")),
        "{state:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_upload_leaves_nothing_behind() {
    // Large enough that the upload is still running when it is cancelled.
    let server = Prosody::start_with_uploads(1024 * MB);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut a = online(&alice, "pc").await;
    let mut b = online(&bob, "pc").await;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("disk image.iso");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(512 * MB).unwrap();
    drop(f);
    let to_bob = BareJid::new(&bob.jid).unwrap();
    a.send(Command::SendFile {
        id: "iso".into(),
        to: to_bob.clone(),
        path: big,
    });
    // Cancelled once bytes are on their way.
    next(&mut a, "upload progress", |e| {
        matches!(e, Event::Transfer { id, state: TransferState::Progress { done, .. }, .. }
            if id == "iso" && *done > 0)
    })
    .await;
    server.wait_log("Preparing to receive upload", 1, T).await;
    a.send(Command::CancelTransfer { id: "iso".into() });
    let state = transfer_end(&mut a, "iso").await;
    assert_eq!(state, TransferState::Cancelled);
    // The server threw the partial file away.
    let deadline = std::time::Instant::now() + T;
    while !stored_files(&server).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the partial upload stayed: {:?}",
            stored_files(&server)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And no message went: the next one Bob gets from Alice is the one after.
    a.send(Command::SendMessage {
        id: "after".into(),
        to: to_bob,
        body: "never mind".into(),
    });
    let got = next(&mut b, "alice's next message", |e| {
        matches!(e, Event::Message { .. })
    })
    .await;
    assert!(
        matches!(&got, Event::Message { message } if message.id == "after"),
        "{got:?}"
    );
}

/// From the command line with OMEMO on (as by default): the file goes encrypted
/// (XEP-0454), its `aesgcm://` URL inside the encrypted message; the server holds only
/// ciphertext; `banter download` decrypts it to the same bytes.
#[test]
fn the_command_line_sends_and_fetches_an_encrypted_file() {
    let server = Prosody::start_with_uploads(10 * MB);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut listening = Proc::spawn(bob.banter(&["listen", "--duration", "90"]));
    listening.wait_for("bob's OMEMO device", T, |v| v["event"] == "omemo_ready");
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = random_file(dir.path(), "scan.pdf", 5 * MB);
    let (ok, out, err) = support::run(
        alice.banter(&["send", &bob.jid, "--file", path.to_str().unwrap()]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{out}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "transfer" && v["state"] == "progress"),
        "{out}"
    );
    let id = lines.last().unwrap()["id"].as_str().unwrap().to_string();
    let v = listening.wait_for("the file's message", T, |v| {
        v["event"] == "message" && v["id"] == id.as_str()
    });
    assert_eq!(v["encryption"], "omemo", "{v}");
    let url = v["file"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("aesgcm://127.0.0.1:"), "{v}");
    assert_eq!(v["file"]["name"], "scan.pdf");
    assert_eq!(v["file"]["mime"], "application/pdf");
    // No metadata in clear beside an encrypted file (OMEMO 0.3 encrypts the body only).
    assert!(
        v["file"]["size"].is_null() && v["file"]["sha256"].is_null(),
        "{v}"
    );
    // What the server keeps is not the file: 16 bytes longer (the tag), other bytes.
    let stored = stored_files(&server);
    assert_eq!(stored.len(), 1);
    let kept = std::fs::read(&stored[0]).unwrap();
    assert_eq!(kept.len() as u64, 5 * MB + 16);
    assert_ne!(hex(&Sha256::digest(&kept[..5 * MB as usize])), sha);

    let downloads = tempfile::tempdir().unwrap();
    let (ok, out, err) = support::run(
        bob.banter(&[
            "download",
            &url,
            "--dir",
            downloads.path().to_str().unwrap(),
        ]),
        T,
    );
    assert!(ok, "{err}\n{out}");
    let done: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(done["sha256"], sha.as_str(), "{out}");
    let saved = downloads.path().join("scan.pdf");
    assert_eq!(hex(&Sha256::digest(std::fs::read(&saved).unwrap())), sha);

    // A key that is not the file's: refused, nothing saved.
    let (head, _) = url.rsplit_once('#').unwrap();
    let wrong = format!("{head}#{}", "ab".repeat(44));
    let other = tempfile::tempdir().unwrap();
    let (ok, _, err) = support::run(
        bob.banter(&["download", &wrong, "--dir", other.path().to_str().unwrap()]),
        T,
    );
    assert!(!ok && err.contains("altered or its key is wrong"), "{err}");
    assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
}

/// Files both ways with a client not written here: slixmpp uploads with its own
/// XEP-0363 plugin and sends the URL (body and OOB), Banter shows a file and fetches
/// the same bytes; Banter uploads, slixmpp reads the URL from the body and the OOB
/// element and fetches the same bytes.
#[tokio::test(flavor = "multi_thread")]
async fn files_both_ways_with_slixmpp() {
    let server = Prosody::start_with_uploads(10 * MB);
    let alice = server.user("alice");
    let bob = server.user("bob");
    let mut slix = support::chat::slix_chat(&bob, &server);
    let mut a = online(&alice, "pc").await;
    let dir = tempfile::tempdir().unwrap();

    let (from_bob, bob_sha) = random_file(dir.path(), "report 2026.pdf", 700 * 1024);
    let sent = support::chat::slix_do(
        &mut slix,
        serde_json::json!({"cmd": "upload", "to": alice.jid, "path": from_bob}),
    );
    let id = sent["id"].as_str().unwrap().to_string();
    let got = next(
        &mut a,
        "bob's file",
        |e| matches!(e, Event::Message { message } if message.id == id),
    )
    .await;
    let Event::Message { message } = got else {
        unreachable!()
    };
    let file = message.meta.file.expect("slixmpp's upload is a file");
    assert_eq!(file.url, sent["url"].as_str().unwrap());
    assert_eq!(file.name, "report 2026.pdf");
    // slixmpp says nothing of its size: the file's server is asked (HEAD).
    assert_eq!(file.size, None);
    a.send(Command::FileInfo {
        peer: bob.jid.clone(),
        id: id.clone(),
        url: file.url.clone(),
    });
    let info = next(
        &mut a,
        "the file's size",
        |e| matches!(e, Event::FileInfo { id: i, .. } if *i == id),
    )
    .await;
    assert!(
        matches!(&info, Event::FileInfo { size: Some(s), .. } if *s == 700 * 1024),
        "{info:?}"
    );
    let downloads = tempfile::tempdir().unwrap();
    a.send(Command::Download {
        id: "d".into(),
        peer: bob.jid.clone(),
        url: file.url,
        dir: downloads.path().to_path_buf(),
        max_size: None,
        sha256: None,
        name: None,
    });
    let TransferState::Done { sha256, .. } = transfer_end(&mut a, "d").await else {
        panic!("the download failed")
    };
    assert_eq!(sha256.as_deref(), Some(bob_sha.as_str()));

    let (from_alice, alice_sha) = random_file(dir.path(), "cat.png", 300 * 1024);
    a.send(Command::SendFile {
        id: "to-bob".into(),
        to: BareJid::new(&bob.jid).unwrap(),
        path: from_alice,
    });
    let v = slix.wait_for("alice's file", T, |v| {
        v["event"] == "message" && v["id"] == "to-bob"
    });
    let url = v["oob"].as_str().expect("the URL as OOB").to_string();
    assert_eq!(v["body"], url.as_str(), "the URL is the body too");
    let saved = dir.path().join("from alice");
    let fetched = support::chat::slix_do(
        &mut slix,
        serde_json::json!({"cmd": "download", "url": url, "path": saved}),
    );
    assert_eq!(fetched["sha256"], alice_sha.as_str(), "{fetched}");
}
