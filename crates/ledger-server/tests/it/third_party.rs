//! What a third party gets from the server and checks with tools that are not ours, or not the
//! server's: a real bundle re-checked by `docs/verify_bundle.py` (written from
//! `docs/FORMATS.md` alone, Python + `cryptography`), passing as served and failing with one
//! byte of the root, an inclusion-path hash or a consistency-path hash altered; and the
//! `…/checkpoint-chain` file, the `…/tlog-proof` file and the `…/verifier-key` checked by the
//! real `evidence-verify` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use evidence_core::Bundle;
use evidence_core::trust::{TrustFile, TrustStore};
use evidence_core::verify::{Verdict, Verifier};
use ledger::store::TenantStore as _;
use ledger_server::auth::Role;
use serde_json::{Value, json};
use test_support::{OpensslTsa, ServedLedger, TempDir};

const TENANT: &str = "rooftop-7";

fn require_tools() -> bool {
    std::env::var_os("REPORTS_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// A Python that can import `cryptography`: `$REPORTS_PYHANKO_PYTHON` (the venv `.ci/run`
/// makes for pyHanko, which depends on it), `target/pyhanko-venv`, then `python3`.
fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("REPORTS_PYHANKO_PYTHON").map(PathBuf::from).into_iter().collect();
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyhanko-venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    let found =
        candidates.into_iter().find(|p| Command::new(p).args(["-c", "import cryptography"]).output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(!require_tools(), "a Python with `cryptography` is required (REPORTS_REQUIRE_TOOLS=1); set REPORTS_PYHANKO_PYTHON");
        eprintln!("SKIPPED: no Python that imports `cryptography` (set REPORTS_PYHANKO_PYTHON)");
    }
    found
}

/// The `evidence-verify` binary beside this test's binaries (built if missing: another crate's).
fn evidence_verify() -> PathBuf {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ledger-server")).parent().unwrap().to_path_buf();
    let bin = bin_dir.join("evidence-verify");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .args(["build", "-q", "-p", "verifier-cli", "--bin", "evidence-verify"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    assert!(bin.exists(), "evidence-verify not found at {}", bin.display());
    bin
}

fn run(cmd: &mut Command) -> (i32, String) {
    let o = cmd.output().unwrap();
    (o.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

struct Served {
    server: ServedLedger,
    http: reqwest::blocking::Client,
    dir: TempDir,
    trust: TrustFile,
}

impl Served {
    fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(format!("{}{path}", self.server.base)).bearer_auth(&self.server.bearer).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn append(&self, body: &Value) {
        let r = self
            .http
            .post(format!("{}/v1/tenants/{TENANT}/claims", self.server.base))
            .bearer_auth(&self.server.bearer)
            .json(&json!({"kind": "leakage_finding", "body": body}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
    }

    fn seal(&self) -> u64 {
        let t = self.server.tenant(TENANT);
        let before = self.server.block_on(t.store().latest_checkpoint()).unwrap().map(|c| c.seq.0);
        let c = self.server.block_on(t.seal_now()).unwrap();
        assert_ne!(Some(c.seq.0), before, "a new checkpoint");
        c.root.tree_size.0
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Claims 0-2, sealed and anchored (an independent TSA: `openssl ts -reply`); claims 3-4,
/// sealed and not anchored. So claim 1's bundle is proven against the anchored checkpoint of 3
/// leaves and carries the newer checkpoint of 5 leaves as a consistency-linked later checkpoint.
fn served() -> Served {
    let server = ServedLedger::start(&[TENANT], Role::DealerPrincipal);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let dir = TempDir::new("third-party");
    let tsa = OpensslTsa::generate("Third-party TSA", "CA").unwrap();
    let trust = ledger_server::dev::trust_file(
        &test_support::fixtures::signer(),
        vec![std::fs::read_to_string(tsa.ca_pem()).unwrap()],
        Vec::new(),
        false,
    );
    let s = Served { server, http, dir, trust };
    std::fs::write(s.path("trust.json"), serde_json::to_vec_pretty(&s.trust).unwrap()).unwrap();
    // Bodies with what RFC 8785 is particular about: numbers, non-ASCII text, escapes, key order.
    s.append(&json!({"analyzer": "cit", "deal": "D-1", "amount": 1250.5, "days": 41, "note": "reçu — «ok»\t\"x\"", "Zeta": 1e-7, "alpha": [1e21, 0.5, -0.0]}));
    s.append(&json!({"analyzer": "cit", "deal": "D-2", "amount": "125.00", "\u{e9}t\u{e9}": true, "e": null}));
    s.append(&json!({"analyzer": "fi", "deal": "D-3", "ratio": 0.000_001_5, "big": 9_007_199_254_740_991_i64}));
    assert_eq!(s.seal(), 3);
    let t = s.server.tenant(TENANT);
    assert!(s.server.block_on(t.process_anchors(&tsa, &ledger::anchor::NoFabric, 10)).unwrap().anchored >= 1);
    s.append(&json!({"analyzer": "cit", "deal": "D-4"}));
    s.append(&json!({"analyzer": "cit", "deal": "D-5"}));
    assert_eq!(s.seal(), 5);
    s
}

/// Alters one byte of the checkpoint root inside a signed note (the base64 third line).
fn alter_root(note: &str) -> String {
    let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
    let mut root = B64.decode(&lines[2]).unwrap();
    root[7] ^= 0x01;
    lines[2] = B64.encode(root);
    lines.join("\n")
}

/// Alters one byte of a hex hash.
fn alter_hex(v: &mut Value) {
    let mut raw = hex::decode(v.as_str().unwrap()).unwrap();
    raw[0] ^= 0x80;
    *v = Value::String(hex::encode(raw));
}

#[test]
fn docs_script_rechecks_a_real_bundle_and_refuses_one_altered_byte() {
    let Some(py) = python() else { return };
    let s = served();
    let (status, text) = s.get(&format!("/v1/tenants/{TENANT}/claims/1/bundle"));
    assert_eq!(status, 200, "{text}");
    let bundle: Value = serde_json::from_str(&text).unwrap();
    // The parts the script re-checks are all there and non-trivial.
    assert!(!bundle["claims"][0]["inclusion_proof"]["path"].as_array().unwrap().is_empty());
    assert_eq!(bundle["later_checkpoints"].as_array().map(Vec::len), Some(1), "{bundle}");
    assert!(!bundle["later_checkpoints"][0]["proof"]["path"].as_array().unwrap().is_empty());
    let verifier = Verifier::new(TrustStore::new(s.trust.clone()).unwrap());
    let rust_verdict = |b: &Value| verifier.verify(&serde_json::from_value::<Bundle>(b.clone()).unwrap()).verdict;
    assert_eq!(rust_verdict(&bundle), Verdict::Verified);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify_bundle.py");
    let check = |name: &str, b: &Value, key: bool| {
        let p = s.path(name);
        std::fs::write(&p, serde_json::to_vec(b).unwrap()).unwrap();
        let mut cmd = Command::new(&py);
        cmd.arg(&script).arg(&p);
        if key {
            cmd.arg("--ledger-key").arg(B64.encode(test_support::fixtures::signer().verifier().key().as_bytes()));
        } else {
            cmd.arg("--trust").arg(s.path("trust.json"));
        }
        run(&mut cmd)
    };
    for key in [false, true] {
        let (code, out) = check("bundle.json", &bundle, key);
        assert_eq!(code, 0, "{out}");
        for line in ["PASS  checkpoint", "PASS  claim 1: leaf hash", "RFC 8785 form hashes", "commitment opens", "-> ", "OK "] {
            assert!(out.contains(line), "{line:?} missing in\n{out}");
        }
    }
    // One byte of the checkpoint root: the signed note no longer verifies.
    let mut b = bundle.clone();
    b["checkpoint"] = Value::String(alter_root(bundle["checkpoint"].as_str().unwrap()));
    let (code, out) = check("root.json", &b, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL") && out.contains("does not verify"), "{out}");
    assert_ne!(rust_verdict(&b), Verdict::Verified);
    // One byte of an inclusion-path hash.
    let mut b = bundle.clone();
    alter_hex(&mut b["claims"][0]["inclusion_proof"]["path"][0]);
    let (code, out) = check("inclusion.json", &b, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("inclusion proof does not give the checkpoint's root"), "{out}");
    assert_ne!(rust_verdict(&b), Verdict::Verified);
    // One byte of a consistency-path hash.
    let mut b = bundle.clone();
    alter_hex(&mut b["later_checkpoints"][0]["proof"]["path"][0]);
    let (code, out) = check("consistency.json", &b, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  consistency"), "{out}");
    assert_ne!(rust_verdict(&b), Verdict::Verified);
    // A changed record: its RFC 8785 form no longer hashes to the content hash.
    let mut b = bundle.clone();
    b["claims"][0]["record"]["body"]["amount"] = json!("126.00");
    let (code, out) = check("record.json", &b, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the record hashes to"), "{out}");
    // A trust file with another ledger key: no trusted signature.
    let (code, out) = run(Command::new(&py).arg(&script).arg(s.path("bundle.json")).arg("--ledger-key").arg(B64.encode([9u8; 32])));
    assert_ne!(code, 0, "{out}");
}

#[test]
fn the_servers_checkpoint_chain_tlog_proof_and_key_verify_with_the_real_binary() {
    let bin = evidence_verify();
    let s = served();
    let (status, vkey) = s.get(&format!("/v1/tenants/{TENANT}/verifier-key"));
    assert_eq!(status, 200, "{vkey}");
    let vkey = vkey.trim().to_owned();

    // The whole chain, as served, is what `evidence-verify checkpoints` reads.
    let (status, chain) = s.get(&format!("/v1/tenants/{TENANT}/checkpoint-chain"));
    assert_eq!(status, 200, "{chain}");
    let v: Value = serde_json::from_str(&chain).unwrap();
    assert_eq!(v["format"], "evidence-checkpoints/v1");
    let links = v["links"].as_array().unwrap();
    assert!(links.len() >= 2, "{chain}");
    assert!(links[0]["consistency"].is_null());
    assert!(links[1..].iter().all(|l| l["consistency"]["path"].is_array()));
    std::fs::write(s.path("chain.json"), &chain).unwrap();
    let trust = s.path("trust.json");
    for args in [vec!["--trust", trust.to_str().unwrap()], vec!["--key", &vkey]] {
        let (code, out) = run(Command::new(&bin).arg("checkpoints").arg(s.path("chain.json")).args(&args));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("VERIFIED  {} checkpoints", links.len())), "{out}");
    }
    // A sub-range by checkpoint numbers: its first link carries no proof, and it verifies too.
    let last = links.len() - 1;
    let (status, part) = s.get(&format!("/v1/tenants/{TENANT}/checkpoint-chain?from={}&to={last}", last - 1));
    assert_eq!(status, 200, "{part}");
    let pv: Value = serde_json::from_str(&part).unwrap();
    assert_eq!(pv["links"].as_array().unwrap().len(), 2);
    assert!(pv["links"][0]["consistency"].is_null());
    std::fs::write(s.path("part.json"), &part).unwrap();
    let (code, out) = run(Command::new(&bin).args(["checkpoints", "--json", "--key", &vkey]).arg(s.path("part.json")));
    assert_eq!(code, 0, "{out}");
    let r: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((r["from"].as_u64(), r["to"].as_u64(), r["tree_size"].as_u64()), (Some(last as u64 - 1), Some(last as u64), Some(5)));
    // One byte of a consistency hash altered: not verified (exit 1).
    let mut bad = v.clone();
    let link = links.iter().rposition(|l| l["consistency"]["path"].as_array().is_some_and(|p| !p.is_empty())).unwrap();
    alter_hex(&mut bad["links"][link]["consistency"]["path"][0]);
    std::fs::write(s.path("bad.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let (code, out) = run(Command::new(&bin).args(["checkpoints", "--key", &vkey]).arg(s.path("bad.json")));
    assert_eq!(code, 1, "{out}");
    // Refusals: numbers past the chain are 404, a reversed range is 400.
    let (status, body) = s.get(&format!("/v1/tenants/{TENANT}/checkpoint-chain?from=99"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no_such_checkpoint"), "{body}");
    let (status, body) = s.get(&format!("/v1/tenants/{TENANT}/checkpoint-chain?from=0&to=99"));
    assert_eq!(status, 404, "{body}");
    let (status, body) = s.get(&format!("/v1/tenants/{TENANT}/checkpoint-chain?from=2&to=1"));
    assert_eq!(status, 400, "{body}");

    // The tlog-proof of claim 3 (proven against the latest checkpoint) with its leaf hash.
    let (status, proof) = s.get(&format!("/v1/tenants/{TENANT}/claims/3/tlog-proof"));
    assert_eq!(status, 200, "{proof}");
    std::fs::write(s.path("claim-3.tlog-proof"), &proof).unwrap();
    let (_, claim) = s.get(&format!("/v1/tenants/{TENANT}/claims/3"));
    let leaf_hash = serde_json::from_str::<Value>(&claim).unwrap()["receipt"]["leaf_hash"].as_str().unwrap().to_owned();
    for args in [vec!["--trust", trust.to_str().unwrap()], vec!["--key", &vkey]] {
        let (code, out) =
            run(Command::new(&bin).arg("tlog-proof").arg(s.path("claim-3.tlog-proof")).args(["--leaf-hash", &leaf_hash]).args(&args));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("VERIFIED"), "{out}");
    }
}
