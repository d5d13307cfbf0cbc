//! A private ejabberd (the Debian package, 23.01 on Debian 12) started as a child
//! process, like the Prosody beside it: its own config, self-signed certificate, Mnesia
//! spool and logs in a temp dir, on a free 127.0.0.1 port; users created by in-band
//! registration; stopped when dropped.
//!
//! Its SASL mechanisms are left at ejabberd's defaults, so it offers the SCRAM `-PLUS`
//! mechanisms without XEP-0440 and takes only `tls-unique` binding: the configuration
//! that failed every Banter login before channel binding was chosen from XEP-0440.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use tempfile::TempDir;

use super::raw::RawClient;
use super::{free_port, wait_port, User, DOMAIN};

pub struct Ejabberd {
    pub dir: TempDir,
    child: Option<Child>,
    pub port: u16,
    pub ca_file: PathBuf,
}

impl Ejabberd {
    pub fn start() -> Ejabberd {
        Ejabberd::start_opts(false)
    }

    /// With ejabberd's own STUN/TURN listener on UDP, announced with temporary
    /// credentials by mod_stun_disco (XEP-0215).
    pub fn start_with_turn() -> Ejabberd {
        Ejabberd::start_opts(true)
    }

    fn start_opts(turn: bool) -> Ejabberd {
        let dir = tempfile::Builder::new()
            .prefix("banter-ejabberd-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        // rcgen's default validity runs to the year 4096, which ejabberd's certificate
        // store crashes on: a plain ten-year span instead.
        let mut params = rcgen::CertificateParams::new(vec![DOMAIN.to_string()]).expect("cert");
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2035, 1, 1);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let ca_file = dir.path().join("cert.pem");
        std::fs::write(&ca_file, cert.pem()).unwrap();
        std::fs::write(
            dir.path().join("server.pem"),
            format!("{}\n{}\n", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
        let d = dir.path().display();
        let turn_port = free_port();
        let (turn_listener, turn_module) = if turn {
            (
                format!(
                    r#"
  -
    port: {turn_port}
    ip: "127.0.0.1"
    transport: udp
    module: ejabberd_stun
    use_turn: true
    turn_ipv4_address: "127.0.0.1"
    auth_type: user
    auth_realm: {DOMAIN}"#
                ),
                "\n  mod_stun_disco:\n    secret: \"ejabberd-turn-secret\"",
            )
        } else {
            (String::new(), "")
        };
        std::fs::create_dir_all(dir.path().join("spool")).unwrap();
        std::fs::write(
            dir.path().join("ejabberd.yml"),
            format!(
                r#"hosts:
  - {DOMAIN}
loglevel: info
log_rotate_count: 0
certfiles:
  - {d}/server.pem
registration_timeout: infinity
listen:
  -
    port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: all
    starttls_required: true{turn_listener}
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  register:
    allow: all
shaper_rules:
  max_user_sessions: 10
modules:
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_disco: {{}}
  mod_mam:
    assume_mam_usage: true
    default: always
  mod_offline: {{}}
  mod_ping: {{}}
  mod_register:
    ip_access: all
    access: register
  mod_roster: {{}}
  mod_stream_mgmt: {{}}
  mod_version: {{}}{turn_module}
"#
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        // What Debian's ejabberdctl runs for `foreground`, without its switch to the
        // ejabberd user and without Erlang distribution (no epmd, no node name).
        // No busy-waiting schedulers: with both cores busy (other tests, a build), the
        // default spinning made the VM take 25 s to start here instead of 2.
        let child = Command::new("erl")
            .args(["+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none"])
            .args(["-noinput", "-noshell", "-mnesia", "dir"])
            .arg(format!("\"{d}/spool\""))
            .args(["-s", "ejabberd"])
            .env("ERL_LIBS", erl_libs())
            .env("EJABBERD_CONFIG_PATH", dir.path().join("ejabberd.yml"))
            .env("EJABBERD_LOG_PATH", dir.path().join("ejabberd.log"))
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start ejabberd (erl): is the Debian package installed? (scripts/install-deps.sh --tests)");
        let server = Ejabberd {
            dir,
            child: Some(child),
            port,
            ca_file,
        };
        assert!(
            wait_port(port, Duration::from_secs(60)),
            "ejabberd did not listen on {port}: {}",
            server.log()
        );
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
    }

    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A registered user with a password file and a config dir of its own.
    pub fn user(&self, name: &str) -> User {
        let user = self.unregistered_user(name);
        let answer = RawClient::register(&self.server(), &self.ca_file, name, &user.password);
        assert!(
            answer.contains("type='result'"),
            "register {name}: {answer}"
        );
        user
    }

    /// The same, for an account the server does not have (yet).
    pub fn unregistered_user(&self, name: &str) -> User {
        User::with_password_file(self.dir.path(), name, self.server(), &self.ca_file)
    }
}

/// Where Debian puts ejabberd's Erlang applications (`/usr/lib/<multiarch>`).
fn erl_libs() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|dir| {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with("ejabberd-"))
                })
        })
        .unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu"))
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
