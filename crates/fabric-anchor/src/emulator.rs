//! `fabric-emulator`: a single-process stand-in for a Fabric network behind the Gateway API.
//!
//! It serves `gateway.Gateway` over plain HTTP/2, or mutual TLS ([`EmulatorConfig::tls`]), on a
//! local port. At start it generates one
//! ECDSA P-256 CA per organisation (peer org `Org1MSP`, orderer org `OrdererMSP`), and issues
//! a peer, an orderer and a client identity. For each channel it writes a config block 0
//! carrying both MSPs' root certificates, then:
//!
//! - **Endorse / Evaluate** decode the `SignedProposal`, check that the creator is an identity
//!   the emulator's CAs issued (see *Limits*) and that its signature (low-S DER ECDSA over
//!   SHA-256) verifies, that the txid is `hex(SHA-256(nonce || creator))`, then run the
//!   `evidence-anchor` contract (see the crate docs) or `qscc`. Endorse returns the prepared
//!   envelope: `ProposalResponsePayload` (proposal hash, `ChaincodeAction` with the read-write
//!   set) signed by the peer.
//! - **Submit** checks the envelope's creator signature and every endorsement signature,
//!   refuses a txid it has seen, and orders the transaction into its own block (after the
//!   configured commit delay): `data_hash` over the envelopes, `previous_hash` = SHA-256 of the
//!   previous DER header, orderer signature in metadata slot 0 (`OrdererBlockMetadata` with the
//!   last-config index), validation flags in slot 2. The MVCC check at commit marks the
//!   transaction `MVCC_READ_CONFLICT` when a key it read was written since its endorsement.
//! - **CommitStatus** checks the signed request and waits for the commit.
//!
//! # Limits
//!
//! Identities are checked by exact match against the certificates the emulator issued at
//! start (which is what chaining to its own CAs amounts to, as it issues no others); no
//! endorsement policy; one peer, one orderer, one transaction per block; state in memory;
//! `ChaincodeEvents` answers UNIMPLEMENTED.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use evidence_core::fabric::proto::{common, gateway, kvrwset, msp, protos, rwset};
use evidence_core::fabric::{ANCHOR_NAMESPACE, header_der, header_hash};
use p256::ecdsa::VerifyingKey;
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::{oneshot, watch};
use tonic::{Request, Response, Status};

use crate::anchor::QSCC;
use crate::client::{ERROR_DETAIL_TYPE_URL, RpcStatus};
use crate::identity::{Identity, txid, verify_signature};
use crate::rpc::gateway_server::{Gateway, GatewayServer};

/// The peer organisation's MSP id.
pub const PEER_MSP: &str = "Org1MSP";
/// The orderer organisation's MSP id.
pub const ORDERER_MSP: &str = "OrdererMSP";
/// The address the peer reports in error details.
const PEER_ADDRESS: &str = "peer0.org1.emulator:7051";
/// `common.HeaderType.CONFIG`.
const HEADER_TYPE_CONFIG: i32 = 1;

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
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), channels: vec!["evidence".to_owned()], tls: false }
    }
}

/// TLS material of an emulator started with [`EmulatorConfig::tls`].
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The TLS CA certificate, PEM: what clients trust.
    pub ca_pem: String,
    /// A client certificate and PKCS#8 key (PEM) the server accepts.
    pub client_cert_pem: String,
    /// The client key, PEM.
    pub client_key_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

fn gen_tls() -> Result<TlsMaterial, EmulatorError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256};
    let pki = |e: rcgen::Error| EmulatorError::Pki(e.to_string());
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
    ca_params.distinguished_name.push(DnType::CommonName, "tlsca.emulator");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(pki)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>, cn: &str| -> Result<(String, String), EmulatorError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki)?;
        let mut params = CertificateParams::new(names).map_err(pki)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &issuer).map_err(pki)?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    let (server_cert_pem, server_key_pem) = leaf(vec!["localhost".to_owned(), "127.0.0.1".to_owned()], "localhost")?;
    let (client_cert_pem, client_key_pem) = leaf(Vec::new(), "client.emulator")?;
    Ok(TlsMaterial { ca_pem: ca_cert.pem(), client_cert_pem, client_key_pem, server_cert_pem, server_key_pem })
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

/// Freshly generated PKI: two CAs and three leaf identities.
struct Pki {
    roots: BTreeMap<String, String>,
    peer: Identity,
    orderer: Identity,
    client: Identity,
    client_key_pem: String,
}

fn gen_pki() -> Result<Pki, EmulatorError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256};
    let pki = |e: rcgen::Error| EmulatorError::Pki(e.to_string());
    let mut roots = BTreeMap::new();
    let mut make_org = |msp: &str, org: &str| -> Result<(KeyPair, CertificateParams), EmulatorError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
        params.distinguished_name.push(DnType::OrganizationName, org);
        params.distinguished_name.push(DnType::CommonName, format!("ca.{org}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).map_err(pki)?;
        roots.insert(msp.to_owned(), cert.pem());
        Ok((key, params))
    };
    let (org_key, org_params) = make_org(PEER_MSP, "org1.emulator")?;
    let (ord_key, ord_params) = make_org(ORDERER_MSP, "orderer.emulator")?;
    let org_issuer = rcgen::Issuer::new(org_params, org_key);
    let ord_issuer = rcgen::Issuer::new(ord_params, ord_key);
    let leaf = |cn: &str, msp: &str, issuer: &rcgen::Issuer<'_, KeyPair>| -> Result<(Identity, String), EmulatorError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, issuer).map_err(pki)?;
        let id = Identity::from_pkcs8_der(msp, &cert.pem(), &key.serialize_der()).map_err(|e| EmulatorError::Pki(e.to_string()))?;
        Ok((id, key.serialize_pem()))
    };
    let (peer, _) = leaf("peer0.org1.emulator", PEER_MSP, &org_issuer)?;
    let (client, client_key_pem) = leaf("User1@org1.emulator", PEER_MSP, &org_issuer)?;
    let (orderer, _) = leaf("orderer0.orderer.emulator", ORDERER_MSP, &ord_issuer)?;
    Ok(Pki { roots, peer, orderer, client, client_key_pem })
}

/// One committed or pending transaction.
#[derive(Debug, Clone, Copy)]
struct TxStatus {
    block: u64,
    code: i32,
}

#[derive(Debug, Default)]
struct ChannelState {
    blocks: Vec<Vec<u8>>,
    last_header_hash: [u8; 32],
    /// key -> (value, block number of the write).
    world: HashMap<String, (Vec<u8>, u64)>,
    /// txid -> status once committed.
    committed: HashMap<String, TxStatus>,
    /// txids submitted and not yet committed.
    pending: std::collections::HashSet<String>,
}

struct Inner {
    pki: Pki,
    known: HashMap<Vec<u8>, VerifyingKey>,
    channels: Mutex<BTreeMap<String, ChannelState>>,
    faults: Arc<Faults>,
    commits: watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, ChannelState>> {
        self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The Gateway service implementation.
#[derive(Clone)]
pub(crate) struct Service(Arc<Inner>);

/// A running emulator.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    trust: TrustMaterial,
    client: Identity,
    client_key_pem: String,
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
        &self.client
    }
    /// That identity's PKCS#8 private key, PEM (for `--out`).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
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

/// Generates the PKI and the channels' genesis blocks.
fn new_inner(channels: &[String]) -> Result<(Arc<Inner>, TrustMaterial), EmulatorError> {
    let pki = gen_pki()?;
    let mut known = HashMap::new();
    for id in [&pki.peer, &pki.orderer, &pki.client] {
        known.insert(id.serialized().to_vec(), id.verifying_key());
    }
    let mut states = BTreeMap::new();
    for name in channels {
        let mut st = ChannelState::default();
        let genesis = config_envelope(&pki, name)?;
        append_block(&pki, &mut st, genesis, 0)?;
        states.insert(name.clone(), st);
    }
    let trust = TrustMaterial { msp_roots: pki.roots.clone(), orderer_msp: ORDERER_MSP.to_owned(), channels: channels.to_vec() };
    let faults = Arc::new(Faults::default());
    let (commits, _) = watch::channel(0);
    let inner = Arc::new(Inner { pki, known, channels: Mutex::new(states), faults, commits });

    Ok((inner, trust))
}

/// Generates the PKI and channels, binds `config.listen` and serves in a background task.
///
/// # Errors
/// [`EmulatorError`] when the PKI cannot be generated or the address cannot be bound.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    if config.channels.is_empty() {
        return Err(EmulatorError::Config("at least one channel is needed".into()));
    }
    let (inner, trust) = new_inner(&config.channels)?;
    let client = inner.pki.client.clone();
    let client_key_pem = inner.pki.client_key_pem.clone();
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
    let tls = if config.tls { Some(gen_tls()?) } else { None };
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
    Ok(RunningEmulator { addr, trust, client, client_key_pem, faults, tls, stop: Some(stop), task: Some(task) })
}

fn ts_now() -> prost_types::Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX), nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0) }
}

fn nonce() -> Result<Vec<u8>, EmulatorError> {
    let mut n = [0u8; 24];
    getrandom::fill(&mut n).map_err(|e| EmulatorError::Pki(e.to_string()))?;
    Ok(n.to_vec())
}

fn msp_value(msp_id: &str, root_pem: &str) -> common::ConfigGroup {
    let fc = msp::FabricMspConfig { name: msp_id.to_owned(), root_certs: vec![root_pem.as_bytes().to_vec()], ..Default::default() };
    let mc = msp::MspConfig { r#type: 0, config: fc.encode_to_vec() };
    let mut g = common::ConfigGroup::default();
    g.values.insert("MSP".to_owned(), common::ConfigValue { value: mc.encode_to_vec(), ..Default::default() });
    g
}

/// The channel's genesis config transaction, signed by the orderer.
fn config_envelope(pki: &Pki, channel: &str) -> Result<Vec<u8>, EmulatorError> {
    let mut app = common::ConfigGroup::default();
    let mut ord = common::ConfigGroup::default();
    app.groups.insert(PEER_MSP.to_owned(), msp_value(PEER_MSP, &pki.roots[PEER_MSP]));
    ord.groups.insert(ORDERER_MSP.to_owned(), msp_value(ORDERER_MSP, &pki.roots[ORDERER_MSP]));
    let mut root = common::ConfigGroup::default();
    root.groups.insert("Application".to_owned(), app);
    root.groups.insert("Orderer".to_owned(), ord);
    let ce = common::ConfigEnvelope { config: Some(common::Config { sequence: 0, channel_group: Some(root) }), last_update: None };
    let ch = common::ChannelHeader {
        r#type: HEADER_TYPE_CONFIG,
        timestamp: Some(ts_now()),
        channel_id: channel.to_owned(),
        ..Default::default()
    };
    let sh = common::SignatureHeader { creator: pki.orderer.serialized().to_vec(), nonce: nonce()? };
    let payload = common::Payload {
        header: Some(common::Header { channel_header: ch.encode_to_vec(), signature_header: sh.encode_to_vec() }),
        data: ce.encode_to_vec(),
    }
    .encode_to_vec();
    let signature = pki.orderer.sign(&payload).map_err(|e| EmulatorError::Pki(e.to_string()))?;
    Ok(common::Envelope { payload, signature }.encode_to_vec())
}

/// Orders one envelope into the next block of `st`, with validation code `code`.
fn append_block(pki: &Pki, st: &mut ChannelState, envelope: Vec<u8>, code: u8) -> Result<u64, EmulatorError> {
    let number = u64::try_from(st.blocks.len()).map_err(|e| EmulatorError::Config(e.to_string()))?;
    let previous_hash = if number == 0 { Vec::new() } else { st.last_header_hash.to_vec() };
    let data_hash = Sha256::digest(&envelope).to_vec();
    let value =
        common::OrdererBlockMetadata { last_config: Some(common::LastConfig { index: 0 }), consenter_metadata: Vec::new() }.encode_to_vec();
    let sig_header = common::SignatureHeader { creator: pki.orderer.serialized().to_vec(), nonce: nonce()? }.encode_to_vec();
    let mut msg = value.clone();
    msg.extend_from_slice(&sig_header);
    msg.extend_from_slice(&header_der(number, &previous_hash, &data_hash));
    let signature = pki.orderer.sign(&msg).map_err(|e| EmulatorError::Pki(e.to_string()))?;
    let slot0 = common::Metadata {
        value,
        signatures: vec![common::MetadataSignature { signature_header: sig_header, signature, ..Default::default() }],
    };
    let block = common::Block {
        header: Some(common::BlockHeader { number, previous_hash: previous_hash.clone(), data_hash: data_hash.clone() }),
        data: Some(common::BlockData { data: vec![envelope] }),
        // SIGNATURES, LAST_CONFIG (deprecated, empty), TRANSACTIONS_FILTER, ORDERER, COMMIT_HASH.
        metadata: Some(common::BlockMetadata { metadata: vec![slot0.encode_to_vec(), Vec::new(), vec![code], Vec::new(), Vec::new()] }),
    };
    st.last_header_hash = header_hash(number, &previous_hash, &data_hash);
    st.blocks.push(block.encode_to_vec());
    Ok(number)
}

fn bad(msg: impl Into<String>) -> Status {
    Status::invalid_argument(msg.into())
}

fn dec<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| bad(format!("cannot decode {what}: {e}")))
}

/// What a checked proposal holds.
struct CheckedProposal {
    channel: String,
    chaincode: String,
    args: Vec<Vec<u8>>,
    header: Vec<u8>,
    payload: Vec<u8>,
}

/// The result of running the contract for an endorsement.
struct Simulation {
    response: protos::Response,
    reads: Vec<kvrwset::KvRead>,
    writes: Vec<kvrwset::KvWrite>,
}

fn chaincode_error(status: i32, message: impl Into<String>) -> Simulation {
    Simulation {
        response: protos::Response { status, message: message.into(), payload: Vec::new() },
        reads: Vec::new(),
        writes: Vec::new(),
    }
}

fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl Service {
    fn check_up(&self) -> Result<(), Status> {
        if self.0.faults.unavailable.load(Ordering::SeqCst) {
            return Err(Status::unavailable("emulator: unavailable fault is set"));
        }
        Ok(())
    }

    fn verify_creator(&self, creator: &[u8], msg: &[u8], sig: &[u8], what: &str) -> Result<(), Status> {
        let key = self
            .0
            .known
            .get(creator)
            .ok_or_else(|| Status::permission_denied(format!("{what}: creator is not an identity of a known MSP")))?;
        if !verify_signature(key, msg, sig) {
            return Err(Status::permission_denied(format!("{what}: signature does not verify")));
        }
        Ok(())
    }

    fn check_proposal(&self, sp: Option<&protos::SignedProposal>, channel_id: &str) -> Result<CheckedProposal, Status> {
        let sp = sp.ok_or_else(|| bad("no proposed_transaction"))?;
        let prop: protos::Proposal = dec(&sp.proposal_bytes, "protos.Proposal")?;
        let header: common::Header = dec(&prop.header, "common.Header")?;
        let ch: common::ChannelHeader = dec(&header.channel_header, "common.ChannelHeader")?;
        let sh: common::SignatureHeader = dec(&header.signature_header, "common.SignatureHeader")?;
        self.verify_creator(&sh.creator, &sp.proposal_bytes, &sp.signature, "proposal")?;
        if ch.r#type != evidence_core::fabric::HEADER_TYPE_ENDORSER_TRANSACTION {
            return Err(bad(format!("channel header type {} is not ENDORSER_TRANSACTION", ch.r#type)));
        }
        if ch.channel_id != channel_id {
            return Err(bad(format!("channel header says {:?}, request says {channel_id:?}", ch.channel_id)));
        }
        if !self.0.lock().contains_key(&ch.channel_id) {
            return Err(Status::not_found(format!("channel {:?} not found", ch.channel_id)));
        }
        if txid(&sh.nonce, &sh.creator) != ch.tx_id {
            return Err(bad("tx_id is not hex(SHA-256(nonce || creator))"));
        }
        let ext: protos::ChaincodeHeaderExtension = dec(&ch.extension, "protos.ChaincodeHeaderExtension")?;
        let cpp: protos::ChaincodeProposalPayload = dec(&prop.payload, "protos.ChaincodeProposalPayload")?;
        let cis: protos::ChaincodeInvocationSpec = dec(&cpp.input, "protos.ChaincodeInvocationSpec")?;
        let args = cis.chaincode_spec.and_then(|s| s.input).map(|i| i.args).unwrap_or_default();
        let chaincode = ext.chaincode_id.map(|c| c.name).unwrap_or_default();
        Ok(CheckedProposal { channel: ch.channel_id, chaincode, args, header: prop.header, payload: prop.payload })
    }

    /// Runs `evidence-anchor` (both functions) against the channel's state.
    fn simulate(&self, p: &CheckedProposal) -> Simulation {
        let chans = self.0.lock();
        let Some(st) = chans.get(&p.channel) else { return chaincode_error(500, "channel not found") };
        let func = p.args.first().map(Vec::as_slice);
        match (func, p.args.len()) {
            (Some(b"Anchor"), 3) => {
                let key = String::from_utf8_lossy(&p.args[1]).into_owned();
                let value = &p.args[2];
                if !is_hex64(value) {
                    return chaincode_error(500, "checkpoint hash must be 64 lowercase hex characters");
                }
                let reads = vec![kvrwset::KvRead { key: key.clone(), version: None }];
                if st.world.contains_key(&key) {
                    return chaincode_error(500, format!("key {key} already exists"));
                }
                Simulation {
                    response: protos::Response { status: 200, message: String::new(), payload: Vec::new() },
                    reads,
                    writes: vec![kvrwset::KvWrite { key, is_delete: false, value: value.clone() }],
                }
            }
            (Some(b"Get"), 2) => {
                let key = String::from_utf8_lossy(&p.args[1]).into_owned();
                let reads = vec![kvrwset::KvRead { key: key.clone(), version: None }];
                match st.world.get(&key) {
                    Some((v, _)) => Simulation {
                        response: protos::Response { status: 200, message: String::new(), payload: v.clone() },
                        reads,
                        writes: Vec::new(),
                    },
                    None => Simulation {
                        response: protos::Response { status: 200, message: String::new(), payload: Vec::new() },
                        reads,
                        writes: Vec::new(),
                    },
                }
            }
            _ => chaincode_error(500, "unknown function or wrong argument count (Anchor(key, hash_hex) | Get(key))"),
        }
    }

    /// qscc: GetBlockByTxID, GetBlockByNumber, GetChainInfo.
    fn qscc(&self, p: &CheckedProposal) -> protos::Response {
        let ok = |payload: Vec<u8>| protos::Response { status: 200, message: String::new(), payload };
        let err = |m: String| protos::Response { status: 500, message: m, payload: Vec::new() };
        let arg = |i: usize| p.args.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        let chans = self.0.lock();
        let Some(st) = chans.get(&arg(1)) else { return err(format!("channel {:?} not found", arg(1))) };
        match arg(0).as_str() {
            "GetBlockByTxID" => match st.committed.get(&arg(2)) {
                Some(s) => usize::try_from(s.block)
                    .ok()
                    .and_then(|b| st.blocks.get(b))
                    .map_or_else(|| err("block missing".into()), |b| ok(b.clone())),
                None => err(format!("no such transaction ID [{}] in index", arg(2))),
            },
            "GetBlockByNumber" => match arg(2).parse::<usize>().ok().and_then(|n| st.blocks.get(n)) {
                Some(b) => ok(b.clone()),
                None => err(format!("block {} not found", arg(2))),
            },
            "GetChainInfo" => ok(crate::BlockchainInfo {
                height: st.blocks.len() as u64,
                current_block_hash: st.last_header_hash.to_vec(),
                previous_block_hash: st
                    .blocks
                    .last()
                    .and_then(|b| common::Block::decode(b.as_slice()).ok())
                    .and_then(|b| b.header)
                    .map(|h| h.previous_hash)
                    .unwrap_or_default(),
            }
            .encode_to_vec()),
            f => err(format!("qscc: unknown function {f:?}")),
        }
    }

    fn endorse_inner(&self, req: &gateway::EndorseRequest) -> Result<common::Envelope, Status> {
        let p = self.check_proposal(req.proposed_transaction.as_ref(), &req.channel_id)?;
        if p.chaincode != ANCHOR_NAMESPACE {
            return Err(bad(format!("chaincode {:?} cannot be endorsed here (only {ANCHOR_NAMESPACE})", p.chaincode)));
        }
        let peer_fail = |message: String| {
            let detail = gateway::ErrorDetail { address: PEER_ADDRESS.to_owned(), msp_id: PEER_MSP.to_owned(), message: message.clone() };
            let st = RpcStatus {
                code: tonic::Code::Aborted as i32,
                message: "failed to endorse transaction, see attached details for more info".to_owned(),
                details: vec![prost_types::Any { type_url: ERROR_DETAIL_TYPE_URL.to_owned(), value: detail.encode_to_vec() }],
            };
            Status::with_details(tonic::Code::Aborted, st.message.clone(), st.encode_to_vec().into())
        };
        if self.0.faults.endorsement_failure.load(Ordering::SeqCst) {
            return Err(peer_fail("chaincode response 500, emulator: endorsement failure fault is set".into()));
        }
        let sim = self.simulate(&p);
        if sim.response.status != 200 {
            return Err(peer_fail(format!("chaincode response {}, {}", sim.response.status, sim.response.message)));
        }
        let kv = kvrwset::KvrwSet { reads: sim.reads, writes: sim.writes, ..Default::default() };
        let txrw = rwset::TxReadWriteSet {
            data_model: 0,
            ns_rwset: vec![rwset::NsReadWriteSet {
                namespace: ANCHOR_NAMESPACE.to_owned(),
                rwset: kv.encode_to_vec(),
                ..Default::default()
            }],
        };
        let action = protos::ChaincodeAction {
            results: txrw.encode_to_vec(),
            events: Vec::new(),
            response: Some(sim.response),
            chaincode_id: Some(protos::ChaincodeId { name: ANCHOR_NAMESPACE.to_owned(), version: "1.0".to_owned(), ..Default::default() }),
        };
        // Fabric's proposal hash: SHA-256(channel header || signature header || payload
        // without the transient map). Our payload never carries a transient map.
        let header: common::Header = dec(&p.header, "common.Header")?;
        let mut h = Sha256::new();
        h.update(&header.channel_header);
        h.update(&header.signature_header);
        h.update(&p.payload);
        let prp =
            protos::ProposalResponsePayload { proposal_hash: h.finalize().to_vec(), extension: action.encode_to_vec() }.encode_to_vec();
        let endorser = self.0.pki.peer.serialized().to_vec();
        let mut msg = prp.clone();
        msg.extend_from_slice(&endorser);
        let signature = self.0.pki.peer.sign(&msg).map_err(|e| Status::internal(e.to_string()))?;
        let cap = protos::ChaincodeActionPayload {
            chaincode_proposal_payload: p.payload.clone(),
            action: Some(protos::ChaincodeEndorsedAction {
                proposal_response_payload: prp,
                endorsements: vec![protos::Endorsement { endorser, signature }],
            }),
        };
        let tx = protos::Transaction {
            actions: vec![protos::TransactionAction { header: header.signature_header.clone(), payload: cap.encode_to_vec() }],
        };
        let payload = common::Payload { header: Some(header), data: tx.encode_to_vec() };
        Ok(common::Envelope { payload: payload.encode_to_vec(), signature: Vec::new() })
    }

    /// Checks a signed envelope; returns (channel, txid, reads, writes).
    fn check_envelope(
        &self,
        env: &common::Envelope,
        req_channel: &str,
        req_txid: &str,
    ) -> Result<(String, String, Vec<kvrwset::KvRead>, Vec<kvrwset::KvWrite>), Status> {
        let payload: common::Payload = dec(&env.payload, "common.Payload")?;
        let header = payload.header.ok_or_else(|| bad("Payload.header missing"))?;
        let ch: common::ChannelHeader = dec(&header.channel_header, "common.ChannelHeader")?;
        let sh: common::SignatureHeader = dec(&header.signature_header, "common.SignatureHeader")?;
        self.verify_creator(&sh.creator, &env.payload, &env.signature, "envelope")?;
        if ch.channel_id != req_channel || ch.tx_id != req_txid {
            return Err(bad("SubmitRequest channel/transaction id differ from the envelope's"));
        }
        if txid(&sh.nonce, &sh.creator) != ch.tx_id {
            return Err(bad("tx_id is not hex(SHA-256(nonce || creator))"));
        }
        let tx: protos::Transaction = dec(&payload.data, "protos.Transaction")?;
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        if tx.actions.is_empty() {
            return Err(bad("transaction has no actions"));
        }
        for a in &tx.actions {
            let cap: protos::ChaincodeActionPayload = dec(&a.payload, "protos.ChaincodeActionPayload")?;
            let ea = cap.action.ok_or_else(|| bad("no endorsed action"))?;
            if ea.endorsements.is_empty() {
                return Err(bad("no endorsement"));
            }
            for e in &ea.endorsements {
                let mut msg = ea.proposal_response_payload.clone();
                msg.extend_from_slice(&e.endorser);
                self.verify_creator(&e.endorser, &msg, &e.signature, "endorsement")?;
            }
            let prp: protos::ProposalResponsePayload = dec(&ea.proposal_response_payload, "protos.ProposalResponsePayload")?;
            let cca: protos::ChaincodeAction = dec(&prp.extension, "protos.ChaincodeAction")?;
            let txrw: rwset::TxReadWriteSet = dec(&cca.results, "rwset.TxReadWriteSet")?;
            for ns in txrw.ns_rwset {
                let kv: kvrwset::KvrwSet = dec(&ns.rwset, "kvrwset.KVRWSet")?;
                reads.extend(kv.reads);
                writes.extend(kv.writes);
            }
        }
        Ok((ch.channel_id, ch.tx_id, reads, writes))
    }

    /// Commits one transaction: MVCC check, block, state update, notification.
    fn commit(
        &self,
        channel: &str,
        tx_id: &str,
        envelope: Vec<u8>,
        reads: &[kvrwset::KvRead],
        writes: Vec<kvrwset::KvWrite>,
    ) -> Result<(), Status> {
        let mut chans = self.0.lock();
        let st = chans.get_mut(channel).ok_or_else(|| Status::not_found("channel"))?;
        st.pending.remove(tx_id);
        // Reads with version None were made when the key was absent: a write since then is a
        // conflict. (The contract only reads absent keys; a read with a version is compared
        // against the block of the last write.)
        let stale = reads.iter().any(|r| match (&r.version, st.world.get(&r.key)) {
            (Some(v), Some((_, at))) => v.block_num != *at,
            (None, None) => false,
            (None, Some(_)) | (Some(_), None) => true,
        });
        let forced = self.0.faults.mvcc_conflict.load(Ordering::SeqCst);
        let code: u8 = if stale || forced { 11 } else { 0 };
        let number = append_block(&self.0.pki, st, envelope, code).map_err(|e| Status::internal(e.to_string()))?;
        if code == 0 {
            for w in writes {
                if w.is_delete {
                    st.world.remove(&w.key);
                } else {
                    st.world.insert(w.key, (w.value, number));
                }
            }
        }
        st.committed.insert(tx_id.to_owned(), TxStatus { block: number, code: i32::from(code) });
        drop(chans);
        self.0.commits.send_modify(|n| *n += 1);
        Ok(())
    }
}

#[tonic::async_trait]
impl Gateway for Service {
    async fn endorse(&self, request: Request<gateway::EndorseRequest>) -> Result<Response<gateway::EndorseResponse>, Status> {
        self.check_up()?;
        let env = self.endorse_inner(request.get_ref())?;
        Ok(Response::new(gateway::EndorseResponse { prepared_transaction: Some(env) }))
    }

    async fn submit(&self, request: Request<gateway::SubmitRequest>) -> Result<Response<gateway::SubmitResponse>, Status> {
        self.check_up()?;
        let req = request.into_inner();
        let env = req.prepared_transaction.ok_or_else(|| bad("no prepared_transaction"))?;
        let (channel, tx_id, reads, writes) = self.check_envelope(&env, &req.channel_id, &req.transaction_id)?;
        {
            let mut chans = self.0.lock();
            let st = chans.get_mut(&channel).ok_or_else(|| Status::not_found(format!("channel {channel:?} not found")))?;
            if st.committed.contains_key(&tx_id) || !st.pending.insert(tx_id.clone()) {
                return Err(Status::already_exists(format!("duplicate transaction id {tx_id}")));
            }
        }
        let delay = Duration::from_millis(self.0.faults.commit_delay_ms.load(Ordering::SeqCst));
        let this = self.clone();
        let bytes = env.encode_to_vec();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let _ = this.commit(&channel, &tx_id, bytes, &reads, writes);
        });
        Ok(Response::new(gateway::SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        request: Request<gateway::SignedCommitStatusRequest>,
    ) -> Result<Response<gateway::CommitStatusResponse>, Status> {
        self.check_up()?;
        let signed = request.into_inner();
        let req: gateway::CommitStatusRequest = dec(&signed.request, "gateway.CommitStatusRequest")?;
        self.verify_creator(&req.identity, &signed.request, &signed.signature, "commit status request")?;
        let mut rx = self.0.commits.subscribe();
        let give_up = tokio::time::Instant::now() + Duration::from_mins(2);
        loop {
            {
                let chans = self.0.lock();
                let st = chans.get(&req.channel_id).ok_or_else(|| Status::not_found(format!("channel {:?} not found", req.channel_id)))?;
                if let Some(s) = st.committed.get(&req.transaction_id) {
                    return Ok(Response::new(gateway::CommitStatusResponse { result: s.code, block_number: s.block }));
                }
            }
            match tokio::time::timeout_at(give_up, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Status::unavailable("emulator shutting down")),
                Err(_) => return Err(Status::deadline_exceeded("transaction not committed in time")),
            }
        }
    }

    async fn evaluate(&self, request: Request<gateway::EvaluateRequest>) -> Result<Response<gateway::EvaluateResponse>, Status> {
        self.check_up()?;
        let req = request.get_ref();
        let p = self.check_proposal(req.proposed_transaction.as_ref(), &req.channel_id)?;
        let result = if p.chaincode == QSCC {
            self.qscc(&p)
        } else if p.chaincode == ANCHOR_NAMESPACE {
            self.simulate(&p).response
        } else {
            return Err(Status::not_found(format!("chaincode {:?} not found", p.chaincode)));
        };
        Ok(Response::new(gateway::EvaluateResponse { result: Some(result) }))
    }

    type ChaincodeEventsStream = tokio_stream::Empty<Result<gateway::ChaincodeEventsResponse, Status>>;

    async fn chaincode_events(
        &self,
        _request: Request<gateway::SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        Err(Status::unimplemented("the emulator does not serve chaincode events"))
    }
}

/// Builds receipts in-process, without gRPC, through the same endorsement, validation and
/// ordering code the emulator serves: for other crates' tests and benches that need many
/// valid [`evidence_core::fabric::FabricReceipt`]s quickly.
pub struct ReceiptFactory {
    svc: Service,
    trust: TrustMaterial,
    channel: String,
}

impl std::fmt::Debug for ReceiptFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptFactory").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl ReceiptFactory {
    /// A fresh PKI and one channel.
    ///
    /// # Errors
    /// [`EmulatorError::Pki`] when key generation fails.
    pub fn new(channel: &str) -> Result<Self, EmulatorError> {
        let (inner, trust) = new_inner(&[channel.to_owned()])?;
        Ok(Self { svc: Service(inner), trust, channel: channel.to_owned() })
    }

    /// The trust material that verifies this factory's receipts.
    pub fn trust(&self) -> &TrustMaterial {
        &self.trust
    }

    /// The client identity that signs the factory's transactions.
    pub fn client_identity(&self) -> &Identity {
        &self.svc.0.pki.client
    }

    /// Anchors `hash` under `ckpt/<tenant>/<seq>` and returns the receipt and the key.
    ///
    /// # Errors
    /// [`crate::Error`] when the contract refuses (e.g. the key exists) or signing fails.
    pub fn receipt(
        &self,
        tenant: &str,
        seq: u64,
        hash: &evidence_core::CheckpointHash,
    ) -> Result<(evidence_core::fabric::FabricReceipt, String), crate::Error> {
        let key = crate::anchor_key(tenant, seq);
        let value = evidence_core::fabric::anchor_value(hash);
        let client = &self.svc.0.pki.client;
        let p = crate::client::build_proposal(client, &self.channel, ANCHOR_NAMESPACE, &[b"Anchor", key.as_bytes(), value.as_bytes()])?;
        let req = gateway::EndorseRequest {
            transaction_id: p.tx_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(p.signed),
            endorsing_organizations: Vec::new(),
        };
        let status = |s: Status| crate::Error::Rpc { operation: "ReceiptFactory", code: s.code(), message: s.message().to_owned() };
        let mut env = self.svc.endorse_inner(&req).map_err(status)?;
        env.signature = client.sign(&env.payload)?;
        let (channel, tx_id, reads, writes) = self.svc.check_envelope(&env, &self.channel, &p.tx_id).map_err(status)?;
        self.svc.commit(&channel, &tx_id, env.encode_to_vec(), &reads, writes).map_err(status)?;
        let chans = self.svc.0.lock();
        let st = chans.get(&channel).ok_or_else(|| crate::Error::protocol("ReceiptFactory", "channel vanished"))?;
        let s = st.committed.get(&tx_id).copied().ok_or_else(|| crate::Error::protocol("ReceiptFactory", "not committed"))?;
        if s.code != 0 {
            return Err(crate::Error::InvalidTransaction { tx_id, block: s.block, code: s.code });
        }
        let block = usize::try_from(s.block)
            .ok()
            .and_then(|b| st.blocks.get(b))
            .cloned()
            .ok_or_else(|| crate::Error::protocol("ReceiptFactory", "block missing"))?;
        let msp_roots = self
            .trust
            .msp_roots
            .iter()
            .map(|(id, pem)| evidence_core::fabric::ReceiptMspRoot { msp_id: id.clone(), pem: pem.clone() })
            .collect();
        let receipt = evidence_core::fabric::FabricReceipt {
            channel,
            block,
            tx_index: 0,
            tx_id,
            msp_roots,
            orderer_msps: vec![self.trust.orderer_msp.clone()],
        };
        Ok((receipt, key))
    }
}
