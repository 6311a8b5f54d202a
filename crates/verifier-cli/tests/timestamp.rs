//! Drives the real `evidence-verify timestamp` and `inspect` on real tokens (testdata/tsp).

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/tsp");
    let out = Command::new(env!("CARGO_BIN_EXE_evidence-verify")).current_dir(dir).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn valid_weak_invalid_and_could_not_check() {
    let ca = "github-ietf-cms/trust-anchor-digicert-assured-id-root-ca.pem";
    let (c, out) = run(&[
        "timestamp",
        "--response",
        "github-ietf-cms/digicert.tsr",
        "--data",
        "github-ietf-cms/message-hello-newline.txt",
        "--ca",
        ca,
    ]);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("VALID") && out.contains("DigiCert SHA2 Timestamp Responder"));
    // The same by digest, and as JSON.
    let (c, out) = run(&[
        "timestamp",
        "--response",
        "github-ietf-cms/digicert.tsr",
        "--digest",
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        "--hash-alg",
        "sha256",
        "--ca",
        ca,
        "--json",
    ]);
    assert_eq!(c, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["facts"]["gen_time"], 1_525_891_698_000i64);
    // Wrong data: invalid.
    let (c, out) =
        run(&["timestamp", "--response", "github-ietf-cms/digicert.tsr", "--data", "bc-java/bc-tsa-signing-cert.der", "--ca", ca]);
    assert_eq!(c, 1, "{out}");
    assert!(out.contains("INVALID: message imprint mismatch"));
    // Wrong root: invalid.
    let (c, _) = run(&[
        "timestamp",
        "--response",
        "github-ietf-cms/digicert.tsr",
        "--ca",
        "trailofbits-rfc3161-client/identrust-root.converted.pem",
    ]);
    assert_eq!(c, 1);
    // A file that holds no certificate given as --ca: could not check.
    let (c, out) = run(&[
        "timestamp",
        "--token",
        "esig-dss/d-trust-tsu12-pss-token.tst",
        "--data",
        "esig-dss/d-trust-tsu12-pss-token.message.txt",
        "--ca",
        "esig-dss/d-trust-tsu12-pss-token.tst",
    ]);
    // The token file is not a certificate file: could not check.
    assert_eq!(c, 2, "{out}");
    // Weak: SHA-1 signature, with the query; --strict makes it exit 1.
    let weak = [
        "timestamp",
        "--response",
        "bc-java/bc-sha1-response.tsr",
        "--query",
        "bc-java/bc-sha1-request.tsq",
        "--ca",
        "bc-java/bc-tsa-signing-cert.anchor.pem",
        "--untrusted",
        "bc-java/bc-tsa-signing-cert.anchor.pem",
    ];
    let (c, out) = run(&weak);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("WEAK: sha1-signature"));
    let (c, _) = run(&[&weak[..], &["--strict"]].concat());
    assert_eq!(c, 1);
    // Another request's nonce: invalid.
    let (c, _) = run(&[
        "timestamp",
        "--response",
        "trailofbits-rfc3161-client/test_tsa__response.tsr",
        "--query",
        "trailofbits-rfc3161-client/test_tsa__other_request.der",
        "--ca",
        "trailofbits-rfc3161-client/test_tsa__ts_chain.pem",
    ]);
    assert_eq!(c, 1);
    // Could not check: missing files, bad arguments.
    assert_eq!(run(&["timestamp", "--response", "nope.tsr", "--ca", ca]).0, 2);
    assert_eq!(run(&["timestamp", "--response", "github-ietf-cms/digicert.tsr"]).0, 2);
    assert_eq!(run(&["timestamp", "--response", "github-ietf-cms/digicert.tsr", "--digest", "00", "--ca", ca]).0, 2);
    assert_eq!(
        run(&["timestamp", "--response", "github-ietf-cms/digicert.tsr", "--digest", "00", "--hash-alg", "sha256", "--ca", ca]).0,
        2
    );
    // Malformed token: invalid, not a crash.
    assert_eq!(run(&["timestamp", "--response", "github-ietf-cms/message-hello-newline.txt", "--ca", ca]).0, 1);
}

#[test]
fn inspect_dumps_each_kind() {
    let (c, out) = run(&["inspect", "bc-java/bc-sha1-request.tsq"]);
    assert_eq!(c, 0);
    assert!(out.starts_with("TimeStampReq"));
    // OIDs are named for people, with the dotted form kept (issue 24).
    assert!(out.contains("imprint   sha1 (1.3.14.3.2.26) "), "{out}");
    let (c, out) = run(&["inspect", "digitorus-timestamp/respRejection.tsr"]);
    assert_eq!(c, 0);
    assert!(out.contains("rejection") && out.contains("addInfoNotAvailable"), "{out}");
    let (c, out) = run(&["inspect", "signify-authenticode/microsoft-tss-2025-dxcore.tst"]);
    assert_eq!(c, 0);
    assert!(out.contains("(1 non-X.509 entry in the certificate set"), "{out}");
    assert!(out.contains("content   id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4)"), "{out}");
    assert!(out.contains("signer    digest sha"), "{out}");
    assert!(out.contains(", 3 signed attributes\n"), "{out}");
    assert_eq!(run(&["inspect", "MANIFEST.tsv"]).0, 1);
    assert_eq!(run(&["inspect", "missing"]).0, 2);
}
