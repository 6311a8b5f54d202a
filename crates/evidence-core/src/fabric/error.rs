//! Typed errors of Fabric verification, each with the context needed to act on it.

use crate::pki::{ChainError, PkiError, SigError};
use std::fmt;

/// Which signature a check was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureRole {
    /// The orderer's signature number `index` in block metadata slot 0.
    Orderer {
        /// Position in `Metadata.signatures`.
        index: usize,
    },
    /// The envelope creator's signature over the payload.
    Creator,
    /// Endorsement number `endorsement` of transaction action number `action`.
    Endorsement {
        /// Position in `Transaction.actions`.
        action: usize,
        /// Position in `ChaincodeEndorsedAction.endorsements`.
        endorsement: usize,
    },
}

impl fmt::Display for SignatureRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Orderer { index } => write!(f, "orderer signature {index}"),
            Self::Creator => f.write_str("creator signature"),
            Self::Endorsement { action, endorsement } => {
                write!(f, "endorsement {endorsement} of action {action}")
            }
        }
    }
}

/// Where in a block an error was found: block number (when known) and transaction index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// The block's number, once the header has been read.
    pub block: Option<u64>,
    /// The transaction's index in the block, when the error concerns one.
    pub tx: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block {
            Some(b) => write!(f, "block {b}")?,
            None => f.write_str("block ?")?,
        }
        if let Some(t) = self.tx {
            write!(f, ", tx {t}")?;
        }
        Ok(())
    }
}

/// Why a Fabric block or receipt did not verify, or could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FabricError {
    /// The input exceeds the configured size cap.
    #[error("{what} is {len} bytes, more than the cap of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A protobuf message did not decode.
    #[error("{at}: cannot decode {what}: {detail}")]
    Decode {
        /// Where.
        at: Location,
        /// Which message (e.g. `common.Envelope`).
        what: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// A required field is absent or empty.
    #[error("{at}: missing {field}")]
    Missing {
        /// Where.
        at: Location,
        /// Which field.
        field: &'static str,
    },
    /// `header.data_hash` is not SHA-256 of the concatenated envelopes.
    #[error("block {block}: data hash mismatch: header says {in_header}, envelopes hash to {computed}")]
    DataHash {
        /// Block number.
        block: u64,
        /// Hex of the header's `data_hash`.
        in_header: String,
        /// Hex of the computed hash.
        computed: String,
    },
    /// `header.previous_hash` is not the predecessor's header hash.
    #[error("block {block}: previous hash {in_header} does not link to the given predecessor ({expected})")]
    ChainLink {
        /// Block number.
        block: u64,
        /// Hex of the header's `previous_hash`.
        in_header: String,
        /// Hex of the predecessor's header hash.
        expected: String,
    },
    /// The predecessor block's number is not this block's number minus one.
    #[error("block {block}: the given predecessor is block {prev_number}")]
    PredecessorNumber {
        /// Block number.
        block: u64,
        /// The predecessor's number.
        prev_number: u64,
    },
    /// Block metadata slot 0 carries no signature.
    #[error("block {block}: no orderer signature in metadata slot 0")]
    NoOrdererSignature {
        /// Block number.
        block: u64,
    },
    /// The signer's MSP is not trusted for this role (unknown MSP, or not an orderer MSP).
    #[error("{at}: {role} by MSP {msp_id:?}, which is not a trusted {needed} MSP")]
    UntrustedMsp {
        /// Where.
        at: Location,
        /// Which signature.
        role: SignatureRole,
        /// The signer's MSP id.
        msp_id: String,
        /// "orderer" or "member".
        needed: &'static str,
    },
    /// The signer's certificate does not chain to its MSP's roots or is not valid at the time.
    #[error("{at}: {role} by MSP {msp_id:?}: certificate not accepted: {problem}")]
    Certificate {
        /// Where.
        at: Location,
        /// Which signature.
        role: SignatureRole,
        /// The signer's MSP id.
        msp_id: String,
        /// Why.
        problem: Box<CertificateProblem>,
    },
    /// The ECDSA signature does not verify (or is malformed, or has a high S).
    #[error("{at}: {role} by MSP {msp_id:?} does not verify: {reason}")]
    Signature {
        /// Where.
        at: Location,
        /// Which signature.
        role: SignatureRole,
        /// The signer's MSP id.
        msp_id: String,
        /// Why.
        reason: SigError,
    },
    /// A feature of the block that this verifier does not implement.
    #[error("{at}: unsupported: {what}")]
    Unsupported {
        /// Where.
        at: Location,
        /// What.
        what: &'static str,
    },
    /// A trust-root PEM could not be used.
    #[error("MSP {msp_id:?}: bad root certificate: {problem}")]
    BadRoot {
        /// The MSP id.
        msp_id: String,
        /// Why.
        problem: Box<CertificateProblem>,
    },
    /// The receipt's transaction index is beyond the block's transactions.
    #[error("block {block}: receipt names tx {tx_index}, the block has {count}")]
    TxIndex {
        /// Block number.
        block: u64,
        /// The receipt's index.
        tx_index: u64,
        /// Number of transactions in the block.
        count: usize,
    },
    /// The receipt's transaction is not what the receipt claims (channel, txid, type).
    #[error("{at}: receipt mismatch: {field}: receipt says {expected:?}, block has {found:?}")]
    ReceiptMismatch {
        /// Where.
        at: Location,
        /// Which field.
        field: &'static str,
        /// The receipt's (or caller's) value.
        expected: String,
        /// The block's value.
        found: String,
    },
    /// The transaction does not write the expected key with the expected value.
    #[error("{at}: no write of key {key:?} = {value:?} in namespace {namespace:?}: {reason}")]
    WriteSet {
        /// Where.
        at: Location,
        /// The chaincode namespace.
        namespace: &'static str,
        /// The expected key.
        key: String,
        /// The expected value (hex text).
        value: String,
        /// What was found instead.
        reason: String,
    },
    /// The (unsigned) validation flag does not say VALID.
    #[error("{at}: validation flag is {code}, not VALID (0)")]
    NotValid {
        /// Where.
        at: Location,
        /// The flag byte, or 256 when the flag is absent.
        code: u16,
    },
}

/// Why a Fabric identity or MSP root certificate is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// The PEM or certificate does not parse.
    #[error("{0}")]
    Unreadable(#[from] PkiError),
    /// A serialised identity must hold exactly one certificate.
    #[error("{found} certificates where one is expected")]
    Count {
        /// How many were found.
        found: usize,
    },
    /// Not an ECDSA P-256/P-384 key (Fabric identities sign with ECDSA).
    #[error("public key: {0}")]
    Key(SigError),
    /// Not issued by a root of the MSP valid at the time.
    #[error("{0}")]
    Chain(#[from] ChainError),
}
