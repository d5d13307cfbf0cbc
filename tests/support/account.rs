//! Account management scenarios run against each test server (Prosody and ejabberd).
#![allow(dead_code)]

use std::time::Duration;

use super::{run, User};

const T: Duration = Duration::from_secs(30);

/// `banter account password` then `banter account delete`, through the real binary:
/// the old password stops working and the new one works; deletion needs --yes, and
/// afterwards the account cannot sign in.
pub fn password_change_then_delete(user: &User) {
    let new_pw = user.pw_file.with_extension("new");
    std::fs::write(&new_pw, "a-new-password-42\n").unwrap();
    let flag = format!("--new-password-file={}", new_pw.display());
    let (ok, out, err) = run(user.banter(&["account", "password", &flag]), T);
    assert!(ok, "password: {err}");
    assert!(
        out.contains("password of") && out.contains("changed"),
        "{out}"
    );
    // The old password no longer signs in.
    let (ok, _, err) = run(user.banter(&["listen", "--duration", "0.3"]), T);
    assert!(!ok, "the old password still works");
    assert!(err.contains("wrong password"), "{err}");
    // The new one does.
    std::fs::copy(&new_pw, &user.pw_file).unwrap();
    let (ok, _, err) = run(user.banter(&["listen", "--duration", "0.3"]), T);
    assert!(ok, "the new password: {err}");

    let (ok, _, err) = run(user.banter(&["account", "delete"]), T);
    assert!(!ok, "deleted without --yes");
    assert!(err.contains("--yes"), "{err}");
    let (ok, out, err) = run(user.banter(&["account", "delete", "--yes"]), T);
    assert!(ok, "delete: {err}");
    assert!(out.contains("is deleted"), "{out}");
    let (ok, _, err) = run(user.banter(&["listen", "--duration", "0.3"]), T);
    assert!(!ok, "a deleted account signed in");
    assert!(err.contains("unknown account"), "{err}");
}
