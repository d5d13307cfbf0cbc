//! Test support: a private Prosody (the Debian package) started as a child process,
//! with its own config, self-signed certificate, users and data in a temp dir, on free
//! 127.0.0.1 ports; stopped when dropped (also when a test panics).
#![allow(dead_code)]

pub mod account;
pub mod calls;
pub mod chat;
pub mod desktop;
pub mod ejabberd;
pub mod netns;
pub mod raw;
pub mod rooms;
pub mod sasl2;
pub mod screen;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const DOMAIN: &str = "example.test";
/// The test server's group chat service (`Prosody::start_with_muc`).
#[allow(dead_code)]
pub const MUC: &str = "rooms.example.test";
/// The file upload service (XEP-0363) of a server started with uploads.
#[allow(dead_code)]
pub const UPLOAD: &str = "upload.example.test";

/// A free TCP port on 127.0.0.1 (bound and released; a small race is acceptable).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn wait_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// How a test's Prosody is set up (Prosody::start_*).
#[derive(Default)]
struct Opts<'a> {
    turn: Option<(u16, &'a str)>,
    turn_tls: Option<u16>,
    websocket: bool,
    registration: bool,
    stun_ports: &'a [u16],
    also_on: Option<&'a str>,
    /// A module of the test's own: its name and Lua source.
    module: Option<(&'a str, &'a str)>,
    /// A group chat service (mod_muc with mod_muc_mam) at `rooms.example.test`.
    muc: bool,
    /// A file upload service (mod_http_file_share) taking files up to this size.
    uploads: Option<u64>,
    /// SASL2, Bind 2 and FAST (sasl2.rs), with FAST tokens rotating at a login
    /// when older than this many seconds.
    sasl2: Option<i64>,
}

pub struct Prosody {
    pub dir: TempDir,
    child: Option<Child>,
    pub port: u16,
    /// A second STARTTLS port, for a client whose connection alone a test cuts.
    pub port2: u16,
    /// Direct TLS (XEP-0368) port.
    pub tls_port: u16,
    /// HTTP (WebSocket) port, when started with one.
    pub http_port: Option<u16>,
    pub ca_file: PathBuf,
    config: PathBuf,
}

impl Prosody {
    pub fn start() -> Prosody {
        Prosody::start_with_turn(None)
    }

    /// With `turn = Some((port, secret))`, the server hands out credentials for a
    /// TURN server on 127.0.0.1:port (XEP-0215 via mod_turn_external).
    pub fn start_with_turn(turn: Option<(u16, &str)>) -> Prosody {
        Prosody::start_opts(Opts {
            turn,
            ..Default::default()
        })
    }

    /// Hands out credentials for a TURN server on 127.0.0.1:`port` over UDP and TCP and
    /// on `tls_port` over TLS, and lists plain STUN servers on each of `stun_ports`
    /// besides (XEP-0215, mod_external_services).
    pub fn start_with_services(
        port: u16,
        tls_port: u16,
        secret: &str,
        stun_ports: &[u16],
    ) -> Prosody {
        Prosody::start_opts(Opts {
            turn: Some((port, secret)),
            turn_tls: Some(tls_port),
            stun_ports,
            ..Default::default()
        })
    }

    /// Hands out credentials for a TURN server reachable only over TLS on
    /// 127.0.0.1:`tls_port` (`turns`); the plain `turn` entries it also lists name a
    /// port where nothing listens. The server's certificate (`cert.pem`, `key.pem` in
    /// `dir`) is valid for 127.0.0.1 too, for that TURN server to use.
    pub fn start_with_turn_tls(tls_port: u16, secret: &str) -> Prosody {
        Prosody::start_opts(Opts {
            turn: Some((free_port(), secret)),
            turn_tls: Some(tls_port),
            ..Default::default()
        })
    }

    /// Lets anyone create an account (XEP-0077, mod_register).
    pub fn start_with_registration() -> Prosody {
        Prosody::start_opts(Opts {
            registration: true,
            ..Default::default()
        })
    }

    /// Also serves XMPP over WebSocket (RFC 7395) for browser clients, on
    /// `ws://127.0.0.1:{http_port}/xmpp-websocket`.
    pub fn start_with_websocket() -> Prosody {
        Prosody::start_opts(Opts {
            websocket: true,
            ..Default::default()
        })
    }

    pub fn websocket_url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/xmpp-websocket",
            self.http_port.expect("started with websocket")
        )
    }

    /// Also loads a module of the test's own (`mod_{name}.lua` with this source): a
    /// server that does what a hostile one would.
    #[allow(dead_code)]
    pub fn start_with_module(name: &str, source: &str) -> Prosody {
        Prosody::start_opts(Opts {
            module: Some((name, source)),
            ..Default::default()
        })
    }

    /// With SASL2 (XEP-0388), Bind 2 (XEP-0386) and FAST (XEP-0484): Debian's
    /// community modules, patched for 0.12 (support/sasl2.rs). FAST tokens older than
    /// `rotate_after` seconds are replaced at a login. In-band registration is on.
    #[allow(dead_code)]
    pub fn start_with_sasl2(rotate_after: i64) -> Prosody {
        Prosody::start_opts(Opts {
            sasl2: Some(rotate_after),
            // Password changes (XEP-0077) too.
            registration: true,
            ..Default::default()
        })
    }

    /// With a group chat service (XEP-0045, its archive XEP-0313) at `MUC`.
    #[allow(dead_code)]
    pub fn start_with_muc() -> Prosody {
        Prosody::start_opts(Opts {
            muc: true,
            ..Default::default()
        })
    }

    /// With a group chat service at `MUC` that also loads a module of the test's own
    /// (`mod_{name}.lua` with this source): a service that does what a broken or
    /// hostile one would.
    #[allow(dead_code)]
    pub fn start_with_muc_module(name: &str, source: &str) -> Prosody {
        Prosody::start_opts(Opts {
            muc: true,
            module: Some((name, source)),
            ..Default::default()
        })
    }

    /// With a file upload service (XEP-0363) at `UPLOAD` taking files up to `limit`
    /// bytes, over https on 127.0.0.1.
    #[allow(dead_code)]
    pub fn start_with_uploads(limit: u64) -> Prosody {
        Prosody::start_opts(Opts {
            uploads: Some(limit),
            ..Default::default()
        })
    }

    /// With a group chat service at `MUC` and a file upload service at `UPLOAD`.
    #[allow(dead_code)]
    pub fn start_with_muc_and_uploads(limit: u64) -> Prosody {
        Prosody::start_opts(Opts {
            muc: true,
            uploads: Some(limit),
            ..Default::default()
        })
    }

    /// The server's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Where the upload service keeps its files (nothing else is in it).
    #[allow(dead_code)]
    pub fn upload_store(&self) -> PathBuf {
        self.dir
            .path()
            .join("data")
            .join("upload%2eexample%2etest")
            .join("http_file_share")
    }

    /// Also listens on `addr` (an address of the test's own namespace), for a client
    /// in another namespace to reach it.
    pub fn start_also_on(addr: &str) -> Prosody {
        Prosody::start_opts(Opts {
            also_on: Some(addr),
            ..Default::default()
        })
    }

    fn start_opts(o: Opts<'_>) -> Prosody {
        let Opts {
            turn,
            turn_tls,
            websocket,
            registration,
            stun_ports,
            also_on,
            module,
            muc,
            uploads,
            sasl2,
        } = o;
        // With a group chat service, a module of the test's own is the service's.
        let (module, muc_module) = match (module, muc) {
            (Some((name, source)), true) => (None, Some((name, source))),
            (m, _) => (m, None),
        };
        let muc_component = if muc {
            let extra = muc_module
                .map(|(name, _)| format!(", \"{name}\""))
                .unwrap_or_default();
            format!("Component \"{MUC}\" \"muc\"\nmodules_enabled = {{ \"muc_mam\"{extra} }}\n")
        } else {
            String::new()
        };
        let dir = tempfile::Builder::new()
            .prefix("banter-prosody-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let port2 = free_port();
        let tls_port = free_port();
        let http_port = websocket.then(free_port);
        // The browser connects over ws:// on loopback; Prosody counts that as secure so
        // that c2s encryption stays required for everyone else.
        let (ws_module, http_ports, ws_settings) = match http_port {
            Some(p) => (
                ", \"http\", \"websocket\"",
                p.to_string(),
                format!(
                    "http_interfaces = {{ \"127.0.0.1\" }}\nhttp_default_host = \"{DOMAIN}\"\nconsider_websocket_secure = true"
                ),
            ),
            None => ("", String::new(), String::new()),
        };
        let cert = rcgen::generate_simple_self_signed(vec![DOMAIN.to_string(), "127.0.0.1".into()])
            .expect("cert");
        let ca_file = dir.path().join("cert.pem");
        std::fs::write(&ca_file, cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        let d = dir.path().display();
        let config = dir.path().join("prosody.cfg.lua");
        let (register_module, register_settings) = if registration {
            (", \"register\"", "allow_registration = true")
        } else {
            ("", "")
        };
        let (turn_module, turn_settings) = match turn {
            Some((port, secret)) => (
                ", \"turn_external\"",
                format!(
                    "turn_external_host = \"127.0.0.1\"\nturn_external_port = {port}\nturn_external_secret = \"{secret}\"\nturn_external_tcp = true\n{}",
                    turn_tls.map(|p| format!("turn_external_tls_port = {p}")).unwrap_or_default()
                ),
            ),
            None => ("", String::new()),
        };
        let stun: Vec<String> = stun_ports
            .iter()
            .map(|p| {
                format!(
                    "{{ type = \"stun\", transport = \"udp\", host = \"127.0.0.1\", port = {p} }}"
                )
            })
            .collect();
        let turn_settings = if stun.is_empty() {
            turn_settings
        } else {
            format!(
                "{turn_settings}\nexternal_services = {{ {} }}",
                stun.join(", ")
            )
        };
        let also_on = also_on.map(|a| format!(", \"{a}\"")).unwrap_or_default();
        // File upload (XEP-0363, mod_http_file_share) over https on 127.0.0.1, with
        // the server's certificate (valid for 127.0.0.1 too).
        let https_port = uploads.map(|_| free_port());
        let (https_ports, https_settings, upload_component) = match (uploads, https_port) {
            (Some(limit), Some(p)) => (
                p.to_string(),
                format!(
                    "https_interfaces = {{ \"127.0.0.1\" }}\nhttps_ssl = {{ certificate = \"{d}/cert.pem\", key = \"{d}/key.pem\" }}\nhttp_external_url = \"https://127.0.0.1:{p}/\"",
                ),
                format!(
                    "Component \"{UPLOAD}\" \"http_file_share\"\nhttp_host = \"127.0.0.1\"\nhttp_file_share_size_limit = {limit}\nhttp_file_share_daily_quota = {}\n",
                    limit * 100
                ),
            ),
            _ => (String::new(), String::new(), String::new()),
        };
        if let Some((name, source)) = muc_module {
            std::fs::write(dir.path().join(format!("plugins/mod_{name}.lua")), source).unwrap();
        }
        let (sasl2_modules, sasl2_settings) = match sasl2 {
            Some(min_ttl) => {
                self::sasl2::install_modules(&dir.path().join("plugins"));
                (
                    ", \"sasl2\", \"sasl2_bind2\", \"sasl2_fast\"",
                    format!("sasl2_fast_token_min_ttl = {min_ttl}"),
                )
            }
            None => ("", String::new()),
        };
        let own_module = match module {
            Some((name, source)) => {
                std::fs::write(dir.path().join(format!("plugins/mod_{name}.lua")), source).unwrap();
                format!(", \"{name}\"")
            }
            None => String::new(),
        };
        std::fs::write(
            &config,
            format!(
                r#"
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
run_as_root = true
log = {{ debug = "{d}/prosody.log" }}
plugin_paths = {{ "{d}/plugins" }}
interfaces = {{ "127.0.0.1"{also_on} }}
c2s_ports = {{ {port}, {port2} }}
c2s_direct_tls_ports = {{ {tls_port} }}
legacy_ssl_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ {http_ports} }}
{ws_settings}
https_ports = {{ {https_ports} }}
{https_settings}
component_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "tls", "disco", "carbons", "mam", "pep", "smacks", "ping", "offline", "time", "version", "private", "blocklist", "vcard"{turn_module}{ws_module}{register_module}{own_module}{sasl2_modules} }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
archive_expires_after = "never"
default_archive_policy = true
limits = {{ c2s = {{ rate = "10mb/s" }} }}
certificates = "{d}/certs"
ssl = {{ certificate = "{d}/cert.pem", key = "{d}/key.pem" }}
{register_settings}
{sasl2_settings}
VirtualHost "{DOMAIN}"
{turn_settings}
{muc_component}
{upload_component}
"#
            ),
        )
        .unwrap();
        let mut p = Prosody {
            dir,
            child: None,
            port,
            port2,
            tls_port,
            http_port,
            ca_file,
            config,
        };
        p.launch();
        p
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("stdout.log")).unwrap();
        let child = Command::new("prosody")
            .arg("--config")
            .arg(&self.config)
            .arg("-F")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect(
                "cannot start prosody: is the Debian package installed? (scripts/install-deps.sh)",
            );
        self.child = Some(child);
        assert!(
            wait_port(self.port, Duration::from_secs(15)),
            "prosody did not listen on {}: {}",
            self.port,
            std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
        );
    }

    /// Stops the server (as a crash would), keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn register(&self, user: &str, password: &str) {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, DOMAIN, password])
            .output()
            .expect("prosodyctl");
        assert!(out.status.success(), "register {user}: {out:?}");
    }

    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A user with a password file and a config dir of its own.
    pub fn user(&self, name: &str) -> User {
        let user = self.unregistered_user(name);
        self.register(name, &user.password);
        user
    }

    /// The same, for an account the server does not have (yet).
    pub fn unregistered_user(&self, name: &str) -> User {
        User::with_password_file(self.dir.path(), name, self.server(), &self.ca_file)
    }
}

impl Prosody {
    /// Waits until the server's log has `needle` `times` times (what a test module
    /// of its own logs when it has done its part); panics after `timeout`.
    #[allow(dead_code)]
    pub async fn wait_log(&self, needle: &str, times: usize, timeout: Duration) {
        let log = self.dir.path().join("prosody.log");
        let deadline = Instant::now() + timeout;
        while std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(needle)
            .count()
            < times
        {
            assert!(
                Instant::now() < deadline,
                "the server never logged {needle:?} {times} times"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Prosody {
    /// Whether the server's log has `needle` now.
    #[allow(dead_code)]
    pub fn log_contains(&self, needle: &str) -> bool {
        std::fs::read_to_string(self.dir.path().join("prosody.log"))
            .unwrap_or_default()
            .contains(needle)
    }
}

impl Drop for Prosody {
    /// A failed test shows the end of the server's log; `BANTER_KEEP_LOGS=<dir>` keeps
    /// the whole of it.
    fn drop(&mut self) {
        self.kill();
        let log = self.dir.path().join("prosody.log");
        if let Some(keep) = std::env::var_os("BANTER_KEEP_LOGS") {
            let to = std::path::Path::new(&keep).join(format!("prosody-{}.log", self.port));
            let _ = std::fs::copy(&log, to);
        }
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- the end of prosody's log ---");
            for l in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{l}");
            }
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

#[derive(Clone, Debug)]
pub struct User {
    pub jid: String,
    pub password: String,
    pub pw_file: PathBuf,
    pub server: String,
    pub ca_file: PathBuf,
    root: PathBuf,
}

impl User {
    /// `name@DOMAIN` with a fresh password written to a file under `root`.
    pub fn with_password_file(root: &Path, name: &str, server: String, ca_file: &Path) -> User {
        let password = format!("pw-{name}-{}", rand_suffix());
        let pw_file = root.join(format!("{name}.pw"));
        std::fs::write(&pw_file, format!("{password}\n")).unwrap();
        User {
            jid: format!("{name}@{DOMAIN}"),
            password,
            pw_file,
            server,
            ca_file: ca_file.to_path_buf(),
            root: root.to_path_buf(),
        }
    }

    /// A config dir for one device of this user.
    pub fn device_dir(&self, device: &str) -> PathBuf {
        self.root.join(format!("{}-{device}", self.jid))
    }

    /// `banter` with this account's options (device "main").
    pub fn banter(&self, args: &[&str]) -> Command {
        self.banter_on("main", args)
    }

    pub fn banter_on(&self, device: &str, args: &[&str]) -> Command {
        let mut c = self.banter_text(device, args);
        c.arg("--json");
        c
    }

    /// `banter` printing for people (no `--json`).
    pub fn banter_text(&self, device: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_banter"));
        // The window speaks the system's language: the tests read it in English.
        c.env("LC_ALL", "C.UTF-8").env_remove("LANGUAGE");
        c.args(args)
            .arg("--jid")
            .arg(&self.jid)
            .arg("--password-file")
            .arg(&self.pw_file)
            .arg("--server")
            .arg(&self.server)
            .arg("--ca-file")
            .arg(&self.ca_file)
            .arg("--config-dir")
            .arg(self.device_dir(device));
        c
    }

    /// Library configuration for one device.
    pub fn config(&self, device: &str) -> banter::Config {
        let mut cfg = banter::Config::new(
            banter::xmpp_parsers::jid::BareJid::new(&self.jid).unwrap(),
            self.password.clone(),
            self.device_dir(device),
        );
        cfg.server = banter::xmpp::connect::parse_server(&self.server);
        cfg.ca_file = Some(self.ca_file.clone());
        cfg.resource = Some(device.to_string());
        cfg
    }
}

/// A running `banter` process whose JSON events are read line by line.
pub struct Proc {
    child: Child,
    lines: mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
    /// For a process driven by commands on its standard input.
    stdin: Option<std::process::ChildStdin>,
}

impl Proc {
    /// A process that reads commands (lines) from its standard input.
    pub fn spawn_with_stdin(mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped());
        let mut p = Proc::spawn(cmd);
        p.stdin = p.child.stdin.take();
        p
    }

    /// Writes one line to its standard input.
    pub fn write_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("spawned with stdin");
        writeln!(stdin, "{line}").expect("the process reads its input");
        stdin.flush().expect("flush");
    }

    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn banter");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => panic!("banter printed a line that is not JSON: {line}"),
                }
            }
        });
        Proc {
            child,
            lines: rx,
            seen: Vec::new(),
            stdin: None,
        }
    }

    /// Waits for an event matching `pred`; panics with what was seen on timeout.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            }
        }
    }

    /// Watches events for `d`: the first that matches `pred`, if one came.
    pub fn any_within(&mut self, d: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + d;
        let mut found = None;
        while let Ok(v) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(v.clone());
            if found.is_none() && pred(&v) {
                found = Some(v);
            }
        }
        found
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Collects events until the process exits; returns its exit success.
    pub fn finish(mut self, timeout: Duration) -> (bool, Vec<Value>) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(v) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(v);
                }
                return (status.success(), std::mem::take(&mut self.seen));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("banter did not exit in time; saw {:#?}", self.seen);
            }
            while let Ok(v) = self.lines.try_recv() {
                self.seen.push(v);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion: (success, stdout, stderr).
pub fn run(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn banter");
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("command did not finish within {timeout:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Waits up to `timeout` for a client event matching `pred`, skipping others.
pub async fn next_event(
    c: &mut banter::client::ClientHandle,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&banter::client::Event) -> bool,
) -> banter::client::Event {
    let fut = async {
        loop {
            match c.next_event().await {
                Some(ev) if pred(&ev) => return ev,
                Some(_) => {}
                None => panic!("client ended while waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The samples of a 16-bit WAV file.
pub fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

/// A private X server (for the real window).
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb on a display it picks itself (`-displayfd`): choosing a free
    /// number here raced between tests running in parallel, two of which then
    /// shared one server and lost it when the other test ended.
    pub fn start() -> Xvfb {
        Xvfb::start_sized("1024x700x24")
    }

    /// With a screen of this geometry (`WxHxDEPTH`).
    pub fn start_sized(geometry: &str) -> Xvfb {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let (reader, writer) = std::io::pipe().expect("a pipe");
        let wfd = writer.as_raw_fd();
        let mut cmd = Command::new("Xvfb");
        cmd.args([
            "-displayfd",
            "3",
            "-screen",
            "0",
            geometry,
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: dup2 and fcntl are async-signal-safe; descriptor 3 ends up without
        // CLOEXEC, so Xvfb inherits it.
        unsafe {
            cmd.pre_exec(move || {
                let ok = if wfd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(wfd, 3) == 3
                };
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = cmd
            .spawn()
            .expect("Xvfb (scripts/install-deps.sh installs it)");
        drop(writer);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(reader).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("Xvfb did not start");
        let n: u32 = line.trim().parse().expect("Xvfb printed its display");
        Xvfb {
            child,
            display: format!(":{n}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private D-Bus session bus (for the keyring and notification tests).
pub struct SessionBus {
    child: Child,
    pub address: String,
    pub dir: TempDir,
}

impl SessionBus {
    pub fn start() -> SessionBus {
        let dir = tempfile::Builder::new()
            .prefix("banter-bus-")
            .tempdir()
            .unwrap();
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}/bus", dir.path().display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (scripts/install-deps.sh)");
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        SessionBus {
            child,
            address: address.trim().to_string(),
            dir,
        }
    }

    /// Whether `name` has an owner on this bus.
    pub fn has_name(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .args(["--print-reply", "--dest=org.freedesktop.DBus"])
            .arg(format!("--bus={}", self.address))
            .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
            .arg(format!("string:{name}"))
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Media options for a `banter` call on loopback.
pub fn media_args<'a>(audio_in: &'a str, audio_out: &'a str) -> Vec<&'a str> {
    vec![
        "--audio-in",
        audio_in,
        "--audio-out",
        audio_out,
        "--ice-allow",
        "127.0.0.0/8",
    ]
}

/// The `call` states in a run's JSON events, in order.
pub fn states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| e["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A Python peer of the tests (`script` under tests/) signed in as `user` on
/// `server`: the venv's Python with `--jid`, `--password-file`, `--server` and
/// `--ca-file` given; the caller adds the script's own options.
#[allow(dead_code)]
pub fn python_peer(script: &str, user: &User, server: &Prosody) -> Command {
    let mut cmd = Command::new(omemo_python());
    cmd.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script),
    )
    .args(["--jid", user.jid.as_str(), "--password-file"])
    .arg(&user.pw_file)
    .args(["--server", &server.server(), "--ca-file"])
    .arg(&user.ca_file);
    cmd
}

/// The Python with the OMEMO peers' packages (python-omemo, slixmpp-omemo):
/// $BANTER_OMEMO_PYTHON (test.sh sets it), else the venv scripts/omemo-venv.sh makes.
#[allow(dead_code)]
pub fn omemo_python() -> String {
    if let Ok(p) = std::env::var("BANTER_OMEMO_PYTHON") {
        return p;
    }
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/omemo-venv.sh"
        ))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "cannot make the OMEMO peers' venv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// (user+system CPU seconds, peak RSS in MiB) of a process.
#[allow(dead_code)]
pub fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = 100.0; // sysconf(_SC_CLK_TCK) on Linux
    let cpu = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .zip(fields.get(12).and_then(|s| s.parse::<f64>().ok()))
        .map_or(0.0, |(u, s)| (u + s) / ticks);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0;
    (cpu, hwm)
}
