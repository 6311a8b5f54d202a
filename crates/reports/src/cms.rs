//! The detached CMS `SignedData` of a PAdES baseline B-T signature (RFC 5652, ETSI EN 319
//! 122-1 / 319 142-1), built with `der` 0.8 and `x509-cert` 0.3.
//!
//! ```text
//! ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }
//! SignedData ::= SEQUENCE {
//!   version 1, digestAlgorithms SET OF { sha256 },
//!   encapContentInfo SEQUENCE { id-data }            -- detached: no eContent
//!   certificates [0] IMPLICIT SET OF Certificate,    -- signer first, then its chain
//!   signerInfos SET OF SignerInfo }
//! SignerInfo ::= SEQUENCE {
//!   version 1, sid IssuerAndSerialNumber, digestAlgorithm sha256,
//!   signedAttrs [0] IMPLICIT SET OF Attribute,       -- content-type, message-digest,
//!                                                    -- signingCertificateV2; no signing-time
//!   signatureAlgorithm, signature OCTET STRING,
//!   unsignedAttrs [1] IMPLICIT SET OF Attribute }    -- id-aa-signatureTimeStampToken
//! ```

use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode as _, Encode as _, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

pub(crate) const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub(crate) const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub(crate) const ATTR_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub(crate) const ATTR_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub(crate) const ATTR_SIGNING_CERT_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
pub(crate) const ATTR_SIGNATURE_TIME_STAMP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
pub(crate) const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(crate) const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

#[derive(Clone, Debug, Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: Any,
}

#[derive(Clone, Debug, Sequence)]
struct EncapsulatedContentInfo {
    e_content_type: ObjectIdentifier,
}

#[derive(Clone, Debug, Sequence)]
struct SignedData {
    version: u8,
    digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    certificates: SetOfVec<Any>,
    signer_infos: SetOfVec<Any>,
}

#[derive(Clone, Debug, Sequence)]
struct IssuerAndSerialNumber {
    issuer: Name,
    serial_number: SerialNumber,
}

#[derive(Clone, Debug, Sequence)]
struct SignerInfo {
    version: u8,
    sid: IssuerAndSerialNumber,
    digest_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    signed_attrs: SetOfVec<Attribute>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: OctetString,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    unsigned_attrs: Option<SetOfVec<Attribute>>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }` (RFC 5035).
#[derive(Clone, Debug, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (omitted), certHash, issuerSerial }`.
#[derive(Clone, Debug, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Clone, Debug, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn alg(oid: ObjectIdentifier, null_params: bool) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: if null_params { Some(der::asn1::Null.into()) } else { None } }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

/// The signer's identity as CMS needs it.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    pub cert_der: Vec<u8>,
    pub chain_der: Vec<Vec<u8>>,
    pub issuer: Name,
    pub serial: SerialNumber,
    pub signature_algorithm: ObjectIdentifier,
}

impl Signer {
    pub(crate) fn from_cert(cert_der: &[u8], chain_der: Vec<Vec<u8>>, signature_algorithm: ObjectIdentifier) -> Result<Self, der::Error> {
        let cert = x509_cert::Certificate::from_der(cert_der)?;
        Ok(Self {
            cert_der: cert_der.to_vec(),
            chain_der,
            issuer: cert.tbs_certificate().issuer().clone(),
            serial: cert.tbs_certificate().serial_number().clone(),
            signature_algorithm,
        })
    }
}

/// The DER `SET OF Attribute` that is signed: content-type, message-digest over the byte
/// ranges, and signingCertificateV2 naming the signer's certificate.
pub(crate) fn signed_attributes(signer: &Signer, message_digest: &[u8; 32]) -> Result<SetOfVec<Attribute>, der::Error> {
    use sha2::Digest as _;
    let content_type = attribute(ATTR_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?;
    let digest = attribute(ATTR_MESSAGE_DIGEST, Any::encode_from(&OctetString::new(message_digest.to_vec())?)?)?;
    let cert_hash = sha2::Sha256::digest(&signer.cert_der);
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(cert_hash.to_vec())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(signer.issuer.clone())],
                serial_number: signer.serial.clone(),
            },
        }],
    };
    let signing_cert = attribute(ATTR_SIGNING_CERT_V2, Any::encode_from(&ess)?)?;
    SetOfVec::try_from(vec![content_type, digest, signing_cert])
}

/// DER of the attributes as they are signed (tagged as a SET, RFC 5652 §5.4).
pub(crate) fn signed_attributes_der(attrs: &SetOfVec<Attribute>) -> Result<Vec<u8>, der::Error> {
    attrs.to_der()
}

/// The whole `ContentInfo` with the signature and (when given) the signature time-stamp token.
pub(crate) fn content_info(
    signer: &Signer,
    signed_attrs: SetOfVec<Attribute>,
    signature: &[u8],
    timestamp_token_der: Option<&[u8]>,
) -> Result<Vec<u8>, der::Error> {
    let unsigned_attrs = match timestamp_token_der {
        Some(t) => Some(SetOfVec::try_from(vec![attribute(ATTR_SIGNATURE_TIME_STAMP, Any::from_der(t)?)?])?),
        None => None,
    };
    let null_params = signer.signature_algorithm == RSA_SHA256;
    let si = SignerInfo {
        version: 1,
        sid: IssuerAndSerialNumber { issuer: signer.issuer.clone(), serial_number: signer.serial.clone() },
        digest_algorithm: alg(SHA256, false),
        signed_attrs,
        signature_algorithm: alg(signer.signature_algorithm, null_params),
        signature: OctetString::new(signature.to_vec())?,
        unsigned_attrs,
    };
    let mut certs = vec![Any::from_der(&signer.cert_der)?];
    for c in &signer.chain_der {
        certs.push(Any::from_der(c)?);
    }
    let sd = SignedData {
        version: 1,
        digest_algorithms: SetOfVec::try_from(vec![alg(SHA256, false)])?,
        encap_content_info: EncapsulatedContentInfo { e_content_type: ID_DATA },
        certificates: SetOfVec::try_from(certs)?,
        signer_infos: SetOfVec::try_from(vec![Any::encode_from(&si)?])?,
    };
    ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&sd)? }.to_der()
}
