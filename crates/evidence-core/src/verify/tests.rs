use super::*;
use crate::bundle::{BUNDLE_SCHEMA, BundleError};
use crate::claim::{Claim, ClaimKind};
use crate::note::NoteSigner;
use crate::sink::{AppendRequest, ClaimSink as _, DeterministicEnv, MemorySink};
use crate::trust::{LedgerKey, TRUST_FORMAT, TrustFile};
use crate::types::{TenantId, UnixMillis};

const LEDGER: &str = "ledger.test";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("memory sink future was not ready"),
    }
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("ledger.test", &[11; 32]).unwrap()
}

fn trust() -> TrustFile {
    TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey { name: LEDGER.into(), ed25519_public_key: Base64(signer().verifier().key().as_bytes().to_vec()) }],
        tsa_roots_pem: vec![],
        fabric_msps: vec![],
        require: None,
        development: false,
    }
}

/// A verifier that checks everything but the anchors (these bundles come from a memory sink,
/// which has no rails).
fn without_anchors(t: TrustFile) -> Verifier {
    let mut v = Verifier::new(TrustStore::new(t).unwrap());
    v.dangerous().skip_anchor_checks();
    v
}

fn sample() -> (MemorySink<DeterministicEnv>, Bundle) {
    let sink = MemorySink::new(TenantId::new("rooftop-7").unwrap(), DeterministicEnv::new(UnixMillis(1_795_000_000_000)));
    for i in 0..10 {
        let claim =
            Claim::new(ClaimKind::GateDecision, serde_json::json!({"gate": "cit", "deal": format!("D-{i}"), "decision": "pass"})).unwrap();
        block_on(sink.append(AppendRequest::new(claim))).unwrap();
    }
    sink.seal(LEDGER, &signer()).unwrap();
    let claim = Claim::new(ClaimKind::SopAttestation, serde_json::json!({"sop": "delivery-checklist", "by": "EMP-1042"})).unwrap();
    block_on(sink.append(AppendRequest::new(claim))).unwrap();
    sink.seal(LEDGER, &signer()).unwrap();
    let b = sink.bundle(LEDGER, &[3, 7], 0).unwrap();
    (sink, b)
}

fn verdict(b: &Bundle) -> BundleReport {
    without_anchors(trust()).verify(b)
}

#[test]
fn a_fresh_bundle_verifies_and_round_trips_through_json() {
    let (_, b) = sample();
    let r = verdict(&b);
    assert_eq!(r.verdict, Verdict::Verified, "{:#?}", r.checks);
    assert!(r.checks.iter().any(|c| c.id == "checkpoint.consistency"));
    let json = serde_json::to_vec_pretty(&b).unwrap();
    let back = Bundle::from_json(&json).unwrap();
    assert_eq!(back, b);
    assert_eq!(verdict(&back).verdict, Verdict::Verified);
}

#[test]
fn anchors_are_required_by_default() {
    let (_, b) = sample();
    let r = Verifier::new(TrustStore::new(trust()).unwrap()).verify(&b);
    assert_eq!(r.verdict, Verdict::NotVerified);
    assert_eq!(r.policy, AnchorPolicy::BOTH_RAILS);
    assert!(r.weakened.is_empty());
    assert!(r.checks.iter().any(|c| c.id == CheckId::AnchorsTimestamps && c.outcome.is_fail()));
    assert!(r.checks.iter().any(|c| c.id == CheckId::AnchorsFabric && c.outcome.is_fail()));
}

/// The trust file's policy is what is required, and the report names it; a weaker requirement
/// is only ever an explicit, recorded opt-out.
#[test]
fn the_trust_files_policy_is_applied_and_weakening_is_recorded() {
    let (_, b) = sample();
    let mut tsa_only = trust();
    tsa_only.require = Some(AnchorPolicy { rfc3161: 1, fabric: 0 });
    let r = Verifier::new(TrustStore::new(tsa_only.clone()).unwrap()).verify(&b);
    assert_eq!(r.policy, AnchorPolicy { rfc3161: 1, fabric: 0 });
    assert!(r.checks.iter().any(|c| c.id == CheckId::AnchorsTimestamps && c.outcome.is_fail()), "a TSA anchor is still required");
    assert!(!r.checks.iter().any(|c| c.id == CheckId::AnchorsFabric), "no Fabric anchor is required");
    let mut weak = Verifier::new(TrustStore::new(tsa_only).unwrap());
    weak.dangerous().require_anchors(AnchorPolicy::NONE);
    let r = weak.verify(&b);
    assert_eq!(r.verdict, Verdict::Verified);
    assert_eq!(r.weakened, [Weakening::FewerAnchors { trust_file: AnchorPolicy { rfc3161: 1, fabric: 0 }, required: AnchorPolicy::NONE }]);
    assert!(r.checks.iter().any(|c| c.id == CheckId::Weakened && matches!(&c.outcome, Outcome::Warn(_))));
    let r = verdict(&b);
    assert_eq!(
        r.weakened,
        [Weakening::FewerAnchors { trust_file: AnchorPolicy::BOTH_RAILS, required: AnchorPolicy::NONE }, Weakening::AnchorsNotChecked]
    );
}

/// A checkpoint key rotation: the trust file holds both keys under one ledger name; bundles
/// signed by either verify, a hand-over checkpoint signed by both names both, and a bundle
/// signed only by an unknown key fails.
#[test]
fn rotated_keys_verify_by_key_id() {
    let (_, b) = sample();
    let new_signer = NoteSigner::from_seed(LEDGER, &[13; 32]).unwrap();
    let stranger = NoteSigner::from_seed(LEDGER, &[14; 32]).unwrap();
    let mut both = trust();
    both.ledgers.push(LedgerKey { name: LEDGER.into(), ed25519_public_key: Base64(new_signer.verifier().key().as_bytes().to_vec()) });
    let resign = |b: &Bundle, signers: &[&NoteSigner]| {
        let cp = b.checkpoint.parse_unverified().unwrap();
        let origin = crate::checkpoint::origin_for(LEDGER, &b.tenant);
        let mut note = cp.sign(&signers[0].renamed(&origin).unwrap()).unwrap();
        for s in &signers[1..] {
            note = crate::checkpoint::SignedCheckpoint { note: crate::note::cosign(&note.note, &s.renamed(&origin).unwrap()).unwrap() };
        }
        let mut out = b.clone();
        out.checkpoint = note;
        out.later_checkpoints.clear();
        out
    };
    assert_eq!(without_anchors(both.clone()).verify(&b).verdict, Verdict::Verified, "old key");
    let by_new = resign(&b, &[&new_signer]);
    assert_eq!(without_anchors(both.clone()).verify(&by_new).verdict, Verdict::Verified, "new key");
    assert_eq!(without_anchors(trust()).verify(&by_new).verdict, Verdict::NotVerified, "the new key is not in the old trust file");
    let hand_over = resign(&b, &[&signer(), &new_signer]);
    let r = without_anchors(both.clone()).verify(&hand_over);
    assert_eq!(r.verdict, Verdict::Verified);
    let sig = r.checks.iter().find(|c| c.id == CheckId::CheckpointSignature).unwrap();
    assert!(matches!(&sig.outcome, Outcome::Pass(d) if d.contains(" and ")), "the hand-over names both keys: {sig:?}");
    assert_eq!(without_anchors(both).verify(&resign(&b, &[&stranger])).verdict, Verdict::NotVerified, "an unknown key");
}

#[test]
fn withheld_and_erased_records_still_verify() {
    let (_, mut b) = sample();
    b.claims[0].record = None;
    b.claims[0].record_status = RecordStatus::Withheld;
    b.claims[1].record = None;
    b.claims[1].salt = None;
    b.claims[1].content_hash = None;
    b.claims[1].record_status = RecordStatus::Erased;
    let r = verdict(&b);
    assert_eq!(r.verdict, Verdict::Verified, "{:#?}", r.checks);
    assert!(r.checks.iter().any(|c| matches!(&c.outcome, Outcome::NotApplicable(d) if d.contains("erased"))));
}

/// Every way of tampering with a bundle is caught.
#[test]
fn tampering_is_detected() {
    let (_, b) = sample();
    let mut cases: Vec<(&str, Bundle)> = Vec::new();
    let mut t = b.clone();
    t.claims[0].record =
        Some(Claim::new(ClaimKind::GateDecision, serde_json::json!({"gate": "cit", "deal": "D-3", "decision": "fail"})).unwrap());
    cases.push(("changed record", t));
    let mut t = b.clone();
    t.claims[0].salt = Some(Base64(vec![0; 32]));
    cases.push(("other salt", t));
    let mut t = b.clone();
    t.claims[0].leaf_entry.0[30] ^= 1;
    cases.push(("leaf entry byte", t));
    let mut t = b.clone();
    t.claims[0].inclusion_proof.path[0].0[0] ^= 1;
    cases.push(("proof hash", t));
    let mut t = b.clone();
    t.claims[0].seq = 4;
    cases.push(("seq", t));
    let mut t = b.clone();
    t.tenant = TenantId::new("rooftop-8").unwrap();
    cases.push(("tenant", t));
    let mut t = b.clone();
    t.checkpoint.note = t.checkpoint.note.replacen("\n10\n", "\n11\n", 1);
    cases.push(("checkpoint size", t));
    let mut t = b.clone();
    t.later_checkpoints[0].proof.path[0].0[0] ^= 1;
    cases.push(("consistency proof", t));
    let mut t = b.clone();
    t.ledger = "other.ledger".into();
    cases.push(("ledger name", t));
    let mut t = b.clone();
    t.claims[0].record.as_mut().unwrap().kind = ClaimKind::LeakageFinding;
    cases.push(("record kind", t));
    let mut t = b.clone();
    t.claims[0].record_status = RecordStatus::Erased;
    cases.push(("inconsistent status", t));
    let mut t = b.clone();
    t.claims.clear();
    cases.push(("no claims", t));
    for (what, t) in cases {
        assert_eq!(verdict(&t).verdict, Verdict::NotVerified, "{what}");
    }
    // Another ledger key.
    let mut other = trust();
    other.ledgers[0].ed25519_public_key = Base64(NoteSigner::from_seed("x", &[12; 32]).unwrap().verifier().key().as_bytes().to_vec());
    assert_eq!(without_anchors(other).verify(&b).verdict, Verdict::NotVerified);
}

#[test]
fn hostile_json_is_refused_not_panicked_on() {
    assert!(matches!(Bundle::from_json(b"{"), Err(BundleError::Json(_))));
    assert!(matches!(Bundle::from_json(b"[]"), Err(BundleError::Json(_))));
    let (_, b) = sample();
    let mut v = serde_json::to_value(&b).unwrap();
    v["format"] = "evidence-bundle/v2".into();
    assert!(matches!(Bundle::from_json(&serde_json::to_vec(&v).unwrap()), Err(BundleError::Format(_))));
    let mut v = serde_json::to_value(&b).unwrap();
    v["surprise"] = 1.into();
    assert!(Bundle::from_json(&serde_json::to_vec(&v).unwrap()).is_err());
    let mut v = serde_json::to_value(&b).unwrap();
    v["claims"][0]["leaf_entry"] = "not base64!".into();
    assert!(Bundle::from_json(&serde_json::to_vec(&v).unwrap()).is_err());
    let deep = "[".repeat(10_000);
    assert!(Bundle::from_json(deep.as_bytes()).is_err());
}

#[test]
fn schema_is_valid_json_and_names_every_top_level_field() {
    let schema: serde_json::Value = serde_json::from_str(BUNDLE_SCHEMA).unwrap();
    let (_, b) = sample();
    let v = serde_json::to_value(&b).unwrap();
    for key in v.as_object().unwrap().keys() {
        assert!(schema["properties"].get(key).is_some(), "schema lacks {key}");
    }
    for key in v["claims"][0].as_object().unwrap().keys() {
        assert!(schema["$defs"]["claim"]["properties"].get(key).is_some(), "schema lacks claims[].{key}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]
    /// No single-byte change anywhere in the JSON of a bundle yields a bundle that verifies
    /// while differing from the original (changes the parser normalises away are allowed).
    #[test]
    fn no_mutation_verifies(pos in proptest::prelude::any::<proptest::sample::Index>(), byte in proptest::prelude::any::<u8>()) {
        let (_, b) = sample();
        let mut json = serde_json::to_vec(&b).unwrap();
        let i = pos.index(json.len());
        proptest::prop_assume!(json[i] != byte);
        json[i] = byte;
        if let Ok(m) = Bundle::from_json(&json)
            && m != b
        {
            {
                let r = verdict(&m);
                // A change to a field no check covers (e.g. an incident list) would be a gap: none exists here.
                proptest::prop_assert_eq!(r.verdict, Verdict::NotVerified, "mutation at {} verified", i);
            }
        }
    }
}

#[test]
fn the_memo_reuses_only_identical_inputs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let v = Verifier::new(TrustStore::new(trust()).unwrap()).memoized();
    let calls = AtomicUsize::new(0);
    let anchor = |tsa: &str, token: &[u8]| TimestampAnchor {
        tsa: tsa.into(),
        jurisdiction: None,
        token: Base64(token.to_vec()),
        certificates: Vec::new(),
        outside_residency: false,
    };
    let check = |a: &TimestampAnchor, h: &CheckpointHash| {
        v.memo_or("rfc3161", a, h, || {
            calls.fetch_add(1, Ordering::Relaxed);
            let outcome = if a.tsa == "good" { Outcome::Pass("ok".into()) } else { Outcome::Fail("bad".into()) };
            vec![Check::new(CheckId::AnchorTimestamp, "t", outcome)]
        })
    };
    let (h1, h2) = (CheckpointHash([1; 32]), CheckpointHash([2; 32]));
    let pass = check(&anchor("good", b"tok"), &h1);
    assert!(matches!(pass[0].outcome, Outcome::Pass(_)));
    assert_eq!(check(&anchor("good", b"tok"), &h1), pass);
    assert_eq!(calls.load(Ordering::Relaxed), 1, "the same anchor, hash and trust are verified once");
    // Any change to the anchor or the checkpoint hash is a new verification.
    assert!(matches!(check(&anchor("bad", b"tok"), &h1)[0].outcome, Outcome::Fail(_)));
    check(&anchor("good", b"tok2"), &h1);
    check(&anchor("good", b"tok"), &h2);
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    // Failures are remembered too (the checks are a pure function of the inputs).
    assert!(matches!(check(&anchor("bad", b"tok"), &h1)[0].outcome, Outcome::Fail(_)));
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    // The key also covers the trust material.
    let mut other = trust();
    other.development = true;
    assert_ne!(TrustStore::new(other).unwrap().digest(), v.trust().digest());
}

#[test]
fn a_broken_trust_file_is_a_typed_error_before_any_bundle() {
    let mut t = trust();
    t.ledgers[0].ed25519_public_key = Base64(vec![1; 31]);
    assert!(matches!(TrustStore::new(t), Err(crate::trust::TrustError::LedgerKey { index: 0, .. })));
    let mut t = trust();
    t.tsa_roots_pem = vec!["-----BEGIN CERTIFICATE-----\nAAAA\n".into()];
    assert!(matches!(TrustStore::new(t), Err(crate::trust::TrustError::TsaRoot { index: 0, .. })));
    let mut t = trust();
    t.format = "evidence-trust/v9".into();
    assert!(matches!(TrustStore::new(t), Err(crate::trust::TrustError::Format { .. })));
    assert!(matches!(TrustStore::from_json(b"{}"), Err(crate::trust::TrustError::Json(_))));
    let mut t = trust();
    t.ledgers.clear();
    assert!(matches!(TrustStore::new(t), Err(crate::trust::TrustError::NoLedgerKey)));
}

/// Counts read right in the checks' details: "1 leaf", not "1 leaves" (issue 24).
#[test]
fn leaf_counts_read_right() {
    let sink = MemorySink::new(TenantId::new("rooftop-7").unwrap(), DeterministicEnv::new(UnixMillis(1_795_000_000_000)));
    let claim = Claim::new(ClaimKind::GateDecision, serde_json::json!({"gate": "cit", "decision": "pass"})).unwrap();
    block_on(sink.append(AppendRequest::new(claim))).unwrap();
    sink.seal(LEDGER, &signer()).unwrap();
    let r = verdict(&sink.bundle(LEDGER, &[0], 0).unwrap());
    assert_eq!(r.verdict, Verdict::Verified, "{:#?}", r.checks);
    let details: Vec<String> = r.checks.iter().map(|c| format!("{:?}", c.outcome)).collect();
    assert!(details.iter().any(|d| d.contains("the log had 1 leaf with root")), "{details:#?}");
    assert!(details.iter().any(|d| d.contains("in the log of 1 leaf sealed")), "{details:#?}");
    assert!(!details.iter().any(|d| d.contains("1 leaves")), "{details:#?}");
    let (_, b) = sample();
    let details: Vec<String> = verdict(&b).checks.iter().map(|c| format!("{:?}", c.outcome)).collect();
    assert!(details.iter().any(|d| d.contains("grew from 10 leaves to 11 leaves")), "{details:#?}");
}
