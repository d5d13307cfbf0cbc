//! Packaging (issue #22): the AppStream metadata and the .desktop entry pass their
//! validators, and the .deb built from this build's binary installs on a clean
//! Debian (debootstrap, the host's release, dependencies from the mirror), runs
//! there (`banter --version`) and is removed cleanly.

use std::process::Command;

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn metadata_passes_its_validators() {
    let (ok, out, err) = run(Command::new("appstreamcli").args([
        "validate",
        "--no-net",
        "assets/im.banter.Banter.metainfo.xml",
    ]));
    assert!(ok, "{out}{err}");
    let (ok, out, err) =
        run(Command::new("desktop-file-validate").arg("assets/im.banter.Banter.desktop"));
    assert!(ok && out.trim().is_empty(), "{out}{err}");
}

#[test]
fn the_deb_installs_on_a_clean_debian_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(Command::new("bash").args([
        "scripts/package-deb.sh",
        env!("CARGO_BIN_EXE_banter"),
        dir.path().to_str().unwrap(),
    ]));
    assert!(ok, "{err}");
    let deb = out.trim().to_string();
    let (ok, depends, err) = run(Command::new("dpkg-deb").args(["-f", &deb, "Depends"]));
    assert!(ok, "{err}");
    for lib in [
        "libasound2",
        "libvpx",
        "libdbus-1-3",
        "libegl1",
        "libxkbcommon-x11-0",
    ] {
        assert!(depends.contains(lib), "{lib} not in Depends: {depends}");
    }
    let (ok, files, err) = run(Command::new("dpkg-deb").args(["-c", &deb]));
    assert!(ok, "{err}");
    for f in [
        "./usr/bin/banter",
        "./usr/share/applications/im.banter.Banter.desktop",
        "./usr/share/metainfo/im.banter.Banter.metainfo.xml",
        "./usr/share/icons/hicolor/scalable/apps/im.banter.Banter.svg",
    ] {
        assert!(files.contains(f), "{f} not in the package: {files}");
    }
    let (ok, out, err) = run(Command::new("bash").args(["scripts/deb-check.sh", &deb]));
    assert!(ok, "{out}{err}");
    let version = format!("runs: banter {}", env!("CARGO_PKG_VERSION"));
    assert!(out.contains(&version), "{out}");
    assert!(out.contains("install ok installed"), "{out}");
    assert!(out.contains("removed: clean"), "{out}");
}
