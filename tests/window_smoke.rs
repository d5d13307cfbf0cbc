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
    std::thread::sleep(Duration::from_millis(1500));

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("window-main.png");
    let status = Command::new("import")
        .args(["-display", x.display.as_str(), "-window", "root"])
        .arg(&shot)
        .status()
        .expect("import (imagemagick)");
    assert!(status.success());
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(size > 5_000, "screenshot of {size} bytes looks empty");
}
