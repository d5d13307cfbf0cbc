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

/// Whether Banter starts at login (the entry exists and is not disabled).
pub fn is_on(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| {
        !t.lines()
            .any(|l| l.trim() == "Hidden=true" || l.trim() == "X-GNOME-Autostart-enabled=false")
    })
}

/// Writes the entry (starting `exe` for `data_dir`), or removes it.
pub fn set(path: &Path, on: bool, exe: &Path, data_dir: &Path) -> std::io::Result<()> {
    if !on {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, entry(exe, data_dir))
}

/// The entry's text. `Exec` quotes each argument as the Desktop Entry specification
/// asks, so a path with spaces or quotes starts the right program.
fn entry(exe: &Path, data_dir: &Path) -> String {
    let exec = [
        quote(&exe.to_string_lossy()),
        "--hidden".to_string(),
        "--config-dir".to_string(),
        quote(&data_dir.to_string_lossy()),
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

    /// On writes an entry that starts this binary hidden for this folder; off removes
    /// it (twice is fine); an entry the user disabled reads as off.
    #[test]
    fn the_entry_is_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("autostart").join(FILE);
        assert!(!is_on(&path));
        set(
            &path,
            true,
            Path::new("/usr/bin/banter"),
            Path::new("/home/a/.b"),
        )
        .unwrap();
        assert!(is_on(&path));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\nExec=/usr/bin/banter --hidden --config-dir /home/a/.b\n"),
            "{text}"
        );
        assert!(
            text.starts_with("[Desktop Entry]\nType=Application\n"),
            "{text}"
        );
        set(&path, false, Path::new("/x"), Path::new("/y")).unwrap();
        assert!(!is_on(&path));
        set(&path, false, Path::new("/x"), Path::new("/y")).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "[Desktop Entry]\nHidden=true\n").unwrap();
        assert!(!is_on(&path));
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
