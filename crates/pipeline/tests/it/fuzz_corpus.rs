//! Replays the CSV-ingest and redactor fuzz corpora (`fuzz/corpus/<target>/`) and kept
//! regressions (`fuzz/regressions/<target>/`) through the fuzz entry points, so that a
//! regression fails `cargo test` without running a fuzzer; also feeds every CSV test file and
//! every evaluation text through them.

use std::path::{Path, PathBuf};

use pipeline::fuzzing::{TARGETS, csv_ingest, redactor_input};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect()).unwrap_or_default();
    out.sort();
    out
}

#[test]
fn replay_corpora_and_regressions() {
    for (name, f) in TARGETS {
        let mut n = 0;
        for sub in ["corpus", "regressions"] {
            for p in files(&root().join("fuzz").join(sub).join(name)) {
                f(&std::fs::read(&p).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "no corpus files for fuzz target {name}");
    }
}

#[test]
fn every_test_csv_under_every_selector() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut n = 0;
    for sub in ["csv", "analyze"] {
        for p in files(&dir.join(sub)) {
            let body = std::fs::read(&p).unwrap();
            for sel in 0..=255u8 {
                let mut input = vec![sel];
                input.extend_from_slice(&body);
                csv_ingest(&input);
            }
            n += 1;
        }
    }
    assert!(n >= 20, "{n} test CSV files");
}

#[test]
fn every_evaluation_text_in_both_languages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let mut n = 0;
    for f in ["redact_eval.jsonl", "hard_cases.jsonl"] {
        for line in std::fs::read_to_string(dir.join(f)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for sel in [0u8, 1] {
                let mut input = vec![sel];
                input.extend_from_slice(v["text"].as_str().unwrap().as_bytes());
                redactor_input(&input);
            }
            n += 1;
        }
    }
    assert!(n >= 400, "{n} evaluation texts");
}
