//! "Try it locally": with one click and no account, a private Prosody on 127.0.0.1 (the
//! Debian package, as a child process with its own config, certificate and users in a
//! directory of ours) and a built-in echo contact that answers calls by playing your
//! voice back a second later, and answers chat by repeating it. A newcomer sees the
//! whole app working; nothing leaves the machine.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;
use banter_media::{Cidr, MediaConfig};
use xmpp_parsers::jid::BareJid;

use crate::client::{self, Command as ClientCommand, Config, Event};
use crate::store::Direction;

/// Where everything of "try it locally" stays: 127.0.0.0/8.
const LOOPBACK: Cidr = Cidr {
    addr: std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)),
    prefix: 8,
};

/// The local server's domain.
pub const DOMAIN: &str = "localhost";
/// How long the echo contact waits before playing you back.
pub const ECHO_DELAY_MS: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "the local server needs Prosody, which is not installed: run ./run.sh (it installs \
         it) or `sudo apt install prosody`"
    )]
    NoProsody,
    #[error("the local server did not start: {0}")]
    Start(String),
}

fn start_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Start(e.to_string())
}

/// A running local server and echo contact; both stop when this is dropped.
pub struct TryLocally {
    server: Server,
    dir: PathBuf,
    pub port: u16,
    pub ca_file: PathBuf,
    /// Your account on it.
    pub me: BareJid,
    pub password: String,
    pub echo: BareJid,
    echo_task: tokio::task::JoinHandle<()>,
}

impl Drop for TryLocally {
    fn drop(&mut self) {
        self.echo_task.abort();
        self.server.stop();
    }
}

/// The local Prosody, watched by a thread of its own that lives as long as it does.
/// The server is told to die with that thread (`PR_SET_PDEATHSIG`): when Banter ends
/// any way at all (SIGTERM, a crash, SIGKILL) the kernel ends the server too. The
/// signal follows the *thread* that started it, so that thread must not be a pool
/// thread that may retire while the server runs.
struct Server {
    pid: u32,
    stop: Option<std::sync::mpsc::Sender<()>>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `cmd` under a watcher; `Err` when it cannot be started.
    fn spawn(mut cmd: Command) -> Result<Server, LocalError> {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have gone before the prctl (then the child has
                // another parent: init or a subreaper).
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let watcher = std::thread::Builder::new()
            .name("local-prosody".into())
            .spawn(move || {
                let mut child = match cmd.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = started_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(child.id()));
                // Until told to stop (or Banter goes): the server runs.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stop_rx.recv_timeout(Duration::from_millis(500))
                {
                    match child.try_wait() {
                        Ok(None) => {}
                        Ok(Some(_)) => return,
                        // Cannot tell: stopped, and reaped, to be sure.
                        Err(_) => break,
                    }
                }
                let _ = child.kill();
                let _ = child.wait();
            })
            .map_err(start_err)?;
        let pid = started_rx
            .recv()
            .map_err(start_err)?
            .map_err(LocalError::Start)?;
        Ok(Server {
            pid,
            stop: Some(stop_tx),
            watcher: Some(watcher),
        })
    }

    /// Whether the server still runs.
    fn running(&self) -> bool {
        self.watcher.as_ref().is_some_and(|w| !w.is_finished())
    }

    fn stop(&mut self) {
        self.stop.take();
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

/// A server left by an earlier run that ended before it could stop it (a Banter
/// from before `PR_SET_PDEATHSIG`, or a machine that lost power mid-way): ended,
/// when its pid file names a Prosody of this directory.
fn stop_stale(dir: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("prosody.pid")) else {
        return;
    };
    let Ok(pid) = pid.trim().parse::<i32>() else {
        return;
    };
    let config = dir.join("prosody.cfg.lua");
    let config = config.to_string_lossy();
    // Exactly `… --config <this dir's config> …`, as we start it: a pid the system
    // reused for something else (an editor on that file) is left alone.
    let ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        let args: Vec<String> = c
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        args.windows(2)
            .any(|w| matches!(w, [flag, path] if flag == "--config" && *path == *config))
    });
    if !ours || pid <= 1 {
        return;
    }
    tracing::info!(pid, "ending the local server an earlier run left");
    // SAFETY: kill(2) on a pid we checked is our own Prosody.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> Result<u16, LocalError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(start_err)?;
    Ok(l.local_addr().map_err(start_err)?.port())
}

fn random_password() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..20)
        .map(|_| {
            let letters = b"abcdefghijkmnpqrstuvwxyz23456789";
            char::from(
                letters
                    .get(rng.random_range(0..32))
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect()
}

impl TryLocally {
    /// Starts the server in `dir` (emptied first) and the echo contact.
    pub async fn start(dir: &Path) -> Result<TryLocally, LocalError> {
        let dir = dir.to_path_buf();
        let blocking_dir = dir.clone();
        let (server, port, ca_file, passwords) =
            tokio::task::spawn_blocking(move || start_server(&blocking_dir))
                .await
                .map_err(start_err)??;
        let me = BareJid::new(&format!("me@{DOMAIN}")).map_err(start_err)?;
        let echo = BareJid::new(&format!("echo@{DOMAIN}")).map_err(start_err)?;
        let mut cfg = Config::new(echo.clone(), passwords.1, dir.join("echo"));
        cfg.server = crate::xmpp::connect::parse_server(&format!("starttls:127.0.0.1:{port}"));
        cfg.ca_file = Some(ca_file.clone());
        cfg.resource = Some("echo".into());
        let mut media = loopback_media(SourceSpec::Echo(ECHO_DELAY_MS), SinkSpec::Null);
        media.video_in = banter_media::video::VideoSourceSpec::Echo;
        cfg.media = Some(media);
        cfg.call_policy.anyone = true;
        let echo_client = client::start(cfg).await.map_err(start_err)?;
        let echo_task = tokio::spawn(run_echo(echo_client));
        Ok(TryLocally {
            server,
            dir,
            port,
            ca_file,
            me,
            password: passwords.0,
            echo,
            echo_task,
        })
    }

    /// Your account's configuration (history kept beside the server, not with your
    /// real accounts); calls stay on 127.0.0.1.
    pub fn me_config(&self, media: MediaConfig) -> Config {
        let mut cfg = Config::new(self.me.clone(), self.password.clone(), self.dir.join("me"));
        cfg.server =
            crate::xmpp::connect::parse_server(&format!("starttls:127.0.0.1:{}", self.port));
        cfg.ca_file = Some(self.ca_file.clone());
        cfg.media = Some(MediaConfig {
            allow: vec![LOOPBACK],
            ..media
        });
        cfg
    }
}

/// Media for a call that stays on this machine.
pub fn loopback_media(audio_in: SourceSpec, audio_out: SinkSpec) -> MediaConfig {
    let mut m = MediaConfig::new(audio_in, audio_out);
    m.allow = vec![LOOPBACK];
    m
}

/// Config, certificate and users; then Prosody, until its port answers.
fn start_server(dir: &Path) -> Result<(Server, u16, PathBuf, (String, String)), LocalError> {
    let installed = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("prosody").is_file()));
    if !installed {
        return Err(LocalError::NoProsody);
    }
    stop_stale(dir);
    let _ = std::fs::remove_dir_all(dir);
    for sub in ["data", "certs"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(start_err)?;
    }
    let cert = rcgen::generate_simple_self_signed(vec![DOMAIN.to_string()]).map_err(start_err)?;
    let ca_file = dir.join("cert.pem");
    std::fs::write(&ca_file, cert.cert.pem()).map_err(start_err)?;
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).map_err(start_err)?;
    let port = free_port()?;
    let d = dir.display();
    let config = dir.join("prosody.cfg.lua");
    std::fs::write(
        &config,
        format!(
            r#"-- Banter's "Try it locally" server: 127.0.0.1 only, removed on the next try.
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
run_as_root = true
log = {{ info = "{d}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
component_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "tls", "disco", "carbons", "mam", "smacks", "ping", "offline", "blocklist" }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
certificates = "{d}/certs"
ssl = {{ certificate = "{d}/cert.pem", key = "{d}/key.pem" }}
VirtualHost "{DOMAIN}"
"#
        ),
    )
    .map_err(start_err)?;
    let passwords = (random_password(), random_password());
    for (user, pw) in [("me", &passwords.0), ("echo", &passwords.1)] {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(&config)
            .args(["register", user, DOMAIN, pw])
            .output()
            .map_err(start_err)?;
        if !out.status.success() {
            return Err(LocalError::Start(format!(
                "registering {user}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    let log = std::fs::File::create(dir.join("stdout.log")).map_err(start_err)?;
    let mut cmd = Command::new("prosody");
    cmd.arg("--config")
        .arg(&config)
        .arg("-F")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(start_err)?)
        .stderr(log);
    let mut server = Server::spawn(cmd)?;
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if !server.running() {
            return Err(LocalError::Start(format!(
                "prosody exited; see {}",
                dir.join("stdout.log").display()
            )));
        }
        if start.elapsed() > Duration::from_secs(15) {
            server.stop();
            return Err(LocalError::Start(
                "prosody did not listen within 15 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    tracing::debug!(pid = server.pid, "local server up");
    Ok((server, port, ca_file, passwords))
}

/// The echo contact: accepts every subscription and call, repeats every message.
async fn run_echo(mut c: client::ClientHandle) {
    while let Some(ev) = c.next_event().await {
        match ev {
            Event::SubscriptionRequest { from } => {
                if let Ok(jid) = BareJid::new(&from) {
                    c.send(ClientCommand::AnswerSubscription { jid, accept: true });
                }
            }
            // Calls are answered, with video when the call has it; video added later
            // is sent back too.
            Event::Call {
                id,
                direction: client::CallDirection::In,
                state,
                media,
                ..
            } => {
                let video = media.contains(&client::Media::Video);
                match state {
                    client::CallStatus::Ringing => c.send(ClientCommand::AcceptCall { id, video }),
                    client::CallStatus::Active if video => {
                        c.send(ClientCommand::SetCamera { id, on: true })
                    }
                    _ => {}
                }
            }
            Event::Message { message } if message.direction == Direction::In => {
                if let Ok(to) = BareJid::new(&message.peer) {
                    c.send(ClientCommand::SendMessage {
                        id: client::new_id(),
                        to,
                        body: format!("You said: {}", message.body),
                    });
                }
            }
            _ => {}
        }
    }
}
