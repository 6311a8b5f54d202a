//! The anchor verifier `evidence-verify` uses: evidence-core's standard one, which checks
//! RFC 3161 tokens (against the trust file's TSA roots, at genTime) and Fabric receipts
//! (against the trust file's MSP roots, at the transaction's time), behind a memo so that a
//! batch of bundles sharing a checkpoint verifies each of its anchors once.

use evidence_core::bundle::{AnchorVerifier, MemoAnchors, StandardAnchors};

/// The standard anchor verifier, remembering the checks of anchors it has seen.
pub fn standard() -> impl AnchorVerifier + Sync {
    MemoAnchors::new(StandardAnchors)
}
