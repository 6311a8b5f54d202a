//! Render and sign a findings report, excluding the TSA round trip (the development TSA
//! answers in process; its own cost is measured separately so it can be subtracted).
//!
//! `cargo bench -p reports --bench report`. Groups: `render` (layout + PDF writing),
//! `sign` (incremental update, hashing, ECDSA, CMS, time-stamp verification), `dev_tsa`
//! (the in-process TSA's answer, which a real deployment replaces by an HTTP round trip),
//! and `sha256` over the same bytes as a floor for the signing step's hashing.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use evidence_core::internal::dev_tsa::DevTsa;
use evidence_core::rfc3161;
use evidence_core::types::UnixMillis;
use reports::{
    AnchorDelay, AnchorState, Attachment, CutCheckpoint, Date, FabricTx, Finding, OperationalId, Period, PersonnelCode, Rail, ReportInput,
    SigningIdentity, Status, TsaStamp,
};

const GEN_TIME: UnixMillis = UnixMillis(1_795_000_000_000);

fn hex32(i: u64, s: u8) -> String {
    hex::encode(evidence_core::types::sha256(&[&i.to_be_bytes(), &[s]]))
}

fn input(n: u64) -> ReportInput {
    let analyzers = ["cit", "fi", "structure", "service"];
    let findings = (0..n)
        .map(|i| Finding {
            kind: "leakage_finding".into(),
            analyzer: analyzers[(i % 4) as usize].into(),
            rule: format!("{}.rule_{}", analyzers[(i % 4) as usize], i % 3),
            personnel: vec![PersonnelCode::new(&format!("FI-{:02}", i % 40)).unwrap()],
            at_stake_cents: Some(i64::try_from(i).unwrap() * 1_713 % 900_000),
            amounts: vec![],
            date: Date::new(2026, 3, 1 + u8::try_from(i % 31).unwrap()).unwrap(),
            dates: vec![],
            identifiers: vec![OperationalId::Deal(format!("D-{i}")), OperationalId::Vin(format!("1HGCM82633A{i:06}"))],
            content_hash_hex: hex32(i, 1),
            leaf_index: i,
            checkpoint_seq: 10 + i / 100,
            tsa_gen_time: Some(GEN_TIME),
            anchoring: vec![(Rail::Tsa, AnchorState::Anchored), (Rail::Fabric, AnchorState::Anchored)],
            fabric: Some(FabricTx { block: 100 + i / 50, tx_id: Some(format!("{i:064x}")) }),
            status: if i % 50 == 7 { Status::Retracted { by: n + i, reason: "re-contracted".into() } } else { Status::Active },
        })
        .collect();
    ReportInput {
        tenant: "demo".into(),
        ledger: "bench".into(),
        period: Period { from: Date::parse("2026-03-01").unwrap(), to: Date::parse("2026-03-31").unwrap() },
        generated_at: GEN_TIME,
        development: true,
        currency: "CAD".into(),
        checkpoint: CutCheckpoint {
            seq: 99,
            tree_size: n + 1,
            root_hex: hex32(0, 9),
            checkpoint_hash_hex: hex32(1, 9),
            sealed_at: GEN_TIME,
            tsa: Some(TsaStamp { name: "dev".into(), gen_time: GEN_TIME }),
            fabric: Some(FabricTx { block: 7, tx_id: Some("ab".repeat(32)) }),
        },
        anchor_delays: (0..100).map(|s| AnchorDelay { checkpoint_seq: s, rail: Rail::Tsa, delay_ms: 500 + s * 3 }).collect(),
        findings,
        attachments: (0..n.min(1_000))
            .map(|i| Attachment {
                file_name: format!("claim-{i}.bundle.json"),
                bytes: format!("{{\"format\":\"evidence-bundle/v1\",\"claim\":{i},\"pad\":\"{}\"}}", "x".repeat(3_000)).into_bytes(),
                description: format!("bundle of claim {i}"),
                mime_type: "application/json".into(),
            })
            .collect(),
        trust_file_source: "trust.json from the operator".into(),
    }
}

struct Pki {
    identity: SigningIdentity,
    tsa: DevTsa,
    roots: Vec<rfc3161::Certificate>,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let ca = |cn: &str| {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let cert = p.self_signed(&key).unwrap();
        (cert, Issuer::new(p, key))
    };
    let (ca_cert, issuer) = ca("bench CA");
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "bench signer");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = p.signed_by(&key, &issuer).unwrap();
    let identity = SigningIdentity::from_pem(&key.serialize_pem(), &format!("{}{}", cert.pem(), ca_cert.pem())).unwrap();
    let (root, tsa_issuer) = ca("bench TSA root");
    let tkey = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut tp = CertificateParams::new(Vec::<String>::new()).unwrap();
    tp.distinguished_name.push(DnType::CommonName, "bench TSA");
    let mut eku =
        CustomExtension::from_oid_content(&[2, 5, 29, 37], vec![0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08]);
    eku.set_criticality(true);
    tp.custom_extensions.push(eku);
    let tcert = tp.signed_by(&tkey, &tsa_issuer).unwrap();
    let tsa = DevTsa::new(&tkey.serialize_der(), tcert.der(), vec![tcert.der().to_vec()]).unwrap();
    let roots = rfc3161::certificates_from_pem_or_der(root.pem().as_bytes()).unwrap();
    Pki { identity, tsa, roots }
}

fn bench(c: &mut Criterion) {
    let pki = pki();
    for n in [1_000_u64, 10_000] {
        let inp = input(n);
        let unsigned = reports::render(&inp).unwrap();
        eprintln!("{n} findings: {} pages, {} bytes unsigned", unsigned.pages, unsigned.pdf.len());
        let mut g = c.benchmark_group(format!("findings_{n}"));
        g.sample_size(10);
        g.bench_function("render", |b| b.iter(|| black_box(reports::render(black_box(&inp)).unwrap())));
        let mut p = reports::prepare(&unsigned.pdf, &pki.identity).unwrap();
        let tsq = p.timestamp_request([1; 8]).unwrap();
        g.bench_function("dev_tsa", |b| b.iter(|| black_box(pki.tsa.respond(&tsq, GEN_TIME, 1).unwrap())));
        let tsr = pki.tsa.respond(&tsq, GEN_TIME, 1).unwrap();
        drop(p);
        g.bench_function("sign", |b| {
            b.iter(|| {
                let mut p = reports::prepare(black_box(&unsigned.pdf), &pki.identity).unwrap();
                let _ = p.timestamp_request([1; 8]).unwrap();
                black_box(p.finish(&tsr, &pki.roots).unwrap())
            });
        });
        g.bench_function("sha256_floor", |b| b.iter(|| black_box(evidence_core::types::sha256(&[black_box(&unsigned.pdf)]))));
        if n > 1_000 {
            // 10 000 findings: render and sign separately only (each sample takes seconds).
            g.finish();
            continue;
        }
        g.bench_function("render_and_sign", |b| {
            b.iter(|| {
                let r = reports::render(black_box(&inp)).unwrap();
                let mut p = reports::prepare(&r.pdf, &pki.identity).unwrap();
                let tsq = p.timestamp_request([1; 8]).unwrap();
                let tsr = pki.tsa.respond(&tsq, GEN_TIME, 1).unwrap();
                black_box(p.finish(&tsr, &pki.roots).unwrap())
            });
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
