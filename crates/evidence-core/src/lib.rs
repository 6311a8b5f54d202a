#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod bundle;
pub mod checkpoint;
pub mod claim;
#[doc(hidden)]
pub mod fuzzing;
pub mod jcs;
pub mod leaf;
pub mod manual;
mod memo;
pub mod merkle;
pub mod note;
#[cfg(feature = "schema")]
mod schema;
pub mod sink;
pub mod tlog_proof;
pub mod types;

// -- modules owned by the RFC 3161 work (issue 4) go below this line --
pub mod rfc3161;

// -- modules owned by the Fabric work (issue 5) go below this line --
pub mod fabric;

pub use bundle::{Bundle, BundleReport, TrustFile, Verdict, verify_bundle_offline};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use claim::{Claim, ClaimError, ClaimKind, Salt};
pub use leaf::{LeafEntry, LeafError};
pub use merkle::{ConsistencyProof, InclusionProof};
pub use note::{NoteSigner, NoteVerifier};
pub use sink::{AppendReceipt, AppendRequest, ClaimSink, Environment, MemorySink, Retractor, SinkError};
pub use tlog_proof::TlogProof;
pub use types::{
    CheckpointHash, CheckpointSeq, Commitment, ContentHash, Digest32, LeafHash, NodeHash, RootHash, Seq, TenantId, TreeSize, UnixMillis,
    ValueError, sha256,
};
