//! Differential test of `TimeStampResp` parsing against OpenSSL, an independent
//! implementation: every fuzz-corpus response and deterministic mutations of it (truncations,
//! a trailing byte, bit flips) go through `openssl ts -reply -in F -text` and through
//! `rfc3161::parse_response`; the two must agree on accept/reject, except where we differ
//! on purpose:
//!
//! - **trailing bytes**: OpenSSL's `d2i` ignores bytes after the response; we refuse them
//!   (a signed object with appended data is not the object that was signed for);
//! - **malformed times**: OpenSSL accepts a `GeneralizedTime` whose content is not a time
//!   (it prints "Bad time value"); we refuse it at parse time;
//! - **tolerance**: we accept some inputs OpenSSL's strict decoder refuses (attribute
//!   certificates in the certificate set, which real TSAs send; fields verification never
//!   reads). The property checked for these: being more tolerant never changes what a
//!   verified token asserts: if such a mutated response verifies (against the original's embedded chain top),
//!   its genTime, serial, imprint and policy equal the original's.
//!
//! Needs the `openssl` CLI (skipped with a message otherwise; CI sets
//! `TSA_CLIENT_REQUIRE_OPENSSL=1`, which turns the skip into a failure).

use std::path::{Path, PathBuf};
use std::process::Command;

use evidence_core::rfc3161;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/tsp_response");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

/// A small deterministic generator (no external RNG crate needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % (bound as u64)).unwrap()
    }
}

fn mutations(name: &str, b: &[u8], rng: &mut Lcg) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![(format!("{name} original"), b.to_vec())];
    for cut in [1, 2, 10, b.len() / 2, b.len() - 1] {
        if cut > 0 && cut < b.len() {
            v.push((format!("{name} cut at {cut}"), b[..cut].to_vec()));
        }
    }
    let mut t = b.to_vec();
    t.push(0);
    v.push((format!("{name} trailing byte"), t));
    for _ in 0..8 {
        let i = rng.next(b.len());
        let bit = rng.next(8);
        let mut c = b.to_vec();
        c[i] ^= 1 << bit;
        v.push((format!("{name} flip byte {i} bit {bit}"), c));
    }
    v
}

fn openssl_accepts(dir: &Path, bytes: &[u8]) -> bool {
    let f = dir.join("case.tsr");
    std::fs::write(&f, bytes).unwrap();
    Command::new("openssl").args(["ts", "-reply", "-in"]).arg(&f).arg("-text").output().unwrap().status.success()
}

/// What a response asserts when it verifies against the chain top embedded in `original`.
fn facts(original: &[u8], bytes: &[u8]) -> Option<String> {
    let tok = rfc3161::parse_response(original).ok()?.token?;
    let anchors: Vec<_> = rfc3161::embedded_chain_top(&tok).into_iter().collect();
    let opts = rfc3161::TimestampOptions { trust_anchors: &anchors, ..Default::default() };
    let r = rfc3161::verify_response(bytes, &opts);
    r.outcome.ok()?;
    r.facts.map(|f| format!("{f:?}"))
}

#[test]
fn response_parsing_agrees_with_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(std::env::var_os("TSA_CLIENT_REQUIRE_OPENSSL").is_none(), "openssl is required");
        eprintln!("SKIPPED: no openssl CLI");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(0x5eed);
    let (mut cases, mut agree, mut trailing, mut bad_time, mut tolerated) = (0, 0, 0, 0, 0);
    let mut unexplained = Vec::new();
    for path in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        for (label, m) in mutations(&name, &bytes, &mut rng) {
            cases += 1;
            let theirs = openssl_accepts(tmp.path(), &m);
            let ours = rfc3161::parse_response(&m).is_ok();
            if theirs == ours {
                agree += 1;
            } else if label.ends_with("trailing byte") && theirs && !ours {
                trailing += 1;
            } else if theirs && !ours && matches!(rfc3161::parse_response(&m), Err(e) if e.to_string().to_lowercase().contains("time")) {
                bad_time += 1;
            } else if !theirs && ours {
                tolerated += 1;
                let (orig, mutated) = (facts(&bytes, &bytes), facts(&bytes, &m));
                if let Some(f) = mutated {
                    assert_eq!(Some(&f), orig.as_ref(), "{label}: a tolerated mutation verified with different facts");
                }
            } else {
                unexplained.push(format!("{label}: openssl {theirs}, ours {ours}: {:?}", rfc3161::parse_response(&m).err()));
            }
        }
    }
    println!(
        "{cases} cases: {agree} agree; on purpose: {trailing} trailing-byte refusals, {bad_time} malformed-time refusals, {tolerated} tolerated"
    );
    for u in &unexplained {
        println!("DIFFERENT  {u}");
    }
    assert!(cases > 300);
    assert!(unexplained.is_empty(), "{} unexplained differences with openssl (listed above)", unexplained.len());
}
