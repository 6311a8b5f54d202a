//! `pipeline analyze` end to end into a temporary `--data` ledger, read back.

use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    format!("{}/testdata/analyze/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pipeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline")).args(args).output().expect("the binary runs")
}

fn analyze(file: &str, roster: &str, data: &str) -> Output {
    pipeline(&[
        "analyze",
        "--profile",
        "quorum",
        "--export",
        "sales",
        &fixture(file),
        "--roster",
        &fixture(roster),
        "--tenant",
        "t1",
        "--as-of",
        "2025-03-25",
        "--data",
        data,
        "--json",
    ])
}

#[test]
fn analyze_writes_findings_consumers_and_gate_and_they_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = analyze("quorum_sales.csv", "roster.csv", data.to_str().unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["accepted"], true);
    assert_eq!(v["gate"], "fail");
    let receipts = v["receipts"].as_array().unwrap();
    let what: Vec<&str> = receipts.iter().map(|r| r["what"].as_str().unwrap()).collect();
    assert_eq!(
        what,
        [
            "finding 0 structure.front_loss",
            "finding 1 structure.negative_back",
            "finding 2 structure.payment_mismatch",
            "finding 3 structure.rate_over_cap",
            "manager_scorecard FM1",
            "manager_scorecard SM1",
            "hierarchical_score",
            "affinity",
            "gate_decision"
        ]
    );
    let gate_seq = receipts[8]["seq"].as_u64().unwrap();
    let gate_hash = receipts[8]["content_hash"].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let tenant = evidence_core::TenantId::new("t1".to_owned()).unwrap();
        let t = pipeline::sinks::open_ledger(&data, pipeline::ingest::cli::LOCAL_LEDGER_NAME, &tenant).await.unwrap();
        let parts = t.claim_parts(evidence_core::Seq(gate_seq)).await.unwrap();
        assert_eq!(parts.content_hash.to_hex(), gate_hash);
        let claim = parts.record.unwrap().1;
        assert_eq!(claim.kind, evidence_core::ClaimKind::GateDecision);
        assert_eq!(claim.body["decision"], "fail");
        assert_eq!(claim.body["run"]["rows"], 4);
        let aff = t.claim_parts(evidence_core::Seq(receipts[7]["seq"].as_u64().unwrap())).await.unwrap().record.unwrap().1;
        assert_eq!(aff.body["consumer"], "affinity");
    });
}

#[test]
fn analyze_refuses_a_leak_with_exit_1_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = analyze("quorum_sales_leak.csv", "roster.csv", data.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Tremblay"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["receipts"].as_array().unwrap().is_empty());
    assert_eq!(v["refused"][0]["leaks"][0], serde_json::json!({"path": "/staff_code", "code": "SP1"}));
    assert!(!data.exists(), "nothing written, not even a ledger directory");
}

#[test]
fn analyze_bad_roster_or_arguments_exit_2_and_refused_file_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = analyze("quorum_sales.csv", "roster_bad.csv", data.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2));
    let out = analyze("quorum_sales.csv", "no_such_roster.csv", data.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2));
    let out = pipeline(&["analyze", "--profile", "quorum", "--export", "sales", &fixture("quorum_sales.csv")]);
    assert_eq!(out.status.code(), Some(2), "--roster is required");
    let refused = format!("{}/testdata/csv/pii_headers_fr.csv", env!("CARGO_MANIFEST_DIR"));
    let out = pipeline(&[
        "analyze",
        "--profile",
        "quorum",
        "--export",
        "service",
        &refused,
        "--roster",
        &fixture("roster.csv"),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!data.exists());
}
