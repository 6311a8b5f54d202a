//! Drives the real `evidence-verify tlog-proof` binary on proofs made by evidence-core.

use std::path::Path;
use std::process::Command;

use evidence_core::checkpoint::{Checkpoint, origin_for};
use evidence_core::leaf::LeafEntry;
use evidence_core::merkle::MemoryTree;
use evidence_core::note::NoteSigner;
use evidence_core::tlog_proof::TlogProof;
use evidence_core::types::{CheckpointHash, CheckpointSeq, Commitment, Seq, TenantId, UnixMillis};

struct Fixture {
    dir: tempfile::TempDir,
    vkey: String,
    origin: String,
}

/// A log of 21 leaf entries, a signed checkpoint, and the proof of entry 9 with its entry file.
fn fixture() -> Fixture {
    let tenant = TenantId::new("rooftop-7").unwrap();
    let origin = origin_for("ledger.test", &tenant);
    let signer = NoteSigner::from_seed(&origin, &[3; 32]).unwrap();
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    for i in 0..21u64 {
        let e = LeafEntry {
            tenant: tenant.clone(),
            seq: Seq(i),
            kind_code: 1,
            appended_at: UnixMillis(1_795_000_000_000 + i64::try_from(i).unwrap()),
            commitment: Commitment([u8::try_from(i).unwrap(); 32]),
            links: vec![],
        };
        tree.append(e.leaf_hash().unwrap());
        entries.push(e.encode().unwrap());
    }
    let cp = Checkpoint {
        origin: origin.clone(),
        tenant,
        seq: CheckpointSeq(0),
        root: tree.root(),
        prev: CheckpointHash([0; 32]),
        sealed_at: UnixMillis(1_795_000_100_000),
    };
    let signed = cp.sign(&signer).unwrap();
    let proof = TlogProof::new(&tree.inclusion_proof(9, 21).unwrap(), &signed, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.tlog-proof"), proof.encode()).unwrap();
    std::fs::write(dir.path().join("entry.bin"), &entries[9]).unwrap();
    std::fs::write(dir.path().join("other.bin"), &entries[10]).unwrap();
    Fixture { dir, vkey: signer.verifier().to_vkey(), origin }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evidence-verify")).current_dir(dir).arg("tlog-proof").args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn verifies_a_good_proof() {
    let f = fixture();
    let (code, out) = run(f.dir.path(), &["p.tlog-proof", "--entry", "entry.bin", "--key", &f.vkey, "--origin", &f.origin]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VERIFIED"));
    let (code, out) = run(f.dir.path(), &["p.tlog-proof", "--entry", "entry.bin", "--key", &f.vkey, "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["index"], 9);
    assert_eq!(v["tree_size"], 21);
}

#[test]
fn refuses_what_does_not_verify_with_exit_1() {
    let f = fixture();
    let other_key = NoteSigner::from_seed(&f.origin, &[4; 32]).unwrap().verifier().to_vkey();
    for args in [
        vec!["p.tlog-proof", "--entry", "other.bin", "--key", &f.vkey],
        vec!["p.tlog-proof", "--entry", "entry.bin", "--key", &other_key],
        vec!["p.tlog-proof", "--entry", "entry.bin", "--key", &f.vkey, "--origin", "ledger.test/tenant/other"],
        vec!["p.tlog-proof", "--leaf-hash", &"00".repeat(32), "--key", &f.vkey],
    ] {
        let (code, out) = run(f.dir.path(), &args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains("NOT VERIFIED"), "{out}");
    }
    // Malformed proofs are "not verified", not "could not check".
    let text = std::fs::read_to_string(f.dir.path().join("p.tlog-proof")).unwrap();
    for (i, bad) in
        [text.replacen("index 9", "index 09", 1), text.replace('\n', "\r\n"), text[..text.len() / 2].to_owned()].into_iter().enumerate()
    {
        let name = format!("bad{i}.tlog-proof");
        std::fs::write(f.dir.path().join(&name), bad).unwrap();
        let (code, out) = run(f.dir.path(), &[&name, "--entry", "entry.bin", "--key", &f.vkey]);
        assert_eq!(code, 1, "{name}: {out}");
    }
}

#[test]
fn cannot_check_gives_exit_2() {
    let f = fixture();
    for args in [
        vec!["missing.tlog-proof", "--entry", "entry.bin", "--key", &f.vkey],
        vec!["p.tlog-proof", "--entry", "missing.bin", "--key", &f.vkey],
        vec!["p.tlog-proof", "--entry", "entry.bin", "--key", "not-a-key"],
        vec!["p.tlog-proof", "--entry", "entry.bin"],
        vec!["p.tlog-proof", "--key", &f.vkey],
        vec!["p.tlog-proof", "--entry", "entry.bin", "--leaf-hash", "00", "--key", &f.vkey],
        vec!["p.tlog-proof", "--leaf-hash", "zz", "--key", &f.vkey],
    ] {
        let (code, out) = run(f.dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {out}");
    }
}

#[test]
fn json_reports_not_verified_and_could_not_check() {
    let f = fixture();
    let leaf = "00".repeat(32);
    let (code, out) = run(f.dir.path(), &["p.tlog-proof", "--leaf-hash", &leaf, "--key", &f.vkey, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["leaf_hash"], leaf.as_str());
    assert!(!v["reason"].as_str().unwrap().is_empty(), "{v}");
    let (code, out) = run(f.dir.path(), &["missing.tlog-proof", "--entry", "entry.bin", "--key", &f.vkey, "--json"]);
    assert_eq!(code, 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verified"], serde_json::Value::Null);
    assert!(v["error"].as_str().unwrap().contains("missing.tlog-proof"), "{v}");
}

#[test]
fn what_is_not_a_proof_is_could_not_check() {
    let f = fixture();
    let d = f.dir.path();
    std::fs::write(d.join("err.tlog-proof"), br#"{"error":{"code":"not_found","message":"no claim 99"}}"#).unwrap();
    std::fs::write(d.join("garbage.tlog-proof"), b"garbage").unwrap();
    for (name, hint) in [("err.tlog-proof", "error response from the server: not_found"), ("garbage.tlog-proof", "does not begin with")] {
        let (code, out) = run(d, &[name, "--entry", "entry.bin", "--key", &f.vkey]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains(hint), "{name}: {out}");
    }
}

#[test]
fn trust_file_instead_of_key() {
    use evidence_core::bundle::Base64;
    use evidence_core::trust::{LedgerKey, TRUST_FORMAT, TrustFile};
    let f = fixture();
    let d = f.dir.path();
    let signer = NoteSigner::from_seed(&f.origin, &[3; 32]).unwrap();
    let trust = |seed: u8| TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey {
            name: "ledger.test".into(),
            ed25519_public_key: Base64(NoteSigner::from_seed(&f.origin, &[seed; 32]).unwrap().verifier().key().as_bytes().to_vec()),
        }],
        tsa_roots_pem: vec![],
        fabric_msps: vec![],
        require: None,
        development: false,
    };
    assert_eq!(signer.verifier().key(), NoteSigner::from_seed(&f.origin, &[3; 32]).unwrap().verifier().key());
    std::fs::write(d.join("trust.json"), serde_json::to_vec(&trust(3)).unwrap()).unwrap();
    std::fs::write(d.join("other-trust.json"), serde_json::to_vec(&trust(4)).unwrap()).unwrap();
    let (code, out) = run(d, &["p.tlog-proof", "--entry", "entry.bin", "--trust", "trust.json"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(d, &["p.tlog-proof", "--entry", "entry.bin", "--trust", "other-trust.json"]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = run(d, &["p.tlog-proof", "--entry", "other.bin", "--trust", "trust.json"]);
    assert_eq!(code, 1, "{out}");
}
