//! `fabric-emulator`: a single-process stand-in for a Fabric network behind the Gateway API
//! (feature `emulator`, off by default: the client library alone ships no server and no rcgen).
//!
//! It serves `gateway.Gateway` over plain HTTP/2, or mutual TLS ([`EmulatorConfig::tls`]), on a
//! local port. At start it generates one ECDSA P-256 CA per organisation (peer org `Org1MSP`,
//! orderer org `OrdererMSP`), and issues a peer, an orderer and a client identity (or reuses
//! another emulator's, [`EmulatorConfig::identities`]). For each channel it writes a config
//! block 0 carrying both MSPs' root certificates, then:
//!
//! - **Endorse / Evaluate** decode the `SignedProposal`, check that the creator is an identity
//!   the emulator's CAs issued (see *Limits*) and that its signature (low-S DER ECDSA over
//!   SHA-256) verifies, that the txid is `hex(SHA-256(nonce || creator))`, then run the
//!   `evidence-anchor` chaincode (see the crate docs) or `qscc`. The chaincode runs in one of
//!   two modes ([`ChaincodeMode`]): **Rust**, the contract's semantics in process (module
//!   `contract`, the default), or **Shim**, the real chaincode
//!   (`chaincode/evidence-anchor`, Node.js) over the Fabric chaincode shim protocol, as a peer
//!   runs a chaincode-as-a-service (module `shim`; [`NodeChaincodeServer`] starts the Node
//!   server). Either way the read-write set is built from what the chaincode read and wrote.
//!   Endorse returns the prepared envelope: `ProposalResponsePayload` (proposal hash,
//!   `ChaincodeAction` with the read-write set, the chaincode event and the response) signed by
//!   the peer.
//! - **Submit** checks the envelope's creator signature and every endorsement signature,
//!   refuses a txid it has seen, and orders the transaction into its own block (after the
//!   configured commit delay): `data_hash` over the envelopes, `previous_hash` = SHA-256 of the
//!   previous DER header, orderer signature in metadata slot 0 (`OrdererBlockMetadata` with the
//!   last-config index), validation flags in slot 2. The MVCC check at commit marks the
//!   transaction `MVCC_READ_CONFLICT` when a key it read has another version than the one read.
//! - **CommitStatus** checks the signed request and waits for the commit.
//!
//! Modules by job: `service` (the gRPC service and its checks), `ledger` (world state,
//! ordering, blocks), `pki` (generated identities and TLS), `contract` (the Rust semantics),
//! `simulation` (read-write sets and the endorsed action), `shim` (the peer side of the shim
//! protocol), `node` (starting the Node chaincode), `receipts` ([`ReceiptFactory`]).
//!
//! # Limits
//!
//! Identities are checked by exact match against the certificates the emulator issued at
//! start (which is what chaining to its own CAs amounts to, as it issues no others); no
//! endorsement policy; one peer, one orderer, one transaction per block; state in memory;
//! `ChaincodeEvents` answers UNIMPLEMENTED. A real peer's read-write set also holds a read of
//! the chaincode definition in the `_lifecycle` namespace; the emulator's holds only the
//! chaincode's own namespace. In shim mode: public state only (private data, range and rich
//! queries, history, state metadata writes and chaincode-to-chaincode calls are refused with
//! `ERROR`), one chaincode, no launch of chaincode processes (the server must be running).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::identity::Identity;
use crate::rpc::gateway_server::GatewayServer;

mod contract;
mod ledger;
mod node;
mod pki;
mod receipts;
mod service;
mod shim;
mod simulation;

pub use node::{NodeChaincodeError, NodeChaincodeOptions, NodeChaincodeServer};
pub use pki::{ChaincodeTlsMaterial, EmulatorIdentities, TlsMaterial};
pub use receipts::ReceiptFactory;
pub use shim::{ShimConfig, ShimError, ShimTls};

use ledger::ChannelState;
use service::{Inner, Runtime, Service};

/// The peer organisation's MSP id.
pub const PEER_MSP: &str = "Org1MSP";
/// The orderer organisation's MSP id.
pub const ORDERER_MSP: &str = "OrdererMSP";
/// The address the peer reports in error details.
const PEER_ADDRESS: &str = "peer0.org1.emulator:7051";

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Generating the test PKI failed.
    #[error("PKI: {0}")]
    Pki(String),
    /// Binding the listener failed.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A configuration value is unusable.
    #[error("config: {0}")]
    Config(String),
    /// Shim mode: the chaincode server could not be reached or did not register.
    #[error("chaincode: {0}")]
    Chaincode(#[from] ShimError),
}

/// How the emulated peer runs the `evidence-anchor` chaincode.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum ChaincodeMode {
    /// The contract's semantics in process (no chaincode process needed).
    #[default]
    Rust,
    /// The real chaincode, a server the emulator dials over the Fabric chaincode shim protocol
    /// (chaincode-as-a-service). The emulator connects at start and fails to start when the
    /// server cannot be reached or registers under another id; it dials again after a broken
    /// stream.
    Shim(ShimConfig),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// The channels to create.
    pub channels: Vec<String>,
    /// Serve mutual TLS (a generated TLS CA issues a server certificate for `localhost` and
    /// `127.0.0.1` and a client certificate, which the server requires) instead of plain HTTP/2.
    pub tls: bool,
    /// How endorsements run the chaincode.
    pub chaincode: ChaincodeMode,
    /// The organisations and identities to use; `None` generates fresh ones.
    pub identities: Option<EmulatorIdentities>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            channels: vec!["evidence".to_owned()],
            tls: false,
            chaincode: ChaincodeMode::Rust,
            identities: None,
        }
    }
}

/// Faults switchable at run time.
#[derive(Debug, Default)]
pub struct Faults {
    /// Every call answers UNAVAILABLE.
    pub unavailable: AtomicBool,
    /// Endorse answers ABORTED with a peer error detail.
    pub endorsement_failure: AtomicBool,
    /// Every transaction committed while set is marked MVCC_READ_CONFLICT.
    pub mvcc_conflict: AtomicBool,
    /// Delay before a submitted transaction is committed, milliseconds.
    pub commit_delay_ms: AtomicU64,
}

impl Faults {
    /// Sets or clears the UNAVAILABLE fault.
    pub fn set_unavailable(&self, on: bool) {
        self.unavailable.store(on, Ordering::SeqCst);
    }
    /// Sets or clears the endorsement-failure fault.
    pub fn set_endorsement_failure(&self, on: bool) {
        self.endorsement_failure.store(on, Ordering::SeqCst);
    }
    /// Sets or clears the forced MVCC conflict.
    pub fn set_mvcc_conflict(&self, on: bool) {
        self.mvcc_conflict.store(on, Ordering::SeqCst);
    }
    /// Sets the commit delay (zero for none).
    pub fn set_commit_delay(&self, d: Duration) {
        self.commit_delay_ms.store(u64::try_from(d.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }
}

/// The trust material a verifier needs.
#[derive(Debug, Clone)]
pub struct TrustMaterial {
    /// Root CA certificate (PEM) per MSP id.
    pub msp_roots: BTreeMap<String, String>,
    /// The orderer organisation's MSP id.
    pub orderer_msp: String,
    /// The channels served.
    pub channels: Vec<String>,
}

impl TrustMaterial {
    /// The roots as evidence-core's trust store, with the orderer MSP marked.
    ///
    /// # Errors
    /// When a root does not parse (it always does for the emulator's own roots).
    pub fn msp_roots(&self) -> Result<evidence_core::fabric::MspRoots, evidence_core::fabric::FabricError> {
        let mut r = evidence_core::fabric::MspRoots::new();
        for (id, pem) in &self.msp_roots {
            r.add_pem(id, pem.as_bytes())?;
        }
        r.add_orderer_msp(&self.orderer_msp);
        Ok(r)
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    trust: TrustMaterial,
    identities: EmulatorIdentities,
    faults: Arc<Faults>,
    tls: Option<TlsMaterial>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://ADDR`, or `https://ADDR` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
    /// The TLS material when serving TLS.
    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }
    /// A client configuration for this emulator (TLS with the client certificate when serving
    /// TLS), with default deadlines.
    pub fn gateway_config(&self) -> crate::GatewayConfig {
        let mut c = crate::GatewayConfig::plaintext(self.url());
        c.tls = self.tls.as_ref().map(|t| crate::TlsConfig {
            ca_pem: t.ca_pem.clone(),
            domain: Some("localhost".to_owned()),
            client_cert_and_key_pem: Some((t.client_cert_pem.clone(), t.client_key_pem.clone())),
        });
        c
    }
    /// The trust material: MSP roots (PEM) per MSP id, orderer MSP id, channels.
    pub fn trust(&self) -> &TrustMaterial {
        &self.trust
    }
    /// A client identity (`Org1MSP`) the emulator accepts.
    pub fn client_identity(&self) -> &Identity {
        &self.identities.0.client
    }
    /// That identity's PKCS#8 private key, PEM (for `--out`).
    pub fn client_key_pem(&self) -> &str {
        &self.identities.0.client_key_pem
    }
    /// The organisations and identities, to start another emulator with the same ones.
    pub fn identities(&self) -> EmulatorIdentities {
        self.identities.clone()
    }
    /// The run-time fault switches.
    pub fn faults(&self) -> Arc<Faults> {
        Arc::clone(&self.faults)
    }
    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Builds the state: known identities and the channels' genesis blocks.
fn new_inner(channels: &[String], ids: EmulatorIdentities, runtime: Runtime) -> Result<(Arc<Inner>, TrustMaterial), EmulatorError> {
    let pki = ids.0;
    let mut known = HashMap::new();
    for id in [&pki.peer, &pki.orderer, &pki.client] {
        known.insert(id.serialized().to_vec(), id.verifying_key());
    }
    let mut states = BTreeMap::new();
    for name in channels {
        let mut st = ChannelState::default();
        let genesis = ledger::config_envelope(&pki, name)?;
        ledger::append_block(&pki, &mut st, genesis, ledger::VALID)?;
        states.insert(name.clone(), st);
    }
    let trust = TrustMaterial { msp_roots: pki.roots.clone(), orderer_msp: ORDERER_MSP.to_owned(), channels: channels.to_vec() };
    let faults = Arc::new(Faults::default());
    let (commits, _) = watch::channel(0);
    let inner = Arc::new(Inner { pki, known, channels: Mutex::new(states), faults, commits, runtime });
    Ok((inner, trust))
}

/// Generates (or reuses) the PKI, creates the channels, connects to the chaincode server in
/// shim mode, binds `config.listen` and serves in a background task.
///
/// # Errors
/// [`EmulatorError`] when the PKI cannot be generated, the address cannot be bound, or (shim
/// mode) the chaincode cannot be reached or registers under another id.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    if config.channels.is_empty() {
        return Err(EmulatorError::Config("at least one channel is needed".into()));
    }
    let identities = match config.identities {
        Some(i) => i,
        None => EmulatorIdentities::generate()?,
    };
    let runtime = match config.chaincode {
        ChaincodeMode::Rust => Runtime::Rust,
        ChaincodeMode::Shim(cfg) => {
            let driver = shim::ShimDriver::new(cfg);
            driver.connect_now().await?;
            Runtime::Shim(Box::new(driver))
        }
    };
    let (inner, trust) = new_inner(&config.channels, identities.clone(), runtime)?;
    let faults = Arc::clone(&inner.faults);

    let listener =
        tokio::net::TcpListener::bind(config.listen).await.map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
    // Nagle's algorithm with delayed ACKs stalls gRPC's small writes by ~40 ms each.
    let incoming = tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(listener), |s| {
        s.inspect(|t| {
            let _ = t.set_nodelay(true);
        })
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let svc = GatewayServer::new(Service(inner));
    let tls = if config.tls { Some(pki::gen_tls()?) } else { None };
    let mut builder = tonic::transport::Server::builder();
    if let Some(t) = &tls {
        let cfg = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(&t.server_cert_pem, &t.server_key_pem))
            .client_ca_root(tonic::transport::Certificate::from_pem(&t.ca_pem));
        builder = builder.tls_config(cfg).map_err(|e| EmulatorError::Config(format!("TLS: {e}")))?;
    }
    let task = tokio::spawn(async move {
        let _ = builder
            .add_service(svc)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(RunningEmulator { addr, trust, identities, faults, tls, stop: Some(stop), task: Some(task) })
}
