//! `GatewayClient`: the Fabric Gateway gRPC protocol (Endorse, Submit, CommitStatus, Evaluate).
//!
//! # Timeouts and retries
//!
//! Every call has its own deadline ([`Timeouts`]), sent to the server as `grpc-timeout` and
//! enforced locally. Retries happen only where repeating a call cannot change the ledger
//! twice:
//!
//! - `Evaluate` (a read) is retried on UNAVAILABLE up to [`GatewayConfig::evaluate_retries`].
//! - `CommitStatus` is a read too; it is retried on UNAVAILABLE and on a deadline until the
//!   overall commit deadline.
//! - `Endorse` is not retried by this client: it has no side effect on the ledger, but a caller
//!   that retries it gets a *new* transaction (a new nonce and txid); retrying is the caller's
//!   choice, and [`crate::AnchorClient`] leaves it to its caller.
//! - `Submit` is never retried. An UNAVAILABLE or a deadline at submit does not say whether the
//!   orderer received the transaction; sending it again could only be refused as a duplicate
//!   txid, and the honest next step is to ask `CommitStatus` for that txid, which is what
//!   [`GatewayClient::submit_transaction`] leaves to its caller by returning the error with
//!   the txid known from [`Proposal::tx_id`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use evidence_core::internal::fabric_proto::{common, gateway, protos};
use prost::Message as _;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::error::{Error, PeerError};
use crate::identity::Identity;
use crate::rpc::gateway_client::GatewayClient as RawClient;

/// `protos.TxValidationCode.MVCC_READ_CONFLICT`.
pub const MVCC_READ_CONFLICT: i32 = 11;

/// TLS settings for a real network.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// The CA certificate(s) (PEM) that issued the gateway peer's TLS certificate.
    pub ca_pem: String,
    /// The name to check the server certificate against (when it differs from the URL host).
    pub domain: Option<String>,
    /// Client certificate and PKCS#8 key (PEM), for mutual TLS.
    pub client_cert_and_key_pem: Option<(String, String)>,
}

/// Per-call deadlines.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting.
    pub connect: Duration,
    /// One Endorse call.
    pub endorse: Duration,
    /// One Submit call.
    pub submit: Duration,
    /// One Evaluate call.
    pub evaluate: Duration,
    /// Waiting for the commit (all CommitStatus attempts together).
    pub commit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            endorse: Duration::from_secs(15),
            submit: Duration::from_secs(5),
            evaluate: Duration::from_secs(5),
            commit: Duration::from_mins(1),
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `http://host:port` or `https://host:port` (TLS needs [`Self::tls`]).
    pub url: String,
    /// TLS; `None` for plain HTTP/2 (the emulator, or a network with TLS disabled).
    pub tls: Option<TlsConfig>,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// How many times an Evaluate is retried on UNAVAILABLE.
    pub evaluate_retries: u32,
}

impl GatewayConfig {
    /// A plain-text configuration with default deadlines.
    pub fn plaintext(url: impl Into<String>) -> Self {
        Self { url: url.into(), tls: None, timeouts: Timeouts::default(), evaluate_retries: 2 }
    }
}

/// A signed proposal ready for Endorse or Evaluate.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The channel.
    pub channel: String,
    /// The transaction id (`hex(SHA-256(nonce || creator))`).
    pub tx_id: String,
    /// The signed proposal.
    pub signed: protos::SignedProposal,
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The transaction id.
    pub tx_id: String,
    /// The block holding it.
    pub block: u64,
}

/// A Fabric Gateway client for one identity.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    raw: RawClient<Channel>,
    identity: Identity,
    config: GatewayConfig,
}

fn now_timestamp() -> prost_types::Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX), nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0) }
}

impl GatewayClient {
    /// Sets up a (lazy) connection: nothing is sent until the first call, so an unreachable
    /// gateway shows as [`Error::Unavailable`] on that call.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL or TLS material.
    pub fn connect(config: GatewayConfig, identity: Identity) -> Result<Self, Error> {
        let mut ep = Endpoint::from_shared(config.url.clone())
            .map_err(|e| Error::Config(format!("endpoint {}: {e}", config.url)))?
            .connect_timeout(config.timeouts.connect)
            .tcp_nodelay(true);
        if let Some(tls) = &config.tls {
            let mut t = ClientTlsConfig::new().ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca_pem));
            if let Some(d) = &tls.domain {
                t = t.domain_name(d.clone());
            }
            if let Some((cert, key)) = &tls.client_cert_and_key_pem {
                t = t.identity(tonic::transport::Identity::from_pem(cert, key));
            }
            ep = ep.tls_config(t).map_err(|e| Error::Config(format!("TLS: {e}")))?;
        }
        let channel = ep.connect_lazy();
        Ok(Self { raw: RawClient::new(channel), identity, config })
    }

    /// The client identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Builds and signs a chaincode proposal (`ENDORSER_TRANSACTION`, fresh nonce and txid).
    ///
    /// # Errors
    /// [`Error::Identity`] when the nonce or the signature cannot be made.
    pub fn proposal(&self, channel: &str, chaincode: &str, args: &[&[u8]]) -> Result<Proposal, Error> {
        build_proposal(&self.identity, channel, chaincode, args)
    }

    /// Endorse: returns the prepared (unsigned) transaction envelope.
    ///
    /// # Errors
    /// [`Error::EndorsementFailed`] (with per-peer details), [`Error::Unavailable`],
    /// [`Error::Deadline`], [`Error::Protocol`].
    pub async fn endorse(&self, p: &Proposal) -> Result<common::Envelope, Error> {
        let req = gateway::EndorseRequest {
            transaction_id: p.tx_id.clone(),
            channel_id: p.channel.clone(),
            proposed_transaction: Some(p.signed.clone()),
            endorsing_organizations: Vec::new(),
        };
        let t = self.config.timeouts.endorse;
        let mut raw = self.raw.clone();
        let resp = deadline("Endorse", t, raw.endorse(request(req, t))).await.map_err(|s| status_error("Endorse", &s, true))?;
        resp.into_inner().prepared_transaction.ok_or_else(|| Error::protocol("EndorseResponse", "no prepared_transaction"))
    }

    /// Signs a prepared envelope's payload with the client identity.
    ///
    /// # Errors
    /// [`Error::Identity`] if signing fails.
    pub fn sign_envelope(&self, mut env: common::Envelope) -> Result<common::Envelope, Error> {
        env.signature = self.identity.sign(&env.payload)?;
        Ok(env)
    }

    /// Submit a signed envelope to the orderer (never retried, see the module docs).
    ///
    /// # Errors
    /// [`Error::SubmitRefused`], [`Error::Unavailable`], [`Error::Deadline`].
    pub async fn submit(&self, channel: &str, tx_id: &str, env: common::Envelope) -> Result<(), Error> {
        let req =
            gateway::SubmitRequest { transaction_id: tx_id.to_owned(), channel_id: channel.to_owned(), prepared_transaction: Some(env) };
        let t = self.config.timeouts.submit;
        let mut raw = self.raw.clone();
        deadline("Submit", t, raw.submit(request(req, t))).await.map_err(|s| match s.code() {
            tonic::Code::InvalidArgument | tonic::Code::PermissionDenied | tonic::Code::Aborted | tonic::Code::AlreadyExists => {
                Error::SubmitRefused { code: s.code(), message: s.message().to_owned() }
            }
            _ => status_error("Submit", &s, false),
        })?;
        Ok(())
    }

    /// Waits for the transaction's commit with signed CommitStatus requests, retrying reads on
    /// UNAVAILABLE and per-call deadlines until [`Timeouts::commit`].
    ///
    /// # Errors
    /// [`Error::MvccConflict`], [`Error::InvalidTransaction`], [`Error::Deadline`], ...
    pub async fn commit_status(&self, channel: &str, tx_id: &str) -> Result<Committed, Error> {
        let inner = gateway::CommitStatusRequest {
            transaction_id: tx_id.to_owned(),
            channel_id: channel.to_owned(),
            identity: self.identity.serialized().to_vec(),
        };
        let request_bytes = inner.encode_to_vec();
        let signature = self.identity.sign(&request_bytes)?;
        let signed = gateway::SignedCommitStatusRequest { request: request_bytes, signature };
        let overall = tokio::time::Instant::now() + self.config.timeouts.commit;
        let mut backoff = Duration::from_millis(50);
        loop {
            let left = overall.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(Error::Deadline { operation: "CommitStatus" });
            }
            let mut raw = self.raw.clone();
            match deadline("CommitStatus", left, raw.commit_status(request(signed.clone(), left))).await {
                Ok(r) => {
                    let r = r.into_inner();
                    return match r.result {
                        0 => Ok(Committed { tx_id: tx_id.to_owned(), block: r.block_number }),
                        MVCC_READ_CONFLICT => Err(Error::MvccConflict { tx_id: tx_id.to_owned(), block: r.block_number }),
                        code => Err(Error::InvalidTransaction { tx_id: tx_id.to_owned(), block: r.block_number, code }),
                    };
                }
                Err(s) if matches!(s.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded) => {
                    tokio::time::sleep(backoff.min(left)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(s) => return Err(status_error("CommitStatus", &s, false)),
            }
        }
    }

    /// Endorse, sign, submit, wait for commit. Returns the committed block number.
    ///
    /// # Errors
    /// As [`Self::endorse`], [`Self::submit`], [`Self::commit_status`].
    pub async fn submit_transaction(&self, channel: &str, chaincode: &str, args: &[&[u8]]) -> Result<Committed, Error> {
        let p = self.proposal(channel, chaincode, args)?;
        let env = self.endorse(&p).await?;
        let env = self.sign_envelope(env)?;
        self.submit(channel, &p.tx_id, env).await?;
        self.commit_status(channel, &p.tx_id).await
    }

    /// Evaluate (a query, not ordered); retried on UNAVAILABLE. Returns the response payload.
    ///
    /// # Errors
    /// [`Error::Chaincode`] for a non-200 status, [`Error::Unavailable`], [`Error::Deadline`], ...
    pub async fn evaluate(&self, channel: &str, chaincode: &str, args: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let t = self.config.timeouts.evaluate;
        let mut attempt = 0;
        loop {
            let p = self.proposal(channel, chaincode, args)?;
            let req = gateway::EvaluateRequest {
                transaction_id: p.tx_id.clone(),
                channel_id: p.channel.clone(),
                proposed_transaction: Some(p.signed),
                target_organizations: Vec::new(),
            };
            let mut raw = self.raw.clone();
            match deadline("Evaluate", t, raw.evaluate(request(req, t))).await {
                Ok(r) => {
                    let res = r.into_inner().result.ok_or_else(|| Error::protocol("EvaluateResponse", "no result"))?;
                    if res.status != 200 {
                        return Err(Error::Chaincode { operation: "Evaluate", status: res.status, message: res.message });
                    }
                    return Ok(res.payload);
                }
                Err(s) if s.code() == tonic::Code::Unavailable && attempt < self.config.evaluate_retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(s) => return Err(status_error("Evaluate", &s, false)),
            }
        }
    }
}

/// Builds and signs a chaincode proposal for `identity` (`ENDORSER_TRANSACTION`, fresh nonce
/// and txid, channel-header time now).
///
/// # Errors
/// [`Error::Identity`] when the nonce or the signature cannot be made.
pub fn build_proposal(identity: &Identity, channel: &str, chaincode: &str, args: &[&[u8]]) -> Result<Proposal, Error> {
    let (nonce, tx_id) = identity.new_nonce_and_txid()?;
    let cc_id = protos::ChaincodeId { name: chaincode.to_owned(), ..Default::default() };
    let ext = protos::ChaincodeHeaderExtension { chaincode_id: Some(cc_id.clone()), ..Default::default() };
    let ch = common::ChannelHeader {
        r#type: evidence_core::fabric::HEADER_TYPE_ENDORSER_TRANSACTION,
        timestamp: Some(now_timestamp()),
        channel_id: channel.to_owned(),
        tx_id: tx_id.clone(),
        extension: ext.encode_to_vec(),
        ..Default::default()
    };
    let sh = common::SignatureHeader { creator: identity.serialized().to_vec(), nonce: nonce.to_vec() };
    let header = common::Header { channel_header: ch.encode_to_vec(), signature_header: sh.encode_to_vec() };
    let spec = protos::ChaincodeSpec {
        r#type: 1, // GOLANG: informative only, the peer runs what is installed.
        chaincode_id: Some(cc_id),
        input: Some(protos::ChaincodeInput { args: args.iter().map(|a| a.to_vec()).collect(), ..Default::default() }),
        timeout: 0,
    };
    let cis = protos::ChaincodeInvocationSpec { chaincode_spec: Some(spec) };
    let cpp = protos::ChaincodeProposalPayload { input: cis.encode_to_vec(), ..Default::default() };
    let prop = protos::Proposal { header: header.encode_to_vec(), payload: cpp.encode_to_vec(), extension: Vec::new() };
    let proposal_bytes = prop.encode_to_vec();
    let signature = identity.sign(&proposal_bytes)?;
    Ok(Proposal { channel: channel.to_owned(), tx_id, signed: protos::SignedProposal { proposal_bytes, signature } })
}

fn request<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(timeout);
    r
}

async fn deadline<T>(
    operation: &'static str,
    t: Duration,
    fut: impl std::future::Future<Output = Result<T, tonic::Status>>,
) -> Result<T, tonic::Status> {
    match tokio::time::timeout(t, fut).await {
        Ok(r) => r,
        Err(_) => Err(tonic::Status::deadline_exceeded(format!("{operation}: local deadline of {t:?} passed"))),
    }
}

/// The `google.rpc.Status` message that carries gRPC error details.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// The type URL of `gateway.ErrorDetail` in status details.
pub(crate) const ERROR_DETAIL_TYPE_URL: &str = "type.googleapis.com/gateway.ErrorDetail";

fn peer_details(s: &tonic::Status) -> Vec<PeerError> {
    let Ok(st) = RpcStatus::decode(s.details()) else { return Vec::new() };
    st.details
        .iter()
        .filter(|a| a.type_url == ERROR_DETAIL_TYPE_URL)
        .filter_map(|a| gateway::ErrorDetail::decode(a.value.as_slice()).ok())
        .map(|d| PeerError { address: d.address, msp_id: d.msp_id, message: d.message })
        .collect()
}

fn status_error(operation: &'static str, s: &tonic::Status, endorse: bool) -> Error {
    match s.code() {
        tonic::Code::Unavailable => Error::Unavailable { operation, message: s.message().to_owned() },
        tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => Error::Deadline { operation },
        tonic::Code::Aborted | tonic::Code::FailedPrecondition if endorse => {
            Error::EndorsementFailed { message: s.message().to_owned(), details: peer_details(s) }
        }
        code => Error::Rpc { operation, code, message: s.message().to_owned() },
    }
}
