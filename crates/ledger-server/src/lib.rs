//! # ledger-server
//!
//! The HTTP service over the [`ledger`] library: the `/v1` API with bearer tokens, roles,
//! MFA for people and an audit log, `/metrics` and `/openapi.json`; the `serve` and `dev`
//! commands and the administration commands (`tenant`, `token`) of the `ledger-server`
//! binary. See `README.md` in this crate for the configuration, the API, roles and tokens.
//!
//! - [`http`], [`server`], [`config`], [`dev`], [`tls`]: the `/v1` service, `serve` and `dev`.
//! - [`report`]: signed, time-stamped PDF findings reports (`…/reports/findings.pdf`).
//! - [`auth`], [`oidc`], [`audit`], [`metrics`]: bearer tokens and roles, MFA-asserting
//!   OIDC ID tokens for people, the audit log, Prometheus text.
//! - [`ui`]: the operator and auditor dashboard under `/ui/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod config;
pub mod dev;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod report;
pub mod server;
pub mod tls;
pub mod ui;
pub mod uploads;
