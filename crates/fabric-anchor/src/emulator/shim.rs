//! The peer side of the Fabric chaincode shim protocol, for chaincode-as-a-service
//! ([`super::ChaincodeMode::Shim`]): the emulator dials the chaincode's server
//! (`protos.Chaincode/Connect`, a bidirectional stream of `ChaincodeMessage`s) and runs every
//! endorsement and evaluation of `evidence-anchor` through it.
//!
//! The conversation, as a Fabric peer holds it (`core/chaincode/handler.go`):
//!
//! 1. the chaincode sends `REGISTER` with its `ChaincodeID` (its package ID); the emulator checks
//!    it names the configured chaincode id, answers `REGISTERED`, then `READY`;
//! 2. for each proposal the emulator sends `TRANSACTION` (payload: the proposal's
//!    `ChaincodeInput`; `proposal`: the `SignedProposal`; `txid`, `channel_id`);
//! 3. while it runs, the chaincode asks for state with messages carrying the same `txid` and
//!    `channel_id`: `GET_STATE`, `GET_STATE_METADATA`, `PUT_STATE`, `DEL_STATE`. The emulator
//!    answers each with `RESPONSE` (the value, an empty `StateMetadataResult`, or nothing) read
//!    from its committed world state, recording reads with the version they saw and buffering
//!    writes (a simulation never sees its own writes, as in Fabric). Anything else (range and
//!    rich queries, history, private data, chaincode-to-chaincode calls, metadata writes) is
//!    answered with `ERROR` naming the message type;
//! 4. the chaincode ends the transaction with `COMPLETED` (payload: a `Response`;
//!    `chaincode_event`: the event it set, to which the emulator adds the chaincode name and
//!    txid, as a peer does) or `ERROR` (a failure outside the contract).
//!
//! The read-write set endorsed is what the chaincode did (see [`super::simulation`]).
//! `KEEPALIVE` from the chaincode is ignored; the emulator sends none. A broken stream fails the
//! transactions in flight, and the next transaction dials again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use evidence_core::fabric::ANCHOR_NAMESPACE;
use evidence_core::internal::fabric_proto::{kvrwset, protos};
use prost::Message as _;
use tokio::sync::{mpsc, oneshot};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::simulation::{RwSet, Simulation};
use crate::shim_rpc::chaincode_client::ChaincodeClient;
use crate::shim_rpc::chaincode_message::Type;
use crate::shim_rpc::{ChaincodeMessage, DelState, GetState, GetStateMetadata, PutState, StateMetadataResult};

/// Where and how to reach a chaincode server: what a peer reads from the package's
/// `connection.json` (chaincode-as-a-service), plus the chaincode id it registers with.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    /// `host:port` of the chaincode server (`connection.json` `address`).
    pub address: String,
    /// The id the chaincode registers with: its package ID (`<label>:<sha256>`), what
    /// `fabric-chaincode-node server --chaincode-id` is given. A different id is refused.
    pub chaincode_id: String,
    /// TLS (`tls_required`); `None` for plain HTTP/2.
    pub tls: Option<ShimTls>,
    /// How long to keep dialling (`dial_timeout`): the server may still be starting.
    pub dial_timeout: Duration,
    /// How long one transaction may run in the chaincode (a peer's `chaincode.executetimeout`,
    /// 30 s by default).
    pub execute_timeout: Duration,
}

impl ShimConfig {
    /// Plain HTTP/2 to `address`, with a 10 s dial timeout and a 30 s execute timeout.
    pub fn plaintext(address: impl Into<String>, chaincode_id: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            chaincode_id: chaincode_id.into(),
            tls: None,
            dial_timeout: Duration::from_secs(10),
            execute_timeout: Duration::from_secs(30),
        }
    }
}

/// TLS to a chaincode server (`connection.json` `root_cert`, `client_cert`, `client_key`).
/// Its `Debug` output leaves the client key out.
#[derive(Clone)]
pub struct ShimTls {
    /// The CA certificate(s) that issued the server's certificate, PEM.
    pub root_cert_pem: String,
    /// The peer's client certificate and PKCS#8 key, PEM (`client_auth_required`).
    pub client_cert_and_key_pem: Option<(String, String)>,
    /// The name to check the server certificate against, when it differs from the host.
    pub domain: Option<String>,
}

impl std::fmt::Debug for ShimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimTls")
            .field("root_cert_pem", &self.root_cert_pem)
            .field("client_cert_pem", &self.client_cert_and_key_pem.as_ref().map(|(c, _)| c))
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// Why a transaction could not be run through the chaincode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShimError {
    /// The chaincode server could not be reached or the stream could not be opened.
    #[error("could not connect to the chaincode server at {address}: {detail}")]
    Connect {
        /// The address dialled.
        address: String,
        /// The transport's message.
        detail: String,
    },
    /// The TLS material is unusable.
    #[error("chaincode TLS: {0}")]
    Tls(String),
    /// The chaincode did not open the conversation with REGISTER.
    #[error("chaincode at {address} did not register: {detail}")]
    Handshake {
        /// The address.
        address: String,
        /// What happened instead.
        detail: String,
    },
    /// The chaincode registered under another id.
    #[error("chaincode registered as {registered:?}, expected {expected:?}")]
    WrongChaincode {
        /// The configured chaincode id.
        expected: String,
        /// The id in its REGISTER message.
        registered: String,
    },
    /// The stream to the chaincode ended.
    #[error("the chaincode stream closed")]
    Closed,
    /// A transaction with this txid is already running on the channel.
    #[error("transaction {tx_id} is already executing")]
    DuplicateTx {
        /// The txid.
        tx_id: String,
    },
    /// The chaincode did not complete the transaction in time.
    #[error("transaction {tx_id}: the chaincode did not complete within {after:?}")]
    Timeout {
        /// The txid.
        tx_id: String,
        /// The execute timeout.
        after: Duration,
    },
    /// The chaincode answered the transaction with ERROR (a failure outside the contract).
    #[error("transaction returned with failure: {message}")]
    ChaincodeFailed {
        /// Its payload, as text.
        message: String,
    },
    /// A message did not decode or was not what the protocol allows at that point.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// The committed state a transaction reads.
pub(crate) trait StateView: Send + Sync {
    /// A key's committed value and version on a channel.
    fn get(&self, channel: &str, key: &str) -> Option<(Vec<u8>, kvrwset::Version)>;
}

/// One transaction in flight.
struct TxEntry {
    view: Arc<dyn StateView>,
    rw: RwSet,
    done: oneshot::Sender<(ChaincodeMessage, RwSet)>,
}

/// One open conversation with the chaincode.
struct Session {
    out: mpsc::UnboundedSender<ChaincodeMessage>,
    txs: Mutex<HashMap<(String, String), TxEntry>>,
    alive: AtomicBool,
}

impl Session {
    fn txs(&self) -> MutexGuard<'_, HashMap<(String, String), TxEntry>> {
        self.txs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close(&self) {
        self.alive.store(false, Ordering::SeqCst);
        // Dropping the completion senders wakes every waiting transaction with `Closed`.
        self.txs().clear();
    }
}

/// Dials the chaincode, keeps the session, runs transactions through it.
pub(crate) struct ShimDriver {
    cfg: ShimConfig,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

impl std::fmt::Debug for ShimDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimDriver")
            .field("address", &self.cfg.address)
            .field("chaincode_id", &self.cfg.chaincode_id)
            .finish_non_exhaustive()
    }
}

fn reply(to: &ChaincodeMessage, ty: Type, payload: Vec<u8>) -> ChaincodeMessage {
    ChaincodeMessage { r#type: ty as i32, payload, txid: to.txid.clone(), channel_id: to.channel_id.clone(), ..Default::default() }
}

/// An ERROR answer, worded as a peer words it (`<TYPE> failed: transaction ID: <txid>: <why>`).
fn error_reply(to: &ChaincodeMessage, ty: &str, why: &str) -> ChaincodeMessage {
    reply(to, Type::Error, format!("{ty} failed: transaction ID: {}: {why}", to.txid).into_bytes())
}

fn type_name(ty: i32) -> String {
    Type::try_from(ty).map_or_else(|_| format!("message type {ty}"), |t| t.as_str_name().to_owned())
}

impl ShimDriver {
    pub(crate) fn new(cfg: ShimConfig) -> Self {
        Self { cfg, session: tokio::sync::Mutex::new(None) }
    }

    /// The open session, dialling when there is none (or the last one closed).
    async fn session(&self) -> Result<Arc<Session>, ShimError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref()
            && s.alive.load(Ordering::SeqCst)
        {
            return Ok(Arc::clone(s));
        }
        let s = self.connect().await?;
        *guard = Some(Arc::clone(&s));
        Ok(s)
    }

    /// Dials now (at start, to fail early).
    pub(crate) async fn connect_now(&self) -> Result<(), ShimError> {
        self.session().await.map(|_| ())
    }

    async fn connect(&self) -> Result<Arc<Session>, ShimError> {
        let cfg = &self.cfg;
        let conn_err = |detail: String| ShimError::Connect { address: cfg.address.clone(), detail };
        let scheme = if cfg.tls.is_some() { "https" } else { "http" };
        let mut ep = Endpoint::from_shared(format!("{scheme}://{}", cfg.address))
            .map_err(|e| conn_err(e.to_string()))?
            .connect_timeout(cfg.dial_timeout)
            .tcp_nodelay(true);
        if let Some(tls) = &cfg.tls {
            let mut t = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.root_cert_pem));
            if let Some(d) = &tls.domain {
                t = t.domain_name(d.clone());
            }
            if let Some((cert, key)) = &tls.client_cert_and_key_pem {
                t = t.identity(Identity::from_pem(cert, key));
            }
            ep = ep.tls_config(t).map_err(|e| ShimError::Tls(e.to_string()))?;
        }
        let deadline = tokio::time::Instant::now() + cfg.dial_timeout;
        let channel = loop {
            match ep.connect().await {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(conn_err(error_chain(&e))),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let (out, rx) = mpsc::unbounded_channel();
        let mut client = ChaincodeClient::new(channel);
        let opened = tokio::time::timeout(cfg.dial_timeout, client.connect(tokio_stream::wrappers::UnboundedReceiverStream::new(rx)))
            .await
            .map_err(|_| conn_err("no answer to Connect".into()))?
            .map_err(|s| conn_err(format!("Connect: {}: {}", s.code(), s.message())))?;
        let mut inbound = opened.into_inner();
        let handshake = |detail: String| ShimError::Handshake { address: cfg.address.clone(), detail };
        let first = tokio::time::timeout(cfg.dial_timeout, inbound.message())
            .await
            .map_err(|_| handshake("no REGISTER within the dial timeout".into()))?
            .map_err(|s| handshake(format!("stream error {}: {}", s.code(), s.message())))?
            .ok_or_else(|| handshake("the stream closed before REGISTER".into()))?;
        if first.r#type != Type::Register as i32 {
            return Err(handshake(format!("first message is {}, not REGISTER", type_name(first.r#type))));
        }
        let id = protos::ChaincodeId::decode(first.payload.as_slice()).map_err(|e| handshake(format!("REGISTER payload: {e}")))?;
        if id.name != cfg.chaincode_id {
            return Err(ShimError::WrongChaincode { expected: cfg.chaincode_id.clone(), registered: id.name });
        }
        for ty in [Type::Registered, Type::Ready] {
            out.send(ChaincodeMessage { r#type: ty as i32, ..Default::default() }).map_err(|_| ShimError::Closed)?;
        }
        let session = Arc::new(Session { out, txs: Mutex::new(HashMap::new()), alive: AtomicBool::new(true) });
        tokio::spawn(read_loop(Arc::downgrade(&session), inbound));
        Ok(session)
    }

    /// Runs one transaction in the chaincode and returns what it did.
    pub(crate) async fn execute(
        &self,
        view: Arc<dyn StateView>,
        channel: &str,
        tx_id: &str,
        input: &protos::ChaincodeInput,
        proposal: &protos::SignedProposal,
    ) -> Result<Simulation, ShimError> {
        let session = self.session().await?;
        let key = (channel.to_owned(), tx_id.to_owned());
        let (done, finished) = oneshot::channel();
        {
            let mut txs = session.txs();
            if txs.contains_key(&key) {
                return Err(ShimError::DuplicateTx { tx_id: tx_id.to_owned() });
            }
            txs.insert(key.clone(), TxEntry { view, rw: RwSet::default(), done });
        }
        let msg = ChaincodeMessage {
            r#type: Type::Transaction as i32,
            payload: input.encode_to_vec(),
            txid: tx_id.to_owned(),
            proposal: Some(proposal.clone()),
            channel_id: channel.to_owned(),
            ..Default::default()
        };
        if session.out.send(msg).is_err() {
            session.txs().remove(&key);
            session.close();
            return Err(ShimError::Closed);
        }
        let (msg, rw) = match tokio::time::timeout(self.cfg.execute_timeout, finished).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => return Err(ShimError::Closed),
            Err(_) => {
                session.txs().remove(&key);
                return Err(ShimError::Timeout { tx_id: tx_id.to_owned(), after: self.cfg.execute_timeout });
            }
        };
        if msg.r#type == Type::Error as i32 {
            return Err(ShimError::ChaincodeFailed { message: String::from_utf8_lossy(&msg.payload).into_owned() });
        }
        let response =
            protos::Response::decode(msg.payload.as_slice()).map_err(|e| ShimError::Protocol(format!("COMPLETED payload: {e}")))?;
        let event = msg.chaincode_event.map(|mut e| {
            ANCHOR_NAMESPACE.clone_into(&mut e.chaincode_id);
            tx_id.clone_into(&mut e.tx_id);
            e
        });
        Ok(Simulation { response, rw, event })
    }
}

/// The peer's side of the stream: answers the chaincode's requests and completes transactions.
async fn read_loop(session: Weak<Session>, mut inbound: tonic::Streaming<ChaincodeMessage>) {
    while let Ok(Some(msg)) = inbound.message().await {
        let Some(s) = session.upgrade() else { return };
        if let Some(answer) = handle(&s, msg)
            && s.out.send(answer).is_err()
        {
            break;
        }
    }
    if let Some(s) = session.upgrade() {
        s.close();
    }
}

/// One message from the chaincode; returns the answer to send, if any.
fn handle(s: &Session, msg: ChaincodeMessage) -> Option<ChaincodeMessage> {
    let ty = Type::try_from(msg.r#type).unwrap_or(Type::Undefined);
    let key = (msg.channel_id.clone(), msg.txid.clone());
    match ty {
        Type::Keepalive => None,
        Type::Completed | Type::Error => {
            if let Some(entry) = s.txs().remove(&key) {
                let _ = entry.done.send((msg, entry.rw));
            }
            None
        }
        Type::GetState | Type::GetStateMetadata | Type::PutState | Type::DelState => {
            let name = ty.as_str_name();
            let mut txs = s.txs();
            let Some(entry) = txs.get_mut(&key) else {
                return Some(error_reply(&msg, name, "no ledger context"));
            };
            Some(state_request(entry, &msg, ty).unwrap_or_else(|why| error_reply(&msg, name, &why)))
        }
        _ => Some(error_reply(&msg, &type_name(msg.r#type), "not supported by the fabric-emulator")),
    }
}

const PRIVATE_DATA: &str = "private data collections are not supported by the fabric-emulator";

fn state_request(entry: &mut TxEntry, msg: &ChaincodeMessage, ty: Type) -> Result<ChaincodeMessage, String> {
    let decode_err = |e: prost::DecodeError| format!("unmarshal failed: {e}");
    match ty {
        Type::GetState => {
            let r = GetState::decode(msg.payload.as_slice()).map_err(decode_err)?;
            if !r.collection.is_empty() {
                return Err(PRIVATE_DATA.to_owned());
            }
            let found = entry.view.get(&msg.channel_id, &r.key);
            entry.rw.read(&r.key, found.as_ref().map(|(_, v)| *v));
            Ok(reply(msg, Type::Response, found.map(|(v, _)| v).unwrap_or_default()))
        }
        Type::GetStateMetadata => {
            let r = GetStateMetadata::decode(msg.payload.as_slice()).map_err(decode_err)?;
            if !r.collection.is_empty() {
                return Err(PRIVATE_DATA.to_owned());
            }
            // A peer reads the key (recording the read) and returns its metadata; the emulator
            // stores none (it refuses PUT_STATE_METADATA).
            let found = entry.view.get(&msg.channel_id, &r.key);
            entry.rw.read(&r.key, found.map(|(_, v)| v));
            Ok(reply(msg, Type::Response, StateMetadataResult { entries: Vec::new() }.encode_to_vec()))
        }
        Type::PutState => {
            let r = PutState::decode(msg.payload.as_slice()).map_err(decode_err)?;
            if !r.collection.is_empty() {
                return Err(PRIVATE_DATA.to_owned());
            }
            if r.key.is_empty() {
                return Err("key must not be an empty string".to_owned());
            }
            entry.rw.write(&r.key, r.value);
            Ok(reply(msg, Type::Response, Vec::new()))
        }
        Type::DelState => {
            let r = DelState::decode(msg.payload.as_slice()).map_err(decode_err)?;
            if !r.collection.is_empty() {
                return Err(PRIVATE_DATA.to_owned());
            }
            entry.rw.delete(&r.key);
            Ok(reply(msg, Type::Response, Vec::new()))
        }
        _ => Err("not a state request".to_owned()),
    }
}

/// A transport error with its sources (tonic's own message is often just "transport error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    let mut n = 0;
    while let Some(c) = src {
        if n == 8 {
            break;
        }
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
        n += 1;
    }
    s
}
