//! Anchoring rails for tests: an independent RFC 3161 TSA (`openssl ts -reply`), a failover
//! pair, an outage switch, and a Fabric **test double** (it is not Fabric and its receipts
//! verify nowhere).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use evidence_core::bundle::{Base64, FabricAnchor};
use ledger::anchor::{AnchorEvidence, AnchorRequest, FabricRail, RailError, TsaRail};

use crate::tsa::TestPki;

/// An independent RFC 3161 TSA as a ledger rail: the workspace's one test PKI
/// ([`crate::tsa::TestPki`]) and `openssl ts -reply` for each token, called directly (no HTTP;
/// the HTTP harness with faults is [`crate::tsa::OpensslTsa`]).
#[derive(Debug)]
pub struct OpensslTsa {
    pki: Arc<TestPki>,
    /// Its name.
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
}

impl OpensslTsa {
    /// A TSA named `name` in `jurisdiction`, with a root and TSA certificate of its own.
    ///
    /// # Errors
    /// When `openssl` fails or is missing.
    pub fn generate(name: &str, jurisdiction: &str) -> std::io::Result<Self> {
        let pki = TestPki::generate_named(&format!("{name} ({jurisdiction})")).map_err(std::io::Error::other)?;
        Ok(Self { pki, name: name.to_owned(), jurisdiction: jurisdiction.to_owned() })
    }

    /// The root certificate (PEM path).
    pub fn ca_pem(&self) -> PathBuf {
        self.pki.root_pem()
    }

    /// The TSA certificate (PEM path).
    pub fn tsa_pem(&self) -> PathBuf {
        self.pki.tsa_cert_pem()
    }

    /// Time-stamps a SHA-256 digest; returns the DER `TimeStampResp`.
    ///
    /// # Errors
    /// When `openssl` fails.
    pub async fn stamp(&self, digest: &[u8; 32]) -> std::io::Result<Vec<u8>> {
        self.pki.stamp_digest(digest).await.map_err(std::io::Error::other)
    }

    /// Checks a response with `openssl ts -verify` against this TSA's root.
    pub fn verify(&self, digest: &[u8; 32], response: &[u8]) -> bool {
        self.pki.verify_digest_reply(digest, response)
    }
}

impl TsaRail for OpensslTsa {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let evidence = self.stamp(&req.checkpoint_hash.0).await.map_err(|e| RailError { rail: "tsa", message: e.to_string() })?;
        Ok(AnchorEvidence { evidence, authority: self.name.clone(), jurisdiction: Some(self.jurisdiction.clone()) })
    }
}

/// Two TSAs: the first answers first anchorings, the second re-anchorings. Models a
/// failover that landed outside the residency policy and a re-anchor that respects it.
#[derive(Debug)]
pub struct FailoverTsa {
    /// Used for first attempts.
    pub first: OpensslTsa,
    /// Used when `reanchor` is set.
    pub reanchor: OpensslTsa,
}

impl TsaRail for FailoverTsa {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        if req.reanchor { self.reanchor.timestamp(req).await } else { self.first.timestamp(req).await }
    }
}

/// Wraps a rail and fails every call while switched down (an outage).
#[derive(Debug, Clone)]
pub struct Switchable<R> {
    inner: Arc<R>,
    down: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
}

impl<R> Switchable<R> {
    /// Up at first.
    pub fn new(inner: R) -> Self {
        Self { inner: Arc::new(inner), down: Arc::new(AtomicBool::new(false)), calls: Arc::new(AtomicU64::new(0)) }
    }

    /// Starts or ends the outage.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The wrapped rail.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Calls so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn check(&self, rail: &'static str) -> Result<(), RailError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) { Err(RailError { rail, message: "outage (test)".into() }) } else { Ok(()) }
    }
}

impl<R: TsaRail> TsaRail for Switchable<R> {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        self.check("tsa")?;
        self.inner.timestamp(req).await
    }
}

impl<R: FabricRail> FabricRail for Switchable<R> {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        self.check("fabric")?;
        self.inner.submit(req).await
    }
}

/// A Fabric rail **test double**: it talks to no Fabric network. Its receipt has the
/// `FabricAnchor` JSON shape with the checkpoint hash in place of a block, so bundles
/// carry it but no verifier accepts it. For exercising the outbox only.
#[derive(Debug, Clone, Default)]
pub struct FabricTestDouble {
    /// The jurisdiction it reports for its endorsers.
    pub jurisdiction: Option<String>,
}

impl FabricRail for FabricTestDouble {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let receipt = FabricAnchor {
            channel: req.config.fabric_channel.clone(),
            block: Base64(req.checkpoint_hash.0.to_vec()),
            tx_index: 0,
            key: format!("ckpt/{}/{}", req.tenant, req.checkpoint_seq.0),
            msp_roots: Vec::new(),
        };
        Ok(AnchorEvidence {
            evidence: serde_json::to_vec(&receipt).map_err(|e| RailError { rail: "fabric", message: e.to_string() })?,
            authority: "fabric-test-double".into(),
            jurisdiction: self.jurisdiction.clone(),
        })
    }
}
