//! The ledger's behaviour, identical on SQLite and PostgreSQL.

#![allow(clippy::many_single_char_names, clippy::large_enum_variant)]

use std::time::Duration;

use evidence_core::bundle::{Base64, RecordStatus};
use evidence_core::checkpoint::{ChainLink, verify_chain};
use evidence_core::merkle::root_of;
use evidence_core::trust::{AnchorPolicy, LedgerKey, TRUST_FORMAT, TrustFile};
use evidence_core::{ClaimKind, ClaimSink, Seq, UnixMillis};
use evidence_core::{Outcome, TrustStore, Verdict, Verifier};
use ledger::store::{AnchorState, Rail, Store, StoreError, TenantConfig, TenantStore};
use ledger::{LedgerError, TenantLedger};
use test_support::fixtures::{finding, ledger, tid};
use test_support::{FabricTestDouble, FailoverTsa, OpensslTsa, Switchable};

fn trust<S: Store>(l: &ledger::Ledger<S>) -> TrustFile {
    TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey {
            name: l.name().into(),
            ed25519_public_key: Base64(test_support::fixtures::signer().verifier().key().to_bytes().to_vec()),
        }],
        tsa_roots_pem: Vec::new(),
        fabric_msps: Vec::new(),
        require: None,
        development: false,
    }
}

/// A verifier requiring `policy` (this suite's rails: a TSA, and a Fabric test double whose
/// receipts are no evidence).
fn verifier(trust: TrustFile, policy: AnchorPolicy) -> Verifier {
    Verifier::new(TrustStore::new(TrustFile { require: Some(policy), ..trust }).unwrap())
}

/// Checks every checkpoint against a root recomputed from all stored leaf hashes, and
/// the whole chain (signatures, links, consistency proofs from the ledger).
async fn check_chain<T: TenantStore>(t: &TenantLedger<T>, verifier: &evidence_core::NoteVerifier) -> usize {
    let cps = t.checkpoints(0, u32::MAX).await.unwrap();
    let mut links = Vec::new();
    for (i, cp) in cps.iter().enumerate() {
        let leaves = t.store().leaf_hashes(0, cp.root.tree_size.0).await.unwrap();
        assert_eq!(leaves.len() as u64, cp.root.tree_size.0);
        assert_eq!(root_of(&leaves), cp.root.hash, "checkpoint {} root", cp.seq);
        let consistency = if i == 0 { None } else { Some(t.consistency_proof(&cps[i - 1], cp).await.unwrap()) };
        links.push(ChainLink { checkpoint: cp.note.clone(), consistency });
    }
    verify_chain(&links, std::slice::from_ref(verifier)).unwrap();
    cps.len()
}

async fn appends_are_consecutive_and_idempotent<S: Store>(s: S) {
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-1"), &TenantConfig::default()).await.unwrap();
    let r0 = t.append(finding(0).with_idempotency_key("k0")).await.unwrap();
    assert_eq!(r0.seq, Seq(0));
    // A batch: a retry of k0, two new, a duplicate key inside the batch.
    let rs = t
        .append_batch(vec![
            finding(1).with_idempotency_key("k1"),
            finding(0).with_idempotency_key("k0"),
            finding(2),
            finding(1).with_idempotency_key("k1"),
        ])
        .await
        .unwrap();
    assert_eq!(rs[0].seq, Seq(1));
    assert_eq!(rs[1], r0);
    assert_eq!(rs[2].seq, Seq(2));
    assert_eq!(rs[3], rs[0]);
    assert_eq!(t.store().size().await.unwrap(), 3);
    // Ledger-generated kinds cannot be appended directly; nothing is written.
    let bad = evidence_core::AppendRequest::new(evidence_core::Claim::new(ClaimKind::Erasure, serde_json::json!({})).unwrap());
    assert!(matches!(t.append_batch(vec![finding(9), bad]).await, Err(LedgerError::Request(_))));
    assert_eq!(t.store().size().await.unwrap(), 3);
    // Receipts match the stored leaves and records decrypt to the claims.
    let parts = t.claim_parts(Seq(2)).await.unwrap();
    assert_eq!(parts.record.unwrap().1, finding(2).claim);
    // Reopening gives the same tenant.
    let again = l.tenant(&tid("dealer-1")).await.unwrap();
    assert_eq!(again.store().size().await.unwrap(), 3);
    assert!(matches!(l.tenant(&tid("nobody")).await, Err(LedgerError::Store(StoreError::UnknownTenant(_)))));
}

async fn sealing_chains_and_proves<S: Store>(s: S) {
    let l = ledger(s);
    let id = tid("dealer-2");
    let t = l.create_tenant(&id, &TenantConfig::default()).await.unwrap();
    let v = l.verifier(&id).unwrap();
    // Empty log seals too.
    let c0 = t.seal_now().await.unwrap();
    assert_eq!(c0.root.tree_size.0, 0);
    t.append_batch((0..300).map(finding).collect()).await.unwrap();
    let c1 = t.seal_now().await.unwrap();
    t.append_batch((300..333).map(finding).collect()).await.unwrap();
    let c2 = t.seal_now().await.unwrap();
    let c3 = t.seal_now().await.unwrap(); // empty interval
    assert_eq!(c3.root, c2.root);
    assert_eq!(check_chain(&t, &v).await, 4);
    for seq in [0u64, 1, 127, 255, 256, 299] {
        let p = t.inclusion_proof(Seq(seq), &c1).await.unwrap();
        let leaf = t.store().leaves(seq, seq + 1).await.unwrap().pop().unwrap();
        p.verify(&leaf.leaf_hash, &c1.root).unwrap();
    }
    t.inclusion_proof(Seq(332), &c2).await.unwrap();
    assert!(matches!(t.inclusion_proof(Seq(300), &c1).await, Err(LedgerError::NotSealed(_))));
    t.consistency_proof(&c0, &c2).await.unwrap().verify(&c0.root, &c2.root).unwrap();
    t.consistency_proof(&c1, &c3).await.unwrap().verify(&c1.root, &c3.root).unwrap();
    // Each seal enqueued one row per rail.
    for cp in [&c0, &c1, &c2, &c3] {
        let rows = t.anchor_state(cp.seq).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.state == AnchorState::Pending));
    }
}

/// Seals racing each other and appends: every seal either stores a checkpoint that
/// extends the chain or is refused as busy; the chain verifies and the last seal covers
/// every claim.
async fn concurrent_seals_and_appends_keep_one_chain<S: Store>(s: S) {
    let l = ledger(s);
    let id = tid("dealer-seal-race");
    let t = l.create_tenant(&id, &TenantConfig::default()).await.unwrap();
    let v = l.verifier(&id).unwrap();
    let writer = {
        let t = t.clone();
        tokio::spawn(async move {
            for b in 0..20u64 {
                t.append_batch((b * 50..b * 50 + 50).map(finding).collect()).await.unwrap();
            }
        })
    };
    let mut sealers = Vec::new();
    for _ in 0..3 {
        let t = t.clone();
        sealers.push(tokio::spawn(async move {
            let (mut stored, mut busy) = (0, 0);
            for _ in 0..8 {
                match t.seal_now().await {
                    Ok(_) => stored += 1,
                    Err(LedgerError::Store(StoreError::SealBusy)) => busy += 1,
                    Err(e) => panic!("seal: {e}"),
                }
            }
            (stored, busy)
        }));
    }
    writer.await.unwrap();
    let mut stored = 0;
    for s in sealers {
        stored += s.await.unwrap().0;
    }
    let last = t.seal_now().await.unwrap();
    assert_eq!(last.root.tree_size.0, 1000, "the last seal covers every claim");
    assert_eq!(check_chain(&t, &v).await, stored + 1, "one checkpoint per successful seal, one chain");
}

/// The locking rule of a seal (`ledger::store` docs, "The locking rule of a seal"): a seal
/// commits only if the checkpoint it extends is still the latest. Seal A is held inside its
/// write transaction (in `sign`) while seal B starts: B must store nothing and answer
/// `SealBusy` (on PostgreSQL at once, from the advisory lock; on SQLite once A has
/// committed, from the check), and the chain holds A's checkpoint only.
async fn a_seal_that_lost_the_race_stores_nothing<S: Store>(s: S) {
    use ledger::store::{SealDraft, SealSigned};
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-seal-rule"), &TenantConfig::default()).await.unwrap();
    t.append_batch((0..10).map(finding).collect()).await.unwrap();
    let sign = |d: SealDraft| {
        let h = evidence_core::sha256(&[&d.seq.0.to_be_bytes(), &d.root.hash.0]);
        Ok(SealSigned {
            note: evidence_core::SignedCheckpoint { note: format!("test note {}\n", d.seq.0) },
            hash: evidence_core::CheckpointHash(h),
            sealed_at: UnixMillis(1),
        })
    };
    let (entered, entered_rx) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let store = t.store().clone();
    let a = tokio::spawn(async move {
        store
            .seal(
                move |d| {
                    entered.send(()).unwrap();
                    go_rx.recv().unwrap();
                    sign(d)
                },
                &[Rail::Tsa],
                UnixMillis(1),
            )
            .await
    });
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap()).await.unwrap();
    let store = t.store().clone();
    let b = tokio::spawn(async move { store.seal(sign, &[Rail::Tsa], UnixMillis(1)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    go.send(()).unwrap();
    let a = a.await.unwrap().expect("the first seal commits");
    assert!(matches!(b.await.unwrap(), Err(StoreError::SealBusy)), "the second seal extended a checkpoint that is no longer the latest");
    assert_eq!(a.seq.0, 0);
    let all = t.checkpoints(0, 10).await.unwrap();
    assert_eq!(all.len(), 1, "one checkpoint: the chain did not fork");
    assert_eq!(all[0].hash, a.hash);
    assert_eq!(t.anchor_state(a.seq).await.unwrap().len(), 1, "only the winner's outbox row");
}

async fn tenants_are_isolated<S: Store>(s: S) {
    let l = ledger(s);
    let a = l.create_tenant(&tid("tenant-a"), &TenantConfig::default()).await.unwrap();
    let b = l.create_tenant(&tid("tenant-b"), &TenantConfig::default()).await.unwrap();
    a.append_batch((0..5).map(|n| finding(n).with_idempotency_key(format!("k{n}"))).collect()).await.unwrap();
    a.seal_now().await.unwrap();
    // B sees nothing of A, whatever ids it is given.
    assert_eq!(b.store().size().await.unwrap(), 0);
    assert!(b.store().leaves(0, 100).await.unwrap().is_empty());
    assert!(b.store().record(Seq(0)).await.unwrap().is_none());
    assert!(b.store().latest_checkpoint().await.unwrap().is_none());
    assert!(b.store().anchors(evidence_core::CheckpointSeq(0)).await.unwrap().is_empty());
    assert!(matches!(b.erase(Seq(0), "x").await, Err(LedgerError::NoSuchLeaf(_))));
    assert!(matches!(b.retract(Seq(1), "x").await, Err(LedgerError::NoSuchLeaf(_))));
    assert!(b.store().anchor_failed(1, "x", UnixMillis(0)).await.is_ok());
    assert!(a.anchor_state(evidence_core::CheckpointSeq(0)).await.unwrap().iter().all(|r| r.attempts == 0));
    // The same idempotency key in B is a different claim.
    let rb = b.append(finding(0).with_idempotency_key("k0")).await.unwrap();
    assert_eq!(rb.seq, Seq(0));
    assert_eq!(rb.tenant, tid("tenant-b"));
    assert_eq!(a.store().size().await.unwrap(), 5);
    // A's stored record cannot be decrypted under B's key.
    let rec = a.store().record(Seq(0)).await.unwrap().unwrap();
    let entry = evidence_core::LeafEntry::decode(&a.store().leaves(0, 1).await.unwrap()[0].entry).unwrap();
    let kb = ledger::crypto::KeyProvider::kek(&test_support::fixtures::keys(), &tid("tenant-b"), rec.kek_epoch).unwrap();
    assert!(ledger::crypto::open_record(&kb, &tid("tenant-a"), &entry.commitment, &rec).is_err());
    let ka = ledger::crypto::KeyProvider::kek(&test_support::fixtures::keys(), &tid("tenant-a"), rec.kek_epoch).unwrap();
    assert!(ledger::crypto::open_record(&ka, &tid("tenant-a"), &entry.commitment, &rec).is_ok());
    let mut ids = l.tenants().await.unwrap();
    ids.sort();
    assert_eq!(ids, vec![tid("tenant-a"), tid("tenant-b")]);
}

async fn erasure_retraction_supersession_incidents<S: Store>(s: S) {
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-3"), &TenantConfig::default()).await.unwrap();
    let rs = t.append_batch((0..4).map(finding).collect()).await.unwrap();
    let ret = t.retract(Seq(1), "wrong finding").await.unwrap();
    assert_eq!(ret.kind, ClaimKind::Retraction);
    let (rep, sup) = t.supersede(Seq(2), finding(20), "corrected").await.unwrap();
    assert_eq!(sup.seq.0, rep.seq.0 + 1);
    let er = t.erase(Seq(0), "subject request").await.unwrap();
    let from = rs[3].appended_at;
    let inc = t
        .incident(UnixMillis(from.0 - 1), UnixMillis(from.0 + 1), "pii_in_model_request", serde_json::json!({"request": "r-1"}))
        .await
        .unwrap();
    let cp = t.seal_now().await.unwrap();
    // Links name the targets' content hashes.
    let leaves = t.store().leaves(0, cp.root.tree_size.0).await.unwrap();
    let links = |seq: Seq| evidence_core::LeafEntry::decode(&leaves[usize::try_from(seq.0).unwrap()].entry).unwrap().links;
    assert_eq!(links(ret.seq), vec![rs[1].content_hash]);
    assert_eq!(links(sup.seq), vec![rs[2].content_hash, rep.content_hash]);
    assert_eq!(links(er.seq), vec![rs[0].content_hash]);
    // The erased record is gone (ciphertext, key, salt), the leaf stays and proves.
    assert!(t.store().record(Seq(0)).await.unwrap().is_none());
    assert!(t.claim_parts(Seq(0)).await.unwrap().record.is_none());
    // Nothing is anchored yet: a bundle for checking everything but the anchors.
    let b = t.bundle_unanchored(&[Seq(0), Seq(1), Seq(3)]).await.unwrap();
    assert_eq!(b.claims[0].record_status, RecordStatus::Erased);
    assert!(b.claims[0].salt.is_none());
    assert_eq!(b.claims[1].record_status, RecordStatus::Disclosed);
    // Incident flags: on claims appended inside the window only.
    assert_eq!(b.claims[2].incidents.len(), 1);
    assert_eq!(b.claims[2].incidents[0].incident, inc.content_hash);
    assert_eq!(t.incidents_covering(from).await.unwrap().len(), 1);
    assert!(t.incidents_covering(UnixMillis(from.0 - 10_000)).await.unwrap().is_empty());
    // The standard tlog-proof export verifies with the tenant's key.
    let (entry, tp) = t.tlog_proof(Seq(0)).await.unwrap();
    let text = tp.encode();
    let parsed = evidence_core::TlogProof::parse(&text).unwrap();
    let leaf = evidence_core::leaf::leaf_hash_of(&entry);
    parsed.verify(&leaf, &[l.verifier(&tid("dealer-3")).unwrap()], None).unwrap();
    assert!(parsed.verify(&evidence_core::LeafHash([1; 32]), &[l.verifier(&tid("dealer-3")).unwrap()], None).is_err());
    // Offline verification of everything but the anchors (none yet).
    let mut unanchored = Verifier::new(TrustStore::new(trust(&l)).unwrap());
    unanchored.dangerous().skip_anchor_checks();
    let report = unanchored.verify(&b);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);
    // Tampering is caught: a disclosed record that is not the one committed.
    let mut bad = b.clone();
    bad.claims[1].record = Some(finding(99).claim);
    let report = unanchored.verify(&bad);
    assert_ne!(report.verdict, Verdict::Verified);
}

async fn outbox_survives_outages_and_reanchors<S: Store>(s: S) {
    let l = ledger(s);
    let cfg = TenantConfig { residency: vec!["CA".into()], ..TenantConfig::default() };
    let t = l.create_tenant(&tid("dealer-4"), &cfg).await.unwrap();
    t.append_batch((0..10).map(finding).collect()).await.unwrap();
    let cp = t.seal_now().await.unwrap();
    let tsa = Switchable::new(FailoverTsa {
        first: OpensslTsa::generate("US TSA", "US").unwrap(),
        reanchor: OpensslTsa::generate("CA TSA", "CA").unwrap(),
    });
    let fabric = Switchable::new(FabricTestDouble { jurisdiction: Some("CA".into()) });
    tsa.set_down(true);
    fabric.set_down(true);
    // Outage: attempts fail, rows are kept as failed with a retry time.
    let st = t.process_anchors(&tsa, &fabric, 10).await.unwrap();
    assert_eq!(st.failed, 2);
    let rows = t.anchor_state(cp.seq).await.unwrap();
    assert!(rows.iter().all(|r| r.state == AnchorState::Failed && r.attempts == 1 && r.last_error.is_some()));
    // Not due again before the backoff.
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap().failed, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap().failed, 2);
    assert_eq!(t.store().unanchored().await.unwrap().len(), 2);
    // Outage ends: both rails anchor; the TSA answered from outside the policy (US),
    // so the checkpoint is re-anchored (original kept) and a reanchor claim appended.
    tsa.set_down(false);
    fabric.set_down(false);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Rows are claimed one at a time, so the re-anchor row (due at once) is anchored in the
    // same pass: the Fabric row, the out-of-policy US token, then the CA re-anchor.
    let st = t.process_anchors(&tsa, &fabric, 10).await.unwrap();
    assert_eq!((st.anchored, st.reanchored), (2, 1), "the re-anchor row is due at once");
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap(), ledger::anchor::PassStats::default());
    let rows = t.anchor_state(cp.seq).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.state == AnchorState::Anchored));
    let us = rows.iter().find(|r| r.rail == Rail::Tsa && r.reanchor_of.is_none()).unwrap();
    let ca = rows.iter().find(|r| r.reanchor_of == Some(us.id)).unwrap();
    assert_eq!((us.in_residency, us.jurisdiction.as_deref()), (Some(false), Some("US")));
    assert_eq!((ca.in_residency, ca.jurisdiction.as_deref()), (Some(true), Some("CA")));
    // Both tokens are real RFC 3161 responses over the checkpoint hash.
    assert!(tsa_verify(&tsa, false, &cp.hash.0, us.evidence.as_ref().unwrap()));
    assert!(tsa_verify(&tsa, true, &cp.hash.0, ca.evidence.as_ref().unwrap()));
    assert!(!tsa_verify(&tsa, true, &[0; 32], ca.evidence.as_ref().unwrap()));
    let size = t.store().size().await.unwrap();
    let last = t.store().leaves(size - 1, size).await.unwrap().pop().unwrap();
    assert_eq!(last.kind_code, ClaimKind::Reanchor.code());
    // The bundle carries both tokens, the US one flagged.
    let b = t.bundle(&[Seq(3)]).await.unwrap();
    assert_eq!(b.anchors.timestamps.len(), 2);
    assert_eq!(b.anchors.timestamps.iter().filter(|a| a.outside_residency).count(), 1);
    assert_eq!(b.anchors.fabric.len(), 1);
    assert!(t.store().unanchored().await.unwrap().is_empty());
    // Offline, with evidence-core's RFC 3161 verifier and the TSA roots from the trust file:
    // the in-residency token verifies; the flagged one verifies too but does not count.
    let inner = tsa.inner();
    let mut trusted = trust(&l);
    trusted.tsa_roots_pem =
        vec![std::fs::read_to_string(inner.first.ca_pem()).unwrap(), std::fs::read_to_string(inner.reanchor.ca_pem()).unwrap()];
    let need_tsa = AnchorPolicy { rfc3161: 1, fabric: 0 };
    // The Fabric test double's receipt is not a Fabric block: the real verifier refuses it.
    let report = verifier(trusted.clone(), need_tsa).verify(&b);
    assert!(report.checks.iter().any(|c| c.id == "anchor.fabric" && matches!(c.outcome, Outcome::Fail(_))));
    assert_ne!(report.verdict, Verdict::Verified);
    let mut b = b;
    b.anchors.fabric.clear();
    let report = verifier(trusted.clone(), need_tsa).verify(&b);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);
    assert_eq!(report.timestamps_verified, 1);
    assert!(report.checks.iter().any(|c| c.id == "anchor.residency"));
    // Without the CA TSA's root, its token does not chain and the bundle is not verified.
    trusted.tsa_roots_pem.pop();
    let report = verifier(trusted, need_tsa).verify(&b);
    assert_ne!(report.verdict, Verdict::Verified);
}

/// A bundle is built on the newest covering checkpoint anchored on every rail the tenant
/// requires: with the TSA down after an anchored seal, a newer checkpoint anchored on Fabric
/// only is not used (its bundle would fail verification) but goes in as a consistency-linked
/// later checkpoint; a claim that only the newer checkpoint covers is `NotAnchored`, naming
/// the checkpoint and the rail it waits for; once the TSA is back, the newer one is used.
async fn bundles_use_the_newest_fully_anchored_checkpoint<S: Store>(s: S) {
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-anchored"), &TenantConfig::default()).await.unwrap();
    let tsa = Switchable::new(OpensslTsa::generate("Policy TSA", "CA").unwrap());
    let fabric = Switchable::new(FabricTestDouble { jurisdiction: Some("CA".into()) });
    t.append_batch((0..5).map(finding).collect()).await.unwrap();
    assert!(matches!(t.bundle(&[Seq(2)]).await, Err(LedgerError::NotSealed(Seq(2)))));
    let c1 = t.seal_now().await.unwrap();
    // Sealed, nothing anchored yet: no bundle that would fail, but what is pending.
    match t.bundle(&[Seq(2)]).await {
        Err(LedgerError::NotAnchored { seq, checkpoint, pending }) => {
            assert_eq!((seq, checkpoint), (Seq(2), c1.seq));
            let rails: Vec<Rail> = pending.iter().map(|p| p.rail).collect();
            assert_eq!(rails, vec![Rail::Tsa, Rail::Fabric]);
            assert!(pending.iter().all(|p| p.state == AnchorState::Pending && p.attempts == 0));
        }
        other => panic!("expected NotAnchored, got {other:?}"),
    }
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap().anchored, 2);
    // The TSA goes down; a new seal is anchored on Fabric only.
    tsa.set_down(true);
    t.append_batch((5..9).map(finding).collect()).await.unwrap();
    let c2 = t.seal_now().await.unwrap();
    let st = t.process_anchors(&tsa, &fabric, 10).await.unwrap();
    assert_eq!((st.anchored, st.failed), (1, 1));
    let b = t.bundle(&[Seq(2)]).await.unwrap();
    assert_eq!(b.checkpoint, c1.note, "the older, fully anchored checkpoint");
    assert_eq!(b.anchors.timestamps.len(), 1);
    assert_eq!(b.later_checkpoints.len(), 1);
    assert_eq!(b.later_checkpoints[0].checkpoint, c2.note, "the newer one is listed");
    // It verifies offline: the TSA token, the inclusion proof, and the newer checkpoint's
    // consistency (the Fabric test double's receipt is no evidence: taken out, Fabric not required).
    let mut trusted = trust(&l);
    trusted.tsa_roots_pem = vec![std::fs::read_to_string(tsa.inner().ca_pem()).unwrap()];
    let need_tsa = AnchorPolicy { rfc3161: 1, fabric: 0 };
    let mut checked = b.clone();
    checked.anchors.fabric.clear();
    let report = verifier(trusted.clone(), need_tsa).verify(&checked);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);
    assert!(
        report.checks.iter().any(|c| c.id == "checkpoint.consistency" && matches!(c.outcome, Outcome::Pass(_))),
        "{:#?}",
        report.checks
    );
    // A claim only the newer checkpoint covers has no anchored checkpoint yet.
    match t.bundle(&[Seq(1), Seq(7)]).await {
        Err(LedgerError::NotAnchored { seq, checkpoint, pending }) => {
            assert_eq!((seq, checkpoint), (Seq(7), c2.seq));
            assert_eq!(pending.len(), 1, "{pending:?}");
            assert_eq!((pending[0].rail, pending[0].state, pending[0].attempts), (Rail::Tsa, AnchorState::Failed, 1));
        }
        other => panic!("expected NotAnchored, got {other:?}"),
    }
    // The TSA is back: after the backoff the newer checkpoint is anchored and used.
    tsa.set_down(false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap().anchored, 1);
    for seqs in [&[Seq(2)][..], &[Seq(1), Seq(7)]] {
        let mut b = t.bundle(seqs).await.unwrap();
        assert_eq!(b.checkpoint, c2.note);
        assert!(b.later_checkpoints.is_empty());
        b.anchors.fabric.clear();
        assert_eq!(verifier(trusted.clone(), need_tsa).verify(&b).verdict, Verdict::Verified);
    }
}

fn tsa_verify(tsa: &Switchable<FailoverTsa>, reanchor: bool, digest: &[u8; 32], der: &[u8]) -> bool {
    // Switchable hides the inner rail; rebuild access through a fresh reference.
    let inner: &FailoverTsa = tsa.inner();
    if reanchor { inner.reanchor.verify(digest, der) } else { inner.first.verify(digest, der) }
}

async fn scheduler_seals_on_size<S: Store>(s: S) {
    let l = ledger(s);
    let cfg = TenantConfig { seal_after_claims: 5, seal_every_ms: 3_600_000, ..TenantConfig::default() };
    let t = l.create_tenant(&tid("dealer-5"), &cfg).await.unwrap();
    // First tick seals the empty log (no checkpoint yet); then only on size.
    assert!(ledger::scheduler::seal_if_due(&t).await.unwrap());
    assert!(!ledger::scheduler::seal_if_due(&t).await.unwrap());
    t.append_batch((0..4).map(finding).collect()).await.unwrap();
    assert!(!ledger::scheduler::seal_if_due(&t).await.unwrap());
    t.append(finding(5)).await.unwrap();
    let bg = ledger::scheduler::spawn_sealer(l.clone(), Duration::from_millis(50));
    let mut sealed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if t.store().latest_checkpoint().await.unwrap().is_some_and(|c| c.root.tree_size.0 == 5) {
            sealed = true;
            break;
        }
    }
    bg.shutdown().await;
    assert!(sealed, "the scheduler sealed after 5 claims");
}

async fn background_worker_anchors<S: Store>(s: S) {
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-7"), &TenantConfig::default()).await.unwrap();
    t.append_batch((0..3).map(finding).collect()).await.unwrap();
    let cp = t.seal_now().await.unwrap();
    let tsa = OpensslTsa::generate("Worker TSA", "CA").unwrap();
    let bg = ledger::scheduler::spawn_anchor_worker(l.clone(), tsa, FabricTestDouble::default(), Duration::from_millis(50));
    let mut done = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if t.anchor_state(cp.seq).await.unwrap().iter().all(|r| r.state == AnchorState::Anchored) {
            done = true;
            break;
        }
    }
    bg.shutdown().await;
    assert!(done, "the worker anchored both rails");
    let b = t.bundle(&[Seq(1)]).await.unwrap();
    assert_eq!((b.anchors.timestamps.len(), b.anchors.fabric.len()), (1, 1));
}

/// Concurrent single appends through separate handles of one tenant are group-committed:
/// every caller gets its own receipt, sequence numbers have no gap, idempotent retries racing
/// each other get the first receipt, and every claim reads back as sent.
async fn concurrent_single_appends_group_commit<S: Store>(s: S) {
    let l = ledger(s);
    l.create_tenant(&tid("dealer-gc"), &TenantConfig::default()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..16u64 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            let t = l.tenant(&tid("dealer-gc")).await.unwrap();
            let mut out = Vec::new();
            for i in 0..25u64 {
                let n = w * 1000 + i;
                // Every fifth append of a worker reuses a key that another worker also sends.
                let req = if i % 5 == 0 { finding(i).with_idempotency_key(format!("shared-{i}")) } else { finding(n) };
                out.push((if i % 5 == 0 { i } else { n }, t.append(req).await.unwrap()));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let t = l.tenant(&tid("dealer-gc")).await.unwrap();
    // 16 workers x 20 distinct claims, plus 5 shared keys stored once each.
    let size = t.store().size().await.unwrap();
    assert_eq!(size, 16 * 20 + 5);
    let mut seqs: Vec<u64> = all.iter().map(|(_, r)| r.seq.0).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs, (0..size).collect::<Vec<u64>>(), "no gap, nothing acknowledged twice under different numbers");
    for (n, r) in &all {
        let parts = t.claim_parts(r.seq).await.unwrap();
        assert_eq!(parts.content_hash, r.content_hash);
        assert_eq!(parts.record.unwrap().1, finding(*n).claim);
    }
}

/// Token records, with and without a bound person, read back as stored; revocation once.
async fn token_records_round_trip<S: Store>(s: S) {
    use ledger::tokens::{Role, TokenRecord};
    // As `ledger_server::auth::issue` makes them (the ledger only stores records).
    let record = |id: &str, role, label: &str, secret, at| TokenRecord {
        id: id.into(),
        tenant: Some(tid("dealer-t")),
        role,
        label: label.into(),
        secret_hash: evidence_core::sha256(&[&[secret; 32]]),
        created_at: UnixMillis(at),
        expires_at: UnixMillis(at + 60_000),
        revoked_at: None,
        principal: None,
    };
    let mut bound = record("0101010101010101", Role::Cfo, "cfo", 2, 1_000);
    bound.principal = Some("cfo@dealer.example.ca".into());
    let machine = record("0303030303030303", Role::Service, "pipeline", 4, 2_000);
    s.put_token(&bound).await.unwrap();
    s.put_token(&machine).await.unwrap();
    assert_eq!(s.token(&bound.id).await.unwrap().as_ref(), Some(&bound));
    assert_eq!(s.token(&machine.id).await.unwrap().unwrap().principal, None);
    assert_eq!(s.tokens().await.unwrap(), vec![machine.clone(), bound.clone()], "newest first");
    assert!(s.revoke_token(&bound.id, UnixMillis(5_000)).await.unwrap());
    assert!(!s.revoke_token(&bound.id, UnixMillis(6_000)).await.unwrap(), "once");
    assert_eq!(s.token(&bound.id).await.unwrap().unwrap().revoked_at, Some(UnixMillis(5_000)));
}

/// Dashboard sessions: stored by key, each use moves the idle deadline, the idle and
/// absolute limits end a session (and delete it), ending and sweeping delete.
async fn sessions_expire_and_end<S: Store>(s: S) {
    use ledger::store::sessions::SessionRecord;
    let rec = |key: &str, at: i64, not_after: i64| SessionRecord {
        key: key.into(),
        token_id: "0101010101010101".into(),
        mfa_subject: Some("cfo@dealer.example.ca".into()),
        csrf: format!("csrf-{key}"),
        created_at: UnixMillis(at),
        last_used: UnixMillis(at),
        not_after: UnixMillis(not_after),
    };
    s.put_session(&rec("a", 1_000, 100_000)).await.unwrap();
    assert!(s.put_session(&rec("a", 1_000, 100_000)).await.is_err(), "a key is stored once");
    // Used at 5 000 with idle since 1 000: live, and its last use moves to 5 000.
    let got = s.use_session("a", UnixMillis(5_000), UnixMillis(1_000)).await.unwrap().unwrap();
    assert_eq!(got, SessionRecord { last_used: UnixMillis(5_000), ..rec("a", 1_000, 100_000) });
    // Idle: last used 5 000, live only if used at or after 5 001: ended, and gone.
    assert!(s.use_session("a", UnixMillis(9_000), UnixMillis(5_001)).await.unwrap().is_none());
    assert!(s.use_session("a", UnixMillis(9_000), UnixMillis(0)).await.unwrap().is_none(), "deleted when found idle");
    // Absolute: past not_after whatever its use.
    s.put_session(&rec("b", 1_000, 2_000)).await.unwrap();
    assert!(s.use_session("b", UnixMillis(2_000), UnixMillis(0)).await.unwrap().is_none());
    // Ending, and a sweep of what ended unseen.
    s.put_session(&rec("c", 1_000, 100_000)).await.unwrap();
    assert!(s.end_session("c").await.unwrap());
    assert!(!s.end_session("c").await.unwrap());
    assert!(s.use_session("c", UnixMillis(1_500), UnixMillis(0)).await.unwrap().is_none());
    for (k, at, until) in [("d", 1_000, 100_000), ("e", 8_000, 100_000), ("f", 8_000, 9_000)] {
        s.put_session(&rec(k, at, until)).await.unwrap();
    }
    // At 9 500, idle since 5 000: d is idle, f past its end; e stays.
    assert_eq!(s.sweep_sessions(UnixMillis(9_500), UnixMillis(5_000)).await.unwrap(), 2);
    assert!(s.use_session("e", UnixMillis(9_600), UnixMillis(5_000)).await.unwrap().is_some());
    assert!(s.use_session("d", UnixMillis(9_600), UnixMillis(0)).await.unwrap().is_none());
}

/// The batched bundles a signed report attaches are the single-claim bundles, byte for byte:
/// over a tree of several 256-leaf blocks (stored nodes and recomputed low nodes), on the
/// checkpoint asked for while newer ones exist, with an erased claim, a retracted one, an
/// incident window and a claim listed twice, on a checkpoint with its TSA anchor.
async fn batched_bundles_equal_single_bundles<S: Store>(s: S) {
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-batch"), &TenantConfig::default()).await.unwrap();
    let tsa = Switchable::new(OpensslTsa::generate("Batch TSA", "CA").unwrap());
    let fabric = Switchable::new(FabricTestDouble { jurisdiction: Some("CA".into()) });
    let rs = t.append_batch((0..700).map(finding).collect()).await.unwrap();
    t.retract(Seq(5), "wrong").await.unwrap();
    t.erase(Seq(300), "subject request").await.unwrap();
    let at = rs[600].appended_at;
    t.incident(UnixMillis(at.0 - 1), UnixMillis(at.0 + 1), "pii_in_model_request", serde_json::json!({"request": "r-2"})).await.unwrap();
    let later = t.append_batch((700..1100).map(finding).collect()).await.unwrap();
    let cut = t.seal_now().await.unwrap();
    assert_eq!(t.process_anchors(&tsa, &fabric, 10).await.unwrap().anchored, 2);
    let cut = t.checkpoint(cut.seq).await.unwrap();
    t.append_batch((1100..1200).map(finding).collect()).await.unwrap();
    t.seal_now().await.unwrap();
    let size = cut.root.tree_size.0;
    let seqs: Vec<Seq> = [0, 1, 5, 255, 256, 257, 300, 511, 512, 600, 601, 1023, 1024, 1050, size - 1, 600, 0]
        .into_iter()
        .chain((640..700).step_by(3))
        .map(Seq)
        .collect();
    let batched = t.bundles_at(&seqs, &cut).await.unwrap();
    assert_eq!(batched.len(), seqs.len());
    for (seq, b) in seqs.iter().zip(&batched) {
        let single = t.bundle_at(&[*seq], &cut).await.unwrap();
        assert_eq!(serde_json::to_vec_pretty(b).unwrap(), serde_json::to_vec_pretty(&single).unwrap(), "claim {}", seq.0);
    }
    // What the comparison covers is really there.
    let of = |seq: u64| &batched[seqs.iter().position(|s| s.0 == seq).unwrap()].claims[0];
    assert_eq!(of(300).record_status, RecordStatus::Erased);
    assert_eq!(of(600).incidents.len(), 1);
    // The window is at +/- 1 ms of the first batch's append time; the later batch was
    // appended after three durable commits.
    assert!(later[350].appended_at.0 > at.0 + 1);
    assert!(of(1050).incidents.is_empty());
    assert_eq!(batched[0].anchors.timestamps.len(), 1);
    assert!(batched[0].later_checkpoints.is_empty());
    // A claim the checkpoint does not seal is refused, as in the single path.
    assert!(matches!(t.bundles_at(&[Seq(1), Seq(size)], &cut).await, Err(LedgerError::NotSealed(s)) if s == Seq(size)));
    assert!(t.bundles_at(&[], &cut).await.unwrap().is_empty());
}

test_support::both_backends!(
    sessions_expire_and_end,
    batched_bundles_equal_single_bundles,
    token_records_round_trip,
    a_seal_that_lost_the_race_stores_nothing,
    concurrent_seals_and_appends_keep_one_chain,
    concurrent_single_appends_group_commit,
    background_worker_anchors,
    appends_are_consecutive_and_idempotent,
    sealing_chains_and_proves,
    tenants_are_isolated,
    erasure_retraction_supersession_incidents,
    outbox_survives_outages_and_reanchors,
    bundles_use_the_newest_fully_anchored_checkpoint,
    scheduler_seals_on_size,
);

#[test]
fn sqlite_records_are_encrypted_at_rest() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (s, g) = test_support::fixtures::sqlite().await;
        let l = ledger(s);
        let t = l.create_tenant(&tid("dealer-6"), &TenantConfig::default()).await.unwrap();
        t.append_batch((0..20).map(finding).collect()).await.unwrap();
        t.seal_now().await.unwrap();
        let test_support::fixtures::Guard::Sqlite(dir) = &g else { unreachable!() };
        let mut all = Vec::new();
        for f in ["dealer-6.db", "dealer-6.db-wal"] {
            if let Ok(b) = std::fs::read(dir.path().join("tenants").join(f)) {
                all.extend(b);
            }
        }
        assert!(!all.is_empty());
        assert!(!all.windows(19).any(|w| w == b"secret-marker-xyzzy"), "plaintext found at rest");
        assert!(!all.windows(6).any(|w| w == b"P-0042"), "plaintext found at rest");
    });
}

/// Two stores on one database stand for two ledger processes: concurrent appends get
/// distinct consecutive sequence numbers, concurrent seals never fork the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_a_tenant() {
    let h = test_support::PgHarness::start().await;
    let p1 = ledger(ledger::store::postgres::PgStore::connect_with(h.options.clone(), 4).await.unwrap());
    let p2 = ledger(ledger::store::postgres::PgStore::connect_with(h.options.clone(), 4).await.unwrap());
    let id = tid("shared");
    let t1 = p1.create_tenant(&id, &TenantConfig::default()).await.unwrap();
    let t2 = p2.create_tenant(&id, &TenantConfig::default()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..6u64 {
        let t = if w % 2 == 0 { t1.clone() } else { t2.clone() };
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..20u64 {
                let batch: Vec<_> = (0..5).map(|j| finding(w * 1000 + i * 10 + j)).collect();
                let rs = t.append_batch(batch).await.unwrap();
                // A batch is consecutive.
                for pair in rs.windows(2) {
                    assert_eq!(pair[1].seq.0, pair[0].seq.0 + 1);
                }
                seqs.extend(rs.iter().map(|r| r.seq.0));
                if i % 5 == 0 {
                    match t.seal_now().await {
                        Ok(_) | Err(LedgerError::Store(StoreError::SealBusy)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..600).collect::<Vec<u64>>());
    t1.seal_now().await.unwrap();
    let n = check_chain(&t2, &p2.verifier(&id).unwrap()).await;
    assert!(n >= 2);
}

/// WAL checkpoints of a tenant file run in the background: appended pages reach the
/// database file without the writer checkpointing (its own threshold, 256 MiB, is far
/// away), and everything reads back afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_in_the_background() {
    use ledger::store::sqlite::{Durability, SqliteStore, WRITER_AUTOCHECKPOINT_PAGES};
    let dir = test_support::TempDir::new("wal-background");
    let s = SqliteStore::open(dir.path(), Durability::PowerLoss).await.unwrap();
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-wal"), &TenantConfig::default()).await.unwrap();
    let db = dir.path().join("tenants").join("dealer-wal.db");
    let db_size = || std::fs::metadata(&db).map_or(0, |m| m.len());
    let before = db_size();
    let filler = "x".repeat(64 << 10);
    // 8 MiB in batches of 1 MiB: 2 048 pages, well under the writer's own threshold.
    const { assert!(2048 < WRITER_AUTOCHECKPOINT_PAGES) };
    for b in 0..8u64 {
        let batch: Vec<_> = (0..16u64)
            .map(|i| {
                evidence_core::AppendRequest::new(
                    evidence_core::Claim::new(ClaimKind::LeakageFinding, serde_json::json!({ "n": b * 16 + i, "filler": filler })).unwrap(),
                )
            })
            .collect();
        t.append_batch(batch).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db_size() < before + (8 << 20) {
        assert!(std::time::Instant::now() < deadline, "the database file stayed at {} bytes: no background checkpoint", db_size());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.store().size().await.unwrap(), 128);
    let parts = t.claim_parts(Seq(127)).await.unwrap();
    assert_eq!(parts.record.unwrap().1.body["n"], 127);
}
