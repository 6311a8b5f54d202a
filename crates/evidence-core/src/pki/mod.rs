//! X.509 for both rails: one certificate type keeping every original byte, one PEM reader,
//! one signature verifier (RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-256/P-384; SHA-1 reported as
//! weak by its callers) and one path builder with typed errors.
//!
//! Each rail adds its own policy on top: the RFC 3161 rail requires the signer certificate's
//! critical, sole `id-kp-timeStamping` EKU and validates at the token's genTime
//! ([`crate::rfc3161`]); the Fabric rail takes trust anchors per MSP, requires identities
//! issued directly by their MSP's roots, and low-S identity signatures ([`crate::fabric`]).

mod cert;
mod chain;
mod pem;
mod sig;

pub(crate) use cert::parse_time;
pub use cert::{AlgorithmId, Certificate, Extension, MAX_CERT_BYTES, name_text};
pub(crate) use chain::clear_cert_sig_memo;
pub(crate) use chain::signed_by;
pub use chain::{ChainError, MAX_PATH, PathLink, build_path};
pub use pem::{MAX_CERTIFICATES_BYTES, certificates_from_pem_or_der, pem_blocks};
pub use sig::{EcPublicKey, HashAlg, LowS, SigError, SigUsed, verify as verify_signature};

pub use crate::ber::BerError;

/// Why certificates could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A certificate that does not parse (the offset is inside that certificate).
    #[error("certificate: {0}")]
    Certificate(#[source] BerError),
    /// A PEM block that cannot be read.
    #[error("PEM at byte {offset}: {problem}")]
    Pem {
        /// Where the block starts.
        offset: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// DER input with no certificate.
    #[error("no certificate found")]
    NoCertificate,
    /// Over the size limit.
    #[error("{bytes} bytes of certificates, over the {max}-byte limit")]
    TooLarge {
        /// The input's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}
