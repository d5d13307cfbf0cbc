//! A room with 100 000 messages kept on this device (issue #14): what keeping each
//! costs as it arrives (one store write, as the client does it), what joining the
//! room again costs before anything is shown (the last page and where reading the
//! archive goes on from), and each page when scrolling back through all of it.
//! The window holds at most 500 lines of a room whatever the store has, so its frame
//! time is `ui/benches/room.rs`'s.
//!
//!     cargo bench --bench room_store
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::{Duration, Instant};

use banter::store::{Store, StoredRoomMessage};

const ACCOUNT: &str = "alice@example.org";
const ROOM: &str = "busy@conference.example.org";
const MESSAGES: usize = 100_000;
const PAGE: usize = 50;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_dir(dir.path()).expect("store");
    let start_ms = 1_780_000_000_000i64;
    let mut writes = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let sid = format!("sid-{i:06}");
        let m = StoredRoomMessage {
            seq: 0,
            room: ROOM.into(),
            nick: format!("person{:04}", i % 2_000),
            id: format!("id-{i}"),
            stanza_id: Some(sid.clone()),
            // About ten a second, as a busy room.
            ts_ms: start_ms + (i as i64) * 97,
            body: format!("message {i}: a line of ordinary length for a busy room"),
            private: None,
            meta: Default::default(),
        };
        let t = Instant::now();
        let new = store
            .insert_room_message(ACCOUNT, &sid, &m)
            .expect("insert");
        writes.push(t.elapsed());
        assert!(new.is_some());
    }
    // A copy (the archive bringing one again) is known.
    let t = Instant::now();
    let copy = StoredRoomMessage {
        seq: 0,
        room: ROOM.into(),
        nick: "person0000".into(),
        id: "id-0".into(),
        stanza_id: Some("sid-000000".into()),
        ts_ms: start_ms,
        body: "message 0".into(),
        private: None,
        meta: Default::default(),
    };
    assert!(store
        .insert_room_message(ACCOUNT, "sid-000000", &copy)
        .expect("copy")
        .is_none());
    let copy_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(store);

    // Joining again (a fresh process: the store opened anew each time).
    let mut joins = Vec::new();
    let mut opens = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let store = Store::open_dir(dir.path()).expect("store");
        opens.push(t.elapsed());
        let t = Instant::now();
        let pruned = store.prune_room(ACCOUNT, ROOM, 100_000).expect("trim");
        assert_eq!(pruned, 0);
        let last = store
            .room_history(ACCOUNT, ROOM, None, None, PAGE)
            .expect("last page");
        let newest = store.room_archive_end(ACCOUNT, ROOM, true).expect("newest");
        let oldest = store
            .room_archive_end(ACCOUNT, ROOM, false)
            .expect("oldest");
        let kept = store.room_newest(ACCOUNT, ROOM).expect("newest row");
        joins.push(t.elapsed());
        assert_eq!(last.len(), PAGE);
        assert_eq!(
            newest.map(|n| n.1),
            Some(format!("sid-{:06}", MESSAGES - 1))
        );
        assert_eq!(oldest.map(|n| n.1), Some("sid-000000".into()));
        assert!(kept.1.is_some());
    }

    // Scrolling back through all of it, a page at a time.
    let store = Store::open_dir(dir.path()).expect("store");
    let mut pages = Vec::new();
    let mut cursor = None;
    let mut seen = 0usize;
    loop {
        let t = Instant::now();
        let page = store
            .room_history(ACCOUNT, ROOM, cursor, None, PAGE)
            .expect("page");
        pages.push(t.elapsed());
        let Some(first) = page.first() else { break };
        cursor = Some(first.cursor());
        seen += page.len();
    }
    assert_eq!(seen, MESSAGES);
    let db_bytes: u64 = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "messages": MESSAGES,
            "write_ms_p50": pct(&mut writes, 0.5),
            "write_ms_p99": pct(&mut writes, 0.99),
            "write_ms_max": pct(&mut writes, 1.0),
            "copy_ms": copy_ms,
            "join_ms_p50": pct(&mut joins, 0.5),
            "join_ms_max": pct(&mut joins, 1.0),
            "open_ms_p50": pct(&mut opens, 0.5),
            "pages": pages.len(),
            "page_ms_p50": pct(&mut pages, 0.5),
            "page_ms_max": pct(&mut pages, 1.0),
            "database_mb": db_bytes as f64 / 1e6,
        })
    );
}
