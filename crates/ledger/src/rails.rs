//! Production anchoring rails.
//!
//! [`HttpTsaRail`] is the RFC 3161 rail: it builds the `TimeStampReq` with evidence-core
//! (SHA-256 imprint = the checkpoint hash, a fresh 64-bit random nonce, certReq), sends it
//! with `tsa-client` (ordered TSAs, failover, retries, residency), and accepts a reply only
//! when evidence-core verifies it in full against the configured TSA roots at genTime
//! (status, imprint, nonce, signature, ESS binding, EKU, chain). A reply that does not
//! verify makes the client fail over to the next TSA; if none answers, the outbox retries
//! later.
//!
//! [`GatewayFabricRail`] is the Fabric rail: `fabric-anchor`'s Gateway client writes the
//! checkpoint hash on the tenant's channel and fetches the block holding the transaction;
//! evidence-core verifies that receipt against the configured MSP roots before it is stored.

use evidence_core::rfc3161::{self, Certificate, HashAlg, Imprint, TimestampOptions, TimestampVerdict, ValidationTime};
use tsa_client::{Jurisdiction, ResidencyPolicy, TsaClient};

use crate::anchor::{AnchorEvidence, AnchorRequest, FabricRail, RailError, TsaRail};

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
                let opts = TimestampOptions {
                    imprint: Some(Imprint::Digest { alg: HashAlg::Sha256, digest: &req.checkpoint_hash.0 }),
                    request: Some(&parsed),
                    trust_anchors: &self.roots,
                    untrusted: &self.untrusted,
                    at: ValidationTime::GenTime,
                };
                match rfc3161::verify_response(reply, &opts).outcome {
                    Ok(TimestampVerdict::Valid) => Ok(()),
                    Ok(TimestampVerdict::ValidWeak { reasons }) if self.accept_weak => {
                        tracing::warn!(?reasons, "accepting a token with weak algorithms");
                        Ok(())
                    }
                    Ok(TimestampVerdict::ValidWeak { reasons }) => Err(format!("weak algorithms: {}", reasons.join(", "))),
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

/// The Fabric rail over the Gateway API: `fabric-anchor`'s client endorses, submits and
/// waits for the `Anchor(tenant, seq, hash)` transaction (key `ckpt/<tenant>/<seq>`) on the
/// tenant's channel, fetches the block holding it, and evidence-core verifies the receipt against the
/// configured MSP roots before anything is stored (an unverifiable receipt is a failure:
/// the outbox retries).
///
/// A retry after a crash between the commit and the outbox update (or after a store snapshot
/// was restored) finds the key already written, and the contract refuses a second `Anchor`.
/// The rail then reads the key back ([`fabric_anchor::AnchorClient::anchor_or_recover`]): if it
/// holds this checkpoint's hash, the earlier transaction is found on the channel and its
/// block becomes the receipt, verified like any other (counted in
/// `ledger_anchor_receipts_recovered_total`); if it holds another value, the attempt fails
/// with a conflict error naming tenant, checkpoint, key, stored and expected values (logged
/// as an error, kept as the row's `last_error`, counted in `ledger_anchor_conflicts_total`,
/// and retried with backoff: the channel is never overwritten).
pub struct GatewayFabricRail {
    client: fabric_anchor::AnchorClient,
    roots: evidence_core::fabric::MspRoots,
    network: String,
    jurisdiction: Option<String>,
}

impl std::fmt::Debug for GatewayFabricRail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayFabricRail")
            .field("network", &self.network)
            .field("jurisdiction", &self.jurisdiction)
            .finish_non_exhaustive()
    }
}

impl GatewayFabricRail {
    /// A rail anchoring through `client`, checking receipts against `roots`; `network` names
    /// the Fabric network in anchors, `jurisdiction` its endorsers' (for residency).
    pub fn new(
        client: fabric_anchor::AnchorClient,
        roots: evidence_core::fabric::MspRoots,
        network: &str,
        jurisdiction: Option<String>,
    ) -> Self {
        Self { client, roots, network: network.to_owned(), jurisdiction }
    }
}

impl FabricRail for GatewayFabricRail {
    async fn submit(&self, req: &AnchorRequest<'_>) -> Result<AnchorEvidence, RailError> {
        let err = |message: String| RailError { rail: "fabric", message };
        let channel = &req.config.fabric_channel;
        let outcome = match self.client.anchor_or_recover(channel, req.tenant.as_str(), req.checkpoint_seq.0, &req.checkpoint_hash).await {
            Ok(o) => o,
            Err(e @ fabric_anchor::Error::AnchorConflict(_)) => {
                crate::metrics::global().anchor_conflicts.inc(&[("rail", "fabric")]);
                tracing::error!(tenant = %req.tenant, checkpoint = req.checkpoint_seq.0, channel = %channel, error = %e, "Fabric anchor conflict: an operator must look");
                return Err(err(e.to_string()));
            }
            Err(e) => return Err(err(e.to_string())),
        };
        if outcome.recovered {
            crate::metrics::global().anchor_recovered.inc(&[("rail", "fabric")]);
            tracing::info!(tenant = %req.tenant, checkpoint = req.checkpoint_seq.0, channel = %channel, tx_id = %outcome.receipt.tx_id, "the key was already anchored with this checkpoint's hash: adopting that transaction as the receipt");
        }
        let receipt = outcome.receipt;
        let key = fabric_anchor::anchor_key(req.tenant.as_str(), req.checkpoint_seq.0);
        evidence_core::fabric::verify_receipt(
            &receipt,
            &req.checkpoint_hash,
            &key,
            &self.roots,
            None,
            &evidence_core::fabric::BlockLimits::default(),
        )
        .map_err(|e| err(format!("the receipt does not verify against the configured MSP roots: {e}")))?;
        let anchor = evidence_core::bundle::FabricAnchor {
            channel: channel.clone(),
            block: evidence_core::bundle::Base64(receipt.block),
            tx_index: u32::try_from(receipt.tx_index).map_err(|_| err("transaction index out of range".into()))?,
            key,
            msp_roots: receipt
                .msp_roots
                .into_iter()
                .map(|r| evidence_core::trust::MspCertificates {
                    orderer: receipt.orderer_msps.contains(&r.msp_id),
                    msp_id: r.msp_id,
                    roots_pem: vec![r.pem],
                })
                .collect(),
        };
        Ok(AnchorEvidence {
            evidence: serde_json::to_vec(&anchor).map_err(|e| err(e.to_string()))?,
            authority: self.network.clone(),
            jurisdiction: self.jurisdiction.clone(),
        })
    }
}
