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
