//! The TLS configuration of this crate's HTTP client, built explicitly: rustls with the
//! `ring` provider, the platform's root certificates plus any extra roots the caller gives,
//! TLS 1.2 and 1.3. Nothing here installs a process-wide crypto provider, so a program
//! linking this crate keeps whatever provider it chose.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why the client TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// An extra root certificate bundle is not PEM certificates.
    #[error("invalid extra TLS root certificate: {0}")]
    InvalidRoot(#[source] rustls::pki_types::pem::Error),
    /// The platform verifier or the protocol versions could not be set up.
    #[error("TLS configuration: {0}")]
    Rustls(#[source] rustls::Error),
}

/// A client configuration verifying servers against the platform's roots and `extra_roots_pem`
/// (PEM bundles), with the `ring` provider.
///
/// # Errors
/// [`TlsConfigError`].
pub fn client_config(extra_roots_pem: &[Vec<u8>]) -> Result<rustls::ClientConfig, TlsConfigError> {
    let mut roots = Vec::new();
    for pem in extra_roots_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.push(cert.map_err(TlsConfigError::InvalidRoot)?);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, Arc::clone(&provider)).map_err(TlsConfigError::Rustls)?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}
