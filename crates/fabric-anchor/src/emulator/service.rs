//! The `gateway.Gateway` service: proposal and envelope checks, endorsement (through the
//! configured chaincode mode), ordering and commit, commit status, evaluation and `qscc`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use evidence_core::fabric::ANCHOR_NAMESPACE;
use evidence_core::internal::fabric_proto::{common, gateway, kvrwset, protos, rwset};
use p256::ecdsa::VerifyingKey;
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::contract::{self, Invocation};
use super::ledger::{self, ChannelState, TxStatus};
use super::pki::Pki;
use super::shim::{ShimDriver, StateView};
use super::simulation::Simulation;
use super::{Faults, PEER_ADDRESS, PEER_MSP};
use crate::anchor::QSCC;
use crate::client::{ERROR_DETAIL_TYPE_URL, RpcStatus};
use crate::identity::{txid, verify_signature};
use crate::rpc::gateway_server::Gateway;

/// How endorsements run the chaincode.
pub(crate) enum Runtime {
    /// In process ([`super::contract`]).
    Rust,
    /// Over the shim protocol.
    Shim(Box<ShimDriver>),
}

pub(crate) struct Inner {
    pub(crate) pki: Arc<Pki>,
    pub(crate) known: HashMap<Vec<u8>, VerifyingKey>,
    pub(crate) channels: Mutex<BTreeMap<String, ChannelState>>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) commits: watch::Sender<u64>,
    pub(crate) runtime: Runtime,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, BTreeMap<String, ChannelState>> {
        self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StateView for Inner {
    fn get(&self, channel: &str, key: &str) -> Option<(Vec<u8>, kvrwset::Version)> {
        self.lock().get(channel).and_then(|st| st.get(key))
    }
}

/// The Gateway service implementation.
#[derive(Clone)]
pub(crate) struct Service(pub(crate) Arc<Inner>);

pub(crate) fn bad(msg: impl Into<String>) -> Status {
    Status::invalid_argument(msg.into())
}

pub(crate) fn dec<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| bad(format!("cannot decode {what}: {e}")))
}

/// What a checked proposal holds.
pub(crate) struct CheckedProposal {
    pub(crate) channel: String,
    pub(crate) tx_id: String,
    pub(crate) timestamp: prost_types::Timestamp,
    pub(crate) chaincode: String,
    pub(crate) input: protos::ChaincodeInput,
    pub(crate) signed: protos::SignedProposal,
    pub(crate) header: Vec<u8>,
    pub(crate) payload: Vec<u8>,
}

/// An Endorse refusal with a peer error detail, as a Gateway reports one.
fn peer_fail(message: String) -> Status {
    let detail = gateway::ErrorDetail { address: PEER_ADDRESS.to_owned(), msp_id: PEER_MSP.to_owned(), message };
    let st = RpcStatus {
        code: tonic::Code::Aborted as i32,
        message: "failed to endorse transaction, see attached details for more info".to_owned(),
        details: vec![prost_types::Any { type_url: ERROR_DETAIL_TYPE_URL.to_owned(), value: detail.encode_to_vec() }],
    };
    Status::with_details(tonic::Code::Aborted, st.message.clone(), st.encode_to_vec().into())
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

    pub(crate) fn check_proposal(&self, sp: Option<&protos::SignedProposal>, channel_id: &str) -> Result<CheckedProposal, Status> {
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
        let timestamp = ch.timestamp.ok_or_else(|| bad("channel header has no timestamp"))?;
        let ext: protos::ChaincodeHeaderExtension = dec(&ch.extension, "protos.ChaincodeHeaderExtension")?;
        let cpp: protos::ChaincodeProposalPayload = dec(&prop.payload, "protos.ChaincodeProposalPayload")?;
        let cis: protos::ChaincodeInvocationSpec = dec(&cpp.input, "protos.ChaincodeInvocationSpec")?;
        let input = cis.chaincode_spec.and_then(|s| s.input).unwrap_or_default();
        let chaincode = ext.chaincode_id.map(|c| c.name).unwrap_or_default();
        Ok(CheckedProposal {
            channel: ch.channel_id,
            tx_id: ch.tx_id,
            timestamp,
            chaincode,
            input,
            signed: sp.clone(),
            header: prop.header,
            payload: prop.payload,
        })
    }

    /// Runs `evidence-anchor` in process against the channel's committed state.
    pub(crate) fn simulate_rust(&self, p: &CheckedProposal) -> Simulation {
        let chans = self.0.lock();
        let Some(st) = chans.get(&p.channel) else { return Simulation::error(500, "channel not found") };
        let inv = Invocation { args: &p.input.args, tx_id: &p.tx_id, timestamp: &p.timestamp };
        contract::simulate(&inv, &|key| st.get(key))
    }

    /// Runs `evidence-anchor` in the configured mode. `Err` is a failure to run it at all (the
    /// chaincode unreachable, timed out, or failing outside the contract).
    async fn simulate(&self, p: &CheckedProposal) -> Result<Simulation, String> {
        match &self.0.runtime {
            Runtime::Rust => Ok(self.simulate_rust(p)),
            Runtime::Shim(driver) => {
                let view: Arc<dyn StateView> = Arc::clone(&self.0) as Arc<dyn StateView>;
                driver.execute(view, &p.channel, &p.tx_id, &p.input, &p.signed).await.map_err(|e| e.to_string())
            }
        }
    }

    /// qscc: GetBlockByTxID, GetBlockByNumber, GetChainInfo.
    fn qscc(&self, p: &CheckedProposal) -> protos::Response {
        let ok = |payload: Vec<u8>| protos::Response { status: 200, message: String::new(), payload };
        let err = |m: String| protos::Response { status: 500, message: m, payload: Vec::new() };
        let arg = |i: usize| p.input.args.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
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

    /// Checks an Endorse request's proposal before it is simulated.
    pub(crate) fn check_endorse(&self, req: &gateway::EndorseRequest) -> Result<CheckedProposal, Status> {
        let p = self.check_proposal(req.proposed_transaction.as_ref(), &req.channel_id)?;
        if p.chaincode != ANCHOR_NAMESPACE {
            return Err(bad(format!("chaincode {:?} cannot be endorsed here (only {ANCHOR_NAMESPACE})", p.chaincode)));
        }
        if self.0.faults.endorsement_failure.load(Ordering::SeqCst) {
            return Err(peer_fail("chaincode response 500, emulator: endorsement failure fault is set".into()));
        }
        Ok(p)
    }

    async fn endorse_inner(&self, req: &gateway::EndorseRequest) -> Result<common::Envelope, Status> {
        let p = self.check_endorse(req)?;
        let sim = self.simulate(&p).await.map_err(|e| peer_fail(format!("error in simulation: {e}")))?;
        self.endorsed_envelope(&p, &sim)
    }

    /// The prepared transaction for a simulation: `ProposalResponsePayload` (proposal hash,
    /// `ChaincodeAction`) endorsed by the peer, inside an unsigned envelope. An error status
    /// from the chaincode refuses the endorsement.
    pub(crate) fn endorsed_envelope(&self, p: &CheckedProposal, sim: &Simulation) -> Result<common::Envelope, Status> {
        if sim.response.status >= 400 {
            return Err(peer_fail(format!("chaincode response {}, {}", sim.response.status, sim.response.message)));
        }
        let action = sim.chaincode_action(ANCHOR_NAMESPACE);
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
    pub(crate) fn check_envelope(
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
    pub(crate) fn commit(
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
        let forced = self.0.faults.mvcc_conflict.load(Ordering::SeqCst);
        let code = if forced || st.is_stale(reads) { ledger::MVCC_READ_CONFLICT } else { ledger::VALID };
        let number = ledger::append_block(&self.0.pki, st, envelope, code).map_err(|e| Status::internal(e.to_string()))?;
        if code == ledger::VALID {
            st.apply(number, writes);
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
        let env = self.endorse_inner(request.get_ref()).await?;
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
            self.simulate(&p).await.map_err(|e| Status::aborted(format!("evaluate call to endorser returned error: {e}")))?.response
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
