//! A desktop around a window under test: a private session bus with a real
//! notification daemon (dunst) and a `dbus-monitor` that records what crosses it, so a
//! test can see a notification, its id, and act on it as a click would.
#![allow(dead_code)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{SessionBus, Xvfb};

pub struct Notifications {
    pub bus: SessionBus,
    dunst: Child,
    monitor: Child,
    /// Every line `dbus-monitor` printed for the notification interface.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Notifications {
    /// dunst on a bus of its own, on `x`'s display, up and watched.
    pub fn start(x: &Xvfb) -> Notifications {
        let bus = SessionBus::start();
        let dunst = Command::new("dunst")
            .env("DISPLAY", &x.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst (scripts/install-deps.sh)");
        let start = Instant::now();
        while !bus.has_name("org.freedesktop.Notifications") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dunst did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut monitor = Command::new("dbus-monitor")
            .args(["--address", &bus.address])
            .arg("interface='org.freedesktop.Notifications'")
            // Method returns carry no interface: the one to Notify has the id.
            .arg("type='method_return'")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor");
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        {
            let seen = seen.clone();
            let out = monitor.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    seen.lock().unwrap().push(line);
                }
            });
        }
        Notifications {
            bus,
            dunst,
            monitor,
            seen,
        }
    }

    /// What crossed the bus so far, one line each.
    pub fn text(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }

    /// A mark for [`Self::next_id`]: lines seen so far.
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The id of the first notification shown after `mark` (the uint32 of the return
    /// to that Notify call), waited for up to 10 s.
    pub fn next_id(&self, mark: usize) -> u32 {
        // "sender=:1.6 -> … serial=2": who called, and the call's serial.
        let field = |line: &str, key: &str| -> Option<String> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(|v| v.trim_end_matches(';').to_string())
        };
        let t = Instant::now();
        loop {
            let lines = self.seen.lock().unwrap().clone();
            let call = lines
                .iter()
                .skip(mark)
                .find(|l| l.starts_with("method call") && l.contains("member=Notify"))
                .and_then(|l| Some((field(l, "sender=")?, field(l, "serial=")?)));
            if let Some((caller, serial)) = call {
                let back = lines.iter().enumerate().skip(mark).find(|(_, l)| {
                    l.starts_with("method return")
                        && field(l, "destination=").as_deref() == Some(caller.as_str())
                        && field(l, "reply_serial=").as_deref() == Some(serial.as_str())
                });
                if let Some((i, _)) = back {
                    if let Some(id) = lines
                        .get(i + 1)
                        .and_then(|v| v.trim().strip_prefix("uint32 "))
                    {
                        return id.trim().parse().unwrap();
                    }
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no notification: {lines:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The id of the first notification after `mark` whose summary or body has
    /// `text`, waited for up to 10 s.
    pub fn next_id_of(&self, mark: usize, text: &str) -> u32 {
        let t = Instant::now();
        loop {
            let lines = self.seen.lock().unwrap().clone();
            // The Notify call's arguments follow it, one per line.
            let at = lines.iter().enumerate().skip(mark).find(|(i, l)| {
                l.starts_with("method call")
                    && l.contains("member=Notify")
                    && lines.iter().skip(i + 1).take(6).any(|a| a.contains(text))
            });
            if let Some((i, _)) = at {
                return self.next_id(i);
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no notification with {text:?}: {lines:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Invokes `action` of notification `id`, as the daemon does when it is clicked
    /// (the `ActionInvoked` signal).
    pub fn invoke(&self, id: u32, action: &str) {
        let ok = Command::new("dbus-send")
            .arg(format!("--bus={}", self.bus.address))
            .arg("--type=signal")
            .args([
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications.ActionInvoked",
            ])
            .arg(format!("uint32:{id}"))
            .arg(format!("string:{action}"))
            .status()
            .expect("dbus-send")
            .success();
        assert!(ok, "dbus-send");
    }

    /// Waits until `needle` has crossed the bus (up to 10 s); whether it did.
    pub fn wait_for(&self, needle: &str) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
        let _ = self.dunst.kill();
        let _ = self.dunst.wait();
    }
}

/// Alice's real window on `x`, its notifications going to `desk`; anyone may ring
/// her (a setting of the window, so no subscription is needed). Returned signed in
/// and caught up. `args`: its audio options.
pub fn ringable_window(
    alice: &super::User,
    x: &Xvfb,
    desk: &Notifications,
    args: &[&str],
) -> super::Proc {
    std::fs::create_dir_all(alice.device_dir("main")).unwrap();
    std::fs::write(
        alice.device_dir("main").join("settings.json"),
        r#"{"calls_from_anyone": true}"#,
    )
    .unwrap();
    let mut cmd = alice.banter(args);
    cmd.env("DISPLAY", &x.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus.address);
    let mut window = super::Proc::spawn(cmd);
    window.wait_for("caught up", Duration::from_secs(30), |v| {
        v["event"] == "caught_up"
    });
    window
}

/// Bob as the library, online, with call media on loopback; anyone may ring him.
pub async fn caller(
    bob: &super::User,
    source: banter_media::audio::source::SourceSpec,
    sink: banter_media::audio::sink::SinkSpec,
) -> banter::client::ClientHandle {
    let mut cfg = bob.config("pc");
    let mut media = banter_media::MediaConfig::new(source, sink);
    media.allow = vec![banter_media::Cidr::parse("127.0.0.0/8").unwrap()];
    cfg.media = Some(media);
    cfg.call_policy.anyone = true;
    let mut b = banter::client::start(cfg).await.expect("bob online");
    super::next_event(&mut b, "bob connected", Duration::from_secs(10), |e| {
        matches!(e, banter::client::Event::Connected { .. })
    })
    .await;
    b
}
