//! From a claim to a verified bundle, in memory: append claims, seal a signed
//! checkpoint, export a bundle and verify it offline, then export a standard
//! `c2sp.org/tlog-proof@v1` file for one claim.
//!
//! Run: `cargo run -p evidence-core --example walkthrough [OUT_DIR]`
//!
//! This uses the in-memory sink: no database, no TSA, no Fabric. The bundle it
//! writes therefore has no anchors, and the verification below says so instead of
//! pretending otherwise (see the README's status table for the rails).

use std::future::Future;

use evidence_core::bundle::Base64;
use evidence_core::checkpoint::tenant_verifier;
use evidence_core::sink::DeterministicEnv;
use evidence_core::tlog_proof::TlogProof;
use evidence_core::trust::{AnchorPolicy, LedgerKey, TRUST_FORMAT, TrustFile};
use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink, MemorySink, NoteSigner, TenantId, UnixMillis};
use evidence_core::{Outcome, TrustStore, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "walkthrough-out".into()));
    std::fs::create_dir_all(&out_dir)?;

    // 1. A tenant's log. DeterministicEnv makes this run reproducible; a real ledger uses
    //    the clock and the OS random generator for salts.
    let tenant = TenantId::new("rooftop-7")?;
    let sink = MemorySink::new(tenant.clone(), DeterministicEnv::new(UnixMillis(1_795_000_000_000)));

    // 2. Claims. Staff appear by personnel code only.
    let finding = Claim::new(
        ClaimKind::LeakageFinding,
        serde_json::json!({"rule": "cit.funding_delay", "deal": "D-10442", "days_in_transit": 19, "f_and_i": "EMP-1042"}),
    )?;
    let receipt = ready(sink.append(AppendRequest::new(finding).with_idempotency_key("finding-D-10442")))?;
    let decision =
        Claim::new(ClaimKind::GateDecision, serde_json::json!({"gate": "cit-aging", "deal": "D-10442", "decision": "escalate"}))?;
    ready(sink.append(AppendRequest::new(decision).with_links(vec![receipt.content_hash])))?;
    println!("appended claim {} with content hash {}", receipt.seq, receipt.content_hash);

    // 3. Seal: a C2SP checkpoint signed by the ledger key (a fixed demo key here).
    let ledger = "ledger.example.ca";
    let signer = NoteSigner::from_seed(ledger, &[7; 32])?;
    let checkpoint = sink.seal(ledger, &signer)?;
    println!("sealed checkpoint:\n{}", checkpoint.note);

    // 4. Export the bundle for claim 0 and the trust file a verifier obtains separately.
    let bundle = sink.bundle(ledger, &[receipt.seq.0], 0)?;
    let trust = TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey { name: ledger.into(), ed25519_public_key: Base64(signer.verifier().key().as_bytes().to_vec()) }],
        tsa_roots_pem: vec![],
        fabric_msps: vec![],
        // An in-memory log has no rails: this trust file says so, and the report names the policy.
        require: Some(AnchorPolicy::NONE),
        development: true,
    };
    std::fs::write(out_dir.join("bundle.json"), serde_json::to_vec_pretty(&bundle)?)?;
    std::fs::write(out_dir.join("trust.json"), serde_json::to_vec_pretty(&trust)?)?;

    // 5. Verify offline. An in-memory log has no anchors, so its trust file requires none and
    //    only the Merkle and checkpoint parts are checked here; a ledger's trust file requires
    //    one anchor on each rail.
    let report = Verifier::new(TrustStore::new(trust)?).verify(&bundle);
    for check in &report.checks {
        let (mark, detail) = match &check.outcome {
            Outcome::Pass(d) => ("PASS", d),
            Outcome::Fail(d) => ("FAIL", d),
            Outcome::Warn(d) => ("WARN", d),
            Outcome::NotApplicable(d) => ("N/A ", d),
            other => ("????", &format!("{other:?}")),
        };
        println!("{mark} {:<22} {}: {detail}", check.id, check.subject);
    }
    println!(
        "verdict: {:?} under policy: {} (Merkle inclusion, commitment and signed checkpoint; no anchors in this in-memory example)",
        report.verdict,
        report.policy.describe()
    );

    // 6. The same inclusion as a standard tlog-proof file, plus the entry and the key to check it with:
    //    evidence-verify tlog-proof OUT/claim-0.tlog-proof --entry OUT/claim-0.entry --key "$(cat OUT/checkpoint.vkey)"
    let claim = &bundle.claims[0];
    let proof = TlogProof::new(&claim.inclusion_proof, &bundle.checkpoint, None);
    std::fs::write(out_dir.join("claim-0.tlog-proof"), proof.encode())?;
    std::fs::write(out_dir.join("claim-0.entry"), &claim.leaf_entry.0)?;
    std::fs::write(out_dir.join("checkpoint.vkey"), tenant_verifier(ledger, &tenant, *signer.verifier().key())?.to_vkey())?;
    println!("wrote {}", out_dir.display());
    if report.verdict == evidence_core::Verdict::Verified { Ok(()) } else { Err("bundle did not verify".into()) }
}

/// MemorySink's futures are always ready: poll once.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("memory sink futures are ready"),
    }
}
