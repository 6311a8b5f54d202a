//! `evidence-verify timestamp` and `evidence-verify inspect`: RFC 3161 tokens offline.
//!
//! Semantics follow `openssl ts -verify`, except: the chain is validated at genTime (a
//! token stays valid after its TSA certificate expires), RSA-PSS works, bytes after the
//! response are an error, grantedWithMods is accepted, and weak algorithms (SHA-1
//! signatures, MD5/SHA-1 imprints) are reported as WEAK (exit 0, or 1 with `--strict`).

use std::path::PathBuf;

use clap::Args;
use evidence_core::rfc3161::{
    self, Certificate, HashAlg, Imprint, MAX_TOKEN_BYTES, TimestampOptions, TimestampReport, TimestampVerdict, ValidationTime,
    certificates_from_pem_or_der,
};

use crate::input::read_limited;
use crate::outcome::Outcome;

/// The largest data file hashed (the imprint is computed in memory).
const MAX_DATA: usize = 1 << 30;

/// Verify an RFC 3161 time-stamp response or token offline.
///
/// Exit status: 0 valid (weak algorithms are reported, see --strict); 1 invalid, including
/// malformed tokens; 2 could not check (unreadable input, bad arguments).
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["response", "token"]))]
pub struct TimestampArgs {
    /// A DER TimeStampResp (.tsr).
    #[arg(long, value_name = "FILE.tsr")]
    response: Option<PathBuf>,
    /// A bare DER TimeStampToken instead of a response.
    #[arg(long, value_name = "FILE")]
    token: Option<PathBuf>,
    /// The data that was stamped.
    #[arg(long, value_name = "FILE", conflicts_with = "digest")]
    data: Option<PathBuf>,
    /// The digest that was stamped, in hex (with --hash-alg).
    #[arg(long, value_name = "HEX", requires = "hash_alg")]
    digest: Option<String>,
    /// The digest's algorithm.
    #[arg(long, value_name = "ALG", value_parser = ["sha256", "sha384", "sha512"])]
    hash_alg: Option<String>,
    /// The request (.tsq): the nonce, policy and imprint must match it.
    #[arg(long, value_name = "FILE.tsq")]
    query: Option<PathBuf>,
    /// Trusted root (or intermediate) certificates, PEM or DER.
    #[arg(long, value_name = "ROOTS.pem", required = true)]
    ca: PathBuf,
    /// Untrusted certificates to build the chain with (e.g. the TSA certificate). Repeatable.
    #[arg(long, value_name = "CERTS.pem")]
    untrusted: Vec<PathBuf>,
    /// Treat weak algorithms as a failure (exit 1).
    #[arg(long)]
    strict: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Dump a time-stamp request, response or token in readable form.
///
/// Exit status: 0 printed; 1 not a time-stamp structure; 2 unreadable file.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A .tsq, .tsr or token file (DER); the kind is detected.
    file: PathBuf,
}

fn certs(path: &std::path::Path) -> Result<Vec<Certificate>, String> {
    let bytes = read_limited(path, 16 << 20)?;
    certificates_from_pem_or_der(&bytes).map_err(|e| format!("{}: no certificates: {e}", path.display()))
}

pub fn run(args: &TimestampArgs) -> Outcome {
    match run_inner(args) {
        Ok(o) => o,
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({ "valid": null, "error": e }));
            } else {
                eprintln!("evidence-verify: could not check: {e}");
            }
            Outcome::CouldNotCheck
        }
    }
}

fn run_inner(args: &TimestampArgs) -> Result<Outcome, String> {
    let (path, is_response) = match (&args.response, &args.token) {
        (Some(p), None) => (p, true),
        (None, Some(p)) => (p, false),
        _ => return Err("give exactly one of --response and --token".into()),
    };
    let bytes = read_limited(path, MAX_TOKEN_BYTES)?;
    let data = args.data.as_ref().map(|d| read_limited(d, MAX_DATA)).transpose()?;
    let digest = match (&args.digest, &args.hash_alg) {
        (Some(h), Some(a)) => {
            let alg = match a.as_str() {
                "sha256" => HashAlg::Sha256,
                "sha384" => HashAlg::Sha384,
                _ => HashAlg::Sha512,
            };
            let d = hex::decode(h).map_err(|_| "--digest is not hex".to_owned())?;
            if d.len() != alg.output_len() {
                return Err(format!("--digest has {} bytes, {a} needs {}", d.len(), alg.output_len()));
            }
            Some((alg, d))
        }
        (None, None) => None,
        _ => return Err("--digest and --hash-alg go together".into()),
    };
    let query = args
        .query
        .as_ref()
        .map(|q| {
            read_limited(q, MAX_TOKEN_BYTES)
                .and_then(|b| rfc3161::parse_request(&b).map_err(|e| format!("{}: not a TimeStampReq: {e}", q.display())))
        })
        .transpose()?;
    let anchors = certs(&args.ca)?;
    let mut untrusted = Vec::new();
    for u in &args.untrusted {
        untrusted.extend(certs(u)?);
    }
    let imprint = match (&data, &digest) {
        (Some(d), _) => Some(Imprint::Data(d)),
        (None, Some((alg, d))) => Some(Imprint::Digest { alg: *alg, digest: d }),
        _ => None,
    };
    let opts =
        TimestampOptions { imprint, request: query.as_ref(), trust_anchors: &anchors, untrusted: &untrusted, at: ValidationTime::GenTime };
    let report = if is_response { rfc3161::verify_response(&bytes, &opts) } else { rfc3161::verify_token(&bytes, &opts) };
    Ok(print_report(&report, args.json, args.strict))
}

fn print_report(r: &TimestampReport, json: bool, strict: bool) -> Outcome {
    let (verdict, weak, outcome) = match &r.outcome {
        Ok(TimestampVerdict::Valid) => ("valid", Vec::new(), Outcome::Verified),
        Ok(TimestampVerdict::ValidWeak { reasons }) => {
            ("valid_weak", reasons.clone(), if strict { Outcome::NotVerified } else { Outcome::Verified })
        }
        Err(_) => ("invalid", Vec::new(), Outcome::NotVerified),
    };
    if json {
        let out = serde_json::json!({
            "format": "evidence-verify-timestamp/v1",
            "verdict": verdict,
            "weak": weak,
            "error": r.outcome.as_ref().err().map(|e| serde_json::json!({"code": e.code(), "message": e.to_string()})),
            "facts": r.facts,
            "checks": r.checks,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return outcome;
    }
    for c in &r.checks {
        let mark = match c.outcome {
            "pass" => "PASS",
            "fail" => "FAIL",
            "skipped" => "SKIP",
            _ => "WEAK",
        };
        println!("{mark}  {:<18} {}", c.name, c.detail);
    }
    if let Some(f) = &r.facts {
        println!("\ngenTime   {} ({})", f.gen_time, f.gen_time_text);
        println!("serial    {}", f.serial_hex);
        println!("policy    {}", f.policy);
        if let Some(t) = &f.tsa_name {
            println!("TSA       {t}");
        }
        if let Some(a) = &f.accuracy {
            println!("accuracy  {} s {} ms {} us", a.seconds, a.millis, a.micros);
        }
        if let Some(n) = &f.nonce_hex {
            println!("nonce     {n}");
        }
        println!("imprint   {} {}", f.imprint.0, f.imprint.1);
        for (i, s) in f.signer_chain.iter().enumerate() {
            println!("{}  {s}", if i == 0 { "signer   " } else { "  issued by" });
        }
    }
    match &r.outcome {
        Ok(TimestampVerdict::Valid) => println!("\nVALID: the data existed no later than genTime, as stamped by the TSA above."),
        Ok(TimestampVerdict::ValidWeak { reasons }) => println!(
            "\nVALID (WEAK: {}): the checks pass, but with algorithms no longer considered strong{}.",
            reasons.join(", "),
            if strict { "; --strict makes this a failure" } else { "" }
        ),
        Err(e) => println!("\nINVALID: {e}"),
    }
    outcome
}

pub fn inspect(args: &InspectArgs) -> Outcome {
    use evidence_core::oids::describe;
    let bytes = match read_limited(&args.file, MAX_TOKEN_BYTES) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("evidence-verify: could not check: {e}");
            return Outcome::CouldNotCheck;
        }
    };
    if let Ok(r) = rfc3161::parse_request(&bytes) {
        println!("TimeStampReq");
        println!("  imprint   {} {}", describe(&r.imprint_algorithm), hex::encode(&r.imprint));
        println!("  policy    {}", r.policy.as_deref().unwrap_or("(none)"));
        println!("  nonce     {}", r.nonce.as_ref().map_or_else(|| "(none)".into(), hex::encode));
        println!("  certReq   {}", r.cert_req);
        return Outcome::Verified;
    }
    let (status, token) = match rfc3161::parse_response(&bytes) {
        Ok(r) => (Some(r.status), r.token),
        Err(_) => match rfc3161::parse_token(&bytes) {
            Ok(t) => (None, Some(t)),
            Err(e) => {
                println!("not a time-stamp request, response or token: {e}");
                return Outcome::NotVerified;
            }
        },
    };
    if let Some(s) = status {
        println!("TimeStampResp");
        println!("  status    {} ({})", s.status_name(), s.status);
        for t in &s.text {
            println!("  text      {t}");
        }
        if !s.fail_info.is_empty() {
            println!("  failInfo  {}", s.fail_info_names().join(", "));
        }
    }
    if let Some(t) = token {
        let i = &t.tst_info;
        println!("TimeStampToken");
        println!("  content   {}", describe(&t.content_type));
        println!("  version   {}", i.version);
        println!("  policy    {}", i.policy);
        println!("  imprint   {} {}", describe(&i.imprint_algorithm.oid), hex::encode(&i.imprint));
        println!("  serial    {}", hex::encode(&i.serial));
        println!("  genTime   {} ({})", i.gen_time, i.gen_time_text);
        if let Some(a) = i.accuracy {
            println!("  accuracy  {} s {} ms {} us", a.seconds, a.millis, a.micros);
        }
        println!("  ordering  {}", i.ordering);
        println!("  nonce     {}", i.nonce.as_ref().map_or_else(|| "(none)".into(), hex::encode));
        println!("  tsa       {}", i.tsa_name.as_deref().unwrap_or("(none)"));
        for e in &i.extensions {
            println!("  extension {} critical={}", describe(&e.oid), e.critical);
        }
        for c in &t.certificates {
            println!("  cert      {}  (issuer {}, {} to {})", c.subject_text(), c.issuer_text(), c.not_before, c.not_after);
        }
        if t.skipped_certificate_entries > 0 {
            println!(
                "  ({} in the certificate set, e.g. attribute certificates, skipped)",
                crate::report::plural(t.skipped_certificate_entries, "non-X.509 entry", "non-X.509 entries")
            );
        }
        for s in &t.signer_infos {
            println!(
                "  signer    digest {}, signature {}, {}",
                describe(&s.digest_algorithm.oid),
                describe(&s.signature_algorithm.oid),
                crate::report::plural(s.signed_attrs.len(), "signed attribute", "signed attributes")
            );
        }
    }
    Outcome::Verified
}
