//! Banter in the tray: the real binary's window under Xvfb, a private session bus
//! with a real notification daemon (dunst) and a panel's StatusNotifierWatcher
//! (a stand-in that records items and talks to them as a panel does).

mod support;

use std::process::Command;
use std::time::Duration;

use banter::client::{CallStatus, Command as Cmd, EndReason, Event, Reason};
use support::{Prosody, Xvfb};

fn call_ended(e: &Event) -> bool {
    matches!(
        e,
        Event::Call {
            state: CallStatus::Ended,
            ..
        }
    )
}

/// The tray item registers with the panel and offers Hide, the three statuses and
/// Quit. The window's close button hides it into the tray (the X window unmapped,
/// the process signed in); a call then still rings, its notification's Accept
/// answers it and Bob hears Alice's 880 Hz tone. Do not disturb from the tray menu
/// refuses Bob's next call as busy with no notification (her other device sees
/// `dnd`); back to Available, a click on the icon shows the window. A second
/// `banter` for the same folder brings the hidden window up and ends. Quit from the
/// menu, hidden, ends Banter cleanly (signed out), the icon gone.
#[tokio::test(flavor = "multi_thread")]
async fn closed_to_the_tray_it_still_rings_and_answers() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let host = support::desktop::TrayHost::start(&desk.bus);
    // Alice's other device: it sees her status, and her sign-out at Quit.
    let mut other = support::raw::RawClient::login(&alice, "other");
    other.send("<presence/>");
    let mut window = support::desktop::ringable_window(
        &alice,
        &x,
        &desk,
        &["--audio-in", "tone:880", "--audio-out", "null"],
    );
    let full = window
        .seen
        .iter()
        .find(|v| v["event"] == "connected")
        .and_then(|v| v["jid"].as_str())
        .expect("connected")
        .to_string();
    other.read_until(&format!("from='{full}'"));
    let item = host.item();
    assert_eq!(host.property(&item, "Title"), "Banter");
    let labels: Vec<String> = host.menu(&item).into_iter().map(|e| e.1).collect();
    for l in [
        "Hide Banter",
        "Available",
        "Away",
        "Do not disturb",
        "Quit Banter",
    ] {
        assert!(labels.iter().any(|m| m == l), "{l:?} not in {labels:?}");
    }
    support::desktop::wait_window_shown(&x, true);

    // The close button: into the tray.
    support::desktop::close_window(&x);
    window.wait_for("hidden", Duration::from_secs(10), |v| {
        v["event"] == "window_hidden"
    });
    support::desktop::wait_window_shown(&x, false);
    host.wait_menu(&item, "Show Banter");

    // A call rings the hidden window and is answered from its notification.
    let heard = server.dir.path().join("bob-heard.wav");
    let mut b = support::desktop::caller(
        &bob,
        banter_media::audio::source::SourceSpec::Silence,
        banter_media::audio::sink::SinkSpec::Wav(heard.clone()),
    )
    .await;
    let alice_jid = banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap();
    let mark = desk.mark();
    b.send(Cmd::Call {
        id: "one".into(),
        to: alice_jid.clone(),
        video: false,
    });
    window.wait_for("ringing", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "ringing"
    });
    host.wait_property(&item, "Status", "NeedsAttention");
    let id = desk.next_id(mark);
    desk.invoke(id, "accept");
    window.wait_for("active", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "active"
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.send(Cmd::Hangup { id: "one".into() });
    support::next_event(
        &mut b,
        "bob's call ended",
        Duration::from_secs(10),
        call_ended,
    )
    .await;
    window.wait_for("ended", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "ended"
    });
    let f = support::desktop::heard_tone(&heard).await;
    assert!((f - 880.0).abs() < 10.0, "bob heard {f} Hz");
    host.wait_property(&item, "Status", "Active");

    // Do not disturb, from the tray: the next call is busy and nothing is shown.
    host.click(&item, "Do not disturb");
    window.wait_for("dnd", Duration::from_secs(10), |v| {
        v["event"] == "status" && v["show"] == "dnd"
    });
    let checked: Vec<String> = host
        .menu(&item)
        .into_iter()
        .filter(|e| e.2 == 1)
        .map(|e| e.1)
        .collect();
    assert_eq!(checked, ["Do not disturb"]);
    let presence = other.read_until("<show>dnd</show>");
    assert!(presence.contains(&full), "{presence}");
    let mark = desk.mark();
    b.send(Cmd::Call {
        id: "two".into(),
        to: alice_jid.clone(),
        video: false,
    });
    let ev = support::next_event(&mut b, "busy", Duration::from_secs(15), call_ended).await;
    assert!(
        matches!(
            ev,
            Event::Call {
                reason: Some(EndReason::Jingle(Reason::Busy)),
                ..
            }
        ),
        "{ev:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !desk
            .text()
            .lines()
            .skip(mark)
            .any(|l| l.contains("member=Notify")),
        "a notification while not to be disturbed: {}",
        desk.text()
    );
    host.click(&item, "Available");
    window.wait_for("available", Duration::from_secs(10), |v| {
        v["event"] == "status" && v["show"] == "available"
    });

    // A click on the icon shows the window; the menu's Hide hides it. (A click
    // hides only a window in view and focused; with no window manager here, none
    // has the focus.)
    host.activate(&item);
    window.wait_for("shown", Duration::from_secs(10), |v| {
        v["event"] == "window_shown"
    });
    support::desktop::wait_window_shown(&x, true);
    host.click(&item, "Hide Banter");
    window.wait_for("hidden again", Duration::from_secs(10), |v| {
        v["event"] == "window_hidden"
    });
    support::desktop::wait_window_shown(&x, false);

    // `banter` again, for the same folder: the first shows its window, this one ends.
    let mut second = Command::new(env!("CARGO_BIN_EXE_banter"));
    second
        .arg("--config-dir")
        .arg(alice.device_dir("main"))
        .env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus.address);
    let (ok, _, err) = support::run(second, Duration::from_secs(20));
    assert!(ok, "{err}");
    assert!(err.contains("already running"), "{err}");
    window.wait_for("shown by the second", Duration::from_secs(10), |v| {
        v["event"] == "window_shown"
    });
    support::desktop::wait_window_shown(&x, true);

    // Quit from the tray while hidden: signed out cleanly, exit 0, the icon gone.
    host.click(&item, "Hide Banter");
    window.wait_for("hidden to quit", Duration::from_secs(10), |v| {
        v["event"] == "window_hidden"
    });
    host.click(&item, "Quit Banter");
    let (ok, seen) = window.finish(Duration::from_secs(20));
    assert!(ok, "{seen:?}");
    other.expect_unavailable(&full);
    assert!(!desk.bus.has_name(&item), "the tray item outlived Banter");
    b.shutdown().await;
}

/// `--hidden` (what the autostart entry runs) with no panel yet: the window shows;
/// a panel that comes within the wait (at login it may start after Banter) takes
/// the icon and the window goes into it; when the panel goes away the window comes
/// back (nothing else could show it); without a panel the close button quits. With
/// a panel from the start, `--hidden` starts in the tray, and a second `banter
/// --hidden` (autostart while running) leaves it there.
#[test]
fn started_hidden_it_waits_for_the_panel() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let mut window = support::desktop::ringable_window(&alice, &x, &desk, &["--hidden"]);
    support::desktop::wait_window_shown(&x, true);
    let hidden = |v: &serde_json::Value| v["event"] == "window_hidden";
    assert!(!window.seen.iter().any(hidden), "{:?}", window.seen);
    {
        let host = support::desktop::TrayHost::start(&desk.bus);
        host.item();
        window.wait_for("hidden once a panel came", Duration::from_secs(10), hidden);
        support::desktop::wait_window_shown(&x, false);
    }
    window.wait_for("shown as the panel went", Duration::from_secs(10), |v| {
        v["event"] == "window_shown"
    });
    support::desktop::wait_window_shown(&x, true);
    support::desktop::close_window(&x);
    let (ok, seen) = window.finish(Duration::from_secs(20));
    assert!(ok, "{seen:?}");

    let host = support::desktop::TrayHost::start(&desk.bus);
    let mut window = support::desktop::ringable_window(&alice, &x, &desk, &["--hidden"]);
    host.item();
    if !window.seen.iter().any(hidden) {
        window.wait_for("hidden at start", Duration::from_secs(10), hidden);
    }
    support::desktop::wait_window_shown(&x, false);
    let mut again = Command::new(env!("CARGO_BIN_EXE_banter"));
    again
        .arg("--hidden")
        .arg("--config-dir")
        .arg(alice.device_dir("main"))
        .env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus.address);
    let (ok, _, err) = support::run(again, Duration::from_secs(20));
    assert!(ok, "{err}");
    let shown = window.any_within(Duration::from_secs(1), |v| v["event"] == "window_shown");
    assert!(shown.is_none(), "{shown:?}");
    support::desktop::wait_window_shown(&x, false);
    window.signal(libc::SIGTERM);
    let (ok, seen) = window.finish(Duration::from_secs(20));
    assert!(ok, "{seen:?}");
}

/// Issue #22: the window speaks the system's language. Started under a German locale
/// (`LANG=de_DE.UTF-8`), the real binary's tray menu is German; the same window set
/// to English in its settings speaks English whatever the locale.
#[test]
fn the_system_language_is_spoken() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let x = Xvfb::start();
    let desk = support::desktop::Notifications::start(&x);
    let host = support::desktop::TrayHost::start(&desk.bus);
    let german = |alice: &support::User| {
        let mut cmd = alice.banter(&["--audio-in", "silence", "--audio-out", "null"]);
        cmd.env_remove("LC_ALL")
            .env("LANG", "de_DE.UTF-8")
            .env("DISPLAY", &x.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus.address);
        support::Proc::spawn(cmd)
    };
    let mut window = german(&alice);
    window.wait_for("connected", Duration::from_secs(30), |v| {
        v["event"] == "connected"
    });
    let item = host.item();
    host.wait_menu(&item, "Banter beenden");
    host.wait_menu(&item, "Nicht stören");
    window.signal(libc::SIGTERM);
    let (ok, seen) = window.finish(Duration::from_secs(20));
    assert!(ok, "{seen:?}");

    let settings = alice.device_dir("main").join("settings.json");
    std::fs::write(&settings, r#"{"language": "en"}"#).unwrap();
    let mut window = german(&alice);
    window.wait_for("connected again", Duration::from_secs(30), |v| {
        v["event"] == "connected"
    });
    host.wait_menu(&host.nth_item(2), "Quit Banter");
    window.signal(libc::SIGTERM);
    let (ok, seen) = window.finish(Duration::from_secs(20));
    assert!(ok, "{seen:?}");
}
