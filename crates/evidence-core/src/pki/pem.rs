//! The one PEM reader: certificates from PEM text (any number of `CERTIFICATE` blocks) or
//! from DER bytes (one certificate, or several concatenated).

use base64::Engine as _;

use super::{Certificate, PkiError};
use crate::ber::{self, BerError};

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The largest PEM or DER input accepted, against hostile input (1 MiB: a long chain).
pub const MAX_CERTIFICATES_BYTES: usize = 1 << 20;

/// Reads certificates from PEM text or DER bytes, in order.
///
/// # Errors
/// [`PkiError`]: an unterminated or undecodable PEM block, a certificate that does not parse
/// (with its byte offset), input over [`MAX_CERTIFICATES_BYTES`], or DER input holding none.
pub fn certificates_from_pem_or_der(bytes: &[u8]) -> Result<Vec<Certificate>, PkiError> {
    if bytes.len() > MAX_CERTIFICATES_BYTES {
        return Err(PkiError::TooLarge { bytes: bytes.len(), max: MAX_CERTIFICATES_BYTES });
    }
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains(BEGIN)
    {
        return pem_blocks(text)?.iter().map(|der| Certificate::from_der(der).map_err(PkiError::Certificate)).collect();
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let t = ber::parse_one(rest)
            .or_else(|e| match e {
                BerError::Trailing { offset, .. } => ber::parse_one(&rest[..offset]),
                other => Err(other),
            })
            .map_err(PkiError::Certificate)?;
        let len = t.raw.len();
        out.push(Certificate::from_tlv(t).map_err(PkiError::Certificate)?);
        rest = &rest[len..];
    }
    if out.is_empty() {
        return Err(PkiError::NoCertificate);
    }
    Ok(out)
}

/// The DER of every `CERTIFICATE` block of a PEM text, in order (text outside the blocks is
/// ignored, as PEM allows).
///
/// # Errors
/// [`PkiError::Pem`] for a block without its END line, nested BEGIN lines, or base64 that
/// does not decode, with the byte offset of the block.
pub fn pem_blocks(text: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find(BEGIN) {
        let start = pos + found;
        let body_start = start + BEGIN.len();
        let end = text[body_start..]
            .find(END)
            .map(|e| body_start + e)
            .ok_or(PkiError::Pem { offset: start, problem: "BEGIN CERTIFICATE without END" })?;
        let body = &text[body_start..end];
        if body.contains("-----BEGIN") {
            return Err(PkiError::Pem { offset: start, problem: "nested BEGIN line" });
        }
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| PkiError::Pem { offset: start, problem: "base64 that does not decode" })?;
        out.push(der);
        pos = end + END.len();
    }
    Ok(out)
}
