//! Development trust material for `ledger-server dev`: **not evidence**.
//!
//! - A development TSA ([`DevTsaRail`]): a root CA and a TSA certificate (ECDSA P-256,
//!   critical EKU timeStamping) generated on first start under `<data>/dev/` and reused
//!   after, signing real RFC 3161 tokens in process with evidence-core's
//!   [`DevTsa`].
//! - A ledger checkpoint key (`<data>/ledger.skey`, mode 0600) and a master key for record
//!   encryption (`<data>/master.key`, mode 0600), created on first start.
//! - A `trust.json` (evidence-trust/v1) with `"development": true`, so the verifier labels
//!   every result that rests on it as development-only.
//!
//! Anyone holding these files can forge tokens and checkpoints: they exist so that a new
//! user can run the whole flow with no set-up, never for real evidence.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use evidence_core::bundle::Base64;
use evidence_core::internal::dev_tsa::DevTsa;
use evidence_core::note::NoteSigner;
use evidence_core::rfc3161::{self, HashAlg};
use evidence_core::trust::{AnchorPolicy, LedgerKey, TrustFile};

use ledger::anchor::{AnchorEvidence, AnchorRequest, RailError, TsaRail};

/// Why the development material could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("generating the development PKI: {0}")]
    Pki(String),
    /// A stored file is not what this code wrote.
    #[error("{0}")]
    Corrupt(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` to a new file with mode 0600 (fails if it exists).
///
/// # Errors
/// [`DevError::Io`].
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io(path))?;
    std::io::Write::write_all(&mut f, bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// The development PKI: root certificate (PEM) and the TSA.
#[derive(Debug)]
pub struct DevPki {
    /// The development root, PEM (goes into `trust.json`).
    pub root_pem: String,
    tsa: DevTsa,
}

/// Loads `<dir>/dev/`, creating the development PKI on first use.
///
/// # Errors
/// [`DevError`].
pub fn load_or_create_pki(dir: &Path) -> Result<DevPki, DevError> {
    let d = dir.join("dev");
    std::fs::create_dir_all(&d).map_err(io(&d))?;
    let (root_p, cert_p, key_p) = (d.join("tsa-root.pem"), d.join("tsa-cert.der"), d.join("tsa-key.p8"));
    if !key_p.exists() {
        generate(&root_p, &cert_p, &key_p)?;
    }
    let root_pem = std::fs::read_to_string(&root_p).map_err(io(&root_p))?;
    let cert = std::fs::read(&cert_p).map_err(io(&cert_p))?;
    let key = zeroize::Zeroizing::new(std::fs::read(&key_p).map_err(io(&key_p))?);
    let tsa = DevTsa::new(&key, &cert, vec![cert.clone()]).map_err(|e| DevError::Corrupt(format!("{}: {e}", d.display())))?;
    Ok(DevPki { root_pem, tsa })
}

#[allow(clippy::needless_pass_by_value)] // map_err hands the error over by value
fn pki_err(e: rcgen::Error) -> DevError {
    DevError::Pki(e.to_string())
}

/// Development certificates are valid from 2000 until ten years from now (years from the
/// Unix epoch, rounded down).
fn dev_validity(p: &mut rcgen::CertificateParams) {
    #[allow(clippy::cast_possible_truncation)]
    let year = 1970 + (ledger::now().0 / (365_2425 * 8640)) as i32;
    p.not_before = rcgen::date_time_ymd(2000, 1, 1);
    p.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
}

/// A development root CA named `common_name` (P-256, path length 0): its certificate and the
/// issuer that signs with it.
fn dev_root_ca(common_name: &str) -> Result<(rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>), DevError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    ca.distinguished_name.push(DnType::CommonName, common_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    dev_validity(&mut ca);
    let cert = ca.self_signed(&key).map_err(pki_err)?;
    Ok((cert, Issuer::new(ca, key)))
}

fn generate(root_p: &Path, cert_p: &Path, key_p: &Path) -> Result<(), DevError> {
    use rcgen::{CertificateParams, CustomExtension, DnType, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256};
    let (root_cert, issuer) = dev_root_ca("evidence-ledger DEVELOPMENT TSA root (not evidence)")?;

    let tsa_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let mut tsa = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    tsa.distinguished_name.push(DnType::CommonName, "evidence-ledger DEVELOPMENT TSA (not evidence)");
    tsa.is_ca = IsCa::ExplicitNoCa;
    tsa.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // RFC 3161 §2.3: the EKU must be present, critical, and only timeStamping.
    // SEQUENCE { OID 1.3.6.1.5.5.7.3.8 }
    let mut eku =
        CustomExtension::from_oid_content(&[2, 5, 29, 37], vec![0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08]);
    eku.set_criticality(true);
    tsa.custom_extensions.push(eku);
    tsa.use_authority_key_identifier_extension = true;
    dev_validity(&mut tsa);
    let tsa_cert = tsa.signed_by(&tsa_key, &issuer).map_err(pki_err)?;

    std::fs::write(root_p, root_cert.pem()).map_err(io(root_p))?;
    std::fs::write(cert_p, tsa_cert.der().as_ref()).map_err(io(cert_p))?;
    write_private(key_p, &zeroize::Zeroizing::new(tsa_key.serialize_der()))
}

/// The development report-signing material: a CA (`<dir>/dev/report-signing-ca.pem`, beside
/// `tsa-root.pem`), a signer certificate it issued with the CA after it
/// (`report-signer.pem`) and the signer's PKCS#8 key (`report-signer.key`, mode 0600).
#[derive(Debug)]
pub struct DevReportSigner {
    /// The CA, PEM (what a PDF validator must trust).
    pub ca_pem: String,
    /// Signer certificate then CA, PEM.
    pub certs_pem: String,
    /// The signer's key, PEM (PKCS#8).
    pub key_pem: zeroize::Zeroizing<String>,
}

/// Loads `<dir>/dev/report-*`, creating the development report-signing CA and signer on
/// first use.
///
/// # Errors
/// [`DevError`].
pub fn load_or_create_report_signer(dir: &Path) -> Result<DevReportSigner, DevError> {
    use rcgen::{CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256};
    let d = dir.join("dev");
    std::fs::create_dir_all(&d).map_err(io(&d))?;
    let (ca_p, cert_p, key_p) = (d.join("report-signing-ca.pem"), d.join("report-signer.pem"), d.join("report-signer.key"));
    if !key_p.exists() {
        let (ca_cert, issuer) = dev_root_ca("evidence-ledger DEVELOPMENT report-signing CA (not evidence)")?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
        p.distinguished_name.push(DnType::CommonName, "evidence-ledger DEVELOPMENT report signer (not evidence)");
        p.distinguished_name.push(DnType::OrganizationName, "ledger-server dev");
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        p.use_authority_key_identifier_extension = true;
        dev_validity(&mut p);
        let cert = p.signed_by(&key, &issuer).map_err(pki_err)?;
        std::fs::write(&ca_p, ca_cert.pem()).map_err(io(&ca_p))?;
        std::fs::write(&cert_p, format!("{}{}", cert.pem(), ca_cert.pem())).map_err(io(&cert_p))?;
        write_private(&key_p, zeroize::Zeroizing::new(key.serialize_pem()).as_bytes())?;
    }
    Ok(DevReportSigner {
        ca_pem: std::fs::read_to_string(&ca_p).map_err(io(&ca_p))?,
        certs_pem: std::fs::read_to_string(&cert_p).map_err(io(&cert_p))?,
        key_pem: zeroize::Zeroizing::new(std::fs::read_to_string(&key_p).map_err(io(&key_p))?),
    })
}

/// The report generator of `ledger-server dev` (and tests): signs with the development
/// report signer of `dir`, time-stamps with the development TSA of `dir`, and labels every
/// page as development material.
///
/// # Errors
/// [`DevError`] (the signer's PEM not readable by the report crate included).
pub fn report_service(dir: &Path) -> Result<crate::report::ReportService, DevError> {
    let signer = load_or_create_report_signer(dir)?;
    let identity = reports::SigningIdentity::from_pem(&signer.key_pem, &signer.certs_pem)
        .map_err(|e| DevError::Corrupt(format!("{}: {e}", dir.join("dev").display())))?;
    let pki = load_or_create_pki(dir)?;
    let roots = rfc3161::certificates_from_pem_or_der(pki.root_pem.as_bytes()).map_err(|e| DevError::Corrupt(e.to_string()))?;
    Ok(crate::report::ReportService::new(
        identity,
        crate::report::Stamper::Dev(Box::new(DevTsaRail::for_reports(pki))),
        roots,
        true,
        "ledger-server dev writes the trust file to data/trust.json (development material: it proves nothing to a third party); \
         the report's signature chains to data/dev/report-signing-ca.pem and its time-stamp to data/dev/tsa-root.pem.",
    ))
}

/// The RFC 3161 rail over the development TSA (in process, no network). Its tokens are
/// labelled by the policy OID [`DEV_POLICY`](evidence_core::internal::dev_tsa::DEV_POLICY) and
/// verify only against the development root.
#[derive(Debug)]
pub struct DevTsaRail {
    tsa: DevTsa,
    serial: AtomicU64,
}

impl DevTsaRail {
    /// A rail signing with `pki`'s TSA.
    pub fn new(pki: DevPki) -> Self {
        let start = u64::try_from(ledger::now().0).unwrap_or(0);
        Self { tsa: pki.tsa, serial: AtomicU64::new(start) }
    }

    /// A rail for report signature time-stamps: the same TSA, with serial numbers from a
    /// separate range (2^60 and up) so that they never repeat the anchoring rail's.
    pub fn for_reports(pki: DevPki) -> Self {
        let start = u64::try_from(ledger::now().0).unwrap_or(0) | (1 << 60);
        Self { tsa: pki.tsa, serial: AtomicU64::new(start) }
    }

    /// Answers a DER `TimeStampReq` (any imprint) with a `TimeStampResp` at the current time.
    ///
    /// # Errors
    /// The request does not parse or cannot be answered (the reason as text).
    pub fn respond(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        self.tsa.respond(request, ledger::now(), serial).map_err(|e| e.to_string())
    }
}

impl TsaRail for DevTsaRail {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let err = |message: String| RailError { rail: "tsa", message };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| err(format!("random nonce: {e}")))?;
        let der =
            rfc3161::request_for_digest(HashAlg::Sha256, &req.checkpoint_hash.0, &nonce, true, None).map_err(|e| err(e.to_string()))?;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let response = self.tsa.respond(&der, ledger::now(), serial).map_err(|e| err(e.to_string()))?;
        Ok(AnchorEvidence { evidence: response, authority: "development TSA (not evidence)".into(), jurisdiction: None })
    }
}

/// Loads `<dir>/ledger.skey`, creating a fresh Ed25519 checkpoint key named `name` on first use.
///
/// # Errors
/// [`DevError`].
pub fn load_or_create_signer(path: &Path, name: &str) -> Result<NoteSigner, DevError> {
    if !path.exists() {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| DevError::Pki(format!("random seed: {e}")))?;
        let signer = NoteSigner::from_seed(name, &seed).map_err(|e| DevError::Corrupt(format!("ledger name {name:?}: {e}")))?;
        write_private(path, zeroize::Zeroizing::new(signer.to_skey()).as_bytes())?;
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    NoteSigner::parse(text.trim()).map_err(|e| DevError::Corrupt(format!("{}: not a signed-note private key: {e}", path.display())))
}

/// The trust file a verifier needs for this ledger: its checkpoint key, the TSA roots, the
/// Fabric MSP roots, and the anchoring policy the deployment follows: one anchor on each rail
/// it runs (a TSA-only deployment states `"fabric": 0`, so its bundles verify with the policy
/// named in the report instead of failing for a rail that does not exist).
pub fn trust_file(
    signer: &NoteSigner,
    tsa_roots_pem: Vec<String>,
    fabric_msps: Vec<evidence_core::trust::MspCertificates>,
    development: bool,
) -> TrustFile {
    let require = AnchorPolicy { rfc3161: usize::from(!tsa_roots_pem.is_empty()), fabric: usize::from(!fabric_msps.is_empty()) };
    TrustFile {
        format: evidence_core::trust::TRUST_FORMAT.into(),
        ledgers: vec![LedgerKey {
            name: signer.name().to_owned(),
            ed25519_public_key: Base64(signer.verifier().key().as_bytes().to_vec()),
        }],
        tsa_roots_pem,
        fabric_msps,
        require: Some(require),
        development,
    }
}

/// The trust file's Fabric MSPs: `previous` (from an earlier run's trust file) plus the
/// emulator's roots, merged per MSP id without duplicates.
pub fn merge_msp_roots(
    previous: Vec<evidence_core::trust::MspCertificates>,
    emulator: &fabric_anchor::TrustMaterial,
) -> Vec<evidence_core::trust::MspCertificates> {
    let mut out = previous;
    for (id, pem) in &emulator.msp_roots {
        let orderer = *id == emulator.orderer_msp;
        match out.iter_mut().find(|m| m.msp_id == *id) {
            Some(m) => {
                if !m.roots_pem.contains(pem) {
                    m.roots_pem.push(pem.clone());
                }
                m.orderer |= orderer;
            }
            None => out.push(evidence_core::trust::MspCertificates { msp_id: id.clone(), roots_pem: vec![pem.clone()], orderer }),
        }
    }
    out
}
