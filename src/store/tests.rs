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
        meta: Default::default(),
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

/// Issue #15: a message changes only by its own sender's hand, within its
/// conversation: corrections (also of a correction, by the latest id) and retractions
/// by the side that sent it, reactions per sender replacing their set, read markers
/// up to the message named.
#[test]
fn corrections_retractions_reactions_and_read_markers_keep_to_their_sender() {
    let s = Store::in_memory().unwrap();
    let theirs = StoredMessage {
        meta: MessageMeta {
            markable: true,
            ..MessageMeta::default()
        },
        ..msg("b1", None, None)
    };
    s.insert_message("a", theirs).unwrap().unwrap();
    let mine = |id: &str, state| StoredMessage {
        direction: Direction::Out,
        from: "a/pc".into(),
        to: "bob@x".into(),
        state,
        ..msg(id, Some(id), None)
    };
    for id in ["a1", "a2", "a3"] {
        s.insert_message("a", mine(id, MessageState::Acked))
            .unwrap();
    }
    s.insert_message("a", mine("a4", MessageState::Pending))
        .unwrap();

    // Bob corrects his message, then the correction; not ours, not twice, not one
    // sealed otherwise than his message.
    let plain = Some(Sealing {
        encryption: None,
        trust: None,
    });
    let fix = |peer: &str, direction, of: &str, new_id: &str, body: &str, sealing| {
        let c = Corrected {
            peer,
            direction,
            of,
            new_id,
            body,
        };
        s.correct_message("a", c, sealing).unwrap()
    };
    let Correction::Done(m) = fix("bob@x", Direction::In, "b1", "c1", "hello", plain) else {
        panic!()
    };
    assert_eq!(
        (m.id.as_str(), m.body.as_str(), m.meta.edited),
        ("b1", "hello", true)
    );
    assert_eq!(
        fix("bob@x", Direction::In, "b1", "c1", "hello", plain),
        Correction::Dropped
    );
    let Correction::Done(m) = fix("bob@x", Direction::In, "c1", "c2", "hello!", plain) else {
        panic!()
    };
    assert_eq!(m.body, "hello!");
    let omemo = Some(Sealing {
        encryption: Some("omemo"),
        trust: Some("verified"),
    });
    assert_eq!(
        fix("bob@x", Direction::In, "b1", "c9", "sealed?", omemo),
        Correction::NotFound
    );
    assert_eq!(
        fix("bob@x", Direction::In, "a1", "c3", "pwned", plain),
        Correction::NotFound
    );
    assert_eq!(
        fix("carol@x", Direction::In, "b1", "c4", "pwned", plain),
        Correction::NotFound
    );

    // Reactions: per sender, a set replaces the one before; none to unknown ids.
    let set = |v: &[&str]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    s.set_reactions("a", "bob@x", "a1", "bob@x", &set(&["👍", "❤️"]))
        .unwrap()
        .unwrap();
    s.set_reactions("a", "bob@x", "a1", "a", &set(&["👍"]))
        .unwrap()
        .unwrap();
    s.set_reactions("a", "bob@x", "a1", "bob@x", &set(&["👍"]))
        .unwrap()
        .unwrap();
    assert!(s
        .set_reactions("a", "bob@x", "nope", "bob@x", &set(&["💥"]))
        .unwrap()
        .is_none());
    let h = s.history("a", "bob@x", None, 10).unwrap();
    let a1 = h.iter().find(|m| m.id == "a1").unwrap();
    assert_eq!(
        a1.meta.reactions,
        vec![ReactionCount {
            emoji: "👍".into(),
            from: vec!["a".into(), "bob@x".into()]
        }]
    );

    // Retractions: only the sender's side; a tombstone, its reactions gone.
    assert!(s
        .retract_message("a", "bob@x", Direction::In, "a1")
        .unwrap()
        .is_none());
    let m = s
        .retract_message("a", "bob@x", Direction::Out, "a1")
        .unwrap()
        .unwrap();
    assert!(m.meta.retracted && m.body.is_empty());
    assert_eq!(
        fix("bob@x", Direction::Out, "a1", "x", "back", None),
        Correction::Dropped
    );
    let h = s.history("a", "bob@x", None, 10).unwrap();
    assert!(h
        .iter()
        .find(|m| m.id == "a1")
        .unwrap()
        .meta
        .reactions
        .is_empty());

    // Bob read up to a2: a1 and a2 are displayed, a3 not, pending a4 not.
    assert_eq!(
        s.mark_displayed("a", "bob@x", "a2").unwrap(),
        vec!["a1", "a2"]
    );
    let h = s.history("a", "bob@x", None, 10).unwrap();
    let state = |id: &str| h.iter().find(|m| m.id == id).unwrap().state;
    assert_eq!(state("a2"), MessageState::Displayed);
    assert_eq!(state("a3"), MessageState::Acked);
    assert_eq!(state("a4"), MessageState::Pending);
    // A receipt after the marker does not move it back.
    s.set_state("a", "a2", MessageState::Delivered).unwrap();
    let h = s.history("a", "bob@x", None, 10).unwrap();
    assert_eq!(
        h.iter().find(|m| m.id == "a2").unwrap().state,
        MessageState::Displayed
    );
    assert_eq!(
        s.last_markable("a", "bob@x").unwrap().as_deref(),
        Some("b1")
    );
}
