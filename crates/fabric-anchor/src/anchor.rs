//! `AnchorClient`: anchors a checkpoint hash with the `evidence-anchor` chaincode and returns a
//! [`FabricReceipt`] that `evidence_core::fabric::verify_receipt` accepts.

use evidence_core::CheckpointHash;
use evidence_core::fabric::{ANCHOR_NAMESPACE, FabricReceipt, ReceiptMspRoot, anchor_value};
use evidence_core::internal::fabric_proto::{common, msp};
use prost::Message as _;

use crate::client::{Committed, GatewayClient};
use crate::error::Error;

/// The ledger query system chaincode.
pub const QSCC: &str = "qscc";

/// The key for checkpoint `seq` of `tenant`: `ckpt/<tenant>/<seq>` (decimal `seq`).
pub fn anchor_key(tenant: &str, seq: u64) -> String {
    format!("ckpt/{tenant}/{seq}")
}

/// Anchors checkpoint hashes on Fabric through a [`GatewayClient`].
#[derive(Debug, Clone)]
pub struct AnchorClient {
    gw: GatewayClient,
}

impl AnchorClient {
    /// Wraps a Gateway client.
    pub fn new(gw: GatewayClient) -> Self {
        Self { gw }
    }

    /// The underlying Gateway client.
    pub fn gateway(&self) -> &GatewayClient {
        &self.gw
    }

    /// Anchors `hash` as checkpoint `seq` of `tenant` on `channel`:
    /// `Anchor(tenant, seq, hash_hex)` is endorsed, submitted and waited for (the chaincode
    /// writes [`anchor_key`]`(tenant, seq)`); then the block holding the transaction and the
    /// channel's MSP roots are fetched with `qscc`, and the receipt is returned.
    ///
    /// # Errors
    /// Every [`Error`] of the Gateway calls; [`Error::EndorsementFailed`] when the key is
    /// already anchored or the chaincode refuses the tenant id; [`Error::Protocol`] when the
    /// fetched blocks do not hold what they must.
    pub async fn anchor(&self, channel: &str, tenant: &str, seq: u64, hash: &CheckpointHash) -> Result<FabricReceipt, Error> {
        let seq = seq.to_string();
        let value = anchor_value(hash);
        let committed = self
            .gw
            .submit_transaction(channel, ANCHOR_NAMESPACE, &[b"Anchor", tenant.as_bytes(), seq.as_bytes(), value.as_bytes()])
            .await?;
        self.receipt(channel, &committed).await
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
