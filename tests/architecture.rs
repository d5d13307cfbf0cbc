//! The shape of the code (issue #17): no file is too long to live in, and no two
//! modules import each other, directly or around a circle. A module may use its ancestors (`super::`) and its own children;
//! every other edge is an import between modules, and those must form no cycle.
//! Read from the sources (`crate::…` and `super::…` paths), test modules left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (crate root dir, crate name) of each crate checked.
const CRATES: [(&str, &str); 3] = [
    ("src", "banter"),
    ("media/src", "banter_media"),
    ("ui/src", "banter_ui"),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The binary's own modules, declared in main.rs (the front ends).
fn binary_modules(here: &Path) -> Vec<String> {
    let main = std::fs::read_to_string(here.join("src/main.rs")).unwrap();
    main.lines()
        .filter_map(|l| {
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

/// `a/b/mod.rs` and `a/b.rs` are module `a::b`; lib.rs and main.rs are the root.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without its `#[cfg(test)]` modules (they may use anything).
fn without_tests(src: &str) -> &str {
    match src.find("#[cfg(test)]\n") {
        Some(i) => &src[..i],
        None => src,
    }
}

/// Paths named in the source: `crate::a::b` and `super::a` (one level, resolved).
fn referenced(src: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", me[..me.len().saturating_sub(1)].to_vec()),
    ] {
        let mut at = 0;
        while let Some(i) = src[at..].find(prefix) {
            let start = at + i;
            at = start + prefix.len();
            // Not part of a longer identifier path like `my_crate::`.
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let rest = &src[at..];
            let path: Vec<String> = rest
                .split("::")
                .map_while(|seg| {
                    let seg: String = seg
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    (!seg.is_empty() && seg.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                        .then_some(seg)
                })
                .collect();
            let mut full = base.clone();
            full.extend(path);
            out.push(full);
        }
        // `use super::{a, b}` / `use crate::{a, b}`.
        let mut at = 0;
        let open = format!("{prefix}{{");
        while let Some(i) = src[at..].find(&open) {
            let start = at + i + open.len();
            let end = src[start..].find('}').map_or(src.len(), |e| start + e);
            for item in src[start..end].split(',') {
                let seg: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if seg.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    let mut full = base.clone();
                    full.push(seg);
                    out.push(full);
                }
            }
            at = end;
        }
    }
    out
}

#[test]
fn no_import_circles() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (dir, name) in CRATES {
        let root = here.join(dir);
        let mut files = Vec::new();
        rs_files(&root, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .map(|f| (module_of(&root, f), f.clone()))
            .collect();
        let known: BTreeSet<&Vec<String>> = modules.keys().collect();
        // The longest known module a path names.
        let resolve = |path: &[String]| -> Option<Vec<String>> {
            (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| known.contains(p))
        };
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (me, file) in &modules {
            let src = std::fs::read_to_string(file).unwrap();
            for path in referenced(without_tests(&src), me) {
                let Some(to) = resolve(&path) else { continue };
                // Ancestors and descendants are the module tree, not imports.
                if to.starts_with(me) || me.starts_with(&to) {
                    continue;
                }
                edges.entry(me.clone()).or_default().insert(to);
            }
        }
        // A cycle: depth-first search with an explicit stack of the current path.
        fn visit(
            m: &Vec<String>,
            edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
            path: &mut Vec<Vec<String>>,
            done: &mut BTreeSet<Vec<String>>,
            found: &mut Vec<String>,
        ) {
            if let Some(i) = path.iter().position(|p| p == m) {
                let circle: Vec<String> =
                    path[i..].iter().chain([m]).map(|p| p.join("::")).collect();
                found.push(circle.join(" -> "));
                return;
            }
            if !done.insert(m.clone()) {
                return;
            }
            path.push(m.clone());
            for n in edges.get(m).into_iter().flatten() {
                visit(n, edges, path, done, found);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for m in modules.keys() {
            let mut found = Vec::new();
            visit(m, &edges, &mut Vec::new(), &mut done, &mut found);
            for f in found {
                problems.push(format!("{name}: {f}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "import circles:\n{}",
        problems.join("\n")
    );
}

/// Files of one job each: none of the crates' source files (their unit tests in
/// `tests.rs` files aside) is over 700 lines.
#[test]
fn no_source_file_is_too_long() {
    const MAX_LINES: usize = 700;
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for (dir, _) in CRATES {
        let mut files = Vec::new();
        rs_files(&here.join(dir), &mut files);
        for f in files {
            if f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > MAX_LINES {
                long.push(format!("{} ({n} lines)", f.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The binary wires, the library serves: the front ends' crates (the window's
/// toolkit, the command line's parser, the OS keyring, desktop notifications,
/// logging set up) are optional, behind the `app` feature the binary requires, and
/// no module of the library names them. `cargo check --lib --no-default-features`
/// builds the library without them.
#[test]
fn the_library_needs_no_front_end() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).unwrap();
    let front = [
        ("banter-ui", "banter_ui"),
        ("clap", "clap"),
        ("keyring", "keyring"),
        ("notify-rust", "notify_rust"),
        ("tracing-subscriber", "tracing_subscriber"),
        ("directories", "directories"),
    ];
    let app = manifest
        .lines()
        .find(|l| l.starts_with("app = ["))
        .expect("an `app` feature");
    assert!(
        manifest.contains("required-features = [\"app\"]"),
        "the binary requires `app`"
    );
    for (package, _) in front {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("{package} = ")))
            .unwrap_or_else(|| panic!("{package} not in Cargo.toml"));
        assert!(
            line.contains("optional = true"),
            "{package} is not optional"
        );
        assert!(
            app.contains(&format!("\"dep:{package}\"")),
            "{package} not in `app`"
        );
    }
    // The binary's own modules, declared in main.rs.
    let binary = binary_modules(here);
    let mut files = Vec::new();
    rs_files(&here.join("src"), &mut files);
    let mut named = Vec::new();
    for f in files {
        let m = module_of(&here.join("src"), &f);
        let is_main = f.file_name().is_some_and(|n| n == "main.rs") && m.is_empty();
        if is_main || m.first().is_some_and(|top| binary.contains(top)) {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap();
        for (_, krate) in front {
            if src.contains(&format!("{krate}::")) || src.contains(&format!("use {krate}")) {
                named.push(format!("{} names {krate}", f.display()));
            }
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}

/// Protocol modules hand plain values to the client, which keeps them: nothing under
/// src/xmpp, src/jingle or src/omemo names the store or the client (test modules
/// aside; OMEMO keeps its state through its own `Keeper` trait, which the store
/// implements).
#[test]
fn protocol_modules_know_no_store() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = Vec::new();
    for dir in ["src/xmpp", "src/jingle", "src/omemo"] {
        let mut files = Vec::new();
        rs_files(&here.join(dir), &mut files);
        for f in files {
            if f.file_name()
                .is_some_and(|n| n == "tests.rs" || n == "harness.rs")
            {
                continue;
            }
            let src = std::fs::read_to_string(&f).unwrap();
            let src = without_tests(&src);
            for layer in ["crate::store", "crate::client"] {
                if src.contains(layer) {
                    named.push(format!("{} names {layer}", f.display()));
                }
            }
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}

/// The window and the command line speak to one API: the client's (`banter::client`,
/// which re-exports the few protocol and store types it hands out). No module of the
/// binary, its unit tests included, reaches into `banter::xmpp`, `jingle`, `store`,
/// `rooms`, `omemo` or `local`, or names the XMPP parser crate.
#[test]
fn front_ends_use_the_client_api_only() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = binary_modules(here);
    assert!(binary.iter().any(|m| m == "window") && binary.iter().any(|m| m == "cli"));
    let mut files = Vec::new();
    rs_files(&here.join("src"), &mut files);
    let mut named = Vec::new();
    for f in files {
        let m = module_of(&here.join("src"), &f);
        let is_main = f.file_name().is_some_and(|n| n == "main.rs") && m.is_empty();
        if !is_main && !m.first().is_some_and(|top| binary.contains(top)) {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap();
        if src.contains("xmpp_parsers") {
            named.push(format!("{} names xmpp_parsers", f.display()));
        }
        let mut at = 0;
        while let Some(i) = src[at..].find("banter::") {
            let rest = &src[at + i + "banter::".len()..];
            let next: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{')
                .collect();
            if next != "client" && !next.starts_with("client") {
                named.push(format!("{} names banter::{next}", f.display()));
            }
            at += i + 1;
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}
