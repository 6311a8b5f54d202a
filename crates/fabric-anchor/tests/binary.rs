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
