//! The emulator's generated PKI: one ECDSA P-256 CA per organisation with its peer, orderer and
//! client identities, and TLS material (the Gateway's server TLS, and the TLS between the
//! emulated peer and a chaincode server).

use std::collections::BTreeMap;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256};

use super::{EmulatorError, ORDERER_MSP, PEER_MSP};
use crate::identity::Identity;

#[allow(clippy::needless_pass_by_value)] // used as `map_err(pki_err)`
fn pki_err(e: rcgen::Error) -> EmulatorError {
    EmulatorError::Pki(e.to_string())
}

/// Freshly generated PKI: two CAs and three leaf identities.
pub(crate) struct Pki {
    pub(crate) roots: BTreeMap<String, String>,
    pub(crate) peer: Identity,
    pub(crate) orderer: Identity,
    pub(crate) client: Identity,
    pub(crate) client_key_pem: String,
}

/// The organisations and identities of an emulator, to start another emulator with the same
/// ones ([`super::EmulatorConfig::identities`]): both then accept the same client, and endorse
/// a proposal with the same peer key (ECDSA signatures here are deterministic, RFC 6979), so
/// two emulators can be compared transaction by transaction.
#[derive(Clone)]
pub struct EmulatorIdentities(pub(crate) Arc<Pki>);

impl std::fmt::Debug for EmulatorIdentities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorIdentities").field("msps", &self.0.roots.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl EmulatorIdentities {
    /// Generates a fresh set.
    ///
    /// # Errors
    /// [`EmulatorError::Pki`] when key or certificate generation fails.
    pub fn generate() -> Result<Self, EmulatorError> {
        gen_pki().map(|p| Self(Arc::new(p)))
    }
}

fn ca(org: &str) -> Result<(KeyPair, CertificateParams, String), EmulatorError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    params.distinguished_name.push(DnType::OrganizationName, org);
    params.distinguished_name.push(DnType::CommonName, format!("ca.{org}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).map_err(pki_err)?;
    Ok((key, params, cert.pem()))
}

/// A leaf certificate for `names` (DNS names or IP addresses) with common name `cn`: (cert PEM,
/// PKCS#8 key PEM, PKCS#8 key DER).
fn leaf(issuer: &Issuer<'_, KeyPair>, names: Vec<String>, cn: &str) -> Result<(String, String, Vec<u8>), EmulatorError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let mut params = CertificateParams::new(names).map_err(pki_err)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, issuer).map_err(pki_err)?;
    Ok((cert.pem(), key.serialize_pem(), key.serialize_der()))
}

pub(crate) fn gen_pki() -> Result<Pki, EmulatorError> {
    let mut roots = BTreeMap::new();
    let (org_key, org_params, org_pem) = ca("org1.emulator")?;
    let (ord_key, ord_params, ord_pem) = ca("orderer.emulator")?;
    roots.insert(PEER_MSP.to_owned(), org_pem);
    roots.insert(ORDERER_MSP.to_owned(), ord_pem);
    let org_issuer = Issuer::new(org_params, org_key);
    let ord_issuer = Issuer::new(ord_params, ord_key);
    let identity = |issuer: &Issuer<'_, KeyPair>, cn: &str, msp: &str| -> Result<(Identity, String), EmulatorError> {
        let (cert, key_pem, key_der) = leaf(issuer, Vec::new(), cn)?;
        let id = Identity::from_pkcs8_der(msp, &cert, &key_der).map_err(|e| EmulatorError::Pki(e.to_string()))?;
        Ok((id, key_pem))
    };
    let (peer, _) = identity(&org_issuer, "peer0.org1.emulator", PEER_MSP)?;
    let (client, client_key_pem) = identity(&org_issuer, "User1@org1.emulator", PEER_MSP)?;
    let (orderer, _) = identity(&ord_issuer, "orderer0.orderer.emulator", ORDERER_MSP)?;
    Ok(Pki { roots, peer, orderer, client, client_key_pem })
}

/// TLS material of an emulator started with [`super::EmulatorConfig::tls`].
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The TLS CA certificate, PEM: what clients trust.
    pub ca_pem: String,
    /// A client certificate and PKCS#8 key (PEM) the server accepts.
    pub client_cert_pem: String,
    /// The client key, PEM.
    pub client_key_pem: String,
    pub(crate) server_cert_pem: String,
    pub(crate) server_key_pem: String,
}

/// A TLS CA, a server certificate for `localhost` and `127.0.0.1`, and a client certificate.
fn tls_set(ca_org: &str, server_cn: &str, client_cn: &str) -> Result<TlsMaterial, EmulatorError> {
    let (ca_key, ca_params, ca_pem) = ca(ca_org)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let (server_cert_pem, server_key_pem, _) = leaf(&issuer, vec!["localhost".to_owned(), "127.0.0.1".to_owned()], server_cn)?;
    let (client_cert_pem, client_key_pem, _) = leaf(&issuer, Vec::new(), client_cn)?;
    Ok(TlsMaterial { ca_pem, client_cert_pem, client_key_pem, server_cert_pem, server_key_pem })
}

pub(crate) fn gen_tls() -> Result<TlsMaterial, EmulatorError> {
    tls_set("tlsca.emulator", "localhost", "client.emulator")
}

/// TLS between the emulated peer (the client) and a chaincode server, for chaincode-as-a-service
/// with `tls_required` and `client_auth_required` (generated, development only): one CA issues
/// the chaincode server's certificate (`localhost`, `127.0.0.1`) and the peer's client
/// certificate. All PEM; keys are PKCS#8. Its `Debug` output leaves the keys out.
#[derive(Clone)]
pub struct ChaincodeTlsMaterial {
    /// The CA certificate: what the peer trusts for the server (connection.json `root_cert`) and
    /// what the server trusts for clients (`--chaincode-tls-client-cacert-file`).
    pub ca_pem: String,
    /// The chaincode server's certificate (`--chaincode-tls-cert-file`).
    pub server_cert_pem: String,
    /// Its key (`--chaincode-tls-key-file`).
    pub server_key_pem: String,
    /// The peer's client certificate (connection.json `client_cert`).
    pub peer_cert_pem: String,
    /// Its key (connection.json `client_key`).
    pub peer_key_pem: String,
}

impl std::fmt::Debug for ChaincodeTlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaincodeTlsMaterial")
            .field("ca_pem", &self.ca_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("peer_cert_pem", &self.peer_cert_pem)
            .finish_non_exhaustive()
    }
}

impl ChaincodeTlsMaterial {
    /// Generates a fresh set.
    ///
    /// # Errors
    /// [`EmulatorError::Pki`] when key or certificate generation fails.
    pub fn generate() -> Result<Self, EmulatorError> {
        let t = tls_set("tlsca.chaincode.emulator", "evidence-anchor.chaincode.emulator", "peer0.org1.emulator")?;
        Ok(Self {
            ca_pem: t.ca_pem,
            server_cert_pem: t.server_cert_pem,
            server_key_pem: t.server_key_pem,
            peer_cert_pem: t.client_cert_pem,
            peer_key_pem: t.client_key_pem,
        })
    }
}
