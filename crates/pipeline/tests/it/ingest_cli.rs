//! The `pipeline` binary: exit codes (0 accepted, 1 refused, 2 unreadable or bad arguments)
//! and the exact `--json` shape.

use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    format!("{}/testdata/csv/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pipeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline")).args(args).output().expect("the binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn check_accepts_a_valid_file_with_exit_0_and_exact_json() {
    let out = pipeline(&["check", "--profile", "cdk", "--export", "sales", &fixture("cdk_sales_valid.csv"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v, serde_json::json!({"accepted": true, "rows": 2, "neutralised": 0, "errors": []}));
    // Key order as documented.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("{\"accepted\":true,\"rows\":2,\"neutralised\":0,\"errors\":[]}"));
}

#[test]
fn check_refuses_pii_with_exit_1_one_error_per_column_as_written() {
    let out = pipeline(&["check", "--profile", "quorum", "--export", "service", &fixture("pii_headers_fr.csv"), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["accepted"], false);
    assert_eq!(v["rows"], 0);
    let errors = v["errors"].as_array().unwrap();
    let pii: Vec<&str> = errors.iter().filter(|e| e["kind"] == "pii_column").map(|e| e["column"].as_str().unwrap()).collect();
    assert_eq!(pii.len(), 10);
    assert!(pii.contains(&"Téléphone") && pii.contains(&"Nom du client") && pii.contains(&"DDN"));
    for e in errors {
        let obj = e.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{e}");
        for k in ["kind", "column", "row", "message"] {
            assert!(obj.contains_key(k), "{k} missing in {e}");
        }
        assert_eq!(e["row"], 1);
    }
}

#[test]
fn whole_file_errors_have_null_row_and_column() {
    let out = pipeline(&["check", "--profile", "pbs", "--export", "inventory", &fixture("image_renamed.csv"), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["errors"][0]["kind"], "not_csv");
    assert!(v["errors"][0]["row"].is_null());
    assert!(v["errors"][0]["column"].is_null());
}

#[test]
fn check_text_output_refuses_with_exit_1() {
    let out = pipeline(&["check", "--profile", "reynolds", "--export", "inventory", &fixture("ragged.csv")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused") && text.contains("ragged_row at row 3"), "{text}");
    // Counts read right: "1 error", never "1 errors" (issue 24).
    assert!(!text.contains(" 1 errors") && !text.contains(" 1 rows") && !text.contains(" 1 cells"), "{text}");
    assert!(text.contains("ragged_row at row 3: 1 field, the header has 2 fields"), "{text}");
    let out = pipeline(&["check", "--profile", "cdk", "--export", "sales", &fixture("cdk_sales_valid.csv")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": accepted: 2 rows, 0 cells neutralised, 0 errors"), "{text}");
}

#[test]
fn declared_cp1252_is_accepted() {
    let f = fixture("declared_cp1252.csv");
    assert_eq!(pipeline(&["check", "--profile", "cdk", "--export", "inventory", &f]).status.code(), Some(1));
    assert_eq!(pipeline(&["check", "--profile", "cdk", "--export", "inventory", &f, "--encoding", "cp1252"]).status.code(), Some(0));
}

#[test]
fn unreadable_files_and_bad_arguments_exit_2() {
    let missing = pipeline(&["check", "--profile", "cdk", "--export", "sales", "/nonexistent/file.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty());
    let dir = pipeline(&["check", "--profile", "cdk", "--export", "sales", env!("CARGO_MANIFEST_DIR")]);
    assert_eq!(dir.status.code(), Some(2));
    let f = fixture("cdk_sales_valid.csv");
    for args in [
        &["check", "--profile", "nope", "--export", "sales", f.as_str()][..],
        &["check", "--profile", "cdk", "--export", "payroll", &f],
        &["check", "--export", "sales", &f],
        &["check", "--profile", "cdk", "--export", "sales"],
        &["check", "--profile", "cdk", "--export", "sales", &f, "--bogus"],
        &["frobnicate"],
        &[],
        // Quorum has no GL export profile.
        &["check", "--profile", "quorum", "--export", "gl", &f],
    ] {
        assert_eq!(pipeline(args).status.code(), Some(2), "{args:?}");
    }
    assert_eq!(pipeline(&["--help"]).status.code(), Some(0));
}

#[test]
fn ingest_writes_a_claim_to_the_ledger_without_file_text() {
    let server = test_support::ServedLedger::start(&["dealer-1"], ledger_server::auth::Role::Service);
    let (base, token) = (server.base.as_str(), server.bearer.as_str());
    let cdk = fixture("cdk_sales_valid.csv");
    let args = ["ingest", "--profile", "cdk", "--export", "sales", &cdk, "--tenant", "dealer-1", "--server", base, "--token", token];
    let out = pipeline(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["receipt"]["tenant"], "dealer-1");
    assert_eq!(v["receipt"]["kind"], "ingest_record");
    let seq = v["receipt"]["seq"].as_u64().unwrap();
    // The same file again: the idempotency key returns the first receipt.
    let again = json(&pipeline(&args));
    assert_eq!(again["receipt"], v["receipt"]);

    let refused = pipeline(&[
        "ingest",
        "--profile",
        "cdk",
        "--export",
        "sales",
        &fixture("pii_headers_en.csv"),
        "--tenant",
        "dealer-1",
        "--server",
        base,
        "--token",
        token,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(!stdout.contains("Customer Name") && !stdout.contains("Email"), "header text leaked: {stdout}");

    // What the ledger stored: the claim bodies, read back by the ledger itself.
    let t = server.tenant("dealer-1");
    server.block_on(async {
        let first = t.claim_parts(evidence_core::Seq(seq)).await.unwrap().record.unwrap().1;
        assert_eq!(first.body["rows"], 2);
        assert_eq!(first.body["accepted"], true);
        assert_eq!(first.body["profile"], "cdk");
        assert_eq!(first.body["file_sha256"].as_str().unwrap().len(), 64);
        let second = t.claim_parts(evidence_core::Seq(seq + 1)).await.unwrap().record.unwrap().1;
        assert_eq!(second.body["rejections"][0]["kind"], "pii_column");
        assert!(!second.body.to_string().contains("Customer Name"));
        assert!(t.claim_parts(evidence_core::Seq(seq + 2)).await.is_err(), "nothing else was written");
    });

    let bad_tenant = pipeline(&[
        "ingest",
        "--profile",
        "cdk",
        "--export",
        "sales",
        &fixture("cdk_sales_valid.csv"),
        "--tenant",
        "Bad Tenant",
        "--server",
        base,
        "--token",
        token,
    ]);
    assert_eq!(bad_tenant.status.code(), Some(2));
    // The retired local mode says where to go instead.
    let local = pipeline(&["ingest", "--profile", "cdk", "--export", "sales", &cdk, "--data", "./data"]);
    assert_eq!(local.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&local.stderr).contains("ledger-server dev"), "{}", String::from_utf8_lossy(&local.stderr));
    // No token anywhere: a clear message, exit 2.
    let none = pipeline(&["ingest", "--profile", "cdk", "--export", "sales", &cdk, "--server", base, "--token-file", "/nonexistent/token"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no token"), "{}", String::from_utf8_lossy(&none.stderr));
    // A server that is not there: could not write (2), nothing claimed.
    let down = pipeline(&[
        "ingest",
        "--profile",
        "cdk",
        "--export",
        "sales",
        &fixture("cdk_sales_valid.csv"),
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "evl_x",
    ]);
    assert_eq!(down.status.code(), Some(2), "{}", String::from_utf8_lossy(&down.stderr));
}
