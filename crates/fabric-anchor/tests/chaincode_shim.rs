//! The emulator in chaincode-shim mode driving the real `evidence-anchor` chaincode
//! (`chaincode/evidence-anchor`, Node.js, the official `fabric-contract-api` / `fabric-shim`
//! 2.5.8) over the Fabric chaincode shim protocol, as a peer drives a chaincode-as-a-service
//! server: the official shim is an independent implementation of the protocol, so a mismatch in
//! our `chaincode_shim.proto` or in the peer side shows up here as a failure.
//!
//! - the Rust `AnchorClient` anchors through Gateway -> emulator -> Node chaincode, and the
//!   receipts verify offline with `evidence_core::fabric::verify_receipt`;
//! - an overwrite is refused by the chaincode and surfaces as a typed endorsement error;
//! - the Rust semantics mode and the real chaincode endorse the same proposals byte for byte
//!   (read-write sets with versions, events, responses, whole prepared envelopes) and commit the
//!   same transactions;
//! - concurrency, mutual TLS between peer and chaincode, a wrong chaincode id, a restart.
//!
//! Optional: skipped, with a message, when `node` or the chaincode's npm packages are absent
//! (`npm ci --prefix chaincode/evidence-anchor`). `FABRIC_NODE_INTEROP=require` turns a skip into
//! a failure; `.ci/run` sets it whenever Node.js is installed.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use evidence_core::CheckpointHash;
use evidence_core::fabric::{BlockLimits, Predecessor, verify_receipt};
use evidence_core::internal::fabric_proto::{common, kvrwset, protos, rwset};
use fabric_anchor::emulator::{
    self, ChaincodeMode, ChaincodeTlsMaterial, EmulatorConfig, EmulatorError, NodeChaincodeOptions, NodeChaincodeServer, RunningEmulator,
    ShimError,
};
use fabric_anchor::{AnchorClient, Error, GatewayClient, GatewayConfig, anchor_key};
use prost::Message as _;

const CH: &str = "evidence";
const CC: &str = "evidence-anchor";
/// What the chaincode registers with in most tests (a package ID's shape: label:sha256).
const CC_ID: &str = "evidence-anchor_1.0:7a7e6d7c1a0fdd9ee5b8d1fe7f2b3a4c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f40";

fn hash(n: u8) -> CheckpointHash {
    CheckpointHash([n; 32])
}

/// `Some(reason)` when the Node chaincode cannot run here (and that is allowed).
fn skip(test: &str) -> bool {
    let Some(why) = NodeChaincodeServer::missing_prerequisite(&NodeChaincodeServer::default_dir()) else { return false };
    assert_ne!(
        std::env::var("FABRIC_NODE_INTEROP").as_deref(),
        Ok("require"),
        "FABRIC_NODE_INTEROP=require but the Node chaincode cannot run: {why}"
    );
    eprintln!("SKIPPED {test}: {why}");
    true
}

async fn start_chaincode(opts: NodeChaincodeOptions) -> NodeChaincodeServer {
    NodeChaincodeServer::spawn(opts).await.expect("Node chaincode server starts")
}

async fn start_emulator(chaincode: ChaincodeMode, identities: Option<emulator::EmulatorIdentities>) -> RunningEmulator {
    emulator::spawn(EmulatorConfig { chaincode, identities, ..EmulatorConfig::default() }).await.expect("emulator starts")
}

fn client(emu: &RunningEmulator) -> AnchorClient {
    AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(emu.url()), emu.client_identity().clone()).expect("client"))
}

/// The `ChaincodeAction` of the first transaction of a block or prepared envelope.
fn action_of_envelope(env: &common::Envelope) -> protos::ChaincodeAction {
    let payload = common::Payload::decode(env.payload.as_slice()).expect("payload");
    let tx = protos::Transaction::decode(payload.data.as_slice()).expect("tx");
    let cap = protos::ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).expect("cap");
    let prp = protos::ProposalResponsePayload::decode(cap.action.expect("action").proposal_response_payload.as_slice()).expect("prp");
    protos::ChaincodeAction::decode(prp.extension.as_slice()).expect("action")
}

fn first_envelope(block: &[u8]) -> common::Envelope {
    let b = common::Block::decode(block).expect("block");
    common::Envelope::decode(b.data.expect("data").data[0].as_slice()).expect("envelope")
}

fn kv_of(action: &protos::ChaincodeAction) -> Vec<(String, kvrwset::KvrwSet)> {
    let txrw = rwset::TxReadWriteSet::decode(action.results.as_slice()).expect("rwset");
    txrw.ns_rwset.iter().map(|ns| (ns.namespace.clone(), kvrwset::KvrwSet::decode(ns.rwset.as_slice()).expect("kv"))).collect()
}

#[tokio::test]
async fn anchors_through_the_real_chaincode_verify_offline() {
    if skip("anchors_through_the_real_chaincode_verify_offline") {
        return;
    }
    let cc = start_chaincode(NodeChaincodeOptions::new(CC_ID)).await;
    let emu = start_emulator(ChaincodeMode::Shim(cc.shim_config()), None).await;
    let anchors = client(&emu);
    let roots = emu.trust().msp_roots().expect("roots");
    let opts = BlockLimits::default();

    let mut prev: Option<Vec<u8>> = None;
    for seq in 0..3u8 {
        let h = hash(seq + 1);
        let r =
            anchors.anchor(CH, "acme-motors.on", u64::from(seq), &h).await.unwrap_or_else(|e| panic!("anchor {seq}: {e}\n{}", cc.log()));
        let key = anchor_key("acme-motors.on", u64::from(seq));
        let rep = verify_receipt(&r, &h, &key, &roots, prev.as_deref().map(Predecessor::Block), &opts).expect("receipt verifies offline");
        assert_eq!(rep.value, h.to_hex());
        assert!(verify_receipt(&r, &hash(99), &key, &roots, None, &opts).is_err(), "evidence of that hash only");

        // What the chaincode did, as committed: one read of the absent key, one write, the event.
        let env = first_envelope(&r.block);
        let action = action_of_envelope(&env);
        let kv = kv_of(&action);
        assert_eq!(kv.len(), 1);
        assert_eq!(kv[0].0, CC);
        assert_eq!(kv[0].1.reads, vec![kvrwset::KvRead { key: key.clone(), version: None }]);
        assert_eq!(kv[0].1.writes, vec![kvrwset::KvWrite { key: key.clone(), is_delete: false, value: h.to_hex().into_bytes() }]);
        let event = protos::ChaincodeEvent::decode(action.events.as_slice()).expect("event");
        assert_eq!((event.chaincode_id.as_str(), event.tx_id.as_str(), event.event_name.as_str()), (CC, r.tx_id.as_str(), "Anchored"));
        let payload: serde_json::Value = serde_json::from_slice(&event.payload).expect("event payload is JSON");
        let ch = common::ChannelHeader::decode(
            common::Payload::decode(env.payload.as_slice()).expect("p").header.expect("h").channel_header.as_slice(),
        )
        .expect("ch");
        let ts = ch.timestamp.expect("timestamp");
        assert_eq!(payload["key"], key);
        assert_eq!(payload["seq"], seq.to_string());
        assert_eq!(payload["checkpointHash"], h.to_hex());
        let tx_time = payload["txTime"].as_str().expect("txTime");
        assert!(tx_time.ends_with(&format!(".{:09}Z", ts.nanos)), "{tx_time} is the channel header time ({ts:?})");
        let response = action.response.expect("response");
        assert_eq!((response.status, response.payload.len()), (200, 0));
        prev = Some(r.block);
    }

    assert_eq!(anchors.get(CH, "acme-motors.on", 1).await.expect("get").as_deref(), Some(hash(2).to_hex().as_str()));
    assert_eq!(anchors.get(CH, "acme-motors.on", 7).await.expect("get absent"), None);

    // And through the verifier binary: `evidence-verify fabric-block` on the last block.
    let verify = evidence_verify();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("msp")).expect("mkdir");
    for (id, pem) in &emu.trust().msp_roots {
        std::fs::write(dir.path().join("msp").join(format!("{id}.pem")), pem).expect("write root");
    }
    let block = prev.expect("a block");
    std::fs::write(dir.path().join("good.block"), &block).expect("write block");
    let mut bad = common::Block::decode(block.as_slice()).expect("block");
    bad.data.as_mut().expect("data").data[0][40] ^= 1;
    std::fs::write(dir.path().join("bad.block"), bad.encode_to_vec()).expect("write block");
    let run = |file: &str| {
        std::process::Command::new(&verify)
            .args(["fabric-block", file, "--msp-roots", "msp", "--json"])
            .current_dir(dir.path())
            .output()
            .expect("run evidence-verify")
    };
    let good = run("good.block");
    assert_eq!(good.status.code(), Some(0), "{}", String::from_utf8_lossy(&good.stdout));
    assert_eq!(run("bad.block").status.code(), Some(1), "a changed byte is not verified");
    emu.shutdown().await;
}

/// The `evidence-verify` binary (verifier-cli), built beside this crate's binaries if needed.
fn evidence_verify() -> std::path::PathBuf {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_fabric-emulator")).parent().expect("bin dir").to_path_buf();
    let exe = bin_dir.join("evidence-verify");
    if !exe.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let st = std::process::Command::new(cargo)
            .current_dir(root)
            .args(["build", "-q", "-p", "verifier-cli", "--bin", "evidence-verify"])
            .status()
            .expect("cargo build");
        assert!(st.success(), "building evidence-verify failed");
    }
    exe
}

#[tokio::test]
async fn the_chaincode_refuses_overwrites_and_bad_arguments_with_typed_errors() {
    if skip("the_chaincode_refuses_overwrites_and_bad_arguments_with_typed_errors") {
        return;
    }
    let cc = start_chaincode(NodeChaincodeOptions::new(CC_ID)).await;
    let emu = start_emulator(ChaincodeMode::Shim(cc.shim_config()), None).await;
    let anchors = client(&emu);
    let first = anchors.anchor(CH, "t", 5, &hash(1)).await.expect("first anchor");
    for second in [hash(2), hash(1)] {
        let v = second.to_hex();
        match anchors.gateway().submit_transaction(CH, CC, &[b"Anchor", b"t", b"5", v.as_bytes()]).await {
            Err(Error::EndorsementFailed { details, .. }) => {
                assert_eq!(details.len(), 1, "{details:?}");
                assert_eq!(details[0].msp_id, emulator::PEER_MSP);
                assert_eq!(
                    details[0].message,
                    "chaincode response 500, Anchor: key ckpt/t/5 already exists; anchors are never overwritten"
                );
            }
            other => panic!("expected EndorsementFailed, got {other:?}"),
        }
    }
    assert_eq!(anchors.get(CH, "t", 5).await.expect("get").as_deref(), Some(hash(1).to_hex().as_str()), "the first value stays");
    // Through the anchor client, with the real chaincode's Get: the same hash adopts the first
    // commit (a lost receipt), another one is a conflict naming both values.
    let again = anchors.anchor_or_recover(CH, "t", 5, &hash(1)).await.expect("recovered");
    assert!(again.recovered);
    assert_eq!((again.receipt.tx_id, again.receipt.block), (first.tx_id, first.block));
    match anchors.anchor(CH, "t", 5, &hash(2)).await {
        Err(Error::AnchorConflict(c)) => assert_eq!((c.stored, c.expected), (hash(1).to_hex(), hash(2).to_hex())),
        other => panic!("expected AnchorConflict, got {other:?}"),
    }

    // Arguments the ledger's client never sends, through the raw Gateway client.
    let gw = anchors.gateway();
    let h = hash(3).to_hex();
    for (args, message) in [
        (vec![&b"Anchor"[..], b"Acme", b"1", h.as_bytes()], "tenant id: only a-z, 0-9, '-', '_' and '.' are allowed"),
        (vec![&b"Anchor"[..], b"t", b"01", h.as_bytes()], "seq: must be a decimal number without sign or leading zeros"),
        (vec![&b"Anchor"[..], b"t", b"2", b"ABCDEF"], "checkpointHashHex: must be exactly 64 lowercase hex characters"),
        (vec![&b"Anchor"[..], b"ckpt/t/2", h.as_bytes()], "Expected 3 parameters, but 2 have been supplied"),
        (vec![&b"Delete"[..], b"t", b"5"], "unknown function \"Delete\" (the contract has Anchor and Get)"),
    ] {
        match gw.submit_transaction(CH, CC, &args).await {
            Err(Error::EndorsementFailed { details, .. }) => {
                assert_eq!(details[0].message, format!("chaincode response 500, {message}"), "{args:?}");
            }
            other => panic!("{args:?}: expected EndorsementFailed, got {other:?}"),
        }
    }
    match gw.evaluate(CH, CC, &[b"Get", b"t", b"-1"]).await {
        Err(Error::Chaincode { status: 500, message, .. }) => {
            assert_eq!(message, "seq: must be a decimal number without sign or leading zeros");
        }
        other => panic!("expected a chaincode error, got {other:?}"),
    }
    emu.shutdown().await;
}

const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// One step of the comparison: a submitted transaction or an evaluation.
enum Step {
    Submit(Vec<&'static str>),
    Evaluate(Vec<&'static str>),
}

#[tokio::test]
async fn rust_semantics_and_the_real_chaincode_endorse_and_commit_identically() {
    if skip("rust_semantics_and_the_real_chaincode_endorse_and_commit_identically") {
        return;
    }
    let cc = start_chaincode(NodeChaincodeOptions::new(CC_ID)).await;
    let rust = start_emulator(ChaincodeMode::Rust, None).await;
    // Same organisations and keys: both accept the same signed proposal and endorse it with the
    // same peer key (deterministic ECDSA), so their prepared envelopes can be compared whole.
    let shim = start_emulator(ChaincodeMode::Shim(cc.shim_config()), Some(rust.identities())).await;
    let gr = client(&rust);
    let gs = client(&shim);
    let (gr, gs) = (gr.gateway(), gs.gateway());

    let steps = vec![
        Step::Submit(vec!["Anchor", "acme", "1", H1]),
        Step::Submit(vec!["Anchor", "acme", "1", H2]), // overwrite: refused
        Step::Submit(vec!["EvidenceAnchor:Anchor", "acme", "2", H2]),
        Step::Submit(vec!["Anchor", "x".repeat(64).leak(), "18446744073709551615", H1]),
        Step::Submit(vec!["Anchor", "x".repeat(65).leak(), "3", H1]),
        Step::Submit(vec!["Anchor", "acme", "007", H1]),
        Step::Submit(vec!["Anchor", "acme", "18446744073709551616", H1]),
        Step::Submit(vec!["Anchor", "acme", "3", "not hex"]),
        Step::Submit(vec!["Anchor", "acme", "3"]),
        Step::Submit(vec!["Get", "acme", "1"]), // submitted Get: no write, one read with a version
        Step::Submit(vec!["Nope", "acme"]),
        Step::Submit(vec!["Other:Anchor", "acme", "3", H1]),
        Step::Submit(vec![]), // the contract API's "Default initiator successful."
        Step::Evaluate(vec!["Get", "acme", "1"]),
        Step::Evaluate(vec!["Get", "acme", "2"]),
        Step::Evaluate(vec!["Get", "acme", "9"]),
        Step::Evaluate(vec!["Get", "Acme", "1"]),
    ];
    let mut committed = 0;
    for step in steps {
        match step {
            Step::Submit(args) => {
                let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let p = gr.proposal(CH, CC, &bytes).expect("proposal");
                let (er, es) = (gr.endorse(&p).await, gs.endorse(&p).await);
                match (er, es) {
                    (Ok(r), Ok(s)) => {
                        assert_eq!(
                            action_of_envelope(&r),
                            action_of_envelope(&s),
                            "{args:?}: the chaincode actions differ (read-write set, event or response)"
                        );
                        assert_eq!(r.encode_to_vec(), s.encode_to_vec(), "{args:?}: the prepared envelopes differ");
                        let (r, s) = (gr.sign_envelope(r).expect("sign"), gs.sign_envelope(s).expect("sign"));
                        gr.submit(CH, &p.tx_id, r).await.expect("submit (rust)");
                        gs.submit(CH, &p.tx_id, s).await.expect("submit (shim)");
                        let cr = gr.commit_status(CH, &p.tx_id).await.expect("commit (rust)");
                        let cs = gs.commit_status(CH, &p.tx_id).await.expect("commit (shim)");
                        assert_eq!(cr.block, cs.block, "{args:?}");
                        let br = gr.evaluate(CH, "qscc", &[b"GetBlockByTxID", CH.as_bytes(), p.tx_id.as_bytes()]).await.expect("block");
                        let bs = gs.evaluate(CH, "qscc", &[b"GetBlockByTxID", CH.as_bytes(), p.tx_id.as_bytes()]).await.expect("block");
                        let (br, bs) = (common::Block::decode(br.as_slice()).expect("b"), common::Block::decode(bs.as_slice()).expect("b"));
                        assert_eq!(br.data, bs.data, "{args:?}: the committed transactions differ");
                        committed += 1;
                    }
                    (Err(Error::EndorsementFailed { details: dr, .. }), Err(Error::EndorsementFailed { details: ds, .. })) => {
                        assert_eq!(dr, ds, "{args:?}: the refusals differ");
                    }
                    (r, s) => panic!("{args:?}: the modes disagree:\n  rust: {r:?}\n  shim: {s:?}\n{}", cc.log()),
                }
            }
            Step::Evaluate(args) => {
                let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let (r, s) = (gr.evaluate(CH, CC, &bytes).await, gs.evaluate(CH, CC, &bytes).await);
                assert_eq!(format!("{r:?}"), format!("{s:?}"), "{args:?}: the evaluations differ");
            }
        }
    }
    assert_eq!(committed, 5, "Anchor acme/1, acme/2, the 64-byte tenant, the submitted Get and the empty invocation");
    // The submitted Get read acme/1 at the version its anchor committed at (block 1).
    assert_eq!(gs.evaluate(CH, CC, &[b"Get", b"acme", b"1"]).await.expect("get"), H1.as_bytes());
    rust.shutdown().await;
    shim.shutdown().await;
}

#[tokio::test]
async fn concurrent_anchors_of_different_keys_never_conflict_and_one_key_is_written_once() {
    if skip("concurrent_anchors_of_different_keys_never_conflict_and_one_key_is_written_once") {
        return;
    }
    let cc = start_chaincode(NodeChaincodeOptions::new(CC_ID)).await;
    let emu = start_emulator(ChaincodeMode::Shim(cc.shim_config()), None).await;
    let anchors = client(&emu);
    let mut set = tokio::task::JoinSet::new();
    for seq in 0..16u64 {
        let a = anchors.clone();
        set.spawn(async move { a.anchor(CH, "many", seq, &hash(u8::try_from(seq).unwrap_or(0))).await });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        r.expect("join").expect("every anchor of a distinct key commits VALID");
        ok += 1;
    }
    assert_eq!(ok, 16);

    // Two endorsements of one absent key both succeed; at commit the second is an MVCC conflict.
    let gw = anchors.gateway();
    let v = hash(7).to_hex();
    let args: [&[u8]; 4] = [b"Anchor", b"race", b"1", v.as_bytes()];
    let (p1, p2) = (gw.proposal(CH, CC, &args).expect("p1"), gw.proposal(CH, CC, &args).expect("p2"));
    let (e1, e2) = tokio::join!(gw.endorse(&p1), gw.endorse(&p2));
    let (e1, e2) = (gw.sign_envelope(e1.expect("e1")).expect("sign"), gw.sign_envelope(e2.expect("e2")).expect("sign"));
    gw.submit(CH, &p1.tx_id, e1).await.expect("s1");
    gw.commit_status(CH, &p1.tx_id).await.expect("the first commits VALID");
    gw.submit(CH, &p2.tx_id, e2).await.expect("s2");
    assert!(matches!(gw.commit_status(CH, &p2.tx_id).await, Err(Error::MvccConflict { .. })));
    emu.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_between_peer_and_chaincode() {
    if skip("mutual_tls_between_peer_and_chaincode") {
        return;
    }
    let tls = ChaincodeTlsMaterial::generate().expect("TLS material");
    let mut opts = NodeChaincodeOptions::new(CC_ID);
    opts.tls = Some(tls);
    let cc = start_chaincode(opts).await;
    let good = cc.shim_config();
    assert!(good.tls.is_some());

    let emu = start_emulator(ChaincodeMode::Shim(good.clone()), None).await;
    let r = client(&emu).anchor(CH, "tls", 1, &hash(4)).await.expect("anchored over mutual TLS to the chaincode");
    let roots = emu.trust().msp_roots().expect("roots");
    verify_receipt(&r, &hash(4), &anchor_key("tls", 1), &roots, None, &BlockLimits::default()).expect("verifies");

    // Without the peer's client certificate, or in plain text, the server refuses the peer.
    let quick = |mut c: emulator::ShimConfig| {
        c.dial_timeout = Duration::from_secs(2);
        c
    };
    let mut no_cert = quick(good.clone());
    if let Some(t) = no_cert.tls.as_mut() {
        t.client_cert_and_key_pem = None;
    }
    let mut plain = quick(good.clone());
    plain.tls = None;
    for (what, cfg) in [("no client certificate", no_cert), ("plain text", plain)] {
        match emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(cfg), ..EmulatorConfig::default() }).await {
            Err(EmulatorError::Chaincode(ShimError::Connect { .. } | ShimError::Handshake { .. })) => {}
            other => panic!("{what}: expected a connect or handshake failure, got {other:?}"),
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_chaincode_registering_under_another_id_is_refused() {
    if skip("a_chaincode_registering_under_another_id_is_refused") {
        return;
    }
    let cc = start_chaincode(NodeChaincodeOptions::new("someone-else_1.0:00")).await;
    let mut cfg = cc.shim_config();
    cfg.chaincode_id = CC_ID.to_owned();
    match emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(cfg), ..EmulatorConfig::default() }).await {
        Err(EmulatorError::Chaincode(ShimError::WrongChaincode { expected, registered })) => {
            assert_eq!((expected.as_str(), registered.as_str()), (CC_ID, "someone-else_1.0:00"));
        }
        other => panic!("expected WrongChaincode, got {other:?}"),
    }
}

#[tokio::test]
async fn a_restarted_chaincode_is_dialled_again() {
    if skip("a_restarted_chaincode_is_dialled_again") {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let opts = |listen: SocketAddr| {
        let mut o = NodeChaincodeOptions::new(CC_ID);
        o.listen = Some(listen);
        o
    };
    let cc = start_chaincode(opts(port)).await;
    let mut cfg = cc.shim_config();
    cfg.dial_timeout = Duration::from_secs(2);
    let emu = start_emulator(ChaincodeMode::Shim(cfg), None).await;
    let anchors = client(&emu);
    anchors.anchor(CH, "r", 1, &hash(1)).await.expect("before the restart");
    cc.stop();
    match anchors.anchor(CH, "r", 2, &hash(2)).await {
        Err(Error::EndorsementFailed { details, .. }) => {
            assert!(details[0].message.starts_with("error in simulation: "), "{details:?}");
        }
        other => panic!("expected EndorsementFailed while the chaincode is down, got {other:?}"),
    }
    let cc = start_chaincode(opts(port)).await;
    anchors.anchor(CH, "r", 2, &hash(2)).await.unwrap_or_else(|e| panic!("after the restart: {e}\n{}", cc.log()));
    emu.shutdown().await;
}

#[tokio::test]
async fn the_ccaas_package_id_is_what_the_server_registers_with() {
    if skip("the_ccaas_package_id_is_what_the_server_registers_with") {
        return;
    }
    // The operator's flow: package for ccaas (connection.json names the address), start the
    // server with the package ID, point the peer at the address.
    let addr = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let out = tempfile::tempdir().expect("tempdir");
    let dir = NodeChaincodeServer::default_dir();
    let o = std::process::Command::new("node")
        .arg(dir.join("scripts/package.js"))
        .args(["ccaas", "--label", "evidence-anchor_1.0.0", "--address", &addr.to_string(), "--out"])
        .arg(out.path())
        .output()
        .expect("run scripts/package.js");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let package_id = info["package_id"].as_str().expect("package_id").to_owned();
    let bytes = std::fs::read(info["file"].as_str().expect("file")).expect("package file");
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
    assert_eq!(package_id, format!("evidence-anchor_1.0.0:{}", hex::encode(digest)));

    let mut opts = NodeChaincodeOptions::new(package_id.clone());
    opts.listen = Some(addr);
    let cc = start_chaincode(opts).await;
    assert_eq!(cc.chaincode_id(), package_id);
    let emu = start_emulator(ChaincodeMode::Shim(emulator::ShimConfig::plaintext(addr.to_string(), package_id)), None).await;
    client(&emu).anchor(CH, "pkg", 1, &hash(1)).await.expect("anchored");
    emu.shutdown().await;
}
