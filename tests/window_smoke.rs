//! The real binary's window under Xvfb against the test Prosody: it signs in, shows
//! the contact list, and a screenshot is saved to artifacts/window-main.png (CI keeps
//! it; look at it).

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Proc, Prosody, Xvfb};

#[test]
fn window_signs_in_and_shows_contacts() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let (ok, _, err) = support::run(
        alice.banter(&["contact", "add", bob.jid.as_str(), "--name", "Bob"]),
        Duration::from_secs(30),
    );
    assert!(ok, "{err}");

    let x = Xvfb::start();
    let mut cmd = alice.banter(&["--audio-in", "silence", "--audio-out", "null"]);
    cmd.env("DISPLAY", &x.display);
    let mut window = Proc::spawn(cmd);
    window.wait_for("signed in", Duration::from_secs(30), |v| {
        v["event"] == "window"
    });
    window.wait_for("roster", Duration::from_secs(30), |v| {
        v["event"] == "roster"
    });
    screenshot(&x, "window-main.png");
}

/// An incoming call rings in the real window: a desktop notification (to a real dunst
/// on a private bus), a ringtone (recorded: `--audio-out` is a file here), both stopped
/// when the caller gives up.
#[tokio::test(flavor = "multi_thread")]
async fn incoming_call_rings_and_notifies_until_the_caller_gives_up() {
    use banter::client::{self, Command as Cmd, Event};
    use std::io::BufRead;
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};

    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    // Alice lets anyone ring her (a setting of the window), so no subscription needed.
    std::fs::create_dir_all(alice.device_dir("main")).unwrap();
    std::fs::write(
        alice.device_dir("main").join("settings.json"),
        r#"{"calls_from_anyone": true}"#,
    )
    .unwrap();

    let x = Xvfb::start();
    let bus = support::SessionBus::start();
    let mut dunst = std::process::Command::new("dunst")
        .env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dunst (scripts/install-deps.sh)");
    let start = std::time::Instant::now();
    while !bus.has_name("org.freedesktop.Notifications") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dunst did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut monitor = std::process::Command::new("dbus-monitor")
        .args(["--address", &bus.address])
        .arg("interface='org.freedesktop.Notifications'")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-monitor");
    let seen = Arc::new(Mutex::new(String::new()));
    {
        let seen = seen.clone();
        let out = monitor.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                seen.lock().unwrap().push_str(&line);
                seen.lock().unwrap().push('\n');
            }
        });
    }

    let ring = server.dir.path().join("ring.wav");
    let ring_arg = ring.display().to_string();
    let mut cmd = alice.banter(&["--audio-in", "silence", "--audio-out", &ring_arg]);
    cmd.env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let mut window = Proc::spawn(cmd);
    window.wait_for("caught up", Duration::from_secs(30), |v| {
        v["event"] == "caught_up"
    });

    let mut cfg = bob.config("pc");
    let mut media = banter_media::MediaConfig::new(
        banter_media::audio::source::SourceSpec::Silence,
        banter_media::audio::sink::SinkSpec::Null,
    );
    media.allow = vec![banter_media::Cidr::parse("127.0.0.0/8").unwrap()];
    cfg.media = Some(media);
    let mut b = client::start(cfg).await.expect("bob online");
    support::next_event(&mut b, "bob connected", Duration::from_secs(10), |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    b.send(Cmd::Call {
        id: "ring-me".into(),
        to: banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap(),
        video: false,
    });
    window.wait_for("ringing", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "ringing"
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.send(Cmd::Hangup {
        id: "ring-me".into(),
    });
    window.wait_for("ended", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "ended"
    });
    support::next_event(
        &mut b,
        "bob's call ended",
        Duration::from_secs(10),
        |e| matches!(e, Event::Call { state, .. } if *state == banter::client::CallStatus::Ended),
    )
    .await;
    // The notification is withdrawn on the bus: waited for, not assumed after a pause.
    let withdrawn = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.lock().unwrap().contains("member=CloseNotification")
        && tokio::time::Instant::now() < withdrawn
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = seen.lock().unwrap().clone();
    assert!(text.contains("member=Notify"), "{text}");
    assert!(
        text.contains("Bob is calling") || text.contains("bob@example.test is calling"),
        "{text}"
    );
    assert!(text.contains("member=CloseNotification"), "{text}");
    drop(window);
    let _ = monitor.kill();
    let _ = monitor.wait();
    let _ = dunst.kill();
    let _ = dunst.wait();
    b.shutdown().await;

    let pcm = support::read_wav(&ring);
    let secs = pcm.len() as f32 / 48_000.0;
    assert!((1.5..4.0).contains(&secs), "rang for {secs} s");
    let f = banter_media::audio::analysis::dominant_frequency(&pcm[..11_520], 48_000);
    assert!((f - 660.0).abs() < 5.0, "{f} Hz");
}

/// "Create an account" from the window (`--create-account`, the first screen's path
/// without the clicks): on Prosody and on ejabberd the account is created and signed
/// in; the same name again is refused in words.
#[test]
fn window_creates_an_account_then_signs_in() {
    let x = Xvfb::start();
    let prosody = Prosody::start_with_registration();
    let ejabberd = support::ejabberd::Ejabberd::start();
    for newbie in [
        prosody.unregistered_user("newbie"),
        ejabberd.unregistered_user("newbie"),
    ] {
        for attempt in ["first", "again"] {
            let mut cmd = newbie.banter_on(
                attempt,
                &[
                    "--create-account",
                    "--audio-in",
                    "silence",
                    "--audio-out",
                    "null",
                ],
            );
            cmd.env("DISPLAY", &x.display);
            let mut window = Proc::spawn(cmd);
            let ev = window.wait_for("an answer", Duration::from_secs(30), |v| {
                v["event"] == "window" || v["event"] == "login_failed"
            });
            if attempt == "first" {
                assert_eq!(ev["account"], newbie.jid.as_str(), "{ev}");
            } else {
                let m = ev["message"].as_str().unwrap_or_default();
                assert!(m.contains("not created") && m.contains("taken"), "{ev}");
            }
        }
    }
}

/// Issue #20: SIGTERM closes the window like its close button: the account goes
/// offline cleanly (its other devices see it unavailable at once; a dropped session
/// would linger on the server for a minute) and the process ends with success.
#[test]
fn sigterm_closes_the_window_and_its_session_cleanly() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let mut other = support::raw::RawClient::login(&alice, "other");
    other.send("<presence/>");
    let x = Xvfb::start();
    let mut cmd = alice.banter(&["--audio-in", "silence", "--audio-out", "null"]);
    cmd.env("DISPLAY", &x.display);
    let mut window = Proc::spawn(cmd);
    let connected = window.wait_for("connected", Duration::from_secs(30), |v| {
        v["event"] == "connected"
    });
    let full = connected["jid"].as_str().unwrap().to_string();
    other.read_until(&format!("from='{full}'"));
    window.signal(libc::SIGTERM);
    let (ok, _) = window.finish(Duration::from_secs(20));
    assert!(ok, "the window ends with success on SIGTERM");
    other.expect_unavailable(&full);
}

/// Saves the X screen to artifacts/NAME (CI keeps the folder).
/// Saves the screen once the window has drawn it: grabs it until two grabs in a row,
/// a quarter second apart, are the same picture and not a blank screen (the window
/// repaints on change only, so a drawn window stands still; a fixed pause would
/// waste time or catch it half drawn).
fn screenshot(x: &Xvfb, name: &str) {
    let grab = || {
        let out = Command::new("import")
            .args([
                "-display",
                x.display.as_str(),
                "-window",
                "root",
                "-depth",
                "8",
            ])
            .arg("gray:-")
            .output()
            .expect("import (imagemagick)");
        assert!(out.status.success(), "import failed");
        out.stdout
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut last = grab();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = grab();
        let blank = now.iter().all(|p| Some(p) == now.first());
        if now == last && !blank {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the window did not settle on a drawn picture (blank: {blank})"
        );
        last = now;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(name);
    let status = Command::new("import")
        .args(["-display", x.display.as_str(), "-window", "root"])
        .arg(&shot)
        .status()
        .expect("import (imagemagick)");
    assert!(status.success());
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(size > 5_000, "screenshot of {size} bytes looks empty");
}

/// "Try it locally" from the command line (as the first-run button): the window signs
/// in to a private server it started, and the echo contact is there and online.
#[test]
fn try_it_locally_signs_in_with_an_echo_contact() {
    let dir = tempfile::tempdir().unwrap();
    let x = Xvfb::start();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_banter"));
    cmd.args([
        "--try-locally",
        "--json",
        "--audio-in",
        "silence",
        "--audio-out",
        "null",
    ])
    .arg("--config-dir")
    .arg(dir.path())
    .env("DISPLAY", &x.display);
    let mut window = Proc::spawn(cmd);
    let ev = window.wait_for("signed in", Duration::from_secs(30), |v| {
        v["event"] == "window"
    });
    assert_eq!(ev["account"], "me@localhost");
    window.wait_for("echo online", Duration::from_secs(30), |v| {
        v["event"] == "presence"
            && v["from"]
                .as_str()
                .is_some_and(|f| f.starts_with("echo@localhost"))
            && v["show"] == "available"
    });
    screenshot(&x, "window-try-locally.png");
    drop(window);
}
