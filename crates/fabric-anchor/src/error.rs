//! Typed errors of the Gateway client and the anchoring API.

use crate::identity::IdentityError;

/// One endorsing peer's error, from the gRPC status details (`gateway.ErrorDetail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerError {
    /// The peer's address.
    pub address: String,
    /// The peer's MSP id.
    pub msp_id: String,
    /// What the peer said.
    pub message: String,
}

/// What [`Error::AnchorConflict`] found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "anchor conflict on channel {channel}: key {key} (tenant {tenant}, checkpoint {seq}) already holds {stored}, \
     not this checkpoint's hash {expected}; another ledger with the same name and tenant on this channel, or a forked store"
)]
pub struct AnchorConflict {
    /// The channel.
    pub channel: String,
    /// The tenant.
    pub tenant: String,
    /// The checkpoint's sequence number.
    pub seq: u64,
    /// The key.
    pub key: String,
    /// What the channel holds.
    pub stored: String,
    /// This checkpoint's hash (hex).
    pub expected: String,
}

/// Why a Gateway call or an anchoring failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client identity could not be loaded or could not sign.
    #[error("identity: {0}")]
    Identity(#[from] IdentityError),
    /// The endpoint, TLS material or channel could not be set up.
    #[error("configuration: {0}")]
    Config(String),
    /// Endorsement failed (chaincode refused, e.g. the key exists, or peers failed).
    #[error("endorsement failed: {message} ({} peer detail(s))", details.len())]
    EndorsementFailed {
        /// The gateway's message.
        message: String,
        /// Per-peer details, when the gateway sent them.
        details: Vec<PeerError>,
    },
    /// The orderer or gateway refused the signed transaction at submit.
    #[error("submit refused ({code}): {message}")]
    SubmitRefused {
        /// The gRPC status code.
        code: tonic::Code,
        /// The server's message.
        message: String,
    },
    /// The transaction committed invalid because a key it read changed since endorsement.
    #[error("transaction {tx_id} invalid in block {block}: MVCC_READ_CONFLICT")]
    MvccConflict {
        /// The transaction id.
        tx_id: String,
        /// The block holding the invalid transaction.
        block: u64,
    },
    /// The transaction committed with another non-VALID validation code.
    #[error("transaction {tx_id} invalid in block {block}: validation code {code}")]
    InvalidTransaction {
        /// The transaction id.
        tx_id: String,
        /// The block.
        block: u64,
        /// The `protos.TxValidationCode`.
        code: i32,
    },
    /// The gateway could not be reached or said UNAVAILABLE.
    #[error("{operation}: unavailable: {message}")]
    Unavailable {
        /// Which call.
        operation: &'static str,
        /// The transport's or server's message.
        message: String,
    },
    /// The call's deadline passed.
    #[error("{operation}: deadline exceeded")]
    Deadline {
        /// Which call.
        operation: &'static str,
    },
    /// Any other gRPC status.
    #[error("{operation}: gRPC {code}: {message}")]
    Rpc {
        /// Which call.
        operation: &'static str,
        /// The status code.
        code: tonic::Code,
        /// The message.
        message: String,
    },
    /// A query returned a non-200 chaincode status.
    #[error("{operation}: chaincode status {status}: {message}")]
    Chaincode {
        /// Which call.
        operation: &'static str,
        /// The chaincode's status.
        status: i32,
        /// Its message.
        message: String,
    },
    /// The checkpoint's key on the channel already holds another value than this checkpoint's
    /// hash: another ledger anchors under the same name and tenant on this channel, or the
    /// ledger's store was forked (restored and sealed again). Never overwritten; an operator
    /// must look.
    #[error("{0}")]
    AnchorConflict(Box<AnchorConflict>),
    /// The key holds this checkpoint's hash but no VALID transaction writing it was found in
    /// the blocks searched (a lost receipt older than the search window).
    #[error(
        "key {key} on channel {channel} holds this checkpoint's hash, but no valid transaction writing it is in the last {searched_blocks} block(s)"
    )]
    AnchorNotFound {
        /// The channel.
        channel: String,
        /// The key.
        key: String,
        /// How many blocks were searched back from the head.
        searched_blocks: u64,
    },
    /// A response did not decode or did not hold what the protocol says it holds.
    #[error("protocol: {what}: {detail}")]
    Protocol {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
}

impl Error {
    pub(crate) fn protocol(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Protocol { what, detail: detail.to_string() }
    }
}
