//! The Gateway client against the emulator over real gRPC on 127.0.0.1, and offline
//! verification of the receipts it returns.

use std::time::Duration;

use evidence_core::CheckpointHash;
use evidence_core::fabric::{BlockLimits, FabricError, Predecessor, SignatureRole, verify_receipt};
use evidence_core::internal::fabric_proto::{common, protos};
use fabric_anchor::emulator::{self, EmulatorConfig};
use fabric_anchor::{AnchorClient, Error, GatewayClient, GatewayConfig, anchor_key};
use prost::Message as _;
use sha2::Digest as _;

const CH: &str = "evidence";

fn hash(n: u8) -> CheckpointHash {
    CheckpointHash([n; 32])
}

async fn start() -> (emulator::RunningEmulator, AnchorClient) {
    let emu = emulator::spawn(EmulatorConfig::default()).await.expect("emulator starts");
    let gw = GatewayClient::connect(GatewayConfig::plaintext(emu.url()), emu.client_identity().clone()).expect("client");
    (emu, AnchorClient::new(gw))
}

#[tokio::test]
async fn happy_path_receipt_verifies_against_emulator_roots_only() {
    let (emu, client) = start().await;
    let h = hash(7);
    let receipt = client.anchor(CH, "acme", 1, &h).await.expect("anchored");
    let roots = emu.trust().msp_roots().expect("roots");
    let report = verify_receipt(&receipt, &h, &anchor_key("acme", 1), &roots, None, &BlockLimits::default()).expect("receipt verifies");
    assert_eq!(report.value, h.to_hex());
    assert_eq!(report.block.number, 1);
    assert_eq!(receipt.orderer_msps, vec![emulator::ORDERER_MSP.to_owned()]);
    assert_eq!(receipt.msp_roots.len(), 2, "roots captured from the config block");

    // The stored value is readable with Get, and absent keys are None.
    assert_eq!(client.get(CH, "acme", 1).await.expect("get"), Some(h.to_hex()));
    assert_eq!(client.get(CH, "acme", 2).await.expect("get"), None);

    // A wrong hash or key does not verify.
    assert!(matches!(
        verify_receipt(&receipt, &hash(8), &anchor_key("acme", 1), &roots, None, &BlockLimits::default()),
        Err(FabricError::WriteSet { .. })
    ));
    assert!(verify_receipt(&receipt, &h, &anchor_key("acme", 2), &roots, None, &BlockLimits::default()).is_err());

    // Another emulator's roots (same MSP ids, other CAs) reject it.
    let other = emulator::spawn(EmulatorConfig::default()).await.expect("second emulator");
    let other_roots = other.trust().msp_roots().expect("roots");
    assert!(matches!(
        verify_receipt(&receipt, &h, &anchor_key("acme", 1), &other_roots, None, &BlockLimits::default()),
        Err(FabricError::Certificate { .. })
    ));

    // Consecutive receipts chain: block 2 links to block 1 and not to itself.
    let r2 = client.anchor(CH, "acme", 2, &hash(9)).await.expect("second anchor");
    let ok =
        verify_receipt(&r2, &hash(9), &anchor_key("acme", 2), &roots, Some(Predecessor::Block(&receipt.block)), &BlockLimits::default())
            .expect("chained");
    assert!(ok.block.linked_to_predecessor);
    let wrong = [0u8; 32];
    assert!(matches!(
        verify_receipt(&r2, &hash(9), &anchor_key("acme", 2), &roots, Some(Predecessor::HeaderHash(&wrong)), &BlockLimits::default()),
        Err(FabricError::ChainLink { .. })
    ));
    other.shutdown().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn duplicate_key_is_refused_at_endorsement() {
    let (emu, client) = start().await;
    client.anchor(CH, "t", 5, &hash(1)).await.expect("first");
    let v = hash(2).to_hex();
    match client.gateway().submit_transaction(CH, evidence_core::fabric::ANCHOR_NAMESPACE, &[b"Anchor", b"t", b"5", v.as_bytes()]).await {
        Err(Error::EndorsementFailed { details, .. }) => {
            assert_eq!(details.len(), 1);
            assert!(details[0].message.contains("already exists"), "{details:?}");
        }
        other => panic!("expected EndorsementFailed, got {other:?}"),
    }
    emu.shutdown().await;
}

/// A commit whose receipt was lost (the ledger asks again for the same checkpoint): the
/// refusal of the second `Anchor` leads to the key's value, then to the committed
/// transaction (found back from the head, its block fetched with qscc `GetBlockByTxID`),
/// whose receipt verifies as any receipt does. Another value under the key is a conflict
/// naming tenant, checkpoint, stored and expected values; a commit older than the search
/// window is reported as such.
#[tokio::test]
async fn a_lost_receipt_is_recovered_and_a_conflict_is_named() {
    let (emu, client) = start().await;
    let roots = emu.trust().msp_roots().expect("roots");
    let first = client.anchor_or_recover(CH, "t", 5, &hash(1)).await.expect("first");
    assert!(!first.recovered);
    // Later blocks on the channel: the search walks back over them.
    for seq in 6..9 {
        client.anchor(CH, "t", seq, &hash(u8::try_from(seq).unwrap())).await.expect("later anchors");
    }
    let again = client.anchor_or_recover(CH, "t", 5, &hash(1)).await.expect("recovered");
    assert!(again.recovered);
    assert_eq!((&again.receipt.tx_id, &again.receipt.block, again.receipt.tx_index), (&first.receipt.tx_id, &first.receipt.block, 0));
    let report =
        verify_receipt(&again.receipt, &hash(1), &anchor_key("t", 5), &roots, None, &BlockLimits::default()).expect("the receipt verifies");
    assert_eq!(report.block.number, 1);
    match client.anchor(CH, "t", 5, &hash(2)).await {
        Err(e @ Error::AnchorConflict(_)) => {
            let Error::AnchorConflict(c) = &e else { unreachable!() };
            assert_eq!((c.tenant.as_str(), c.seq, c.key.as_str()), ("t", 5, "ckpt/t/5"));
            assert_eq!((&c.stored, &c.expected), (&hash(1).to_hex(), &hash(2).to_hex()));
            let text = e.to_string();
            assert!(text.contains("conflict") && text.contains(&hash(1).to_hex()) && text.contains(&hash(2).to_hex()), "{text}");
        }
        other => panic!("expected AnchorConflict, got {other:?}"),
    }
    assert_eq!(client.get(CH, "t", 5).await.unwrap(), Some(hash(1).to_hex()), "never overwritten");
    // A search window that ends before the commit: said plainly, not guessed.
    let short = client.clone().with_recovery_blocks(2);
    assert!(matches!(short.anchor_or_recover(CH, "t", 5, &hash(1)).await, Err(Error::AnchorNotFound { searched_blocks: 2, .. })));
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_give_typed_errors() {
    let (emu, client) = start().await;
    let faults = emu.faults();

    faults.set_unavailable(true);
    assert!(matches!(client.anchor(CH, "f", 1, &hash(1)).await, Err(Error::Unavailable { operation: "Endorse", .. })));
    faults.set_unavailable(false);

    faults.set_endorsement_failure(true);
    match client.anchor(CH, "f", 2, &hash(2)).await {
        Err(Error::EndorsementFailed { details, .. }) => {
            assert_eq!(details.len(), 1);
            assert_eq!(details[0].msp_id, emulator::PEER_MSP);
        }
        other => panic!("expected EndorsementFailed, got {other:?}"),
    }
    faults.set_endorsement_failure(false);

    faults.set_mvcc_conflict(true);
    assert!(matches!(client.anchor(CH, "f", 3, &hash(3)).await, Err(Error::MvccConflict { .. })));
    faults.set_mvcc_conflict(false);
    // The conflicting transaction wrote nothing: the key can be anchored now.
    client.anchor(CH, "f", 3, &hash(3)).await.expect("after the MVCC fault");

    // Slow commit: a short commit deadline gives Deadline; a long one waits it out.
    faults.set_commit_delay(Duration::from_millis(1500));
    let mut cfg = GatewayConfig::plaintext(emu.url());
    cfg.timeouts.commit = Duration::from_millis(300);
    let impatient = AnchorClient::new(GatewayClient::connect(cfg, emu.client_identity().clone()).expect("client"));
    assert!(matches!(impatient.anchor(CH, "f", 4, &hash(4)).await, Err(Error::Deadline { operation: "CommitStatus" })));
    let r = client.anchor(CH, "f", 5, &hash(5)).await.expect("patient client waits the delay out");
    verify_receipt(&r, &hash(5), &anchor_key("f", 5), &emu.trust().msp_roots().expect("roots"), None, &BlockLimits::default())
        .expect("verifies");
    emu.shutdown().await;
}

#[tokio::test]
async fn unreachable_gateway_is_unavailable() {
    let (emu, _) = start().await;
    let url = emu.url();
    let id = emu.client_identity().clone();
    emu.shutdown().await;
    let gw = GatewayClient::connect(GatewayConfig::plaintext(url), id).expect("lazy client");
    assert!(matches!(gw.evaluate(CH, "evidence-anchor", &[b"Get", b"k", b"1"]).await, Err(Error::Unavailable { .. })));
}

#[tokio::test]
async fn concurrent_endorsements_of_one_key_give_a_real_mvcc_conflict() {
    let (emu, client) = start().await;
    let gw = client.gateway();
    let v = hash(1).to_hex();
    let args: [&[u8]; 4] = [b"Anchor", b"m", b"1", v.as_bytes()];
    let p1 = gw.proposal(CH, "evidence-anchor", &args).expect("p1");
    let p2 = gw.proposal(CH, "evidence-anchor", &args).expect("p2");
    let e1 = gw.sign_envelope(gw.endorse(&p1).await.expect("e1")).expect("sign");
    let e2 = gw.sign_envelope(gw.endorse(&p2).await.expect("both endorse: the key is absent for both")).expect("sign");
    gw.submit(CH, &p1.tx_id, e1).await.expect("s1");
    gw.commit_status(CH, &p1.tx_id).await.expect("first commits VALID");
    gw.submit(CH, &p2.tx_id, e2).await.expect("s2");
    assert!(matches!(gw.commit_status(CH, &p2.tx_id).await, Err(Error::MvccConflict { .. })));
    emu.shutdown().await;
}

#[tokio::test]
async fn tampered_envelope_and_replayed_txid_are_refused() {
    let (emu, client) = start().await;
    let gw = client.gateway();
    let v = hash(3).to_hex();
    let p = gw.proposal(CH, "evidence-anchor", &[b"Anchor", b"x", b"1", v.as_bytes()]).expect("proposal");
    let env = gw.sign_envelope(gw.endorse(&p).await.expect("endorse")).expect("sign");

    let mut bad = env.clone();
    let last = bad.signature.len() - 1;
    bad.signature[last] ^= 1;
    assert!(matches!(gw.submit(CH, &p.tx_id, bad).await, Err(Error::SubmitRefused { code: tonic::Code::PermissionDenied, .. })));
    let mut bad_payload = env.clone();
    let mid = bad_payload.payload.len() / 2;
    bad_payload.payload[mid] ^= 0x40;
    assert!(matches!(gw.submit(CH, &p.tx_id, bad_payload).await, Err(Error::SubmitRefused { .. })));

    gw.submit(CH, &p.tx_id, env.clone()).await.expect("the genuine envelope is accepted");
    gw.commit_status(CH, &p.tx_id).await.expect("commits");
    assert!(matches!(gw.submit(CH, &p.tx_id, env).await, Err(Error::SubmitRefused { code: tonic::Code::AlreadyExists, .. })));
    emu.shutdown().await;
}

// ---- Offline tampering of a receipt (the ReceiptFactory runs the emulator's code in-process).

fn tamper(block: &[u8], f: impl FnOnce(&mut common::Block)) -> Vec<u8> {
    let mut b = common::Block::decode(block).expect("block");
    f(&mut b);
    b.encode_to_vec()
}

fn data_hash(b: &common::Block) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    for e in &b.data.as_ref().expect("data").data {
        h.update(e);
    }
    h.finalize().to_vec()
}

#[test]
fn offline_tampering_is_detected() {
    let f = fabric_anchor::ReceiptFactory::new(CH).expect("factory");
    let roots = f.trust().msp_roots().expect("roots");
    let h = hash(4);
    let (r, key) = f.receipt("off", 1, &h).expect("receipt");
    let opts = BlockLimits::default();
    verify_receipt(&r, &h, &key, &roots, None, &opts).expect("genuine receipt verifies");
    let check = |block: Vec<u8>| {
        let mut t = r.clone();
        t.block = block;
        verify_receipt(&t, &h, &key, &roots, None, &opts)
    };

    // Block data: one byte of the envelope.
    let e = check(tamper(&r.block, |b| b.data.as_mut().expect("data").data[0][10] ^= 1));
    assert!(matches!(e, Err(FabricError::DataHash { .. })), "{e:?}");

    // Header chain: previous_hash changed (the orderer signed the header).
    let e = check(tamper(&r.block, |b| b.header.as_mut().expect("header").previous_hash[0] ^= 1));
    assert!(matches!(e, Err(FabricError::Signature { role: SignatureRole::Orderer { .. }, .. })), "{e:?}");

    // Orderer signature: one byte of it.
    let e = check(tamper(&r.block, |b| {
        let slot = &mut b.metadata.as_mut().expect("metadata").metadata[0];
        let mut md = common::Metadata::decode(slot.as_slice()).expect("md");
        let n = md.signatures[0].signature.len();
        md.signatures[0].signature[n - 1] ^= 1;
        *slot = md.encode_to_vec();
    }));
    assert!(matches!(e, Err(FabricError::Signature { role: SignatureRole::Orderer { .. }, .. })), "{e:?}");

    // Endorsement: forged by the (malicious) client, who re-signs the envelope and fixes the
    // data hash; only the endorsement check can catch it (the orderer signature is checked
    // after the transactions).
    let client = fabric_anchor::emulator::ReceiptFactory::client_identity(&f).clone();
    let e = check(tamper(&r.block, |b| {
        let env_bytes = &mut b.data.as_mut().expect("data").data[0];
        let mut env = common::Envelope::decode(env_bytes.as_slice()).expect("env");
        let mut payload = common::Payload::decode(env.payload.as_slice()).expect("payload");
        let mut tx = protos::Transaction::decode(payload.data.as_slice()).expect("tx");
        let mut cap = protos::ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).expect("cap");
        let ea = cap.action.as_mut().expect("action");
        let n = ea.endorsements[0].signature.len();
        ea.endorsements[0].signature[n - 1] ^= 1;
        tx.actions[0].payload = cap.encode_to_vec();
        payload.data = tx.encode_to_vec();
        env.payload = payload.encode_to_vec();
        env.signature = client.sign(&env.payload).expect("sign");
        *env_bytes = env.encode_to_vec();
        let dh = data_hash(b);
        b.header.as_mut().expect("header").data_hash = dh;
    }));
    assert!(matches!(e, Err(FabricError::Signature { role: SignatureRole::Endorsement { .. }, .. })), "{e:?}");

    // Wrong MSP root.
    let other = fabric_anchor::ReceiptFactory::new(CH).expect("other");
    let e = verify_receipt(&r, &h, &key, &other.trust().msp_roots().expect("roots"), None, &opts);
    assert!(matches!(e, Err(FabricError::Certificate { .. })), "{e:?}");
}

#[test]
fn factory_makes_many_valid_receipts() {
    let f = fabric_anchor::ReceiptFactory::new(CH).expect("factory");
    let roots = f.trust().msp_roots().expect("roots");
    let mut prev: Option<Vec<u8>> = None;
    for seq in 0..20u8 {
        let h = hash(seq);
        let (r, key) = f.receipt("bulk", u64::from(seq), &h).expect("receipt");
        verify_receipt(&r, &h, &key, &roots, prev.as_deref().map(Predecessor::Block), &BlockLimits::default()).expect("verifies");
        prev = Some(r.block);
    }
    assert!(f.receipt("bulk", 0, &hash(0)).is_err(), "duplicate key refused by the factory too");
}

#[tokio::test]
async fn identity_loaded_from_pem_files_is_accepted() {
    let emu = emulator::spawn(EmulatorConfig::default()).await.expect("emulator");
    let id = fabric_anchor::Identity::from_pem(emulator::PEER_MSP, emu.client_identity().cert_pem(), emu.client_key_pem())
        .expect("PEM identity");
    assert_eq!(id.serialized(), emu.client_identity().serialized());
    // txid = hex(SHA-256(nonce || serialized identity)).
    let (nonce, txid) = id.new_nonce_and_txid().expect("nonce");
    assert_eq!(txid, fabric_anchor::identity::txid(&nonce, id.serialized()));
    let mut pre = nonce.to_vec();
    pre.extend_from_slice(id.serialized());

    assert_eq!(txid, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pre)));
    // Signatures are low-S DER and verify; a flipped message does not.
    for i in 0..32u8 {
        let sig = id.sign(&[i]).expect("sign");
        let s = p256::ecdsa::Signature::from_der(&sig).expect("DER");
        assert_eq!(s.normalize_s(), s, "low-S");
        assert!(fabric_anchor::identity::verify_signature(&id.verifying_key(), &[i], &sig));
        assert!(!fabric_anchor::identity::verify_signature(&id.verifying_key(), &[i ^ 1], &sig));
    }
    let client = AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(emu.url()), id).expect("client"));
    client.anchor(CH, "pem", 1, &hash(1)).await.expect("anchored with the PEM-loaded identity");
    assert!(fabric_anchor::Identity::from_pem(emulator::PEER_MSP, "no cert", emu.client_key_pem()).is_err());
    assert!(fabric_anchor::Identity::from_pem(emulator::PEER_MSP, emu.client_identity().cert_pem(), "junk").is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn badly_signed_proposal_is_refused_at_endorse() {
    let (emu, client) = start().await;
    let gw = client.gateway();
    let mut p = gw.proposal(CH, "evidence-anchor", &[b"Get", b"k", b"1"]).expect("proposal");
    let n = p.signed.signature.len();
    p.signed.signature[n - 1] ^= 1;
    assert!(matches!(gw.endorse(&p).await, Err(Error::Rpc { code: tonic::Code::PermissionDenied, .. })));
    emu.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_works_and_a_client_without_certificate_is_refused() {
    let emu = emulator::spawn(EmulatorConfig { tls: true, ..EmulatorConfig::default() }).await.expect("TLS emulator");
    let client = AnchorClient::new(GatewayClient::connect(emu.gateway_config(), emu.client_identity().clone()).expect("client"));
    let r = client.anchor(CH, "tls", 1, &hash(6)).await.expect("anchored over mutual TLS");
    verify_receipt(&r, &hash(6), &anchor_key("tls", 1), &emu.trust().msp_roots().expect("roots"), None, &BlockLimits::default())
        .expect("verifies");

    let mut no_cert = emu.gateway_config();
    if let Some(t) = no_cert.tls.as_mut() {
        t.client_cert_and_key_pem = None;
    }
    let c2 = GatewayClient::connect(no_cert, emu.client_identity().clone()).expect("client");
    assert!(c2.evaluate(CH, "evidence-anchor", &[b"Get", b"k", b"1"]).await.is_err(), "server requires a client certificate");

    let plain =
        GatewayClient::connect(GatewayConfig::plaintext(format!("http://{}", emu.addr())), emu.client_identity().clone()).expect("client");
    assert!(plain.evaluate(CH, "evidence-anchor", &[b"Get", b"k", b"1"]).await.is_err(), "plain HTTP/2 to a TLS port fails");
    emu.shutdown().await;
}

#[tokio::test]
async fn commit_status_request_signed_by_someone_else_is_refused() {
    let (emu, client) = start().await;
    let other = fabric_anchor::ReceiptFactory::new(CH).expect("other PKI");
    // An identity of another PKI (same MSP id, unknown certificate) signs the request.
    let stranger = GatewayClient::connect(GatewayConfig::plaintext(emu.url()), other.client_identity().clone()).expect("client");
    let c = client
        .gateway()
        .submit_transaction(CH, "evidence-anchor", &[b"Anchor", b"s", b"1", hash(2).to_hex().as_bytes()])
        .await
        .expect("commit");
    assert!(matches!(stranger.commit_status(CH, &c.tx_id).await, Err(Error::Rpc { code: tonic::Code::PermissionDenied, .. })));
    assert_eq!(client.gateway().commit_status(CH, &c.tx_id).await.expect("own request"), c);
    emu.shutdown().await;
}
