#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod ber;
pub mod bundle;
pub mod checkpoint;
pub mod claim;
pub mod fabric;
#[doc(hidden)]
pub mod fuzzing;
pub mod jcs;
pub mod leaf;
pub mod manual;
mod memo;
pub mod merkle;
pub mod note;
pub mod oids;
pub mod pki;
pub mod rfc3161;
#[cfg(feature = "schema")]
mod schema;
pub mod sink;
pub mod tlog_proof;
pub mod trust;
pub mod types;
pub mod verify;

/// Implementation details other crates of this workspace need (the fuzz targets' entry
/// points, the generated Fabric protobuf types, the Merkle node planning the ledger stores
/// proofs with, the development TSA signer). Not a stable API: nothing here is needed to
/// verify evidence.
#[doc(hidden)]
pub mod internal {
    /// The generated Fabric protobuf message types.
    pub mod fabric_proto {
        pub use crate::fabric::proto::*;
    }
    /// Merkle storage planning: complete node ids, node sources, the incremental frontier,
    /// proofs built from stored nodes.
    pub mod merkle_store {
        pub use crate::merkle::store::*;
    }

    /// The development TSA: real RFC 3161 tokens from a generated key (never evidence).
    pub mod dev_tsa {
        pub use crate::rfc3161::dev::*;
    }

    /// Forgets every certificate signature the process has verified (the memo of
    /// `crate::memo`), so that the next chain check pays every signature again: for benches
    /// of the cold path (a token verified once, as counsel does).
    pub fn clear_certificate_signature_memo() {
        crate::pki::clear_cert_sig_memo();
    }

    /// Parses one BER element spanning all of `bytes` (for tests of the reader's verdicts).
    ///
    /// # Errors
    /// [`crate::pki::BerError`] with the offset of the problem.
    pub fn ber_parse(bytes: &[u8]) -> Result<(), crate::pki::BerError> {
        crate::ber::parse_one(bytes).map(|_| ())
    }
}

pub use bundle::Bundle;
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use claim::{Claim, ClaimError, ClaimKind, Salt};
pub use leaf::{LeafEntry, LeafError};
pub use merkle::{ConsistencyProof, InclusionProof};
pub use note::{NoteSigner, NoteVerifier};
pub use sink::{AppendReceipt, AppendRequest, ClaimSink, Environment, MemorySink, Retractor, SinkError};
pub use tlog_proof::TlogProof;
pub use trust::{AnchorPolicy, TrustError, TrustFile, TrustStore};
pub use types::{
    CheckpointHash, CheckpointSeq, Commitment, ContentHash, Digest32, LeafHash, NodeHash, RootHash, Seq, TenantId, TreeSize, UnixMillis,
    ValueError, sha256,
};
pub use verify::{BundleReport, Check, CheckId, DangerousVerifierConfig, Outcome, Verdict, Verifier, Weakening};
