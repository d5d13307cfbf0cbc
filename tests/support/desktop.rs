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
        // dunst's context menu runs "dmenu" with one line per action,
        // "#Label (summary) [id,key]"; this one picks the line `invoke` asked for.
        let pick = bus.dir.path().join("pick.sh");
        let want = bus.dir.path().join("want");
        std::fs::write(
            &pick,
            format!(
                "#!/bin/sh\ngrep -F \"$(cat '{}')\" | head -n 1\n",
                want.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&pick, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let config = bus.dir.path().join("dunstrc");
        std::fs::write(
            &config,
            format!("[global]\n    dmenu = {}\n", pick.display()),
        )
        .unwrap();
        let dunst = Command::new("dunst")
            .arg("-config")
            .arg(&config)
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

    /// Invokes `action` of notification `id` as a user would: dunst's context menu
    /// (`dunstctl context`), whose pick makes dunst send `ActionInvoked` itself.
    pub fn invoke(&self, id: u32, action: &str) {
        std::fs::write(self.bus.dir.path().join("want"), format!("[{id},{action}]")).unwrap();
        let ok = Command::new("dunstctl")
            .arg("context")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .status()
            .expect("dunstctl")
            .success();
        assert!(ok, "dunstctl context");
    }

    /// Sends `ActionInvoked` for notification `id` from another program than the
    /// notification server (dbus-send): what Banter must ignore.
    pub fn spoof(&self, id: u32, action: &str) {
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

/// A dbusmenu entry: its id, properties and children (each in a variant).
type Layout = (
    i32,
    dbus::arg::PropMap,
    Vec<dbus::arg::Variant<Box<dyn dbus::arg::RefArg>>>,
);

/// A panel's StatusNotifierWatcher, as KDE or GNOME's AppIndicator extension runs
/// it: it owns `org.kde.StatusNotifierWatcher` on `bus` and records each item that
/// registers. A test then talks to the item as the panel would (click, menu).
pub struct TrayHost {
    address: String,
    items: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn bus_connection(address: &str) -> dbus::blocking::Connection {
    let mut channel = dbus::channel::Channel::open_private(address).expect("the test bus");
    channel.register().expect("hello on the test bus");
    dbus::blocking::Connection::from(channel)
}

impl TrayHost {
    pub fn start(bus: &SessionBus) -> TrayHost {
        use dbus::channel::{MatchingReceiver, Sender};
        use dbus::message::MatchRule;
        let items = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let thread = {
            let (address, items, stop) = (bus.address.clone(), items.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = bus_connection(&address);
                conn.request_name("org.kde.StatusNotifierWatcher", false, true, true)
                    .expect("the watcher's name");
                conn.start_receive(
                    MatchRule::new_method_call(),
                    Box::new(move |msg, conn| {
                        let member = msg.member().map(|m| m.to_string()).unwrap_or_default();
                        let reply = match member.as_str() {
                            "RegisterStatusNotifierItem" => {
                                let service: String = msg.read1().unwrap_or_default();
                                // A path names the caller's own connection.
                                let service = if service.starts_with('/') {
                                    msg.sender().map(|s| s.to_string()).unwrap_or_default()
                                } else {
                                    service
                                };
                                items.lock().unwrap().push(service);
                                msg.method_return()
                            }
                            "RegisterStatusNotifierHost" => msg.method_return(),
                            "Get" => {
                                let (_, prop): (String, String) = msg.read2().unwrap_or_default();
                                let r = msg.method_return();
                                match prop.as_str() {
                                    "ProtocolVersion" => r.append1(dbus::arg::Variant(0i32)),
                                    _ => r.append1(dbus::arg::Variant(true)),
                                }
                            }
                            _ => dbus::Message::error(
                                &msg,
                                &"org.freedesktop.DBus.Error.UnknownMethod".into(),
                                &std::ffi::CString::new("unknown").unwrap(),
                            ),
                        };
                        let _ = conn.send(reply);
                        true
                    }),
                );
                let _ = ready_tx.send(());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = conn.process(Duration::from_millis(100));
                }
            })
        };
        ready
            .recv_timeout(Duration::from_secs(10))
            .expect("the tray host up");
        TrayHost {
            address: bus.address.clone(),
            items,
            stop,
            thread: Some(thread),
        }
    }

    /// The bus name of the first item registered, waited for up to 10 s.
    pub fn item(&self) -> String {
        let t = Instant::now();
        loop {
            if let Some(i) = self.items.lock().unwrap().first() {
                return i.clone();
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no tray item registered"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The bus name of the `n`th item registered (1 is the first), waited for up to
    /// 10 s.
    pub fn nth_item(&self, n: usize) -> String {
        let t = Instant::now();
        loop {
            if let Some(i) = self.items.lock().unwrap().get(n - 1) {
                return i.clone();
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no item number {n}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn proxy<'a>(
        &self,
        conn: &'a dbus::blocking::Connection,
        item: &'a str,
        path: &'a str,
    ) -> dbus::blocking::Proxy<'a, &'a dbus::blocking::Connection> {
        conn.with_proxy(item, path, Duration::from_secs(5))
    }

    /// A property of the item (Title, Status, Menu …) as text.
    pub fn property(&self, item: &str, name: &str) -> String {
        use dbus::arg::RefArg;
        let conn = bus_connection(&self.address);
        let (v,): (dbus::arg::Variant<Box<dyn RefArg>>,) = self
            .proxy(&conn, item, "/StatusNotifierItem")
            .method_call(
                "org.freedesktop.DBus.Properties",
                "Get",
                ("org.kde.StatusNotifierItem", name),
            )
            .expect("the item's property");
        v.0.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:?}", v.0))
    }

    /// Waits up to 10 s for property `name` of the item to read `value` (the window
    /// updates its item from a task of its own).
    pub fn wait_property(&self, item: &str, name: &str, value: &str) {
        let t = Instant::now();
        loop {
            let now = self.property(item, name);
            if now == value {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{name} stayed {now:?}, not {value:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to 10 s for the item's menu to have an entry labelled `label`.
    pub fn wait_menu(&self, item: &str, label: &str) {
        let t = Instant::now();
        while !self.menu(item).iter().any(|e| e.1 == label) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no {label:?} in {:?}",
                self.menu(item)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A left click on the icon.
    pub fn activate(&self, item: &str) {
        let conn = bus_connection(&self.address);
        let () = self
            .proxy(&conn, item, "/StatusNotifierItem")
            .method_call("org.kde.StatusNotifierItem", "Activate", (0i32, 0i32))
            .expect("Activate");
    }

    /// The item's menu (com.canonical.dbusmenu): each entry's id, label and toggle
    /// state (1 for a checked radio item), in order; separators have no label.
    pub fn menu(&self, item: &str) -> Vec<(i32, String, i64)> {
        use dbus::arg::RefArg;
        let conn = bus_connection(&self.address);
        let path = self.property(item, "Menu");
        let path = if path.starts_with('/') {
            path
        } else {
            "/MenuBar".to_string()
        };
        let (_rev, (_, _, children)): (u32, Layout) = self
            .proxy(&conn, item, &path)
            .method_call(
                "com.canonical.dbusmenu",
                "GetLayout",
                (0i32, -1i32, Vec::<String>::new()),
            )
            .expect("GetLayout");
        fn walk(node: &dyn RefArg, out: &mut Vec<(i32, String, i64)>) {
            let mut parts = node.as_iter().expect("a menu entry");
            let id = parts.next().and_then(|a| a.as_i64()).unwrap_or(-1) as i32;
            let (mut label, mut toggled) = (String::new(), 0);
            if let Some(props) = parts.next() {
                let mut kv = props.as_iter().expect("properties");
                while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                    match k.as_str() {
                        Some("label") => label = v.as_str().unwrap_or_default().to_string(),
                        Some("toggle-state") => toggled = v.as_i64().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            out.push((id, label, toggled));
            if let Some(children) = parts.next() {
                for child in children.as_iter().expect("children") {
                    // Each child is a variant holding the entry.
                    for inner in child.as_iter().expect("a variant") {
                        walk(inner, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for child in &children {
            walk(&*child.0, &mut out);
        }
        out
    }

    /// Clicks the menu entry labelled `label`, once the menu has it (the window
    /// updates its menu from a task of its own: it may be a moment behind).
    pub fn click(&self, item: &str, label: &str) {
        self.wait_menu(item, label);
        let menu = self.menu(item);
        let id = menu
            .iter()
            .find(|(_, l, _)| l == label)
            .unwrap_or_else(|| panic!("no {label:?} in {menu:?}"))
            .0;
        let conn = bus_connection(&self.address);
        let path = self.property(item, "Menu");
        let () = self
            .proxy(&conn, item, &path)
            .method_call(
                "com.canonical.dbusmenu",
                "Event",
                (id, "clicked", dbus::arg::Variant(0i32), 0u32),
            )
            .expect("Event");
    }
}

impl Drop for TrayHost {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The X window titled "Banter" on `x`: its id and whether it is mapped (shown).
pub fn banter_window(x: &Xvfb) -> Option<(u32, bool)> {
    let out = Command::new("xwininfo")
        .args(["-name", "Banter", "-display", &x.display])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .split_whitespace()
        .skip_while(|w| *w != "id:")
        .nth(1)
        .and_then(|h| u32::from_str_radix(h.trim_start_matches("0x"), 16).ok())?;
    Some((id, text.contains("Map State: IsViewable")))
}

/// Waits up to 10 s for the Banter window to be shown (`true`) or hidden.
pub fn wait_window_shown(x: &Xvfb, shown: bool) {
    let t = Instant::now();
    loop {
        if banter_window(x).is_some_and(|(_, s)| s == shown) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the window was not {}: {:?}",
            if shown { "shown" } else { "hidden" },
            banter_window(x)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a window manager sends when the user clicks the window's close button:
/// WM_DELETE_WINDOW in a WM_PROTOCOLS client message.
///
/// On a desktop more X events follow a click (the pointer moves, focus changes);
/// here none would. winit at times left a close it had received unhandled until the
/// next X event came (no CloseRequested, its loop idle in epoll: gdb; about 1 in 3
/// parallel runs of tray_e2e): two harmless messages of a type winit ignores follow,
/// 1 and 2 s later, as the next events on a desktop would.
pub fn close_window(x: &Xvfb) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
    let (id, _) = banter_window(x).expect("the Banter window");
    let (conn, _) = x11rb::connect(Some(&x.display)).expect("the X display");
    let atom = |name: &[u8]| conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let nudge = atom(b"BANTER_TEST_NUDGE");
    let event = ClientMessageEvent::new(32, id, protocols, [delete, 0, 0, 0, 0]);
    conn.send_event(false, id, EventMask::NO_EVENT, event)
        .expect("send_event");
    conn.flush().unwrap();
    std::thread::spawn(move || {
        for _ in 0..2 {
            std::thread::sleep(Duration::from_secs(1));
            let event = ClientMessageEvent::new(32, id, nudge, [0, 0, 0, 0, 0]);
            let _ = conn.send_event(false, id, EventMask::NO_EVENT, event);
            let _ = conn.flush();
        }
    });
}

/// CPU time of process `pid` so far, in ticks of 10 ms (utime + stime).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The dominant frequency of the last half second of a call's recording at 48 kHz,
/// once it holds more than a second (it is complete once the call's media stopped;
/// waited for up to 10 s).
pub async fn heard_tone(path: &std::path::Path) -> f32 {
    let t = Instant::now();
    let mut pcm = Vec::new();
    while pcm.len() <= 48_000 && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        pcm = std::panic::catch_unwind(|| super::read_wav(path)).unwrap_or_default();
    }
    assert!(pcm.len() > 48_000, "bob heard {} samples", pcm.len());
    let tail = &pcm[pcm.len() - 24_000..];
    banter_media::audio::analysis::dominant_frequency(tail, 48_000)
}

/// Bob (`caller`) calls Alice's window; she accepts from its notification; returns
/// once her window says the call `id` is active.
pub fn call_answered_from_notification(
    desk: &Notifications,
    window: &mut super::Proc,
    caller: &banter::client::ClientHandle,
    alice: &super::User,
    id: &str,
) {
    let mark = desk.mark();
    caller.send(banter::client::Command::Call {
        id: id.into(),
        to: banter::xmpp_parsers::jid::Jid::new(&alice.jid).unwrap(),
        video: false,
    });
    let notification = desk.next_id(mark);
    desk.invoke(notification, "accept");
    window.wait_for("active", Duration::from_secs(30), |v| {
        v["event"] == "call" && v["state"] == "active"
    });
}
