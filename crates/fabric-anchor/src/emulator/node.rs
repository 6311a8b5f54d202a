//! [`NodeChaincodeServer`]: the real `evidence-anchor` chaincode (`chaincode/evidence-anchor`,
//! Node.js, `fabric-contract-api`) started as a chaincode-as-a-service server on a local port,
//! for the emulator's [`super::ChaincodeMode::Shim`] in tests and in `ledger-server dev`.
//!
//! It runs exactly what an operator runs (`npm run start:server`, see the chaincode's README):
//! the official shim's CLI, `fabric-chaincode-node server --chaincode-address ADDR
//! --chaincode-id ID [--chaincode-tls-...]`, here as `node <dir>/node_modules/fabric-shim/cli.js
//! server ...` so that the child is the Node process itself (npm would put a shell between).
//! Needs `node` on `PATH` and the chaincode's packages installed (`npm ci` in its directory).

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::pki::ChaincodeTlsMaterial;
use super::shim::{ShimConfig, ShimTls};

/// The most output kept from the chaincode process (the tail is kept).
const LOG_CAP: usize = 256 * 1024;

/// Why the chaincode server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeChaincodeError {
    /// Node.js or the chaincode's packages are missing.
    #[error("cannot run the Node chaincode: {0}")]
    Missing(String),
    /// A local file or port could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process exited before it listened.
    #[error("the chaincode server exited ({status}) before listening on {address}; its output:\n{log}")]
    Exited {
        /// Where it should have listened.
        address: SocketAddr,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        log: String,
    },
    /// It did not listen in time.
    #[error("the chaincode server did not listen on {address} within {after:?}; its output:\n{log}")]
    NotListening {
        /// Where it should listen.
        address: SocketAddr,
        /// How long was waited.
        after: Duration,
        /// What it printed.
        log: String,
    },
}

/// What to start.
#[derive(Debug, Clone)]
pub struct NodeChaincodeOptions {
    /// The chaincode's directory (`chaincode/evidence-anchor`, with `node_modules` installed).
    pub dir: PathBuf,
    /// The id the chaincode registers with: its package ID in a real network.
    pub chaincode_id: String,
    /// Where to listen; `None` picks a free port on 127.0.0.1.
    pub listen: Option<SocketAddr>,
    /// Serve TLS with this material, requiring the peer's client certificate.
    pub tls: Option<ChaincodeTlsMaterial>,
    /// How long to wait for the server to listen.
    pub start_timeout: Duration,
}

impl NodeChaincodeOptions {
    /// Plain HTTP/2 on a free port, the chaincode in [`NodeChaincodeServer::default_dir`].
    pub fn new(chaincode_id: impl Into<String>) -> Self {
        Self {
            dir: NodeChaincodeServer::default_dir(),
            chaincode_id: chaincode_id.into(),
            listen: None,
            tls: None,
            start_timeout: Duration::from_secs(30),
        }
    }
}

/// A running Node chaincode server; killed when dropped.
#[derive(Debug)]
pub struct NodeChaincodeServer {
    child: Child,
    address: SocketAddr,
    chaincode_id: String,
    tls: Option<ChaincodeTlsMaterial>,
    files: Option<PathBuf>,
    log: Arc<Mutex<Vec<u8>>>,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeChaincodeError {
    let what = what.into();
    move |source| NodeChaincodeError::Io { what, source }
}

/// A private directory for the TLS files handed to the server.
fn private_dir() -> Result<PathBuf, NodeChaincodeError> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r)
        .map_err(|e| NodeChaincodeError::Io { what: "random name".into(), source: std::io::Error::other(e.to_string()) })?;
    let dir = std::env::temp_dir().join(format!("evidence-anchor-cc-{}-{}", std::process::id(), hex::encode(r)));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).map_err(io(format!("create {}", dir.display())))?;
    Ok(dir)
}

impl NodeChaincodeServer {
    /// `chaincode/evidence-anchor` of the source tree this crate was built from.
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chaincode/evidence-anchor")
    }

    /// Why the chaincode cannot be started here, if it cannot: no `node` on `PATH`, or the
    /// chaincode's packages not installed in `dir`.
    pub fn missing_prerequisite(dir: &Path) -> Option<String> {
        match Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
            Ok(s) if s.success() => {}
            _ => return Some("no `node` on PATH".to_owned()),
        }
        let cli = dir.join("node_modules/fabric-shim/cli.js");
        if !cli.is_file() {
            return Some(format!("the chaincode's packages are not installed (run `npm ci --prefix {}`)", dir.display()));
        }
        None
    }

    /// Starts the server and waits until it listens.
    ///
    /// # Errors
    /// [`NodeChaincodeError`] when Node.js or the packages are missing, or the server does not
    /// come up.
    pub fn start(opts: NodeChaincodeOptions) -> Result<Self, NodeChaincodeError> {
        if let Some(why) = Self::missing_prerequisite(&opts.dir) {
            return Err(NodeChaincodeError::Missing(why));
        }
        let address = if let Some(a) = opts.listen {
            a
        } else {
            let l = TcpListener::bind("127.0.0.1:0").map_err(io("pick a free port"))?;
            l.local_addr().map_err(io("pick a free port"))?
        };
        let dir = opts.dir.canonicalize().map_err(io(format!("chaincode directory {}", opts.dir.display())))?;
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("node_modules/fabric-shim/cli.js"))
            .arg("server")
            .arg(format!("--chaincode-address={address}"))
            .arg(format!("--chaincode-id={}", opts.chaincode_id))
            .arg(format!("--module-path={}", dir.display()))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The shim's CLI reads CORE_* variables as options: none may leak in from our environment.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CORE_") {
                cmd.env_remove(k);
            }
        }
        let mut files = None;
        if let Some(t) = &opts.tls {
            let d = private_dir()?;
            let write = |name: &str, text: &str| -> Result<PathBuf, NodeChaincodeError> {
                let p = d.join(name);
                std::fs::write(&p, text).map_err(io(format!("write {}", p.display())))?;
                Ok(p)
            };
            cmd.arg(format!("--chaincode-tls-cert-file={}", write("server.pem", &t.server_cert_pem)?.display()))
                .arg(format!("--chaincode-tls-key-file={}", write("server.key", &t.server_key_pem)?.display()))
                .arg(format!("--chaincode-tls-client-cacert-file={}", write("client-ca.pem", &t.ca_pem)?.display()));
            files = Some(d);
        }
        let mut child = cmd.spawn().map_err(io("spawn node"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in
            [child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>), child.stderr.take().map(|s| Box::new(s) as _)]
                .into_iter()
                .flatten()
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || drain(stream, &log));
        }
        let mut server = Self { child, address, chaincode_id: opts.chaincode_id, tls: opts.tls, files, log };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(NodeChaincodeError::Exited { address, status, log: server.log() });
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if started.elapsed() > opts.start_timeout {
                return Err(NodeChaincodeError::NotListening { address, after: opts.start_timeout, log: server.log() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Self::start`] from async code (the wait for the server runs on a blocking thread).
    ///
    /// # Errors
    /// As [`Self::start`].
    pub async fn spawn(opts: NodeChaincodeOptions) -> Result<Self, NodeChaincodeError> {
        tokio::task::spawn_blocking(move || Self::start(opts))
            .await
            .map_err(|e| NodeChaincodeError::Io { what: "the start-up task".into(), source: std::io::Error::other(e.to_string()) })?
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The chaincode id it registers with.
    pub fn chaincode_id(&self) -> &str {
        &self.chaincode_id
    }

    /// The emulator's configuration to dial it (TLS with the peer's client certificate when it
    /// serves TLS).
    pub fn shim_config(&self) -> ShimConfig {
        let mut c = ShimConfig::plaintext(self.address.to_string(), self.chaincode_id.clone());
        c.tls = self.tls.as_ref().map(|t| ShimTls {
            root_cert_pem: t.ca_pem.clone(),
            client_cert_and_key_pem: Some((t.peer_cert_pem.clone(), t.peer_key_pem.clone())),
            domain: Some("localhost".to_owned()),
        });
        c
    }

    /// What the process has printed so far (its last 256 KiB), for diagnostics.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }

    /// Stops the process (SIGKILL) and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = self.files.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Drop for NodeChaincodeServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn drain(mut stream: Box<dyn std::io::Read + Send>, log: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut l = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.extend_from_slice(&buf[..n]);
        if l.len() > LOG_CAP {
            let cut = l.len() - LOG_CAP;
            l.drain(..cut);
        }
    }
}
