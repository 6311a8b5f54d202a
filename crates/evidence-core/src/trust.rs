//! The verifier's trust material: the `evidence-trust/v1` file and the [`TrustStore`] parsed
//! from it once.
//!
//! A trust file is obtained independently of any bundle: the ledger operator publishes its
//! checkpoint keys (in a signed letter, on its site, in the engagement documents), the TSAs
//! publish their roots, the consortium members their channel's MSP roots. Nothing in a bundle
//! is trusted; everything a bundle is checked against comes from here.
//!
//! [`TrustStore::from_json`] parses and validates all of it up front (every ledger key is an
//! Ed25519 point with a valid key name, every PEM holds certificates that parse, every MSP root
//! is an ECDSA certificate), so a broken trust file is a [`TrustError`] before any bundle is
//! looked at, never a failed check that could be mistaken for a bad bundle.
//!
//! ```json
//! {"format": "evidence-trust/v1",
//!  "ledgers": [{"name": "ledger.example.ca", "ed25519_public_key": "<base64, 32 bytes>"}],
//!  "tsa_roots_pem": ["-----BEGIN CERTIFICATE-----..."],
//!  "fabric_msps": [{"msp_id": "Org1MSP", "roots_pem": ["..."]}, {"msp_id": "OrdererMSP", "roots_pem": ["..."], "orderer": true}],
//!  "require": {"rfc3161": 1, "fabric": 1},
//!  "development": false}
//! ```
//!
//! - `ledgers` may name one ledger several times, once per checkpoint key: after a key
//!   rotation both keys stay, and each checkpoint is matched to its key by the signed note's
//!   key id (as the signed-note format intends), so bundles from before and after verify with
//!   one trust file.
//! - `require` is the deployment's anchoring policy: how many RFC 3161 time-stamps and Fabric
//!   anchors must verify (default one of each). A TSA-only deployment states
//!   `{"rfc3161": 1, "fabric": 0}`; every report names the policy it applied.
//! - `development: true` marks development material (a development TSA, generated keys):
//!   never evidence, and every report says so in its verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bundle::Base64;
use crate::checkpoint::tenant_verifier;
use crate::fabric::{FabricError, MspRoots};
use crate::note::NoteVerifier;
use crate::pki::{Certificate, PkiError, certificates_from_pem_or_der};
use crate::types::TenantId;

/// The `format` value of version-1 trust files.
pub const TRUST_FORMAT: &str = "evidence-trust/v1";
/// The largest trust file accepted, in bytes.
pub const MAX_TRUST_BYTES: usize = 4 << 20;

/// The trust file as written (`evidence-trust/v1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// Always `evidence-trust/v1`.
    pub format: String,
    /// Ledger checkpoint keys (a ledger may appear once per key).
    pub ledgers: Vec<LedgerKey>,
    /// TSA trust anchors (PEM).
    #[serde(default)]
    pub tsa_roots_pem: Vec<String>,
    /// Fabric MSP roots.
    #[serde(default)]
    pub fabric_msps: Vec<MspCertificates>,
    /// The anchors that must verify (default: one on each rail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<AnchorPolicy>,
    /// True for development trust material (dev TSA, dev keys): never evidence.
    #[serde(default)]
    pub development: bool,
}

/// A ledger's name and one of its Ed25519 checkpoint keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerKey {
    /// The ledger name (checkpoint origins are `<name>/tenant/<tenant>`).
    pub name: String,
    /// The 32-byte Ed25519 public key.
    pub ed25519_public_key: Base64,
}

/// The root certificates of one Fabric MSP, as written in a trust file (and, informatively, in
/// a bundle's Fabric anchor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MspCertificates {
    /// MSP id, e.g. `Org1MSP`.
    pub msp_id: String,
    /// PEM root certificates.
    pub roots_pem: Vec<String>,
    /// True for an orderer organisation (only its identities may sign blocks).
    #[serde(default)]
    pub orderer: bool,
}

/// How many anchors of each rail must verify for a bundle to be verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorPolicy {
    /// RFC 3161 time-stamps from TSAs inside the tenant's residency policy.
    pub rfc3161: usize,
    /// Fabric anchors.
    pub fabric: usize,
}

impl AnchorPolicy {
    /// One anchor on each rail: what the ledger produces, and the default.
    pub const BOTH_RAILS: Self = Self { rfc3161: 1, fabric: 1 };
    /// No anchor at all: only the ledger's own signature stands behind a checkpoint.
    pub const NONE: Self = Self { rfc3161: 0, fabric: 0 };

    /// In words, for reports: "at least 1 RFC 3161 time-stamp and 1 Fabric anchor".
    pub fn describe(self) -> String {
        let part = |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
        match (self.rfc3161, self.fabric) {
            (0, 0) => "no anchor (only the ledger's signature)".to_owned(),
            (t, 0) => format!("at least {} (no Fabric anchor required)", part(t, "RFC 3161 time-stamp", "RFC 3161 time-stamps")),
            (0, f) => format!("at least {} (no RFC 3161 time-stamp required)", part(f, "Fabric anchor", "Fabric anchors")),
            (t, f) => format!(
                "at least {} and {}",
                part(t, "RFC 3161 time-stamp", "RFC 3161 time-stamps"),
                part(f, "Fabric anchor", "Fabric anchors")
            ),
        }
    }

    /// True when `self` asks for no more of either rail than `other`.
    pub fn is_weaker_than(self, other: Self) -> bool {
        self != other && self.rfc3161 <= other.rfc3161 && self.fabric <= other.fabric
    }
}

impl Default for AnchorPolicy {
    fn default() -> Self {
        Self::BOTH_RAILS
    }
}

/// Why a trust file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Larger than [`MAX_TRUST_BYTES`].
    #[error("the trust file is {bytes} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Not trust-file JSON.
    #[error("not an evidence-trust/v1 file: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format.
    #[error("unsupported trust file format {found:?} (expected {TRUST_FORMAT})")]
    Format {
        /// The `format` value found.
        found: String,
    },
    /// No ledger key at all.
    #[error("the trust file names no ledger key")]
    NoLedgerKey,
    /// A ledger key that cannot be used.
    #[error("ledger {name:?}, key {index}: {reason}")]
    LedgerKey {
        /// The ledger name.
        name: String,
        /// Its position in `ledgers`.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A TSA root that does not parse.
    #[error("TSA root {index}: {source}")]
    TsaRoot {
        /// Its position in `tsa_roots_pem`.
        index: usize,
        /// Why.
        #[source]
        source: PkiError,
    },
    /// A TSA root entry holding no certificate.
    #[error("TSA root {index} holds no certificate")]
    TsaRootEmpty {
        /// Its position in `tsa_roots_pem`.
        index: usize,
    },
    /// An MSP root that cannot be used.
    #[error(transparent)]
    MspRoot(#[from] FabricError),
}

/// Parsed, validated trust material: what every check runs against. Built once per trust
/// file (cheap to share by reference across threads).
#[derive(Debug, Clone)]
pub struct TrustStore {
    file: TrustFile,
    digest: [u8; 32],
    ledgers: BTreeMap<String, Vec<ed25519_dalek::VerifyingKey>>,
    tsa_roots: Vec<Certificate>,
    msp_roots: MspRoots,
    policy: AnchorPolicy,
}

impl TrustStore {
    /// Parses and validates a trust file's bytes.
    ///
    /// # Errors
    /// [`TrustError`] naming the first entry that cannot be used.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustError> {
        if bytes.len() > MAX_TRUST_BYTES {
            return Err(TrustError::TooLarge { bytes: bytes.len(), max: MAX_TRUST_BYTES });
        }
        Self::new(serde_json::from_slice(bytes)?)
    }

    /// Validates an already deserialised trust file.
    ///
    /// # Errors
    /// [`TrustError`].
    pub fn new(file: TrustFile) -> Result<Self, TrustError> {
        if file.format != TRUST_FORMAT {
            return Err(TrustError::Format { found: file.format });
        }
        if file.ledgers.is_empty() {
            return Err(TrustError::NoLedgerKey);
        }
        let probe = TenantId::new("t").map_err(|_| TrustError::NoLedgerKey)?;
        let mut ledgers: BTreeMap<String, Vec<ed25519_dalek::VerifyingKey>> = BTreeMap::new();
        for (index, l) in file.ledgers.iter().enumerate() {
            let bad = |reason| TrustError::LedgerKey { name: l.name.clone(), index, reason };
            let bytes = <[u8; 32]>::try_from(l.ed25519_public_key.0.as_slice()).map_err(|_| bad("the key is not 32 bytes"))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad("the key is not an Ed25519 point"))?;
            tenant_verifier(&l.name, &probe, key).map_err(|_| bad("the name cannot be a signed-note key name"))?;
            let keys = ledgers.entry(l.name.clone()).or_default();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let mut tsa_roots = Vec::new();
        for (index, pem) in file.tsa_roots_pem.iter().enumerate() {
            let certs = certificates_from_pem_or_der(pem.as_bytes()).map_err(|source| TrustError::TsaRoot { index, source })?;
            if certs.is_empty() {
                return Err(TrustError::TsaRootEmpty { index });
            }
            tsa_roots.extend(certs);
        }
        let mut msp_roots = MspRoots::new();
        for m in &file.fabric_msps {
            for pem in &m.roots_pem {
                msp_roots.add_pem(&m.msp_id, pem.as_bytes())?;
            }
            if m.orderer {
                msp_roots.add_orderer_msp(&m.msp_id);
            }
        }
        let canonical = serde_json::to_vec(&file)?;
        let digest = crate::types::sha256(&[b"evidence/v1/trust\0", &canonical]);
        let policy = file.require.unwrap_or_default();
        Ok(Self { file, digest, ledgers, tsa_roots, msp_roots, policy })
    }

    /// The trust file as read.
    pub fn file(&self) -> &TrustFile {
        &self.file
    }

    /// True for development trust material: nothing verified against it is evidence.
    pub fn is_development(&self) -> bool {
        self.file.development
    }

    /// The anchoring policy the trust file states (default: one anchor on each rail).
    pub fn policy(&self) -> AnchorPolicy {
        self.policy
    }

    /// A digest of the parsed trust material (keys memoised checks across bundles).
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The ledger names with keys.
    pub fn ledger_names(&self) -> impl Iterator<Item = &str> {
        self.ledgers.keys().map(String::as_str)
    }

    /// The checkpoint verifiers of `tenant`'s log under `ledger`: one per trusted key of that
    /// ledger (several after a key rotation); empty when the ledger is not trusted.
    pub fn checkpoint_verifiers(&self, ledger: &str, tenant: &TenantId) -> Vec<NoteVerifier> {
        self.ledgers.get(ledger).into_iter().flatten().filter_map(|k| tenant_verifier(ledger, tenant, *k).ok()).collect()
    }

    /// The TSA trust anchors.
    pub fn tsa_roots(&self) -> &[Certificate] {
        &self.tsa_roots
    }

    /// The Fabric MSP roots.
    pub fn msp_roots(&self) -> &MspRoots {
        &self.msp_roots
    }
}
