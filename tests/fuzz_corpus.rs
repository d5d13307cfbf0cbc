//! The fuzz smoke CI runs: every input in fuzz/seeds/ (real stanzas and captures) and
//! fuzz/corpus/ (what the fuzzing campaigns kept, minimised; FUZZING.md) is fed to its
//! target's entry point, as libFuzzer would, in the ordinary test build.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("guard", banter::fuzzing::guard),
    ("jingle", banter::fuzzing::jingle),
    ("jmi", banter::fuzzing::jmi),
    ("message", banter::fuzzing::message),
    ("roster_disco", banter::fuzzing::roster_disco),
    ("vp8_rtp", banter_media::fuzzing::vp8_rtp),
    ("rtcp", banter_media::fuzzing::rtcp),
    ("turn_framing", banter_media::fuzzing::turn_framing),
    ("wav", banter_media::fuzzing::wav),
    ("y4m", banter_media::fuzzing::y4m),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_seed_and_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut total = 0;
    for (name, run) in TARGETS {
        let seeds = inputs(&root.join("seeds").join(name));
        assert!(!seeds.is_empty(), "no seeds for fuzz target {name}");
        let corpus = inputs(&root.join("corpus").join(name));
        for (path, data) in seeds.iter().chain(&corpus) {
            let outcome = std::panic::catch_unwind(|| run(data));
            assert!(outcome.is_ok(), "{name} failed on {path}");
            total += 1;
        }
    }
    eprintln!("{total} inputs replayed");
}
