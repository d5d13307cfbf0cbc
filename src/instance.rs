//! One window per settings folder: the first `banter` listens on a Unix socket kept
//! in the user's runtime directory; a second one started for the same folder asks the
//! first to bring its window up, and ends. Two windows on one store would fight over
//! it (and ring twice for every call).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the first instance answers to a "show" (the second then knows it was heard).
const SHOWN: &str = "shown";

/// The socket of the instance for `data_dir`: in `$XDG_RUNTIME_DIR` (the user's own,
/// mode 0700), named by a hash of the folder's path; else in the folder itself.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let full = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let hash = Sha256::digest(full.as_os_str().as_encoded_bytes());
    let name: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(run) => PathBuf::from(run).join(format!("banter-{name}.sock")),
        None => full.join("instance.sock"),
    }
}

/// The first instance: its socket, removed when it ends.
pub struct Primary {
    path: PathBuf,
}

impl Drop for Primary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who we are for this folder.
pub enum Claim {
    /// The first: `on_show` runs (on a thread of its own) each time another `banter`
    /// asks for the window.
    First(Primary),
    /// Another instance runs and was asked to show its window.
    Running,
}

/// Becomes the instance for `path`, or asks the one running to show itself.
pub fn claim(path: &Path, on_show: impl Fn() + Send + 'static) -> std::io::Result<Claim> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Twice: a socket left by a crash is removed, and a race with another starting
    // instance is lost at most once.
    for _ in 0..2 {
        if ask_to_show(path) {
            return Ok(Claim::Running);
        }
        let _ = std::fs::remove_file(path);
        match UnixListener::bind(path) {
            Ok(listener) => {
                std::thread::Builder::new()
                    .name("instance".into())
                    .spawn(move || serve(listener, on_show))?;
                return Ok(Claim::First(Primary {
                    path: path.to_path_buf(),
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "another Banter is starting for the same settings folder",
    ))
}

/// Whether an instance listens at `path` and said it shows its window.
fn ask_to_show(path: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(path) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    if s.write_all(b"show\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = BufReader::new(s).read_line(&mut answer);
    answer.trim() == SHOWN
}

fn serve(listener: UnixListener, on_show: impl Fn()) {
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(3)));
        let mut line = String::new();
        if BufReader::new(&conn).read_line(&mut line).is_err() {
            continue;
        }
        if line.trim() == "show" {
            on_show();
            let _ = conn.write_all(format!("{SHOWN}\n").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The first claim listens; a second for the same folder is told one runs, and
    /// the first hears it; a socket left behind (no one listening) is taken over;
    /// the socket goes when the first ends.
    #[test]
    fn a_second_instance_shows_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sock");
        let shown = Arc::new(AtomicUsize::new(0));
        let counter = shown.clone();
        let first = claim(&path, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert!(matches!(first, Claim::First(_)));
        assert!(matches!(claim(&path, || {}).unwrap(), Claim::Running));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
        drop(first);
        assert!(!path.exists());
        // A crash leaves the socket file: the next start takes it.
        let stale = UnixListener::bind(&path).unwrap();
        drop(stale);
        assert!(path.exists());
        assert!(matches!(claim(&path, || {}).unwrap(), Claim::First(_)));
    }

    /// Different folders are different instances; the same folder named two ways is one.
    #[test]
    fn the_socket_is_named_by_the_folder() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        assert_ne!(socket_path(a.path()), socket_path(b.path()));
        let twisted = a.path().join(".").join("x").join("..");
        std::fs::create_dir_all(a.path().join("x")).unwrap();
        assert_eq!(socket_path(a.path()), socket_path(&twisted));
    }
}
