//! The reports crate end to end: render, sign with a real RFC 3161 time-stamp (evidence-core's
//! development TSA), and check the result with tools we did not write: pyHanko (PAdES
//! validation, signature time-stamp), pdfsig and pdftotext/pdfdetach/pdfinfo/pdffonts/pdfimages
//! (poppler) and qpdf.
//!
//! Without the tools these tests print SKIPPED and pass, unless `REPORTS_REQUIRE_TOOLS=1`
//! (set by `.ci/run`), which makes a missing tool a failure. pyHanko is looked up as
//! `$REPORTS_PYHANKO_PYTHON`, else `target/pyhanko-venv/bin/python` (the venv `.ci/run` makes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::Digest as _;

use evidence_core::internal::dev_tsa::DevTsa;
use evidence_core::rfc3161;
use evidence_core::types::UnixMillis;
use reports::{
    Amount, AnchorDelay, AnchorState, Attachment, CutCheckpoint, Date, DatedFact, FabricTx, Finding, OperationalId, Period, PersonnelCode,
    Rail, ReportInput, SignError, SigningIdentity, Status, TsaStamp,
};

const GEN_TIME: UnixMillis = UnixMillis(1_795_000_000_000); // 2026-11-18T11:06:40Z
const NONCE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Staff names that must never appear (the analyzers' roster for the sample codes).
const ROSTER: &[(&str, &str)] =
    &[("FI-07", "Jane Doe"), ("SA-12", "Marc-André Tremblay"), ("SV-03", "Priya Raman"), ("FI-02", "Olamide Okafor")];

struct Pki {
    signing_key_pem: String,
    signing_certs_pem: String,
    ca_pem: String,
    tsa_root_pem: String,
    tsa: DevTsa,
    tsa_roots: Vec<rfc3161::Certificate>,
    other_tsa: DevTsa,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
        };
        let validity = |p: &mut CertificateParams| {
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2099, 1, 1);
        };
        let ca = |cn: &str| {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            validity(&mut p);
            let cert = p.self_signed(&key).unwrap();
            (cert, Issuer::new(p, key))
        };
        // Report-signing CA and signer.
        let (ca_cert, ca_issuer) = ca("reports test signing CA");
        let signer_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut sp = CertificateParams::new(Vec::<String>::new()).unwrap();
        sp.distinguished_name.push(DnType::CommonName, "reports test signer");
        sp.distinguished_name.push(DnType::OrganizationName, "evidence-ledger tests");
        sp.is_ca = IsCa::ExplicitNoCa;
        sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        sp.use_authority_key_identifier_extension = true;
        validity(&mut sp);
        let signer_cert = sp.signed_by(&signer_key, &ca_issuer).unwrap();
        // TSAs: like `ledger-server dev` (critical EKU timeStamping only).
        let make_tsa = |name: &str| {
            let (root, issuer) = ca(&format!("{name} root"));
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let mut eku = CustomExtension::from_oid_content(
                &[2, 5, 29, 37],
                vec![0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08],
            );
            eku.set_criticality(true);
            p.custom_extensions.push(eku);
            p.use_authority_key_identifier_extension = true;
            validity(&mut p);
            let cert = p.signed_by(&key, &issuer).unwrap();
            let dev = DevTsa::new(&key.serialize_der(), cert.der(), vec![cert.der().to_vec()]).unwrap();
            (root.pem(), dev)
        };
        let (tsa_root_pem, tsa) = make_tsa("reports test TSA");
        let (_, other_tsa) = make_tsa("untrusted TSA");
        let tsa_roots = rfc3161::certificates_from_pem_or_der(tsa_root_pem.as_bytes()).unwrap();
        Pki {
            signing_key_pem: signer_key.serialize_pem(),
            signing_certs_pem: format!("{}{}", signer_cert.pem(), ca_cert.pem()),
            ca_pem: ca_cert.pem(),
            tsa_root_pem,
            tsa,
            tsa_roots,
            other_tsa,
        }
    })
}

fn identity() -> SigningIdentity {
    SigningIdentity::from_pem(&pki().signing_key_pem, &pki().signing_certs_pem).unwrap()
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn hex32(i: u64, salt: u8) -> String {
    hex::encode(evidence_core::types::sha256(&[&i.to_be_bytes(), &[salt]]))
}

/// A report with `n` findings over March 2026 (some retracted or superseded), a bundle per
/// listed claim for the first `attach` claims.
fn sample(n: usize, attach: usize) -> ReportInput {
    let analyzers = [
        ("cit", "cit.aged_contract"),
        ("fi", "fi.reserve_outlier"),
        ("structure", "structure.split_deal"),
        ("service", "service.warranty_labour_mix"),
    ];
    let codes = ["FI-07", "SA-12", "SV-03", "FI-02"];
    let findings: Vec<Finding> = (0..n as u64)
        .map(|i| {
            let (analyzer, rule) = analyzers[(i % 4) as usize];
            let day = 1 + (i % 31) as u8;
            let status = match i % 17 {
                5 => Status::Retracted {
                    by: 10_000 + i,
                    reason: "the deal was re-contracted; the aged-contract rule does not apply to re-contracted deals".into(),
                },
                11 => Status::Superseded { by: 20_000 + i },
                _ => Status::Active,
            };
            Finding {
                kind: "leakage_finding".into(),
                analyzer: analyzer.into(),
                rule: rule.into(),
                personnel: vec![PersonnelCode::new(codes[(i % 4) as usize]).unwrap()],
                at_stake_cents: Some(1_000 + (i.cast_signed() * 7_919) % 500_000),
                amounts: vec![Amount { label: "reserve".into(), cents: 25_000 + i.cast_signed() }],
                date: Date::new(2026, 3, day).unwrap(),
                dates: vec![DatedFact { label: "contract".into(), date: Date::new(2026, 2, 1 + (i % 28) as u8).unwrap() }],
                identifiers: vec![
                    OperationalId::Deal(format!("D-{}", 24_000 + i)),
                    OperationalId::Stock(format!("S{}", 9_000 + i)),
                    OperationalId::Vin(format!("1HGCM82633A{i:06}")),
                ],
                content_hash_hex: hex32(i, 1),
                leaf_index: i * 3 + 1,
                checkpoint_seq: 40 + i / 50,
                tsa_gen_time: Some(UnixMillis(GEN_TIME.0 - 3_600_000)),
                anchoring: vec![
                    (Rail::Tsa, AnchorState::Anchored),
                    (Rail::Fabric, if i % 23 == 0 { AnchorState::Pending } else { AnchorState::Anchored }),
                ],
                fabric: (i % 23 != 0).then(|| FabricTx { block: 1_000 + i / 50, tx_id: Some(hex32(i, 4)) }),
                status,
            }
        })
        .collect();
    let attachments = (0..attach.min(n))
        .map(|i| Attachment {
            file_name: format!("claim-{}.bundle.json", i * 3 + 1),
            bytes: format!(
                "{{\"format\":\"evidence-bundle/v1\",\"claim\":{},\"staff\":\"{}\",\"pad\":\"{}\"}}\n",
                i * 3 + 1,
                codes[i % 4],
                "x".repeat(i * 7)
            )
            .into_bytes(),
            description: format!("Evidence bundle of claim {} (evidence-bundle/v1)", i * 3 + 1),
            mime_type: "application/json".into(),
        })
        .collect();
    let anchor_delays = (30..60)
        .flat_map(|seq| {
            [
                AnchorDelay { checkpoint_seq: seq, rail: Rail::Tsa, delay_ms: 400 + (seq * 37) % 900 },
                AnchorDelay { checkpoint_seq: seq, rail: Rail::Fabric, delay_ms: 1_800 + (seq * 53) % 2_500 },
            ]
        })
        .collect();
    ReportInput {
        tenant: "demo".into(),
        ledger: "ledger.example/evidence".into(),
        period: Period { from: d("2026-03-01"), to: d("2026-03-31") },
        generated_at: GEN_TIME,
        development: true,
        currency: "CAD".into(),
        checkpoint: CutCheckpoint {
            seq: 61,
            tree_size: n as u64 * 3 + 10,
            root_hex: hex32(999, 2),
            checkpoint_hash_hex: hex32(999, 3),
            sealed_at: GEN_TIME,
            tsa: Some(TsaStamp { name: "development TSA (not evidence)".into(), gen_time: UnixMillis(GEN_TIME.0 + 812) }),
            fabric: Some(FabricTx { block: 1_234, tx_id: Some(hex32(999, 5)) }),
        },
        anchor_delays,
        findings,
        attachments,
        trust_file_source: "The ledger operator publishes trust.json; ledger-server dev writes it to data/trust.json.".into(),
    }
}

fn sign(pdf: &[u8]) -> reports::SignedReport {
    let id = identity();
    let mut p = reports::prepare(pdf, &id).unwrap();
    let tsq = p.timestamp_request(NONCE).unwrap();
    let tsr = pki().tsa.respond(&tsq, GEN_TIME, 7).unwrap();
    p.finish(&tsr, &pki().tsa_roots).unwrap()
}

fn signed_sample() -> &'static (ReportInput, Vec<u8>, reports::SignedReport) {
    static S: OnceLock<(ReportInput, Vec<u8>, reports::SignedReport)> = OnceLock::new();
    S.get_or_init(|| {
        let input = sample(120, 6);
        let unsigned = reports::render(&input).unwrap().pdf;
        let signed = sign(&unsigned);
        // REPORTS_DUMP=DIR writes the sample (signed) and its trust roots, to look at by hand.
        if let Some(dir) = std::env::var_os("REPORTS_DUMP") {
            let dir = PathBuf::from(dir);
            std::fs::write(dir.join("sample.pdf"), &signed.pdf).unwrap();
            std::fs::write(dir.join("signing-ca.pem"), &pki().ca_pem).unwrap();
            std::fs::write(dir.join("tsa-root.pem"), &pki().tsa_root_pem).unwrap();
        }
        (input, unsigned, signed)
    })
}

// ---- tools ------------------------------------------------------------------------------

fn require_tools() -> bool {
    std::env::var("REPORTS_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// The tool's path, or None (after printing SKIPPED) when it is missing and not required.
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

fn write_tmp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn pyhanko(pdf: &[u8]) -> Option<serde_json::Value> {
    let py = pyhanko_python()?;
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", pdf);
    let ca = write_tmp(dir.path(), "ca.pem", pki().ca_pem.as_bytes());
    let tsa = write_tmp(dir.path(), "tsa.pem", pki().tsa_root_pem.as_bytes());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pyhanko_check.py");
    let (ok, out) = run(Command::new(py).arg(script).arg(&f).arg(&ca).arg(&tsa));
    assert!(ok, "pyhanko_check.py failed to run: {out}");
    Some(serde_json::from_str(out.trim().lines().last().unwrap()).unwrap_or_else(|e| panic!("{e}: {out}")))
}

fn pdfsig(pdf: &[u8]) -> Option<String> {
    let bin = tool("pdfsig")?;
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", pdf);
    Some(run(Command::new(bin).arg(&f)).1)
}

fn pdftotext(pdf: &[u8]) -> Option<String> {
    let bin = tool("pdftotext")?;
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", pdf);
    let (ok, out) = run(Command::new(bin).arg("-enc").arg("UTF-8").arg(&f).arg("-"));
    assert!(ok, "{out}");
    Some(out)
}

/// Flips one byte at `at`.
fn flip(pdf: &[u8], at: usize) -> Vec<u8> {
    let mut v = pdf.to_vec();
    v[at] = if v[at] == b'a' { b'b' } else { b'a' };
    v
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---- rendering --------------------------------------------------------------------------

#[test]
fn same_input_gives_byte_identical_pdf() {
    let input = sample(60, 3);
    let a = reports::render(&input).unwrap();
    let b = reports::render(&input.clone()).unwrap();
    assert_eq!(a.pdf, b.pdf, "rendering is not deterministic");
    assert_eq!(a.sha256, b.sha256);
    // And the output depends on the data: a different generation time changes it.
    let mut other = input;
    other.generated_at = UnixMillis(GEN_TIME.0 + 1000);
    assert_ne!(reports::render(&other).unwrap().pdf, a.pdf);
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut input = sample(3, 0);
    input.findings[1].content_hash_hex = "zz".into();
    assert!(matches!(reports::render(&input), Err(reports::RenderError::Input(reports::InputError::Hex { .. }))));
    let mut input = sample(3, 0);
    input.period = Period { from: d("2026-04-01"), to: d("2026-03-01") };
    assert!(matches!(reports::render(&input), Err(reports::RenderError::Input(reports::InputError::Period { .. }))));
    let mut input = sample(3, 2);
    let first = input.attachments[0].file_name.clone();
    input.attachments[1].file_name = first;
    assert!(matches!(reports::render(&input), Err(reports::RenderError::Input(reports::InputError::DuplicateAttachment { .. }))));
    let mut input = sample(3, 1);
    input.attachments[0].mime_type = "json".into();
    assert!(matches!(reports::render(&input), Err(reports::RenderError::MimeType { .. })));
}

#[test]
fn text_is_searchable_and_every_page_is_labelled() {
    let (input, _, signed) = signed_sample();
    let Some(text) = pdftotext(&signed.pdf) else { return };
    for needle in [
        "Findings report",
        "How to verify this report",
        "Retractions and supersessions",
        "evidence-verify bundle",
        "What a pass proves",
        "What it does not prove",
        "RETRACTED by claim",
        "SUPERSEDED by claim",
        "Findings per analyzer",
        "Anchoring delay per rail",
    ] {
        assert!(text.contains(needle), "{needle:?} not in the text");
    }
    // The cut checkpoint's root and TSA genTime on the cover (hex in groups of 16).
    let root = &input.checkpoint.root_hex;
    assert!(text.contains(&root[..16]) && text.contains(&root[48..]), "root not on the cover");
    assert!(text.contains(&input.checkpoint.tsa.as_ref().unwrap().gen_time.to_rfc3339()));
    // The Fabric block and transaction id of the cut on the cover.
    let fabric = input.checkpoint.fabric.as_ref().unwrap();
    let tx = fabric.tx_id.as_ref().unwrap();
    // (pdftotext lists the cover's labels, then its values: the TSA's name, then the block.)
    assert!(text.contains("Fabric block\nFabric transaction\n"), "cover labels");
    assert!(text.contains(&format!("development TSA (not evidence)\n{}\n", fabric.block)), "cover block");
    assert!(text.contains(&tx[..16]) && text.contains(&tx[48..]), "cover tx id");
    // Per row: the block (and the start of the tx id) where Fabric is anchored, pending elsewhere.
    for f in [&input.findings[1], &input.findings[input.findings.len() - 1]] {
        let x = f.fabric.as_ref().unwrap();
        assert!(text.contains(&format!("Fabric: block {}", x.block)), "row {} block", f.leaf_index);
        assert!(text.contains(&format!("tx {}...", &x.tx_id.as_ref().unwrap()[..12])), "row {} tx", f.leaf_index);
    }
    assert!(input.findings[0].fabric.is_none() && text.contains("Fabric: pending"));
    // Every finding's leaf and hash is in the table; the last one too (paging).
    for f in [&input.findings[0], &input.findings[input.findings.len() - 1]] {
        assert!(text.contains(&f.content_hash_hex[..16]), "hash of leaf {} missing", f.leaf_index);
        assert!(text.contains(&f.content_hash_hex[48..]));
    }
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() >= 6, "{} pages", pages.len());
    for (i, p) in pages.iter().enumerate() {
        assert!(p.contains("DEVELOPMENT: not evidence"), "page {} has no development label", i + 1);
        assert!(p.contains(&format!("Page {} of {}", i + 1, pages.len())), "page {} footer", i + 1);
    }
    // The table header repeats on every table page.
    let table_pages = pages.iter().filter(|p| p.contains("Content hash")).count();
    assert!(table_pages >= 3, "header on {table_pages} pages");
}

#[test]
fn production_reports_carry_no_development_label() {
    let mut input = sample(5, 1);
    input.development = false;
    let pdf = reports::render(&input).unwrap().pdf;
    let Some(text) = pdftotext(&pdf) else { return };
    assert!(!text.contains("DEVELOPMENT"));
}

#[test]
fn tagged_with_embedded_fonts_and_no_raster_images() {
    let (_, unsigned, _) = signed_sample();
    let (Some(info), Some(fonts), Some(images)) = (tool("pdfinfo"), tool("pdffonts"), tool("pdfimages")) else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", unsigned);
    let (ok, out) = run(Command::new(info).arg(&f));
    assert!(ok && out.contains("Tagged:          yes"), "{out}");
    assert!(out.contains("PDF version:     2.0"), "{out}");
    let (ok, out) = run(Command::new(fonts).arg(&f));
    assert!(ok, "{out}");
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert!(rows.len() >= 2, "{out}");
    for r in rows {
        let cols: Vec<&str> = r.split_whitespace().collect();
        // name type encoding emb sub uni object ID: "emb" is the 4th field from the end + 3.
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded: {r}");
    }
    let (ok, out) = run(Command::new(images).arg("-list").arg(&f));
    assert!(ok && out.lines().count() == 2, "raster images found:\n{out}");
}

#[test]
fn attachments_are_embedded_as_supplements_byte_for_byte() {
    let (input, _, signed) = signed_sample();
    let (Some(detach), Some(qpdf)) = (tool("pdfdetach"), tool("qpdf")) else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", &signed.pdf);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (ok, list) = run(Command::new(&detach).arg("-list").arg(&f));
    assert!(ok && list.starts_with(&format!("{} embedded files", input.attachments.len())), "{list}");
    let (ok, out) = run(Command::new(&detach).arg("-saveall").arg("-o").arg(&out_dir).arg(&f));
    assert!(ok, "{out}");
    for a in &input.attachments {
        let got = std::fs::read(out_dir.join(&a.file_name)).unwrap();
        assert_eq!(got, a.bytes, "{} differs after extraction", a.file_name);
    }
    // /EmbeddedFiles name tree, /AF on the catalog, /AFRelationship /Supplement per file.
    let qdf = dir.path().join("q.pdf");
    let (ok, out) = run(Command::new(qpdf).args(["--qdf", "--object-streams=disable"]).arg(&f).arg(&qdf));
    assert!(ok, "{out}");
    let q = std::fs::read(&qdf).unwrap();
    let q = String::from_utf8_lossy(&q);
    assert!(q.contains("/EmbeddedFiles"));
    assert!(q.contains("/AF ["));
    assert_eq!(q.matches("/AFRelationship /Supplement").count(), input.attachments.len());
}

#[test]
fn staff_names_never_appear_and_the_sweep_finds_one_that_does() {
    let (_, _, signed) = signed_sample();
    let Some(text) = pdftotext(&signed.pdf) else { return };
    let Some(qpdf) = tool("qpdf") else { return };
    let sweep = |pdf: &[u8], text: &str| -> Vec<&'static str> {
        let dir = tempfile::tempdir().unwrap();
        let f = write_tmp(dir.path(), "r.pdf", pdf);
        let u = dir.path().join("u.pdf");
        let (ok, out) = run(Command::new(&qpdf).args(["--qdf", "--object-streams=disable", "--stream-data=uncompress"]).arg(&f).arg(&u));
        assert!(ok || out.contains("operation succeeded with warnings"), "{out}");
        let raw = [pdf.to_vec(), std::fs::read(&u).unwrap()].concat();
        let raw = String::from_utf8_lossy(&raw).to_lowercase();
        let text = text.to_lowercase();
        let mut found = Vec::new();
        for (_, name) in ROSTER {
            for part in std::iter::once(*name).chain(name.split([' ', '-'])) {
                let p = part.to_lowercase();
                // The whole name, or any part of it (a line break may split the name).
                if p.len() >= 4 && (text.contains(&p) || raw.contains(&p)) && found.last() != Some(name) {
                    found.push(*name);
                }
            }
        }
        found
    };
    assert_eq!(sweep(&signed.pdf, &text), Vec::<&str>::new(), "staff names in the report");
    for (code, _) in ROSTER {
        assert!(text.contains(code), "personnel code {code} not shown");
    }
    // Control: a report whose rule text names someone is caught by the same sweep.
    let mut leaky = sample(4, 0);
    leaky.findings[2].rule = "fi.reserve_outlier (Priya Raman)".into();
    let pdf = reports::render(&leaky).unwrap().pdf;
    let text = pdftotext(&pdf).unwrap();
    assert_eq!(sweep(&pdf, &text), vec!["Priya Raman"]);
}

// ---- signing ----------------------------------------------------------------------------

#[test]
fn signed_file_is_the_original_plus_an_incremental_update() {
    let (_, unsigned, signed) = signed_sample();
    assert!(signed.pdf.starts_with(unsigned));
    let update = String::from_utf8_lossy(&signed.pdf[unsigned.len()..]);
    for needle in ["/SubFilter /ETSI.CAdES.detached", "/ByteRange [0 ", "/FT /Sig", "/SigFlags 3", "/AcroForm", "/Prev ", "startxref"] {
        assert!(update.contains(needle), "{needle} not in the update");
    }
    assert!(!update.contains("/M ("), "no signing time in the signature dictionary");
    assert_eq!(signed.unsigned_sha256, <[u8; 32]>::from(sha2::Sha256::digest(unsigned)));
    assert_eq!(signed.signed_sha256, <[u8; 32]>::from(sha2::Sha256::digest(&signed.pdf)));
    assert_eq!(signed.timestamp_gen_time, GEN_TIME);
}

#[test]
fn qpdf_finds_no_errors() {
    let (_, unsigned, signed) = signed_sample();
    let Some(qpdf) = tool("qpdf") else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("unsigned.pdf", unsigned.as_slice()), ("signed.pdf", signed.pdf.as_slice())] {
        let f = write_tmp(dir.path(), name, bytes);
        let (ok, out) = run(Command::new(&qpdf).arg("--check").arg(&f));
        assert!(ok && out.contains("No syntax or stream encoding errors found"), "{name}: {out}");
    }
}

#[test]
fn pyhanko_accepts_signature_and_time_stamp() {
    let (_, _, signed) = signed_sample();
    let Some(v) = pyhanko(&signed.pdf) else { return };
    assert_eq!(v["signatures"], 1, "{v}");
    assert_eq!(v["sub_filter"], "/ETSI.CAdES.detached", "{v}");
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["trusted"], true, "{v}");
    assert_eq!(v["bottom_line"], true, "{v}");
    assert_eq!(v["coverage"], "SignatureCoverageLevel.ENTIRE_FILE", "{v}");
    assert_eq!(v["modification_level"], "ModificationLevel.NONE", "{v}");
    assert_eq!(v["timestamp"]["intact"], true, "{v}");
    assert_eq!(v["timestamp"]["valid"], true, "{v}");
    assert_eq!(v["timestamp"]["trusted"], true, "{v}");
    assert_eq!(v["timestamp"]["timestamp"], "2026-11-18T11:06:40+00:00", "{v}");
    assert_eq!(v["signing_time_attribute"], false, "{v}");
    assert_eq!(v["signed_attributes"], serde_json::json!(["content_type", "message_digest", "signing_certificate_v2"]), "{v}");
    assert_eq!(v["unsigned_attributes"], serde_json::json!(["signature_time_stamp_token"]), "{v}");
}

#[test]
fn pyhanko_cli_validates_with_the_trust_roots() {
    let (_, _, signed) = signed_sample();
    let Some(py) = pyhanko_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "r.pdf", &signed.pdf);
    let ca = write_tmp(dir.path(), "ca.pem", pki().ca_pem.as_bytes());
    let tsa = write_tmp(dir.path(), "tsa.pem", pki().tsa_root_pem.as_bytes());
    let cli = py.with_file_name("pyhanko");
    let (ok, out) = run(Command::new(&cli)
        .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace", "--trust"])
        .arg(&ca)
        .arg("--trust")
        .arg(&tsa)
        .arg(&f));
    assert!(ok, "{out}");
    assert!(out.contains("The signature is judged VALID"), "{out}");
    assert!(out.contains("Signature timestamp token: 2026-11-18T11:06:40+00:00"), "{out}");
    assert!(out.contains("The TSA certificate is trusted."), "{out}");
    assert!(out.contains("The signature covers the entire file"), "{out}");
    // With only the signing CA trusted, the time-stamp is not trusted: the CLI fails.
    let (ok, out) = run(Command::new(&cli)
        .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace", "--trust"])
        .arg(&ca)
        .arg(&f));
    assert!(!ok && out.contains("The TSA certificate is untrusted.") && out.contains("The signature is judged INVALID."), "{out}");
}

#[test]
fn pdfsig_reports_a_valid_cades_signature() {
    let (_, _, signed) = signed_sample();
    let Some(out) = pdfsig(&signed.pdf) else { return };
    assert!(out.contains("Signature Validation: Signature is Valid."), "{out}");
    assert!(out.contains("ETSI.CAdES.detached"), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
}

#[test]
fn any_byte_changed_outside_contents_is_reported_as_altered() {
    let (_, unsigned, signed) = signed_sample();
    let pdf = &signed.pdf;
    let contents = find(pdf, b"/Contents <").unwrap() + 10;
    let contents_end = contents + pdf[contents..].iter().position(|c| *c == b'>').unwrap();
    // A byte in the original document (the document title in the metadata), one in the
    // update (the signature field name), one after /Contents (the trailer's /Size digit).
    let title = find(pdf, b"Findings report").unwrap() + 3;
    let field = find(&pdf[unsigned.len()..], b"EvidenceReportSignature").unwrap() + unsigned.len() + 2;
    let after = contents_end + 1 + find(&pdf[contents_end..], b"Widget").unwrap();
    for at in [title, field, after] {
        assert!(at < contents || at > contents_end);
        let bad = flip(pdf, at);
        if let Some(v) = pyhanko(&bad) {
            let broken = v.get("error").is_some() || v["intact"] == false || v["bottom_line"] == false;
            assert!(broken, "pyHanko accepts a change at byte {at}: {v}");
        }
        if let Some(out) = pdfsig(&bad) {
            assert!(!out.contains("Signature is Valid"), "pdfsig accepts a change at byte {at}: {out}");
        }
    }
}

#[test]
fn a_corrupted_time_stamp_token_fails_pyhanko() {
    let (_, _, signed) = signed_sample();
    // The token's TSA signature is the last INTEGER of the embedded token; flip its last digit.
    let pdf = &signed.pdf;
    let contents = find(pdf, b"/Contents <").unwrap() + 11;
    let cms_hex_len = pdf[contents..].iter().position(|c| *c == b'>').unwrap();
    let all = hex::decode(&pdf[contents..contents + cms_hex_len]).unwrap();
    // The DER length of the ContentInfo (30 82 hi lo): the rest is zero padding.
    assert_eq!(&all[..2], &[0x30, 0x82]);
    let cms = all[..4 + (usize::from(all[2]) << 8 | usize::from(all[3]))].to_vec();
    assert!(all[cms.len()..].iter().all(|b| *b == 0));
    // The token is the value of id-aa-signatureTimeStampToken, the last attribute of the last
    // (only) SignerInfo, so the CMS ends with the token's own last bytes: the TSA's signature.
    let oid = [0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e];
    assert!(find(&cms, &oid).is_some(), "signature time-stamp attribute");
    let mut bad_cms = cms.clone();
    let last = bad_cms.len() - 2;
    bad_cms[last] ^= 0x01;
    let mut bad = pdf.clone();
    let hex_bad = hex::encode(&bad_cms);
    bad[contents..contents + hex_bad.len()].copy_from_slice(hex_bad.as_bytes());
    if let Some(v) = pyhanko(&bad) {
        let ts_ok =
            v.get("error").is_none() && v["timestamp"].is_object() && v["timestamp"]["intact"] == true && v["timestamp"]["valid"] == true;
        assert!(!ts_ok, "pyHanko accepts a corrupted signature time-stamp: {v}");
    }
    // pdfsig checks only the document signature (recorded, not required: the point).
    if let Some(out) = pdfsig(&bad) {
        eprintln!(
            "pdfsig on a corrupted time-stamp token: {}",
            if out.contains("Signature is Valid") { "still says valid" } else { "refuses" }
        );
    }
}

#[test]
fn a_bad_time_stamp_is_refused_before_it_is_embedded() {
    let (_, unsigned, _) = signed_sample();
    let id = identity();
    // Untrusted TSA.
    let mut p = reports::prepare(unsigned, &id).unwrap();
    let tsq = p.timestamp_request(NONCE).unwrap();
    let tsr = pki().other_tsa.respond(&tsq, GEN_TIME, 1).unwrap();
    assert!(matches!(p.finish(&tsr, &pki().tsa_roots), Err(SignError::Timestamp(rfc3161::Rfc3161Error::Chain(_)))));
    // A token over other data (a request with another imprint).
    let mut p = reports::prepare(unsigned, &id).unwrap();
    let _ = p.timestamp_request(NONCE).unwrap();
    let other = rfc3161::request_for_digest(rfc3161::HashAlg::Sha256, &[7; 32], &NONCE, true, None).unwrap();
    let tsr = pki().tsa.respond(&other, GEN_TIME, 2).unwrap();
    assert!(matches!(p.finish(&tsr, &pki().tsa_roots), Err(SignError::Timestamp(rfc3161::Rfc3161Error::ImprintMismatch { .. }))));
    // Another nonce.
    let mut p = reports::prepare(unsigned, &id).unwrap();
    let tsq = p.timestamp_request(NONCE).unwrap();
    let mut p2 = reports::prepare(unsigned, &id).unwrap();
    let _ = p2.timestamp_request([9; 8]).unwrap();
    let tsr = pki().tsa.respond(&tsq, GEN_TIME, 3).unwrap();
    assert!(matches!(p2.finish(&tsr, &pki().tsa_roots), Err(SignError::Timestamp(rfc3161::Rfc3161Error::NonceMismatch))));
    let _ = p;
    // Garbage.
    let mut p = reports::prepare(unsigned, &id).unwrap();
    let _ = p.timestamp_request(NONCE).unwrap();
    assert!(matches!(p.finish(b"\x30\x03\x02\x01\x00", &pki().tsa_roots), Err(SignError::Timestamp(_))));
    // No request made.
    let p = reports::prepare(unsigned, &id).unwrap();
    assert!(matches!(p.finish(&tsr, &pki().tsa_roots), Err(SignError::NoRequest)));
    // A genTime outside the signer certificate's validity (2000..2099).
    let mut p = reports::prepare(unsigned, &id).unwrap();
    let tsq = p.timestamp_request(NONCE).unwrap();
    let late = UnixMillis::from_utc(2099, 6, 1, 0, 0, 0, 0).unwrap();
    let tsr = pki().tsa.respond(&tsq, late, 4).unwrap();
    assert!(matches!(p.finish(&tsr, &pki().tsa_roots), Err(SignError::SignerNotValidAtGenTime { .. } | SignError::Timestamp(_))));
}

#[test]
fn too_small_a_reservation_is_a_typed_error() {
    let (_, unsigned, _) = signed_sample();
    let id = identity();
    let opts = reports::SignOptions { contents_reserve: 600, ..reports::SignOptions::default() };
    let mut p = reports::prepare_with(unsigned, &id, &opts).unwrap();
    let tsq = p.timestamp_request(NONCE).unwrap();
    let tsr = pki().tsa.respond(&tsq, GEN_TIME, 5).unwrap();
    assert!(matches!(p.finish(&tsr, &pki().tsa_roots), Err(SignError::ContentsTooSmall { reserved: 600, .. })));
}

#[test]
fn keys_and_certificates_are_checked() {
    let p = pki();
    assert!(matches!(SigningIdentity::from_pem("nonsense", &p.signing_certs_pem), Err(SignError::Key(_))));
    assert!(matches!(SigningIdentity::from_pem(&p.signing_key_pem, "nonsense"), Err(SignError::Certificate(_))));
    // The CA's certificate does not certify the signer's key.
    assert!(matches!(SigningIdentity::from_pem(&p.signing_key_pem, &p.ca_pem), Err(SignError::KeyMismatch)));
}

#[test]
fn non_pdf_input_is_refused() {
    let id = identity();
    assert!(matches!(reports::prepare(b"not a pdf", &id), Err(SignError::Pdf(_))));
    let (_, unsigned, _) = signed_sample();
    // Truncated: no startxref in the tail.
    assert!(matches!(reports::prepare(&unsigned[..unsigned.len() / 2], &id), Err(SignError::Pdf(_))));
}

#[test]
fn a_large_report_pages_and_signs() {
    let input = sample(2_000, 50);
    let r = reports::render(&input).unwrap();
    assert!(r.pages > 60, "{} pages", r.pages);
    let signed = sign(&r.pdf);
    if let Some(v) = pyhanko(&signed.pdf) {
        assert_eq!(v["bottom_line"], true, "{v}");
    }
    if let Some(text) = pdftotext(&signed.pdf) {
        let last = &input.findings[1_999];
        assert!(text.contains(&last.content_hash_hex[48..]), "the last row is missing");
    }
}

#[test]
fn prepare_never_panics_on_damaged_pdfs() {
    // Truncations and byte changes in the part the update reader looks at (catalog, page
    // tree, cross-reference table, trailer): every outcome is Ok or a typed error.
    let (_, unsigned, _) = signed_sample();
    let id = identity();
    let tail = unsigned.len().saturating_sub(4_000);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut refused) = (0, 0);
    for i in 0..1_500 {
        let mut bad = unsigned.clone();
        let at = tail + usize::try_from(next() % 4_000).unwrap().min(bad.len() - tail - 1);
        match i % 3 {
            0 => bad.truncate(at),
            1 => bad[at] = u8::try_from(next() % 256).unwrap(),
            _ => {
                bad.insert(at, b"<[(/ 0R"[usize::try_from(next() % 7).unwrap()]);
            }
        }
        match reports::prepare(&bad, &id) {
            Ok(_) => ok += 1,
            Err(SignError::Pdf(_)) => refused += 1,
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
    assert!(refused > 100, "{refused} refused, {ok} accepted");
}
