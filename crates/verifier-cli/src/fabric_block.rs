//! `evidence-verify fabric-block`: checks one Hyperledger Fabric block offline.

use std::path::{Path, PathBuf};

use clap::Args;
use evidence_core::fabric::{BlockLimits, MspRoots, Predecessor, verify_block};

use crate::input::read_limited;
use crate::outcome::{Outcome, could_not_check, not_verified};

/// Verify one protobuf-encoded `common.Block` offline: its data hash over the envelopes, the
/// link to the predecessor (with --prev), the orderer signatures in metadata slot 0 (by an
/// orderer-organisation identity), and every transaction's creator and endorsement
/// signatures, each certificate chaining to `DIR/<MSPID>.pem` and checked at the
/// transaction's channel-header time.
///
/// Orderer organisations are the MSPs whose id contains "orderer" (any case), as in
/// Fabric's sample networks (`OrdererMSP`); only their identities may sign blocks.
/// The validation flags (metadata slot 2) are reported but not trusted: no signature
/// covers them.
///
/// Exit status: 0 verified; 1 not verified (including malformed blocks); 2 could not
/// check (unreadable files, bad arguments).
#[derive(Debug, Args)]
pub struct FabricBlockArgs {
    /// The block file (protobuf `common.Block`).
    block: PathBuf,
    /// Directory of trusted MSP roots, one `<MSPID>.pem` per organisation.
    #[arg(long, value_name = "DIR")]
    msp_roots: PathBuf,
    /// The predecessor block: its header hash must be this block's previous_hash.
    #[arg(long, value_name = "PREV.block")]
    prev: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn load_roots(dir: &Path) -> Result<MspRoots, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut roots = MspRoots::new();
    let mut n = 0;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.extension().and_then(|e| e.to_str()) != Some("pem") {
            continue;
        }
        let Some(msp) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        let pem = read_limited(&path, 1 << 20)?;
        roots.add_pem(msp, &pem).map_err(|e| format!("{}: {e}", path.display()))?;
        if msp.to_ascii_lowercase().contains("orderer") {
            roots.add_orderer_msp(msp);
        }
        n += 1;
    }
    if n == 0 {
        return Err(format!("{}: no <MSPID>.pem files", dir.display()));
    }
    Ok(roots)
}

pub fn run(args: &FabricBlockArgs) -> Outcome {
    let opts = BlockLimits::default();
    let roots = match load_roots(&args.msp_roots) {
        Ok(r) => r,
        Err(e) => return could_not_check(args.json, &e),
    };
    let block = match read_limited(&args.block, opts.max_block_bytes) {
        Ok(b) => b,
        Err(e) => return could_not_check(args.json, &e),
    };
    let prev = match &args.prev {
        None => None,
        Some(p) => match read_limited(p, opts.max_block_bytes) {
            Ok(b) => Some(b),
            Err(e) => return could_not_check(args.json, &e),
        },
    };
    match verify_block(&block, &roots, prev.as_deref().map(Predecessor::Block), &opts) {
        Ok(report) => {
            if args.json {
                let out = serde_json::json!({"verified": true, "block": report});
                println!("{out}");
            } else {
                println!("VERIFIED  block {} ({} transaction(s))", report.number, report.transactions.len());
                println!("  data hash      {} (SHA-256 of the envelopes)", report.data_hash);
                println!("  header hash    {}", report.header_hash);
                if args.prev.is_some() {
                    println!("  previous hash  {} = the given predecessor's header hash", report.previous_hash);
                } else {
                    println!("  previous hash  {} (not checked: no --prev given)", report.previous_hash);
                }
                for s in &report.orderer_signatures {
                    println!("  orderer        signed by {} (certificate {}…)", s.msp_id, &s.cert_sha256[..16]);
                }
                for t in &report.transactions {
                    let endorsers: Vec<&str> = t.endorsements.iter().map(|e| e.msp_id.as_str()).collect();
                    println!(
                        "  tx {:<3} {} creator {}, endorsed by [{}], certificates checked at the tx time {} (Unix s); validation flag {} (unsigned)",
                        t.index,
                        if t.tx_id.is_empty() { "(config)" } else { &t.tx_id },
                        t.creator.msp_id,
                        endorsers.join(", "),
                        t.timestamp,
                        t.validation_code.map_or_else(|| "absent".to_owned(), |c| c.to_string())
                    );
                }
                println!(
                    "This shows the block was ordered and its transactions signed by identities of the trusted MSPs; the validation flags are not signed."
                );
            }
            Outcome::Verified
        }
        Err(e) => not_verified(args.json, &e.to_string(), serde_json::json!({})),
    }
}
