//! The emulator's ledger: per-channel world state, committed transactions, and blocks ordered
//! and signed by the orderer identity (one transaction per block).

use std::collections::{HashMap, HashSet};

use evidence_core::fabric::{header_der, header_hash};
use evidence_core::internal::fabric_proto::{common, kvrwset, msp};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::EmulatorError;
use super::pki::Pki;
use super::{ORDERER_MSP, PEER_MSP};

/// `common.HeaderType.CONFIG`.
const HEADER_TYPE_CONFIG: i32 = 1;

/// `protos.TxValidationCode.VALID`.
pub(crate) const VALID: u8 = 0;
/// `protos.TxValidationCode.MVCC_READ_CONFLICT`.
pub(crate) const MVCC_READ_CONFLICT: u8 = 11;

/// One committed transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxStatus {
    pub(crate) block: u64,
    pub(crate) code: i32,
}

/// One channel.
#[derive(Debug, Default)]
pub(crate) struct ChannelState {
    pub(crate) blocks: Vec<Vec<u8>>,
    pub(crate) last_header_hash: [u8; 32],
    /// Public state of every namespace the emulator serves: key -> (value, version of the
    /// transaction that wrote it). One namespace only (`evidence-anchor`), so keys are bare.
    pub(crate) world: HashMap<String, (Vec<u8>, kvrwset::Version)>,
    /// txid -> status once committed.
    pub(crate) committed: HashMap<String, TxStatus>,
    /// txids submitted and not yet committed.
    pub(crate) pending: HashSet<String>,
}

impl ChannelState {
    /// A key's committed value and version.
    pub(crate) fn get(&self, key: &str) -> Option<(Vec<u8>, kvrwset::Version)> {
        self.world.get(key).cloned()
    }

    /// Whether a read set is stale: a key read at one version (or read absent) has another
    /// version now. This is the MVCC check a committing peer makes.
    pub(crate) fn is_stale(&self, reads: &[kvrwset::KvRead]) -> bool {
        reads.iter().any(|r| r.version != self.world.get(&r.key).map(|(_, v)| *v))
    }

    /// Applies a valid transaction's writes, at version (block, 0).
    pub(crate) fn apply(&mut self, block: u64, writes: Vec<kvrwset::KvWrite>) {
        let version = kvrwset::Version { block_num: block, tx_num: 0 };
        for w in writes {
            if w.is_delete {
                self.world.remove(&w.key);
            } else {
                self.world.insert(w.key, (w.value, version));
            }
        }
    }
}

pub(crate) fn ts_now() -> prost_types::Timestamp {
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
pub(crate) fn config_envelope(pki: &Pki, channel: &str) -> Result<Vec<u8>, EmulatorError> {
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
pub(crate) fn append_block(pki: &Pki, st: &mut ChannelState, envelope: Vec<u8>, code: u8) -> Result<u64, EmulatorError> {
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
