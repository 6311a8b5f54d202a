//! `pipeline analyze` end to end into a ledger server, read back from the server's ledger.

use std::process::{Command, Output};

use ledger::store::TenantStore as _;
use ledger_server::auth::Role;
use test_support::ServedLedger;

fn fixture(name: &str) -> String {
    format!("{}/testdata/analyze/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pipeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline")).args(args).output().expect("the binary runs")
}

fn analyze_args(file: &str, roster: &str, server: &ServedLedger) -> Vec<String> {
    [
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
        "--server",
        &server.base,
        "--token",
        &server.bearer,
        "--json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn analyze(file: &str, roster: &str, server: &ServedLedger) -> Output {
    pipeline(&analyze_args(file, roster, server).iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn analyze_writes_findings_consumers_and_gate_and_they_read_back() {
    let server = ServedLedger::start(&["t1"], Role::Service);
    let out = analyze("quorum_sales.csv", "roster.csv", &server);
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
    let t = server.tenant("t1");
    server.block_on(async {
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
    let server = ServedLedger::start(&["t1"], Role::Service);
    let out = analyze("quorum_sales_leak.csv", "roster.csv", &server);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Tremblay"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["receipts"].as_array().unwrap().is_empty());
    assert_eq!(v["refused"][0]["leaks"][0], serde_json::json!({"path": "/staff_code", "code": "SP1"}));
    let t = server.tenant("t1");
    assert_eq!(server.block_on(t.store().size()).unwrap(), 0, "nothing written");
}

#[test]
fn analyze_run_twice_over_the_same_export_writes_nothing_new() {
    let server = ServedLedger::start(&["t1"], Role::Service);
    let t = server.tenant("t1");
    let first = analyze("quorum_sales.csv", "roster.csv", &server);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let size = server.block_on(t.store().size()).unwrap();
    assert_eq!(size, 9);
    let seqs = |o: &Output| -> Vec<u64> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["receipts"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect()
    };
    let second = analyze("quorum_sales.csv", "roster.csv", &server);
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(seqs(&second), seqs(&first), "the first run's receipts");
    assert_eq!(server.block_on(t.store().size()).unwrap(), size, "the log did not grow");
    // Another --as-of over the same export: the key is (file, rule, subject), still nothing new.
    let mut args = analyze_args("quorum_sales.csv", "roster.csv", &server);
    args[11] = "2025-04-30".to_owned();
    let third = pipeline(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(third.status.code(), Some(0), "{}", String::from_utf8_lossy(&third.stderr));
    assert_eq!(seqs(&third), seqs(&first));
    assert_eq!(server.block_on(t.store().size()).unwrap(), size);
    // Another export is new: it is written.
    let other = analyze("quorum_sales_other.csv", "roster.csv", &server);
    assert_eq!(other.status.code(), Some(0), "{}", String::from_utf8_lossy(&other.stderr));
    assert!(server.block_on(t.store().size()).unwrap() > size);
}

#[test]
fn a_refused_run_does_not_read_accepted() {
    let server = ServedLedger::start(&["t1"], Role::Service);
    let mut args = analyze_args("quorum_sales_leak.csv", "roster.csv", &server);
    args.pop(); // text output, not --json
    let out = pipeline(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    assert!(first.starts_with("accepted: false"), "{stdout}");
}

#[test]
fn analyze_bad_roster_or_arguments_exit_2_and_refused_file_exits_1() {
    let server = ServedLedger::start(&["default"], Role::Service);
    let out = analyze("quorum_sales.csv", "roster_bad.csv", &server);
    assert_eq!(out.status.code(), Some(2));
    let out = analyze("quorum_sales.csv", "no_such_roster.csv", &server);
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
        "--server",
        &server.base,
        "--token",
        &server.bearer,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let t = server.tenant("default");
    assert_eq!(server.block_on(t.store().size()).unwrap(), 0, "nothing written for the bad roster, the missing roster or the refused file");
}
