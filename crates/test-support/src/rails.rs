//! Anchoring rails for tests: an independent RFC 3161 TSA (`openssl ts -reply`), a failover
//! pair, an outage switch, and a Fabric **test double** (it is not Fabric and its receipts
//! verify nowhere).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use evidence_core::bundle::{Base64, FabricAnchor};
use ledger::anchor::{AnchorEvidence, AnchorRequest, FabricRail, RailError, TsaRail};

use crate::{COUNTER, TempDir, run};

/// An independent RFC 3161 TSA: a test PKI made with `openssl req` at test time and
/// `openssl ts -query` / `openssl ts -reply` for each token.
#[derive(Debug)]
pub struct OpensslTsa {
    dir: PathBuf,
    /// Its name.
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    _tmp: Arc<TempDir>,
}

impl OpensslTsa {
    /// Generates a root CA and a TSA certificate (`extendedKeyUsage = critical, timeStamping`).
    ///
    /// # Errors
    /// When `openssl` fails.
    pub fn generate(name: &str, jurisdiction: &str) -> std::io::Result<Self> {
        let tmp = Arc::new(TempDir::new("ledger-tsa"));
        let dir = tmp.path().to_path_buf();
        let p = |f: &str| dir.join(f).display().to_string();
        std::fs::write(
            dir.join("ext.cnf"),
            "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping\n",
        )?;
        std::fs::write(dir.join("serial"), "01\n")?;
        std::fs::write(
            dir.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {}\ncrypto_device = builtin\nsigner_digest = sha256\n\
                 default_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
                 ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                p("serial")
            ),
        )?;
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
            "-days",
            "3650",
            "-subj",
            &format!("/CN={name} Test Root/C={jurisdiction}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]))?;
        run(Command::new("openssl").args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("tsa.key"),
            "-out",
            &p("tsa.csr"),
            "-subj",
            &format!("/CN={name}/C={jurisdiction}"),
        ]))?;
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p("tsa.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-out",
            &p("tsa.pem"),
            "-days",
            "3650",
            "-extfile",
            &p("ext.cnf"),
        ]))?;
        Ok(Self { dir, name: name.to_owned(), jurisdiction: jurisdiction.to_owned(), _tmp: tmp })
    }

    /// The root certificate (PEM path).
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The TSA certificate (PEM path).
    pub fn tsa_pem(&self) -> PathBuf {
        self.dir.join("tsa.pem")
    }

    /// Time-stamps a SHA-256 digest; returns the DER `TimeStampResp`.
    ///
    /// # Errors
    /// When `openssl` fails.
    pub async fn stamp(&self, digest: &[u8; 32]) -> std::io::Result<Vec<u8>> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let q = self.dir.join(format!("q{n}.tsq"));
        let r = self.dir.join(format!("r{n}.tsr"));
        let hexd = hex::encode(digest);
        let dir = self.dir.clone();
        let (qs, rs) = (q.display().to_string(), r.display().to_string());
        tokio::task::spawn_blocking(move || {
            let p = |f: &str| dir.join(f).display().to_string();
            run(Command::new("openssl").args(["ts", "-query", "-digest", &hexd, "-sha256", "-cert", "-out", &qs]))?;
            run(Command::new("openssl").args([
                "ts",
                "-reply",
                "-config",
                &p("tsa.cnf"),
                "-queryfile",
                &qs,
                "-signer",
                &p("tsa.pem"),
                "-inkey",
                &p("tsa.key"),
                "-chain",
                &p("ca.pem"),
                "-out",
                &rs,
            ]))
        })
        .await
        .map_err(std::io::Error::other)??;
        let out = tokio::fs::read(&r).await?;
        let _ = tokio::fs::remove_file(&q).await;
        let _ = tokio::fs::remove_file(&r).await;
        Ok(out)
    }

    /// Checks a response with `openssl ts -verify` against this TSA's root.
    pub fn verify(&self, digest: &[u8; 32], response: &[u8]) -> bool {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let r = self.dir.join(format!("v{n}.tsr"));
        if std::fs::write(&r, response).is_err() {
            return false;
        }
        let ok = Command::new("openssl")
            .args(["ts", "-verify", "-digest", &hex::encode(digest), "-in"])
            .arg(&r)
            .arg("-CAfile")
            .arg(self.ca_pem())
            .arg("-untrusted")
            .arg(self.tsa_pem())
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verification: OK"));
        let _ = std::fs::remove_file(&r);
        ok
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
