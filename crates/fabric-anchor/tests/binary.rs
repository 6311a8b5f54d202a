//! The `fabric-emulator` binary: `--out` writes usable trust material and a client identity,
//! and a client loaded from those files anchors a hash whose receipt verifies.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use evidence_core::CheckpointHash;
use evidence_core::fabric::{MspRoots, VerifyOptions, verify_receipt};
use fabric_anchor::{AnchorClient, GatewayClient, GatewayConfig, Identity, anchor_key};

#[tokio::test]
async fn binary_out_dir_drives_a_client_and_verifier() {
    let dir = std::env::temp_dir().join(format!("fabric-emulator-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fabric-emulator"))
        .args(["--listen", "127.0.0.1:0", "--channel", "c1", "--channel", "c2", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fabric-emulator");
    let trust_path = dir.join("trust.json");
    let mut text = String::new();
    for _ in 0..200 {
        if let Ok(t) = std::fs::read_to_string(&trust_path)
            && t.ends_with('\n')
        {
            text = t;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let result = async {
        let trust: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("trust.json: {e}"))?;
        let url = trust["gateway"].as_str().ok_or("gateway")?.to_owned();
        assert_eq!(trust["channels"], serde_json::json!(["c1", "c2"]));
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).map_err(|e| format!("{p}: {e}"));
        let id = Identity::from_pem(read("client/mspid")?.trim(), &read("client/cert.pem")?, &read("client/key.pem")?)
            .map_err(|e| e.to_string())?;
        let client = AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(url), id).map_err(|e| e.to_string())?);
        let h = CheckpointHash([5; 32]);
        let receipt = client.anchor("c2", "bin", 1, &h).await.map_err(|e| e.to_string())?;
        let roots_by_id: BTreeMap<String, String> = serde_json::from_value(trust["msp_roots"].clone()).map_err(|e| e.to_string())?;
        let mut roots = MspRoots::new();
        for id in roots_by_id.keys() {
            roots.add_pem(id, read(&format!("msp/{id}.pem"))?.as_bytes()).map_err(|e| e.to_string())?;
        }
        roots.add_orderer_msp(trust["orderer_msp"].as_str().ok_or("orderer_msp")?);
        verify_receipt(&receipt, &h, &anchor_key("bin", 1), &roots, None, &VerifyOptions::default()).map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result.expect("end to end through the binary");
}
