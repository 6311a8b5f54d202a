//! `evidence-verify bundle`, `batch` and `checkpoints`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use evidence_core::bundle::{
    AnchorVerifier, Bundle, MAX_BUNDLE_BYTES, RecordStatus, Requirements, TrustFile, Verdict, verify_bundle_offline,
};
use evidence_core::checkpoint::{ChainLink, tenant_verifier, verify_chain};
use evidence_core::claim::Claim;
use evidence_core::types::TenantId;

use crate::input::read_limited;
use crate::outcome::{Outcome, not_verified};
use crate::report::Rendered;

/// The largest trust file or record read.
const MAX_SMALL_FILE: usize = 16 << 20;

/// Verify an evidence bundle offline against a trust file.
///
/// Checks the claim record against its content hash and commitment (when present), the
/// leaf entry, the inclusion proof, the signed checkpoint and its key, consistency proofs
/// to later checkpoints, and the anchors. Exit status: 0 verified; 1 not verified
/// (including malformed bundles); 2 could not check (unreadable files, bad arguments).
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The bundle (evidence-bundle/v1 JSON).
    bundle: PathBuf,
    /// The trust file (evidence-trust/v1 JSON), obtained independently of the bundle.
    #[arg(long, value_name = "TRUST.json")]
    trust: PathBuf,
    /// A claim record withheld from the bundle ({"kind": ..., "body": {...}}), checked against the claim whose content hash it has.
    #[arg(long, value_name = "RECORD.json")]
    record: Option<PathBuf>,
    /// Print the report as JSON (evidence-verify-report/v1).
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML report to this file.
    #[arg(long, value_name = "report.html")]
    report: Option<PathBuf>,
    /// DANGEROUS: accept a bundle with no verified RFC 3161 or Fabric anchor. It then shows
    /// only that the claim is in a log the ledger key signed, not when.
    #[arg(long)]
    allow_unanchored: bool,
}

/// Verify every *.json bundle in a directory, in parallel, and print a summary table.
///
/// Exit status: 0 when every bundle verified; 1 when any did not; 2 when the directory or
/// the trust file could not be read.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Directory holding bundles (files ending in .json).
    dir: PathBuf,
    /// The trust file.
    #[arg(long, value_name = "TRUST.json")]
    trust: PathBuf,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// DANGEROUS: accept bundles with no verified anchors (see `bundle --help`).
    #[arg(long)]
    allow_unanchored: bool,
}

/// Verify a run of signed checkpoints of one tenant: every signature, the hash chain, and
/// the consistency proofs between them (the log only grew, no fork).
///
/// The input is JSON: `{"ledger": "...", "tenant": "...", "links": [{"checkpoint": "<signed note>",
/// "consistency": {"old_size", "new_size", "path"} | null}, ...]}`. Exit status as for `bundle`.
#[derive(Debug, Args)]
pub struct CheckpointsArgs {
    /// The checkpoints file.
    file: PathBuf,
    /// The trust file.
    #[arg(long, value_name = "TRUST.json")]
    trust: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn requirements(allow_unanchored: bool) -> Requirements {
    if allow_unanchored { Requirements { min_timestamps: 0, min_fabric: 0 } } else { Requirements::default() }
}

pub fn load_trust(path: &Path) -> Result<TrustFile, String> {
    let bytes = read_limited(path, MAX_SMALL_FILE)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not an evidence-trust/v1 file: {e}", path.display()))
}

/// The verdict for one bundle file: `Err` when it could not be checked at all.
enum One {
    Checked { bundle: Box<Bundle>, report: evidence_core::BundleReport },
    Malformed(String),
}

fn check_one(
    path: &Path,
    trust: &TrustFile,
    record: Option<&Claim>,
    required: Requirements,
    anchors: &dyn AnchorVerifier,
) -> Result<One, String> {
    let bytes = read_limited(path, MAX_BUNDLE_BYTES)?;
    let mut bundle = match Bundle::from_json(&bytes) {
        Ok(b) => b,
        Err(e) => return Ok(One::Malformed(e.to_string())),
    };
    if let Some(record) = record {
        let ch = record.content_hash().map_err(|e| format!("--record: {e}"))?;
        match bundle.claims.iter_mut().find(|c| c.content_hash == Some(ch)) {
            Some(c) => {
                c.record = Some(record.clone());
                c.record_status = RecordStatus::Disclosed;
            }
            None => {
                return Ok(One::Malformed(format!(
                    "the record given with --record hashes to {ch}, which is the content hash of no claim in the bundle"
                )));
            }
        }
    }
    let report = verify_bundle_offline(&bundle, trust, Some(anchors), required);
    Ok(One::Checked { bundle: Box::new(bundle), report })
}

pub fn run_bundle(args: &BundleArgs) -> Outcome {
    let trust = match load_trust(&args.trust) {
        Ok(t) => t,
        Err(e) => return could_not_check(&e),
    };
    let record = match &args.record {
        Some(p) => match read_limited(p, MAX_SMALL_FILE)
            .and_then(|b| serde_json::from_slice::<Claim>(&b).map_err(|e| format!("{}: not a claim record: {e}", p.display())))
        {
            Ok(c) => Some(c),
            Err(e) => return could_not_check(&e),
        },
        None => None,
    };
    let path_text = args.bundle.display().to_string();
    match check_one(&args.bundle, &trust, record.as_ref(), requirements(args.allow_unanchored), &crate::anchors::standard()) {
        Err(e) => could_not_check(&e),
        Ok(One::Malformed(reason)) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"format": "evidence-verify-report/v1", "verdict": "not_verified", "bundle": path_text, "error": reason})
                );
            } else {
                println!("NOT VERIFIED  {path_text}: {reason}");
            }
            Outcome::NotVerified
        }
        Ok(One::Checked { bundle, report }) => {
            let r = Rendered { path: &path_text, bundle: &bundle, report: &report, unanchored_allowed: args.allow_unanchored };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r.json()).unwrap_or_default());
            } else {
                print!("{}", r.text());
            }
            if let Some(out) = &args.report
                && let Err(e) = std::fs::write(out, r.html())
            {
                return could_not_check(&format!("cannot write {}: {e}", out.display()));
            }
            if report.verdict == Verdict::Verified { Outcome::Verified } else { Outcome::NotVerified }
        }
    }
}

pub fn run_batch(args: &BatchArgs) -> Outcome {
    let trust = match load_trust(&args.trust) {
        Ok(t) => t,
        Err(e) => return could_not_check(&e),
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file()).collect(),
        Err(e) => return could_not_check(&format!("cannot read {}: {e}", args.dir.display())),
    };
    files.sort();
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get)).max(1);
    let required = requirements(args.allow_unanchored);
    let anchors = crate::anchors::standard();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let progress = std::io::stderr().is_terminal() && !args.json;
    let mut results: Vec<(usize, String, &'static str, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let (status, detail) = match check_one(path, &trust, None, required, &anchors) {
                            Err(e) => ("could_not_check", e),
                            Ok(One::Malformed(e)) => ("not_verified", e),
                            Ok(One::Checked { report, .. }) if report.verdict == Verdict::Verified => ("verified", String::new()),
                            Ok(One::Checked { report, .. }) => (
                                "not_verified",
                                report
                                    .checks
                                    .iter()
                                    .find_map(|c| match &c.outcome {
                                        evidence_core::bundle::Outcome::Fail(d) => Some(format!("{}: {d}", c.id)),
                                        _ => None,
                                    })
                                    .unwrap_or_default(),
                            ),
                        };
                        out.push((i, path.display().to_string(), status, detail));
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if progress {
                            eprint!("\rverified {n}/{} bundles", files.len());
                        }
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    if progress {
        eprintln!();
    }
    results.sort_by_key(|r| r.0);
    let count = |s: &str| results.iter().filter(|r| r.2 == s).count();
    let (ok, bad, unk) = (count("verified"), count("not_verified"), count("could_not_check"));
    if args.json {
        let rows: Vec<_> = results.iter().map(|(_, p, s, d)| serde_json::json!({"bundle": p, "verdict": s, "reason": d})).collect();
        println!("{}", serde_json::json!({"verified": ok, "not_verified": bad, "could_not_check": unk, "bundles": rows}));
    } else {
        println!("{:<14} bundle", "verdict");
        for (_, p, s, d) in &results {
            println!("{s:<14} {p}{}", if d.is_empty() { String::new() } else { format!("  ({d})") });
        }
        println!("\n{} bundles: {ok} verified, {bad} not verified, {unk} could not be checked", results.len());
    }
    if unk > 0 && bad == 0 {
        Outcome::CouldNotCheck
    } else if bad > 0 || unk > 0 {
        Outcome::NotVerified
    } else {
        Outcome::Verified
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointsFile {
    ledger: String,
    tenant: TenantId,
    links: Vec<ChainLink>,
}

pub fn run_checkpoints(args: &CheckpointsArgs) -> Outcome {
    let trust = match load_trust(&args.trust) {
        Ok(t) => t,
        Err(e) => return could_not_check(&e),
    };
    let bytes = match read_limited(&args.file, MAX_BUNDLE_BYTES) {
        Ok(b) => b,
        Err(e) => return could_not_check(&e),
    };
    let result = serde_json::from_slice::<CheckpointsFile>(&bytes).map_err(|e| format!("not a checkpoints file: {e}")).and_then(|f| {
        let key = trust
            .ledgers
            .iter()
            .find(|l| l.name == f.ledger)
            .ok_or_else(|| format!("the trust file has no key for ledger {:?}", f.ledger))?;
        let key = <[u8; 32]>::try_from(key.ed25519_public_key.0.as_slice())
            .ok()
            .and_then(|k| ed25519_dalek_key(&k))
            .ok_or("the trust file's ledger key is not an Ed25519 public key")?;
        let v = tenant_verifier(&f.ledger, &f.tenant, key).map_err(|e| e.to_string())?;
        verify_chain(&f.links, &v).map_err(|e| e.to_string())
    });
    match result {
        Ok(cps) => {
            let (first, last) = (cps.first(), cps.last());
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"verified": true, "checkpoints": cps.len(),
                        "from": first.map(|c| c.seq.0), "to": last.map(|c| c.seq.0),
                        "tree_size": last.map(|c| c.root.tree_size.0)})
                );
            } else {
                for c in &cps {
                    println!("PASS  checkpoint {:>6}  size {:>10}  root {}  sealed {}", c.seq, c.root.tree_size, c.root.hash, c.sealed_at);
                }
                println!(
                    "VERIFIED  {} checkpoints: each signed by the ledger key, each naming its predecessor's hash, and the log only grew between them.",
                    cps.len()
                );
            }
            Outcome::Verified
        }
        Err(reason) => not_verified(args.json, &reason, serde_json::json!({})),
    }
}

fn ed25519_dalek_key(bytes: &[u8; 32]) -> Option<evidence_core::note::VerifyingKey> {
    evidence_core::note::VerifyingKey::from_bytes(bytes).ok()
}

fn could_not_check(reason: &str) -> Outcome {
    eprintln!("evidence-verify: could not check: {reason}");
    Outcome::CouldNotCheck
}
