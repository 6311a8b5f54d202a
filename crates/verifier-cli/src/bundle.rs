//! `evidence-verify bundle`, `batch` and `checkpoints`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use evidence_core::bundle::{BUNDLE_FORMAT, Bundle, MAX_BUNDLE_BYTES, RecordStatus};
use evidence_core::checkpoint::{ChainLink, verify_chain};
use evidence_core::claim::Claim;
use evidence_core::types::TenantId;
use evidence_core::{NoteVerifier, TrustStore, UnixMillis, Verdict, Verifier};

use crate::input::read_limited;
use crate::outcome::{Outcome, not_verified};
use crate::report::{InputFile, Inputs, Rendered};
use crate::sniff;

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
/// The input is JSON, as `GET /v1/tenants/{tenant}/checkpoint-chain?from=&to=` (checkpoint
/// numbers) serves it:
/// `{"format": "evidence-checkpoints/v1", "ledger": "...", "tenant": "...", "links":
/// [{"checkpoint": "<signed note>", "consistency": {"old_size", "new_size", "path"} | null}, ...]}`
/// (`format` may be left out). The keys come from a trust file (`--trust`) or are given
/// with `--key` (as `GET …/verifier-key` returns them), or both. Exit status as for `bundle`;
/// a file that is not a checkpoints file at all is "could not check" (2).
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("keyring").required(true).multiple(true).args(["trust", "keys"]))]
pub struct CheckpointsArgs {
    /// The checkpoints file.
    file: PathBuf,
    /// The trust file.
    #[arg(long, value_name = "TRUST.json")]
    trust: Option<PathBuf>,
    /// A trusted checkpoint verifier key, `name+hexid+base64key` (signed-note form). Repeatable.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads and validates the trust file (every key, root and policy parsed up front).
pub fn load_trust(path: &Path) -> Result<TrustStore, String> {
    load_trust_file(path).map(|(t, _)| t)
}

/// As [`load_trust`], also returning the file's bytes (for the report's SHA-256).
fn load_trust_file(path: &Path) -> Result<(TrustStore, Vec<u8>), String> {
    let bytes = read_limited(path, MAX_SMALL_FILE)?;
    if let Some(hint) = sniff::not_a(&bytes, "a trust file", |v| sniff::has_format(v, evidence_core::trust::TRUST_FORMAT)) {
        return Err(format!("{}: {hint}", path.display()));
    }
    let trust = TrustStore::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((trust, bytes))
}

/// The verifier over `trust`: the trust file's anchoring policy, or no anchors at all with
/// `--allow-unanchored` (recorded in every report as a weakening).
fn verifier(trust: TrustStore, allow_unanchored: bool) -> Verifier {
    let mut v = Verifier::new(trust).memoized();
    if allow_unanchored {
        v.dangerous().skip_anchor_checks();
    }
    v
}

/// The verdict for one bundle file: `Err` when it could not be checked at all (unreadable,
/// or plainly not a bundle).
enum One {
    Checked {
        bundle: Box<Bundle>,
        report: Box<evidence_core::BundleReport>,
        file: InputFile,
        /// The claim the `--record` file belongs to.
        record_for: Option<u64>,
    },
    Malformed(String),
}

fn check_one(path: &Path, verifier: &Verifier, record: Option<&Claim>) -> Result<One, String> {
    let bytes = read_limited(path, MAX_BUNDLE_BYTES)?;
    let mut bundle = match Bundle::from_json(&bytes) {
        Ok(b) => b,
        Err(e) => {
            // A file that says it is a bundle but does not parse is a malformed bundle (not
            // verified); anything else is not a bundle at all (could not check).
            return match sniff::not_a(&bytes, "an evidence bundle", |v| sniff::has_format(v, BUNDLE_FORMAT)) {
                Some(hint) => Err(format!("{}: {hint}", path.display())),
                None => Ok(One::Malformed(e.to_string())),
            };
        }
    };
    let file = InputFile::new(path, &bytes);
    let mut record_for = None;
    if let Some(record) = record {
        let ch = record.content_hash().map_err(|e| format!("--record: {e}"))?;
        match bundle.claims.iter_mut().find(|c| c.content_hash == Some(ch)) {
            Some(c) => {
                if c.record.is_none() {
                    record_for = Some(c.seq);
                }
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
    let report = verifier.verify(&bundle);
    Ok(One::Checked { bundle: Box::new(bundle), report: Box::new(report), file, record_for })
}

/// The CLI's one clock reading (evidence-core reads no clock; nothing checked depends on it).
fn now() -> UnixMillis {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub fn run_bundle(args: &BundleArgs) -> Outcome {
    let verified_at = now();
    let path_text = args.bundle.display().to_string();
    let cnc = |reason: &str| {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"format": "evidence-verify-report/v1", "verdict": "could_not_check", "bundle": path_text, "error": reason})
            );
            return Outcome::CouldNotCheck;
        }
        could_not_check(reason)
    };
    let (trust, trust_bytes) = match load_trust_file(&args.trust) {
        Ok(t) => t,
        Err(e) => return cnc(&e),
    };
    let record = match &args.record {
        Some(p) => match read_limited(p, MAX_SMALL_FILE).and_then(|b| {
            serde_json::from_slice::<Claim>(&b)
                .map(|c| (c, InputFile::new(p, &b)))
                .map_err(|e| format!("{}: not a claim record: {e}", p.display()))
        }) {
            Ok(c) => Some(c),
            Err(e) => return cnc(&e),
        },
        None => None,
    };
    let verifier = verifier(trust, args.allow_unanchored);
    match check_one(&args.bundle, &verifier, record.as_ref().map(|r| &r.0)) {
        Err(e) => cnc(&e),
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
        Ok(One::Checked { bundle, report, file, record_for }) => {
            let inputs = Inputs {
                bundle: file,
                trust: InputFile::new(&args.trust, &trust_bytes),
                record: record.map(|r| r.1),
                record_for,
                verified_at,
            };
            let r = Rendered { path: &path_text, bundle: &bundle, report: &report, inputs: &inputs };
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
    let verifier = verifier(trust, args.allow_unanchored);
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
                        let (status, detail) = match check_one(path, &verifier, None) {
                            Err(e) => ("could_not_check", e),
                            Ok(One::Malformed(e)) => ("not_verified", e),
                            Ok(One::Checked { report, .. }) if report.verdict == Verdict::Verified => ("verified", String::new()),
                            Ok(One::Checked { report, .. }) => (
                                "not_verified",
                                report
                                    .first_failure()
                                    .map(|c| match &c.outcome {
                                        evidence_core::Outcome::Fail(d) => format!("{}: {d}", c.id),
                                        _ => String::new(),
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

pub use evidence_core::checkpoint::CHECKPOINTS_FORMAT;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointsFile {
    #[serde(default)]
    format: Option<String>,
    ledger: String,
    tenant: TenantId,
    links: Vec<ChainLink>,
}

fn is_checkpoints_file(v: &serde_json::Value) -> bool {
    sniff::has_format(v, CHECKPOINTS_FORMAT) || (v.get("format").is_none() && v.get("links").is_some())
}

pub fn run_checkpoints(args: &CheckpointsArgs) -> Outcome {
    let cnc = |reason: &str| crate::outcome::could_not_check(args.json, reason);
    let trust = match args.trust.as_deref().map(load_trust).transpose() {
        Ok(t) => t,
        Err(e) => return cnc(&e),
    };
    let keys: Result<Vec<NoteVerifier>, _> =
        args.keys.iter().map(|k| NoteVerifier::parse(k).map_err(|e| format!("--key {k:?}: {e}"))).collect();
    let keys = match keys {
        Ok(k) => k,
        Err(e) => return cnc(&e),
    };
    let bytes = match read_limited(&args.file, MAX_BUNDLE_BYTES) {
        Ok(b) => b,
        Err(e) => return cnc(&e),
    };
    if let Some(hint) = sniff::not_a(&bytes, "a checkpoints file", is_checkpoints_file) {
        return cnc(&format!("{}: {hint}", args.file.display()));
    }
    let result = serde_json::from_slice::<CheckpointsFile>(&bytes).map_err(|e| format!("malformed checkpoints file: {e}")).and_then(|f| {
        if let Some(fmt) = f.format.as_deref().filter(|f| *f != CHECKPOINTS_FORMAT) {
            return Err(format!("unsupported checkpoints file format {fmt:?} (expected {CHECKPOINTS_FORMAT})"));
        }
        let mut verifiers = keys.clone();
        if let Some(trust) = &trust {
            verifiers.extend(trust.checkpoint_verifiers(&f.ledger, &f.tenant));
        }
        if verifiers.is_empty() {
            return Err(format!("the trust file has no key for ledger {:?}", f.ledger));
        }
        let cps = verify_chain(&f.links, &verifiers).map_err(|e| e.to_string())?;
        // Every checkpoint must be the named tenant's (the keys from --key are not tied to it).
        let want = evidence_core::checkpoint::origin_for(&f.ledger, &f.tenant);
        if let Some(c) = cps.iter().find(|c| c.tenant != f.tenant || c.origin != want) {
            return Err(format!("checkpoint {} is of log {:?}, the file names {want:?}", c.seq, c.origin));
        }
        Ok(cps)
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
                    "VERIFIED  {}: each signed by the ledger key, each naming its predecessor's hash, and the log only grew between them.",
                    crate::report::plural(cps.len(), "checkpoint", "checkpoints")
                );
            }
            Outcome::Verified
        }
        Err(reason) => not_verified(args.json, &reason, serde_json::json!({})),
    }
}

fn could_not_check(reason: &str) -> Outcome {
    eprintln!("evidence-verify: could not check: {reason}");
    Outcome::CouldNotCheck
}
