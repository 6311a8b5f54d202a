//! RFC 3161 token verification against a floor measured in the same run: the signature
//! verifications the check must do (the token's signature over its signed attributes, and
//! each certificate signature in the chain), with the same crates on the same inputs.
//! `scripts/bench-ratios.py rfc3161_<name> floor_signatures_only` prints the ratios.
//! `full_verification_cold` clears the certificate-signature memo before each verification
//! (the target's case); `full_verification_warm` keeps it (only the token's own signature
//! is verified again).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use evidence_core::pki::verify_signature;
use evidence_core::rfc3161::{self, Certificate, Imprint, TimestampOptions, ValidationTime, certificates_from_pem_or_der};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tsp").join(rel)).unwrap()
}

struct Case {
    name: &'static str,
    response: Vec<u8>,
    message: Vec<u8>,
    anchors: Vec<Certificate>,
    untrusted: Vec<Certificate>,
}

fn bench_case(c: &mut Criterion, case: &Case) {
    let opts = TimestampOptions {
        imprint: Some(Imprint::Data(&case.message)),
        request: None,
        trust_anchors: &case.anchors,
        untrusted: &case.untrusted,
        at: ValidationTime::GenTime,
    };
    assert!(rfc3161::verify_response(&case.response, &opts).outcome.is_ok(), "{} must verify", case.name);
    // The same signature checks, alone: token signature, then each chain link.
    let tok = rfc3161::parse_response(&case.response).unwrap().token.unwrap();
    let si = &tok.signer_infos[0];
    let pool: Vec<&Certificate> = tok.certificates.iter().chain(&case.untrusted).chain(&case.anchors).collect();
    let signer = rfc3161::find_signer(&si.sid, &pool).unwrap().clone();
    let digest = rfc3161::HashAlg::from_oid(&si.digest_algorithm.oid);
    let mut links: Vec<(Certificate, Certificate)> = Vec::new();
    let mut cur = signer.clone();
    while let Some(issuer) = pool.iter().find(|i| i.subject == cur.issuer && i.der != cur.der) {
        links.push((cur.clone(), (*issuer).clone()));
        cur = (*issuer).clone();
        if case.anchors.iter().any(|a| a.der == cur.der) {
            break;
        }
    }
    let attrs = si.signed_attrs_der.clone().unwrap();
    let mut g = c.benchmark_group(format!("rfc3161_{}", case.name));
    g.bench_function("floor_signatures_only", |b| {
        b.iter(|| {
            verify_signature(&signer.spki_algorithm, &signer.public_key, &si.signature_algorithm, digest, black_box(&attrs), &si.signature)
                .unwrap();
            for (child, issuer) in &links {
                verify_signature(
                    &issuer.spki_algorithm,
                    &issuer.public_key,
                    &child.signature_algorithm,
                    None,
                    black_box(&child.tbs),
                    &child.signature,
                )
                .unwrap();
            }
        });
    });
    // Cold: the certificate-signature memo cleared before every verification, so each one
    // pays every chain signature (a token verified once, as counsel does): what the target is
    // about. Warm: the memo kept (what a batch from one TSA pays per token after its first).
    g.bench_function("full_verification_cold", |b| {
        b.iter(|| {
            evidence_core::internal::clear_certificate_signature_memo();
            rfc3161::verify_response(black_box(&case.response), &opts)
        });
    });
    g.bench_function("full_verification_warm", |b| b.iter(|| rfc3161::verify_response(black_box(&case.response), &opts)));
    // The clearing alone, so that it can be subtracted from the cold figure.
    g.bench_function("memo_clear_only", |b| b.iter(evidence_core::internal::clear_certificate_signature_memo));
    g.finish();
    eprintln!("{}: {} chain signature(s) besides the token's", case.name, links.len());
}

fn benches(c: &mut Criterion) {
    let rsa = Case {
        name: "rsa2048_digicert",
        response: read("github-ietf-cms/digicert.tsr"),
        message: read("github-ietf-cms/message-hello-newline.txt"),
        anchors: certificates_from_pem_or_der(&read("github-ietf-cms/trust-anchor-digicert-assured-id-root-ca.pem")).unwrap(),
        untrusted: Vec::new(),
    };
    let ec = Case {
        name: "ecdsa_p256_sigstore_mock",
        response: read("trailofbits-rfc3161-client/sigstore.mock__response-expired.tsr"),
        message: read("trailofbits-rfc3161-client/sigstore.mock__payload"),
        // The chain file holds the TSA certificate and its root: trust only the root.
        anchors: certificates_from_pem_or_der(&read("trailofbits-rfc3161-client/sigstore.mock__ts_chain.pem")).unwrap().split_off(1),
        untrusted: certificates_from_pem_or_der(&read("trailofbits-rfc3161-client/sigstore.mock__ts_chain.pem")).unwrap(),
    };
    bench_case(c, &rsa);
    bench_case(c, &ec);
}

criterion_group!(rfc3161_benches, benches);
criterion_main!(rfc3161_benches);
