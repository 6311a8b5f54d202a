//! Parsing of `TimeStampResp`, `TimeStampToken` (CMS `SignedData`), `TSTInfo` and `TimeStampReq`.
//!
//! ```text
//! TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
//! PKIStatusInfo ::= SEQUENCE { status INTEGER, statusString SEQUENCE OF UTF8String OPTIONAL,
//!                              failInfo BIT STRING OPTIONAL }
//! TimeStampToken ::= ContentInfo  -- contentType id-signedData, content [0] EXPLICIT SignedData
//! SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE {
//!     eContentType OID, eContent [0] EXPLICIT OCTET STRING }, certificates [0] IMPLICIT SET OPTIONAL,
//!     crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo }
//! SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT SET OPTIONAL,
//!     signatureAlgorithm, signature OCTET STRING, unsignedAttrs [1] IMPLICIT SET OPTIONAL }
//! TSTInfo ::= SEQUENCE { version INTEGER { v1(1) }, policy OID, messageImprint MessageImprint,
//!     serialNumber INTEGER, genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
//!     ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL, tsa [0] GeneralName OPTIONAL,
//!     extensions [1] IMPLICIT Extensions OPTIONAL }
//! ```
//! (RFC 3161 §2.4.1, §2.4.2; RFC 5652 §5.)
//!
//! Tolerance: BER indefinite lengths and constructed OCTET STRINGs are read; entries of the
//! certificate set that are not X.509 certificates (attribute certificates, `[1]`..`[3]`
//! choices) are skipped and counted; CRLs are ignored. Strictness: wrong tags, truncation,
//! and bytes after the outer structure are errors.

use crate::ber::{self, BerError, Tlv, tag};
use crate::oids;
use crate::pki::{AlgorithmId, Certificate, Extension, parse_time};
use crate::types::UnixMillis;

/// The largest response or token accepted.
pub const MAX_TOKEN_BYTES: usize = 1 << 20;

/// How a signer identifies its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerId {
    /// Issuer `Name` (as encoded) and serial number content bytes.
    IssuerSerial {
        /// Issuer name DER.
        issuer: Vec<u8>,
        /// Serial content bytes.
        serial: Vec<u8>,
    },
    /// Subject key identifier.
    KeyId(Vec<u8>),
}

/// One signed attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted OID.
    pub oid: String,
    /// Each value's full encoding.
    pub values: Vec<Vec<u8>>,
}

/// A CMS SignerInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerInfo {
    /// Which certificate signed.
    pub sid: SignerId,
    /// The digest algorithm for the content and attributes.
    pub digest_algorithm: AlgorithmId,
    /// The signed attributes exactly as encoded, re-tagged as a SET (0x31): what was signed.
    pub signed_attrs_der: Option<Vec<u8>>,
    /// The signed attributes, parsed.
    pub signed_attrs: Vec<Attribute>,
    /// The signature algorithm.
    pub signature_algorithm: AlgorithmId,
    /// The signature.
    pub signature: Vec<u8>,
}

/// A parsed time-stamp token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampToken {
    /// The token as received.
    pub der: Vec<u8>,
    /// `eContentType`.
    pub content_type: String,
    /// `eContent`'s octets (the TSTInfo DER).
    pub content: Vec<u8>,
    /// The X.509 certificates it carries, in order.
    pub certificates: Vec<Certificate>,
    /// Certificate-set entries that were not X.509 certificates (skipped).
    pub skipped_certificate_entries: usize,
    /// The signer infos.
    pub signer_infos: Vec<SignerInfo>,
    /// The parsed TSTInfo.
    pub tst_info: TstInfo,
}

/// RFC 3161 accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct Accuracy {
    /// Seconds.
    pub seconds: u64,
    /// Milliseconds.
    pub millis: u64,
    /// Microseconds.
    pub micros: u64,
}

/// A parsed TSTInfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TstInfo {
    /// Version (must be 1 to verify).
    pub version: u64,
    /// TSA policy OID.
    pub policy: String,
    /// Imprint hash algorithm.
    pub imprint_algorithm: AlgorithmId,
    /// Imprint value.
    pub imprint: Vec<u8>,
    /// Serial number content bytes (may be negative: some TSAs do that).
    pub serial: Vec<u8>,
    /// genTime.
    pub gen_time: UnixMillis,
    /// genTime as written.
    pub gen_time_text: String,
    /// Accuracy.
    pub accuracy: Option<Accuracy>,
    /// Ordering.
    pub ordering: bool,
    /// Nonce content bytes.
    pub nonce: Option<Vec<u8>>,
    /// TSA name, when present, as text.
    pub tsa_name: Option<String>,
    /// Extensions.
    pub extensions: Vec<Extension>,
}

/// `PKIStatusInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    /// 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4 revocationWarning, 5 revocationNotification.
    pub status: u64,
    /// Free text.
    pub text: Vec<String>,
    /// failInfo bits set (bit numbers as in RFC 3161: 0 badAlg, 2 badRequest, 5 badDataFormat, ...).
    pub fail_info: Vec<u32>,
}

impl StatusInfo {
    /// True for granted and grantedWithMods.
    pub fn is_granted(&self) -> bool {
        self.status <= 1
    }

    /// The status name.
    pub fn status_name(&self) -> &'static str {
        match self.status {
            0 => "granted",
            1 => "grantedWithMods",
            2 => "rejection",
            3 => "waiting",
            4 => "revocationWarning",
            5 => "revocationNotification",
            _ => "unknown",
        }
    }

    /// failInfo bits by name.
    pub fn fail_info_names(&self) -> Vec<&'static str> {
        self.fail_info
            .iter()
            .map(|b| match b {
                0 => "badAlg",
                2 => "badRequest",
                5 => "badDataFormat",
                14 => "timeNotAvailable",
                15 => "unacceptedPolicy",
                16 => "unacceptedExtension",
                17 => "addInfoNotAvailable",
                25 => "systemFailure",
                _ => "unknown",
            })
            .collect()
    }
}

/// A parsed `TimeStampResp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampResponse {
    /// The status.
    pub status: StatusInfo,
    /// The token, when granted.
    pub token: Option<TimeStampToken>,
}

/// Why bytes are not a time-stamp structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Malformed encoding.
    #[error("malformed ASN.1: {0}")]
    Ber(#[from] BerError),
    /// Larger than [`MAX_TOKEN_BYTES`].
    #[error("{0} bytes is over the {MAX_TOKEN_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not a SignedData token.
    #[error("content type {0} is not id-signedData")]
    NotSignedData(String),
    /// genTime is not a valid GeneralizedTime.
    #[error("genTime is not a valid GeneralizedTime")]
    BadTime,
}

fn check_size(b: &[u8]) -> Result<(), ParseError> {
    if b.len() > MAX_TOKEN_BYTES { Err(ParseError::TooLarge(b.len())) } else { Ok(()) }
}

/// Parses a `TimeStampResp`.
///
/// # Errors
/// [`ParseError`].
pub fn parse_response(bytes: &[u8]) -> Result<TimeStampResponse, ParseError> {
    check_size(bytes)?;
    let t = ber::parse_one(bytes)?.expect(tag::SEQUENCE, "TimeStampResp")?;
    let mut s = t.seq();
    let st = s.next_tag(tag::SEQUENCE, "PKIStatusInfo")?;
    let mut ss = st.seq();
    let status = ss.next("status")?.small_uint()?;
    let mut text = Vec::new();
    if let Some(strings) = ss.optional(tag::SEQUENCE)? {
        for x in strings.children() {
            text.push(String::from_utf8_lossy(x?.content).into_owned());
        }
    }
    let mut fail_info = Vec::new();
    if let Some(bits) = ss.optional(tag::BIT_STRING)?
        && let Some((_, rest)) = bits.content.split_first()
    {
        {
            for (i, byte) in rest.iter().enumerate().take(8) {
                for bit in 0..8u32 {
                    if byte & (0x80 >> bit) != 0 {
                        fail_info.push(u32::try_from(i).unwrap_or(0) * 8 + bit);
                    }
                }
            }
        }
    }
    ss.finish("end of PKIStatusInfo")?;
    let token = match s.optional(tag::SEQUENCE)? {
        Some(tok) => Some(parse_token_tlv(tok)?),
        None => None,
    };
    s.finish("end of TimeStampResp")?;
    Ok(TimeStampResponse { status: StatusInfo { status, text, fail_info }, token })
}

/// Parses a bare `TimeStampToken`.
///
/// # Errors
/// [`ParseError`].
pub fn parse_token(bytes: &[u8]) -> Result<TimeStampToken, ParseError> {
    check_size(bytes)?;
    parse_token_tlv(ber::parse_one(bytes)?)
}

pub(crate) fn parse_token_tlv(t: Tlv<'_>) -> Result<TimeStampToken, ParseError> {
    let t = t.expect(tag::SEQUENCE, "ContentInfo")?;
    let mut s = t.seq();
    let ct = s.next("contentType")?.oid()?.dotted();
    if ct != oids::SIGNED_DATA {
        return Err(ParseError::NotSignedData(ct));
    }
    let sd = s.next_tag(tag::ctx_c(0), "[0] content")?.seq().next_tag(tag::SEQUENCE, "SignedData")?;
    s.finish("end of ContentInfo")?;
    let mut sds = sd.seq();
    let _version = sds.next("version")?.small_uint()?;
    let _digest_algs = sds.next_tag(tag::SET, "digestAlgorithms")?;
    let eci = sds.next_tag(tag::SEQUENCE, "encapContentInfo")?;
    let mut es = eci.seq();
    let content_type = es.next("eContentType")?.oid()?.dotted();
    let content = match es.optional(tag::ctx_c(0))? {
        Some(w) => w.seq().next("eContent")?.octets()?.into_owned(),
        None => Vec::new(),
    };
    es.finish("end of EncapsulatedContentInfo")?;
    let mut certificates = Vec::new();
    let mut skipped = 0;
    if let Some(set) = sds.optional(tag::ctx_c(0))? {
        for c in set.children() {
            let c = c?;
            if c.tag == tag::SEQUENCE {
                match Certificate::from_tlv(c) {
                    Ok(cert) => certificates.push(cert),
                    Err(_) => skipped += 1,
                }
            } else {
                skipped += 1; // attribute certificates and other CertificateChoices
            }
        }
    }
    let _ = sds.optional(tag::ctx_c(1))?; // CRLs: not used for verification at genTime
    let sis = sds.next_tag(tag::SET, "signerInfos")?;
    sds.finish("end of SignedData")?;
    let mut signer_infos = Vec::new();
    for si in sis.children() {
        signer_infos.push(parse_signer_info(si?)?);
    }
    let tst_info = parse_tst_info(&content)?;
    Ok(TimeStampToken {
        der: t.raw.to_vec(),
        content_type,
        content,
        certificates,
        skipped_certificate_entries: skipped,
        signer_infos,
        tst_info,
    })
}

fn parse_signer_info(t: Tlv<'_>) -> Result<SignerInfo, ParseError> {
    let t = t.expect(tag::SEQUENCE, "SignerInfo")?;
    let mut s = t.seq();
    let _version = s.next("version")?.small_uint()?;
    let sid_t = s.next("sid")?;
    let sid = match sid_t.tag {
        tag::SEQUENCE => {
            let mut is = sid_t.seq();
            let issuer = is.next_tag(tag::SEQUENCE, "issuer")?.raw.to_vec();
            let serial = is.next("serialNumber")?.integer_bytes()?.to_vec();
            is.finish("end of IssuerAndSerialNumber")?;
            SignerId::IssuerSerial { issuer, serial }
        }
        0x80 => SignerId::KeyId(sid_t.content.to_vec()),
        found => return Err(BerError::Unexpected { offset: sid_t.offset, expected: "SignerIdentifier", found }.into()),
    };
    let digest_algorithm = AlgorithmId::parse(s.next("digestAlgorithm")?)?;
    let mut signed_attrs = Vec::new();
    let signed_attrs_der = match s.optional(tag::ctx_c(0))? {
        Some(a) => {
            for attr in a.children() {
                let attr = attr?.expect(tag::SEQUENCE, "Attribute")?;
                let mut as_ = attr.seq();
                let oid = as_.next("attrType")?.oid()?.dotted();
                let vals = as_.next_tag(tag::SET, "attrValues")?;
                let values = vals.children().map(|v| v.map(|v| v.raw.to_vec())).collect::<Result<Vec<_>, _>>()?;
                signed_attrs.push(Attribute { oid, values });
            }
            let mut der = a.raw.to_vec();
            der[0] = tag::SET; // [0] IMPLICIT -> SET OF, the bytes otherwise as encoded
            Some(der)
        }
        None => None,
    };
    let signature_algorithm = AlgorithmId::parse(s.next("signatureAlgorithm")?)?;
    let signature = s.next("signature")?.octets()?.into_owned();
    let _ = s.optional(tag::ctx_c(1))?;
    s.finish("end of SignerInfo")?;
    Ok(SignerInfo { sid, digest_algorithm, signed_attrs_der, signed_attrs, signature_algorithm, signature })
}

/// Parses a `TSTInfo`.
///
/// # Errors
/// [`ParseError`]; [`ParseError::BadTime`] for a malformed genTime.
pub fn parse_tst_info(bytes: &[u8]) -> Result<TstInfo, ParseError> {
    check_size(bytes)?;
    let t = ber::parse_one(bytes)?.expect(tag::SEQUENCE, "TSTInfo")?;
    let mut s = t.seq();
    let version = s.next("version")?.small_uint()?;
    let policy = s.next("policy")?.oid()?.dotted();
    let mi = s.next_tag(tag::SEQUENCE, "messageImprint")?;
    let mut ms = mi.seq();
    let imprint_algorithm = AlgorithmId::parse(ms.next("hashAlgorithm")?)?;
    let imprint = ms.next("hashedMessage")?.octets()?.into_owned();
    ms.finish("end of MessageImprint")?;
    let serial = s.next("serialNumber")?.integer_bytes()?.to_vec();
    let gt = s.next_tag(tag::GENERALIZED_TIME, "genTime")?;
    let gen_time = parse_time(gt).map_err(|_| ParseError::BadTime)?;
    let gen_time_text = String::from_utf8_lossy(gt.content).into_owned();
    let accuracy = match s.optional(tag::SEQUENCE)? {
        Some(a) => {
            let mut acc = Accuracy::default();
            for f in a.children() {
                let f = f?;
                let v = |f: Tlv<'_>| -> Result<u64, BerError> {
                    let b = f.content;
                    if b.is_empty() || b.len() > 8 || b[0] & 0x80 != 0 {
                        return Err(BerError::Invalid { offset: f.offset, what: "accuracy" });
                    }
                    Ok(b.iter().fold(0, |a, x| (a << 8) | u64::from(*x)))
                };
                match f.tag {
                    tag::INTEGER => acc.seconds = v(f)?,
                    0x80 => acc.millis = v(f)?,
                    0x81 => acc.micros = v(f)?,
                    found => return Err(BerError::Unexpected { offset: f.offset, expected: "Accuracy field", found }.into()),
                }
            }
            Some(acc)
        }
        None => None,
    };
    let ordering = s.optional(tag::BOOLEAN)?.is_some_and(|b| b.content.first().is_some_and(|x| *x != 0));
    let nonce = s.optional(tag::INTEGER)?.map(|n| n.content.to_vec());
    let tsa_name = match s.optional(tag::ctx_c(0))? {
        Some(g) => {
            let gn = g.seq().next("GeneralName")?;
            Some(if gn.tag == tag::ctx_c(4) {
                crate::pki::name_text(gn.seq().next("Name")?.raw)
            } else {
                String::from_utf8_lossy(gn.content).into_owned()
            })
        }
        None => None,
    };
    let mut extensions = Vec::new();
    if let Some(e) = s.optional(tag::ctx_c(1))? {
        for ext in e.children() {
            let ext = ext?.expect(tag::SEQUENCE, "Extension")?;
            let mut es = ext.seq();
            let oid = es.next("extnID")?.oid()?.dotted();
            let critical = es.optional(tag::BOOLEAN)?.is_some_and(|b| b.content.first().is_some_and(|x| *x != 0));
            let value = es.next_tag(tag::OCTET_STRING, "extnValue")?.content.to_vec();
            extensions.push(Extension { oid, critical, value });
        }
    }
    s.finish("end of TSTInfo")?;
    Ok(TstInfo {
        version,
        policy,
        imprint_algorithm,
        imprint,
        serial,
        gen_time,
        gen_time_text,
        accuracy,
        ordering,
        nonce,
        tsa_name,
        extensions,
    })
}

/// A parsed `TimeStampReq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampRequest {
    /// The request as encoded.
    pub der: Vec<u8>,
    /// Imprint hash algorithm OID.
    pub imprint_algorithm: String,
    /// Imprint value.
    pub imprint: Vec<u8>,
    /// Requested policy.
    pub policy: Option<String>,
    /// Nonce content bytes.
    pub nonce: Option<Vec<u8>>,
    /// certReq.
    pub cert_req: bool,
}

/// Parses a `TimeStampReq`.
///
/// # Errors
/// [`ParseError`].
pub fn parse_request(bytes: &[u8]) -> Result<TimeStampRequest, ParseError> {
    check_size(bytes)?;
    let t = ber::parse_one(bytes)?.expect(tag::SEQUENCE, "TimeStampReq")?;
    let mut s = t.seq();
    let version = s.next("version")?.small_uint()?;
    if version != 1 {
        return Err(BerError::Invalid { offset: t.offset, what: "TimeStampReq version" }.into());
    }
    let mi = s.next_tag(tag::SEQUENCE, "messageImprint")?;
    let mut ms = mi.seq();
    let imprint_algorithm = AlgorithmId::parse(ms.next("hashAlgorithm")?)?.oid;
    let imprint = ms.next("hashedMessage")?.octets()?.into_owned();
    ms.finish("end of MessageImprint")?;
    let policy = s.optional(tag::OID)?.map(|o| o.oid().map(|o| o.dotted())).transpose()?;
    let nonce = s.optional(tag::INTEGER)?.map(|n| n.content.to_vec());
    let cert_req = s.optional(tag::BOOLEAN)?.is_some_and(|b| b.content.first().is_some_and(|x| *x != 0));
    let _ = s.optional(tag::ctx_c(0))?;
    s.finish("end of TimeStampReq")?;
    Ok(TimeStampRequest { der: t.raw.to_vec(), imprint_algorithm, imprint, policy, nonce, cert_req })
}

/// A time-stamp token found in a CMS signature, and the signature value it stamps.
pub type StampedSignature = (Vec<u8>, Vec<u8>);

/// The time-stamp tokens carried as unsigned `id-aa-timeStampToken` attributes of a CMS
/// `SignedData` (e.g. a detached signature), each with the signature value it stamps.
///
/// # Errors
/// [`ParseError`].
pub fn tokens_in_signed_data(bytes: &[u8]) -> Result<Vec<StampedSignature>, ParseError> {
    check_size(bytes)?;
    let t = ber::parse_one(bytes)?.expect(tag::SEQUENCE, "ContentInfo")?;
    let mut s = t.seq();
    let ct = s.next("contentType")?.oid()?.dotted();
    if ct != oids::SIGNED_DATA {
        return Err(ParseError::NotSignedData(ct));
    }
    let sd = s.next_tag(tag::ctx_c(0), "[0] content")?.seq().next_tag(tag::SEQUENCE, "SignedData")?;
    let mut out = Vec::new();
    let sis = sd
        .seq()
        .rest()?
        .into_iter()
        .rev()
        .find(|x| x.tag == tag::SET)
        .ok_or(BerError::Missing { offset: sd.offset, expected: "signerInfos" })?;
    for si in sis.children() {
        let si = si?;
        let mut signature = Vec::new();
        for f in si.children() {
            let f = f?;
            if f.tag == tag::OCTET_STRING || f.tag == tag::OCTET_STRING_C {
                signature = f.octets()?.into_owned();
            }
            if f.tag == tag::ctx_c(1) {
                for attr in f.children() {
                    let attr = attr?;
                    let mut a = attr.seq();
                    if a.next("attrType")?.oid()?.dotted() == oids::ATTR_TIME_STAMP_TOKEN {
                        for v in a.next_tag(tag::SET, "attrValues")?.children() {
                            out.push((v?.raw.to_vec(), signature.clone()));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
