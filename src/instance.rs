//! One window per settings folder: the first `banter` holds a lock on a file and
//! listens on a Unix socket beside it, in the user's runtime directory; a second one
//! started for the same folder asks the first to bring its window up, and ends. Two
//! windows on one store would fight over it (and ring twice for every call).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The first instance's answers: it shows its window; it is there.
const SHOWN: &str = "shown";
const HERE: &str = "here";

/// How long a second start waits for the first to answer (it may be starting too).
const WAIT: Duration = Duration::from_secs(5);

/// The socket of the instance for `data_dir` (created if missing, so that its first
/// run and the next ones name it alike): in `$XDG_RUNTIME_DIR` (the user's own, mode
/// 0700), named by a hash of the folder's real path; else in the folder itself.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let _ = std::fs::create_dir_all(data_dir);
    let full = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let hash = Sha256::digest(full.as_os_str().as_encoded_bytes());
    let name: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(run) => PathBuf::from(run).join(format!("banter-{name}.sock")),
        None => full.join("instance.sock"),
    }
}

/// The first instance: its lock and socket. Dropped, the socket goes and the lock
/// is released (a new start then becomes the first).
pub struct Primary {
    path: PathBuf,
    _lock: File,
}

impl Drop for Primary {
    fn drop(&mut self) {
        // Only the lock's holder touches the socket: this one is ours.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who we are for this folder.
pub enum Claim {
    /// The first: `on_show` runs (on a thread of its own) each time another `banter`
    /// asks for the window; it says whether the window will come up.
    First(Primary),
    /// Another instance runs (and was asked to show its window, if `show`).
    Running,
}

/// Becomes the instance for `path`, or finds the one running (and asks it to show
/// its window when `show`). The lock decides: whoever holds it owns the socket, so
/// two starts at once cannot both win, and a socket left by a crash is replaced.
pub fn claim(
    path: &Path,
    show: bool,
    on_show: impl Fn() -> bool + Send + 'static,
) -> std::io::Result<Claim> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path.with_extension("lock"))?;
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if ask(path, show) {
                    return Ok(Claim::Running);
                }
                if start.elapsed() > WAIT {
                    return Err(std::io::Error::other(
                        "another Banter holds this settings folder and does not answer",
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new()
        .name("instance".into())
        .spawn(move || serve(listener, on_show))?;
    Ok(Claim::First(Primary {
        path: path.to_path_buf(),
        _lock: lock,
    }))
}

/// Whether the instance at `path` answered (`show`: that it shows its window).
fn ask(path: &Path, show: bool) -> bool {
    let Ok(mut s) = UnixStream::connect(path) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let question: &[u8] = if show { b"show\n" } else { b"ping\n" };
    if s.write_all(question).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = BufReader::new(s.take(64)).read_line(&mut answer);
    answer.trim() == if show { SHOWN } else { HERE }
}

fn serve(listener: UnixListener, on_show: impl Fn() -> bool) {
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
        let mut line = String::new();
        // A line, and a short one: a client that never ends its line gets nothing.
        let Ok(reader) = conn.try_clone() else {
            continue;
        };
        if BufReader::new(reader.take(64))
            .read_line(&mut line)
            .is_err()
        {
            continue;
        }
        let answer = match line.trim() {
            "show" if on_show() => SHOWN,
            "ping" => HERE,
            _ => continue,
        };
        let _ = conn.write_all(format!("{answer}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The first claim listens (its socket the user's alone); a second for the same
    /// folder is told one runs, and the first hears it; one that only asks whether
    /// it runs does not show it; a socket left behind (a crash) is replaced; the
    /// socket goes when the first ends.
    #[test]
    fn a_second_instance_shows_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sock");
        let shown = Arc::new(AtomicUsize::new(0));
        let counter = shown.clone();
        let first = claim(&path, true, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            true
        })
        .unwrap();
        assert!(matches!(first, Claim::First(_)));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            claim(&path, true, || true).unwrap(),
            Claim::Running
        ));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
        assert!(matches!(
            claim(&path, false, || true).unwrap(),
            Claim::Running
        ));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
        drop(first);
        assert!(!path.exists());
        // A crash leaves the socket file: the next start takes its place.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        assert!(matches!(
            claim(&path, true, || true).unwrap(),
            Claim::First(_)
        ));
    }

    /// Eight starts at once: exactly one becomes the first.
    #[test]
    fn of_starts_at_once_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sock");
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    claim(&path, true, || true).unwrap()
                })
            })
            .collect();
        let claims: Vec<Claim> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let firsts = claims
            .iter()
            .filter(|c| matches!(c, Claim::First(_)))
            .count();
        assert_eq!(firsts, 1);
    }

    /// A first instance whose window is gone (quitting) does not say "shown": the
    /// second waits, and once the first has ended, it is the first.
    #[test]
    fn a_quitting_instance_does_not_hold_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sock");
        let first = claim(&path, true, || false).unwrap();
        let ender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            drop(first);
        });
        assert!(matches!(
            claim(&path, true, || true).unwrap(),
            Claim::First(_)
        ));
        ender.join().unwrap();
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
