//! The anchor verifiers `evidence-verify bundle` uses.
//!
//! STATUS: evidence-core's RFC 3161 and Fabric verification modules are being built
//! (issues 4 and 5). Until they are wired in here, this returns `None`: anchors are
//! reported as "not checked", and a bundle is NOT verified unless the caller passes
//! `--allow-unanchored`, which the report states.

use evidence_core::bundle::AnchorVerifier;

/// The standard anchor verifier, when one is available.
pub fn standard() -> Option<Box<dyn AnchorVerifier + Sync>> {
    None
}
