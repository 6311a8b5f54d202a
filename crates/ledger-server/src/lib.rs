//! # ledger-server
//!
//! The ledger: durable per-tenant logs, sealing, dual-rail anchoring, and the HTTP
//! service. See `README.md` in this crate for the storage choice, running against an
//! existing PostgreSQL, the key provider, the outbox states, the API, roles and tokens.
//!
//! - [`store`]: the [`store::Store`] / [`store::TenantStore`] traits and the SQLite and
//!   PostgreSQL backends.
//! - [`Ledger`] / [`TenantLedger`]: appends (implements [`evidence_core::ClaimSink`]),
//!   sealing, proofs, retraction, supersession, erasure, incidents, bundles.
//! - [`crypto`]: records encrypted at rest, key providers.
//! - [`anchor`]: the anchoring outbox, rail traits and workers; [`scheduler`]: sealing
//!   on a cadence and on size.
//! - [`http`], [`server`], [`config`], [`dev`]: the `/v1` service, `serve` and `dev`.
//! - [`auth`], [`oidc`], [`audit`], [`metrics`]: bearer tokens and roles, MFA-asserting
//!   OIDC ID tokens for people, the audit log, Prometheus text.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anchor;
pub mod audit;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod dev;
pub mod http;
mod ledger;
pub mod metrics;
pub mod oidc;
pub mod rails;
pub mod scheduler;
pub mod server;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use ledger::{ClaimParts, Ledger, LedgerError, TenantLedger, now};
