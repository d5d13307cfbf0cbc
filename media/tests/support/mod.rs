//! Test support: a private coturn (the Debian package) on a free 127.0.0.1 port with a
//! static long-term credential, in a temp dir, stopped when dropped.
#![allow(dead_code)]

use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Coturn {
    child: Child,
    pub port: u16,
    pub username: String,
    pub password: String,
    _dir: tempfile::TempDir,
}

fn free_udp_tcp_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Where clients may reach the TURN server.
enum Listen {
    UdpTcp,
    Tcp,
    Tls {
        cert: PathBuf,
        key: PathBuf,
    },
    /// UDP and TCP on the port, TLS on `tls_port`.
    All {
        cert: PathBuf,
        key: PathBuf,
        tls_port: u16,
    },
}

/// How clients authenticate to the TURN server.
pub enum TurnAuth {
    /// A static long-term credential (`username`, `password`).
    Static,
    /// The TURN REST API shared secret an XMPP server hands out credentials for
    /// (XEP-0215, Prosody's mod_turn_external).
    SharedSecret(String),
}

impl Coturn {
    pub fn start() -> Coturn {
        Coturn::start_with(TurnAuth::Static)
    }

    pub fn start_with(auth: TurnAuth) -> Coturn {
        Coturn::start_opts(auth, false)
    }

    /// A server clients can reach only over TCP (as behind a firewall that drops UDP);
    /// it still relays over UDP.
    pub fn start_tcp_only() -> Coturn {
        Coturn::start_opts(TurnAuth::Static, true)
    }

    pub fn start_opts(auth: TurnAuth, tcp_only: bool) -> Coturn {
        let listen = if tcp_only {
            Listen::Tcp
        } else {
            Listen::UdpTcp
        };
        Coturn::launch(auth, listen, free_udp_tcp_port())
    }

    /// A server clients can reach only over TLS, on `port` (as on networks that let
    /// only TLS out), with this certificate and key (PEM files); it still relays over
    /// UDP.
    pub fn start_tls_only(auth: TurnAuth, port: u16, cert: &Path, key: &Path) -> Coturn {
        Coturn::launch(
            auth,
            Listen::Tls {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            port,
        )
    }

    /// A server on `port` over UDP and TCP and on `tls_port` over TLS, with this
    /// certificate and key (PEM files).
    pub fn start_all(auth: TurnAuth, port: u16, tls_port: u16, cert: &Path, key: &Path) -> Coturn {
        Coturn::launch(
            auth,
            Listen::All {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                tls_port,
            },
            port,
        )
    }

    fn launch(auth: TurnAuth, listen: Listen, port: u16) -> Coturn {
        let dir = tempfile::Builder::new()
            .prefix("banter-coturn-")
            .tempdir()
            .unwrap();
        let (username, password) = ("banter".to_string(), "turn-secret".to_string());
        let d = dir.path();
        let mut cmd = Command::new("turnserver");
        match &auth {
            TurnAuth::Static => {
                cmd.args(["--lt-cred-mech", "--user"])
                    .arg(format!("{username}:{password}"));
            }
            TurnAuth::SharedSecret(secret) => {
                cmd.arg("--use-auth-secret")
                    .arg(format!("--static-auth-secret={secret}"));
            }
        }
        match &listen {
            Listen::UdpTcp => {
                cmd.arg("--no-tls");
            }
            Listen::Tcp => {
                cmd.args(["--no-udp", "--no-tls"]);
            }
            Listen::Tls { cert, key } => {
                cmd.args(["--no-udp", "--no-tcp"])
                    .args(["--tls-listening-port", &port.to_string()])
                    .arg("--cert")
                    .arg(cert)
                    .arg("--pkey")
                    .arg(key);
            }
            Listen::All {
                cert,
                key,
                tls_port,
            } => {
                cmd.args(["--tls-listening-port", &tls_port.to_string()])
                    .arg("--cert")
                    .arg(cert)
                    .arg("--pkey")
                    .arg(key);
            }
        }
        let child = cmd
            .args(["-n", "--no-cli", "--no-dtls", "--fingerprint"])
            .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
            .args(["--listening-port", &port.to_string()])
            .args(["--min-port", "40000", "--max-port", "45000"])
            .args(["--realm", "banter.test", "--allow-loopback-peers"])
            .arg("--db")
            .arg(d.join("turndb"))
            .arg("--pidfile")
            .arg(d.join("turn.pid"))
            .arg("--log-file")
            .arg(d.join("turn.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start turnserver: is coturn installed? (scripts/install-deps.sh)");
        let start = Instant::now();
        // coturn listens on TCP as well as UDP; the TCP port tells when it is up.
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "coturn did not start"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        if let Listen::All { tls_port, .. } = listen {
            while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "coturn's TLS port did not open"
                );
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        Coturn {
            child,
            port,
            username,
            password,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    pub fn tcp_url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=tcp", self.port)
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
