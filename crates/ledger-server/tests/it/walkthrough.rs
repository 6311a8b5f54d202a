//! The README walk-through as a test: `scripts/walkthrough-dev.sh` runs the README's
//! commands against the real `ledger-server dev` binary (curl, seal, bundle download,
//! `evidence-verify bundle`, a tampered copy refused, SIGTERM exits 0).

use std::path::Path;
use std::process::Command;

#[test]
fn readme_walkthrough_against_the_dev_server() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(std::env::var_os("TSA_CLIENT_REQUIRE_OPENSSL").is_none(), "curl is required in CI");
        eprintln!("SKIPPED: no curl");
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ledger-server")).parent().unwrap().to_path_buf();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The verifier is another crate's binary: build it into the same directory if needed.
    if !bin_dir.join("evidence-verify").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "-q", "-p", "verifier-cli", "--bin", "evidence-verify"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    assert!(bin_dir.join("evidence-verify").exists(), "evidence-verify not found in {}", bin_dir.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new("bash")
        .arg(root.join("scripts/walkthrough-dev.sh"))
        .env("BIN_DIR", &bin_dir)
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("walk-through OK"), "{text}");
    // The dev server's trust file is development material: the verdict itself says so.
    assert!(text.contains("verified against development trust material: not evidence"), "{text}");
    assert!(!text.contains("NOT VERIFIED"), "{text}");
}
