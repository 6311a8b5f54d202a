//! The peer side of the shim protocol against a scripted chaincode written here, for what the
//! real `evidence-anchor` chaincode never sends: state metadata reads, deletes, repeated writes,
//! reads after writes, private data, range queries, chaincode-to-chaincode calls, requests for
//! an unknown transaction, keepalives, a chaincode failing outside its contract, one that never
//! completes, and one that does not register. (The wire format itself is checked against the
//! official Node shim in `tests/chaincode_shim.rs`; this file needs no Node.)

use std::net::SocketAddr;
use std::time::Duration;

use evidence_core::internal::fabric_proto::{common, kvrwset, protos, rwset};
use fabric_anchor::emulator::{self, ChaincodeMode, EmulatorConfig, EmulatorError, ShimConfig, ShimError};
use fabric_anchor::shim_rpc::chaincode_message::Type;
use fabric_anchor::shim_rpc::chaincode_server::{Chaincode, ChaincodeServer};
use fabric_anchor::shim_rpc::{ChaincodeMessage, DelState, GetState, GetStateByRange, GetStateMetadata, PutState, StateMetadataResult};
use fabric_anchor::{Error, GatewayClient, GatewayConfig};
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

const CC_ID: &str = "scripted_1.0:00";

#[derive(Clone, Copy)]
enum Script {
    /// Registers, then answers each TRANSACTION with a fixed series of state requests.
    Probe,
    /// Registers, then answers each TRANSACTION with ERROR.
    Fail,
    /// Registers, then never answers a TRANSACTION.
    Silent,
    /// Sends READY instead of REGISTER.
    NoRegister,
}

#[derive(Clone, Copy)]
struct Fake(Script);

type Out = mpsc::Sender<Result<ChaincodeMessage, Status>>;

fn msg(ty: Type, payload: Vec<u8>, to: &ChaincodeMessage) -> ChaincodeMessage {
    ChaincodeMessage { r#type: ty as i32, payload, txid: to.txid.clone(), channel_id: to.channel_id.clone(), ..Default::default() }
}

async fn next(inbound: &mut Streaming<ChaincodeMessage>) -> Option<ChaincodeMessage> {
    inbound.message().await.ok().flatten()
}

/// Sends a request for `tx` and returns the peer's answer as `TYPE payload` text.
async fn ask(out: &Out, inbound: &mut Streaming<ChaincodeMessage>, mut m: ChaincodeMessage) -> String {
    let expect_reply = m.r#type != Type::Keepalive as i32;
    m.timestamp = None;
    out.send(Ok(m)).await.expect("send");
    if !expect_reply {
        return "KEEPALIVE (no answer)".to_owned();
    }
    let r = next(inbound).await.expect("an answer");
    let ty = Type::try_from(r.r#type).map_or("?", |t| t.as_str_name());
    let text = (r.r#type == Type::Response as i32 && r.payload.is_ascii()) || r.r#type == Type::Error as i32;
    if text { format!("{ty} {}", String::from_utf8_lossy(&r.payload)) } else { format!("{ty} {}", hex::encode(&r.payload)) }
}

async fn run(script: Script, mut inbound: Streaming<ChaincodeMessage>, out: Out) {
    let id = protos::ChaincodeId { name: CC_ID.to_owned(), ..Default::default() }.encode_to_vec();
    let first = if matches!(script, Script::NoRegister) { Type::Ready } else { Type::Register };
    out.send(Ok(ChaincodeMessage { r#type: first as i32, payload: id, ..Default::default() })).await.expect("send");
    let Some(m) = next(&mut inbound).await else { return };
    assert_eq!(m.r#type, Type::Registered as i32, "REGISTERED first");
    let m = next(&mut inbound).await.expect("READY");
    assert_eq!(m.r#type, Type::Ready as i32, "then READY");
    while let Some(tx) = next(&mut inbound).await {
        assert_eq!(tx.r#type, Type::Transaction as i32);
        assert!(tx.proposal.is_some(), "TRANSACTION carries the signed proposal");
        match script {
            Script::Silent => {}
            Script::Fail => out.send(Ok(msg(Type::Error, b"boom".to_vec(), &tx))).await.expect("send"),
            Script::Probe => {
                let mut seen = Vec::new();
                let get = |key: &str, collection: &str| GetState { key: key.into(), collection: collection.into() }.encode_to_vec();
                let put =
                    |key: &str, value: &str| PutState { key: key.into(), value: value.into(), collection: String::new() }.encode_to_vec();
                let mut other_tx = msg(Type::GetState, get("k1", ""), &tx);
                other_tx.txid = "not-a-running-transaction".into();
                for m in [
                    msg(Type::GetState, get("m1", ""), &tx),
                    msg(Type::GetState, get("absent", ""), &tx),
                    msg(Type::GetStateMetadata, GetStateMetadata { key: "m1".into(), collection: String::new() }.encode_to_vec(), &tx),
                    msg(Type::GetState, get("k1", "secret-collection"), &tx),
                    msg(
                        Type::GetStateByRange,
                        GetStateByRange { start_key: "a".into(), end_key: "z".into(), ..Default::default() }.encode_to_vec(),
                        &tx,
                    ),
                    msg(Type::InvokeChaincode, Vec::new(), &tx),
                    msg(Type::PutStateMetadata, Vec::new(), &tx),
                    other_tx,
                    msg(Type::PutState, put("k1", "v1"), &tx),
                    msg(Type::DelState, DelState { key: "k2".into(), collection: String::new() }.encode_to_vec(), &tx),
                    msg(Type::PutState, put("k1", "v2"), &tx),
                    msg(Type::GetState, get("k1", ""), &tx),
                    msg(Type::Keepalive, Vec::new(), &tx),
                    msg(Type::GetState, vec![0xff, 0xff], &tx),
                ] {
                    seen.push(ask(&out, &mut inbound, m).await);
                }
                let response = protos::Response { status: 200, message: String::new(), payload: seen.join("\n").into_bytes() };
                let mut done = msg(Type::Completed, response.encode_to_vec(), &tx);
                done.chaincode_event =
                    Some(protos::ChaincodeEvent { event_name: "Probed".into(), payload: b"p".to_vec(), ..Default::default() });
                out.send(Ok(done)).await.expect("send");
            }
            Script::NoRegister => unreachable!(),
        }
    }
}

#[tonic::async_trait]
impl Chaincode for Fake {
    type ConnectStream = tokio_stream::wrappers::ReceiverStream<Result<ChaincodeMessage, Status>>;

    async fn connect(&self, request: Request<Streaming<ChaincodeMessage>>) -> Result<Response<Self::ConnectStream>, Status> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(run(self.0, request.into_inner(), tx));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

async fn serve(script: Script) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ChaincodeServer::new(Fake(script)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

fn config(addr: SocketAddr) -> ShimConfig {
    let mut c = ShimConfig::plaintext(addr.to_string(), CC_ID);
    c.dial_timeout = Duration::from_secs(3);
    c.execute_timeout = Duration::from_millis(700);
    c
}

async fn emulator_for(script: Script) -> (emulator::RunningEmulator, GatewayClient) {
    let addr = serve(script).await;
    let emu = emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(config(addr)), ..EmulatorConfig::default() })
        .await
        .expect("emulator starts and the chaincode registers");
    let gw = GatewayClient::connect(GatewayConfig::plaintext(emu.url()), emu.client_identity().clone()).expect("client");
    (emu, gw)
}

fn action(env: &common::Envelope) -> protos::ChaincodeAction {
    let payload = common::Payload::decode(env.payload.as_slice()).expect("payload");
    let tx = protos::Transaction::decode(payload.data.as_slice()).expect("tx");
    let cap = protos::ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).expect("cap");
    let prp = protos::ProposalResponsePayload::decode(cap.action.expect("action").proposal_response_payload.as_slice()).expect("prp");
    protos::ChaincodeAction::decode(prp.extension.as_slice()).expect("action")
}

#[tokio::test]
async fn state_requests_are_served_from_committed_state_and_the_rest_refused() {
    let (emu, gw) = emulator_for(Script::Probe).await;
    // The first transaction reads absent keys; once it commits k1 = v2, the second one reads k1
    // at the version of that commit.
    let p1 = gw.proposal("evidence", "evidence-anchor", &[b"Probe"]).expect("proposal");
    let e1 = gw.endorse(&p1).await.expect("endorse");
    let a1 = action(&e1);
    let seen = String::from_utf8(a1.response.clone().expect("response").payload).expect("text");
    let tx = &p1.tx_id;
    let expected = [
        "RESPONSE ".to_owned(),
        "RESPONSE ".to_owned(),
        format!("RESPONSE {}", hex::encode(StateMetadataResult { entries: Vec::new() }.encode_to_vec())),
        format!("ERROR GET_STATE failed: transaction ID: {tx}: private data collections are not supported by the fabric-emulator"),
        format!("ERROR GET_STATE_BY_RANGE failed: transaction ID: {tx}: not supported by the fabric-emulator"),
        format!("ERROR INVOKE_CHAINCODE failed: transaction ID: {tx}: not supported by the fabric-emulator"),
        format!("ERROR PUT_STATE_METADATA failed: transaction ID: {tx}: not supported by the fabric-emulator"),
        "ERROR GET_STATE failed: transaction ID: not-a-running-transaction: no ledger context".to_owned(),
        "RESPONSE ".to_owned(),
        "RESPONSE ".to_owned(),
        "RESPONSE ".to_owned(),
        "RESPONSE ".to_owned(), // a simulation does not see its own writes
        "KEEPALIVE (no answer)".to_owned(),
        format!("ERROR GET_STATE failed: transaction ID: {tx}: unmarshal failed: "),
    ];
    let lines: Vec<&str> = seen.split('\n').collect();
    assert_eq!(lines.len(), expected.len(), "{seen}");
    for (got, want) in lines.iter().zip(&expected) {
        assert!(got.starts_with(want.trim_end()), "got {got:?}, want {want:?}");
    }

    // The read-write set is what the chaincode did: reads with the versions seen (all absent
    // here), the last write of k1, the delete of k2; keys sorted.
    let txrw = rwset::TxReadWriteSet::decode(a1.results.as_slice()).expect("rwset");
    assert_eq!(txrw.ns_rwset.len(), 1);
    assert_eq!(txrw.ns_rwset[0].namespace, "evidence-anchor");
    let kv = kvrwset::KvrwSet::decode(txrw.ns_rwset[0].rwset.as_slice()).expect("kv");
    let keys: Vec<(&str, Option<kvrwset::Version>)> = kv.reads.iter().map(|r| (r.key.as_str(), r.version)).collect();
    assert_eq!(keys, vec![("absent", None), ("k1", None), ("m1", None)]);
    assert_eq!(
        kv.writes,
        vec![
            kvrwset::KvWrite { key: "k1".into(), is_delete: false, value: b"v2".to_vec() },
            kvrwset::KvWrite { key: "k2".into(), is_delete: true, value: Vec::new() },
        ]
    );
    // The event gets the chaincode name and txid from the peer.
    let ev = protos::ChaincodeEvent::decode(a1.events.as_slice()).expect("event");
    assert_eq!((ev.chaincode_id.as_str(), ev.tx_id.as_str(), ev.event_name.as_str()), ("evidence-anchor", tx.as_str(), "Probed"));

    // Commit it; the next simulation reads k1 at the version the commit gave it.
    let env = gw.sign_envelope(e1).expect("sign");
    gw.submit("evidence", &p1.tx_id, env).await.expect("submit");
    let c = gw.commit_status("evidence", &p1.tx_id).await.expect("commit");
    let p2 = gw.proposal("evidence", "evidence-anchor", &[b"Probe"]).expect("proposal");
    let a2 = action(&gw.endorse(&p2).await.expect("endorse"));
    let kv2 = kvrwset::KvrwSet::decode(rwset::TxReadWriteSet::decode(a2.results.as_slice()).expect("rw").ns_rwset[0].rwset.as_slice())
        .expect("kv");
    let k1 = kv2.reads.iter().find(|r| r.key == "k1").expect("k1 read");
    assert_eq!(k1.version, Some(kvrwset::Version { block_num: c.block, tx_num: 0 }));
    let seen2 = String::from_utf8(a2.response.expect("response").payload).expect("text");
    assert_eq!(seen2.split('\n').nth(11), Some("RESPONSE v2"), "{seen2}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_chaincode_error_and_a_silent_chaincode_fail_the_endorsement() {
    let (emu, gw) = emulator_for(Script::Fail).await;
    match gw.submit_transaction("evidence", "evidence-anchor", &[b"x"]).await {
        Err(Error::EndorsementFailed { details, .. }) => {
            assert_eq!(details[0].message, "error in simulation: transaction returned with failure: boom");
        }
        other => panic!("expected EndorsementFailed, got {other:?}"),
    }
    emu.shutdown().await;

    let (emu, gw) = emulator_for(Script::Silent).await;
    match gw.submit_transaction("evidence", "evidence-anchor", &[b"x"]).await {
        Err(Error::EndorsementFailed { details, .. }) => {
            assert!(details[0].message.contains("the chaincode did not complete within 700ms"), "{details:?}");
        }
        other => panic!("expected EndorsementFailed, got {other:?}"),
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_chaincode_that_does_not_register_or_is_not_there_stops_the_start() {
    let addr = serve(Script::NoRegister).await;
    match emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(config(addr)), ..EmulatorConfig::default() }).await {
        Err(EmulatorError::Chaincode(ShimError::Handshake { detail, .. })) => assert!(detail.contains("not REGISTER"), "{detail}"),
        other => panic!("expected a handshake failure, got {other:?}"),
    }
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let mut cfg = config(nobody);
    cfg.dial_timeout = Duration::from_millis(500);
    match emulator::spawn(EmulatorConfig { chaincode: ChaincodeMode::Shim(cfg), ..EmulatorConfig::default() }).await {
        Err(EmulatorError::Chaincode(ShimError::Connect { address, .. })) => assert_eq!(address, nobody.to_string()),
        other => panic!("expected a connect failure, got {other:?}"),
    }
}
