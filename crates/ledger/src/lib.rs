//! # ledger
//!
//! The evidence ledger as a library: durable per-tenant RFC 9162 logs, signed and chained
//! checkpoints, records encrypted at rest, erasure, retraction, supersession, incidents,
//! evidence bundles, and the dual-rail anchoring outbox with its workers. The HTTP service,
//! its configuration and the `ledger-server` binary are in the `ledger-server` crate; this
//! crate has no HTTP server. See `README.md` in this crate (storage, outbox, key provider).
//!
//! - [`store`]: the [`store::Store`] / [`store::TenantStore`] traits and the SQLite and
//!   PostgreSQL backends.
//! - [`Ledger`] / [`TenantLedger`]: appends (implements [`evidence_core::ClaimSink`]),
//!   sealing, proofs, retraction, supersession, erasure, incidents, bundles.
//! - [`crypto`]: records encrypted at rest, key providers.
//! - [`anchor`]: the anchoring outbox, rail traits and workers; [`rails`]: the production
//!   RFC 3161 and Fabric rails; [`scheduler`]: sealing on a cadence and on size.
//! - [`tokens`]: the bearer-token records the catalogue stores; [`metrics`]: Prometheus text.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anchor;
pub mod crypto;
mod ledger;
pub mod metrics;
pub mod rails;
pub mod residency;
pub mod scheduler;
pub mod store;
pub mod tokens;

pub use ledger::{
    ClaimParts, ErasureApplied, Ledger, LedgerError, MAX_LATER_CHECKPOINTS, PendingAnchor, TenantLedger, anchoring_satisfied, now,
    pending_rails,
};
