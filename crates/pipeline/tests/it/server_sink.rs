//! `pipeline ingest` and `pipeline analyze` with `--server`: the binary appends through a real
//! ledger server (HTTP, bearer token of role `service`), and the claims read back from the
//! server's ledger with the content hashes the commands printed.

use std::process::{Command, Output};

use evidence_core::{ClaimKind, Seq};
use ledger::store::TenantStore as _;
use ledger_server::auth::Role;
use test_support::ServedLedger;

fn pipeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline")).args(args).output().expect("the binary runs")
}

fn testdata(path: &str) -> String {
    format!("{}/testdata/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ingest_and_analyze_append_through_a_ledger_server() {
    let server = ServedLedger::start(&["rooftop-7"], Role::Service);
    let (base, bearer) = (server.base.clone(), server.bearer.clone());

    // Ingest: the file's `ingest_record` claim goes to the server.
    let ingest = |tenant: &str| {
        let cdk = testdata("csv/cdk_sales_valid.csv");
        pipeline(&["ingest", "--profile", "cdk", "--export", "sales", &cdk, "--tenant", tenant, "--server", &base, "--token", &bearer])
    };
    let out = ingest("rooftop-7");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sink"], format!("server {base}"));
    let ingest_seq = v["receipt"]["seq"].as_u64().unwrap();
    let ingest_hash = v["receipt"]["content_hash"].as_str().unwrap().to_owned();

    // Analyze: findings, consumers and the gate decision go to the server as one batch.
    let out = pipeline(&[
        "analyze",
        "--profile",
        "quorum",
        "--export",
        "sales",
        &testdata("analyze/quorum_sales.csv"),
        "--roster",
        &testdata("analyze/roster.csv"),
        "--tenant",
        "rooftop-7",
        "--as-of",
        "2025-03-25",
        "--server",
        &base,
        "--token",
        &bearer,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["sink"], format!("server {base}"));
    let receipts = a["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 9, "{a}");
    let gate = &receipts[8];
    assert_eq!(gate["what"], "gate_decision");

    // A token of another tenant's name is refused by the server: exit 2, nothing written.
    let out = ingest("rooftop-8");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"), "{}", String::from_utf8_lossy(&out.stderr));

    let t = server.tenant("rooftop-7");
    server.block_on(async {
        let ingest = t.claim_parts(Seq(ingest_seq)).await.unwrap();
        assert_eq!(ingest.content_hash.to_hex(), ingest_hash);
        assert_eq!(ingest.record.unwrap().1.kind, ClaimKind::IngestRecord);
        let g = t.claim_parts(Seq(gate["seq"].as_u64().unwrap())).await.unwrap();
        assert_eq!(g.content_hash.to_hex(), gate["content_hash"].as_str().unwrap());
        let claim = g.record.unwrap().1;
        assert_eq!(claim.kind, ClaimKind::GateDecision);
        assert_eq!(claim.body["decision"], "fail");
        // One ingest claim and nine analysis claims, nothing else, in this tenant's log.
        assert_eq!(t.store().size().await.unwrap(), 10);
    });
}
