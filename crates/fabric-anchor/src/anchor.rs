//! `AnchorClient`: anchors a checkpoint hash with the `evidence-anchor` chaincode and returns a
//! [`FabricReceipt`] that `evidence_core::fabric::verify_receipt` accepts.

use evidence_core::CheckpointHash;
use evidence_core::fabric::{ANCHOR_NAMESPACE, FabricReceipt, ReceiptMspRoot, anchor_value};
use evidence_core::internal::fabric_proto::{common, kvrwset, msp, protos, rwset};
use prost::Message as _;

use crate::client::{Committed, GatewayClient};
use crate::error::Error;

/// The ledger query system chaincode.
pub const QSCC: &str = "qscc";

/// The key for checkpoint `seq` of `tenant`: `ckpt/<tenant>/<seq>` (decimal `seq`).
pub fn anchor_key(tenant: &str, seq: u64) -> String {
    format!("ckpt/{tenant}/{seq}")
}

/// How many blocks back from the channel's head [`AnchorClient::anchor`] searches for the
/// transaction that wrote a key whose receipt was lost, by default.
pub const DEFAULT_RECOVERY_BLOCKS: u64 = 2_000;

/// What [`AnchorClient::anchor_or_recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorOutcome {
    /// The receipt (verify it with `evidence_core::fabric::verify_receipt` before trusting it).
    pub receipt: FabricReceipt,
    /// True when the key was already written with this hash (a commit whose receipt was not
    /// stored) and the receipt is that earlier transaction's, found on the channel.
    pub recovered: bool,
}

/// Anchors checkpoint hashes on Fabric through a [`GatewayClient`].
#[derive(Debug, Clone)]
pub struct AnchorClient {
    gw: GatewayClient,
    recovery_blocks: u64,
}

impl AnchorClient {
    /// Wraps a Gateway client.
    pub fn new(gw: GatewayClient) -> Self {
        Self { gw, recovery_blocks: DEFAULT_RECOVERY_BLOCKS }
    }

    /// Searches at most `blocks` blocks back from the head for a lost receipt's transaction
    /// (default [`DEFAULT_RECOVERY_BLOCKS`]).
    #[must_use]
    pub fn with_recovery_blocks(mut self, blocks: u64) -> Self {
        self.recovery_blocks = blocks;
        self
    }

    /// The underlying Gateway client.
    pub fn gateway(&self) -> &GatewayClient {
        &self.gw
    }

    /// Anchors `hash` as checkpoint `seq` of `tenant` on `channel` (see
    /// [`Self::anchor_or_recover`]) and returns the receipt.
    ///
    /// # Errors
    /// As [`Self::anchor_or_recover`].
    pub async fn anchor(&self, channel: &str, tenant: &str, seq: u64, hash: &CheckpointHash) -> Result<FabricReceipt, Error> {
        Ok(self.anchor_or_recover(channel, tenant, seq, hash).await?.receipt)
    }

    /// Anchors `hash` as checkpoint `seq` of `tenant` on `channel`:
    /// `Anchor(tenant, seq, hash_hex)` is endorsed, submitted and waited for (the chaincode
    /// writes [`anchor_key`]`(tenant, seq)`); then the block holding the transaction and the
    /// channel's MSP roots are fetched with `qscc`, and the receipt is returned.
    ///
    /// When the endorsement is refused (the chaincode refuses a key that exists) or the
    /// transaction is invalidated by an MVCC conflict, the key is read back (`Get`):
    /// - it holds this hash: an earlier transaction anchored it and its receipt was lost (a
    ///   crash between the commit and the ledger's update, a restored snapshot, a concurrent
    ///   replica). That transaction is found on the channel (qscc `GetChainInfo`, then
    ///   `GetBlockByNumber` back from the head, at most [`Self::with_recovery_blocks`] blocks,
    ///   for the VALID transaction writing the key with this value), its block is fetched with
    ///   qscc `GetBlockByTxID(channel, txid)` as for any receipt, and the outcome says
    ///   `recovered`;
    /// - it holds another value: [`Error::AnchorConflict`], naming the channel, tenant, seq,
    ///   key, the stored value and the expected one (another ledger with the same name and
    ///   tenant on this channel, or a forked store);
    /// - it is absent: the original error.
    ///
    /// # Errors
    /// Every [`Error`] of the Gateway calls; [`Error::EndorsementFailed`] when the chaincode
    /// refuses the tenant id; [`Error::AnchorConflict`]; [`Error::AnchorNotFound`] when the key
    /// holds this hash but no transaction writing it is within the searched blocks;
    /// [`Error::Protocol`] when the fetched blocks do not hold what they must.
    pub async fn anchor_or_recover(&self, channel: &str, tenant: &str, seq: u64, hash: &CheckpointHash) -> Result<AnchorOutcome, Error> {
        let seq_text = seq.to_string();
        let value = anchor_value(hash);
        let submitted = self
            .gw
            .submit_transaction(channel, ANCHOR_NAMESPACE, &[b"Anchor", tenant.as_bytes(), seq_text.as_bytes(), value.as_bytes()])
            .await;
        let (committed, recovered) = match submitted {
            Ok(c) => (c, false),
            Err(e @ (Error::EndorsementFailed { .. } | Error::MvccConflict { .. })) => {
                let key = anchor_key(tenant, seq);
                match self.get(channel, tenant, seq).await {
                    Ok(Some(stored)) if stored == value => (self.find_anchor(channel, &key, &value).await?, true),
                    Ok(Some(stored)) => {
                        return Err(Error::AnchorConflict(Box::new(crate::error::AnchorConflict {
                            channel: channel.to_owned(),
                            tenant: tenant.to_owned(),
                            seq,
                            key,
                            stored,
                            expected: value,
                        })));
                    }
                    // Absent, or unreadable: the refusal stands as it was.
                    Ok(None) | Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        Ok(AnchorOutcome { receipt: self.receipt(channel, &committed).await?, recovered })
    }

    /// Finds the VALID transaction that wrote `value` to `key` in namespace
    /// [`ANCHOR_NAMESPACE`]: qscc `GetChainInfo` for the height, then `GetBlockByNumber` from
    /// the head back, at most [`Self::with_recovery_blocks`] blocks.
    ///
    /// # Errors
    /// [`Error::AnchorNotFound`]; Gateway errors; [`Error::Protocol`] for undecodable blocks.
    pub async fn find_anchor(&self, channel: &str, key: &str, value: &str) -> Result<Committed, Error> {
        let info = self.gw.evaluate(channel, QSCC, &[b"GetChainInfo", channel.as_bytes()]).await?;
        let info = crate::BlockchainInfo::decode(info.as_slice()).map_err(|e| Error::protocol("common.BlockchainInfo", e))?;
        let lowest = info.height.saturating_sub(self.recovery_blocks);
        for number in (lowest..info.height).rev() {
            let bytes = self.gw.evaluate(channel, QSCC, &[b"GetBlockByNumber", channel.as_bytes(), number.to_string().as_bytes()]).await?;
            let block = common::Block::decode(bytes.as_slice()).map_err(|e| Error::protocol("common.Block", e))?;
            if let Some(tx_id) = valid_write_in(&block, key, value)? {
                return Ok(Committed { tx_id, block: number });
            }
        }
        Err(Error::AnchorNotFound { channel: channel.to_owned(), key: key.to_owned(), searched_blocks: info.height - lowest })
    }

    /// Reads the anchored hash (hex) of checkpoint `seq` of `tenant` (`Get(tenant, seq)`
    /// evaluated), `None` when absent.
    ///
    /// # Errors
    /// Gateway errors ([`Error::Chaincode`] when the chaincode refuses the arguments); a value
    /// that is not UTF-8.
    pub async fn get(&self, channel: &str, tenant: &str, seq: u64) -> Result<Option<String>, Error> {
        let seq = seq.to_string();
        let v = self.gw.evaluate(channel, ANCHOR_NAMESPACE, &[b"Get", tenant.as_bytes(), seq.as_bytes()]).await?;
        if v.is_empty() {
            return Ok(None);
        }
        String::from_utf8(v).map(Some).map_err(|e| Error::protocol("Get payload", e))
    }

    /// Builds the receipt of a committed transaction.
    ///
    /// # Errors
    /// Gateway errors, [`Error::Protocol`].
    pub async fn receipt(&self, channel: &str, committed: &Committed) -> Result<FabricReceipt, Error> {
        let block_bytes = self.gw.evaluate(channel, QSCC, &[b"GetBlockByTxID", channel.as_bytes(), committed.tx_id.as_bytes()]).await?;
        let block = common::Block::decode(block_bytes.as_slice()).map_err(|e| Error::protocol("common.Block", e))?;
        let tx_index = tx_index(&block, &committed.tx_id)?;
        let last_config = last_config_index(&block)?;
        let cfg_bytes =
            self.gw.evaluate(channel, QSCC, &[b"GetBlockByNumber", channel.as_bytes(), last_config.to_string().as_bytes()]).await?;
        let (msp_roots, orderer_msps) = msp_roots_from_config_block(&cfg_bytes)?;
        Ok(FabricReceipt {
            channel: channel.to_owned(),
            block: block_bytes,
            tx_index,
            tx_id: committed.tx_id.clone(),
            msp_roots,
            orderer_msps,
        })
    }
}

/// The id of the first transaction in `block` flagged VALID (metadata slot 2) whose
/// read-write set writes `value` to `key` in namespace [`ANCHOR_NAMESPACE`]. The flag is
/// unsigned: the receipt built from the block is verified in full afterwards.
fn valid_write_in(block: &common::Block, key: &str, value: &str) -> Result<Option<String>, Error> {
    let envs = block.data.as_ref().map_or(&[][..], |d| d.data.as_slice());
    let flags: &[u8] = block.metadata.as_ref().and_then(|m| m.metadata.get(2)).map_or(&[], Vec::as_slice);
    for (i, e) in envs.iter().enumerate() {
        if flags.get(i) != Some(&0) {
            continue;
        }
        let env = common::Envelope::decode(e.as_slice()).map_err(|e| Error::protocol("common.Envelope", e))?;
        let p = common::Payload::decode(env.payload.as_slice()).map_err(|e| Error::protocol("common.Payload", e))?;
        let Some(h) = p.header else { continue };
        let ch = common::ChannelHeader::decode(h.channel_header.as_slice()).map_err(|e| Error::protocol("common.ChannelHeader", e))?;
        if ch.r#type != evidence_core::fabric::HEADER_TYPE_ENDORSER_TRANSACTION {
            continue;
        }
        if writes(&p.data, key, value)? {
            return Ok(Some(ch.tx_id));
        }
    }
    Ok(None)
}

/// Whether an endorser transaction's actions write `value` to `key` in [`ANCHOR_NAMESPACE`].
fn writes(payload_data: &[u8], key: &str, value: &str) -> Result<bool, Error> {
    let tx = protos::Transaction::decode(payload_data).map_err(|e| Error::protocol("protos.Transaction", e))?;
    for action in &tx.actions {
        let cap = protos::ChaincodeActionPayload::decode(action.payload.as_slice())
            .map_err(|e| Error::protocol("protos.ChaincodeActionPayload", e))?;
        let Some(ea) = cap.action else { continue };
        let prp = protos::ProposalResponsePayload::decode(ea.proposal_response_payload.as_slice())
            .map_err(|e| Error::protocol("protos.ProposalResponsePayload", e))?;
        let cca = protos::ChaincodeAction::decode(prp.extension.as_slice()).map_err(|e| Error::protocol("protos.ChaincodeAction", e))?;
        let rw = rwset::TxReadWriteSet::decode(cca.results.as_slice()).map_err(|e| Error::protocol("rwset.TxReadWriteSet", e))?;
        for ns in rw.ns_rwset.iter().filter(|n| n.namespace == ANCHOR_NAMESPACE) {
            let kv = kvrwset::KvrwSet::decode(ns.rwset.as_slice()).map_err(|e| Error::protocol("kvrwset.KVRWSet", e))?;
            if kv.writes.iter().any(|w| w.key == key && !w.is_delete && w.value.as_slice() == value.as_bytes()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The index of the transaction `tx_id` in `block`.
fn tx_index(block: &common::Block, tx_id: &str) -> Result<u64, Error> {
    let envs = block.data.as_ref().map_or(&[][..], |d| d.data.as_slice());
    for (i, e) in envs.iter().enumerate() {
        let env = common::Envelope::decode(e.as_slice()).map_err(|e| Error::protocol("common.Envelope", e))?;
        let p = common::Payload::decode(env.payload.as_slice()).map_err(|e| Error::protocol("common.Payload", e))?;
        let h = p.header.ok_or_else(|| Error::protocol("common.Payload", "no header"))?;
        let ch = common::ChannelHeader::decode(h.channel_header.as_slice()).map_err(|e| Error::protocol("common.ChannelHeader", e))?;
        if ch.tx_id == tx_id {
            return u64::try_from(i).map_err(|e| Error::protocol("tx index", e));
        }
    }
    Err(Error::protocol("GetBlockByTxID", format!("the block does not hold transaction {tx_id}")))
}

/// The last-config block index from metadata slot 0 (`OrdererBlockMetadata.last_config`).
fn last_config_index(block: &common::Block) -> Result<u64, Error> {
    let slot0 = block.metadata.as_ref().and_then(|m| m.metadata.first()).ok_or_else(|| Error::protocol("block metadata", "no slot 0"))?;
    let md = common::Metadata::decode(slot0.as_slice()).map_err(|e| Error::protocol("common.Metadata", e))?;
    let obm = common::OrdererBlockMetadata::decode(md.value.as_slice()).map_err(|e| Error::protocol("common.OrdererBlockMetadata", e))?;
    Ok(obm.last_config.map_or(0, |l| l.index))
}

/// The MSP roots (PEM) and orderer MSP ids in a config block: the `MSP` values of the org
/// groups under `Application` and `Orderer`.
///
/// # Errors
/// [`Error::Protocol`] when the block is not a config block of that shape.
pub fn msp_roots_from_config_block(bytes: &[u8]) -> Result<(Vec<ReceiptMspRoot>, Vec<String>), Error> {
    let block = common::Block::decode(bytes).map_err(|e| Error::protocol("config common.Block", e))?;
    let env_bytes = block.data.as_ref().and_then(|d| d.data.first()).ok_or_else(|| Error::protocol("config block", "no envelope"))?;
    let env = common::Envelope::decode(env_bytes.as_slice()).map_err(|e| Error::protocol("common.Envelope", e))?;
    let p = common::Payload::decode(env.payload.as_slice()).map_err(|e| Error::protocol("common.Payload", e))?;
    let ce = common::ConfigEnvelope::decode(p.data.as_slice()).map_err(|e| Error::protocol("common.ConfigEnvelope", e))?;
    let root = ce.config.and_then(|c| c.channel_group).ok_or_else(|| Error::protocol("common.Config", "no channel_group"))?;
    let mut roots = Vec::new();
    let mut orderers = Vec::new();
    for (section, is_orderer) in [("Application", false), ("Orderer", true)] {
        let Some(g) = root.groups.get(section) else { continue };
        let mut names: Vec<&String> = g.groups.keys().collect();
        names.sort();
        for name in names {
            let Some(v) = g.groups[name].values.get("MSP") else { continue };
            let mc = msp::MspConfig::decode(v.value.as_slice()).map_err(|e| Error::protocol("msp.MSPConfig", e))?;
            let fc = msp::FabricMspConfig::decode(mc.config.as_slice()).map_err(|e| Error::protocol("msp.FabricMSPConfig", e))?;
            let pem = fc.root_certs.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect::<String>();
            if is_orderer {
                orderers.push(fc.name.clone());
            }
            roots.push(ReceiptMspRoot { msp_id: fc.name, pem });
        }
    }
    Ok((roots, orderers))
}
