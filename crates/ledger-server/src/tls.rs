//! TLS for the HTTP service (rustls, ring provider), when configured.
//!
//! Each TLS handshake runs in its connection's own task under a timeout and inside the
//! connection limit (see [`crate::http::conn`]), so a client that stalls its handshake
//! holds up nobody else. TLS 1.3 only by default; TLS 1.2 as well only when configured
//! (`[http] tls_min_version = "1.2"`, see [`TlsVersions`]). rustls' default (safe) cipher
//! suites; HTTP/1.1 and h2 offered by ALPN.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// rustls refused the certificate and key.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Which TLS versions the server offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVersions {
    /// TLS 1.3 only (the default): a TLS 1.2 client is refused in the handshake.
    #[default]
    Tls13Only,
    /// TLS 1.3 and TLS 1.2 (rustls' safe TLS 1.2 suites: ECDHE with AES-GCM or
    /// ChaCha20-Poly1305), for clients that cannot do 1.3; only when configured
    /// (`[http] tls_min_version = "1.2"`).
    AllowTls12,
}

impl TlsVersions {
    /// From the configured minimum version, `"1.3"` or `"1.2"`.
    ///
    /// # Errors
    /// Any other value.
    pub fn from_min_version(v: &str) -> Result<Self, String> {
        match v {
            "1.3" => Ok(Self::Tls13Only),
            "1.2" => Ok(Self::AllowTls12),
            other => Err(format!("tls_min_version must be \"1.3\" (default) or \"1.2\", not {other:?}")),
        }
    }

    fn protocols(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        static TLS13_AND_12: [&rustls::SupportedProtocolVersion; 2] = [&rustls::version::TLS13, &rustls::version::TLS12];
        match self {
            Self::Tls13Only => &TLS13_ONLY,
            Self::AllowTls12 => &TLS13_AND_12,
        }
    }
}

/// A server configuration from a PEM certificate chain and a PEM private key, TLS 1.3 only.
///
/// # Errors
/// [`TlsError`].
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    server_config_with(cert_pem, key_pem, TlsVersions::default())
}

/// A server configuration from a PEM certificate chain and a PEM private key, offering
/// `versions`.
///
/// # Errors
/// [`TlsError`].
pub fn server_config_with(cert_pem: &Path, key_pem: &Path, versions: TlsVersions) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let pem_err = |p: &Path, m: String| TlsError::Pem { path: p.display().to_string(), message: m };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| pem_err(cert_pem, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(cert_pem, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err(cert_pem, "no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| pem_err(key_pem, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions.protocols())?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A TCP listener whose connections are served over TLS (the handshake runs in each
/// connection's task, see [`crate::http::conn`]).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    local: SocketAddr,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("local", &self.local).finish_non_exhaustive()
    }
}

impl TlsListener {
    /// TLS with `config` on `tcp`.
    ///
    /// # Errors
    /// The listener's local address is unavailable.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        Ok(Self { tcp, acceptor: TlsAcceptor::from(config), local })
    }

    /// The bound address.
    ///
    /// # Errors
    /// Never today.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The listener and the acceptor.
    pub fn into_parts(self) -> (TcpListener, TlsAcceptor) {
        (self.tcp, self.acceptor)
    }
}
