//! Retracting claims already written that name staff.
//!
//! [`sweep_written`] sweeps claims read back (their seq and body) against the roster and asks a
//! [`Retractor`] to retract each leaking one, with a reason that gives field paths and
//! personnel codes only. Retraction appends a `retraction` claim; the leaked record itself is
//! only removed from storage by an erasure, which is the operator's decision (not done here).

use evidence_core::{AppendReceipt, Seq};
use ledger::TenantLedger;
use ledger::store::TenantStore;
use serde_json::Value;

use super::roster::{Leak, Roster};

/// Something that can retract a claim by its sequence number.
pub trait Retractor {
    /// The error.
    type Error: std::fmt::Display;
    /// Retracts `seq` for `reason`; returns the retraction's receipt.
    fn retract(&self, seq: Seq, reason: &str) -> impl Future<Output = Result<AppendReceipt, Self::Error>> + Send;
}

impl<T: TenantStore> Retractor for TenantLedger<T> {
    type Error = ledger::LedgerError;

    fn retract(&self, seq: Seq, reason: &str) -> impl Future<Output = Result<AppendReceipt, Self::Error>> + Send {
        TenantLedger::retract(self, seq, reason)
    }
}

/// Retracts through a ledger server: `POST {base}/v1/tenants/{tenant}/claims/{seq}/retract`
/// with `{"reason": ...}` and a bearer token (a role that may retract).
#[derive(Clone, Debug)]
pub struct HttpRetractor {
    client: reqwest::Client,
    base: String,
    token: String,
    tenant: String,
}

impl HttpRetractor {
    /// A retractor for `tenant` on the server at `base`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str, token: &str, tenant: &str) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_mins(1)).build().map_err(|e| e.to_string())?;
        Ok(Self { client, base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), tenant: tenant.to_owned() })
    }

    async fn post(&self, seq: Seq, reason: &str) -> Result<AppendReceipt, String> {
        let url = format!("{}/v1/tenants/{}/claims/{}/retract", self.base, self.tenant, seq.0);
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "reason": reason }).to_string())
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", text.chars().take(500).collect::<String>()));
        }
        serde_json::from_str(&text).map_err(|e| format!("unexpected reply: {e}"))
    }
}

impl Retractor for HttpRetractor {
    type Error = String;

    fn retract(&self, seq: Seq, reason: &str) -> impl Future<Output = Result<AppendReceipt, String>> + Send {
        let reason = reason.to_owned();
        async move { self.post(seq, &reason).await }
    }
}

/// One leaking claim found by [`sweep_written`] and what became of it.
#[derive(Debug)]
pub struct Retracted {
    /// The leaking claim.
    pub seq: Seq,
    /// Where it leaks (paths and codes, never names).
    pub leaks: Vec<Leak>,
    /// The retraction's receipt, or why it could not be retracted.
    pub outcome: Result<AppendReceipt, String>,
}

/// The retraction reason for a set of leaks: field paths and personnel codes only.
pub fn reason(leaks: &[Leak]) -> String {
    let v: Vec<String> = leaks.iter().map(|l| format!("{} (staff {})", if l.path.is_empty() { "/" } else { &l.path }, l.code)).collect();
    format!("staff name leak at {}", v.join(", "))
}

/// Sweeps claims already written (`(seq, body)`) and retracts every one that names staff.
pub async fn sweep_written<R: Retractor>(claims: &[(Seq, Value)], roster: &Roster, retractor: &R) -> Vec<Retracted> {
    let mut out = Vec::new();
    for (seq, body) in claims {
        let leaks = roster.sweep(body);
        if leaks.is_empty() {
            continue;
        }
        let outcome = retractor.retract(*seq, &reason(&leaks)).await.map_err(|e| e.to_string());
        out.push(Retracted { seq: *seq, leaks, outcome });
    }
    out
}
