//! Leakage analyzers over the canonical ingest tables, their consumers, and the gate.
//!
//! Built (issue 9):
//! - four deterministic analyzers, each with its rule set in its module docs — contracts in
//!   transit ([`cit`]), F&I ([`fi`]), financial structure ([`structure`]) and service and
//!   warranty ([`service`]) — whose [`Finding`]s name staff by personnel code only;
//! - three consumers over findings ([`consumers`]): manager scorecard, hierarchical score
//!   (staff → manager → GM → rooftop, formula documented) and affinity (staff codes that share
//!   subjects with findings, threshold documented); each written as a `leakage_finding` claim
//!   with a `"consumer"` field, linking the content hashes of the findings it aggregates;
//! - builders for `gate_decision`, `sop_attestation` and `ria_submission_row` claims (body
//!   tables in [`consumers`]);
//! - the name-leak gate ([`gated_request`], over [`roster`]): every claim body the analysis
//!   builds is swept against the tenant's staff roster (names, nicknames, accents and case
//!   folded) and refused with the field paths and personnel codes (never the name);
//! - retraction of leaked claims already written ([`retract`]): [`retract::sweep_written`]
//!   over an `evidence_core::Retractor`, implemented by the ledger in process
//!   (`ledger::TenantLedger`) and by `ledger_client::TenantClient` (a server's retract
//!   endpoint);
//! - `pipeline analyze` ([`cli`]): ingest check → analyzers → consumers → gate → leak gate →
//!   one batch through the chosen `ClaimSink`; all or nothing.
//!
//! Analyzers read rows from [`check`](crate::ingest::check)'s callback; those rows are
//! provisional until the report says accepted, so the CLI keeps the findings only for an
//! accepted file.
//!
//! Assumed / not built: no analyzer for the `inventory` and `gl` exports (the run writes the
//! gate and empty consumers); thresholds are the documented defaults (no CLI flags to change
//! them); the CLI does not write `sop_attestation` or `ria_submission_row` claims (the builders
//! are library API for the caller that has that data); `sweep_written` is library API (no CLI
//! subcommand reads a log back and sweeps it). The leak sweep matches full names, surnames of 3+ letters and
//! nicknames, not given names alone ([`roster`]).

use evidence_core::claim::{Claim, ClaimError, ClaimKind};
use evidence_core::sink::AppendRequest;
use serde_json::{Value, json};

use crate::ingest::{Cell, ColumnSpec, Date, Decimal};

pub mod cit;
pub mod cli;
pub mod consumers;
pub mod fi;
pub mod retract;
pub mod roster;
pub mod service;
pub mod structure;

use roster::{Leak, Roster};

/// One finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// `cit`, `fi`, `structure` or `service`.
    pub analyzer: &'static str,
    /// The rule, e.g. `cit.aged_contract`.
    pub rule: &'static str,
    /// The deal or RO number, or the producer's code for per-producer rules.
    pub subject: String,
    /// The personnel code of the staff member the finding is about.
    pub staff_code: String,
    /// The measured values and thresholds (a JSON object; decimals as strings).
    pub measures: Value,
}

/// Why a finding (or any other claim the analysis writes) was not turned into a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FindingError {
    /// The body names staff (by roster); it must not be written. Each leak gives the field
    /// path and the personnel code named, never the name.
    #[error("claim body names staff at {}; refused", leak_paths(.0))]
    NameLeak(Vec<Leak>),
    /// A field that must be a code is not one.
    #[error(transparent)]
    BadField(#[from] consumers::BadCode),
    /// The body has no canonical form.
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

fn leak_paths(leaks: &[Leak]) -> String {
    let v: Vec<String> = leaks.iter().map(|l| format!("{} (staff {})", if l.path.is_empty() { "/" } else { &l.path }, l.code)).collect();
    v.join(", ")
}

/// The name-leak gate every claim of the analysis goes through: sweeps `body` against the
/// roster and builds the request only when nothing in it names staff.
///
/// # Errors
/// [`FindingError::NameLeak`] (field paths and codes) or [`FindingError::Claim`].
pub fn gated_request(
    kind: ClaimKind,
    body: Value,
    links: Vec<evidence_core::ContentHash>,
    roster: &Roster,
) -> Result<AppendRequest, FindingError> {
    let leaks = roster.sweep(&body);
    if !leaks.is_empty() {
        return Err(FindingError::NameLeak(leaks));
    }
    Ok(AppendRequest::new(Claim::new(kind, body)?).with_links(links))
}

/// The body of a finding's `leakage_finding` claim.
pub fn finding_body(f: &Finding, as_of: Date) -> Value {
    json!({
        "schema": "pipeline/leakage_finding/v1",
        "analyzer": f.analyzer,
        "rule": f.rule,
        "subject": f.subject,
        "staff_code": f.staff_code,
        "measures": f.measures,
        "as_of": as_of.to_string(),
    })
}

/// The `leakage_finding` append request for a finding, after the roster sweep.
///
/// # Errors
/// [`FindingError::NameLeak`] when any string in the body names a roster entry.
pub fn finding_request(f: &Finding, as_of: Date, roster: &Roster) -> Result<AppendRequest, FindingError> {
    gated_request(ClaimKind::LeakageFinding, finding_body(f, as_of), Vec::new(), roster)
}

pub(crate) fn cell<'a>(columns: &[ColumnSpec], cells: &'a [Cell], name: &str) -> Option<&'a Cell> {
    columns.iter().position(|c| c.name == name).and_then(|i| cells.get(i)).filter(|c| **c != Cell::Empty)
}

pub(crate) fn date(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<Date> {
    match cell(columns, cells, name) {
        Some(Cell::Date(d)) => Some(*d),
        _ => None,
    }
}

pub(crate) fn code(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<String> {
    match cell(columns, cells, name) {
        Some(Cell::Code(s) | Cell::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

pub(crate) fn int(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<i64> {
    match cell(columns, cells, name) {
        Some(Cell::Integer(v)) => Some(*v),
        _ => None,
    }
}

/// A decimal column in hundredths (cents, or basis points of a percentage), truncated.
pub(crate) fn hundredths(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<i128> {
    match cell(columns, cells, name) {
        Some(Cell::Decimal(d)) => Some(to_hundredths(*d)),
        Some(Cell::Integer(v)) => Some(i128::from(*v) * 100),
        _ => None,
    }
}

/// `d` in hundredths, truncated toward zero.
pub fn to_hundredths(d: Decimal) -> i128 {
    if d.scale <= 2 { d.mantissa * 10i128.pow(2 - u32::from(d.scale)) } else { d.mantissa / 10i128.pow(u32::from(d.scale) - 2) }
}

/// Hundredths as a decimal string (`-1250` → `-12.50`).
pub fn fmt_hundredths(v: i128) -> String {
    Decimal { mantissa: v, scale: 2 }.to_string()
}
