//! The real binary's window under Xvfb against the test Prosody: it signs in, shows
//! the contact list, and a screenshot is saved to artifacts/window-main.png (CI keeps
//! it; look at it).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Proc, Prosody};

struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        let n = (90..200)
            .find(|n| !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .expect("a free X display");
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1024x700x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/install-deps.sh installs it)");
        let start = Instant::now();
        while !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Xvfb did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Xvfb { child, display }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
