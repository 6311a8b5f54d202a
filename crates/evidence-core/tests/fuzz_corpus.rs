//! Replays every fuzz corpus and regression file through the fuzz entry points, so that a
//! regression fails `cargo test` without running a fuzzer. Also feeds every vendored test
//! vector to every target.

use std::path::{Path, PathBuf};

use evidence_core::fuzzing::TARGETS;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn replay_corpora_and_regressions() {
    let mut replayed = 0;
    for (name, f) in TARGETS {
        let mut mine = 0;
        for sub in ["corpus", "regressions"] {
            for p in files(&root().join("fuzz").join(sub).join(name)) {
                f(&std::fs::read(&p).unwrap());
                mine += 1;
            }
        }
        // Seed corpora are committed for every target: none may be missing.
        assert!(mine > 0, "no corpus files for fuzz target {name}");
        replayed += mine;
    }
    println!("replayed {replayed} corpus files");
}

#[test]
fn every_vector_through_every_target() {
    let vectors = files(&root().join("testdata"));
    assert!(vectors.len() > 100);
    for p in &vectors {
        let data = std::fs::read(p).unwrap();
        for (_, f) in TARGETS {
            f(&data);
        }
    }
}
