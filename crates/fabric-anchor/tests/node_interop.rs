//! Interop with the official Fabric Gateway client for Node (`@hyperledger/fabric-gateway`):
//! `tests/node/interop.js` anchors, reads and fetches a block through `fabric-emulator` with
//! the reference implementation's own proposal building, signing and commit-status handling;
//! this side then verifies that block offline with evidence-core, and reads back what the Node
//! client wrote with our Rust client.
//!
//! Optional: skipped, with a message, when `node` or the npm packages are absent (install them
//! with `npm ci --prefix crates/fabric-anchor/tests/node`). `FABRIC_NODE_INTEROP=require`
//! turns a skip into a failure; `.ci/run` sets it whenever Node.js is installed.

mod common;

use std::path::PathBuf;
use std::process::Command;

use evidence_core::CheckpointHash;
use evidence_core::fabric::{BlockLimits, FabricReceipt, anchor_value, verify_receipt};
use fabric_anchor::anchor_key;

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite(node_dir: &std::path::Path) -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("no `node` on PATH".to_owned()),
    }
    if !node_dir.join("node_modules/@hyperledger/fabric-gateway/package.json").is_file() {
        return Some(format!("@hyperledger/fabric-gateway not installed (run `npm ci --prefix {}`)", node_dir.display()));
    }
    None
}

#[tokio::test]
async fn official_node_gateway_client_against_the_emulator() {
    let node_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if let Some(why) = missing_prerequisite(&node_dir) {
        assert_ne!(
            std::env::var("FABRIC_NODE_INTEROP").as_deref(),
            Ok("require"),
            "FABRIC_NODE_INTEROP=require but the Node interop test cannot run: {why}"
        );
        eprintln!("SKIPPED official_node_gateway_client_against_the_emulator: {why}");
        return;
    }

    let emu = common::EmulatorProcess::start(&["evidence"]).await;
    let roots = emu.msp_roots();

    // Written by our client, read by theirs.
    let rust_hash = CheckpointHash([0x11; 32]);
    emu.client().anchor("evidence", "rust", 1, &rust_hash).await.expect("Rust client anchors");

    let node_hash = CheckpointHash([0x2a; 32]);
    let node_key = anchor_key("node", 7);
    let out = Command::new("node")
        .arg(node_dir.join("interop.js"))
        .arg(emu.dir())
        .args(["node", "7", &anchor_value(&node_hash), "rust", "1", &anchor_value(&rust_hash)])
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "interop.js failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("interop.js prints one JSON line");
    assert_eq!(seen["duplicate_refused"], true);
    assert!(seen["forged_refused"].is_string(), "{seen}");
    eprintln!("interop.js saw: {seen}");
    let tx_id = seen["tx_id"].as_str().expect("tx_id").to_owned();

    // Written by theirs, read by ours.
    let got = emu.client().get("evidence", "node", 7).await.expect("Rust client reads");
    assert_eq!(got.as_deref(), Some(anchor_value(&node_hash).as_str()));

    // The block the official client fetched with qscc verifies offline as a receipt of its
    // transaction: its creator signature was made by the Node client's signer.
    let block = std::fs::read(emu.path("node-block.bin")).expect("node-block.bin");
    let receipt = FabricReceipt {
        channel: "evidence".to_owned(),
        block,
        tx_index: 0,
        tx_id: tx_id.clone(),
        msp_roots: Vec::new(),
        orderer_msps: Vec::new(),
    };
    let report = verify_receipt(&receipt, &node_hash, &node_key, &roots, None, &BlockLimits::default())
        .expect("the Node client's transaction verifies offline");
    assert_eq!(report.tx_id, tx_id);
    assert_eq!(report.block.number.to_string(), seen["block_number"].as_str().expect("block_number"));
    // And it is evidence of that hash only.
    assert!(verify_receipt(&receipt, &rust_hash, &node_key, &roots, None, &BlockLimits::default()).is_err());
}
