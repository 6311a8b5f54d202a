//! # pipeline
//!
//! DMS CSV ingest, leakage analyzers and the two-stage PII redactor, writing claims through
//! evidence-core's [`ClaimSink`](evidence_core::sink::ClaimSink).
//!
//! - [`ingest`]: DMS CSV profiles, the customer-PII header refusal, hostile-CSV checks and
//!   formula neutralisation (`pipeline check`, `pipeline ingest`).
//! - [`analyze`]: leakage analyzers and the staff-name leak sweep (partly built: see its docs).
//! - [`redact`]: the two-stage redactor, the model-request path and the paired
//!   `pii_redaction_event` / `ai_invocation_event` claims (`pipeline redact`).
#![forbid(unsafe_code)]

pub mod analyze;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
pub mod redact;
pub mod sinks;
