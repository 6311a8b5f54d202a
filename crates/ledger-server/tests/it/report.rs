//! Signed findings reports over HTTP, end to end: a test server holding pipeline-shaped
//! findings (one retracted, one superseded, one outside the period), sealed and anchored by the
//! development TSA, serves `GET …/reports/findings.pdf`; the PDF is checked with tools we did
//! not write: pyHanko (Python API and CLI: signature intact, whole file covered, not modified,
//! signature time-stamp valid and trusted, with the development report-signing CA and TSA root
//! trusted), `pdfsig`, `qpdf --check`, `pdftotext` and `pdfdetach` (an embedded bundle is
//! extracted and verified with evidence-core's verifier, and with the `evidence-verify`
//! binary when it is built). The `report_issued` claim names the served PDF's hash and the
//! listed claims; roles without export access are refused; staff names never appear.
//!
//! Without the tools these tests print SKIPPED and pass, unless `REPORTS_REQUIRE_TOOLS=1`
//! (set by `.ci/run`). pyHanko is `$REPORTS_PYHANKO_PYTHON`, else
//! `target/pyhanko-venv/bin/python`.

#![allow(clippy::too_many_lines)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use evidence_core::bundle::Bundle;
use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink as _, Seq, TrustStore, Verdict, Verifier};
use ledger::Ledger;
use ledger::store::sqlite::{Durability, SqliteStore};
use ledger::store::{AnchorState, Rail, Store as _, TenantConfig, TenantStore as _};
use ledger_server::auth::{self, Role};
use ledger_server::dev;
use ledger_server::server::ServiceOptions;
use serde_json::{Value, json};
use sha2::Digest as _;
use test_support::fixtures::{keys, signer, tid};
use test_support::{LocalServer, TempDir};

/// The analyzers' roster for the codes the findings name: these names must never appear.
const ROSTER: &[(&str, &str)] =
    &[("FI-07", "Jane Doe"), ("SA-12", "Marc-Andre Tremblay"), ("SV-03", "Priya Raman"), ("FI-02", "Olamide Okafor")];

const TENANT: &str = "rooftop-7";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_mins(10)).build().unwrap()
}

// ---- tools ------------------------------------------------------------------------------

fn require_tools() -> bool {
    std::env::var("REPORTS_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(!require_tools(), "{name} is required (REPORTS_REQUIRE_TOOLS=1) but not on PATH");
        eprintln!("SKIPPED: {name} not on PATH (install poppler-utils / qpdf)");
    }
    found
}

fn pyhanko_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("REPORTS_PYHANKO_PYTHON")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyhanko-venv/bin/python"), PathBuf::from);
    let ok = candidate.is_file()
        && Command::new(&candidate).args(["-c", "import pyhanko, pyhanko_certvalidator"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!require_tools(), "pyHanko is required (REPORTS_REQUIRE_TOOLS=1) but {} cannot import it", candidate.display());
        eprintln!("SKIPPED: pyHanko not found at {} (set REPORTS_PYHANKO_PYTHON)", candidate.display());
        return None;
    }
    Some(candidate)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

// ---- the ledger -------------------------------------------------------------------------

/// A pipeline `leakage_finding` body (`pipeline/leakage_finding/v1`).
fn finding_body(i: usize, as_of: &str) -> Value {
    let (code, _) = ROSTER[i % ROSTER.len()];
    match i % 3 {
        0 => {
            json!({"schema": "pipeline/leakage_finding/v1", "analyzer": "fi", "rule": "fi.reserve_outlier", "subject": format!("D-{:05}", 10_000 + i),
                    "staff_code": code, "measures": {"reserve": format!("{}.50", 900 + i), "amount_financed": "31000.00", "reserve_pct": "4.50", "max_reserve_pct": "3.00"}, "as_of": as_of})
        }
        1 => {
            json!({"schema": "pipeline/leakage_finding/v1", "analyzer": "structure", "rule": "structure.front_loss", "subject": format!("D-{:05}", 10_000 + i),
                    "staff_code": code, "measures": {"front_gross": format!("-{}.00", 1200 + i), "max_front_loss": "500.00"}, "as_of": as_of})
        }
        _ => {
            json!({"schema": "pipeline/leakage_finding/v1", "analyzer": "service", "rule": "service.unbilled_labour", "subject": format!("RO-{:06}", 500_000 + i),
                    "staff_code": code, "measures": {"labour_hours": "3.50", "billed_hours": "1.00"}, "as_of": as_of})
        }
    }
}

fn request(body: Value) -> AppendRequest {
    AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body).unwrap())
}

struct Fixture {
    base: String,
    ledger: Ledger<SqliteStore>,
    store: SqliteStore,
    pki: TempDir,
    trust: evidence_core::TrustFile,
    /// Seqs of the findings in the period, in log order.
    in_period: Vec<u64>,
    outside: u64,
    retracted: (u64, u64),
    superseded: (u64, u64),
    local: Option<LocalServer>,
    _dir: TempDir,
}

async fn bearer(store: &SqliteStore, role: Role, tenant: Option<&str>, n: u8) -> String {
    let issued = auth::issue([n; 8], [n; 32], tenant.map(tid), role, "report test", ledger::now(), 3_600_000).unwrap();
    store.put_token(&issued.record).await.unwrap();
    issued.bearer
}

async fn wait_tsa_anchored(t: &ledger::TenantLedger<ledger::store::sqlite::SqliteTenant>, cseq: evidence_core::CheckpointSeq) {
    for _ in 0..300 {
        let rows = t.anchor_state(cseq).await.unwrap();
        if rows.iter().any(|r| r.rail == Rail::Tsa && r.state == AnchorState::Anchored) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("checkpoint {cseq:?} not anchored");
}

/// `n` (at least 3) findings in November 2026 (one retracted, one superseded), one in December, sealed and
/// anchored; served with the development report generator when `with_reports`.
async fn fixture(n: usize, with_reports: bool) -> Fixture {
    let dir = TempDir::new("report-http");
    let store = SqliteStore::open(dir.path().join("db"), Durability::ProcessCrash).await.unwrap();
    let ledger = Ledger::with_rails(store.clone(), signer(), keys(), vec![Rail::Tsa]);
    let t = ledger.create_tenant(&tid(TENANT), &TenantConfig::default()).await.unwrap();
    let reqs: Vec<AppendRequest> = (0..n).map(|i| request(finding_body(i, &format!("2026-11-{:02}", 1 + i % 30)))).collect();
    let mut in_period: Vec<u64> = Vec::new();
    for chunk in reqs.chunks(500) {
        in_period.extend(t.append_many(chunk.to_vec()).await.unwrap().iter().map(|r| r.seq.0));
    }
    let outside = t.append(request(finding_body(1, "2026-12-05"))).await.unwrap().seq.0;
    let r = t.retract(Seq(in_period[1]), "duplicate of an earlier finding").await.unwrap().seq.0;
    let (replacement, sup) = t.supersede(Seq(in_period[2]), request(finding_body(2, "2026-11-03")), "corrected amount").await.unwrap();
    in_period.push(replacement.seq.0);
    let pki = TempDir::new("report-pki");
    let reports = with_reports.then(|| Arc::new(dev::report_service(pki.path()).unwrap()));
    // Room for the 10 000-finding measurement in a debug build.
    let limits = ledger_server::http::HttpLimits { request_timeout: Duration::from_mins(10), ..Default::default() };
    let opts = ServiceOptions {
        limits,
        seal_tick: Duration::from_hours(1),
        anchor_tick: Duration::from_millis(100),
        grace: Duration::from_secs(5),
        reports,
        ..ServiceOptions::default()
    };
    let local = LocalServer::start(ledger.clone(), opts).await;
    // The sealer's first tick may seal the log at start: either way, one checkpoint seals it all.
    for _ in 0..100 {
        if t.seal_now().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = t.store().latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(c.root.tree_size.0, t.store().size().await.unwrap(), "the whole log is sealed");
    wait_tsa_anchored(&t, c.seq).await;
    let trust = dev::trust_file(&signer(), vec![local.tsa_root_pem.clone()], Vec::new(), true);
    Fixture {
        base: local.base.clone(),
        ledger,
        store,
        pki,
        trust,
        in_period,
        outside,
        retracted: (1, r),
        superseded: (2, sup.seq.0),
        local: Some(local),
        _dir: dir,
    }
}

impl Fixture {
    async fn get(&self, token: &str, query: &str) -> reqwest::Response {
        client().get(format!("{}/v1/tenants/{TENANT}/reports/findings.pdf{query}", self.base)).bearer_auth(token).send().await.unwrap()
    }

    fn ca_pem(&self) -> PathBuf {
        self.pki.path().join("dev").join("report-signing-ca.pem")
    }

    /// The TSA the report signature was time-stamped by (the generator's development TSA).
    fn tsa_root_pem(&self) -> PathBuf {
        self.pki.path().join("dev").join("tsa-root.pem")
    }

    async fn shutdown(mut self) {
        if let Some(l) = self.local.take() {
            l.shutdown().await.unwrap();
        }
    }
}

async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

fn sweep(pdf: &[u8], text: &str, qpdf: &Path) -> Vec<&'static str> {
    let dir = TempDir::new("report-sweep");
    let f = dir.path().join("r.pdf");
    std::fs::write(&f, pdf).unwrap();
    let u = dir.path().join("u.pdf");
    let (ok, out) = run(Command::new(qpdf).args(["--qdf", "--object-streams=disable", "--stream-data=uncompress"]).arg(&f).arg(&u));
    assert!(ok || out.contains("operation succeeded with warnings"), "{out}");
    let raw = [pdf.to_vec(), std::fs::read(&u).unwrap()].concat();
    let raw = String::from_utf8_lossy(&raw).to_lowercase();
    let text = text.to_lowercase();
    let mut found = Vec::new();
    for (_, name) in ROSTER {
        for part in std::iter::once(*name).chain(name.split([' ', '-'])) {
            let p = part.to_lowercase();
            if p.len() >= 4 && (text.contains(&p) || raw.contains(&p)) && found.last() != Some(name) {
                found.push(*name);
            }
        }
    }
    found
}

// ---- tests ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_gets_a_signed_report_that_independent_tools_accept() {
    let fx = fixture(12, true).await;
    let auditor = bearer(&fx.store, Role::Auditor, Some(TENANT), 11).await;
    let r = fx.get(&auditor, "?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let claim_header: u64 = r.headers()["x-ledger-report-claim"].to_str().unwrap().parse().unwrap();
    let pdf = r.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    let sha = hex::encode(sha2::Sha256::digest(&pdf));

    // The report_issued claim: the served PDF's hash, the period, the listed claims in order.
    let t = fx.ledger.tenant(&tid(TENANT)).await.unwrap();
    let parts = t.claim_parts(Seq(claim_header)).await.unwrap();
    let (_, claim) = parts.record.unwrap();
    assert_eq!(claim.kind, ClaimKind::ReportIssued);
    assert_eq!(claim.body["signed_sha256"], sha);
    assert_ne!(claim.body["unsigned_sha256"], sha);
    assert_eq!(claim.body["period"], json!({"from": "2026-11-01", "to": "2026-11-30"}));
    let mut expected = Vec::new();
    for s in &fx.in_period {
        expected.push(t.receipt(Seq(*s)).await.unwrap().content_hash.to_hex());
    }
    assert_eq!(claim.body["claims"], json!(expected), "every finding of the period, in log order, and nothing else");
    let outside_hash = t.receipt(Seq(fx.outside)).await.unwrap().content_hash.to_hex();
    assert!(!claim.body["claims"].as_array().unwrap().contains(&json!(outside_hash)));
    // Clients cannot write that kind themselves.
    let forged = t.append(AppendRequest::new(Claim::new(ClaimKind::ReportIssued, json!({"signed_sha256": sha})).unwrap())).await;
    assert!(forged.is_err(), "report_issued is ledger-generated");

    let dir = TempDir::new("report-tools");
    let f = dir.path().join("findings.pdf");
    std::fs::write(&f, &pdf).unwrap();

    // pyHanko, Python API: signature and signature time-stamp.
    if let Some(py) = pyhanko_python() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/tests/tools/pyhanko_check.py");
        let (ok, out) = run(Command::new(&py).arg(script).arg(&f).arg(fx.ca_pem()).arg(fx.tsa_root_pem()));
        assert!(ok, "{out}");
        let v: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
        assert_eq!(v["signatures"], 1, "{v}");
        assert_eq!(v["sub_filter"], "/ETSI.CAdES.detached", "{v}");
        assert_eq!(v["intact"], true, "{v}");
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["trusted"], true, "{v}");
        assert_eq!(v["coverage"], "SignatureCoverageLevel.ENTIRE_FILE", "{v}");
        assert_eq!(v["modification_level"], "ModificationLevel.NONE", "{v}");
        assert_eq!(v["timestamp"]["intact"], true, "{v}");
        assert_eq!(v["timestamp"]["valid"], true, "{v}");
        assert_eq!(v["timestamp"]["trusted"], true, "{v}");
        assert_eq!(v["unsigned_attributes"], json!(["signature_time_stamp_token"]), "{v}");
        // pyHanko CLI, as the README tells a reader to run it.
        let cli = py.with_file_name("pyhanko");
        let (ok, out) = run(Command::new(&cli)
            .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace", "--trust"])
            .arg(fx.ca_pem())
            .arg("--trust")
            .arg(fx.tsa_root_pem())
            .arg(&f));
        assert!(ok, "{out}");
        assert!(out.contains("The signature is judged VALID"), "{out}");
        assert!(out.contains("The TSA certificate is trusted."), "{out}");
        assert!(out.contains("The signature covers the entire file"), "{out}");
    }
    if let Some(pdfsig) = tool("pdfsig") {
        let (_, out) = run(Command::new(pdfsig).arg(&f));
        assert!(out.contains("Signature Validation: Signature is Valid."), "{out}");
        assert!(out.contains("ETSI.CAdES.detached"), "{out}");
    }
    if let Some(qpdf) = tool("qpdf") {
        let (ok, out) = run(Command::new(&qpdf).arg("--check").arg(&f));
        assert!(ok && out.contains("No syntax or stream encoding errors"), "{out}");
        // Staff names: nowhere in the text, the raw file or its uncompressed copy.
        if let Some(pdftotext) = tool("pdftotext") {
            let (ok, text) = run(Command::new(pdftotext).args(["-enc", "UTF-8"]).arg(&f).arg("-"));
            assert!(ok, "{text}");
            assert_eq!(sweep(&pdf, &text, &qpdf), Vec::<&str>::new(), "staff names in the report");
            for (code, _) in ROSTER {
                assert!(text.contains(code), "personnel code {code} not shown");
            }
            assert!(text.contains(TENANT), "tenant on the cover");
            assert!(text.contains("DEVELOPMENT"), "the development label");
            assert!(text.contains(&format!("RETRACTED by claim {}", fx.retracted.1)), "the retraction is shown as such");
            assert!(text.contains(&format!("SUPERSEDED by claim {}", fx.superseded.1)), "the supersession is shown as such");
            assert!(text.contains("D-10000"), "operational identifiers are shown");
        }
    }

    // The embedded bundles: one per listed claim; each verifies offline.
    if let Some(detach) = tool("pdfdetach") {
        let out_dir = dir.path().join("bundles");
        std::fs::create_dir(&out_dir).unwrap();
        let (ok, out) = run(Command::new(&detach).arg("-saveall").arg("-o").arg(&out_dir).arg(&f));
        assert!(ok, "{out}");
        let verifier = Verifier::new(TrustStore::new(fx.trust.clone()).unwrap());
        for s in &fx.in_period {
            let p = out_dir.join(format!("claim-{s}.bundle.json"));
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let b: Bundle = serde_json::from_slice(&bytes).unwrap();
            let report = verifier.verify(&b);
            assert_eq!(report.verdict, Verdict::Verified, "claim {s}: {report:?}");
        }
        assert!(!out_dir.join(format!("claim-{}.bundle.json", fx.outside)).exists());
        // And with the evidence-verify binary, when it is built beside this test's binary.
        let bin = Path::new(env!("CARGO_BIN_EXE_ledger-server")).with_file_name("evidence-verify");
        if bin.is_file() {
            let trust = dir.path().join("trust.json");
            std::fs::write(&trust, serde_json::to_vec(&fx.trust).unwrap()).unwrap();
            let (ok, out) = run(Command::new(&bin)
                .arg("bundle")
                .arg(out_dir.join(format!("claim-{}.bundle.json", fx.in_period[0])))
                .arg("--trust")
                .arg(&trust));
            assert!(ok, "evidence-verify: {out}");
        } else {
            eprintln!("evidence-verify not built at {}: verified with evidence-core's Verifier only", bin.display());
        }
    }
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_periods_and_unsealed_tenants_get_typed_errors() {
    let fx = fixture(3, true).await;
    let operator = bearer(&fx.store, Role::DealerOperator, Some(TENANT), 21).await;
    let admin = bearer(&fx.store, Role::Admin, None, 22).await;
    let principal = bearer(&fx.store, Role::DealerPrincipal, Some(TENANT), 23).await;
    fx.ledger.create_tenant(&tid("other-rooftop"), &TenantConfig::default()).await.unwrap();
    let other = bearer(&fx.store, Role::Auditor, Some("other-rooftop"), 24).await;
    let size_before = fx.ledger.tenant(&tid(TENANT)).await.unwrap().store().size().await.unwrap();

    // The operator reads but may not export evidence (the PDF carries bundles); admin sees no data.
    assert_eq!(error_code(fx.get(&operator, "?from=2026-11-01&to=2026-11-30").await).await, (403, "forbidden".into()));
    assert_eq!(error_code(fx.get(&admin, "?from=2026-11-01&to=2026-11-30").await).await, (403, "forbidden".into()));
    assert_eq!(error_code(fx.get(&other, "?from=2026-11-01&to=2026-11-30").await).await, (403, "wrong_tenant".into()));
    for q in
        ["?from=2026-11-30&to=2026-11-01", "?from=2026-02-30&to=2026-03-01", "?from=2026-11-01", "", "?from=2026-11-01&to=2026-11-30&x=1"]
    {
        assert_eq!(error_code(fx.get(&principal, q).await).await, (400, "invalid_period".into()), "{q}");
    }
    // Nothing refused was recorded as issued.
    let size_after = fx.ledger.tenant(&tid(TENANT)).await.unwrap().store().size().await.unwrap();
    assert_eq!(size_before, size_after);
    // A tenant with claims but no anchored checkpoint: 409.
    let other_t = fx.ledger.tenant(&tid("other-rooftop")).await.unwrap();
    other_t.append(request(finding_body(0, "2026-11-02"))).await.unwrap();
    let auditor_other = bearer(&fx.store, Role::Auditor, Some("other-rooftop"), 25).await;
    let r = client()
        .get(format!("{}/v1/tenants/other-rooftop/reports/findings.pdf?from=2026-11-01&to=2026-11-30", fx.base))
        .bearer_auth(&auditor_other)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (409, "nothing_anchored".into()));
    // An empty period still makes a valid (signed) report.
    let r = fx.get(&principal, "?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(r.status(), 200);
    fx.shutdown().await;

    // A server without a report-signing identity: 503 reports_not_configured.
    let fx = fixture(3, false).await;
    let auditor = bearer(&fx.store, Role::Auditor, Some(TENANT), 26).await;
    assert_eq!(error_code(fx.get(&auditor, "?from=2026-11-01&to=2026-11-30").await).await, (503, "reports_not_configured".into()));
    fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pdf_before_signing_is_a_function_of_the_ledger_state() {
    // Two reports of the same period from the same state: the unsigned PDFs are the same bytes
    // (the generation time is the cut checkpoint's seal time, not the clock).
    let fx = fixture(5, true).await;
    let auditor = bearer(&fx.store, Role::Auditor, Some(TENANT), 31).await;
    let a = fx.get(&auditor, "?from=2026-11-01&to=2026-11-30").await;
    let a_claim: u64 = a.headers()["x-ledger-report-claim"].to_str().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = fx.get(&auditor, "?from=2026-11-01&to=2026-11-30").await;
    let b_claim: u64 = b.headers()["x-ledger-report-claim"].to_str().unwrap().parse().unwrap();
    let t = fx.ledger.tenant(&tid(TENANT)).await.unwrap();
    let body = |seq| {
        let t = &t;
        async move { t.claim_parts(Seq(seq)).await.unwrap().record.unwrap().1.body }
    };
    let (ba, bb) = (body(a_claim).await, body(b_claim).await);
    assert_eq!(ba["unsigned_sha256"], bb["unsigned_sha256"]);
    assert_ne!(ba["signed_sha256"], bb["signed_sha256"], "each signature has its own time-stamp");
    fx.shutdown().await;
}

/// For BENCHMARKS.md: `REPORT_FINDINGS=1000` (default) or `10000` findings through the HTTP
/// route; prints the size, pages and the server's own split of the time (`Server-Timing`).
/// Ignored by default (it is a measurement, and the 10 000 case takes a while in a debug
/// build); run with `cargo nextest run -p ledger-server --test report --run-ignored only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --run-ignored only"]
async fn large_report_through_the_http_route() {
    let n: usize = std::env::var("REPORT_FINDINGS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let fx = fixture(n, true).await;
    let auditor = bearer(&fx.store, Role::Auditor, Some(TENANT), 41).await;
    let client = client();
    let started = std::time::Instant::now();
    let r = client
        .get(format!("{}/v1/tenants/{TENANT}/reports/findings.pdf?from=2026-11-01&to=2026-11-30", fx.base))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let timing = r.headers()["server-timing"].to_str().unwrap().to_owned();
    let pdf = r.bytes().await.unwrap();
    let total = started.elapsed();
    let pages = tool("pdfinfo").map(|p| {
        let dir = TempDir::new("report-large");
        let f = dir.path().join("r.pdf");
        std::fs::write(&f, &pdf).unwrap();
        let (ok, out) = run(Command::new(p).arg(&f));
        assert!(ok, "{out}");
        out.lines().find(|l| l.starts_with("Pages:")).unwrap_or("Pages: ?").to_owned()
    });
    eprintln!(
        "REPORT {n} findings (+1 replacement): {} bytes, {}, request {:.0} ms, server {timing}",
        pdf.len(),
        pages.unwrap_or_default(),
        total.as_secs_f64() * 1000.0
    );
    if let Some(qpdf) = tool("qpdf") {
        let dir = TempDir::new("report-large-check");
        let f = dir.path().join("r.pdf");
        std::fs::write(&f, &pdf).unwrap();
        let (ok, out) = run(Command::new(qpdf).arg("--check").arg(&f));
        assert!(ok, "{out}");
    }
    fx.shutdown().await;
}
