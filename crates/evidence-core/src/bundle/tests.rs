use super::*;
use crate::claim::ClaimKind;
use crate::note::NoteSigner;
use crate::sink::{AppendRequest, ClaimSink as _, DeterministicEnv, MemorySink};

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
        development: false,
    }
}

const NO_ANCHORS: Requirements = Requirements { min_timestamps: 0, min_fabric: 0 };

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
    verify_bundle_offline(b, &trust(), None, NO_ANCHORS)
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
    let r = verify_bundle_offline(&b, &trust(), None, Requirements::default());
    assert_eq!(r.verdict, Verdict::NotVerified);
    assert!(r.checks.iter().any(|c| c.id == "anchors.timestamps" && matches!(c.outcome, Outcome::Fail(_))));
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
    assert_eq!(verify_bundle_offline(&b, &other, None, NO_ANCHORS).verdict, Verdict::NotVerified);
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

/// Counts calls and passes only anchors whose TSA name is "good".
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);

impl AnchorVerifier for Counting {
    fn timestamp(&self, anchor: &TimestampAnchor, _: &CheckpointHash, _: &TrustFile) -> Vec<Check> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome = if anchor.tsa == "good" { Outcome::Pass("ok".into()) } else { Outcome::Fail("bad".into()) };
        vec![Check::line("anchor.timestamp", "t", outcome)]
    }

    fn fabric(&self, _: &FabricAnchor, _: &CheckpointHash, _: &TrustFile) -> Vec<Check> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        vec![Check::line("anchor.fabric", "f", Outcome::Fail("never".into()))]
    }
}

#[test]
fn memo_anchors_reuses_only_identical_inputs() {
    let memo = MemoAnchors::new(Counting::default());
    let calls = || memo.inner.0.load(std::sync::atomic::Ordering::Relaxed);
    let anchor = |tsa: &str, token: &[u8]| TimestampAnchor {
        tsa: tsa.into(),
        jurisdiction: None,
        token: Base64(token.to_vec()),
        certificates: Vec::new(),
        outside_residency: false,
    };
    let (h1, h2) = (CheckpointHash([1; 32]), CheckpointHash([2; 32]));
    let t = trust();
    let pass = memo.timestamp(&anchor("good", b"tok"), &h1, &t);
    assert!(matches!(pass[0].outcome, Outcome::Pass(_)));
    assert_eq!(memo.timestamp(&anchor("good", b"tok"), &h1, &t), pass);
    assert_eq!(calls(), 1, "the same anchor, hash and trust are verified once");
    // Any change to the anchor, the checkpoint hash or the trust file is a new verification.
    assert!(matches!(memo.timestamp(&anchor("bad", b"tok"), &h1, &t)[0].outcome, Outcome::Fail(_)));
    memo.timestamp(&anchor("good", b"tok2"), &h1, &t);
    memo.timestamp(&anchor("good", b"tok"), &h2, &t);
    let mut other = t.clone();
    other.development = !other.development;
    memo.timestamp(&anchor("good", b"tok"), &h1, &other);
    assert_eq!(calls(), 5);
    // Failures are remembered too (the checks are a pure function of the inputs).
    assert!(matches!(memo.timestamp(&anchor("bad", b"tok"), &h1, &t)[0].outcome, Outcome::Fail(_)));
    assert_eq!(calls(), 5);
}
