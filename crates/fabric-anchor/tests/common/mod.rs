//! The `fabric-emulator` binary as a child process, shared by the binary and interop tests.
// Each test binary compiles this module and uses a subset of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fabric_anchor::{AnchorClient, GatewayClient, GatewayConfig, Identity};

/// A running `fabric-emulator --out DIR`; killed and its directory removed on drop.
pub struct EmulatorProcess {
    child: Child,
    dir: tempfile::TempDir,
    /// `trust.json` as written by the emulator.
    pub trust: serde_json::Value,
}

impl EmulatorProcess {
    /// Starts the binary on a free port with these channels and waits for `trust.json`.
    pub async fn start(channels: &[&str]) -> Self {
        Self::start_with(channels, &[]).await
    }

    /// [`Self::start`] with more arguments (e.g. `--chaincode-address`).
    pub async fn start_with(channels: &[&str], extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fabric-emulator"));
        cmd.args(["--listen", "127.0.0.1:0"]);
        for c in channels {
            cmd.args(["--channel", c]);
        }
        cmd.args(extra);
        let child = cmd.arg("--out").arg(dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn fabric-emulator");
        let mut me = Self { child, dir, trust: serde_json::Value::Null };
        let trust_path = me.dir.path().join("trust.json");
        for _ in 0..200 {
            // The file is complete once its final newline is written.
            if let Ok(t) = std::fs::read_to_string(&trust_path)
                && t.ends_with('\n')
            {
                me.trust = serde_json::from_str(&t).expect("trust.json parses");
                return me;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fabric-emulator wrote no trust.json within 10 s");
    }

    /// The `--out` directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file under the `--out` directory, as text.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A client built only from the files the emulator wrote (as a user would build one).
    pub fn client(&self) -> AnchorClient {
        let url = self.trust["gateway"].as_str().expect("trust.json: gateway").to_owned();
        let id = Identity::from_pem(self.read("client/mspid").trim(), &self.read("client/cert.pem"), &self.read("client/key.pem"))
            .expect("client identity from --out files");
        AnchorClient::new(GatewayClient::connect(GatewayConfig::plaintext(url), id).expect("connect"))
    }

    /// The MSP roots and orderer MSP, read from `msp/<MSPID>.pem` and `trust.json`.
    pub fn msp_roots(&self) -> evidence_core::fabric::MspRoots {
        let ids: std::collections::BTreeMap<String, String> =
            serde_json::from_value(self.trust["msp_roots"].clone()).expect("trust.json: msp_roots");
        let mut roots = evidence_core::fabric::MspRoots::new();
        for id in ids.keys() {
            roots.add_pem(id, self.read(&format!("msp/{id}.pem")).as_bytes()).expect("MSP root PEM");
        }
        roots.add_orderer_msp(self.trust["orderer_msp"].as_str().expect("trust.json: orderer_msp"));
        roots
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
