//! Route templates of the API (`{name}` marks a path parameter, as in axum and OpenAPI).
//! The server's route table is built from these and the client fills them, so a path is
//! written once.

/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// Readiness.
pub const READYZ: &str = "/readyz";
/// Prometheus text.
pub const METRICS: &str = "/metrics";
/// This API's OpenAPI 3.1 document.
pub const OPENAPI: &str = "/openapi.json";
/// Tenants (admin).
pub const TENANTS: &str = "/v1/tenants";
/// A tenant's checkpoint verifier key.
pub const VERIFIER_KEY: &str = "/v1/tenants/{tenant}/verifier-key";
/// Append one claim.
pub const CLAIMS: &str = "/v1/tenants/{tenant}/claims";
/// Append a batch.
pub const CLAIMS_BATCH: &str = "/v1/tenants/{tenant}/claims/batch";
/// A claim's receipt and seal state.
pub const CLAIM: &str = "/v1/tenants/{tenant}/claims/{seq}";
/// A claim's evidence bundle.
pub const CLAIM_BUNDLE: &str = "/v1/tenants/{tenant}/claims/{seq}/bundle";
/// A claim's `c2sp.org/tlog-proof@v1`.
pub const CLAIM_TLOG_PROOF: &str = "/v1/tenants/{tenant}/claims/{seq}/tlog-proof";
/// One bundle for several claims.
pub const BUNDLES: &str = "/v1/tenants/{tenant}/bundles";
/// Retract a claim.
pub const CLAIM_RETRACT: &str = "/v1/tenants/{tenant}/claims/{seq}/retract";
/// Erase a claim's record.
pub const CLAIM_ERASE: &str = "/v1/tenants/{tenant}/claims/{seq}/erase";
/// The checkpoints.
pub const CHECKPOINTS: &str = "/v1/tenants/{tenant}/checkpoints";
/// One checkpoint.
pub const CHECKPOINT: &str = "/v1/tenants/{tenant}/checkpoints/{cseq}";
/// One checkpoint's signed note.
pub const CHECKPOINT_NOTE: &str = "/v1/tenants/{tenant}/checkpoints/{cseq}/note";
/// One checkpoint's anchors.
pub const CHECKPOINT_ANCHORS: &str = "/v1/tenants/{tenant}/checkpoints/{cseq}/anchors";
/// A run of signed checkpoints with the consistency proofs between them: the
/// `evidence-checkpoints/v1` file `evidence-verify checkpoints` reads.
pub const CHECKPOINT_CHAIN: &str = "/v1/tenants/{tenant}/checkpoint-chain";
/// A consistency proof between two tree sizes.
pub const CONSISTENCY: &str = "/v1/tenants/{tenant}/consistency";
/// The tenant's audit log.
pub const AUDIT: &str = "/v1/tenants/{tenant}/audit";
/// A signed, time-stamped PDF report of the tenant's findings in a period.
pub const REPORT_FINDINGS_PDF: &str = "/v1/tenants/{tenant}/reports/findings.pdf";

/// `template` with each `{name}` replaced by its value from `params` (values are used as
/// given: tenant ids and numbers need no escaping in a path).
pub fn fill(template: &str, params: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Create a signed upload URL; list uploads.
pub const UPLOADS: &str = "/v1/tenants/{tenant}/uploads";
/// One upload's state.
pub const UPLOAD: &str = "/v1/tenants/{tenant}/uploads/{upload_id}";
/// The signed URL's target: one `PUT` of the body, authorised by the URL's signature alone.
pub const UPLOAD_BODY: &str = "/v1/tenants/{tenant}/uploads/{upload_id}/body";

#[cfg(test)]
mod tests {
    #[test]
    fn fills_every_parameter() {
        assert_eq!(super::fill(super::CLAIM_RETRACT, &[("tenant", "demo"), ("seq", "41")]), "/v1/tenants/demo/claims/41/retract");
        assert_eq!(super::fill(super::CLAIMS, &[("tenant", "demo")]), "/v1/tenants/demo/claims");
    }
}
