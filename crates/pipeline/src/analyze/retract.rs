//! Retracting claims already written that name staff.
//!
//! [`sweep_written`] sweeps claims read back (their seq and body) against the roster and asks a
//! [`Retractor`] (evidence-core's: the ledger in process, or `ledger_client::TenantClient`
//! against a server) to retract each leaking one, with a reason that gives field paths and
//! personnel codes only. Retraction appends a `retraction` claim; the leaked record itself is
//! only removed from storage by an erasure, which is the operator's decision (not done here).

use evidence_core::{AppendReceipt, Retractor, Seq};
use serde_json::Value;

use super::roster::{Leak, Roster};

/// One leaking claim found by [`sweep_written`] and what became of it.
#[derive(Debug)]
pub struct Retracted<E> {
    /// The leaking claim.
    pub seq: Seq,
    /// Where it leaks (paths and codes, never names).
    pub leaks: Vec<Leak>,
    /// The retraction's receipt, or why it could not be retracted.
    pub outcome: Result<AppendReceipt, E>,
}

/// The retraction reason for a set of leaks: field paths and personnel codes only.
pub fn reason(leaks: &[Leak]) -> String {
    let v: Vec<String> = leaks.iter().map(|l| format!("{} (staff {})", if l.path.is_empty() { "/" } else { &l.path }, l.code)).collect();
    format!("staff name leak at {}", v.join(", "))
}

/// Sweeps claims already written (`(seq, body)`) and retracts every one that names staff.
pub async fn sweep_written<R: Retractor>(claims: &[(Seq, Value)], roster: &Roster, retractor: &R) -> Vec<Retracted<R::Error>> {
    let mut out = Vec::new();
    for (seq, body) in claims {
        let leaks = roster.sweep(body);
        if leaks.is_empty() {
            continue;
        }
        let outcome = retractor.retract(*seq, &reason(&leaks)).await;
        out.push(Retracted { seq: *seq, leaks, outcome });
    }
    out
}
