//! Batch verification throughput (issue 8): single-claim evidence bundles, each with an
//! RSA-2048 RFC 3161 token (made by the `openssl ts -reply` CLI, an independent TSA) and a
//! Fabric receipt (a block from this crate's receipt factory, the emulator's own endorsement,
//! validation and ordering code), in two shapes:
//!
//! - **shared**: `BATCH_BUNDLES` (default 10 000) claims sealed under one checkpoint, so every
//!   bundle carries the same two anchors (what a batch from one hourly checkpoint looks like);
//! - **distinct**: `BATCH_DISTINCT` (default 1 000) bundles from as many tenants' logs, each
//!   with its own checkpoint, its own token and its own Fabric transaction and block (the
//!   worst case: nothing but the certificates is shared).
//!
//! Each is verified in process on one thread with the plain standard verifier
//! (`verify_bundle_offline`), in process on every core from the files with the memoising
//! verifier (what `evidence-verify batch` does), and by the real `evidence-verify batch` binary
//! when it has been built in the same profile (process start, reading the files and the
//! summary table included).
//!
//! `cargo build --release -p verifier-cli && cargo bench -p fabric-anchor --bench verify_batch`
//! (needs the `openssl` CLI). The bench
//! lives here rather than in verifier-cli so that the verifier's dependency tree (dev
//! dependencies included) never contains tonic.
#![allow(clippy::cast_precision_loss, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use evidence_core::bundle::{Base64, Bundle, FabricAnchor, TimestampAnchor};
use evidence_core::note::NoteSigner;
use evidence_core::sink::{DeterministicEnv, MemorySink};
use evidence_core::trust::{MspCertificates, TrustFile};
use evidence_core::{AppendRequest, CheckpointHash, Claim, ClaimKind, ClaimSink as _, TenantId, UnixMillis};
use evidence_core::{TrustStore, Verdict, Verifier};
use fabric_anchor::ReceiptFactory;

const LEDGER: &str = "ledger.bench.example";

fn sh(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl CLI");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An RSA-2048 TSA under an RSA root, run with the openssl CLI.
struct OpensslTsa {
    dir: PathBuf,
    root_pem: String,
}

impl OpensslTsa {
    fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("tsa.ext"), "extendedKeyUsage=critical,timeStamping\nbasicConstraints=critical,CA:FALSE\n").unwrap();
        std::fs::write(
            dir.join("ts.cnf"),
            "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./serial\nsigner_cert = ./tsa.pem\nsigner_key = ./tsa.key\n\
             signer_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256\ness_cert_id_alg = sha256\n\
             accuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ncerts = ./tsa.pem\n",
        )
        .unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        sh(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "root.key",
                "-out",
                "root.pem",
                "-subj",
                "/CN=Bench RSA Root",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
        );
        sh(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Bench RSA TSA"]);
        sh(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-CAcreateserial",
                "-out",
                "tsa.pem",
                "-days",
                "30",
                "-extfile",
                "tsa.ext",
            ],
        );
        Self { dir: dir.to_owned(), root_pem: std::fs::read_to_string(dir.join("root.pem")).unwrap() }
    }

    /// A `TimeStampResp` (DER) over a SHA-256 digest.
    fn stamp(&self, digest: &[u8; 32]) -> Vec<u8> {
        sh(&self.dir, &["ts", "-query", "-digest", &hex::encode(digest), "-sha256", "-cert", "-no_nonce", "-out", "q.tsq"]);
        sh(&self.dir, &["ts", "-reply", "-config", "ts.cnf", "-section", "t", "-queryfile", "q.tsq", "-out", "r.tsr"]);
        std::fs::read(self.dir.join("r.tsr")).unwrap()
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn claim(i: u64) -> Claim {
    Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"deal": format!("D-{i}"), "staff": "FI-07", "amount": "125.00"})).unwrap()
}

/// The two anchors of one checkpoint.
fn anchors(tsa: &OpensslTsa, factory: &ReceiptFactory, tenant: &TenantId, hash: &CheckpointHash) -> (TimestampAnchor, FabricAnchor) {
    let (receipt, key) = factory.receipt(tenant.as_str(), 0, hash).expect("emulator receipt");
    let ts = TimestampAnchor {
        tsa: "bench-rsa".into(),
        jurisdiction: Some("CA".into()),
        token: Base64(tsa.stamp(&hash.0)),
        certificates: Vec::new(),
        outside_residency: false,
    };
    let fabric = FabricAnchor {
        channel: receipt.channel.clone(),
        block: Base64(receipt.block),
        tx_index: u32::try_from(receipt.tx_index).unwrap(),
        key,
        msp_roots: Vec::new(),
    };
    (ts, fabric)
}

fn write(dir: &Path, i: usize, b: &Bundle) -> PathBuf {
    let path = dir.join(format!("claim-{i:05}.json"));
    std::fs::write(&path, serde_json::to_vec(b).unwrap()).unwrap();
    path
}

/// Prints bundles/s for the three ways of verifying `bundles` (also written as `files`).
fn measure(shape: &str, bundles: &[Bundle], files: &[PathBuf], dir: &Path, trust: &TrustFile, trust_path: &Path) {
    let n = bundles.len();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("\n{shape}: {n} bundles (RSA-2048 TSA token + Fabric receipt each), {cores} cores; target 2 000 bundles/s");

    let plain = Verifier::new(TrustStore::new(trust.clone()).unwrap());
    let t0 = Instant::now();
    for b in bundles {
        let r = plain.verify(b);
        assert_eq!(r.verdict, Verdict::Verified, "{r:?}");
    }
    println!("  in process, 1 thread, no anchor memo:        {:>8.0} bundles/s", n as f64 / t0.elapsed().as_secs_f64());

    let memo = Verifier::new(TrustStore::new(trust.clone()).unwrap()).memoized();
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let b: Bundle = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
                    let r = memo.verify(&b);
                    assert_eq!(r.verdict, Verdict::Verified);
                }
            });
        }
    });
    println!("  in process, {cores} threads, files, anchor memo:  {:>8.0} bundles/s", n as f64 / t0.elapsed().as_secs_f64());

    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).map(|d| d.join("evidence-verify"));
    match bin.filter(|b| b.is_file()) {
        Some(bin) => {
            let t0 = Instant::now();
            let out = Command::new(&bin).arg("batch").arg(dir).arg("--trust").arg(trust_path).arg("--json").output().unwrap();
            let secs = t0.elapsed().as_secs_f64();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["verified"], n);
            println!("  evidence-verify batch (whole process):       {:>8.0} bundles/s", n as f64 / secs);
        }
        None => println!("  evidence-verify batch: not measured (build it first: cargo build --release -p verifier-cli)"),
    }
}

fn main() {
    let env_count = |name: &str, default: u64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let shared_n = env_count("BATCH_BUNDLES", 10_000);
    let distinct_n = env_count("BATCH_DISTINCT", 1_000);
    let tmp = tempfile::tempdir().unwrap();
    let tsa = OpensslTsa::new(&tmp.path().join("tsa"));
    let factory = ReceiptFactory::new("bench-channel").expect("receipt factory");
    let signer = NoteSigner::from_seed(LEDGER, &[5; 32]).unwrap();
    let material = factory.trust();
    let trust = TrustFile {
        format: evidence_core::trust::TRUST_FORMAT.into(),
        ledgers: vec![evidence_core::trust::LedgerKey {
            name: LEDGER.into(),
            ed25519_public_key: Base64(signer.verifier().key().to_bytes().to_vec()),
        }],
        tsa_roots_pem: vec![tsa.root_pem.clone()],
        fabric_msps: material
            .msp_roots
            .iter()
            .map(|(id, pem)| MspCertificates { msp_id: id.clone(), roots_pem: vec![pem.clone()], orderer: *id == material.orderer_msp })
            .collect(),
        require: None,
        development: false,
    };
    let trust_path = tmp.path().join("trust.json");
    std::fs::write(&trust_path, serde_json::to_vec(&trust).unwrap()).unwrap();
    let start = UnixMillis(1_795_000_000_000);

    // Shared: one tenant, one checkpoint over every claim.
    let tenant = TenantId::new("rooftop-shared").unwrap();
    let sink = MemorySink::new(tenant.clone(), DeterministicEnv::new(start));
    for i in 0..shared_n {
        block_on(sink.append(AppendRequest::new(claim(i)))).unwrap();
    }
    let hash = sink.seal(LEDGER, &signer).unwrap().parse_unverified().unwrap().hash();
    let (ts, fabric) = anchors(&tsa, &factory, &tenant, &hash);
    let dir = tmp.path().join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut bundles, mut files) = (Vec::new(), Vec::new());
    for i in 0..shared_n {
        let mut b = sink.bundle(LEDGER, &[i], 0).unwrap();
        b.anchors.timestamps.push(ts.clone());
        b.anchors.fabric.push(fabric.clone());
        files.push(write(&dir, bundles.len(), &b));
        bundles.push(b);
    }
    measure("shared checkpoint", &bundles, &files, &dir, &trust, &trust_path);

    // Distinct: one tenant log per bundle, each its own checkpoint, token and Fabric block.
    let dir = tmp.path().join("distinct");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut bundles, mut files) = (Vec::new(), Vec::new());
    for t in 0..distinct_n {
        let tenant = TenantId::new(format!("rooftop-{t}")).unwrap();
        let sink = MemorySink::new(tenant.clone(), DeterministicEnv::new(start));
        block_on(sink.append(AppendRequest::new(claim(t)))).unwrap();
        let hash = sink.seal(LEDGER, &signer).unwrap().parse_unverified().unwrap().hash();
        let (ts, fabric) = anchors(&tsa, &factory, &tenant, &hash);
        let mut b = sink.bundle(LEDGER, &[0], 0).unwrap();
        b.anchors.timestamps.push(ts);
        b.anchors.fabric.push(fabric);
        files.push(write(&dir, bundles.len(), &b));
        bundles.push(b);
    }
    measure("distinct checkpoints", &bundles, &files, &dir, &trust, &trust_path);
}
