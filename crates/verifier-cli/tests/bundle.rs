//! Drives the real `evidence-verify bundle`, `batch` and `checkpoints` on bundles made with
//! evidence-core's in-memory sink.

use std::path::Path;
use std::process::Command;

use evidence_core::bundle::{Base64, Bundle, RecordStatus};
use evidence_core::checkpoint::ChainLink;
use evidence_core::sink::DeterministicEnv;
use evidence_core::trust::{LedgerKey, TRUST_FORMAT, TrustFile};
use evidence_core::{AppendRequest, Claim, ClaimKind, ClaimSink, MemorySink, NoteSigner, TenantId, UnixMillis};

const LEDGER: &str = "ledger.test";

fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("not ready"),
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    bundle: Bundle,
}

fn fixture() -> Fixture {
    let signer = NoteSigner::from_seed(LEDGER, &[21; 32]).unwrap();
    let sink = MemorySink::new(TenantId::new("rooftop-9").unwrap(), DeterministicEnv::new(UnixMillis(1_795_000_000_000)));
    for i in 0..6 {
        let c =
            Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"rule": "fi.reserve", "deal": format!("D-{i}"), "producer": "EMP-7"}))
                .unwrap();
        ready(sink.append(AppendRequest::new(c))).unwrap();
    }
    sink.seal(LEDGER, &signer).unwrap();
    let c = Claim::new(ClaimKind::GateDecision, serde_json::json!({"gate": "g", "decision": "pass"})).unwrap();
    ready(sink.append(AppendRequest::new(c))).unwrap();
    sink.seal(LEDGER, &signer).unwrap();
    let bundle = sink.bundle(LEDGER, &[2], 0).unwrap();
    let trust = TrustFile {
        format: TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey { name: LEDGER.into(), ed25519_public_key: Base64(signer.verifier().key().as_bytes().to_vec()) }],
        tsa_roots_pem: vec![],
        fabric_msps: vec![],
        require: None,
        development: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, v: &dyn erased::Ser| std::fs::write(dir.path().join(name), v.to_json()).unwrap();
    w("bundle.json", &bundle);
    w("trust.json", &trust);
    // A withheld copy and its record.
    let mut withheld = bundle.clone();
    let record = withheld.claims[0].record.take().unwrap();
    withheld.claims[0].record_status = RecordStatus::Withheld;
    w("withheld.json", &withheld);
    w("record.json", &record);
    // Checkpoints file from the sink's two checkpoints (taken from a bundle at checkpoint 0).
    let links = vec![
        ChainLink { checkpoint: bundle.checkpoint.clone(), consistency: None },
        ChainLink {
            checkpoint: bundle.later_checkpoints[0].checkpoint.clone(),
            consistency: Some(bundle.later_checkpoints[0].proof.clone()),
        },
    ];
    std::fs::write(
        dir.path().join("checkpoints.json"),
        serde_json::to_vec(&serde_json::json!({"ledger": LEDGER, "tenant": "rooftop-9", "links": links})).unwrap(),
    )
    .unwrap();
    Fixture { dir, bundle }
}

mod erased {
    pub trait Ser {
        fn to_json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec_pretty(self).unwrap()
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evidence-verify")).current_dir(dir).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn verified_bundle_reports_what_it_proves() {
    let f = fixture();
    let (code, out) = run(f.dir.path(), &["bundle", "bundle.json", "--trust", "trust.json", "--allow-unanchored", "--report", "r.html"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Result: VERIFIED"));
    assert!(out.contains("What they do not establish"));
    assert!(out.contains("--allow-unanchored was given"));
    let html = std::fs::read_to_string(f.dir.path().join("r.html")).unwrap();
    assert!(html.contains("VERIFIED") && !html.contains("src=") && !html.contains("href="), "HTML must be self-contained");
    let (code, out) = run(f.dir.path(), &["bundle", "bundle.json", "--trust", "trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["format"], "evidence-verify-report/v1");
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["claims"][0]["seq"], 2);
    assert_eq!(v["claims"][0]["kind"], "leakage_finding");
    assert!(v["checks"].as_array().unwrap().iter().all(|c| c["outcome"] != "fail"));
}

#[test]
fn anchors_are_required_unless_waived() {
    let f = fixture();
    let (code, out) = run(f.dir.path(), &["bundle", "bundle.json", "--trust", "trust.json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("anchors.timestamps") && out.contains("NOT VERIFIED"));
}

#[test]
fn withheld_record_supplied_separately() {
    let f = fixture();
    let (code, out) = run(f.dir.path(), &["bundle", "withheld.json", "--trust", "trust.json", "--allow-unanchored"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not disclosed"), "{out}");
    let (code, out) =
        run(f.dir.path(), &["bundle", "withheld.json", "--trust", "trust.json", "--allow-unanchored", "--record", "record.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("of the disclosed record"), "{out}");
    // A record that belongs to no claim.
    std::fs::write(f.dir.path().join("other.json"), br#"{"kind":"gate_decision","body":{"x":1}}"#).unwrap();
    let (code, _) =
        run(f.dir.path(), &["bundle", "withheld.json", "--trust", "trust.json", "--allow-unanchored", "--record", "other.json"]);
    assert_eq!(code, 1);
}

#[test]
fn tampered_and_malformed_bundles_exit_1_unreadable_exit_2() {
    let f = fixture();
    let mut t = f.bundle.clone();
    t.claims[0].record = Some(Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"rule": "other"})).unwrap());
    std::fs::write(f.dir.path().join("tampered.json"), serde_json::to_vec(&t).unwrap()).unwrap();
    std::fs::write(f.dir.path().join("garbage.json"), b"{\"format\":").unwrap();
    std::fs::write(f.dir.path().join("huge-nesting.json"), "[".repeat(100_000)).unwrap();
    let (code, out) = run(f.dir.path(), &["bundle", "tampered.json", "--trust", "trust.json", "--allow-unanchored"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED"), "{out}");
    // A file that claims to be a bundle but is damaged is not verified.
    std::fs::write(f.dir.path().join("damaged.json"), br#"{"format":"evidence-bundle/v1","claims":7}"#).unwrap();
    let (code, out) = run(f.dir.path(), &["bundle", "damaged.json", "--trust", "trust.json", "--allow-unanchored"]);
    assert_eq!(code, 1, "{out}");
    // Files that are not bundles at all (truncated JSON, hostile nesting) could not be checked.
    for name in ["garbage.json", "huge-nesting.json"] {
        let (code, out) = run(f.dir.path(), &["bundle", name, "--trust", "trust.json", "--allow-unanchored"]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains("could not check") && out.contains("not JSON"), "{name}: {out}");
    }
    for args in [
        vec!["bundle", "missing.json", "--trust", "trust.json"],
        vec!["bundle", "bundle.json", "--trust", "missing.json"],
        vec!["bundle", "bundle.json", "--trust", "bundle.json"],
        vec!["bundle", "bundle.json"],
        vec!["no-such-subcommand"],
    ] {
        let (code, out) = run(f.dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {out}");
    }
}

#[test]
fn batch_summarises_a_directory() {
    let f = fixture();
    let d = f.dir.path().join("batch");
    std::fs::create_dir(&d).unwrap();
    for i in 0..20 {
        std::fs::copy(f.dir.path().join("bundle.json"), d.join(format!("b{i:02}.json"))).unwrap();
    }
    let (code, out) = run(f.dir.path(), &["batch", "batch", "--trust", "trust.json", "--allow-unanchored", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("20 bundles: 20 verified, 0 not verified"), "{out}");
    std::fs::write(d.join("zz-bad.json"), b"nope").unwrap();
    let (code, out) = run(f.dir.path(), &["batch", "batch", "--trust", "trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["verified"].as_u64(), v["could_not_check"].as_u64()), (Some(20), Some(1)));
    std::fs::write(d.join("zz-bad.json"), br#"{"format":"evidence-bundle/v1"}"#).unwrap();
    let (code, out) = run(f.dir.path(), &["batch", "batch", "--trust", "trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["verified"].as_u64(), v["not_verified"].as_u64()), (Some(20), Some(1)));
}

#[test]
fn checkpoints_chain() {
    let f = fixture();
    let (code, out) = run(f.dir.path(), &["checkpoints", "checkpoints.json", "--trust", "trust.json"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VERIFIED  2 checkpoints"), "{out}");
    let text = std::fs::read_to_string(f.dir.path().join("checkpoints.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["links"][1]["consistency"] = serde_json::Value::Null;
    std::fs::write(f.dir.path().join("broken.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, out) = run(f.dir.path(), &["checkpoints", "broken.json", "--trust", "trust.json"]);
    assert_eq!(code, 1, "{out}");
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(evidence_core::sha256(&[&std::fs::read(path).unwrap()]))
}

fn report_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let (code, out) = run(dir, args);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")))
}

#[test]
fn report_ties_itself_to_its_inputs() {
    let f = fixture();
    let d = f.dir.path();
    let (code, v) =
        report_json(d, &["bundle", "withheld.json", "--trust", "trust.json", "--record", "record.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["inputs"]["bundle"]["sha256"], sha256_hex(&d.join("withheld.json")));
    assert_eq!(v["inputs"]["trust"]["sha256"], sha256_hex(&d.join("trust.json")));
    assert_eq!(v["inputs"]["record"]["sha256"], sha256_hex(&d.join("record.json")));
    assert_eq!(v["verifier"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(matches!(v["verifier"]["build_source"].as_str(), Some("git" | "crate_version")), "{v}");
    let at = v["verified_at"].as_str().unwrap();
    assert!(evidence_core::UnixMillis::parse_rfc3339(at).is_some(), "{at}");
    assert!(v["verified_at_source"].as_str().unwrap().contains("read once"));
    // The claim's content, and where it came from.
    assert_eq!(v["claims"][0]["content"]["kind"], "leakage_finding");
    assert_eq!(v["claims"][0]["content"]["body"]["deal"], "D-2");
    assert_eq!(v["claims"][0]["record_source"], "--record");
    // Weakened (--allow-unanchored): verified, but not evidence.
    assert_eq!((v["verdict"].as_str(), v["evidence"].as_bool()), (Some("verified"), Some(false)));
    assert_eq!(v["trust"], "production");
    let terms: Vec<&str> = v["glossary"].as_array().unwrap().iter().map(|t| t["term"].as_str().unwrap()).collect();
    for t in ["leaf", "root", "checkpoint", "commitment", "genTime", "MSP", "orderer", "validation flag"] {
        assert!(terms.contains(&t), "{t} missing from {terms:?}");
    }
    // Without the record: withheld, no content; no record input.
    let (_, v) = report_json(d, &["bundle", "withheld.json", "--trust", "trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(v["claims"][0]["record"], "withheld");
    assert!(v["claims"][0]["content"].is_null() && v["inputs"]["record"].is_null(), "{v}");
    let (_, text) = run(d, &["bundle", "withheld.json", "--trust", "trust.json", "--allow-unanchored"]);
    assert!(text.contains("record withheld") && text.contains(&sha256_hex(&d.join("withheld.json"))), "{text}");
    assert!(text.contains("Terms used:") && text.contains("1 claim\n"), "{text}");
}

#[test]
fn development_trust_is_in_the_verdict_itself() {
    let f = fixture();
    let d = f.dir.path();
    let mut trust: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("trust.json")).unwrap()).unwrap();
    trust["development"] = serde_json::Value::Bool(true);
    std::fs::write(d.join("dev-trust.json"), serde_json::to_vec(&trust).unwrap()).unwrap();
    let (code, v) = report_json(d, &["bundle", "bundle.json", "--trust", "dev-trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["verdict_text"], "verified against development trust material: not evidence");
    assert_eq!((v["evidence"].as_bool(), v["trust"].as_str()), (Some(false), Some("development")));
    let (_, text) = run(d, &["bundle", "bundle.json", "--trust", "dev-trust.json", "--allow-unanchored", "--report", "dev.html"]);
    assert!(text.contains("Result: verified against development trust material: not evidence"), "{text}");
    assert!(!text.contains("Result: VERIFIED"), "{text}");
    let html = std::fs::read_to_string(d.join("dev.html")).unwrap();
    assert!(html.contains("id=\"development-banner\"") && html.contains("class=\"verdict dev\""), "{html}");
    assert!(html.contains("Result: verified against development trust material: not evidence"));
    // Production trust, nothing weakened: the plain verdict (evidence needs anchors; the
    // fixture has none, so this stays not evidence because of --allow-unanchored).
    let (_, text) = run(d, &["bundle", "bundle.json", "--trust", "trust.json", "--allow-unanchored"]);
    assert!(!text.contains("development trust material"), "{text}");
}

#[test]
fn failing_report_states_what_was_established_first() {
    let f = fixture();
    let d = f.dir.path();
    let mut t = f.bundle.clone();
    t.claims[0].record = Some(Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"rule": "other"})).unwrap());
    std::fs::write(d.join("tampered.json"), serde_json::to_vec(&t).unwrap()).unwrap();
    let (code, v) = report_json(d, &["bundle", "tampered.json", "--trust", "trust.json", "--allow-unanchored", "--json"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_failure"]["id"], "claim.record");
    let proves: Vec<&str> = v["proves"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(proves.iter().any(|p| p.contains("signed checkpoint 0")), "{proves:?}");
    assert!(proves.iter().any(|p| p.contains("is leaf 2") && p.contains("not established")), "{proves:?}");
    assert!(!proves.iter().any(|p| p.contains("bound to the disclosed record")), "{proves:?}");
    let (_, text) = run(d, &["bundle", "tampered.json", "--trust", "trust.json", "--allow-unanchored", "--report", "bad.html"]);
    assert!(text.contains("What the checks established before the first failing check (claim.record):\n  - "), "{text}");
    let html = std::fs::read_to_string(d.join("bad.html")).unwrap();
    assert!(html.contains("class=\"verdict fail\"") && html.contains("First failing check"), "{html}");
}

#[test]
fn a_server_error_body_is_could_not_check_with_a_hint() {
    let f = fixture();
    let d = f.dir.path();
    std::fs::write(d.join("err.json"), br#"{"error":{"code":"not_found","message":"no claim 99 in tenant rooftop-9"}}"#).unwrap();
    let (code, out) = run(d, &["bundle", "err.json", "--trust", "trust.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("this file is an error response from the server: not_found: no claim 99"), "{out}");
    let (code, v) = report_json(d, &["bundle", "err.json", "--trust", "trust.json", "--json"]);
    assert_eq!((code, v["verdict"].as_str()), (2, Some("could_not_check")), "{v}");
    let (code, out) = run(d, &["checkpoints", "err.json", "--trust", "trust.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error response from the server"), "{out}");
    let (code, out) = run(d, &["checkpoints", "bundle.json", "--trust", "trust.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("evidence-bundle/v1") && out.contains("not a checkpoints file"), "{out}");
}

#[test]
fn checkpoints_with_a_key_instead_of_a_trust_file() {
    let f = fixture();
    let d = f.dir.path();
    let signer = NoteSigner::from_seed(LEDGER, &[21; 32]).unwrap();
    let key = evidence_core::checkpoint::tenant_verifier(LEDGER, &TenantId::new("rooftop-9").unwrap(), *signer.verifier().key())
        .unwrap()
        .to_vkey();
    let (code, out) = run(d, &["checkpoints", "checkpoints.json", "--key", &key]);
    assert_eq!(code, 0, "{out}");
    let stranger = NoteSigner::from_seed("ledger.test/tenant/rooftop-9", &[7; 32]).unwrap().verifier().to_vkey();
    let (code, out) = run(d, &["checkpoints", "checkpoints.json", "--key", &stranger]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = run(d, &["checkpoints", "checkpoints.json"]);
    assert_eq!(code, 2, "{out}");
}

/// Chromium, when present: `$CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome`.
/// Missing: the test is skipped with a printed reason, unless `BROWSER_TESTS=require`.
fn chromium() -> Option<std::path::PathBuf> {
    let candidates: Vec<std::path::PathBuf> = std::env::var_os("CHROMIUM")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(std::path::PathBuf::from))
        .collect();
    let found = candidates.into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(std::env::var("BROWSER_TESTS").as_deref() != Ok("require"), "Chromium is required (BROWSER_TESTS=require) but not found");
        eprintln!("SKIPPED: no chromium, chromium-browser or google-chrome on PATH (set CHROMIUM)");
    }
    found
}

fn headless(chromium: &Path, args: &[&str], page: &Path) -> std::process::Output {
    Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1800"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// Measures, after layout at 1 200 px, whether anything overflows: each cell of the checks
/// table (its content wider than the cell), each check identifier (past its cell's right
/// edge), the table (wider than the page body) and the page (a horizontal scroll). Written
/// into the DOM for `--dump-dom` to read back. The report itself has no script and no CSP
/// meta; this script is added to a test copy only.
const MEASURE: &str = r"<script>
(function () {
  var bad = [];
  var table = document.getElementById('checks');
  table.querySelectorAll('td, th').forEach(function (c, i) {
    if (c.scrollWidth > c.clientWidth) bad.push('cell ' + i + ' (' + c.className + '): ' + c.scrollWidth + ' > ' + c.clientWidth);
  });
  table.querySelectorAll('td.check code').forEach(function (code, i) {
    var cell = code.parentElement.getBoundingClientRect(), r = code.getBoundingClientRect();
    if (r.right > cell.right + 0.5) bad.push('check id ' + i + ' ends at ' + r.right + ', its cell at ' + cell.right);
  });
  var body = document.body.getBoundingClientRect();
  if (table.getBoundingClientRect().right > body.right + 0.5) bad.push('table wider than the page body');
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth) bad.push('page scrolls horizontally');
  var banner = document.getElementById('development-banner');
  var out = document.createElement('pre');
  out.id = 'render-result';
  out.textContent = JSON.stringify({
    overflow: bad,
    rows: table.querySelectorAll('tr').length,
    width: document.documentElement.clientWidth,
    banner: banner ? banner.getBoundingClientRect().height > 0 && getComputedStyle(banner).display !== 'none' : null
  });
  document.body.appendChild(out);
})();
</script>";

/// The HTML report rendered by real Chromium at 1 200 px: no overflow in the checks table, and
/// the development banner shown when (and only when) the trust file is development material.
/// `EVIDENCE_REPORT_SCREENSHOTS=DIR` also writes the two screenshots the README shows
/// (`docs/img/report-verified-dev.png`, `docs/img/report-failed.png`).
#[test]
fn html_report_renders_in_chromium_without_overflow() {
    let Some(chromium) = chromium() else { return };
    let f = fixture();
    let d = f.dir.path();
    let mut trust: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("trust.json")).unwrap()).unwrap();
    trust["development"] = serde_json::Value::Bool(true);
    std::fs::write(d.join("dev-trust.json"), serde_json::to_vec(&trust).unwrap()).unwrap();
    let (code, out) = run(d, &["bundle", "bundle.json", "--trust", "dev-trust.json", "--allow-unanchored", "--report", "verified.html"]);
    assert_eq!(code, 0, "{out}");
    let mut t = f.bundle.clone();
    t.claims[0].record = Some(Claim::new(ClaimKind::LeakageFinding, serde_json::json!({"rule": "other"})).unwrap());
    std::fs::write(d.join("tampered.json"), serde_json::to_vec(&t).unwrap()).unwrap();
    let (code, out) = run(d, &["bundle", "tampered.json", "--trust", "trust.json", "--allow-unanchored", "--report", "failed.html"]);
    assert_eq!(code, 1, "{out}");

    for (name, dev) in [("verified", true), ("failed", false)] {
        let html = std::fs::read_to_string(d.join(format!("{name}.html"))).unwrap();
        assert!(!html.contains("<script"), "the report itself carries no script");
        let probe = d.join(format!("{name}-probe.html"));
        std::fs::write(&probe, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
        let o = headless(&chromium, &["--dump-dom"], &probe);
        let dom = String::from_utf8_lossy(&o.stdout);
        let start = dom
            .find("<pre id=\"render-result\">")
            .unwrap_or_else(|| panic!("no result in the DOM: {}", String::from_utf8_lossy(&o.stderr)));
        let json = &dom[start + "<pre id=\"render-result\">".len()..];
        let json = &json[..json.find("</pre>").unwrap()];
        let r: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"").replace("&gt;", ">").replace("&amp;", "&")).unwrap();
        assert_eq!(r["width"], 1200, "{r}");
        assert!(r["rows"].as_u64().unwrap() > 5, "{r}");
        assert_eq!(r["overflow"], serde_json::json!([]), "{name}: {r}");
        assert_eq!(r["banner"], if dev { serde_json::json!(true) } else { serde_json::Value::Null }, "{name}: {r}");
        // A screenshot of the report as a reader sees it (the unmodified page).
        let dir = std::env::var_os("EVIDENCE_REPORT_SCREENSHOTS").map_or_else(|| d.to_path_buf(), std::path::PathBuf::from);
        let file = if dev { "report-verified-dev.png" } else { "report-failed.png" };
        let png = dir.join(file);
        let o = headless(&chromium, &[&format!("--screenshot={}", png.display())], &d.join(format!("{name}.html")));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"), "{}", png.display());
    }
}
