//! The development TSA's tokens verify like any other: request -> DevTsa -> verify_response,
//! with a test PKI made by the openssl CLI at test time.

use std::path::Path;
use std::process::Command;

use evidence_core::UnixMillis;
use evidence_core::internal::dev_tsa::DevTsa;
use evidence_core::rfc3161::{self, HashAlg, Imprint, TimestampOptions, TimestampVerdict, ValidationTime, certificates_from_pem_or_der};

fn sh(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn dev_tsa_round_trip() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(std::env::var_os("TSA_CLIENT_REQUIRE_OPENSSL").is_none(), "openssl is required");
        eprintln!("SKIPPED: no openssl CLI");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ext.cnf"), "extendedKeyUsage=critical,timeStamping\nbasicConstraints=critical,CA:FALSE\n").unwrap();
    sh(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=Dev Root (development only)",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
    sh(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Dev TSA (development only)",
        ],
    );
    sh(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
        ],
    );
    sh(d, &["pkcs8", "-topk8", "-nocrypt", "-in", "tsa.key", "-outform", "DER", "-out", "tsa.p8"]);
    let root = certificates_from_pem_or_der(&std::fs::read(d.join("root.pem")).unwrap()).unwrap();
    let tsa_cert = certificates_from_pem_or_der(&std::fs::read(d.join("tsa.pem")).unwrap()).unwrap().remove(0);
    let tsa = DevTsa::new(&std::fs::read(d.join("tsa.p8")).unwrap(), &tsa_cert.der, vec![]).unwrap();

    let digest = [0x5a; 32];
    let req = rfc3161::request_for_digest(HashAlg::Sha256, &digest, &[1, 2, 3, 4, 5, 6, 7, 8], true, None).unwrap();
    let now = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let resp = tsa.respond(&req, UnixMillis(now + 5), 42).unwrap();
    let parsed_req = rfc3161::parse_request(&req).unwrap();
    let opts = TimestampOptions {
        imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &digest }),
        request: Some(&parsed_req),
        trust_anchors: &root,
        untrusted: &[],
        at: ValidationTime::GenTime,
    };
    let report = rfc3161::verify_response(&resp, &opts);
    assert_eq!(report.outcome, Ok(TimestampVerdict::Valid), "{:#?}", report.checks);
    assert_eq!(report.facts.unwrap().serial_hex, "2a");
    // An independent implementation accepts it too.
    std::fs::write(d.join("r.tsr"), &resp).unwrap();
    std::fs::write(d.join("q.tsq"), &req).unwrap();
    sh(d, &["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "root.pem", "-untrusted", "tsa.pem"]);
    // Another digest does not verify.
    let other = [0u8; 32];
    let opts = TimestampOptions { imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &other }), ..opts };
    assert!(rfc3161::verify_response(&resp, &opts).outcome.is_err());
}
