use super::*;
use banter::client::{Direction, MessageState, StoredMessage};

impl App {
    fn execute_for_test(&mut self, c: UiCommand) {
        let ctx = egui::Context::default();
        self.execute(c, &ctx);
    }
}

fn app() -> App {
    let (events_tx, events) = std_mpsc::channel();
    App {
        model: Model::default(),
        json: false,
        wayland: false,
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        events,
        events_tx,
        client: None,
        data_dir: PathBuf::from("/nonexistent"),
        media: banter_media::MediaConfig::new(
            banter_media::audio::source::SourceSpec::Silence,
            banter_media::audio::sink::SinkSpec::Null,
        ),
        call_started: None,
        history_loaded: Default::default(),
        mentions: Default::default(),
        ctx: None,
        ringer: None,
        notification: None,
        rang: Default::default(),
        local: None,
        clients: Default::default(),
        stash: Default::default(),
        video: VideoView::new(),
        camera_wanted: false,
        call_report: None,
        new_password: None,
        queued: Default::default(),
        forwarders: Vec::new(),
        desktop: Default::default(),
    }
}

/// A video call: the media list makes the call a video call, a picture from the
/// video thread becomes the call's texture (updated in place), and the camera
/// picker's choice maps to a source.
#[test]
fn video_call_pictures_become_textures() {
    use banter::client::CallDirection;
    let mut a = app();
    a.apply(AppEvent::Client(
        String::new(),
        Event::Call {
            id: "v1".into(),
            peer: "bob@x".into(),
            direction: CallDirection::Out,
            media: vec![Media::Audio, Media::Video],
            state: CallStatus::Active,
            reason: None,
        },
    ));
    assert!(a.model.call.as_ref().unwrap().video);
    let ctx = egui::Context::default();
    let mut picture = banter_media::video::I420::new(64, 48);
    a.video.put_remote(&picture);
    a.pull_video(&ctx);
    let tex = a.model.call.as_ref().unwrap().remote_video.clone().unwrap();
    assert_eq!(tex.0.size(), [64, 48]);
    // The next picture goes into the same texture.
    picture.y.fill(200);
    a.video.put_remote(&picture);
    a.pull_video(&ctx);
    let again = a.model.call.as_ref().unwrap().remote_video.clone().unwrap();
    assert_eq!(tex.0.id(), again.0.id());
    assert_eq!(camera_spec(&None), VideoSourceSpec::Camera(None));
    assert_eq!(
        camera_spec(&Some(TEST_PATTERN.into())),
        VideoSourceSpec::Pattern
    );
}

fn msg(id: &str, body: &str) -> StoredMessage {
    StoredMessage {
        seq: 0,
        peer: "bob@x".into(),
        direction: Direction::In,
        from: "bob@x/a".into(),
        to: "alice@x".into(),
        body: body.into(),
        id: id.into(),
        origin_id: None,
        stanza_id: None,
        ts_ms: 0,
        state: MessageState::Received,
        encryption: None,
        trust: None,
        meta: Default::default(),
    }
}

/// Settings → Account: the password change goes to the account shown and the
/// answer is shown; a deleted account leaves the window for the next one.
#[test]
fn password_change_answer_and_a_deleted_account_leaves() {
    let mut a = app();
    let (tx_a, mut rx_a) = mpsc::unbounded_channel();
    let (tx_b, _rx_b) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx_a, "a@x".into()));
    a.apply(AppEvent::Online(tx_b, "b@x".into()));
    while rx_a.try_recv().is_ok() {}
    a.execute_for_test(UiCommand::ChangePassword {
        password: "n3w".into(),
    });
    assert!(matches!(
        rx_a.try_recv(),
        Ok(Command::ChangePassword { password }) if password == "n3w"
    ));
    a.model.account_settings.busy = true;
    a.apply(AppEvent::Client(
        "a@x".into(),
        Event::AccountRefused {
            message: "the server did not accept the new password (too weak?)".into(),
        },
    ));
    let s = &a.model.account_settings;
    assert!(!s.busy && s.message.as_deref().is_some_and(|m| m.contains("too weak")));
    a.apply(AppEvent::Client("a@x".into(), Event::AccountDeleted));
    assert_eq!(a.model.account.as_deref(), Some("b@x"));
    assert_eq!(a.model.accounts, ["b@x"]);
    assert!(a
        .model
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("a@x is deleted")));
    a.apply(AppEvent::Client("b@x".into(), Event::AccountDeleted));
    assert_eq!(a.model.account, None, "back to the form");
    assert!(a.model.accounts.is_empty());
}

/// The window fell behind (not drawn): a conversation is read again from the
/// store, and the contact shows something new.
#[test]
fn a_reload_reads_the_conversation_again() {
    let mut a = app();
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx, "a@x".into()));
    while rx.try_recv().is_ok() {}
    a.model.receive_message(
        "bob@x",
        TimelineItem::Message {
            id: "1".into(),
            seq: 1,
            outgoing: false,
            body: "old".into(),
            ts_ms: 0,
            delivery: Delivery::Received,
            extra: Default::default(),
        },
    );
    a.apply(AppEvent::Reload("a@x".into(), "bob@x".into()));
    assert!(a.model.conversations["bob@x"].items.is_empty());
    assert_eq!(a.model.contact("bob@x").map(|c| c.unread), Some(2));
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::LoadHistory { peer, before_seq: None, .. }) if peer.as_str() == "bob@x"
    ));
}

#[test]
fn several_accounts_each_with_its_own_contacts_and_client() {
    use banter::client::CallDirection;
    let mut a = app();
    let (tx_a, mut rx_a) = mpsc::unbounded_channel();
    let (tx_b, mut rx_b) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx_a, "a@x".into()));
    a.apply(AppEvent::Online(tx_b, "b@x".into()));
    // The first stays on screen; both are in the switcher.
    assert_eq!(a.model.account.as_deref(), Some("a@x"));
    assert_eq!(a.model.accounts, ["a@x", "b@x"]);
    // B's message counts as unread in B's list, not A's.
    a.apply(AppEvent::Client(
        "b@x".into(),
        Event::Message {
            message: StoredMessage {
                peer: "carol@x".into(),
                ..msg("1", "for b")
            },
        },
    ));
    assert!(a.model.contact("carol@x").is_none());
    a.execute_for_test(UiCommand::SwitchAccount { jid: "b@x".into() });
    assert_eq!(a.model.account.as_deref(), Some("b@x"));
    assert_eq!(a.model.contact("carol@x").map(|c| c.unread), Some(1));
    // Commands go to the account shown.
    while rx_b.try_recv().is_ok() {}
    while rx_a.try_recv().is_ok() {}
    a.execute_for_test(UiCommand::SendMessage {
        to: "carol@x".into(),
        body: "hi".into(),
    });
    assert!(matches!(rx_b.try_recv(), Ok(Command::SendMessage { .. })));
    assert!(rx_a.try_recv().is_err());
    // A call for A while B is shown brings A to the screen, ringing.
    a.apply(AppEvent::Client(
        "a@x".into(),
        Event::Call {
            id: "c".into(),
            peer: "dave@x".into(),
            direction: CallDirection::In,
            media: vec![Media::Audio],
            state: CallStatus::Ringing,
            reason: None,
        },
    ));
    assert_eq!(a.model.account.as_deref(), Some("a@x"));
    assert!(a.model.incoming.is_some());
}

#[test]
fn settings_are_kept_and_applied_to_the_next_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = app();
    a.data_dir = dir.path().to_path_buf();
    a.media.audio_in = SourceSpec::Mic(None);
    a.model.microphone = Some("USB Headset".into());
    a.execute_for_test(UiCommand::SetMicrophone {
        name: Some("USB Headset".into()),
    });
    let s = Settings {
        echo_cancellation: false,
        relay_only: true,
        calls_from_anyone: true,
        omemo: true,
        background: false,
    };
    a.model.settings = s;
    a.execute_for_test(UiCommand::ChangeSettings(s));
    a.execute_for_test(UiCommand::SetStatus(MyStatus::DoNotDisturb));
    assert_eq!(
        a.media.audio_in,
        SourceSpec::Mic(Some("USB Headset".into()))
    );
    assert!(a.media.relay_only && !a.media.processing.echo_cancel);
    // A new start reads them back.
    let mut b = app();
    b.data_dir = dir.path().to_path_buf();
    b.media.audio_in = SourceSpec::Mic(None);
    b.load_settings();
    assert_eq!(b.model.settings, s);
    // Do not disturb outlasts a restart: no call rings after one.
    assert_eq!(b.model.status, MyStatus::DoNotDisturb);
    assert_eq!(b.model.microphone.as_deref(), Some("USB Headset"));
    assert_eq!(
        b.media.audio_in,
        SourceSpec::Mic(Some("USB Headset".into()))
    );
    assert!(b.media.relay_only && !b.media.processing.echo_cancel);
    // The password is never among them.
    let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(!text.contains("password"), "{text}");
    // OMEMO turned off now stays off after a restart.
    let off = Settings { omemo: false, ..s };
    b.model.settings = off;
    b.execute_for_test(UiCommand::ChangeSettings(off));
    let mut c = app();
    c.data_dir = dir.path().to_path_buf();
    c.load_settings();
    assert!(!c.model.settings.omemo);
}

/// Issue #22: a remembered device that is not connected falls back to the system's
/// default, with a notice; the choice stays saved for when it is back.
#[test]
fn a_remembered_device_that_is_gone_falls_back_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.json"),
        r#"{"microphone":"USB Headset","speaker":"Built-in","version":2}"#,
    )
    .unwrap();
    let mut a = app();
    a.data_dir = dir.path().to_path_buf();
    a.media.audio_in = SourceSpec::Mic(None);
    a.media.audio_out = SinkSpec::Speaker(None);
    a.load_settings();
    a.model.microphones = vec!["Built-in Audio Analog Stereo".into()];
    a.model.speakers = vec!["Built-in Audio Analog Stereo".into()];
    a.check_devices();
    assert_eq!(
        a.media.audio_in,
        SourceSpec::Mic(None),
        "the default microphone"
    );
    assert_eq!(a.model.microphone, None);
    // The speaker is there (matched by name as the media matches it): kept.
    assert_eq!(
        a.media.audio_out,
        SinkSpec::Speaker(Some("Built-in".into()))
    );
    let notice = a.model.notice.clone().unwrap_or_default();
    assert!(notice.contains("microphone 'USB Headset'"), "{notice}");
    assert!(!notice.contains("speaker"), "{notice}");
    let kept = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(kept.contains("USB Headset"), "the choice is kept: {kept}");
}

/// Settings kept before OMEMO was on by default (no version) say `"omemo": false`
/// without anyone having chosen it: OMEMO is on for them now.
#[test]
fn old_settings_get_omemo_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.json"),
        r#"{"microphone":null,"echo_cancellation":false,"relay_only":false,"calls_from_anyone":false,"omemo":false}"#,
    )
    .unwrap();
    let mut a = app();
    a.data_dir = dir.path().to_path_buf();
    a.load_settings();
    assert!(a.model.settings.omemo);
    assert!(!a.model.settings.echo_cancellation, "the rest as kept");
}

#[test]
fn call_history_fills_the_list_and_the_timeline_once() {
    let mut a = app();
    a.apply(AppEvent::Client(
        String::new(),
        Event::History {
            peer: "bob@x".into(),
            messages: vec![StoredMessage {
                ts_ms: 100,
                ..msg("m", "before the call")
            }],
        },
    ));
    let record = banter::client::CallRecord {
        id: "c1".into(),
        peer: "bob@x".into(),
        direction: Direction::In,
        started_ms: 200,
        duration_s: None,
        reason: "cancel".into(),
    };
    for _ in 0..2 {
        a.apply(AppEvent::Client(
            String::new(),
            Event::CallHistory {
                calls: vec![record.clone()],
            },
        ));
    }
    assert_eq!(a.model.call_log.len(), 1);
    assert_eq!(a.model.call_log[0].summary(), "Missed call");
    let items = &a.model.conversations["bob@x"].items;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(matches!(&items[1], TimelineItem::Call { id, answered: false, .. } if id == "c1"));
}

#[test]
fn history_pages_scroll_back_and_typing_shows() {
    let mut a = app();
    let page = |from: i64, n: i64| {
        AppEvent::Client(
            String::new(),
            Event::History {
                peer: "bob@x".into(),
                messages: (from..from + n)
                    .map(|seq| StoredMessage {
                        seq,
                        ..msg(&seq.to_string(), "m")
                    })
                    .collect(),
            },
        )
    };
    // A full first page: there may be more, before seq 300.
    a.apply(page(300, HISTORY_PAGE as i64));
    let conv = &a.model.conversations["bob@x"];
    assert!(conv.more_history);
    assert_eq!(conv.history_cursor, Some(300));
    // The earlier page is shorter: that was all.
    a.apply(page(200, 50));
    let conv = &a.model.conversations["bob@x"];
    assert!(!conv.more_history);
    assert_eq!(conv.history_cursor, Some(200));
    assert_eq!(conv.items.len(), HISTORY_PAGE + 50);
    assert!(matches!(&conv.items[0], TimelineItem::Message { id, .. } if id == "200"));

    a.apply(AppEvent::Client(
        String::new(),
        Event::ChatState {
            from: "bob@x".into(),
            state: Typing::Composing,
        },
    ));
    assert!(a.model.conversations["bob@x"].peer_typing);
    a.apply(AppEvent::Client(
        String::new(),
        Event::Message {
            message: msg("new", "hi"),
        },
    ));
    assert!(!a.model.conversations["bob@x"].peer_typing);
}

#[test]
fn stored_history_goes_before_live_messages_without_duplicates() {
    let mut a = app();
    a.apply(AppEvent::Client(
        String::new(),
        Event::Message {
            message: msg("2", "new"),
        },
    ));
    a.apply(AppEvent::Client(
        String::new(),
        Event::History {
            peer: "bob@x".into(),
            messages: vec![msg("1", "old"), msg("2", "new")],
        },
    ));
    let bodies: Vec<&str> = a.model.conversations["bob@x"]
        .items
        .iter()
        .map(|i| match i {
            TimelineItem::Message { body, .. } => body.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(bodies, ["old", "new"]);
    // An unread count rises for a conversation not on screen.
    assert_eq!(a.model.contact("bob@x").map(|c| c.unread), Some(1));
}

#[test]
fn incoming_call_then_active_then_ended_leaves_a_timeline_entry() {
    use banter::client::EndReason;
    use banter::client::Reason;
    let mut a = app();
    let call = |state: CallStatus, reason: Option<EndReason>| {
        AppEvent::Client(
            String::new(),
            Event::Call {
                id: "c".into(),
                peer: "bob@x".into(),
                direction: CallDirection::In,
                media: vec![Media::Audio],
                state,
                reason,
            },
        )
    };
    a.apply(call(CallStatus::Ringing, None));
    assert!(a.model.incoming.is_some());
    a.apply(call(CallStatus::Connecting, None));
    a.apply(call(CallStatus::Active, None));
    assert!(a.model.incoming.is_none());
    // The peer's hold and mute are shown.
    let info = |info: CallInfo| {
        AppEvent::Client(
            String::new(),
            Event::CallInfo {
                id: "c".into(),
                info,
            },
        )
    };
    a.apply(info(CallInfo::Hold));
    a.apply(info(CallInfo::Mute));
    let c = a.model.call.as_ref().unwrap();
    assert!(c.peer_held && c.peer_muted);
    a.apply(info(CallInfo::Unhold));
    assert!(!a.model.call.as_ref().unwrap().peer_held);
    assert_eq!(
        a.model.call.as_ref().map(|c| c.phase),
        Some(CallPhase::Active)
    );
    // A microphone that sends nothing is counted in seconds (stats come each second);
    // a muted one is not.
    let stats = |level: f32| {
        AppEvent::Client(
            String::new(),
            Event::CallStats {
                id: "c".into(),
                stats: banter_media::CallStats {
                    audio_level_in: level,
                    ..Default::default()
                },
            },
        )
    };
    for _ in 0..5 {
        a.apply(stats(-100.0));
    }
    assert_eq!(a.model.call.as_ref().unwrap().silent_s, 5);
    a.apply(stats(-30.0));
    assert_eq!(a.model.call.as_ref().unwrap().silent_s, 0);
    a.model.call.as_mut().unwrap().muted = true;
    a.apply(stats(-100.0));
    assert_eq!(
        a.model.call.as_ref().unwrap().silent_s,
        0,
        "muted is not silence"
    );
    a.model.call.as_mut().unwrap().muted = false;
    // An error said during the call is about it (issue #22: "no camera found" stayed
    // in the status bar after the call).
    a.apply(AppEvent::Client(
        String::new(),
        Event::Error {
            message: "no camera found: the call goes on without video".into(),
        },
    ));
    assert!(a.model.notice.is_some());
    a.apply(call(
        CallStatus::Ended,
        Some(EndReason::Jingle(Reason::Success)),
    ));
    assert!(a.model.call.is_none());
    assert_eq!(a.model.notice, None, "the call's notice went with it");
    assert!(matches!(
        a.model.conversations["bob@x"].items.last(),
        Some(TimelineItem::Call { answered: true, .. })
    ));
}

/// Settings → Test my network asks the account's client, and its report fills the
/// panel: a failed step is a problem, the advice keeps its level.
#[test]
fn a_network_check_is_asked_and_its_findings_shown() {
    use banter_media::netcheck::{Advice, Check, Failure, Level, Mapping, NetReport, Step};
    use banter_ui::model::Finding;
    let mut a = app();
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx, "a@x".into()));
    while rx.try_recv().is_ok() {}
    a.execute_for_test(UiCommand::NetCheck);
    assert!(matches!(rx.try_recv(), Ok(Command::NetCheck)));
    assert!(a.model.net_check.running);
    let report = NetReport {
        steps: vec![Step {
            check: Check::Stun,
            server: "turn.x:3478".into(),
            outcome: Err(Failure::NoAnswer(3)),
            time: Duration::from_secs(3),
        }],
        mapping: Mapping::Unknown,
        advice: vec![Advice {
            level: Level::Warning,
            text: "UDP seems blocked".into(),
        }],
        time: Duration::from_secs(3),
    };
    a.apply(AppEvent::Client(
        "a@x".into(),
        Event::NetCheck {
            report: Arc::new(report),
        },
    ));
    let n = &a.model.net_check;
    assert!(!n.running);
    assert_eq!(n.steps.len(), 1);
    assert_eq!(n.steps[0].finding, Finding::Problem);
    assert_eq!(
        n.steps[0].text,
        "STUN over UDP (turn.x:3478): no answer within 3 s"
    );
    assert_eq!(n.advice[0].finding, Finding::Warning);
    assert_eq!(n.advice[0].text, "UDP seems blocked");
}

/// With OMEMO on, choosing a contact asks for its devices; the answer fills the
/// encryption panel (kept open across a refresh); Verify asks the client for that
/// device's trust; a call's OMEMO report marks the call verified.
#[test]
fn omemo_devices_are_asked_shown_and_verified() {
    use banter::client::OmemoDeviceInfo;
    let mut a = app();
    a.model.settings.omemo = true;
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx, "a@x".into()));
    while rx.try_recv().is_ok() {}
    a.execute_for_test(UiCommand::SelectContact { jid: "b@x".into() });
    let asked: Vec<Command> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(
        asked
            .iter()
            .any(|c| matches!(c, Command::OmemoDevices { jid } if jid.as_str() == "b@x")),
        "{asked:?}"
    );
    let list = |trust: &str| Event::OmemoDeviceList {
        jid: "b@x".into(),
        own_fingerprint: Some("f".repeat(64)),
        devices: vec![OmemoDeviceInfo {
            device_id: 7,
            fingerprint: Some("a".repeat(64)),
            trust: trust.into(),
            active: true,
        }],
    };
    a.apply(AppEvent::Client("a@x".into(), list("blind")));
    let v = a.model.omemo.as_mut().unwrap();
    assert!(v.encrypted() && !v.open);
    v.open = true;
    a.execute_for_test(UiCommand::TrustDevice {
        jid: "b@x".into(),
        fingerprint: "a".repeat(64),
        verified: true,
    });
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::OmemoTrust { verified: true, ref fingerprint, .. }) if *fingerprint == "a".repeat(64)
    ));
    a.apply(AppEvent::Client("a@x".into(), list("verified")));
    let v = a.model.omemo.as_ref().unwrap();
    assert!(v.open, "the panel stays open");
    assert_eq!(v.devices[0].trust, "verified");

    a.model.call = Some(banter_ui::model::ActiveCall::new(
        "c1",
        "b@x",
        banter_ui::model::CallPhase::Active,
    ));
    a.apply(AppEvent::Client(
        "a@x".into(),
        Event::CallOmemo {
            id: "c1".into(),
            device_id: 7,
            fingerprint: "a".repeat(64),
            trust: "verified".into(),
            verified: true,
        },
    ));
    assert_eq!(a.model.call.as_ref().unwrap().omemo_verified, Some(true));
}

/// Group chat in the window: Join asks the client and shows the room; its events
/// fill the room (occupants by role, lines, subject); a message naming us in a room
/// not on screen counts as a mention; an invitation is listed until declined
/// (through the room, the inviter is told); Bookmark asks for one with autojoin;
/// leaving an unbookmarked room takes it off the list.
#[test]
fn rooms_are_joined_shown_counted_and_left() {
    use banter::client::Occupant;
    let mut a = app();
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx, "a@x".into()));
    while rx.try_recv().is_ok() {}
    a.execute_for_test(UiCommand::JoinRoom {
        room: "team@rooms.x".into(),
        nick: "al".into(),
        password: None,
    });
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::JoinRoom { ref room, ref nick, .. }) if room.as_str() == "team@rooms.x" && nick == "al"
    ));
    assert_eq!(a.model.selected_room.as_deref(), Some("team@rooms.x"));
    let ev = |e: Event| AppEvent::Client("a@x".into(), e);
    a.apply(ev(Event::RoomJoined {
        room: "team@rooms.x".into(),
        nick: "al".into(),
    }));
    for (nick, role) in [("zed", "participant"), ("al", "moderator")] {
        a.apply(ev(Event::Occupant {
            room: "team@rooms.x".into(),
            present: true,
            occupant: Occupant {
                nick: nick.into(),
                role: role.into(),
                affiliation: "none".into(),
                jid: None,
                show: "available".into(),
            },
        }));
    }
    a.apply(ev(Event::RoomSubject {
        room: "team@rooms.x".into(),
        subject: "plans".into(),
        nick: Some("zed".into()),
    }));
    let r = a.model.room("team@rooms.x").unwrap();
    assert!(r.joined);
    assert_eq!(r.subject.as_deref(), Some("plans"));
    let nicks: Vec<&str> = r.occupants.iter().map(|o| o.nick.as_str()).collect();
    assert_eq!(nicks, ["al", "zed"]);

    // Another room, not on screen: a mention counts.
    a.apply(ev(Event::RoomJoined {
        room: "other@rooms.x".into(),
        nick: "al".into(),
    }));
    a.apply(ev(Event::RoomMessage {
        room: "other@rooms.x".into(),
        nick: "zed".into(),
        id: "1".into(),
        body: "al: are you there?".into(),
        ts_ms: 1,
        from_archive: false,
        stanza_id: None,
        meta: Default::default(),
    }));
    let other = a.model.room("other@rooms.x").unwrap();
    assert_eq!((other.unread, other.mentions), (1, 1));
    assert_eq!(a.model.room_mentions(), 1);

    a.apply(ev(Event::Invitation {
        room: "secret@rooms.x".into(),
        from: "bob@x/pc".into(),
        reason: None,
        password: None,
        mediated: true,
    }));
    assert_eq!(a.model.invitations.len(), 1);
    a.execute_for_test(UiCommand::DeclineInvitation {
        room: "secret@rooms.x".into(),
    });
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::DeclineInvitation { ref inviter, .. }) if inviter == "bob@x/pc"
    ));
    assert!(a.model.invitations.is_empty());

    a.execute_for_test(UiCommand::BookmarkRoom {
        room: "team@rooms.x".into(),
        bookmarked: true,
        autojoin: true,
    });
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::SetBookmark { ref bookmark }) if bookmark.autojoin && bookmark.nick.as_deref() == Some("al")
    ));
    a.apply(ev(Event::RoomLeft {
        room: "other@rooms.x".into(),
        reason: "left".into(),
    }));
    assert!(a.model.room("other@rooms.x").is_none());
    a.apply(ev(Event::RoomLeft {
        room: "team@rooms.x".into(),
        reason: "kicked: enough".into(),
    }));
    let r = a.model.room("team@rooms.x").unwrap();
    assert!(!r.joined && r.occupants.is_empty());
    assert_eq!(r.left_reason.as_deref(), Some("kicked: enough"));
}

/// The rooms dialog and what a room keeps: Create asks for the room configured;
/// Browse lists a service's rooms (the answer fills the directory, a refusal stops
/// the wait); a room's kept messages are shown on joining, not twice when the room
/// is already on screen, and an earlier page goes before; the subject, destroy,
/// owner and revoke reach the client.
#[test]
fn the_rooms_dialog_and_kept_messages() {
    use banter::client::StoredRoomMessage;
    use banter::client::{Change, ListedRoom};
    use banter_ui::command::Moderation;
    let mut a = app();
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.apply(AppEvent::Online(tx, "a@x".into()));
    while rx.try_recv().is_ok() {}
    let ev = |e: Event| AppEvent::Client("a@x".into(), e);

    a.execute_for_test(UiCommand::CreateRoom {
        room: "new@rooms.x".into(),
        nick: "al".into(),
        name: Some("New".into()),
        members_only: true,
        persistent: true,
        public: false,
        password: None,
    });
    match rx.try_recv() {
        Ok(Command::CreateRoom { room, nick, config }) => {
            assert_eq!((room.as_str(), nick.as_str()), ("new@rooms.x", "al"));
            assert_eq!(config.name.as_deref(), Some("New"));
            assert!(config.members_only && config.persistent && !config.public);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.model.selected_room.as_deref(), Some("new@rooms.x"));

    a.model.join_form.service = "rooms.x".into();
    a.model.join_form.listing = true;
    a.execute_for_test(UiCommand::ListRooms {
        service: "rooms.x".into(),
    });
    assert!(
        matches!(rx.try_recv(), Ok(Command::ListRooms { service }) if service.as_str() == "rooms.x")
    );
    a.apply(ev(Event::RoomList {
        service: "rooms.x".into(),
        rooms: vec![ListedRoom {
            jid: "team@rooms.x".into(),
            name: Some("Team".into()),
        }],
    }));
    assert!(!a.model.join_form.listing);
    assert_eq!(a.model.join_form.matching().len(), 1);
    a.model.join_form.listing = true;
    a.apply(ev(Event::Error {
        message: "could not list the rooms of rooms.x: refused".into(),
    }));
    assert!(!a.model.join_form.listing, "a refusal ends the wait");

    let kept = |body: &str, ts_ms: i64, private: Option<&str>| StoredRoomMessage {
        seq: ts_ms,
        room: "team@rooms.x".into(),
        nick: "zed".into(),
        id: body.into(),
        stanza_id: None,
        ts_ms,
        body: body.into(),
        private: private.map(str::to_string),
        meta: Default::default(),
    };
    let history = |messages, earlier| {
        ev(Event::RoomStoredHistory {
            room: "team@rooms.x".into(),
            messages,
            earlier,
            more: true,
        })
    };
    a.apply(history(
        vec![kept("kept 1", 5_000, None), kept("psst", 6_000, Some("in"))],
        false,
    ));
    let bodies = |a: &App| -> Vec<String> {
        a.model
            .room("team@rooms.x")
            .unwrap()
            .lines
            .iter()
            .map(|l| l.body.clone())
            .collect()
    };
    assert_eq!(bodies(&a), ["kept 1", "psst"]);
    let r = a.model.room("team@rooms.x").unwrap();
    assert!(r.more_history);
    assert_eq!(r.unread, 0, "what was kept is not new");
    assert!(matches!(
        r.lines.get(1).map(|l| &l.kind),
        Some(banter_ui::model::RoomLineKind::Private { outgoing: false })
    ));
    // Joined again in the same run: the lines are there already.
    a.apply(history(vec![kept("kept 1", 5_000, None)], false));
    assert_eq!(bodies(&a).len(), 2);
    // An earlier page goes before; what is still on screen is not shown twice.
    a.apply(history(
        vec![kept("older", 1_000, None), kept("kept 1", 5_000, None)],
        true,
    ));
    assert_eq!(bodies(&a), ["older", "kept 1", "psst"]);

    a.execute_for_test(UiCommand::SetRoomSubject {
        room: "team@rooms.x".into(),
        subject: "friday".into(),
    });
    assert!(
        matches!(rx.try_recv(), Ok(Command::SetRoomSubject { subject, .. }) if subject == "friday")
    );
    a.execute_for_test(UiCommand::DestroyRoom {
        room: "team@rooms.x".into(),
    });
    assert!(
        matches!(rx.try_recv(), Ok(Command::DestroyRoom { room, .. }) if room.as_str() == "team@rooms.x")
    );
    for (action, want) in [
        (Moderation::Owner, Change::Owner),
        (Moderation::Revoke, Change::Revoke),
    ] {
        a.execute_for_test(UiCommand::ModerateOccupant {
            room: "team@rooms.x".into(),
            nick: "zed".into(),
            action,
        });
        assert!(
            matches!(rx.try_recv(), Ok(Command::ChangeOccupant { change, target, .. }) if change == want && target == "zed")
        );
    }
}

/// Issue #17: the window's `--json` lines are the command line's, event for event.
#[test]
fn the_window_prints_the_json_lines_the_command_line_prints() {
    use banter::client::CallDirection;
    use banter::client::{CallInfo, CallStatus, EndReason, Media};
    let events = vec![
        Event::Connected {
            jid: "alice@x/pc".into(),
            resumed: true,
            login: None,
        },
        Event::ConnectionLost,
        Event::Message {
            message: msg("m1", "hello \"there\""),
        },
        Event::Call {
            id: "c1".into(),
            peer: "bob@x".into(),
            direction: CallDirection::In,
            media: vec![Media::Audio],
            state: CallStatus::Ended,
            reason: Some(EndReason::Jingle(banter::client::Reason::Decline)),
        },
        Event::CallInfo {
            id: "c1".into(),
            info: CallInfo::Mute,
        },
        Event::Error {
            message: "something".into(),
        },
        Event::MessageDelivered { id: "m1".into() },
    ];
    for ev in &events {
        let mut cli = Vec::new();
        crate::cli::print_event(&mut cli, ev, true);
        assert_eq!(
            String::from_utf8(cli).unwrap(),
            format!("{}\n", events::json_line(ev)),
            "{ev:?}"
        );
    }
}

/// Issue #15: a contact's picture (XEP-0084) reaches the contact row as a texture;
/// a file that is no picture, or none at all, leaves the initials.
#[test]
fn an_avatar_file_becomes_the_contacts_picture() {
    let mut a = app();
    a.ctx = Some(egui::Context::default());
    a.model.contacts.push(banter_ui::model::ContactRow {
        jid: "bob@x".into(),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("abc");
    image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
        .save_with_format(&png, image::ImageFormat::Png)
        .unwrap();
    let avatar = |a: &App| a.model.contact("bob@x").unwrap().avatar.clone();
    // Decoded off the UI thread: it comes back as an event of the window's own.
    let decoded = |a: &mut App| {
        let back = a
            .events
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("decoded");
        a.apply(back);
    };
    a.apply(AppEvent::Client(
        String::new(),
        Event::Avatar {
            jid: "bob@x".into(),
            path: Some(png),
        },
    ));
    decoded(&mut a);
    assert_eq!(avatar(&a).map(|t| t.0.size()), Some([8, 8]));
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not a picture").unwrap();
    a.apply(AppEvent::Client(
        String::new(),
        Event::Avatar {
            jid: "bob@x".into(),
            path: Some(junk),
        },
    ));
    decoded(&mut a);
    assert!(avatar(&a).is_none());
}

/// Issue #15: a picture a contact sends is fetched for its preview by itself (a
/// stranger's waits for a click); its progress shows on the message; once fetched it
/// is decoded off the UI thread (turned upright as its EXIF says) into a texture.
#[test]
fn a_contacts_picture_becomes_a_texture_and_a_strangers_waits_for_a_click() {
    use banter::client::{TransferKind, TransferState};
    use banter_ui::model::FileState;
    let mut a = app();
    a.ctx = Some(egui::Context::default());
    let data = tempfile::tempdir().unwrap();
    a.data_dir = data.path().to_path_buf();
    a.model.contacts.push(banter_ui::model::ContactRow {
        jid: "bob@x".into(),
        in_roster: true,
        ..Default::default()
    });
    let picture_from = |peer: &str, id: &str| {
        let url = format!("https://up.x/{id}/photo.jpg");
        let mut m = StoredMessage {
            peer: peer.into(),
            from: format!("{peer}/phone"),
            ..msg(id, &url)
        };
        m.meta.file = banter::client::file_ref(&url);
        m
    };
    let file = |a: &App, peer: &str, id: &str| {
        a.model.conversations[peer]
            .items
            .iter()
            .find_map(|i| match i {
                TimelineItem::Message { id: mid, extra, .. } if mid == id => extra.file.clone(),
                _ => None,
            })
            .unwrap()
    };
    a.apply(AppEvent::Client(
        String::new(),
        Event::Message {
            message: picture_from("bob@x", "p1"),
        },
    ));
    assert!(matches!(
        file(&a, "bob@x", "p1").state,
        FileState::Fetching { .. }
    ));
    a.apply(AppEvent::Client(
        String::new(),
        Event::Message {
            message: picture_from("mallory@x", "p2"),
        },
    ));
    assert_eq!(file(&a, "mallory@x", "p2").state, FileState::Remote);

    let progress = |done| Event::Transfer {
        id: "dl:p1".into(),
        kind: TransferKind::Download,
        peer: "bob@x".into(),
        name: "photo.jpg".into(),
        state: TransferState::Progress {
            done,
            total: Some(100),
        },
    };
    a.apply(AppEvent::Client(String::new(), progress(40)));
    assert_eq!(
        file(&a, "bob@x", "p1").state,
        FileState::Fetching {
            done: 40,
            total: Some(100)
        }
    );
    // Fetched: a 60 × 30 JPEG a phone stored turned (EXIF orientation 6).
    let jpeg = data.path().join("photo.jpg");
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        60,
        30,
        image::Rgb([200, 30, 30]),
    ))
    .write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let exif: &[u8] =
        b"\xFF\xE1\x00\x22Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let mut with_exif = bytes[..2].to_vec();
    with_exif.extend_from_slice(exif);
    with_exif.extend_from_slice(&bytes[2..]);
    std::fs::write(&jpeg, with_exif).unwrap();
    a.apply(AppEvent::Client(
        String::new(),
        Event::Transfer {
            id: "dl:p1".into(),
            kind: TransferKind::Download,
            peer: "bob@x".into(),
            name: "photo.jpg".into(),
            state: TransferState::Done {
                size: 100,
                url: None,
                path: Some(jpeg.clone()),
                sha256: None,
            },
        },
    ));
    assert_eq!(file(&a, "bob@x", "p1").state, FileState::Saved(jpeg));
    let decoded = a
        .events
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the picture was decoded");
    a.apply(decoded);
    let texture = file(&a, "bob@x", "p1").picture.expect("a texture");
    assert_eq!(texture.0.size(), [30, 60], "turned upright");
}

/// Issue #15 in rooms: a message, its correction, reactions (ours marked) and its
/// retraction reach the room's line; a reply quotes the line it answers; the line's
/// menus send the client's commands to the room.
#[test]
fn a_rooms_amends_reach_its_lines() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = app();
    a.client = Some(tx);
    let ev = |e| AppEvent::Client(String::new(), e);
    let room = "team@rooms.x";
    a.apply(ev(Event::RoomJoined {
        room: room.into(),
        nick: "al".into(),
    }));
    let said = |nick: &str, id: &str, sid: &str, body: &str| Event::RoomMessage {
        room: room.into(),
        nick: nick.into(),
        id: id.into(),
        body: body.into(),
        ts_ms: 1,
        from_archive: false,
        stanza_id: Some(sid.into()),
        meta: Default::default(),
    };
    a.apply(ev(said("zed", "z1", "S1", "helo")));
    a.apply(ev(Event::RoomMessageCorrected {
        room: room.into(),
        id: "S1".into(),
        nick: "zed".into(),
        body: "hello".into(),
    }));
    // Someone else's "correction" of it is no correction.
    a.apply(ev(Event::RoomMessageCorrected {
        room: room.into(),
        id: "S1".into(),
        nick: "eve".into(),
        body: "pwned".into(),
    }));
    for (nick, set) in [
        ("al", vec!["👍"]),
        ("eve", vec!["👍", "🎉"]),
        ("eve", vec!["🎉"]),
    ] {
        a.apply(ev(Event::RoomReactions {
            room: room.into(),
            id: "S1".into(),
            nick: nick.into(),
            reactions: set.into_iter().map(String::from).collect(),
        }));
    }
    let line = |a: &App, sid: &str| {
        a.model
            .room(room)
            .unwrap()
            .lines
            .iter()
            .find(|l| l.stanza_id.as_deref() == Some(sid))
            .cloned()
            .unwrap()
    };
    let l = line(&a, "S1");
    assert_eq!((l.body.as_str(), l.extra.edited), ("hello", true));
    let chips: Vec<(String, Vec<String>, bool)> = l
        .extra
        .reactions
        .iter()
        .map(|c| (c.emoji.clone(), c.from.clone(), c.mine))
        .collect();
    assert_eq!(
        chips,
        [
            ("👍".to_string(), vec!["al".to_string()], true),
            ("🎉".to_string(), vec!["eve".to_string()], false)
        ]
    );
    // A reply quotes the line it answers.
    let mut reply = said("eve", "e1", "S2", "agreed");
    if let Event::RoomMessage { meta, .. } = &mut reply {
        meta.reply_to = Some(banter::client::Reply {
            id: "S1".into(),
            to: Some(format!("{room}/zed")),
        });
    }
    a.apply(ev(reply));
    let quote = line(&a, "S2").extra.reply.unwrap();
    assert_eq!(
        (quote.id.as_str(), quote.text.as_str()),
        ("S1", "zed: hello")
    );
    // The line's React goes to the room by the room's id.
    a.execute_for_test(UiCommand::React {
        to: room.into(),
        id: "S1".into(),
        reactions: vec!["👍".into(), "❤️".into()],
    });
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::React { ref to, ref of, .. }) if to.as_str() == room && of == "S1"
    ));
    a.apply(ev(Event::RoomMessageRetracted {
        room: room.into(),
        id: "S1".into(),
        nick: "zed".into(),
    }));
    let l = line(&a, "S1");
    assert!(l.extra.retracted && l.body.is_empty() && l.extra.reactions.is_empty());
}

/// A contact's file whose sender said no size (Conversations): its server is asked
/// (the client's FileInfo), and the answer shows on the card; a stranger's is not.
#[test]
fn a_contacts_file_gets_its_size_asked_and_a_strangers_does_not() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = app();
    a.client = Some(tx);
    a.model.contacts.push(banter_ui::model::ContactRow {
        jid: "bob@x".into(),
        in_roster: true,
        ..Default::default()
    });
    let file_from = |peer: &str, id: &str| {
        let url = format!("https://up.x/{id}/minutes.pdf");
        let mut m = StoredMessage {
            peer: peer.into(),
            from: format!("{peer}/phone"),
            ..msg(id, &url)
        };
        m.meta.file = banter::client::file_ref(&url);
        Event::Message { message: m }
    };
    a.apply(AppEvent::Client(
        String::new(),
        file_from("mallory@x", "m1"),
    ));
    assert!(
        rx.try_recv().is_err(),
        "nothing asked for a stranger's file"
    );
    a.apply(AppEvent::Client(String::new(), file_from("bob@x", "b1")));
    assert!(matches!(
        rx.try_recv(),
        Ok(Command::FileInfo { ref peer, ref id, .. }) if peer == "bob@x" && id == "b1"
    ));
    a.apply(AppEvent::Client(
        String::new(),
        Event::FileInfo {
            peer: "bob@x".into(),
            id: "b1".into(),
            size: Some(2_400_000),
            mime: Some("application/pdf".into()),
        },
    ));
    let size = a.model.conversations["bob@x"]
        .items
        .iter()
        .find_map(|i| match i {
            TimelineItem::Message { extra, .. } => extra.file.as_ref().and_then(|f| f.size),
            _ => None,
        });
    assert_eq!(size, Some(2_400_000));
}

/// Our status goes to every signed-in account (the one shown and those waiting),
/// as presence; do not disturb is `dnd`, which the client turns into busy calls.
#[test]
fn a_status_goes_to_every_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = app();
    a.data_dir = dir.path().to_path_buf();
    let (one, mut one_rx) = mpsc::unbounded_channel();
    let (two, mut two_rx) = mpsc::unbounded_channel();
    a.clients.insert("a@x".into(), one);
    a.clients.insert("b@x".into(), two);
    a.stash.insert("b@x".into(), Model::default());
    a.execute_for_test(UiCommand::SetStatus(MyStatus::DoNotDisturb));
    for rx in [&mut one_rx, &mut two_rx] {
        assert!(matches!(
            rx.try_recv(),
            Ok(Command::SetPresence {
                show: Show::Dnd,
                status: None
            })
        ));
    }
    assert_eq!(a.model.status, MyStatus::DoNotDisturb);
    assert_eq!(a.stash["b@x"].status, MyStatus::DoNotDisturb);
    a.execute_for_test(UiCommand::SetStatus(MyStatus::Away));
    assert!(matches!(
        one_rx.try_recv(),
        Ok(Command::SetPresence {
            show: Show::Away,
            ..
        })
    ));
}

/// The language chosen in Settings is kept (the system's is not written down as a
/// choice), and read back at the next start.
#[test]
fn the_chosen_language_is_kept() {
    use banter_ui::i18n::Lang;
    let dir = tempfile::tempdir().unwrap();
    let mut a = app();
    a.data_dir = dir.path().to_path_buf();
    a.model.language = Some(Lang::De);
    a.save_settings();
    let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(text.contains("\"language\":\"de\""), "{text}");
    let mut b = app();
    b.data_dir = dir.path().to_path_buf();
    b.load_settings();
    assert_eq!(b.model.language, Some(Lang::De));
    b.model.language = None;
    b.save_settings();
    let mut c = app();
    c.data_dir = dir.path().to_path_buf();
    c.load_settings();
    assert_eq!(c.model.language, None);
}

/// The client's reasons for leaving a room are said in the window's language; the
/// room's own words after them stay as they came; an unknown reason is shown as is.
#[test]
fn room_reasons_are_translated() {
    use banter_ui::i18n::{set_thread_language, Lang};
    set_thread_language(Some(Lang::De));
    assert_eq!(
        rooms::reason_words("kicked: too loud"),
        "hinausgeworfen: too loud"
    );
    assert_eq!(
        rooms::reason_words("the room refused to let you in"),
        "der Gruppenchat hat dich nicht hereingelassen"
    );
    assert_eq!(rooms::reason_words("something new"), "something new");
    assert_eq!(banter_ui::i18n::decimal(1.5, 1), "1,5");
    set_thread_language(Some(Lang::En));
    assert_eq!(rooms::reason_words("banned"), "banned");
    assert_eq!(banter_ui::i18n::decimal(1.5, 1), "1.5");
    set_thread_language(None);
}

/// An outgoing audio call `id` to bob@x, connected.
fn audio_call_up(a: &mut App, id: &str) {
    a.apply(AppEvent::Client(
        String::new(),
        Event::Call {
            id: id.into(),
            peer: "bob@x".into(),
            direction: banter::client::CallDirection::Out,
            media: vec![Media::Audio],
            state: CallStatus::Active,
            reason: None,
        },
    ));
}

/// On Wayland the window has no picker of its own: "Share screen" asks the account to
/// have the desktop's portal dialog pick.
#[test]
fn on_wayland_share_screen_goes_to_the_portal_dialog() {
    use banter_media::video::screen::ScreenSpec;
    let mut a = app();
    a.wayland = true;
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.client = Some(tx);
    audio_call_up(&mut a, "c1");
    a.execute_for_test(UiCommand::PickScreen { id: "c1".into() });
    match rx.try_recv() {
        Ok(Command::ShareScreen { id, screen }) => {
            assert_eq!(id, "c1");
            assert_eq!(screen, Some(ScreenSpec::Portal(None)));
        }
        other => panic!("{other:?}"),
    }
    assert!(a.model.call.as_ref().unwrap().screen_picker.is_none());
}

/// Screen sharing in the window: the picker fills with what is offered (monitors
/// numbered, windows by title, thumbnails as textures); a pick goes to the account as
/// a screen; the account's answers drive the call bar (the camera as it was once
/// sharing stops); a reason is said; a screen that cannot be read closes the picker.
#[test]
fn screen_sharing_picker_pick_and_answers() {
    use banter_media::video::screen::{ScreenSource, ScreenSpec};
    let mut a = app();
    a.ctx = Some(egui::Context::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    a.client = Some(tx);
    audio_call_up(&mut a, "c1");
    a.model.call.as_mut().unwrap().screen_picker = Some(Vec::new());
    let offer = |spec: ScreenSpec, title: Option<&str>, thumb: bool| screen::Offered {
        source: ScreenSource {
            spec,
            title: title.map(str::to_string),
            width: 1920,
            height: 1080,
        },
        thumbnail: thumb.then(|| banter_media::video::RgbaFrame {
            width: 4,
            height: 2,
            pixels: vec![255; 32],
        }),
    };
    a.apply(AppEvent::ScreenSources {
        call: "c1".into(),
        sources: Ok(vec![
            offer(ScreenSpec::Monitor(Some(0)), None, true),
            offer(ScreenSpec::Window("Notes".into()), Some("Notes"), false),
            offer(ScreenSpec::Monitor(Some(1)), None, true),
        ]),
    });
    let picker = a
        .model
        .call
        .as_ref()
        .unwrap()
        .screen_picker
        .clone()
        .unwrap();
    let seen: Vec<(&str, usize, bool)> = picker
        .iter()
        .map(|c| (c.key.as_str(), c.number, c.thumbnail.is_some()))
        .collect();
    assert_eq!(
        seen,
        [
            ("monitor:0", 0, true),
            ("window:Notes", 1, false),
            ("monitor:1", 1, true)
        ]
    );
    assert_eq!(picker[0].thumbnail.as_ref().unwrap().0.size(), [4, 2]);
    a.execute_for_test(UiCommand::ShareScreen {
        id: "c1".into(),
        source: Some("window:Notes".into()),
    });
    match rx.try_recv() {
        Ok(Command::ShareScreen { id, screen }) => {
            assert_eq!(id, "c1");
            assert_eq!(screen, Some(ScreenSpec::Window("Notes".into())));
        }
        other => panic!("{other:?}"),
    }
    let share = |sharing, reason: Option<&str>| {
        AppEvent::Client(
            String::new(),
            Event::ScreenShare {
                id: "c1".into(),
                sharing,
                reason: reason.map(str::to_string),
            },
        )
    };
    a.apply(share(true, None));
    let call = a.model.call.as_ref().unwrap();
    assert!(call.sharing && call.video && call.camera_on);
    // The window closed: sharing stopped by itself, said, the camera off as before.
    a.apply(share(false, Some("the shared window was closed")));
    let call = a.model.call.as_ref().unwrap();
    assert!(!call.sharing && !call.camera_on);
    assert!(
        a.model
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("Screen sharing stopped") && n.contains("closed")),
        "{:?}",
        a.model.notice
    );
    // Nothing to share here (no X display): said, and the picker closes.
    a.model.call.as_mut().unwrap().screen_picker = Some(Vec::new());
    a.apply(AppEvent::ScreenSources {
        call: "c1".into(),
        sources: Err("no X display ($DISPLAY is not set)".into()),
    });
    assert!(a.model.call.as_ref().unwrap().screen_picker.is_none());
    assert!(a
        .model
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("not shared") && n.contains("DISPLAY")));
}
