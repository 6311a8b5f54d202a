//! `ledger-server dev --chaincode node`: the development server's Fabric anchors go through
//! the Gateway client, the emulator and the real Node `evidence-anchor` chaincode over the
//! chaincode shim protocol, and the bundle of a claim verifies offline (both rails) against
//! the trust file the server wrote.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use evidence_core::bundle::Bundle;
use evidence_core::{TrustStore, Verdict, Verifier};
use fabric_anchor::emulator::NodeChaincodeServer;
use test_support::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ledger-server");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dev_bundle_anchored_through_the_node_chaincode_verifies() {
    if let Some(why) = NodeChaincodeServer::missing_prerequisite(&NodeChaincodeServer::default_dir()) {
        assert_ne!(std::env::var("FABRIC_NODE_INTEROP").as_deref(), Ok("require"), "the Node chaincode cannot run: {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let dir = TempDir::new("dev-chaincode");
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("dev.log");
    let child = Command::new(BIN)
        .args([
            "dev",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--seal-every",
            "1",
            "--chaincode",
            "node",
        ])
        .env("LEDGER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _p = Proc(child);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while !c.get(format!("{base}/readyz")).send().is_ok_and(|r| r.status() == 200) {
        assert!(started.elapsed() < Duration::from_mins(2), "dev server not ready:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
    let banner = std::fs::read_to_string(&log).unwrap();
    assert!(banner.contains("the Node chaincode at"), "the banner names the chaincode mode:\n{banner}");
    let token = std::fs::read_to_string(data.join("dev").join("token")).unwrap();
    let r = c
        .post(format!("{base}/v1/tenants/demo/claims"))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({"kind": "leakage_finding", "body": {"analyzer": "cit", "deal": "D-1", "staff": "FI-07", "amount": "10.00"}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let trust = Verifier::new(TrustStore::from_json(&std::fs::read(data.join("trust.json")).unwrap()).unwrap());
    // Sealed within a second, anchored on both rails a second or two later.
    let started = Instant::now();
    loop {
        let r = c.get(format!("{base}/v1/tenants/demo/claims/0/bundle")).bearer_auth(token.trim()).send().unwrap();
        let status = r.status();
        if status == 200 {
            let bundle: Bundle = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
            let report = trust.verify(&bundle);
            if report.verdict == Verdict::Verified {
                assert!(
                    bundle.anchors.fabric.iter().any(|a| !a.block.0.is_empty()),
                    "the bundle carries the Fabric block holding the chaincode's write"
                );
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_mins(2),
            "no verifying bundle; last answer {status}:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
