//! `FabricReceipt`: the evidence that a checkpoint hash was anchored on a Fabric channel.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{FabricError, Location};
use super::proto::{kvrwset, protos, rwset};
use super::verify::{
    BlockLimits, BlockReport, HEADER_TYPE_ENDORSER_TRANSACTION, MspRoots, Predecessor, decode, decode_block, verify_decoded,
};
use crate::types::CheckpointHash;

/// The anchor chaincode's name, which is also its read-write-set namespace.
pub const ANCHOR_NAMESPACE: &str = "evidence-anchor";

/// The value the anchor chaincode stores for a checkpoint hash: 64 lowercase hex characters.
pub fn anchor_value(hash: &CheckpointHash) -> String {
    hash.to_hex()
}

/// One MSP root certificate as captured with a receipt (informative only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptMspRoot {
    /// The MSP id.
    pub msp_id: String,
    /// The root certificate(s), PEM.
    pub pem: String,
}

/// A Fabric anchoring receipt: the whole block holding the anchor transaction.
///
/// JSON with `block` in standard base64. The `msp_roots` and `orderer_msps` are what the
/// channel configuration said at capture time; they are informative only, and
/// [`verify_receipt`] never trusts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FabricReceipt {
    /// The channel id.
    pub channel: String,
    /// The protobuf-encoded `common.Block`.
    #[serde(serialize_with = "ser_b64", deserialize_with = "de_b64")]
    pub block: Vec<u8>,
    /// The transaction's index in the block.
    pub tx_index: u64,
    /// The transaction id.
    pub tx_id: String,
    /// The channel's MSP roots at capture time (informative only).
    #[serde(default)]
    pub msp_roots: Vec<ReceiptMspRoot>,
    /// The channel's orderer MSP ids at capture time (informative only).
    #[serde(default)]
    pub orderer_msps: Vec<String>,
}

fn ser_b64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn de_b64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)
}

/// The result of a successful [`verify_receipt`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReceiptReport {
    /// The block, fully verified.
    pub block: BlockReport,
    /// The anchor transaction's index.
    pub tx_index: u64,
    /// Its transaction id.
    pub tx_id: String,
    /// The key written.
    pub key: String,
    /// The value written (hex text of the checkpoint hash).
    pub value: String,
    /// The transaction's validation flag (0 = VALID). UNSIGNED: taken from metadata slot 2,
    /// which no signature covers; it is required to say VALID but proves nothing alone.
    pub validation_code: u8,
    /// Always false: see `validation_code`.
    pub validation_flag_signed: bool,
    /// The time (Unix seconds, channel-header time) at which certificates were checked.
    pub checked_at: i64,
}

/// Verifies a receipt against a checkpoint hash and the caller's trusted MSP roots.
///
/// The block verifies as in [`super::verify_block`] (against `prev` when given); the receipt's
/// channel and tx id match the transaction at `tx_index`, an endorser transaction; one of its
/// actions' read-write sets writes, in namespace [`ANCHOR_NAMESPACE`], `expected_key` with the
/// value [`anchor_value`]`(checkpoint_hash)` (not a delete); its validation flag is VALID.
///
/// # Errors
/// The first failed check, with its context.
pub fn verify_receipt(
    receipt: &FabricReceipt,
    checkpoint_hash: &CheckpointHash,
    expected_key: &str,
    roots: &MspRoots,
    prev: Option<Predecessor<'_>>,
    opts: &BlockLimits,
) -> Result<ReceiptReport, FabricError> {
    let at = AnchorAt { channel: &receipt.channel, tx_index: receipt.tx_index, tx_id: Some(&receipt.tx_id) };
    verify_anchor(&receipt.block, &at, checkpoint_hash, expected_key, roots, prev, opts)
}

/// Where an anchor sits in a block: what [`verify_anchor`] checks the block against.
#[derive(Debug, Clone, Copy)]
pub struct AnchorAt<'a> {
    /// The channel the transaction must name.
    pub channel: &'a str,
    /// Index of the transaction in the block.
    pub tx_index: u64,
    /// The transaction id it must carry; `None` reads it from the verified block (an evidence
    /// bundle names the transaction by index only).
    pub tx_id: Option<&'a str>,
}

/// [`verify_receipt`] on a block and a position, decoding and verifying the block once.
///
/// # Errors
/// The first failed check, with its context.
pub fn verify_anchor(
    block: &[u8],
    anchor: &AnchorAt<'_>,
    checkpoint_hash: &CheckpointHash,
    expected_key: &str,
    roots: &MspRoots,
    prev: Option<Predecessor<'_>>,
    opts: &BlockLimits,
) -> Result<ReceiptReport, FabricError> {
    let block = decode_block(block, opts)?;
    let (report, txs) = verify_decoded(&block, roots, prev, opts)?;
    let count = txs.len();
    let tx = usize::try_from(anchor.tx_index).ok().and_then(|i| txs.get(i)).ok_or(FabricError::TxIndex {
        block: report.number,
        tx_index: anchor.tx_index,
        count,
    })?;
    let at = Location { block: Some(report.number), tx: Some(tx.report.index) };
    let mismatch = |field: &'static str, expected: &str, found: &str| FabricError::ReceiptMismatch {
        at,
        field,
        expected: expected.to_owned(),
        found: found.to_owned(),
    };
    if tx.report.channel != anchor.channel {
        return Err(mismatch("channel", anchor.channel, &tx.report.channel));
    }
    if let Some(id) = anchor.tx_id
        && tx.report.tx_id != id
    {
        return Err(mismatch("tx_id", id, &tx.report.tx_id));
    }
    if tx.report.header_type != HEADER_TYPE_ENDORSER_TRANSACTION {
        return Err(mismatch("header type", "3 (ENDORSER_TRANSACTION)", &tx.report.header_type.to_string()));
    }

    let value = anchor_value(checkpoint_hash);
    find_write(&tx.payload_data, at, expected_key, &value)?;

    let code = tx.report.validation_code.ok_or(FabricError::NotValid { at, code: 256 })?;
    if code != 0 {
        return Err(FabricError::NotValid { at, code: u16::from(code) });
    }
    Ok(ReceiptReport {
        tx_index: anchor.tx_index,
        tx_id: tx.report.tx_id.clone(),
        key: expected_key.to_owned(),
        value,
        validation_code: code,
        validation_flag_signed: false,
        checked_at: tx.report.timestamp,
        block: report,
    })
}

fn find_write(payload_data: &[u8], at: Location, key: &str, value: &str) -> Result<(), FabricError> {
    let ws_err =
        |reason: String| FabricError::WriteSet { at, namespace: ANCHOR_NAMESPACE, key: key.to_owned(), value: value.to_owned(), reason };
    let tx: protos::Transaction = decode(payload_data, at, "protos.Transaction")?;
    let mut seen = Vec::new();
    for action in &tx.actions {
        let cap: protos::ChaincodeActionPayload = decode(&action.payload, at, "protos.ChaincodeActionPayload")?;
        let ea = cap.action.ok_or(FabricError::Missing { at, field: "ChaincodeActionPayload.action" })?;
        let prp: protos::ProposalResponsePayload = decode(&ea.proposal_response_payload, at, "protos.ProposalResponsePayload")?;
        let cca: protos::ChaincodeAction = decode(&prp.extension, at, "protos.ChaincodeAction")?;
        let txrw: rwset::TxReadWriteSet = decode(&cca.results, at, "rwset.TxReadWriteSet")?;
        for ns in txrw.ns_rwset.iter().filter(|n| n.namespace == ANCHOR_NAMESPACE) {
            let kv: kvrwset::KvrwSet = decode(&ns.rwset, at, "kvrwset.KVRWSet")?;
            for w in kv.writes.iter().filter(|w| w.key == key) {
                if w.is_delete {
                    return Err(ws_err("the key is deleted".into()));
                }
                if w.value.as_slice() == value.as_bytes() {
                    return Ok(());
                }
                seen.push(String::from_utf8_lossy(&w.value).into_owned());
            }
        }
    }
    if seen.is_empty() {
        Err(ws_err("the transaction does not write this key".into()))
    } else {
        Err(ws_err(format!("the key is written with other value(s): {seen:?}")))
    }
}

/// Where an anchor transaction sits: its block's number and its transaction id, as the block
/// says (decoded, **not verified**: for display, e.g. a report's anchoring column; what proves
/// the anchor is [`verify_anchor`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorPosition {
    /// `BlockHeader.number`.
    pub block_number: u64,
    /// `ChannelHeader.tx_id` of the transaction at the index.
    pub tx_id: String,
}

/// Reads the block number and the transaction id at `tx_index` from a protobuf-encoded
/// `common.Block`, with `opts`' size caps, verifying nothing.
///
/// # Errors
/// [`FabricError::Decode`], [`FabricError::TooLarge`], [`FabricError::Missing`] for a
/// malformed block; [`FabricError::TxIndex`] when the block has no transaction at the index.
pub fn anchor_position(block: &[u8], tx_index: u64, opts: &BlockLimits) -> Result<AnchorPosition, FabricError> {
    let block = decode_block(block, opts)?;
    let number = block.header.as_ref().ok_or(FabricError::Missing { at: Location::default(), field: "Block.header" })?.number;
    let txs = block.data.as_ref().map_or(&[][..], |d| &d.data[..]);
    let index = usize::try_from(tx_index).ok().filter(|i| *i < txs.len());
    let Some(index) = index else {
        return Err(FabricError::TxIndex { block: number, tx_index, count: txs.len() });
    };
    let at = Location { block: Some(number), tx: Some(index) };
    let env: super::proto::common::Envelope = decode(&txs[index], at, "common.Envelope")?;
    let payload: super::proto::common::Payload = decode(&env.payload, at, "common.Payload")?;
    let header = payload.header.as_ref().ok_or(FabricError::Missing { at, field: "Payload.header" })?;
    let ch: super::proto::common::ChannelHeader = decode(&header.channel_header, at, "common.ChannelHeader")?;
    Ok(AnchorPosition { block_number: number, tx_id: ch.tx_id })
}
