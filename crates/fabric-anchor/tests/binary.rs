//! The `fabric-emulator` binary: `--out` writes usable trust material and a client identity,
//! and a client loaded from those files anchors a hash whose receipt verifies.

mod common;

use evidence_core::CheckpointHash;
use evidence_core::fabric::{BlockLimits, verify_receipt};
use fabric_anchor::anchor_key;

#[tokio::test]
async fn binary_out_dir_drives_a_client_and_verifier() {
    let emu = common::EmulatorProcess::start(&["c1", "c2"]).await;
    assert_eq!(emu.trust["channels"], serde_json::json!(["c1", "c2"]));
    let client = emu.client();
    let h = CheckpointHash([5; 32]);
    let receipt = client.anchor("c2", "bin", 1, &h).await.expect("anchor through the binary");
    verify_receipt(&receipt, &h, &anchor_key("bin", 1), &emu.msp_roots(), None, &BlockLimits::default())
        .expect("receipt verifies against the written trust material");
}

#[tokio::test]
async fn binary_runs_the_real_chaincode_with_chaincode_address() {
    use fabric_anchor::emulator::{NodeChaincodeOptions, NodeChaincodeServer};
    if let Some(why) = NodeChaincodeServer::missing_prerequisite(&NodeChaincodeServer::default_dir()) {
        assert_ne!(std::env::var("FABRIC_NODE_INTEROP").as_deref(), Ok("require"), "FABRIC_NODE_INTEROP=require but: {why}");
        eprintln!("SKIPPED binary_runs_the_real_chaincode_with_chaincode_address: {why}");
        return;
    }
    let id = "evidence-anchor_1.0:00";
    let cc = tokio::task::spawn_blocking(move || NodeChaincodeServer::start(NodeChaincodeOptions::new(id)))
        .await
        .expect("join")
        .expect("chaincode server");
    let addr = cc.address().to_string();
    let emu = common::EmulatorProcess::start_with(&["evidence"], &["--chaincode-address", &addr, "--chaincode-id", id]).await;
    let h = CheckpointHash([6; 32]);
    let receipt = emu.client().anchor("evidence", "bin", 2, &h).await.unwrap_or_else(|e| panic!("anchor: {e}\n{}", cc.log()));
    verify_receipt(&receipt, &h, &anchor_key("bin", 2), &emu.msp_roots(), None, &BlockLimits::default()).expect("verifies");
    // The Node chaincode ran it: its log names the transaction.
    assert!(cc.log().contains(&receipt.tx_id[..8]), "the chaincode's log does not mention {}:\n{}", receipt.tx_id, cc.log());
}
