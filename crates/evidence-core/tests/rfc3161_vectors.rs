//! Every row of testdata/tsp/MANIFEST.tsv gets its expected verdict: real tokens from public
//! TSAs (sources in testdata/tsp/SOURCES.md), verified at genTime.

use std::path::{Path, PathBuf};

use evidence_core::rfc3161::{
    self, Certificate, HashAlg, Imprint, TimestampOptions, TimestampVerdict, ValidationTime, certificates_from_pem_or_der,
    embedded_chain_top,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tsp")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn certs(field: &str) -> Vec<Certificate> {
    if field == "-" || field == "embedded" {
        return Vec::new();
    }
    certificates_from_pem_or_der(&read(field)).unwrap_or_else(|e| panic!("{field}: {e}"))
}

struct Row<'a> {
    file: &'a str,
    kind: &'a str,
    message: &'a str,
    digest_hex: &'a str,
    hash_alg: &'a str,
    query: &'a str,
    ca: &'a str,
    untrusted: &'a str,
    at: &'a str,
    expected: &'a str,
}

fn rows(text: &str) -> Vec<Row<'_>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                file: f[0],
                kind: f[1],
                message: f[2],
                digest_hex: f[3],
                hash_alg: f[4],
                query: f[5],
                ca: f[6],
                untrusted: f[7],
                at: f[9],
                expected: f[10],
            }
        })
        .collect()
}

fn hash_alg(name: &str) -> HashAlg {
    match name {
        "sha1" => HashAlg::Sha1,
        "sha256" => HashAlg::Sha256,
        "sha384" => HashAlg::Sha384,
        "sha512" => HashAlg::Sha512,
        "md5" => HashAlg::Md5,
        other => panic!("hash {other}"),
    }
}

/// Verifies one token or response row and returns the outcome as the manifest writes it.
fn outcome(row: &Row<'_>) -> String {
    let bytes = read(row.file);
    let (token_bytes, is_response) = match row.kind {
        "container" => {
            let toks = rfc3161::tokens_in_signed_data(&bytes).unwrap();
            (toks.first().expect("a token in the container").0.clone(), false)
        }
        "resp" => (bytes.clone(), true),
        _ => (bytes.clone(), false),
    };
    let message = (row.message != "-").then(|| read(row.message));
    let digest = (row.digest_hex != "-").then(|| hex::decode(row.digest_hex).unwrap());
    let imprint = match (&message, &digest) {
        (Some(m), _) => Some(Imprint::Data(m)),
        (None, Some(d)) => Some(Imprint::Digest { alg: hash_alg(row.hash_alg), digest: d }),
        _ => None,
    };
    let query = (row.query != "-").then(|| rfc3161::parse_request(&read(row.query)).unwrap());
    let token = if is_response { rfc3161::parse_response(&token_bytes).unwrap().token } else { rfc3161::parse_token(&token_bytes).ok() };
    let mut anchors = certs(row.ca);
    if row.ca == "embedded" {
        anchors.push(embedded_chain_top(token.as_ref().expect("token")).expect("a signer in the token"));
    }
    let untrusted = certs(row.untrusted);
    let opts =
        TimestampOptions { imprint, request: query.as_ref(), trust_anchors: &anchors, untrusted: &untrusted, at: ValidationTime::GenTime };
    let report = if is_response { rfc3161::verify_response(&token_bytes, &opts) } else { rfc3161::verify_token(&token_bytes, &opts) };
    if let (Some(f), true) = (&report.facts, row.at != "-") {
        // genTime to the second, as the manifest writes it.
        assert_eq!(&f.gen_time.to_rfc3339()[..19], &row.at[..19], "{}: genTime", row.file);
    }
    match report.outcome {
        Ok(TimestampVerdict::Valid) => "valid".into(),
        Ok(TimestampVerdict::ValidWeak { reasons }) => format!("valid-weak:{}", reasons[0]),
        Err(rfc3161::Rfc3161Error::Eku(m)) if m.contains("not critical") => "invalid:eku-not-critical".into(),
        Err(e) => format!("invalid:{}", e.code()),
    }
}

#[test]
fn every_manifest_row_gets_its_verdict() {
    let text = std::fs::read_to_string(dir().join("MANIFEST.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in rows(&text) {
        let got = match (row.kind, row.expected) {
            ("req", "parse-only") => {
                rfc3161::parse_request(&read(row.file)).map_or_else(|e| format!("error: {e}"), |_| "parse-only".to_owned())
            }
            ("tstinfo", "parse-only") => {
                rfc3161::parse_tst_info(&read(row.file)).map_or_else(|e| format!("error: {e}"), |_| "parse-only".to_owned())
            }
            ("tstinfo", "reject-parse") => match rfc3161::parse_tst_info(&read(row.file)) {
                Err(rfc3161::ParseError::BadTime) => "reject-parse".into(),
                other => format!("{other:?}"),
            },
            ("container", "parse-only") => {
                evidence_core::internal::ber_parse(&read(row.file)).map_or_else(|e| format!("error: {e}"), |()| "parse-only".to_owned())
            }
            ("resp", "parse-only") => {
                rfc3161::parse_response(&read(row.file)).map_or_else(|e| format!("error: {e}"), |_| "parse-only".to_owned())
            }
            ("resp", "status:rejection") => {
                let r = rfc3161::parse_response(&read(row.file)).unwrap();
                let v = rfc3161::verify_response(&read(row.file), &TimestampOptions::default());
                if r.status.status == 2 && r.token.is_none() && matches!(v.outcome, Err(rfc3161::Rfc3161Error::Status { .. })) {
                    "status:rejection".into()
                } else {
                    format!("status {} {:?}", r.status.status, v.outcome)
                }
            }
            _ => outcome(&row),
        };
        if std::env::var_os("SHOW_ROWS").is_some() {
            eprintln!("{:<70} {:<28} {got}", row.file, row.expected);
        }
        checked += 1;
        if got != row.expected {
            failures.push(format!("{}: expected {}, got {got}", row.file, row.expected));
        }
    }
    assert!(checked >= 60, "only {checked} rows");
    assert!(failures.is_empty(), "{} of {checked} rows wrong:\n{}", failures.len(), failures.join("\n"));
}

fn sigstore_mock(at: ValidationTime) -> rfc3161::TimestampReport {
    let anchors = certs("trailofbits-rfc3161-client/sigstore.mock__ts_chain.pem");
    let msg = read("trailofbits-rfc3161-client/sigstore.mock__payload");
    let opts = TimestampOptions { imprint: Some(Imprint::Data(&msg)), request: None, trust_anchors: &anchors, untrusted: &anchors, at };
    rfc3161::verify_response(&read("trailofbits-rfc3161-client/sigstore.mock__response-expired.tsr"), &opts)
}

/// A token stays valid after its TSA certificate lapses: checked at genTime it verifies,
/// checked today it does not.
#[test]
fn expired_after_stamping_verifies_at_gen_time_only() {
    assert_eq!(sigstore_mock(ValidationTime::GenTime).outcome, Ok(TimestampVerdict::Valid));
    let today = evidence_core::UnixMillis::parse_rfc3339("2026-11-23T00:00:00Z").unwrap();
    let late = sigstore_mock(ValidationTime::At(today));
    assert!(matches!(&late.outcome, Err(rfc3161::Rfc3161Error::Chain(e)) if e.is_time()), "{:?}", late.outcome);
}

/// The wrong roots never verify a real token.
#[test]
fn wrong_roots_fail() {
    let cases = [
        (
            "sigstore-rust/github-tsa-sha384-ecdsa.tsr",
            "sigstore-rust/github-tsa-sha384-ecdsa.message.bin",
            "sigstore-rust/github-tsa-chain-older-0.pem",
        ),
        (
            "sigstore-rust/sigstage-conda-with-cert.tsr",
            "sigstore-rust/sigstage-conda-with-cert.message.bin",
            "sigstore-rust/sigstore-prod-tsa-chain.pem",
        ),
        (
            "github-ietf-cms/digicert.tsr",
            "github-ietf-cms/message-hello-newline.txt",
            "trailofbits-rfc3161-client/identrust-root.converted.pem",
        ),
    ];
    for (tok, msg, ca) in cases {
        let anchors = certs(ca);
        let msg = read(msg);
        let opts = TimestampOptions {
            imprint: Some(Imprint::Data(&msg)),
            request: None,
            trust_anchors: &anchors,
            untrusted: &anchors,
            at: ValidationTime::GenTime,
        };
        let r = rfc3161::verify_response(&read(tok), &opts);
        assert!(r.outcome.is_err(), "{tok} verified against {ca}");
    }
}

/// The signer is chosen by SignerInfo sid, not by position or name: a spoofed certificate
/// injected into the set is never reported as the signer (GHSA-3xxc-pwj6-jgrj).
#[test]
fn injected_certificates_do_not_become_the_signer() {
    let anchors = certs("trailofbits-rfc3161-client/test_tsa__ts_chain.pem");
    let opts = TimestampOptions {
        imprint: Some(Imprint::Data(b"hello")),
        request: None,
        trust_anchors: &anchors,
        untrusted: &anchors,
        at: ValidationTime::GenTime,
    };
    let r = rfc3161::verify_response(&read("trailofbits-rfc3161-client/test_tsa__response-injected-certs.tsr"), &opts);
    assert_eq!(r.outcome, Ok(TimestampVerdict::Valid));
    let chain = r.facts.unwrap().signer_chain;
    assert!(!chain[0].contains("Spoofed"), "{chain:?}");
}

/// A nonce from another request is refused.
#[test]
fn nonce_from_another_request_is_refused() {
    let anchors = certs("trailofbits-rfc3161-client/test_tsa__ts_chain.pem");
    let other = rfc3161::parse_request(&read("trailofbits-rfc3161-client/test_tsa__other_request.der")).unwrap();
    let opts = TimestampOptions {
        imprint: None,
        request: Some(&other),
        trust_anchors: &anchors,
        untrusted: &anchors,
        at: ValidationTime::GenTime,
    };
    let r = rfc3161::verify_response(&read("trailofbits-rfc3161-client/test_tsa__response.tsr"), &opts);
    assert!(r.outcome.is_err());
    // Trailing bytes after the response are an error.
    let mut t = read("trailofbits-rfc3161-client/test_tsa__response.tsr");
    t.push(0);
    assert!(matches!(rfc3161::verify_response(&t, &TimestampOptions::default()).outcome, Err(rfc3161::Rfc3161Error::Parse(_))));
}

fn all_tokens() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(dir().join("MANIFEST.tsv")).unwrap();
    rows(&text).into_iter().filter(|r| matches!(r.kind, "resp" | "token")).map(|r| (r.file.to_owned(), read(r.file))).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]
    /// Truncating, flipping, inserting or deleting bytes of any real token never panics, and a
    /// token whose bytes changed never verifies as valid against the embedded chain top.
    #[test]
    fn mutated_tokens_never_panic_or_verify(which in proptest::prelude::any::<proptest::sample::Index>(), pos in proptest::prelude::any::<proptest::sample::Index>(), byte in proptest::prelude::any::<u8>(), op in 0u8..4) {
        let toks = all_tokens();
        let (name, orig) = &toks[which.index(toks.len())];
        let mut b = orig.clone();
        let i = pos.index(b.len());
        match op {
            0 => b.truncate(i),
            1 => b[i] ^= byte | 1,
            2 => b.insert(i, byte),
            _ => { b.remove(i); }
        }
        let parsed = rfc3161::parse_response(&b).ok().and_then(|r| r.token).or_else(|| rfc3161::parse_token(&b).ok());
        let _ = rfc3161::parse_tst_info(&b);
        let _ = rfc3161::parse_request(&b);
        if let Some(tok) = parsed {
            let anchors: Vec<Certificate> = embedded_chain_top(&tok).into_iter().collect();
            let opts = TimestampOptions { imprint: None, request: None, trust_anchors: &anchors, untrusted: &[], at: ValidationTime::GenTime };
            let r = if std::path::Path::new(name).extension().is_some_and(|x| x == "tsr") { rfc3161::verify_response(&b, &opts) } else { rfc3161::verify_token(&b, &opts) };
            if b != *orig && r.outcome.is_ok() {
                // Only bytes outside the signed content may change without detection: unsigned
                // parts such as the certificate set order or the unsigned status text.
                let o = rfc3161::parse_response(orig).ok().and_then(|r| r.token).or_else(|| rfc3161::parse_token(orig).ok()).unwrap();
                proptest::prop_assert_eq!(&tok.content, &o.content, "{}: changed TSTInfo verified", name);
                proptest::prop_assert_eq!(&tok.signer_infos[0].signed_attrs_der, &o.signer_infos[0].signed_attrs_der, "{}: changed signed attributes verified", name);
            }
        }
    }
}
