//! The password in the OS keyring: a real freedesktop Secret Service (GNOME Keyring on
//! a private D-Bus, in a temp dir) and a real Prosody. `banter account save` checks the
//! password by signing in, stores it in the keyring, later commands find it there, and
//! nothing of it is written to Banter's own files.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{run, Proc, Prosody, SessionBus, User, Xvfb};

const T: Duration = Duration::from_secs(30);

/// A session bus with GNOME Keyring's Secret Service on it, unlocked, stopped on drop.
struct SecretService {
    keyring: Child,
    address: String,
    // Dropped after the keyring (field order).
    _bus: SessionBus,
}

impl SecretService {
    fn start() -> SecretService {
        let bus = SessionBus::start();
        let run_dir = bus.dir.path().join("run");
        std::fs::create_dir_all(&run_dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("XDG_DATA_HOME", bus.dir.path().join("data"))
            .env("XDG_RUNTIME_DIR", &run_dir)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (package gnome-keyring; scripts/install-deps.sh)");
        // The keyring's own password, which creates and unlocks the login keyring.
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"keyring-password").unwrap();
        drop(stdin);
        let start = Instant::now();
        while !bus.has_name("org.freedesktop.secrets") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the Secret Service did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SecretService {
            keyring,
            address: bus.address.clone(),
            _bus: bus,
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
    }
}

/// `banter ARGS` for `user` with no password given: only the keyring can supply it.
fn banter(user: &User, bus: &str, password_file: Option<&Path>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_banter"));
    c.args(args)
        .args(["--jid", &user.jid, "--server", &user.server])
        .arg("--ca-file")
        .arg(&user.ca_file)
        .arg("--config-dir")
        .arg(user.device_dir("main"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env_remove("BANTER_PASSWORD")
        .env_remove("DISPLAY");
    if let Some(f) = password_file {
        c.arg("--password-file").arg(f);
    }
    c
}

fn files_contain(dir: &Path, needle: &[u8]) -> Option<String> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = files_contain(&p, needle) {
                return Some(f);
            }
        } else if let Ok(data) = std::fs::read(&p) {
            if data.windows(needle.len()).any(|w| w == needle) {
                return Some(p.display().to_string());
            }
        }
    }
    None
}

#[test]
fn password_lives_in_the_os_keyring() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let bob = server.user("bob");
    let secrets = SecretService::start();
    let bus = secrets.address.as_str();

    // Without a stored password: a clear error that says how to store one.
    let (ok, _, err) = run(
        banter(&alice, bus, None, &["send", &bob.jid, "--body", "x"]),
        T,
    );
    assert!(!ok);
    assert!(err.contains("banter account save"), "{err}");

    // A wrong password is not stored.
    let wrong = server.dir.path().join("wrong.pw");
    std::fs::write(&wrong, "not-it\n").unwrap();
    let (ok, _, err) = run(banter(&alice, bus, Some(&wrong), &["account", "save"]), T);
    assert!(!ok, "{err}");
    let (ok, _, _) = run(
        banter(&alice, bus, None, &["send", &bob.jid, "--body", "x"]),
        T,
    );
    assert!(!ok, "nothing was stored");

    // The right one is checked, stored, and found by later commands.
    let (ok, out, err) = run(
        banter(&alice, bus, Some(&alice.pw_file), &["account", "save"]),
        T,
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(
        banter(
            &alice,
            bus,
            None,
            &["send", &bob.jid, "--body", "from the keyring"],
        ),
        T,
    );
    assert!(ok, "{out}{err}");
    assert_eq!(
        files_contain(&alice.device_dir("main"), alice.password.as_bytes()),
        None,
        "the password must not be in Banter's files"
    );

    // The window, started with no account options, signs in with the saved account.
    let x = Xvfb::start();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_banter"));
    cmd.args(["--json", "--audio-in", "silence", "--audio-out", "null"])
        .arg("--config-dir")
        .arg(alice.device_dir("main"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("DISPLAY", &x.display);
    let mut window = Proc::spawn(cmd);
    let ev = window.wait_for("signed in from the keyring", T, |v| v["event"] == "window");
    assert_eq!(ev["account"], alice.jid.as_str());
    drop(window);

    // Forgotten: asked for again.
    let (ok, out, err) = run(banter(&alice, bus, None, &["account", "forget"]), T);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(
        banter(&alice, bus, None, &["send", &bob.jid, "--body", "x"]),
        T,
    );
    assert!(!ok);
    assert!(err.contains("banter account save"), "{err}");
}

#[test]
fn no_keyring_is_a_clear_error() {
    let server = Prosody::start();
    let alice = server.user("alice");
    let (ok, _, err) = run(
        banter(
            &alice,
            "unix:path=/nonexistent/bus",
            None,
            &["send", "bob@example.test", "--body", "x"],
        ),
        T,
    );
    assert!(!ok);
    assert!(err.contains("no OS keyring is available"), "{err}");
    assert!(err.contains("--password-file"), "{err}");
}

/// FAST (XEP-0484) tokens live beside the password in the keyring: the first command
/// signs in with the password and gets a token, the next one signs in with the token,
/// none of it lands in Banter's files, and `account forget` takes both away.
#[test]
fn fast_tokens_live_beside_the_password() {
    let server = Prosody::start_with_sasl2(86_400);
    let alice = server.user("alice");
    let secrets = SecretService::start();
    let bus = secrets.address.as_str();
    let (ok, out, err) = run(
        banter(&alice, bus, Some(&alice.pw_file), &["account", "save"]),
        T,
    );
    assert!(ok, "{out}{err}");
    let login = |what: &str| {
        let (ok, out, err) = run(
            banter(
                &alice,
                bus,
                None,
                &["listen", "--duration", "0.3", "--json"],
            ),
            T,
        );
        assert!(ok, "{what}: {out}{err}");
        let ev: serde_json::Value = out
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .find(|v: &serde_json::Value| v["event"] == "connected")
            .unwrap_or_else(|| panic!("{what}: no connected event in {out}"));
        ev["login"].clone()
    };
    let first = login("first sign-in");
    assert_eq!(first["sasl2"], true, "{first}");
    assert_eq!(first["fast"], false, "{first}");
    let second = login("second sign-in");
    assert_eq!(second["fast"], true, "the token from the keyring: {second}");
    assert_eq!(second["mechanism"], "HT-SHA-256-NONE");
    assert_eq!(
        files_contain(&alice.device_dir("main"), b"secret-token:"),
        None,
        "the token must not be in Banter's files"
    );
    let (ok, out, err) = run(banter(&alice, bus, None, &["account", "forget"]), T);
    assert!(ok, "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
    // The token went with the password: given the password again, the login uses it.
    let (ok, out, err) = run(
        banter(&alice, bus, Some(&alice.pw_file), &["account", "save"]),
        T,
    );
    assert!(ok, "{out}{err}");
    let after = login("after forgetting");
    assert_eq!(
        after["fast"], false,
        "no token survived the forget: {after}"
    );
}
