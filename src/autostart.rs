//! "Start Banter when I log in": an XDG autostart entry
//! (`$XDG_CONFIG_HOME/autostart/im.banter.Banter.desktop`) that starts this binary
//! in the tray (`--hidden`), for the same settings folder.

use std::path::{Path, PathBuf};

/// The entry's file name: the application id, as the .desktop file is named.
const FILE: &str = "im.banter.Banter.desktop";

/// Where the entry goes: `$XDG_CONFIG_HOME/autostart` (by default `~/.config`).
pub fn entry_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("autostart").join(FILE))
}

/// Whether Banter starts at login for `data_dir`: the entry exists, is not
/// disabled, and starts this settings folder (another folder's entry is not ours).
pub fn is_on(path: &Path, data_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let disabled = text
        .lines()
        .any(|l| l.trim() == "Hidden=true" || l.trim() == "X-GNOME-Autostart-enabled=false");
    let tail = format!(" --config-dir {}", folder_arg(data_dir));
    let ours = text
        .lines()
        .any(|l| l.strip_prefix("Exec=").is_some_and(|e| e.ends_with(&tail)));
    !disabled && ours
}

/// Writes the entry (starting `exe` for `data_dir`), or removes it (only if it is
/// this folder's).
pub fn set(path: &Path, on: bool, exe: &Path, data_dir: &Path) -> std::io::Result<()> {
    if !on {
        if path.exists() && !is_on(path, data_dir) {
            return Ok(());
        }
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    // After an upgrade the running binary's path reads "… (deleted)": the new file
    // is at the same place.
    let exe = exe.to_string_lossy();
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
    let folder = real(data_dir);
    for p in [exe, &*folder.to_string_lossy()] {
        if p.chars().any(char::is_control) {
            return Err(std::io::Error::other(format!(
                "{p:?} has a control character: it cannot stand in an autostart entry"
            )));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, entry(Path::new(exe), &folder))
}

/// The folder's full, real path: the entry runs from another working directory.
fn real(data_dir: &Path) -> PathBuf {
    std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf())
}

/// `--config-dir`'s argument as the entry writes it.
fn folder_arg(data_dir: &Path) -> String {
    quote(&real(data_dir).to_string_lossy())
}

/// The entry's text. `Exec` quotes each argument as the Desktop Entry specification
/// asks, so a path with spaces or quotes starts the right program.
fn entry(exe: &Path, data_dir: &Path) -> String {
    let exec = [
        quote(&exe.to_string_lossy()),
        "--hidden".to_string(),
        "--config-dir".to_string(),
        folder_arg(data_dir),
    ]
    .join(" ");
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Banter\n\
         Comment=Voice and video calls and chat over XMPP\n\
         Icon=im.banter.Banter\n\
         Exec={exec}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// One `Exec` argument: in double quotes when it holds a reserved character, with
/// `"`, `` ` ``, `$` and `\` escaped; `%` doubled (field codes); and the whole value's
/// backslashes doubled again, as a string value of the key file.
fn quote(arg: &str) -> String {
    let reserved = |c: char| " \t\n\"'\\><~|&;$*?#()`".contains(c);
    let arg = arg.replace('%', "%%");
    let quoted = if arg.chars().any(reserved) {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        arg
    };
    quoted.replace('\\', "\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On writes an entry that starts this binary hidden for this folder (its real
    /// path); off removes it (twice is fine); another folder's entry is neither
    /// "on" here nor removed from here; an entry the user disabled reads as off; an
    /// upgraded binary's "(deleted)" is not written; a newline cannot get in.
    #[test]
    fn the_entry_is_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("autostart").join(FILE);
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let real_a = std::fs::canonicalize(&a).unwrap();
        assert!(!is_on(&path, &a));
        let exe = Path::new("/usr/bin/banter (deleted)");
        set(&path, true, exe, &a.join("..").join("a")).unwrap();
        assert!(is_on(&path, &a));
        assert!(!is_on(&path, &b));
        let text = std::fs::read_to_string(&path).unwrap();
        let exec = format!(
            "\nExec=/usr/bin/banter --hidden --config-dir {}\n",
            real_a.display()
        );
        assert!(text.contains(&exec), "{text}");
        assert!(
            text.starts_with("[Desktop Entry]\nType=Application\n"),
            "{text}"
        );
        set(&path, false, Path::new("/x"), &b).unwrap();
        assert!(is_on(&path, &a), "b removed a's entry");
        set(&path, false, Path::new("/x"), &a).unwrap();
        assert!(!is_on(&path, &a) && !path.exists());
        set(&path, false, Path::new("/x"), &a).unwrap();
        set(&path, true, Path::new("/usr/bin/banter"), &a).unwrap();
        let disabled = std::fs::read_to_string(&path).unwrap() + "Hidden=true\n";
        std::fs::write(&path, disabled).unwrap();
        assert!(!is_on(&path, &a));
        assert!(set(&path, true, Path::new("/usr/bin/x\nHidden=true"), &a).is_err());
    }

    /// Paths with spaces, quotes, dollars and percents survive the Exec line.
    #[test]
    fn exec_arguments_are_quoted() {
        assert_eq!(quote("/usr/bin/banter"), "/usr/bin/banter");
        assert_eq!(quote("/home/a b/x"), "\"/home/a b/x\"");
        assert_eq!(quote("/a\"$b"), "\"/a\\\\\"\\\\$b\"");
        assert_eq!(quote("/100%"), "/100%%");
    }
}
