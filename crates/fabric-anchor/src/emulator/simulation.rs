//! What a chaincode did during one simulated transaction, whichever mode ran it (the Rust
//! semantics or a real chaincode over the shim protocol), and how a peer turns it into the
//! `ChaincodeAction` it endorses.
//!
//! The read-write set is built the way Fabric's `rwsetutil` builder builds it: one entry per key
//! (the last read of a key gives its version, the last write of a key wins), keys sorted, and a
//! namespace present only when it holds a read or a write.

use std::collections::BTreeMap;

use evidence_core::internal::fabric_proto::{kvrwset, protos, rwset};
use prost::Message as _;

/// The chaincode version recorded in `ChaincodeAction.chaincode_id` (the definition's version).
pub(crate) const CHAINCODE_VERSION: &str = "1.0";

/// Reads and writes of one namespace.
#[derive(Debug, Default, Clone)]
pub(crate) struct RwSet {
    reads: BTreeMap<String, Option<kvrwset::Version>>,
    writes: BTreeMap<String, kvrwset::KvWrite>,
}

impl RwSet {
    /// Records a read of `key` at its committed version (`None`: the key was absent).
    pub(crate) fn read(&mut self, key: &str, version: Option<kvrwset::Version>) {
        self.reads.insert(key.to_owned(), version);
    }

    /// Records a write.
    pub(crate) fn write(&mut self, key: &str, value: Vec<u8>) {
        self.writes.insert(key.to_owned(), kvrwset::KvWrite { key: key.to_owned(), is_delete: false, value });
    }

    /// Records a delete.
    pub(crate) fn delete(&mut self, key: &str) {
        self.writes.insert(key.to_owned(), kvrwset::KvWrite { key: key.to_owned(), is_delete: true, value: Vec::new() });
    }

    /// The reads, sorted by key.
    pub(crate) fn reads(&self) -> Vec<kvrwset::KvRead> {
        self.reads.iter().map(|(k, v)| kvrwset::KvRead { key: k.clone(), version: *v }).collect()
    }

    /// The writes, sorted by key.
    pub(crate) fn writes(&self) -> Vec<kvrwset::KvWrite> {
        self.writes.values().cloned().collect()
    }

    /// The public `TxReadWriteSet` of a transaction that touched only `namespace`.
    pub(crate) fn tx_rwset(&self, namespace: &str) -> rwset::TxReadWriteSet {
        let mut ns_rwset = Vec::new();
        if !self.reads.is_empty() || !self.writes.is_empty() {
            let kv = kvrwset::KvrwSet { reads: self.reads(), writes: self.writes(), ..Default::default() };
            ns_rwset.push(rwset::NsReadWriteSet { namespace: namespace.to_owned(), rwset: kv.encode_to_vec(), ..Default::default() });
        }
        rwset::TxReadWriteSet { data_model: 0, ns_rwset }
    }
}

/// One simulated transaction.
#[derive(Debug, Clone)]
pub(crate) struct Simulation {
    /// The chaincode's response.
    pub(crate) response: protos::Response,
    /// What it read and wrote.
    pub(crate) rw: RwSet,
    /// The event it set, with `chaincode_id` and `tx_id` filled in by the peer.
    pub(crate) event: Option<protos::ChaincodeEvent>,
}

impl Simulation {
    /// A refusal: an error status, nothing read, written or emitted.
    pub(crate) fn error(status: i32, message: impl Into<String>) -> Self {
        Self { response: protos::Response { status, message: message.into(), payload: Vec::new() }, rw: RwSet::default(), event: None }
    }

    /// The `ChaincodeAction` a peer endorses for this simulation of `namespace`.
    pub(crate) fn chaincode_action(&self, namespace: &str) -> protos::ChaincodeAction {
        protos::ChaincodeAction {
            results: self.rw.tx_rwset(namespace).encode_to_vec(),
            events: self.event.as_ref().map(prost::Message::encode_to_vec).unwrap_or_default(),
            response: Some(self.response.clone()),
            chaincode_id: Some(protos::ChaincodeId {
                name: namespace.to_owned(),
                version: CHAINCODE_VERSION.to_owned(),
                ..Default::default()
            }),
        }
    }
}
