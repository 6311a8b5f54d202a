//! Drives the real `evidence-verify fabric-block` binary on the real Fabric 2.4.7 blocks in
//! testdata/fabric: every block from 1 verifies with its predecessor against its own
//! ledger's MSP roots, fails against the other ledger's, and tampered copies fail.

use std::path::{Path, PathBuf};
use std::process::Command;

const LEDGERS: [&str; 2] = ["asset-transfer-basic-2.4.7", "asset-transfer-private-data-2.4.7-org1"];

fn dir(ledger: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fabric").join(ledger)
}

fn blocks(ledger: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(ledger))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "block"))
        .collect();
    v.sort();
    v
}

fn verify(block: &Path, roots: &Path, prev: Option<&Path>, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evidence-verify"));
    cmd.arg("fabric-block").arg(block).arg("--msp-roots").arg(roots);
    if let Some(p) = prev {
        cmd.arg("--prev").arg(p);
    }
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn every_real_block_verifies_with_its_predecessor() {
    for ledger in LEDGERS {
        let bs = blocks(ledger);
        assert!(bs.len() >= 10, "{ledger}");
        let roots = dir(ledger).join("msp-roots");
        for pair in bs.windows(2) {
            let (code, out) = verify(&pair[1], &roots, Some(&pair[0]), false);
            assert_eq!(code, 0, "{}: {out}", pair[1].display());
            assert!(out.starts_with("VERIFIED"), "{out}");
        }
        let (code, out) = verify(&bs[3], &roots, None, true);
        assert_eq!(code, 0, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verified"], true);
        assert_eq!(v["block"]["orderer_signatures"][0]["msp_id"], "OrdererMSP");
    }
}

#[test]
fn other_ledgers_roots_wrong_predecessor_and_tampering_fail() {
    let [a, b] = LEDGERS;
    let ba = blocks(a);
    // The other network's CAs.
    let (code, out) = verify(&ba[3], &dir(b).join("msp-roots"), None, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("NOT VERIFIED"), "{out}");
    // Not its predecessor.
    let (code, out) = verify(&ba[5], &dir(a).join("msp-roots"), Some(&ba[3]), false);
    assert_eq!(code, 1, "{out}");
    // Any flipped byte in the block: not verified (or malformed), never verified.
    let bytes = std::fs::read(&ba[4]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = 0;
    for i in (0..bytes.len()).step_by(97) {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let p = tmp.path().join("t.block");
        std::fs::write(&p, &t).unwrap();
        let (code, out) = verify(&p, &dir(a).join("msp-roots"), Some(&ba[3]), false);
        assert_ne!(code, 0, "flipping byte {i} still verified: {out}");
        assert_eq!(code, 1, "byte {i}: {out}");
        failures += 1;
    }
    assert!(failures > 10);
    // Garbage and truncation: not verified, exit 1; missing files: exit 2.
    std::fs::write(tmp.path().join("g.block"), b"\xff\xff\xff\xff garbage").unwrap();
    assert_eq!(verify(&tmp.path().join("g.block"), &dir(a).join("msp-roots"), None, false).0, 1);
    std::fs::write(tmp.path().join("h.block"), &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(verify(&tmp.path().join("h.block"), &dir(a).join("msp-roots"), None, false).0, 1);
    assert_eq!(verify(&tmp.path().join("missing.block"), &dir(a).join("msp-roots"), None, false).0, 2);
    assert_eq!(verify(&ba[3], tmp.path(), None, false).0, 2, "a directory without <MSPID>.pem files");
}
