//! Token verification (RFC 3161 §2.4.2, RFC 5652 §5.4, RFC 5816, RFC 5035).

use super::token::{self, ParseError, SignerId, TimeStampRequest, TimeStampToken};
use crate::pki::{self, Certificate, ChainError, HashAlg, SigError, SigUsed};
use crate::types::UnixMillis;
use crate::{ber, oids};

/// What the token must stamp.
#[derive(Clone, Copy, Debug)]
pub enum Imprint<'a> {
    /// The data itself: hashed with the token's imprint algorithm.
    Data(&'a [u8]),
    /// A digest computed elsewhere.
    Digest {
        /// Its algorithm.
        alg: HashAlg,
        /// Its bytes.
        digest: &'a [u8],
    },
}

/// When certificates must have been valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ValidationTime {
    /// At the token's genTime (the default: a token stays valid after its TSA certificate lapses).
    #[default]
    GenTime,
    /// At a given time.
    At(UnixMillis),
}

/// What to verify against.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimestampOptions<'a> {
    /// The data or digest the token must stamp; `None` skips the imprint check (reported).
    pub imprint: Option<Imprint<'a>>,
    /// The request, to check nonce, policy and imprint against.
    pub request: Option<&'a TimeStampRequest>,
    /// Trust anchors. A certificate equal to an anchor is trusted; so is one an anchor signed.
    pub trust_anchors: &'a [Certificate],
    /// Extra certificates to build the chain with (not trusted by themselves).
    pub untrusted: &'a [Certificate],
    /// When certificates must be valid.
    pub at: ValidationTime,
}

/// Why a token is not valid. Each kind names one check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rfc3161Error {
    /// Not parseable.
    #[error("malformed: {0}")]
    Parse(#[from] ParseError),
    /// The TSA did not grant the request.
    #[error("status {status}: {text}")]
    Status {
        /// Status name.
        status: &'static str,
        /// Status text and failInfo.
        text: String,
    },
    /// A granted response with no token.
    #[error("granted response without a token")]
    NoToken,
    /// eContentType is not id-ct-TSTInfo.
    #[error("content type {0} is not id-ct-TSTInfo")]
    ContentType(String),
    /// TSTInfo version is not 1.
    #[error("TSTInfo version {0}, expected 1")]
    Version(u64),
    /// A critical TSTInfo extension we do not understand.
    #[error("unknown critical TSTInfo extension {0}")]
    CriticalExtension(String),
    /// The imprint algorithm differs or is unknown.
    #[error("imprint algorithm {found}, expected {expected}")]
    ImprintAlgorithm {
        /// In the token.
        found: String,
        /// Expected.
        expected: String,
    },
    /// The imprint does not match the data.
    #[error("message imprint mismatch: token has {token}, data hashes to {data}")]
    ImprintMismatch {
        /// Token's imprint, hex.
        token: String,
        /// Expected, hex.
        data: String,
    },
    /// Nonce differs from the request's.
    #[error("nonce does not match the request")]
    NonceMismatch,
    /// Policy differs from the request's.
    #[error("policy {found} differs from the requested {requested}")]
    PolicyMismatch {
        /// In the token.
        found: String,
        /// Requested.
        requested: String,
    },
    /// Not exactly one signer.
    #[error("{0} signer infos; a time-stamp token has exactly one")]
    SignerCount(usize),
    /// Signed attributes absent.
    #[error("signed attributes missing")]
    NoSignedAttributes,
    /// content-type attribute wrong or missing.
    #[error("content-type signed attribute missing or not id-ct-TSTInfo")]
    ContentTypeAttribute,
    /// message-digest attribute wrong or missing.
    #[error("message-digest signed attribute does not match the TSTInfo")]
    MessageDigest,
    /// The signer's certificate could not be found.
    #[error("signer certificate not found in the token or the supplied certificates")]
    SignerCertificateNotFound,
    /// Neither ESSCertID nor ESSCertIDv2 present.
    #[error("no signing-certificate (ESSCertID/ESSCertIDv2) attribute")]
    EssMissing,
    /// The ESS attribute does not identify the signer certificate.
    #[error("{0} does not identify the signer certificate")]
    EssMismatch(&'static str),
    /// The signer certificate's EKU is not timeStamping only, critical.
    #[error("signer certificate extended key usage: {0}")]
    Eku(&'static str),
    /// The signature over the signed attributes does not verify.
    #[error("token signature: {0}")]
    Signature(SigError),
    /// No path to a trust anchor valid at the validation time.
    #[error("certificate chain: {0}")]
    Chain(#[from] ChainError),
    /// The imprint hash cannot be computed (e.g. MD5 with data given).
    #[error("imprint algorithm {0} cannot be computed; give the digest instead")]
    ImprintUncomputable(String),
}

impl Rfc3161Error {
    /// A short stable code for reports and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse(ParseError::BadTime) => "bad-time",
            Self::Parse(_) => "malformed",
            Self::Status { .. } | Self::NoToken => "status",
            Self::ContentType(_) | Self::ContentTypeAttribute => "content-type",
            Self::Version(_) => "version",
            Self::CriticalExtension(_) => "critical-extension",
            Self::ImprintAlgorithm { .. } | Self::ImprintMismatch { .. } | Self::ImprintUncomputable(_) => "imprint-mismatch",
            Self::NonceMismatch => "nonce-mismatch",
            Self::PolicyMismatch { .. } => "policy-mismatch",
            Self::SignerCount(_) | Self::NoSignedAttributes => "signer-info",
            Self::MessageDigest => "message-digest",
            Self::SignerCertificateNotFound => "signer-not-found",
            Self::EssMissing | Self::EssMismatch(_) => "ess-cert-id-mismatch",
            Self::Eku(_) => "eku",
            Self::Signature(_) => "signature",
            Self::Chain(e) if e.is_time() => "certificate-time",
            Self::Chain(_) => "untrusted-root",
        }
    }
}

/// A passed check, or a weakness, in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TsCheck {
    /// Stable name, e.g. `signature`.
    pub name: &'static str,
    /// `pass`, `weak`, `skipped` or `fail`.
    pub outcome: &'static str,
    /// What was established, or why not.
    pub detail: String,
}

/// The verdict of a token that verified.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum TimestampVerdict {
    /// Every check passed with strong algorithms.
    Valid,
    /// Every check passed, but with weak algorithms (named).
    ValidWeak {
        /// E.g. `sha1-signature`, `md5-imprint`.
        reasons: Vec<String>,
    },
}

/// Facts read from a token that verified (or as far as it was read).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenFacts {
    /// genTime, UTC.
    pub gen_time: UnixMillis,
    /// genTime as the TSA wrote it.
    pub gen_time_text: String,
    /// Serial number, hex (two's complement).
    pub serial_hex: String,
    /// TSA policy OID.
    pub policy: String,
    /// TSA name from TSTInfo, if any.
    pub tsa_name: Option<String>,
    /// Accuracy.
    pub accuracy: Option<token::Accuracy>,
    /// Nonce, hex.
    pub nonce_hex: Option<String>,
    /// Imprint algorithm and value.
    pub imprint: (String, String),
    /// Signer chain, leaf first (subjects).
    pub signer_chain: Vec<String>,
}

/// The full result: every check in order, the facts, and the outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampReport {
    /// Checks passed or flagged, then the failing one if any.
    pub checks: Vec<TsCheck>,
    /// Facts from the token, when it parsed.
    pub facts: Option<TokenFacts>,
    /// The outcome.
    pub outcome: Result<TimestampVerdict, Rfc3161Error>,
}

/// Verifies a DER `TimeStampResp`.
pub fn verify_response(bytes: &[u8], opts: &TimestampOptions<'_>) -> TimestampReport {
    let mut checks = Vec::new();
    let resp = match token::parse_response(bytes) {
        Ok(r) => r,
        Err(e) => return failed(checks, None, e.into()),
    };
    if !resp.status.is_granted() {
        let text = format!("{} {:?}", resp.status.text.join("; "), resp.status.fail_info_names());
        return failed(checks, None, Rfc3161Error::Status { status: resp.status.status_name(), text });
    }
    checks.push(pass("status", format!("the TSA answered {}", resp.status.status_name())));
    let Some(tok) = resp.token else { return failed(checks, None, Rfc3161Error::NoToken) };
    verify_parsed(&tok, opts, checks)
}

/// Verifies a DER `TimeStampToken`.
pub fn verify_token(bytes: &[u8], opts: &TimestampOptions<'_>) -> TimestampReport {
    match token::parse_token(bytes) {
        Ok(t) => verify_parsed(&t, opts, Vec::new()),
        Err(e) => failed(Vec::new(), None, e.into()),
    }
}

fn pass(name: &'static str, detail: String) -> TsCheck {
    TsCheck { name, outcome: "pass", detail }
}

fn failed(mut checks: Vec<TsCheck>, facts: Option<TokenFacts>, e: Rfc3161Error) -> TimestampReport {
    checks.push(TsCheck { name: e.code(), outcome: "fail", detail: e.to_string() });
    TimestampReport { checks, facts, outcome: Err(e) }
}

/// The certificate the signer identifies, among `pool`.
pub fn find_signer<'c>(sid: &SignerId, pool: &[&'c Certificate]) -> Option<&'c Certificate> {
    pool.iter().copied().find(|c| match sid {
        SignerId::IssuerSerial { issuer, serial } => c.issuer == *issuer && strip_int(&c.serial) == strip_int(serial),
        SignerId::KeyId(k) => c.subject_key_id().as_deref() == Some(k.as_slice()),
    })
}

fn strip_int(b: &[u8]) -> &[u8] {
    let mut b = b;
    while b.len() > 1 && b[0] == 0 && b[1] & 0x80 == 0 {
        b = &b[1..];
    }
    b
}

/// The topmost certificate reachable from the signer through the token's own certificates
/// (used when no independent anchor exists: proves signature and ESS binding, not trust).
pub fn embedded_chain_top(tok: &TimeStampToken) -> Option<Certificate> {
    let pool: Vec<&Certificate> = tok.certificates.iter().collect();
    let mut cur = find_signer(&tok.signer_infos.first()?.sid, &pool)?;
    for _ in 0..8 {
        let next = pool.iter().copied().find(|c| c.subject == cur.issuer && c.der != cur.der && pki::signed_by(cur, c).is_ok());
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    Some(cur.clone())
}

#[allow(clippy::too_many_lines)]
fn verify_parsed(tok: &TimeStampToken, opts: &TimestampOptions<'_>, mut checks: Vec<TsCheck>) -> TimestampReport {
    let tst = &tok.tst_info;
    let mut weak: Vec<String> = Vec::new();
    let imprint_alg = HashAlg::from_oid(&tst.imprint_algorithm.oid);
    let mut facts = TokenFacts {
        gen_time: tst.gen_time,
        gen_time_text: tst.gen_time_text.clone(),
        serial_hex: hex::encode(&tst.serial),
        policy: tst.policy.clone(),
        tsa_name: tst.tsa_name.clone(),
        accuracy: tst.accuracy,
        nonce_hex: tst.nonce.as_ref().map(hex::encode),
        imprint: (imprint_alg.map_or_else(|| tst.imprint_algorithm.oid.clone(), |a| a.name().to_owned()), hex::encode(&tst.imprint)),
        signer_chain: Vec::new(),
    };
    macro_rules! fail {
        ($e:expr) => {
            return failed(checks, Some(facts), $e)
        };
    }
    // Content.
    if tok.content_type != oids::CT_TST_INFO {
        fail!(Rfc3161Error::ContentType(tok.content_type.clone()));
    }
    if tst.version != 1 {
        fail!(Rfc3161Error::Version(tst.version));
    }
    if let Some(e) = tst.extensions.iter().find(|e| e.critical) {
        fail!(Rfc3161Error::CriticalExtension(e.oid.clone()));
    }
    checks.push(pass("content", format!("TSTInfo v1, policy {}, serial {}, genTime {}", tst.policy, facts.serial_hex, tst.gen_time_text)));

    // Imprint.
    match opts.imprint {
        Some(Imprint::Data(data)) => {
            let Some(alg) = imprint_alg else {
                fail!(Rfc3161Error::ImprintAlgorithm { found: tst.imprint_algorithm.oid.clone(), expected: "a known hash".into() })
            };
            let Some(d) = alg.digest(data) else { fail!(Rfc3161Error::ImprintUncomputable(alg.name().into())) };
            if d != tst.imprint {
                fail!(Rfc3161Error::ImprintMismatch { token: hex::encode(&tst.imprint), data: hex::encode(d) });
            }
            checks.push(pass("imprint", format!("the token stamps the {} of the data", alg.name())));
        }
        Some(Imprint::Digest { alg, digest }) => {
            if imprint_alg != Some(alg) {
                fail!(Rfc3161Error::ImprintAlgorithm { found: tst.imprint_algorithm.oid.clone(), expected: alg.oid().into() });
            }
            if digest != tst.imprint.as_slice() {
                fail!(Rfc3161Error::ImprintMismatch { token: hex::encode(&tst.imprint), data: hex::encode(digest) });
            }
            checks.push(pass("imprint", format!("the token stamps the given {} digest", alg.name())));
        }
        None => checks.push(TsCheck {
            name: "imprint",
            outcome: "skipped",
            detail: "no data or digest given: the token's content was not compared".into(),
        }),
    }
    if let Some(alg) = imprint_alg
        && alg.is_weak()
    {
        weak.push(format!("{}-imprint", alg.name()));
    }
    // Request.
    if let Some(req) = opts.request {
        if req.imprint_algorithm != tst.imprint_algorithm.oid || req.imprint != tst.imprint {
            fail!(Rfc3161Error::ImprintMismatch { token: hex::encode(&tst.imprint), data: hex::encode(&req.imprint) });
        }
        if let Some(n) = &req.nonce
            && tst.nonce.as_deref().map(strip_int) != Some(strip_int(n))
        {
            fail!(Rfc3161Error::NonceMismatch);
        }
        if let Some(p) = &req.policy
            && *p != tst.policy
        {
            fail!(Rfc3161Error::PolicyMismatch { found: tst.policy.clone(), requested: p.clone() });
        }
        checks.push(pass("request", "imprint, nonce and policy match the request".into()));
    }
    // Signer info and signed attributes.
    if tok.signer_infos.len() != 1 {
        fail!(Rfc3161Error::SignerCount(tok.signer_infos.len()));
    }
    let si = &tok.signer_infos[0];
    let Some(attrs_der) = &si.signed_attrs_der else { fail!(Rfc3161Error::NoSignedAttributes) };
    let attr = |oid: &str| si.signed_attrs.iter().find(|a| a.oid == oid);
    let ct_ok = attr(oids::ATTR_CONTENT_TYPE)
        .and_then(|a| a.values.first())
        .and_then(|v| ber::parse_one(v).ok())
        .and_then(|t| t.oid().ok())
        .is_some_and(|o| o.dotted() == oids::CT_TST_INFO);
    if !ct_ok {
        fail!(Rfc3161Error::ContentTypeAttribute);
    }
    let Some(digest_alg) = HashAlg::from_oid(&si.digest_algorithm.oid) else {
        fail!(Rfc3161Error::Signature(SigError::UnsupportedAlgorithm { oid: si.digest_algorithm.oid.clone() }))
    };
    let md =
        attr(oids::ATTR_MESSAGE_DIGEST).and_then(|a| a.values.first()).and_then(|v| ber::parse_one(v).ok()).and_then(|t| t.octets().ok());
    if md.as_deref() != digest_alg.digest(&tok.content).as_deref() {
        fail!(Rfc3161Error::MessageDigest);
    }
    checks.push(pass(
        "signed-attributes",
        format!("content-type is id-ct-TSTInfo; message-digest is the {} of the TSTInfo", digest_alg.name()),
    ));

    // Signer certificate, by sid.
    let pool: Vec<&Certificate> = tok.certificates.iter().chain(opts.untrusted).chain(opts.trust_anchors).collect();
    let Some(signer) = find_signer(&si.sid, &pool) else { fail!(Rfc3161Error::SignerCertificateNotFound) };
    facts.signer_chain.push(signer.subject_text());

    // ESS binding (RFC 2634 / RFC 5035): every present attribute must name the signer.
    let v1 = attr(oids::ATTR_SIGNING_CERT);
    let v2 = attr(oids::ATTR_SIGNING_CERT_V2);
    if v1.is_none() && v2.is_none() {
        fail!(Rfc3161Error::EssMissing);
    }
    if let Some(a) = v1 {
        match ess_first_cert(a, false) {
            Some((HashAlg::Sha1, hash, issuer_serial))
                if HashAlg::Sha1.digest(&signer.der).as_deref() == Some(hash.as_slice())
                    && issuer_serial_matches(issuer_serial.as_deref(), signer) => {}
            _ => fail!(Rfc3161Error::EssMismatch("ESSCertID (signingCertificate)")),
        }
    }
    if let Some(a) = v2 {
        match ess_first_cert(a, true) {
            Some((alg, hash, issuer_serial))
                if alg.digest(&signer.der).as_deref() == Some(hash.as_slice())
                    && issuer_serial_matches(issuer_serial.as_deref(), signer) => {}
            _ => fail!(Rfc3161Error::EssMismatch("ESSCertIDv2 (signingCertificateV2)")),
        }
    }
    checks.push(pass("ess-binding", format!("the signed attributes bind certificate {}", signer.subject_text())));

    // EKU: id-kp-timeStamping only, critical (RFC 3161 §2.3).
    match signer.extended_key_usage() {
        None => fail!(Rfc3161Error::Eku("no extendedKeyUsage extension")),
        Some((false, _)) => fail!(Rfc3161Error::Eku("extendedKeyUsage is not critical")),
        Some((true, u)) if u.len() != 1 || u[0] != oids::KP_TIME_STAMPING => fail!(Rfc3161Error::Eku("must be id-kp-timeStamping only")),
        Some(_) => checks.push(pass("eku", "the signer certificate is for time-stamping only (critical EKU)".into())),
    }

    // Signature over the signed attributes as encoded.
    match pki::verify_signature(
        &signer.spki_algorithm,
        &signer.public_key,
        &si.signature_algorithm,
        Some(digest_alg),
        attrs_der,
        &si.signature,
    ) {
        Ok(used) => {
            if used.hash.is_weak() {
                weak.push(format!("{}-signature", used.hash.name()));
            }
            checks.push(pass("signature", format!("{} over the signed attributes with {}", used.scheme, used.hash.name())));
        }
        Err(e) => fail!(Rfc3161Error::Signature(e)),
    }

    // Chain to a trust anchor, validated at genTime (or the given time).
    let at = match opts.at {
        ValidationTime::GenTime => tst.gen_time,
        ValidationTime::At(t) => t,
    };
    match pki::build_path(signer, &pool, opts.trust_anchors, at) {
        Ok(path) => {
            for link in path.iter().skip(1) {
                facts.signer_chain.push(link.cert.subject_text());
                if link.signature.is_some_and(|u: SigUsed| u.hash.is_weak()) {
                    weak.push("sha1-certificate-signature".into());
                }
            }
            let when = if opts.at == ValidationTime::GenTime { "genTime" } else { "the given time" };
            checks.push(pass(
                "chain",
                format!(
                    "{} certificate(s) up to trust anchor {}, each valid at {when} {at}",
                    path.len(),
                    path.last().map_or_else(String::new, |l| l.cert.subject_text())
                ),
            ));
        }
        Err(e) => fail!(Rfc3161Error::Chain(e)),
    }
    weak.sort();
    weak.dedup();
    // The signature's weakness is what matters most; MD5 imprints are weaker still.
    weak.sort_by_key(|w| match w.as_str() {
        "md5-imprint" => 0,
        "sha1-signature" => 1,
        _ => 2,
    });
    let verdict = if weak.is_empty() { TimestampVerdict::Valid } else { TimestampVerdict::ValidWeak { reasons: weak } };
    TimestampReport { checks, facts: Some(facts), outcome: Ok(verdict) }
}

type EssId = (HashAlg, Vec<u8>, Option<Vec<u8>>);

/// The first ESSCertID(v2) of a signing-certificate attribute: hash alg, hash, raw IssuerSerial.
fn ess_first_cert(a: &token::Attribute, v2: bool) -> Option<EssId> {
    let v = ber::parse_one(a.values.first()?).ok()?;
    let certs = v.seq().next("certs").ok()?;
    let first = certs.children().next()?.ok()?;
    let mut s = first.seq();
    let alg = if v2 {
        match s.optional(ber::tag::SEQUENCE).ok()? {
            Some(alg) => HashAlg::from_oid(&crate::pki::AlgorithmId::parse(alg).ok()?.oid)?,
            None => HashAlg::Sha256,
        }
    } else {
        HashAlg::Sha1
    };
    let hash = s.next("certHash").ok()?.octets().ok()?.into_owned();
    let issuer_serial = s.optional(ber::tag::SEQUENCE).ok()?.map(|t| t.raw.to_vec());
    Some((alg, hash, issuer_serial))
}

fn issuer_serial_matches(raw: Option<&[u8]>, cert: &Certificate) -> bool {
    let Some(raw) = raw else { return true };
    let Ok(t) = ber::parse_one(raw) else { return false };
    let mut s = t.seq();
    let (Ok(names), Ok(serial)) = (s.next("issuer"), s.next("serialNumber")) else { return false };
    let name_ok = names
        .children()
        .flatten()
        .any(|gn| gn.tag == ber::tag::ctx_c(4) && gn.seq().next("Name").is_ok_and(|n| n.raw == cert.issuer.as_slice()));
    name_ok && serial.integer_bytes().is_ok_and(|b| strip_int(b) == strip_int(&cert.serial))
}
