//! `evidence-verify tlog-proof`: checks a `c2sp.org/tlog-proof@v1` file offline.

use std::path::PathBuf;

use clap::Args;
use evidence_core::merkle::hash_leaf;
use evidence_core::note::NoteVerifier;
use evidence_core::tlog_proof::{MAX_PROOF_BYTES, TlogProof};
use evidence_core::types::{LeafHash, TenantId};

use crate::input::read_limited;
use crate::outcome::{Outcome, could_not_check, not_verified};
use crate::sniff;

/// Verify a c2sp.org/tlog-proof@v1 file: the checkpoint's signature by a given key, the
/// origin when given, then RFC 9162 inclusion of SHA-256(0x00 || entry).
///
/// Exit status: 0 verified; 1 not verified (including malformed proofs); 2 could not check
/// (unreadable files, bad arguments).
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("leaf").required(true).args(["entry", "leaf_hash"]))]
#[command(group = clap::ArgGroup::new("keyring").required(true).multiple(true).args(["keys", "trust"]))]
pub struct TlogProofArgs {
    /// The .tlog-proof file.
    proof: PathBuf,
    /// The entry's bytes (for this ledger: the binary leaf entry); its leaf hash is SHA-256(0x00 || entry).
    #[arg(long, value_name = "FILE")]
    entry: Option<PathBuf>,
    /// The leaf hash itself, 64 hex digits, instead of --entry.
    #[arg(long, value_name = "HEX")]
    leaf_hash: Option<String>,
    /// A trusted verifier key, `name+hexid+base64key` (signed-note form, as `GET
    /// /v1/tenants/{tenant}/verifier-key` returns it). Repeatable.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
    /// A trust file (evidence-trust/v1): its ledger keys verify the checkpoint, whose origin
    /// (`<ledger>/tenant/<tenant>`) must then name one of its ledgers. Instead of or with --key.
    #[arg(long, value_name = "TRUST.json")]
    trust: Option<PathBuf>,
    /// Require the checkpoint's origin line to be exactly this.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &TlogProofArgs) -> Outcome {
    let keys: Result<Vec<NoteVerifier>, _> =
        args.keys.iter().map(|k| NoteVerifier::parse(k).map_err(|e| format!("--key {k:?}: {e}"))).collect();
    let mut keys = match keys {
        Ok(k) => k,
        Err(e) => return could_not_check(args.json, &e),
    };
    let leaf = match (&args.entry, &args.leaf_hash) {
        (Some(path), None) => match read_limited(path, MAX_PROOF_BYTES) {
            Ok(bytes) => hash_leaf(&bytes),
            Err(e) => return could_not_check(args.json, &e),
        },
        (None, Some(hex)) => match hex.parse::<LeafHash>() {
            Ok(h) => h,
            Err(e) => return could_not_check(args.json, &format!("--leaf-hash: {e}")),
        },
        _ => return could_not_check(args.json, "give exactly one of --entry and --leaf-hash"),
    };
    let text = match read_limited(&args.proof, MAX_PROOF_BYTES) {
        Ok(b) => b,
        Err(e) => return could_not_check(args.json, &e),
    };
    let proof = match std::str::from_utf8(&text)
        .map_err(|_| "the proof is not UTF-8 text".to_owned())
        .and_then(|t| TlogProof::parse(t).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(reason) => {
            // Not a proof at all (a server error body, an HTML page) is "could not check";
            // a damaged proof is "not verified".
            if let Some(hint) = sniff::not_a_text(&text, "a tlog-proof file", "c2sp.org/tlog-proof@v1") {
                return could_not_check(args.json, &format!("{}: {hint}", args.proof.display()));
            }
            return not_verified(args.json, &reason, serde_json::json!({ "leaf_hash": leaf.to_hex() }));
        }
    };
    let mut origin = args.origin.clone();
    if let Some(path) = &args.trust {
        let trust = match crate::bundle::load_trust(path) {
            Ok(t) => t,
            Err(e) => return could_not_check(args.json, &e),
        };
        let cp_origin = proof.checkpoint.lines().next().unwrap_or_default().to_owned();
        let tenant_of =
            |ledger: &str| cp_origin.strip_prefix(ledger).and_then(|r| r.strip_prefix("/tenant/")).and_then(|t| TenantId::new(t).ok());
        let found: Vec<NoteVerifier> =
            trust.ledger_names().filter_map(|l| tenant_of(l).map(|t| trust.checkpoint_verifiers(l, &t))).flatten().collect();
        if found.is_empty() {
            return not_verified(
                args.json,
                &format!("the checkpoint's origin {cp_origin:?} names no ledger of the trust file"),
                serde_json::json!({ "leaf_hash": leaf.to_hex() }),
            );
        }
        keys.extend(found);
        // The trust file's keys are tenant keys: the origin must be the one they were derived for.
        origin.get_or_insert(cp_origin);
    }
    let result = proof.verify(&leaf, &keys, origin.as_deref()).map_err(|e| e.to_string());
    match result {
        Ok(v) => {
            if args.json {
                let out = serde_json::json!({
                    "verified": true,
                    "origin": v.origin,
                    "tree_size": v.tree_size.0,
                    "index": v.index,
                    "leaf_hash": leaf.to_hex(),
                    "signed_by": v.signed_by,
                });
                println!("{out}");
            } else {
                println!("VERIFIED  leaf {} is entry {} of the log {:?} at tree size {}", leaf, v.index, v.origin, v.tree_size);
                println!("          checkpoint signed by: {}", v.signed_by.join(", "));
                println!(
                    "This shows the entry is included in the log as of the signed checkpoint. It does not show that the entry's content is true."
                );
            }
            Outcome::Verified
        }
        Err(reason) => not_verified(args.json, &reason, serde_json::json!({ "leaf_hash": leaf.to_hex() })),
    }
}
