//! `ingest_file` through a real `ClaimSink` (evidence-core's `MemorySink`): the claim's kind,
//! body, idempotency key and file hash, and that a refused file's claim holds no file text.

use evidence_core::claim::ClaimKind;
use evidence_core::sink::{DeterministicEnv, MemorySink};
use evidence_core::types::{TenantId, UnixMillis};
use pipeline::ingest::{self, Dms, Export, Options, Profile};
use sha2::{Digest, Sha256};

fn block_on<F: Future>(f: F) -> F::Output {
    pipeline::ingest::cli::block_on(f)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/csv/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn sink() -> MemorySink<DeterministicEnv> {
    MemorySink::new(TenantId::new("dealer-1").unwrap(), DeterministicEnv::new(UnixMillis(1_700_000_000_000)))
}

#[test]
fn accepted_file_writes_one_ingest_record() {
    let bytes = fixture("inventory_injection.csv");
    let sink = sink();
    let profile = Profile::get(Dms::Cdk, Export::Inventory).unwrap();
    let out = block_on(ingest::ingest_file(&sink, &profile, &bytes[..], &Options::default())).unwrap();
    assert!(out.report.accepted);
    let stored = sink.stored();
    assert_eq!(stored.len(), 1);
    let claim = &stored[0].request.claim;
    assert_eq!(claim.kind, ClaimKind::IngestRecord);
    let sha = hex::encode(Sha256::digest(&bytes));
    let body = &claim.body;
    assert_eq!(body["file_sha256"], sha.as_str());
    assert_eq!(body["file_bytes"], bytes.len());
    assert_eq!(body["profile"], "cdk");
    assert_eq!(body["export"], "inventory");
    assert_eq!(body["encoding"], "utf-8");
    assert_eq!(body["accepted"], true);
    assert_eq!(body["rows"], 3);
    assert_eq!(body["neutralised"], 6);
    assert_eq!(body["rejections"], serde_json::json!([]));
    assert_eq!(body["columns"][0], "stock_number");
    assert_eq!(stored[0].request.idempotency_key.as_deref(), Some(format!("ingest:cdk:inventory:{sha}").as_str()));
    assert_eq!(out.receipt.kind, ClaimKind::IngestRecord);
    // No cell content reaches the claim.
    let canonical = String::from_utf8(claim.canonical_bytes().unwrap()).unwrap();
    assert!(!canonical.contains("HYPERLINK") && !canonical.contains("1HGCM82633A004352"), "{canonical}");
}

#[test]
fn refused_file_claim_records_kinds_and_indexes_only() {
    let bytes = fixture("pii_headers_en.csv");
    let sink = sink();
    let profile = Profile::get(Dms::Reynolds, Export::Sales).unwrap();
    let out = block_on(ingest::ingest_file(&sink, &profile, &bytes[..], &Options::default())).unwrap();
    assert!(!out.report.accepted);
    let claim = &sink.stored()[0].request.claim;
    assert_eq!(claim.body["accepted"], false);
    assert_eq!(claim.body["rows"], 0);
    let rejections = claim.body["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 7);
    assert_eq!(rejections[0], serde_json::json!({"kind": "pii_column", "row": 1, "column_index": 1}));
    let canonical = String::from_utf8(claim.canonical_bytes().unwrap()).unwrap();
    for header in ["Customer Name", "Cust_Phone", "Email Address", "DOB", "Address1", "Licence"] {
        assert!(!canonical.contains(header), "{header} leaked: {canonical}");
    }
}

#[test]
fn a_claim_needs_a_hash() {
    let profile = Profile::get(Dms::Cdk, Export::Inventory).unwrap();
    let report = ingest::check(&profile, &b"Stock Number\nS1\n"[..], &Options::default(), |_| {}).unwrap();
    assert!(report.sha256.is_none());
    assert!(ingest::ingest_request(&profile, &Options::default(), &report).is_err());
}
