//! Production anchoring rails.
//!
//! [`HttpTsaRail`] is the RFC 3161 rail: it builds the `TimeStampReq` with evidence-core
//! (SHA-256 imprint = the checkpoint hash, a fresh 64-bit random nonce, certReq), sends it
//! with `tsa-client` (ordered TSAs, failover, retries, residency), and accepts a reply only
//! when evidence-core verifies it in full against the configured TSA roots at genTime
//! (status, imprint, nonce, signature, ESS binding, EKU, chain). A reply that does not
//! verify makes the client fail over to the next TSA; if none answers, the outbox retries
//! later. The Fabric rail lives in `fabric-anchor` (see the README status).

use evidence_core::rfc3161::{self, Certificate, HashAlg, Imprint, ValidationTime, Verdict, VerifyOptions};
use tsa_client::{Jurisdiction, ResidencyPolicy, TsaClient};

use crate::anchor::{AnchorEvidence, AnchorRequest, RailError, TsaRail};

/// The RFC 3161 rail over HTTP.
#[derive(Debug)]
pub struct HttpTsaRail {
    client: TsaClient,
    roots: Vec<Certificate>,
    untrusted: Vec<Certificate>,
    /// Accept tokens with weak algorithms (SHA-1 signatures). Off by default.
    pub accept_weak: bool,
}

impl HttpTsaRail {
    /// A rail over `client`, trusting `roots` (the TSAs' CA certificates), with optional
    /// extra certificates for TSAs that do not embed their own.
    pub fn new(client: TsaClient, roots: Vec<Certificate>, untrusted: Vec<Certificate>) -> Self {
        Self { client, roots, untrusted, accept_weak: false }
    }
}

fn policy(req: &AnchorRequest<'_>) -> Result<ResidencyPolicy, RailError> {
    if req.config.residency.is_empty() {
        return Ok(ResidencyPolicy::unrestricted());
    }
    let allowed = req
        .config
        .residency
        .iter()
        .map(|j| Jurisdiction::new(j))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RailError { rail: "tsa", message: format!("tenant residency policy: {e}") })?;
    // A first anchoring may fall back to a TSA outside the policy (the token is kept,
    // flagged, and the checkpoint re-anchored); a re-anchoring may not.
    Ok(ResidencyPolicy::allow(allowed, !req.reanchor))
}

impl TsaRail for HttpTsaRail {
    async fn timestamp(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let err = |message: String| RailError { rail: "tsa", message };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| err(format!("random nonce: {e}")))?;
        let der =
            rfc3161::request_for_digest(HashAlg::Sha256, &req.checkpoint_hash.0, &nonce, true, None).map_err(|e| err(e.to_string()))?;
        let parsed = rfc3161::parse_request(&der).map_err(|e| err(e.to_string()))?;
        let residency = policy(req)?;
        let stamped = self
            .client
            .timestamp(&der, &residency, |_, reply| {
                let opts = VerifyOptions {
                    imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &req.checkpoint_hash.0 }),
                    request: Some(&parsed),
                    trust_anchors: &self.roots,
                    untrusted: &self.untrusted,
                    at: ValidationTime::GenTime,
                };
                match rfc3161::verify_response(reply, &opts).outcome {
                    Ok(Verdict::Valid) => Ok(()),
                    Ok(Verdict::ValidWeak { reasons }) if self.accept_weak => {
                        tracing::warn!(?reasons, "accepting a token with weak algorithms");
                        Ok(())
                    }
                    Ok(Verdict::ValidWeak { reasons }) => Err(format!("weak algorithms: {}", reasons.join(", "))),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
            .map_err(|e| err(e.to_string()))?;
        Ok(AnchorEvidence {
            evidence: stamped.response,
            authority: stamped.endpoint,
            jurisdiction: Some(stamped.jurisdiction.as_str().to_owned()),
        })
    }
}
