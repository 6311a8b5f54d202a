//! Test support (feature `testing`): a throwaway PostgreSQL cluster, a real local RFC 3161
//! TSA driven through the `openssl ts` command line, a switchable failing rail, and a
//! Fabric **test double** (it is not Fabric and its receipts verify nowhere).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use evidence_core::bundle::{Base64, FabricAnchor};
use sqlx::postgres::PgConnectOptions;

use crate::anchor::{AnchorEvidence, AnchorRequest, FabricRail, RailError, TsaRail};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates one under the system temp dir.
    pub fn new(prefix: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{}", std::process::id(), crate::now().0));
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> std::io::Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr))))
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL database for one test: a fresh database on `DATABASE_URL` when set,
/// else a throwaway cluster (initdb, Unix socket in a temp dir, no TCP, fsync off)
/// stopped with `pg_ctl stop -m immediate` on drop.
#[derive(Debug)]
pub struct PgHarness {
    /// Connection options for the test's database.
    pub options: PgConnectOptions,
    /// The URL form (for child processes).
    pub url: String,
    cluster: Option<(PathBuf, bool)>,
}

impl PgHarness {
    /// Starts (or connects to) PostgreSQL and creates a fresh database.
    ///
    /// # Panics
    /// When PostgreSQL cannot be started: tests need it.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// As [`PgHarness::start`]; with `durable` the throwaway cluster keeps `fsync=on`
    /// (for benchmarks that must measure durable commits).
    ///
    /// # Panics
    /// When PostgreSQL cannot be started.
    pub async fn start_with(durable: bool) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let db = format!("ledger_test_{}_{n}_{}", std::process::id(), crate::now().0);
        let (base_url, cluster) = match std::env::var("DATABASE_URL") {
            Ok(u) if !u.is_empty() => (u, None),
            _ => {
                let (url, dir, root) = start_cluster(durable);
                (url, Some((dir, root)))
            }
        };
        let base: PgConnectOptions = base_url.parse().expect("DATABASE_URL");
        let admin = crate::store::postgres::PgStore::raw_connect(base.clone()).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\""))).execute(&admin).await.expect("create test database");
        admin.close().await;
        let url = with_database(&base_url, &db);
        Self { options: base.database(&db), url, cluster }
    }
}

fn with_database(url: &str, db: &str) -> String {
    // postgres://user@host[:port]/DB[?params]
    let (head, params) = url.split_once('?').map_or((url, None), |(h, p)| (h, Some(p)));
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let path_start = head[scheme_end..].find('/').map_or(head.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &head[..path_start]);
    if let Some(p) = params {
        out.push('?');
        out.push_str(p);
    }
    out
}

fn start_cluster(durable: bool) -> (String, PathBuf, bool) {
    let dir = std::env::temp_dir().join(format!(
        "ledger-pg-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::now().0
    ));
    std::fs::create_dir_all(&dir).expect("pg temp dir");
    let root = is_root();
    let as_pg = |args: &[&str]| {
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c.args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        c.env_remove("PGDATA");
        c
    };
    if root {
        if !Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()) {
            let _ = run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]));
        }
        run(Command::new("chown").args(["postgres", &dir.display().to_string()])).expect("chown pg dir");
    }
    let data = dir.join("data");
    let d = data.display().to_string();
    run(&mut as_pg(&["initdb", "-D", &d, "-A", "trust", "-U", "postgres", "--no-sync"])).expect("initdb");
    let sock = dir.display().to_string();
    let log = dir.join("log").display().to_string();
    let fsync = if durable { "" } else { " -F" };
    let opts = format!("-k {sock} -c listen_addresses=''{fsync} -c max_connections=200");
    run(&mut as_pg(&["pg_ctl", "-D", &d, "-l", &log, "-w", "start", "-o", &opts])).expect("pg_ctl start");
    (format!("postgres://postgres@localhost/postgres?host={sock}"), dir, root)
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        if let Some((dir, root)) = self.cluster.take() {
            let d = dir.join("data").display().to_string();
            let mut c = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", "pg_ctl"]);
                c
            } else {
                Command::new("pg_ctl")
            };
            let _ = c.args(["-D", &d, "stop", "-m", "immediate"]).output();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

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

/// The service running in this process on a loopback port, with the development TSA rail
/// (its PKI in a temporary directory) and no Fabric rail: for tests and benches that talk
/// to the real server over HTTP.
#[derive(Debug)]
pub struct LocalServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The development TSA's root, PEM (for a trust file).
    pub tsa_root_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _pki: TempDir,
}

impl LocalServer {
    /// Serves `ledger` with `opts` until [`Self::shutdown`].
    ///
    /// # Panics
    /// When the PKI cannot be made or no loopback port can be bound (a test set-up failure).
    pub async fn start<S: crate::store::Store + Clone>(ledger: crate::Ledger<S>, opts: crate::server::ServiceOptions) -> Self {
        let pki_dir = TempDir::new("local-server-pki");
        let pki = crate::dev::load_or_create_pki(pki_dir.path()).expect("development PKI");
        let tsa_root_pem = pki.root_pem.clone();
        let listener = tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task =
            tokio::spawn(crate::server::run(ledger, crate::dev::DevTsaRail::new(pki), crate::server::NoFabric, listener, opts, async {
                let _ = stopped.await;
            }));
        Self { base, tsa_root_pem, stop: Some(stop), task, _pki: pki_dir }
    }

    /// Stops the server (in-flight requests drain) and answers how it ended.
    ///
    /// # Errors
    /// The server's own I/O error, if it stopped on one.
    ///
    /// # Panics
    /// When the server task panicked.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.expect("server task")
    }
}
