//! Hyperledger Fabric: offline verification of blocks and receipts (the generated protobuf types are an implementation detail).
//!
//! - the prost message types generated from evidence-core's `protos/` (our own
//!   wire-compatible subset of `hyperledger/fabric-protos`, see its `PROVENANCE.md`).
//! - [`verify_block`]: data hash, header hash chain, orderer signatures, every creator and
//!   endorsement signature, certificates chaining to trusted MSP roots.
//! - [`verify_receipt`]: a [`FabricReceipt`] proves that a checkpoint hash was written by the
//!   `evidence-anchor` chaincode in a given block.
//!
//! Certificates are validated at the transaction's channel-header time (not today): Fabric's
//! test-network certificates live one year, and a receipt must stay checkable afterwards.
//!
//! # The `evidence-anchor` chaincode contract
//!
//! Chaincode name (and thus read-write-set namespace): `evidence-anchor`
//! ([`ANCHOR_NAMESPACE`]). Arguments are the `ChaincodeInput.args` byte strings, UTF-8. The
//! chaincode is `chaincode/evidence-anchor` (Node.js, `fabric-contract-api`); the full contract,
//! with its messages and event, is in the `fabric-anchor` crate docs.
//!
//! - `Anchor(tenant, seq, checkpointHashHex)`: args `["Anchor", tenant, seq, hash_hex]`, `seq`
//!   in decimal without leading zeros, `hash_hex` the checkpoint hash as 64 lowercase hex
//!   characters. The chaincode refuses (status 500, no write) bad arguments or an existing key
//!   `ckpt/<tenant>/<seq>`. Otherwise it does `PutState("ckpt/<tenant>/<seq>", hash_hex as UTF-8
//!   bytes)`, sets an `Anchored` event, and returns status 200 with an empty payload. Its public
//!   read-write set in namespace `evidence-anchor` is therefore exactly: reads `[KVRead { key,
//!   version: None }]` (the existence check), writes `[KVWrite { key, is_delete: false, value:
//!   hash_hex bytes }]`, no range queries, no metadata writes, no private collections.
//! - `Get(tenant, seq)`: args `["Get", tenant, seq]`, evaluated (not submitted); returns status
//!   200 with the stored `hash_hex` bytes as payload, or status 200 with an empty payload when
//!   the key is absent. No writes.
//!
//! [`verify_receipt`] checks only the committed write (the key the caller expects and the value
//! [`anchor_value`]), never the arguments or the event: what a receipt proves is that the
//! channel's ledger holds that key with that value.
//!
//! The value is stored as hex text rather than 32 raw bytes so that Fabric tooling (peer CLI,
//! explorers, CouchDB views) shows it readably; [`verify_receipt`] compares it exactly.
//!
//! # Trust
//!
//! [`verify_receipt`] takes the trusted MSP roots from its caller (the verifier's trust file).
//! The roots a receipt carries ([`FabricReceipt::msp_roots`]) are informative only: they are
//! what the channel configuration said when the receipt was captured, and are never used to
//! verify that receipt.
//!
//! # Not done yet
//!
//! Intermediate CAs, Idemix identities, BFT (identifier-header) orderer signatures, and
//! endorsement-policy evaluation (which endorsers are *enough*) are not implemented: every
//! endorsement present must verify, and at least one must be present.
pub(crate) mod proto;

mod error;
mod receipt;
mod verify;

pub use error::{CertificateProblem, FabricError, Location, SignatureRole};
pub use receipt::{
    ANCHOR_NAMESPACE, AnchorAt, AnchorPosition, FabricReceipt, ReceiptMspRoot, ReceiptReport, anchor_position, anchor_value, verify_anchor,
    verify_receipt,
};
pub use verify::{
    BlockLimits, BlockReport, HEADER_TYPE_ENDORSER_TRANSACTION, MspRoots, Predecessor, SignatureReport, TxReport, header_der, header_hash,
    verify_block,
};
