//! The anchor verifiers `evidence-verify bundle` uses: evidence-core's standard ones.
//!
//! RFC 3161 tokens are verified in full (against the trust file's TSA roots, at genTime).
//! STATUS: Fabric receipts are reported as "not checked" until evidence-core's Fabric
//! module is wired in (issue 5); a bundle therefore needs `--allow-unanchored`-free
//! verification of both rails only once that lands. The report says so.

use evidence_core::bundle::{AnchorVerifier, StandardAnchors};

/// The standard anchor verifier.
pub fn standard() -> Box<dyn AnchorVerifier + Sync> {
    Box::new(StandardAnchors)
}
