//! # pipeline
//!
//! DMS CSV ingest, leakage analyzers and the two-stage PII redactor, writing claims through evidence-core's ClaimSink.
//!
//! **Status: not yet built.** This crate is a placeholder in the workspace layout;
//! see the repository README's status table.
#![forbid(unsafe_code)]
