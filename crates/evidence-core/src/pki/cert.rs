//! X.509 certificates as far as both rails need them, read with the tolerant BER reader so
//! that every original byte (the whole certificate, the signed `tbsCertificate`) is kept
//! exactly: signatures are checked over the bytes as encoded, never re-encoded.

use crate::ber::{self, BerError, Tlv, tag};
use crate::oids;
use crate::types::UnixMillis;

/// An `AlgorithmIdentifier`: the OID in dotted form and the raw parameters, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmId {
    /// Dotted OID.
    pub oid: String,
    /// The parameters' full encoding (absent, or e.g. NULL, or RSASSA-PSS-params).
    pub params: Option<Vec<u8>>,
}

impl AlgorithmId {
    pub(crate) fn parse(t: Tlv<'_>) -> Result<Self, BerError> {
        let t = t.expect(tag::SEQUENCE, "AlgorithmIdentifier")?;
        let mut s = t.seq();
        let oid = s.next("algorithm")?.oid()?.dotted();
        let rest = s.rest()?;
        let params = match rest.as_slice() {
            [] => None,
            [p] => Some(p.raw.to_vec()),
            [_, extra, ..] => {
                return Err(BerError::Unexpected { offset: extra.offset, expected: "end of AlgorithmIdentifier", found: extra.tag });
            }
        };
        Ok(Self { oid, params })
    }
}

/// An extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Dotted OID.
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// The `extnValue` content.
    pub value: Vec<u8>,
}

/// A parsed certificate. `der` is the certificate exactly as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The whole certificate, as encoded.
    pub der: Vec<u8>,
    /// `tbsCertificate` as encoded (what the issuer signed).
    pub tbs: Vec<u8>,
    /// The outer signature algorithm.
    pub signature_algorithm: AlgorithmId,
    /// The issuer's signature.
    pub signature: Vec<u8>,
    /// Serial number content bytes (two's complement).
    pub serial: Vec<u8>,
    /// Issuer `Name`, as encoded.
    pub issuer: Vec<u8>,
    /// Subject `Name`, as encoded.
    pub subject: Vec<u8>,
    /// Validity start.
    pub not_before: UnixMillis,
    /// Validity end.
    pub not_after: UnixMillis,
    /// `SubjectPublicKeyInfo` algorithm.
    pub spki_algorithm: AlgorithmId,
    /// The public key bits.
    pub public_key: Vec<u8>,
    /// Extensions.
    pub extensions: Vec<Extension>,
}

/// The largest certificate accepted.
pub const MAX_CERT_BYTES: usize = 64 * 1024;

impl Certificate {
    /// Parses one DER (or BER) certificate that spans all of `der`.
    ///
    /// # Errors
    /// [`BerError`] with the offset of the problem.
    pub fn from_der(der: &[u8]) -> Result<Self, BerError> {
        if der.len() > MAX_CERT_BYTES {
            return Err(BerError::Invalid { offset: 0, what: "certificate larger than 64 KiB" });
        }
        Self::from_tlv(ber::parse_one(der)?)
    }

    pub(crate) fn from_tlv(t: Tlv<'_>) -> Result<Self, BerError> {
        let t = t.expect(tag::SEQUENCE, "Certificate")?;
        let mut s = t.seq();
        let tbs = s.next_tag(tag::SEQUENCE, "tbsCertificate")?;
        let signature_algorithm = AlgorithmId::parse(s.next("signatureAlgorithm")?)?;
        let signature = bit_string(s.next_tag(tag::BIT_STRING, "signatureValue")?)?.to_vec();
        s.finish("end of Certificate")?;

        let mut ts = tbs.seq();
        if let Some(v) = ts.optional(tag::ctx_c(0))? {
            let n = v.seq().next("version")?.small_uint()?;
            if n > 2 {
                return Err(BerError::Invalid { offset: v.offset, what: "certificate version" });
            }
        }
        let serial = ts.next("serialNumber")?.integer_bytes()?.to_vec();
        let _inner_alg = AlgorithmId::parse(ts.next("signature")?)?;
        let issuer = ts.next_tag(tag::SEQUENCE, "issuer")?.raw.to_vec();
        let validity = ts.next_tag(tag::SEQUENCE, "validity")?;
        let mut vs = validity.seq();
        let not_before = parse_time(vs.next("notBefore")?)?;
        let not_after = parse_time(vs.next("notAfter")?)?;
        vs.finish("end of Validity")?;
        let subject = ts.next_tag(tag::SEQUENCE, "subject")?.raw.to_vec();
        let spki = ts.next_tag(tag::SEQUENCE, "subjectPublicKeyInfo")?;
        let mut ps = spki.seq();
        let spki_algorithm = AlgorithmId::parse(ps.next("algorithm")?)?;
        let public_key = bit_string(ps.next_tag(tag::BIT_STRING, "subjectPublicKey")?)?.to_vec();
        ps.finish("end of SubjectPublicKeyInfo")?;
        let _ = ts.optional(tag::ctx_p(1))?;
        let _ = ts.optional(tag::ctx_p(2))?;
        let mut extensions = Vec::new();
        if let Some(e) = ts.optional(tag::ctx_c(3))? {
            let list = e.seq().next_tag(tag::SEQUENCE, "Extensions")?;
            for ext in list.children() {
                let ext = ext?.expect(tag::SEQUENCE, "Extension")?;
                let mut es = ext.seq();
                let oid = es.next("extnID")?.oid()?.dotted();
                let critical = match es.optional(tag::BOOLEAN)? {
                    Some(b) => b.content.first().is_some_and(|x| *x != 0),
                    None => false,
                };
                let value = es.next_tag(tag::OCTET_STRING, "extnValue")?.content.to_vec();
                es.finish("end of Extension")?;
                extensions.push(Extension { oid, critical, value });
            }
        }
        ts.finish("end of TBSCertificate")?;
        Ok(Self {
            der: t.raw.to_vec(),
            tbs: tbs.raw.to_vec(),
            signature_algorithm,
            signature,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki_algorithm,
            public_key,
            extensions,
        })
    }

    /// The extension with this OID.
    pub fn extension(&self, oid: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    /// True when basicConstraints says cA.
    pub fn is_ca(&self) -> bool {
        self.extension(oids::BASIC_CONSTRAINTS).is_some_and(|e| {
            ber::parse_one(&e.value)
                .ok()
                .and_then(|t| t.seq().optional(tag::BOOLEAN).ok().flatten())
                .is_some_and(|b| b.content.first().is_some_and(|x| *x != 0))
        })
    }

    /// The extended key usages and whether the extension is critical.
    pub fn extended_key_usage(&self) -> Option<(bool, Vec<String>)> {
        let e = self.extension(oids::EXT_KEY_USAGE)?;
        let t = ber::parse_one(&e.value).ok()?;
        let usages = t.children().map(|c| c.and_then(|c| c.oid()).map(|o| o.dotted())).collect::<Result<Vec<_>, _>>().ok()?;
        Some((e.critical, usages))
    }

    /// The subjectKeyIdentifier, if present.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        let e = self.extension(oids::SUBJECT_KEY_ID)?;
        ber::parse_one(&e.value).ok()?.octets().ok().map(std::borrow::Cow::into_owned)
    }

    /// True when the certificate's validity covers `at`.
    pub fn valid_at(&self, at: UnixMillis) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// The subject as readable text, e.g. `CN=TSA, O=Example, C=CA`.
    pub fn subject_text(&self) -> String {
        name_text(&self.subject)
    }

    /// The issuer as readable text.
    pub fn issuer_text(&self) -> String {
        name_text(&self.issuer)
    }
}

/// The content of a BIT STRING with no unused bits.
fn bit_string(t: Tlv<'_>) -> Result<&[u8], BerError> {
    match t.content.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(BerError::Invalid { offset: t.offset, what: "BIT STRING with unused bits" }),
    }
}

/// Parses UTCTime or GeneralizedTime (UTC only, `Z` required; fractional seconds kept to ms).
///
/// # Errors
/// [`BerError::Invalid`] for anything else.
pub(crate) fn parse_time(t: Tlv<'_>) -> Result<UnixMillis, BerError> {
    let bad = BerError::Invalid { offset: t.offset, what: "time value" };
    let s = std::str::from_utf8(t.content).map_err(|_| bad.clone())?;
    let s = s.strip_suffix('Z').ok_or_else(|| bad.clone())?;
    let (date, frac) = match s.split_once('.') {
        Some((d, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (d, f),
        Some(_) => return Err(bad),
        None => (s, ""),
    };
    if !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let n = |r: std::ops::Range<usize>| date.get(r).and_then(|x| x.parse::<u32>().ok());
    let (year, rest) = match t.tag {
        tag::UTC_TIME if date.len() == 12 && frac.is_empty() => {
            let yy = i64::from(n(0..2).ok_or_else(|| bad.clone())?);
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        tag::GENERALIZED_TIME if date.len() == 14 => (i64::from(n(0..4).ok_or_else(|| bad.clone())?), 4),
        _ => return Err(bad),
    };
    let millis = frac.bytes().take(3).enumerate().fold(0u32, |a, (i, c)| a + u32::from(c - b'0') * [100, 10, 1][i]);
    let field = |i: usize| n(rest + 2 * i..rest + 2 * i + 2);
    UnixMillis::from_utc(
        year,
        field(0).ok_or_else(|| bad.clone())?,
        field(1).ok_or_else(|| bad.clone())?,
        field(2).ok_or_else(|| bad.clone())?,
        field(3).ok_or_else(|| bad.clone())?,
        field(4).ok_or_else(|| bad.clone())?,
        millis,
    )
    .ok_or(bad)
}

/// Renders a `Name` as `CN=..., O=...` (best effort; unknown attributes by OID).
pub fn name_text(name_der: &[u8]) -> String {
    let Ok(t) = ber::parse_one(name_der) else { return "<unreadable name>".into() };
    let mut parts = Vec::new();
    for rdn in t.children().flatten() {
        for atv in rdn.children().flatten() {
            let mut s = atv.seq();
            let (Ok(oid), Ok(value)) = (s.next("type").and_then(|o| o.oid()), s.next("value")) else { continue };
            let key = match oid.dotted().as_str() {
                "2.5.4.3" => "CN".to_owned(),
                "2.5.4.10" => "O".to_owned(),
                "2.5.4.11" => "OU".to_owned(),
                "2.5.4.6" => "C".to_owned(),
                "2.5.4.7" => "L".to_owned(),
                "2.5.4.8" => "ST".to_owned(),
                "2.5.4.5" => "serialNumber".to_owned(),
                "2.5.4.97" => "organizationIdentifier".to_owned(),
                other => other.to_owned(),
            };
            let v = if value.tag == 0x1e {
                // BMPString: UTF-16BE.
                let units: Vec<u16> = value.content.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(value.content).into_owned()
            };
            parts.push(format!("{key}={v}"));
        }
    }
    parts.join(", ")
}
