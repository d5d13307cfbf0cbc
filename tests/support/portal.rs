//! A Wayland desktop's screen sharing, for the tests: a real PipeWire with its session
//! manager (WirePlumber) on a private runtime directory and D-Bus, a real producer
//! (GStreamer's `ximagesrc ! pipewiresink`, standing in for the compositor: it puts the
//! Xvfb screen on a PipeWire node), and a stand-in for xdg-desktop-portal's ScreenCast
//! interface on that bus that grants the node (or cancels, as a person closing the
//! dialog would). Banter talks to them exactly as on a Wayland desktop.

#![allow(dead_code)] // each test or bench uses part of it

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::support::{SessionBus, Xvfb};

/// The name the producer's node has in PipeWire.
const NODE_NAME: &str = "banter-test-screen";

/// PipeWire, WirePlumber and a producer of the Xvfb screen, on a private bus.
pub struct PipewireDesktop {
    pub bus: SessionBus,
    children: Vec<Child>,
    /// The producer's node.
    pub node: u32,
    state: tempfile::TempDir,
}

impl PipewireDesktop {
    pub fn start(x: &Xvfb) -> PipewireDesktop {
        let bus = SessionBus::start();
        let state = tempfile::tempdir().unwrap();
        let mut me = PipewireDesktop {
            bus,
            children: Vec::new(),
            node: 0,
            state,
        };
        me.spawn(Command::new("pipewire"));
        me.wait(|| me.socket().exists(), "PipeWire's socket");
        me.spawn(Command::new("wireplumber"));
        let mut producer = Command::new("gst-launch-1.0");
        producer.args([
            "ximagesrc",
            &format!("display-name={}", x.display),
            "use-damage=false",
            "!",
            "video/x-raw,framerate=15/1",
            "!",
            "videoconvert",
            "!",
            "video/x-raw,format=BGRx",
            "!",
            "pipewiresink",
            "mode=provide",
            &format!("stream-properties=props,node.name={NODE_NAME}"),
        ]);
        me.spawn(producer);
        let deadline = Instant::now() + Duration::from_secs(30);
        me.node = loop {
            if let Some(id) = me.node_id(NODE_NAME) {
                break id;
            }
            assert!(
                Instant::now() < deadline,
                "the producer's PipeWire node never appeared"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        me
    }

    /// The environment of a program on this desktop (Banter): its bus and runtime
    /// directory, and a Wayland session.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env("XDG_RUNTIME_DIR", self.bus.dir.path())
            .env("WAYLAND_DISPLAY", "wayland-banter-test")
            .env_remove("DISPLAY");
    }

    fn socket(&self) -> PathBuf {
        self.bus.dir.path().join("pipewire-0")
    }

    fn spawn(&mut self, mut cmd: Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env("XDG_RUNTIME_DIR", self.bus.dir.path())
            .env("XDG_STATE_HOME", self.state.path())
            .env("XDG_CONFIG_HOME", self.state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.children.push(
            cmd.spawn()
                .expect("PipeWire and GStreamer (scripts/install-deps.sh)"),
        );
    }

    fn wait(&self, ready: impl Fn() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready() {
            assert!(Instant::now() < deadline, "{what} never appeared");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The id of the node called `name`, from `pw-dump`.
    pub fn node_id(&self, name: &str) -> Option<u32> {
        let out = Command::new("pw-dump")
            .env("XDG_RUNTIME_DIR", self.bus.dir.path())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let all: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        all.as_array()?
            .iter()
            .find(|o| o["info"]["props"]["node.name"] == name)
            .and_then(|o| o["id"].as_u64())
            .map(|id| id as u32)
    }
}

impl Drop for PipewireDesktop {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How the stand-in portal answers the dialog.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    /// The person picks the screen: the desktop's node.
    Grant,
    /// The person closes the dialog.
    Cancel,
    /// The dialog stays open (nobody answers it).
    Never,
}

/// What the stand-in portal was asked, in order.
#[derive(Debug, Default, Clone)]
pub struct Asked {
    /// Method names, in order ("CreateSession", "SelectSources", "Start",
    /// "OpenPipeWireRemote", "Close").
    pub calls: Vec<String>,
    /// SelectSources' `types` and `cursor_mode`.
    pub types: Option<u32>,
    pub cursor_mode: Option<u32>,
}

/// The stand-in portal, serving on the desktop's bus from a thread of its own.
pub struct Portal {
    pub asked: Arc<Mutex<Asked>>,
    conn: zbus::Connection,
    rt: tokio::runtime::Runtime,
    sessions: Arc<Mutex<Vec<String>>>,
}

impl Portal {
    pub fn start(desktop: &PipewireDesktop, answer: Answer) -> Portal {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let asked = Arc::new(Mutex::new(Asked::default()));
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let cast = ScreenCast {
            asked: asked.clone(),
            answer,
            node: desktop.node,
            pipewire: desktop.socket(),
            sessions: sessions.clone(),
        };
        let address = desktop.bus.address.clone();
        let conn = rt.block_on(async move {
            zbus::connection::Builder::address(address.as_str())
                .unwrap()
                .serve_at("/org/freedesktop/portal/desktop", cast)
                .unwrap()
                .name("org.freedesktop.portal.Desktop")
                .unwrap()
                .build()
                .await
                .expect("the stand-in portal on the private bus")
        });
        Portal {
            asked,
            conn,
            rt,
            sessions,
        }
    }

    pub fn asked(&self) -> Asked {
        self.asked.lock().unwrap().clone()
    }

    /// Waits until the portal has been asked `call` (`false` after `within`).
    pub fn wait_asked(&self, call: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.asked().calls.iter().any(|c| c == call) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Ends every session, as the desktop's own "Stop sharing" does.
    pub fn close_sessions(&self) {
        let sessions = self.sessions.lock().unwrap().clone();
        for path in sessions {
            let conn = self.conn.clone();
            self.rt.block_on(async move {
                let none: HashMap<&str, Value<'_>> = HashMap::new();
                conn.emit_signal(
                    None::<&str>,
                    path.as_str(),
                    "org.freedesktop.portal.Session",
                    "Closed",
                    &(none,),
                )
                .await
                .unwrap();
            });
        }
    }
}

/// org.freedesktop.portal.ScreenCast, answering as the real portal does: each request
/// answered by a Response signal on its Request object, the session handle a string.
struct ScreenCast {
    asked: Arc<Mutex<Asked>>,
    answer: Answer,
    node: u32,
    pipewire: PathBuf,
    sessions: Arc<Mutex<Vec<String>>>,
}

/// The part of an object path a portal makes of the caller's unique name.
fn caller(hdr: &Header<'_>) -> String {
    hdr.sender()
        .map(|s| s.trim_start_matches(':').replace('.', "_"))
        .unwrap_or_default()
}

fn token(options: &HashMap<String, OwnedValue>, key: &str) -> String {
    options
        .get(key)
        .and_then(|v| v.downcast_ref::<String>().ok())
        .unwrap_or_else(|| "t".into())
}

/// Answers request `token` of `hdr`'s sender, a moment after the call returns.
fn respond(
    conn: &zbus::Connection,
    hdr: &Header<'_>,
    token: &str,
    code: u32,
    results: HashMap<&'static str, OwnedValue>,
) -> OwnedObjectPath {
    let path = format!(
        "/org/freedesktop/portal/desktop/request/{}/{token}",
        caller(hdr)
    );
    let sender = hdr.sender().map(|s| s.to_string()).unwrap_or_default();
    let conn = conn.clone();
    let signal_path = path.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = conn
            .emit_signal(
                Some(sender.as_str()),
                signal_path.as_str(),
                "org.freedesktop.portal.Request",
                "Response",
                &(code, results),
            )
            .await;
    });
    OwnedObjectPath::try_from(path).unwrap()
}

#[zbus::interface(name = "org.freedesktop.portal.ScreenCast")]
impl ScreenCast {
    #[zbus(property)]
    fn available_source_types(&self) -> u32 {
        1 | 2
    }

    #[zbus(property)]
    fn available_cursor_modes(&self) -> u32 {
        1 | 2
    }

    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        4
    }

    async fn create_session(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        options: HashMap<String, OwnedValue>,
    ) -> OwnedObjectPath {
        self.asked
            .lock()
            .unwrap()
            .calls
            .push("CreateSession".into());
        let session = format!(
            "/org/freedesktop/portal/desktop/session/{}/{}",
            caller(&hdr),
            token(&options, "session_handle_token")
        );
        let _ = server
            .at(
                session.as_str(),
                PortalSession {
                    asked: self.asked.clone(),
                },
            )
            .await;
        self.sessions.lock().unwrap().push(session.clone());
        // A string, as xdg-desktop-portal sends it (not an object path).
        let results = HashMap::from([(
            "session_handle",
            OwnedValue::try_from(Value::from(session)).unwrap(),
        )]);
        respond(conn, &hdr, &token(&options, "handle_token"), 0, results)
    }

    async fn select_sources(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        _session: OwnedObjectPath,
        options: HashMap<String, OwnedValue>,
    ) -> OwnedObjectPath {
        {
            let mut a = self.asked.lock().unwrap();
            a.calls.push("SelectSources".into());
            a.types = options
                .get("types")
                .and_then(|v| v.downcast_ref::<u32>().ok());
            a.cursor_mode = options
                .get("cursor_mode")
                .and_then(|v| v.downcast_ref::<u32>().ok());
        }
        respond(
            conn,
            &hdr,
            &token(&options, "handle_token"),
            0,
            HashMap::new(),
        )
    }

    async fn start(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        _session: OwnedObjectPath,
        _parent_window: String,
        options: HashMap<String, OwnedValue>,
    ) -> OwnedObjectPath {
        self.asked.lock().unwrap().calls.push("Start".into());
        let handle = token(&options, "handle_token");
        match self.answer {
            Answer::Cancel => return respond(conn, &hdr, &handle, 1, HashMap::new()),
            Answer::Never => {
                let path = format!(
                    "/org/freedesktop/portal/desktop/request/{}/{handle}",
                    caller(&hdr)
                );
                return OwnedObjectPath::try_from(path).unwrap();
            }
            Answer::Grant => {}
        }
        let props: HashMap<&str, Value<'_>> = HashMap::from([
            ("size", Value::from((1280i32, 720i32))),
            ("source_type", Value::from(1u32)),
        ]);
        let streams = vec![(self.node, props)];
        let results = HashMap::from([(
            "streams",
            OwnedValue::try_from(Value::from(streams)).unwrap(),
        )]);
        respond(conn, &hdr, &handle, 0, results)
    }

    async fn open_pipe_wire_remote(
        &self,
        _session: OwnedObjectPath,
        _options: HashMap<String, OwnedValue>,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        self.asked
            .lock()
            .unwrap()
            .calls
            .push("OpenPipeWireRemote".into());
        let socket = UnixStream::connect(&self.pipewire)
            .map_err(|e| zbus::fdo::Error::Failed(format!("PipeWire: {e}")))?;
        Ok(std::os::fd::OwnedFd::from(socket).into())
    }
}

/// A session object (org.freedesktop.portal.Session), which records being closed.
struct PortalSession {
    asked: Arc<Mutex<Asked>>,
}

#[zbus::interface(name = "org.freedesktop.portal.Session")]
impl PortalSession {
    fn close(&self) {
        self.asked.lock().unwrap().calls.push("Close".into());
    }
}
