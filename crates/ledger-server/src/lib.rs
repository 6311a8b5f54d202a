//! # ledger-server
//!
//! The ledger: durable per-tenant logs, sealing, dual-rail anchoring, and the HTTP service.
//!
//! **Status: not yet built.** This crate is a placeholder in the workspace layout;
//! see the repository README's status table.
#![forbid(unsafe_code)]

pub mod auth;
pub mod metrics;
