//! fabric-anchor (docs in progress)
#![forbid(unsafe_code)]

pub mod anchor;
pub mod client;
pub mod emulator;
pub mod error;
pub mod identity;

pub use anchor::{AnchorClient, anchor_key};
pub use client::{Committed, GatewayClient, GatewayConfig, Proposal, Timeouts, TlsConfig, build_proposal};
pub use emulator::{EmulatorConfig, Faults, ReceiptFactory, RunningEmulator, TrustMaterial};
pub use error::{Error, PeerError};
pub use identity::{Identity, IdentityError};

/// Generated `gateway.Gateway` gRPC client and server (messages are evidence-core's).
#[allow(missing_docs, missing_debug_implementations, clippy::pedantic, clippy::all)]
pub mod rpc {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}

/// `common.BlockchainInfo` (Fabric `common/ledger.proto`): what qscc `GetChainInfo` returns.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BlockchainInfo {
    /// Number of blocks.
    #[prost(uint64, tag = "1")]
    pub height: u64,
    /// Header hash of the last block.
    #[prost(bytes = "vec", tag = "2")]
    pub current_block_hash: Vec<u8>,
    /// Its previous hash.
    #[prost(bytes = "vec", tag = "3")]
    pub previous_block_hash: Vec<u8>,
}
