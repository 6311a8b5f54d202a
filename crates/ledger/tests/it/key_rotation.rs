//! A rotation of the ledger's checkpoint key, on both backends: the hand-over checkpoint is
//! signed by the old and the new key, bundles from before and after verify with one trust
//! file holding both keys, the chain verifies across the hand-over, and a checkpoint signed
//! only by a key the trust file does not hold fails.

use evidence_core::bundle::{Base64, Bundle};
use evidence_core::checkpoint::{ChainLink, verify_chain};
use evidence_core::note::NoteSigner;
use evidence_core::trust::{LedgerKey, TRUST_FORMAT};
use evidence_core::{AnchorPolicy, ClaimSink as _, Seq, TrustFile, TrustStore, Verdict, Verifier};
use ledger::Ledger;
use ledger::store::{Store, TenantConfig};
use test_support::fixtures::{LEDGER, finding, keys, signer, tid};

fn trust(keys: &[&NoteSigner]) -> Verifier {
    let file = TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: keys
            .iter()
            .map(|k| LedgerKey { name: LEDGER.into(), ed25519_public_key: Base64(k.verifier().key().as_bytes().to_vec()) })
            .collect(),
        tsa_roots_pem: Vec::new(),
        fabric_msps: Vec::new(),
        // These ledgers anchor nowhere: the test is about signatures.
        require: Some(AnchorPolicy::NONE),
        development: false,
    };
    Verifier::new(TrustStore::new(file).unwrap())
}

fn verdict(v: &Verifier, b: &Bundle) -> Verdict {
    v.verify(b).verdict
}

async fn rotation_keeps_every_bundle_verifiable<S: Store + Clone>(s: S) {
    let old = signer();
    let new = NoteSigner::from_seed(LEDGER, &[43; 32]).unwrap();
    let stranger = NoteSigner::from_seed(LEDGER, &[44; 32]).unwrap();
    let before = Ledger::with_rails(s.clone(), signer(), keys(), Vec::new());
    let t = before.create_tenant(&tid("rotating"), &TenantConfig::default()).await.unwrap();
    for n in 0..3 {
        t.append(finding(n)).await.unwrap();
    }
    t.seal_now().await.unwrap();
    let bundle_before = t.bundle(&[Seq(0)]).await.unwrap();

    // Refusals: a key of another ledger name, the current key itself.
    assert!(t.seal_handover(&NoteSigner::from_seed("other.example", &[45; 32]).unwrap()).await.is_err());
    assert!(t.seal_handover(&old).await.is_err());
    let hand_over = t.seal_handover(&new).await.unwrap();
    assert_eq!(
        hand_over.note.note.lines().filter(|l| l.starts_with('\u{2014}')).count(),
        2,
        "signed by both keys:\n{}",
        hand_over.note.note
    );

    // The server restarts with the new key.
    let after = Ledger::with_rails(s.clone(), NoteSigner::from_seed(LEDGER, &[43; 32]).unwrap(), keys(), Vec::new());
    let t = after.tenant(&tid("rotating")).await.unwrap();
    t.append(finding(3)).await.unwrap();
    t.seal_now().await.unwrap();
    let bundle_after = t.bundle(&[Seq(3)]).await.unwrap();
    let old_claim_now = t.bundle(&[Seq(0)]).await.unwrap();

    let both = trust(&[&old, &new]);
    for (name, b) in [("before", &bundle_before), ("after", &bundle_after), ("old claim, new checkpoint", &old_claim_now)] {
        let r = both.verify(b);
        assert_eq!(r.verdict, Verdict::Verified, "{name}: {r:?}");
    }
    // One key alone: what it did not sign fails.
    assert_eq!(verdict(&trust(&[&old]), &bundle_before), Verdict::Verified);
    assert_ne!(verdict(&trust(&[&old]), &bundle_after), Verdict::Verified, "the new key is not in an old trust file");
    assert_ne!(verdict(&trust(&[&new]), &bundle_before), Verdict::Verified, "signed only by a key the trust file lacks");
    assert_ne!(verdict(&trust(&[&stranger]), &bundle_after), Verdict::Verified);

    // The chain verifies across the hand-over with both keys, and not with the new one alone.
    let cps = t.checkpoints(0, 100).await.unwrap();
    assert_eq!(cps.len(), 3);
    let mut links = Vec::new();
    for (i, cp) in cps.iter().enumerate() {
        let consistency = if i == 0 { None } else { Some(t.consistency_proof(&cps[i - 1], cp).await.unwrap()) };
        links.push(ChainLink { checkpoint: cp.note.clone(), consistency });
    }
    let verifier_of = |k: &NoteSigner| evidence_core::checkpoint::tenant_verifier(LEDGER, &tid("rotating"), *k.verifier().key()).unwrap();
    verify_chain(&links, &[verifier_of(&old), verifier_of(&new)]).unwrap();
    assert!(verify_chain(&links, &[verifier_of(&new)]).is_err());
}

test_support::both_backends!(rotation_keeps_every_bundle_verifiable);
