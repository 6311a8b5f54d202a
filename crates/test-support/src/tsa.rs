//! The one test PKI and test TSA of the workspace: certificates made with the `openssl` CLI at
//! run time ([`TestPki`]), tokens from `openssl ts -reply` (an implementation we did not write),
//! served over HTTP with switchable fault modes ([`OpensslTsa`]) or stamped directly
//! ([`TestPki::stamp_digest`], for the ledger's rail-level tests).
//!
//! tsa-client's README ("Test TSA harness") says what each fault does. Needs the `openssl`
//! command-line tool (OpenSSL 3) on the `PATH`; [`openssl_version`] tells whether it is there.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// Test policy OID of the trusted TSA (under the `2.999` example arc of ITU-T X.660).
pub const TEST_POLICY_OID: &str = "2.999.3161.1";

/// The `openssl version` line when the `openssl` CLI is on the `PATH` and is OpenSSL 3 or later;
/// `None` otherwise (tests then skip with a message).
pub fn openssl_version() -> Option<String> {
    let out = Command::new("openssl").arg("version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major = line.strip_prefix("OpenSSL ")?.split('.').next()?.parse::<u32>().ok()?;
    (major >= 3).then_some(line)
}

/// Why the harness could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The `openssl` CLI (OpenSSL 3) is not on the `PATH`.
    #[error("the openssl CLI (OpenSSL 3) was not found on the PATH")]
    OpensslMissing,
    /// An `openssl` command failed.
    #[error("openssl {what} failed ({status}): {stderr}")]
    Command {
        /// Which step.
        what: String,
        /// The exit status.
        status: String,
        /// Its standard error output.
        stderr: String,
    },
    /// A file or socket operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// `openssl ts -verify` refused a reply; `output` is what openssl printed.
#[derive(Debug, thiserror::Error)]
#[error("openssl ts -verify refused the reply: {output}")]
pub struct OpensslVerifyError {
    /// openssl's stdout and stderr, trimmed.
    pub output: String,
}

/// A temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<Self, HarnessError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&path).map_err(io_err(format!("create {}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test PKI made with the `openssl` CLI in a temporary directory (removed on drop):
///
/// - a trusted root CA (EC P-256) and a TSA certificate it issued (RSA-2048, `extendedKeyUsage =
///   critical, timeStamping`), `chain.pem` holding the root;
/// - an untrusted second root and TSA (EC P-256), for the "token from an untrusted TSA" case;
/// - an `openssl ts` configuration with three TSA sections: `tsa_trusted`, `tsa_untrusted`, and
///   `tsa_reject` (trusted signer, but only SHA-512 imprints supported, so that a SHA-256 query is
///   answered with a well-formed `rejection` status);
/// - a stored query for other data with its own nonce (the "reply for another nonce" case).
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
    counter: AtomicU64,
    reply_lock: tokio::sync::Mutex<()>,
}

impl TestPki {
    /// Generates the PKI (a handful of `openssl` runs; well under a second).
    ///
    /// # Errors
    /// [`HarnessError::OpensslMissing`] without the CLI; another [`HarnessError`] when a step fails.
    pub fn generate() -> Result<Arc<Self>, HarnessError> {
        Self::generate_named("tsa-client tests")
    }

    /// As [`TestPki::generate`], with the trusted root and TSA under organisation `org` (so that
    /// several independent TSAs in one test have distinct names and roots).
    ///
    /// # Errors
    /// As [`TestPki::generate`].
    pub fn generate_named(org: &str) -> Result<Arc<Self>, HarnessError> {
        if openssl_version().is_none() {
            return Err(HarnessError::OpensslMissing);
        }
        let dir = TempDir::new("tsa-client-openssl-tsa")?;
        let pki = Self { dir, counter: AtomicU64::new(0), reply_lock: tokio::sync::Mutex::new(()) };
        pki.write("pki.cnf", PKI_CNF.as_bytes())?;
        let ts_cnf = TS_CNF.replace("@DIR@", &pki.dir.0.display().to_string());
        pki.write("ts.cnf", ts_cnf.as_bytes())?;
        for serial in ["serial-trusted", "serial-untrusted", "serial-reject"] {
            pki.write(serial, b"01\n")?;
        }
        pki.make_ca("root", &format!("/O={org}/CN=Test Root CA"))?;
        pki.make_tsa("tsa", "root", "rsa", &format!("/O={org}/CN=Test TSA"), "2")?;
        pki.make_ca("untrusted-root", "/O=Somebody else/CN=Untrusted Root CA")?;
        pki.make_tsa("untrusted-tsa", "untrusted-root", "ec", "/O=Somebody else/CN=Untrusted TSA", "3")?;
        std::fs::copy(pki.path("root.pem"), pki.path("chain.pem")).map_err(io_err("copy chain.pem"))?;
        std::fs::copy(pki.path("untrusted-root.pem"), pki.path("untrusted-chain.pem")).map_err(io_err("copy untrusted-chain.pem"))?;
        pki.write("other.dat", b"some other document, time-stamped by someone else")?;
        pki.openssl("ts -query (other nonce)", &["ts", "-query", "-data", "other.dat", "-sha256", "-cert", "-out", "other.tsq"])?;
        Ok(Arc::new(pki))
    }

    /// The directory holding the PKI files.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// The trusted root CA certificate (PEM): the trust anchor for verification.
    pub fn root_pem(&self) -> PathBuf {
        self.path("root.pem")
    }

    /// The trusted TSA's certificate (PEM).
    pub fn tsa_cert_pem(&self) -> PathBuf {
        self.path("tsa.pem")
    }

    /// The chain the trusted TSA includes in its tokens (PEM; the root).
    pub fn chain_pem(&self) -> PathBuf {
        self.path("chain.pem")
    }

    /// The untrusted root CA certificate (PEM): never a trust anchor in the tests.
    pub fn untrusted_root_pem(&self) -> PathBuf {
        self.path("untrusted-root.pem")
    }

    /// The untrusted TSA's certificate (PEM).
    pub fn untrusted_tsa_cert_pem(&self) -> PathBuf {
        self.path("untrusted-tsa.pem")
    }

    /// Builds a DER `TimeStampReq` for `data` with `openssl ts -query -data FILE -sha256 -cert`
    /// (SHA-256 imprint, random nonce, certReq).
    ///
    /// # Errors
    /// [`HarnessError`] when openssl or the file system fails.
    pub fn make_query(&self, data: &[u8]) -> Result<Vec<u8>, HarnessError> {
        let n = self.next();
        let (dat, tsq) = (format!("data-{n}.dat"), format!("query-{n}.tsq"));
        self.write(&dat, data)?;
        self.openssl("ts -query", &["ts", "-query", "-data", &dat, "-sha256", "-cert", "-out", &tsq])?;
        let query = self.read(&tsq);
        self.remove(&[&dat, &tsq]);
        query
    }

    /// Verifies `reply` (a DER `TimeStampResp`) against `query` with
    /// `openssl ts -verify -queryfile Q -in R -CAfile root.pem -untrusted tsa.pem`: status,
    /// nonce, imprint, policy, signature and chain to the trusted root (at the current time).
    ///
    /// # Errors
    /// [`OpensslVerifyError`] with openssl's output when it refuses the reply (or could not run).
    pub fn verify_reply(&self, query: &[u8], reply: &[u8]) -> Result<(), OpensslVerifyError> {
        let n = self.next();
        let (tsq, tsr) = (format!("verify-{n}.tsq"), format!("verify-{n}.tsr"));
        let outcome = (|| {
            self.write(&tsq, query).map_err(|e| e.to_string())?;
            self.write(&tsr, reply).map_err(|e| e.to_string())?;
            let root = self.root_pem();
            let tsa = self.tsa_cert_pem();
            let out = Command::new("openssl")
                .current_dir(self.dir())
                .args(["ts", "-verify", "-queryfile", &tsq, "-in", &tsr, "-CAfile"])
                .arg(&root)
                .arg("-untrusted")
                .arg(&tsa)
                .output()
                .map_err(|e| format!("could not run openssl: {e}"))?;
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if out.status.success() && text.contains("Verification: OK") { Ok(()) } else { Err(text.trim().to_owned()) }
        })();
        self.remove(&[&tsq, &tsr]);
        outcome.map_err(|output| OpensslVerifyError { output })
    }

    /// `openssl ts -reply -in R -text`: the reply in readable form (status, TSTInfo).
    ///
    /// # Errors
    /// [`HarnessError`] when openssl cannot parse the reply.
    pub fn reply_text(&self, reply: &[u8]) -> Result<String, HarnessError> {
        let n = self.next();
        let tsr = format!("text-{n}.tsr");
        self.write(&tsr, reply)?;
        let out = self.openssl("ts -reply -text", &["ts", "-reply", "-in", &tsr, "-text"]);
        self.remove(&[&tsr]);
        out
    }

    /// Runs `openssl ts -reply` for `query` with the given signer; returns the DER reply.
    async fn reply(&self, query: &[u8], signer: Signer) -> Result<Vec<u8>, HarnessError> {
        let _serial = self.reply_lock.lock().await;
        let n = self.next();
        let (tsq, tsr) = (format!("reply-{n}.tsq"), format!("reply-{n}.tsr"));
        let query_file = if let Signer::OtherNonce = signer {
            "other.tsq".to_owned()
        } else {
            self.write(&tsq, query)?;
            tsq.clone()
        };
        let (section, cert, key, chain) = match signer {
            Signer::Trusted | Signer::OtherNonce => ("tsa_trusted", "tsa.pem", "tsa.key", "chain.pem"),
            Signer::Reject => ("tsa_reject", "tsa.pem", "tsa.key", "chain.pem"),
            Signer::Untrusted => ("tsa_untrusted", "untrusted-tsa.pem", "untrusted-tsa.key", "untrusted-chain.pem"),
        };
        let out = tokio::process::Command::new("openssl")
            .current_dir(self.dir())
            .args([
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-section",
                section,
                "-queryfile",
                &query_file,
                "-signer",
                cert,
                "-inkey",
                key,
                "-chain",
                chain,
                "-out",
                &tsr,
            ])
            .output()
            .await
            .map_err(io_err("run openssl ts -reply"))?;
        let result = if out.status.success() {
            self.read(&tsr)
        } else {
            Err(HarnessError::Command {
                what: "ts -reply".to_owned(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        };
        self.remove(&[&tsq, &tsr]);
        result
    }

    /// Issues another TSA certificate under the trusted root (`alg`: `"rsa"` for RSA-2048,
    /// anything else for EC P-256; `extendedKeyUsage = critical, timeStamping`), named `name`
    /// in the PKI directory; answers its certificate, key (PEM) and key (PKCS#8 DER) paths.
    ///
    /// # Errors
    /// [`HarnessError`] when openssl fails.
    pub fn issue_tsa(&self, name: &str, alg: &str, subject: &str) -> Result<IssuedTsa, HarnessError> {
        let serial = (1000 + self.next()).to_string();
        self.make_tsa(name, "root", alg, subject, &serial)?;
        let p8 = format!("{name}.p8");
        self.openssl("pkcs8", &["pkcs8", "-topk8", "-nocrypt", "-in", &format!("{name}.key"), "-outform", "DER", "-out", &p8])?;
        Ok(IssuedTsa {
            cert_pem: self.path(&format!("{name}.pem")),
            key_pem: self.path(&format!("{name}.key")),
            key_pkcs8_der: self.path(&p8),
        })
    }

    /// A `TimeStampResp` (DER) from the trusted TSA over a SHA-256 `digest` (SHA-256 imprint,
    /// random nonce, certReq), made by `openssl ts -query` and `openssl ts -reply`.
    ///
    /// # Errors
    /// [`HarnessError`] when openssl fails.
    pub async fn stamp_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, HarnessError> {
        let n = self.next();
        let tsq = format!("digest-{n}.tsq");
        let hex = hex::encode(digest);
        self.openssl("ts -query -digest", &["ts", "-query", "-digest", &hex, "-sha256", "-cert", "-out", &tsq])?;
        let query = self.read(&tsq);
        self.remove(&[&tsq]);
        self.reply(&query?, Signer::Trusted).await
    }

    /// Checks a reply with `openssl ts -verify -digest` against the trusted root.
    pub fn verify_digest_reply(&self, digest: &[u8; 32], reply: &[u8]) -> bool {
        let n = self.next();
        let tsr = format!("vdigest-{n}.tsr");
        if self.write(&tsr, reply).is_err() {
            return false;
        }
        let hex = hex::encode(digest);
        let ok = Command::new("openssl")
            .current_dir(self.dir())
            .args(["ts", "-verify", "-digest", &hex, "-in", &tsr, "-CAfile", "root.pem", "-untrusted", "tsa.pem"])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verification: OK"));
        self.remove(&[&tsr]);
        ok
    }

    fn make_ca(&self, name: &str, subject: &str) -> Result<(), HarnessError> {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        self.openssl(
            &format!("req -x509 ({name})"),
            &[
                "req",
                "-x509",
                "-config",
                "pki.cnf",
                "-extensions",
                "v3_root",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "3650",
                "-sha256",
                "-subj",
                subject,
            ],
        )
        .map(drop)
    }

    fn make_tsa(&self, name: &str, ca: &str, alg: &str, subject: &str, serial: &str) -> Result<(), HarnessError> {
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
        let mut req = vec!["req", "-new", "-config", "pki.cnf", "-nodes", "-keyout", &key];
        if alg == "rsa" {
            req.extend(["-newkey", "rsa:2048"]);
        } else {
            req.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        req.extend(["-out", &csr, "-subj", subject]);
        self.openssl(&format!("req -new ({name})"), &req)?;
        self.openssl(
            &format!("x509 -req ({name})"),
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-set_serial",
                serial,
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                "pki.cnf",
                "-extensions",
                "v3_tsa",
                "-out",
                &pem,
            ],
        )
        .map(drop)
    }

    fn openssl(&self, what: &str, args: &[&str]) -> Result<String, HarnessError> {
        let out = Command::new("openssl").current_dir(self.dir()).args(args).output().map_err(io_err(format!("run openssl {what}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(HarnessError::Command {
                what: what.to_owned(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), HarnessError> {
        std::fs::write(self.path(name), bytes).map_err(io_err(format!("write {name}")))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, HarnessError> {
        std::fs::read(self.path(name)).map_err(io_err(format!("read {name}")))
    }

    fn remove(&self, names: &[&str]) {
        for name in names {
            let _ = std::fs::remove_file(self.path(name));
        }
    }
}

/// A TSA certificate issued by [`TestPki::issue_tsa`].
#[derive(Clone, Debug)]
pub struct IssuedTsa {
    /// The certificate (PEM).
    pub cert_pem: PathBuf,
    /// Its private key (PEM).
    pub key_pem: PathBuf,
    /// Its private key (PKCS#8 DER).
    pub key_pkcs8_der: PathBuf,
}

#[derive(Clone, Copy, Debug)]
enum Signer {
    Trusted,
    Untrusted,
    Reject,
    OtherNonce,
}

const PKI_CNF: &str = "\
[ req ]
distinguished_name = dn
prompt = no

[ dn ]
CN = placeholder

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
";

const TS_CNF: &str = "\
[ tsa ]
default_tsa = tsa_trusted

[ tsa_trusted ]
dir = @DIR@
serial = $dir/serial-trusted
crypto_device = builtin
signer_digest = sha256
default_policy = 2.999.3161.1
other_policies = 2.999.3161.2
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ tsa_untrusted ]
dir = @DIR@
serial = $dir/serial-untrusted
crypto_device = builtin
signer_digest = sha256
default_policy = 2.999.3161.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ tsa_reject ]
dir = @DIR@
serial = $dir/serial-reject
crypto_device = builtin
signer_digest = sha256
default_policy = 2.999.3161.1
digests = sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
";

/// How the test TSA answers. Switch with [`OpensslTsa::set_fault`] (persistent) or
/// [`OpensslTsa::push_one_shot`] (consumed one per request, before the persistent one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// A correct reply from the trusted TSA.
    #[default]
    None,
    /// The server stops listening: connections are refused until another fault is set.
    /// Persistent only; as a one-shot fault it answers 503.
    Down,
    /// This HTTP status with a short text body.
    HttpStatus(u16),
    /// HTTP 429 with `Retry-After: secs`.
    TooManyRequests {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// HTTP 200, `application/timestamp-reply`, a body that is not a `TimeStampResp`.
    Garbage,
    /// A correct reply, but sent as `text/html`.
    WrongContentType,
    /// Sleeps this long, then sends a correct reply.
    Slow(Duration),
    /// A correct, signed reply to a different stored request (other imprint, other nonce).
    OtherNonce,
    /// A well-formed reply with PKIStatus `rejection` (badAlg): the signer supports SHA-512 only.
    Rejection,
    /// A reply signed by the untrusted TSA (chain to the untrusted root).
    UntrustedSigner,
    /// HTTP 200, `application/timestamp-reply`, a chunked body of up to 1 GiB with no
    /// `Content-Length`: only a client that enforces its limit while streaming stops early.
    Oversize,
}

/// One request the test TSA received.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The request path.
    pub path: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Authorization` header, if any (so that tests can check credentials were sent).
    pub authorization: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

#[derive(Debug)]
struct Shared {
    pki: Arc<TestPki>,
    fault: watch::Sender<Fault>,
    shutdown: watch::Sender<bool>,
    one_shot: Mutex<VecDeque<Fault>>,
    requests: Mutex<Vec<ReceivedRequest>>,
    /// Whether the listening socket is open; `set_fault` waits on it so that `Down` is in
    /// effect (connections refused) when it returns, and lifted when another mode is set.
    listening: Mutex<bool>,
    listening_changed: Condvar,
}

impl Shared {
    fn set_listening(&self, open: bool) {
        *self.listening.lock().unwrap_or_else(PoisonError::into_inner) = open;
        self.listening_changed.notify_all();
    }

    fn wait_listening(&self, open: bool, limit: Duration) {
        let guard = self.listening.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self.listening_changed.wait_timeout_while(guard, limit, |now| *now != open);
    }
}

/// A running test TSA on `127.0.0.1` (random port), served from its own thread and Tokio
/// runtime, so it works from any test (async or not) and is not slowed by the test's runtime.
/// Stops on drop.
#[derive(Debug)]
pub struct OpensslTsa {
    shared: Arc<Shared>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl OpensslTsa {
    /// Starts a test TSA with a fresh [`TestPki`].
    ///
    /// # Errors
    /// [`HarnessError::OpensslMissing`] without the CLI; another [`HarnessError`] on failure.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with_pki(TestPki::generate()?)
    }

    /// Starts a test TSA signing with the given PKI (several servers may share one PKI).
    ///
    /// # Errors
    /// [`HarnessError::Io`] when the socket or runtime cannot be set up.
    pub fn start_with_pki(pki: Arc<TestPki>) -> Result<Self, HarnessError> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("bind 127.0.0.1:0"))?;
        std_listener.set_nonblocking(true).map_err(io_err("set_nonblocking"))?;
        let addr = std_listener.local_addr().map_err(io_err("local_addr"))?;
        let (fault, _) = watch::channel(Fault::None);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            pki,
            fault,
            shutdown,
            one_shot: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            // The socket is bound (and queueing connections) from here on.
            listening: Mutex::new(true),
            listening_changed: Condvar::new(),
        });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(io_err("build the test TSA runtime"))?;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("openssl-tsa-{}", addr.port()))
            .spawn(move || runtime.block_on(serve_loop(addr, std_listener, thread_shared)))
            .map_err(io_err("spawn the test TSA thread"))?;
        Ok(Self { shared, addr, thread: Some(thread) })
    }

    /// The URL to POST time-stamp queries to.
    pub fn url(&self) -> String {
        format!("http://{}/tsa", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PKI this TSA signs with.
    pub fn pki(&self) -> &Arc<TestPki> {
        &self.shared.pki
    }

    /// Sets the persistent fault mode for the following requests. `Down` closes the listening
    /// socket (after in-flight requests finish; keep-alive connections are closed too) and
    /// returns once it is closed; any other mode reopens it on the same port and returns once
    /// it listens. Blocks the calling thread for that (normally milliseconds; at most 10 s).
    pub fn set_fault(&self, fault: Fault) {
        self.shared.fault.send_replace(fault);
        self.shared.wait_listening(fault != Fault::Down, Duration::from_secs(10));
    }

    /// Queues faults used one per request, in order, before the persistent mode applies again.
    pub fn push_one_shot(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.one_shot.lock().unwrap_or_else(PoisonError::into_inner).extend(faults);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for OpensslTsa {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves until shutdown; closes the socket while the fault is `Down` and reopens it after.
async fn serve_loop(addr: SocketAddr, first: std::net::TcpListener, shared: Arc<Shared>) {
    let mut first = Some(first);
    let mut fault_rx = shared.fault.subscribe();
    let mut shutdown_rx = shared.shutdown.subscribe();
    loop {
        if *shutdown_rx.borrow_and_update() {
            return;
        }
        if *fault_rx.borrow_and_update() == Fault::Down {
            drop(first.take());
            shared.set_listening(false);
            tokio::select! {
                _ = fault_rx.changed() => continue,
                _ = shutdown_rx.changed() => continue,
            }
        }
        let listener = match first.take() {
            Some(std) => tokio::net::TcpListener::from_std(std),
            None => tokio::net::TcpListener::bind(addr).await,
        };
        let listener = match listener {
            Ok(l) => {
                shared.set_listening(true);
                l
            }
            Err(e) => {
                eprintln!("openssl-tsa: cannot listen on {addr}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let mut down_rx = shared.fault.subscribe();
        let went_down = async move {
            while down_rx.changed().await.is_ok() {
                if *down_rx.borrow_and_update() == Fault::Down {
                    return;
                }
            }
        };
        let server = axum::serve(listener, app).with_graceful_shutdown(went_down);
        tokio::select! {
            _ = server => shared.set_listening(false),
            _ = shutdown_rx.changed() => return,
        }
    }
}

const TSR: &str = "application/timestamp-reply";

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header_text = |name| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    shared.requests.lock().unwrap_or_else(PoisonError::into_inner).push(ReceivedRequest {
        path: uri.path().to_owned(),
        content_type: header_text(header::CONTENT_TYPE),
        authorization: header_text(header::AUTHORIZATION),
        body: body.to_vec(),
    });
    let one_shot = shared.one_shot.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
    let fault = one_shot.unwrap_or_else(|| *shared.fault.borrow());
    let signed = |signer| {
        let shared = Arc::clone(&shared);
        let body = body.clone();
        async move { shared.pki.reply(&body, signer).await }
    };
    let reply = |result: Result<Vec<u8>, HarnessError>, content_type: &'static str| match result {
        Ok(der) => ([(header::CONTENT_TYPE, content_type)], der).into_response(),
        Err(e) => {
            eprintln!("openssl-tsa: {e}");
            let mut text = String::new();
            let _ = write!(text, "test TSA harness error: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
        }
    };
    match fault {
        Fault::None => reply(signed(Signer::Trusted).await, TSR),
        Fault::Down => (StatusCode::SERVICE_UNAVAILABLE, "test TSA: down").into_response(),
        Fault::HttpStatus(code) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "test TSA: injected status").into_response()
        }
        Fault::TooManyRequests { retry_after_secs } => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after_secs.to_string())], "test TSA: slow down").into_response()
        }
        Fault::Garbage => ([(header::CONTENT_TYPE, TSR)], b"this is not a TimeStampResp \x30\x03\x02\x01".to_vec()).into_response(),
        Fault::WrongContentType => reply(signed(Signer::Trusted).await, "text/html; charset=utf-8"),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            reply(signed(Signer::Trusted).await, TSR)
        }
        Fault::OtherNonce => reply(signed(Signer::OtherNonce).await, TSR),
        Fault::Rejection => reply(signed(Signer::Reject).await, TSR),
        Fault::UntrustedSigner => reply(signed(Signer::Untrusted).await, TSR),
        Fault::Oversize => {
            static CHUNK: [u8; 64 * 1024] = [0; 64 * 1024];
            let chunks = futures_util::stream::iter((0..16 * 1024).map(|_| Ok::<_, Infallible>(Bytes::from_static(&CHUNK))));
            ([(header::CONTENT_TYPE, TSR)], Body::from_stream(chunks)).into_response()
        }
    }
}
