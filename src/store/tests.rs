use super::*;

#[test]
fn the_caps_cache_keeps_the_newest() {
    let s = Store::in_memory().unwrap();
    for i in 0..MAX_CAPS + 50 {
        s.save_caps(&format!("v{i}"), &["urn:x".to_string()])
            .unwrap();
    }
    assert!(s.caps("v0").unwrap().is_none(), "the oldest went");
    assert!(s.caps(&format!("v{}", MAX_CAPS + 49)).unwrap().is_some());
    let n: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM caps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, MAX_CAPS as i64);
}

fn msg(id: &str, origin: Option<&str>, sid: Option<&str>) -> StoredMessage {
    StoredMessage {
        seq: 0,
        peer: "bob@x".into(),
        direction: Direction::In,
        from: "bob@x/a".into(),
        to: "alice@x/b".into(),
        body: "hi".into(),
        id: id.into(),
        origin_id: origin.map(Into::into),
        stanza_id: sid.map(Into::into),
        ts_ms: 1,
        state: MessageState::Received,
        encryption: None,
        trust: None,
    }
}

#[test]
fn dedup_by_stanza_id_origin_id_and_id() {
    let s = Store::in_memory().unwrap();
    assert!(s
        .insert_message("a", msg("1", Some("o1"), None))
        .unwrap()
        .is_some());
    // Same message again from the archive: now with a stanza-id; still one copy.
    assert!(s
        .insert_message("a", msg("1", Some("o1"), Some("s1")))
        .unwrap()
        .is_none());
    assert!(s
        .insert_message("a", msg("x", None, Some("s1")))
        .unwrap()
        .is_none());
    assert!(s
        .insert_message("a", msg("2", None, None))
        .unwrap()
        .is_some());
    assert!(s
        .insert_message("a", msg("2", None, None))
        .unwrap()
        .is_none());
    assert_eq!(s.history("a", "bob@x", None, 10).unwrap().len(), 2);
    assert_eq!(
        s.history("a", "bob@x", None, 10).unwrap()[0]
            .stanza_id
            .as_deref(),
        Some("s1")
    );
}

#[test]
fn states_only_move_forward() {
    let s = Store::in_memory().unwrap();
    let mut m = msg("7", Some("7"), None);
    m.direction = Direction::Out;
    m.state = MessageState::Pending;
    s.insert_message("a", m).unwrap();
    assert_eq!(s.pending_messages("a").unwrap().len(), 1);
    assert!(s.set_state("a", "7", MessageState::Delivered).unwrap());
    assert!(!s.set_state("a", "7", MessageState::Acked).unwrap());
    assert!(s.pending_messages("a").unwrap().is_empty());
}

#[test]
fn call_log_newest_first_once_per_call() {
    let s = Store::in_memory().unwrap();
    let rec = |id: &str, t: i64, d: Option<i64>| CallRecord {
        id: id.into(),
        peer: "bob@x".into(),
        direction: Direction::In,
        started_ms: t,
        duration_s: d,
        reason: "success".into(),
    };
    s.insert_call("a", &rec("1", 10, Some(5))).unwrap();
    s.insert_call("a", &rec("2", 20, None)).unwrap();
    s.insert_call("a", &rec("2", 20, None)).unwrap();
    s.insert_call("other", &rec("3", 30, None)).unwrap();
    let calls = s.calls("a", 10).unwrap();
    assert_eq!(calls, [rec("2", 20, None), rec("1", 10, Some(5))]);
}

#[test]
fn history_pages_backwards() {
    let s = Store::in_memory().unwrap();
    for i in 0..10 {
        s.insert_message("a", msg(&i.to_string(), None, None))
            .unwrap();
    }
    let last = s.history("a", "bob@x", None, 3).unwrap();
    assert_eq!(
        last.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["7", "8", "9"]
    );
    let before = s.history("a", "bob@x", Some(last[0].seq), 3).unwrap();
    assert_eq!(
        before.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["4", "5", "6"]
    );
}
