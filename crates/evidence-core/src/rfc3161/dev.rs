//! A **development** time-stamp authority: answers `TimeStampReq`s in process.
//!
//! It exists so that `ledger-server dev`, examples and tests can anchor checkpoints with no
//! network and no external TSA. Its tokens are real RFC 3161 tokens (ECDSA P-256/SHA-256,
//! ESSCertIDv2, signed attributes) that [`super::verify_response`] checks like any other, but
//! its key and certificate are whatever the caller made: **a token from a development TSA is
//! not evidence** of anything, and trust files that include its root must be marked
//! `development: true`. The caller supplies genTime (evidence-core reads no clock) and the
//! serial number.

use p256::ecdsa::signature::Signer as _;
use sha2::Digest as _;

use super::token::parse_request;
use super::{der_tlv, der_uint, encode_oid};
use crate::oids;
use crate::pki::Certificate;
use crate::types::UnixMillis;

/// The policy OID a development TSA stamps under (a private arc, clearly not production).
pub const DEV_POLICY: &str = "1.3.6.1.4.1.99999.3161.1";

/// Why the development TSA could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevTsaError {
    /// The key is not a PKCS#8 P-256 key.
    #[error("the signing key is not a PKCS#8 ECDSA P-256 key")]
    Key,
    /// The certificate does not parse.
    #[error("the TSA certificate does not parse: {0}")]
    Certificate(String),
    /// The request does not parse or asks for something unsupported.
    #[error("bad request: {0}")]
    Request(String),
}

/// A development TSA (see the module docs: not evidence).
pub struct DevTsa {
    key: p256::ecdsa::SigningKey,
    cert: Certificate,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for DevTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTsa").field("certificate", &self.cert.subject_text()).finish_non_exhaustive()
    }
}

impl DevTsa {
    /// A TSA signing with `pkcs8_key` (DER), identified by `cert_der` (whose EKU must be
    /// critical timeStamping for its tokens to verify), embedding `chain` (DER) in tokens.
    ///
    /// # Errors
    /// [`DevTsaError`].
    pub fn new(pkcs8_key: &[u8], cert_der: &[u8], chain: Vec<Vec<u8>>) -> Result<Self, DevTsaError> {
        use p256::pkcs8::DecodePrivateKey as _;
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8_key).map_err(|_| DevTsaError::Key)?;
        let cert = Certificate::from_der(cert_der).map_err(|e| DevTsaError::Certificate(e.to_string()))?;
        Ok(Self { key, cert, chain })
    }

    /// Answers a DER `TimeStampReq` with a granted DER `TimeStampResp` at `gen_time`.
    ///
    /// # Errors
    /// [`DevTsaError::Request`] for a request that does not parse.
    pub fn respond(&self, request: &[u8], gen_time: UnixMillis, serial: u64) -> Result<Vec<u8>, DevTsaError> {
        let req = parse_request(request).map_err(|e| DevTsaError::Request(e.to_string()))?;
        let imprint_alg = encode_oid(&req.imprint_algorithm).ok_or_else(|| DevTsaError::Request("imprint algorithm".into()))?;
        let alg_id = |oid: &[u8]| der_tlv(0x30, &[der_tlv(0x06, oid), vec![0x05, 0x00]].concat());
        let oid = |d: &str| der_tlv(0x06, &encode_oid(d).unwrap_or_default());
        // TSTInfo.
        let mut tst = Vec::new();
        tst.extend_from_slice(&[0x02, 0x01, 0x01]);
        tst.extend_from_slice(&oid(DEV_POLICY));
        tst.extend_from_slice(&der_tlv(0x30, &[alg_id(&imprint_alg), der_tlv(0x04, &req.imprint)].concat()));
        tst.extend_from_slice(&der_tlv(0x02, &der_uint(&serial.to_be_bytes())));
        tst.extend_from_slice(&der_tlv(0x18, generalized_time(gen_time).as_bytes()));
        if let Some(n) = &req.nonce {
            tst.extend_from_slice(&der_tlv(0x02, n));
        }
        let tst = der_tlv(0x30, &tst);
        // Signed attributes, DER: SET OF sorted by encoding.
        let sha256 = |b: &[u8]| sha2::Sha256::digest(b).to_vec();
        let mut attrs = [
            der_tlv(0x30, &[oid(oids::ATTR_CONTENT_TYPE), der_tlv(0x31, &oid(oids::CT_TST_INFO))].concat()),
            der_tlv(0x30, &[oid(oids::ATTR_MESSAGE_DIGEST), der_tlv(0x31, &der_tlv(0x04, &sha256(&tst)))].concat()),
            der_tlv(
                0x30,
                &[
                    oid(oids::ATTR_SIGNING_CERT_V2),
                    // SigningCertificateV2 { certs: [ ESSCertIDv2 { certHash (SHA-256 is the default algorithm) } ] }
                    der_tlv(0x31, &der_tlv(0x30, &der_tlv(0x30, &der_tlv(0x30, &der_tlv(0x04, &sha256(&self.cert.der)))))),
                ]
                .concat(),
            ),
        ];
        attrs.sort();
        let attrs_set = der_tlv(0x31, &attrs.concat());
        let sig: p256::ecdsa::Signature = self.key.sign(&attrs_set);
        let sig_der = sig.to_der();
        let mut signed_attrs_implicit = attrs_set.clone();
        signed_attrs_implicit[0] = 0xa0;
        let signer_info = der_tlv(
            0x30,
            &[
                vec![0x02, 0x01, 0x01],
                der_tlv(0x30, &[self.cert.issuer.clone(), der_tlv(0x02, &self.cert.serial)].concat()),
                alg_id(&encode_oid(oids::SHA256).unwrap_or_default()),
                signed_attrs_implicit,
                der_tlv(0x30, &oid(oids::ECDSA_SHA256)),
                der_tlv(0x04, sig_der.as_bytes()),
            ]
            .concat(),
        );
        let mut certs = self.cert.der.clone();
        for c in &self.chain {
            certs.extend_from_slice(c);
        }
        let signed_data = der_tlv(
            0x30,
            &[
                vec![0x02, 0x01, 0x03],
                der_tlv(0x31, &alg_id(&encode_oid(oids::SHA256).unwrap_or_default())),
                der_tlv(0x30, &[oid(oids::CT_TST_INFO), der_tlv(0xa0, &der_tlv(0x04, &tst))].concat()),
                der_tlv(0xa0, &certs),
                der_tlv(0x31, &signer_info),
            ]
            .concat(),
        );
        let token = der_tlv(0x30, &[oid(oids::SIGNED_DATA), der_tlv(0xa0, &signed_data)].concat());
        Ok(der_tlv(0x30, &[der_tlv(0x30, &[0x02, 0x01, 0x00]), token].concat()))
    }
}

/// `YYYYMMDDHHMMSS[.fff]Z` with no trailing zeros in the fraction (DER).
fn generalized_time(t: UnixMillis) -> String {
    let s = t.to_rfc3339(); // YYYY-MM-DDTHH:MM:SS.fffZ
    let digits: String = s[..19].chars().filter(char::is_ascii_digit).collect();
    let frac = s[20..23].trim_end_matches('0');
    if frac.is_empty() { format!("{digits}Z") } else { format!("{digits}.{frac}Z") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generalized_time_is_der() {
        assert_eq!(super::generalized_time(crate::types::UnixMillis(1_795_000_000_120)), "20261118110640.12Z");
        assert_eq!(super::generalized_time(crate::types::UnixMillis(1_795_000_000_000)), "20261118110640Z");
    }
}
