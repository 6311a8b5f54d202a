//! Recovery from a Fabric commit whose receipt was not stored, through the production Fabric
//! rail (`GatewayFabricRail` over `fabric-anchor`'s Gateway client) against the emulator.
//!
//! The lost receipt is the crash window itself: the rail's transaction commits and the
//! ledger never stores its receipt (the wrapper drops it and reports a failure, as a process
//! killed between the commit and the outbox update would leave it), so the outbox retries.
//! The retry's `Anchor` is refused (the key exists); the rail reads the key back, finds the
//! committed transaction on the channel and adopts it as the receipt, verified like any
//! receipt; the bundle then verifies with both rails required. A second ledger with the same
//! name and tenant on the same channel gets a conflict that names both values.

use std::sync::atomic::{AtomicBool, Ordering};

use evidence_core::bundle::Base64;
use evidence_core::trust::{AnchorPolicy, LedgerKey, MspCertificates, TRUST_FORMAT, TrustFile};
use evidence_core::{ClaimSink as _, Seq, TrustStore, Verdict, Verifier};
use fabric_anchor::emulator::{self, EmulatorConfig, RunningEmulator};
use ledger::anchor::{AnchorEvidence, AnchorRequest, FabricRail, RailError};
use ledger::rails::GatewayFabricRail;
use ledger::store::{AnchorState, Rail, Store, TenantConfig};
use test_support::OpensslTsa;
use test_support::fixtures::{finding, ledger, tid};

/// The Fabric rail, dropping the first receipt it gets (committed, never stored).
struct LosesFirstReceipt {
    rail: GatewayFabricRail,
    lose: AtomicBool,
}

impl FabricRail for LosesFirstReceipt {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let ev = self.rail.submit(req).await?;
        if self.lose.swap(false, Ordering::SeqCst) {
            return Err(RailError { rail: "fabric", message: "crash after the commit (test): the receipt is lost".into() });
        }
        Ok(ev)
    }
}

fn rail(emu: &RunningEmulator) -> GatewayFabricRail {
    let gw = fabric_anchor::GatewayClient::connect(emu.gateway_config(), emu.client_identity().clone()).unwrap();
    GatewayFabricRail::new(fabric_anchor::AnchorClient::new(gw), emu.trust().msp_roots().unwrap(), "emulator", Some("CA".into()))
}

fn trust(tsa: &OpensslTsa, emu: &RunningEmulator) -> TrustFile {
    let t = emu.trust();
    TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey {
            name: test_support::fixtures::LEDGER.into(),
            ed25519_public_key: Base64(test_support::fixtures::signer().verifier().key().to_bytes().to_vec()),
        }],
        tsa_roots_pem: vec![std::fs::read_to_string(tsa.ca_pem()).unwrap()],
        fabric_msps: t
            .msp_roots
            .iter()
            .map(|(id, pem)| MspCertificates { msp_id: id.clone(), roots_pem: vec![pem.clone()], orderer: *id == t.orderer_msp })
            .collect(),
        require: Some(AnchorPolicy { rfc3161: 1, fabric: 1 }),
        development: false,
    }
}

async fn a_lost_fabric_receipt_is_recovered_and_a_conflict_is_named<S: Store>(s: S) {
    let emu = emulator::spawn(EmulatorConfig::default()).await.unwrap();
    let tsa = OpensslTsa::generate("Recovery TSA", "CA").unwrap();
    let l = ledger(s);
    let t = l.create_tenant(&tid("dealer-fab"), &TenantConfig::default()).await.unwrap();
    t.append_batch((0..4).map(finding).collect()).await.unwrap();
    let cp = t.seal_now().await.unwrap();
    let fabric = LosesFirstReceipt { rail: rail(&emu), lose: AtomicBool::new(true) };
    // The commit happens, the receipt is lost: the row stays failed, to be retried.
    let st = t.process_anchors(&tsa, &fabric, 10).await.unwrap();
    assert_eq!((st.anchored, st.failed), (1, 1));
    let row = t.anchor_state(cp.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Fabric).unwrap();
    assert_eq!(row.state, AnchorState::Failed);
    let key = fabric_anchor::anchor_key("dealer-fab", cp.seq.0);
    let probe = fabric_anchor::AnchorClient::new(
        fabric_anchor::GatewayClient::connect(emu.gateway_config(), emu.client_identity().clone()).unwrap(),
    );
    assert_eq!(probe.get("evidence", "dealer-fab", cp.seq.0).await.unwrap(), Some(cp.hash.to_hex()), "{key} was committed");
    let before = ledger::metrics::global().anchor_recovered.get(&[("rail", "fabric")]);
    // The retry: refused on the channel (the key exists), recovered from it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let st = t.process_anchors(&tsa, &fabric, 10).await.unwrap();
    assert_eq!((st.anchored, st.failed), (1, 0));
    let row = t.anchor_state(cp.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Fabric).unwrap();
    assert_eq!(row.state, AnchorState::Anchored, "{:?}", row.last_error);
    assert_eq!(row.attempts, 2);
    assert_eq!(ledger::metrics::global().anchor_recovered.get(&[("rail", "fabric")]), before + 1);
    // The bundle verifies offline with both rails required.
    let b = t.bundle(&[Seq(2)]).await.unwrap();
    assert_eq!(b.anchors.fabric.len(), 1);
    let report = Verifier::new(TrustStore::new(trust(&tsa, &emu)).unwrap()).verify(&b);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);

    // Another ledger with the same name and tenant on the same channel: its checkpoint 0 has
    // another hash, and the channel holds the first ledger's.
    let (s2, _g2) = test_support::fixtures::sqlite().await;
    let other = ledger(s2);
    let t2 = other.create_tenant(&tid("dealer-fab"), &TenantConfig::default()).await.unwrap();
    t2.append(finding(99)).await.unwrap();
    let cp2 = t2.seal_now().await.unwrap();
    assert_eq!(cp2.seq, cp.seq);
    assert_ne!(cp2.hash, cp.hash);
    let conflicts = ledger::metrics::global().anchor_conflicts.get(&[("rail", "fabric")]);
    let st = t2.process_anchors(&tsa, &rail(&emu), 10).await.unwrap();
    assert_eq!((st.anchored, st.failed), (1, 1));
    let row = t2.anchor_state(cp2.seq).await.unwrap().into_iter().find(|r| r.rail == Rail::Fabric).unwrap();
    assert_eq!(row.state, AnchorState::Failed);
    let e = row.last_error.unwrap();
    for part in ["conflict", "tenant dealer-fab", "checkpoint 0", key.as_str(), &cp.hash.to_hex(), &cp2.hash.to_hex()] {
        assert!(e.contains(part), "{part:?} not in {e:?}");
    }
    assert_eq!(ledger::metrics::global().anchor_conflicts.get(&[("rail", "fabric")]), conflicts + 1);
    assert_eq!(probe.get("evidence", "dealer-fab", cp.seq.0).await.unwrap(), Some(cp.hash.to_hex()), "never overwritten");
    // Its claims get no bundle that would fail: the checkpoint waits for Fabric.
    assert!(matches!(t2.bundle(&[Seq(0)]).await, Err(ledger::LedgerError::NotAnchored { .. })));
    emu.shutdown().await;
}

test_support::both_backends!(a_lost_fabric_receipt_is_recovered_and_a_conflict_is_named);
