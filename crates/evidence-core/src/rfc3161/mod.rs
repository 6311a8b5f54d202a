//! RFC 3161 time-stamps: building requests, parsing responses and tokens, verifying them.
//!
//! The ledger anchors a checkpoint by asking a TSA to stamp `checkpoint_hash` as a SHA-256
//! imprint ([`request_for_digest`] with [`HashAlg::Sha256`]); anyone can then verify the
//! token with [`verify_response`] / [`verify_token`] against the TSA's root, at genTime.
//!
//! # Verification ([`verify_token`])
//!
//! status granted or grantedWithMods; `id-ct-TSTInfo`; version 1; no unknown critical
//! extension; imprint against the data or digest; nonce, policy and imprint against the
//! request when given; exactly one signer; signed attributes present with a correct
//! content-type and message-digest (over the original eContent octets); the signer chosen
//! by its SignerInfo `sid`, never by position or name; ESSCertID and/or ESSCertIDv2 (with
//! issuerSerial when present) naming that certificate; EKU `id-kp-timeStamping` only and
//! critical; the signature over the signed attributes **as encoded** (re-tagged as a SET,
//! never re-encoded); a chain to a caller-given trust anchor with every certificate valid
//! at genTime. RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA P-256/P-384 with SHA-256/384/512 are
//! accepted; SHA-1 signatures and MD5/SHA-1 imprints give [`TimestampVerdict::ValidWeak`].
//!
//! # Tolerance and limits
//!
//! The BER reader accepts BER indefinite lengths, constructed OCTET STRINGs, non-DER
//! SET ordering and attribute certificates in the certificate set (skipped), because real
//! TSAs produce them; it refuses truncation, wrong tags, high tag numbers, nesting deeper
//! than 32 and bytes after the outer structure. Tokens and responses are limited to 1 MiB,
//! certificates to 64 KiB, chains to 8 certificates. Revocation (CRL/OCSP at genTime) is
//! not checked.
//!
//! This module uses its own BER reader rather than `cms`/`x509-cert`: `cms` 0.3 cannot read
//! real tokens with attribute certificates or indefinite lengths, and the reader keeps the
//! exact signed bytes. It is the project's one ASN.1 stack for RFC 3161 (`rasn` is not used).

pub(crate) mod dev;
mod token;
mod verify;

pub use crate::pki::{Certificate, HashAlg, certificates_from_pem_or_der};
pub use token::{
    Accuracy, Attribute, MAX_TOKEN_BYTES, ParseError, SignerId, SignerInfo, StampedSignature, StatusInfo, TimeStampRequest,
    TimeStampResponse, TimeStampToken, TstInfo, parse_request, parse_response, parse_token, parse_tst_info, tokens_in_signed_data,
};
pub use verify::{
    Imprint, Rfc3161Error, TimestampOptions, TimestampReport, TimestampVerdict, TokenFacts, TsCheck, ValidationTime, embedded_chain_top,
    find_signer, verify_response, verify_token,
};

/// DER of a `TimeStampReq` for a digest: version 1, the imprint, an optional policy, the
/// nonce (the caller supplies fresh random bytes: evidence-core has no RNG), and certReq.
///
/// # Errors
/// [`RequestError`] for a digest of the wrong length or a malformed policy OID.
pub fn request_for_digest(
    alg: HashAlg,
    digest: &[u8],
    nonce: &[u8; 8],
    cert_req: bool,
    policy: Option<&str>,
) -> Result<Vec<u8>, RequestError> {
    if digest.len() != alg.output_len() || alg == HashAlg::Md5 || alg == HashAlg::Sha1 {
        return Err(RequestError::Digest);
    }
    let alg_id = der_tlv(0x30, &[der_tlv(0x06, &encode_oid(alg.oid()).ok_or(RequestError::Digest)?), vec![0x05, 0x00]].concat());
    let imprint = der_tlv(0x30, &[alg_id, der_tlv(0x04, digest)].concat());
    let mut body = vec![0x02, 0x01, 0x01];
    body.extend_from_slice(&imprint);
    if let Some(p) = policy {
        body.extend_from_slice(&der_tlv(0x06, &encode_oid(p).ok_or(RequestError::Policy)?));
    }
    body.extend_from_slice(&der_tlv(0x02, &der_uint(nonce)));
    if cert_req {
        body.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    Ok(der_tlv(0x30, &body))
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The digest does not fit the algorithm, or the algorithm is too weak to request.
    #[error("digest length does not match the algorithm, or the algorithm is MD5/SHA-1")]
    Digest,
    /// The policy is not a dotted OID.
    #[error("policy is not a dotted OID")]
    Policy,
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(u8::try_from(n).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Minimal positive INTEGER content for unsigned big-endian bytes.
fn der_uint(b: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
    if v.is_empty() {
        v.push(0);
    }
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    v
}

/// DER content of a dotted OID.
pub fn encode_oid(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().ok()).collect::<Option<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
        return None;
    }
    let mut out = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![u8::try_from(v & 0x7f).unwrap_or(0)];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | u8::try_from(v & 0x7f).unwrap_or(0));
            v >>= 7;
        }
        out.extend(tmp.into_iter().rev());
    };
    push(arcs[0].checked_mul(40)?.checked_add(arcs[1])?);
    for a in &arcs[2..] {
        push(*a);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let d = [7u8; 32];
        let der = request_for_digest(HashAlg::Sha256, &d, &[0x80, 1, 2, 3, 4, 5, 6, 7], true, Some("1.2.3.4")).unwrap();
        let r = parse_request(&der).unwrap();
        assert_eq!(r.imprint, d);
        assert_eq!(r.imprint_algorithm, crate::oids::SHA256);
        assert_eq!(r.policy.as_deref(), Some("1.2.3.4"));
        assert_eq!(r.nonce.as_deref(), Some(&[0, 0x80, 1, 2, 3, 4, 5, 6, 7][..]));
        assert!(r.cert_req);
        assert!(request_for_digest(HashAlg::Sha256, &[0; 31], &[0; 8], true, None).is_err());
        assert!(request_for_digest(HashAlg::Sha1, &[0; 20], &[0; 8], true, None).is_err());
        assert_eq!(crate::ber::Oid(&encode_oid("1.2.840.113549.1.9.16.1.4").unwrap()).dotted(), "1.2.840.113549.1.9.16.1.4");
    }
}
