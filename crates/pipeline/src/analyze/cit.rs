//! Contracts in transit (CIT): funding delays and aged contracts, per F&I producer.
//!
//! Over canonical `sales` rows (any vendor profile), with `as_of` the analysis date:
//!
//! | rule | fires when | days counted from |
//! |---|---|---|
//! | `cit.aged_contract` | `contract_status` is not funded (`FUNDED`, `F`, `PAID`, `FINANCE`/`FINANCED` are funded; case-insensitive) and there is no `funded_date`, and more than `aged_days` (default 10) have passed by `as_of` | `contract_sent_date`, else `deal_date` |
//! | `cit.funding_delay` | `funded_date` is present and more than `delay_days` (default 7) passed before it | `contract_sent_date`, else `deal_date` |
//!
//! A row with neither date is skipped (nothing to measure). Each finding names the F&I
//! manager by `fi_manager_code`, else the salesperson by `salesperson_code`, else
//! `unassigned`: personnel codes only. [`finding_request`] runs the roster sweep over the body
//! and refuses to build a request that names anyone.

use evidence_core::claim::{Claim, ClaimError, ClaimKind};
use evidence_core::sink::AppendRequest;
use serde_json::json;

use super::roster::{Leak, Roster};
use crate::ingest::{Cell, ColumnSpec, Date};

/// The thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CitRules {
    /// Days a contract may stay unfunded.
    pub aged_days: i64,
    /// Days funding may take.
    pub delay_days: i64,
}

impl Default for CitRules {
    fn default() -> Self {
        Self { aged_days: 10, delay_days: 7 }
    }
}

/// One CIT finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `cit.aged_contract` or `cit.funding_delay`.
    pub rule: &'static str,
    /// The deal.
    pub deal_number: String,
    /// The producer's personnel code.
    pub staff_code: String,
    /// Days measured.
    pub days: i64,
    /// The threshold exceeded.
    pub threshold: i64,
}

/// Days since 1970-01-01 (proleptic Gregorian).
pub fn day_number(d: Date) -> i64 {
    let (y, m, day) = (i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn cell<'a>(columns: &[ColumnSpec], cells: &'a [Cell], name: &str) -> Option<&'a Cell> {
    columns.iter().position(|c| c.name == name).and_then(|i| cells.get(i)).filter(|c| **c != Cell::Empty)
}

fn date(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<Date> {
    match cell(columns, cells, name) {
        Some(Cell::Date(d)) => Some(*d),
        _ => None,
    }
}

fn code(columns: &[ColumnSpec], cells: &[Cell], name: &str) -> Option<String> {
    match cell(columns, cells, name) {
        Some(Cell::Code(s) | Cell::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The findings for one canonical sales row.
pub fn analyze_row(columns: &[ColumnSpec], cells: &[Cell], as_of: Date, rules: &CitRules) -> Vec<Finding> {
    let Some(deal) = code(columns, cells, "deal_number") else { return Vec::new() };
    let Some(start) = date(columns, cells, "contract_sent_date").or_else(|| date(columns, cells, "deal_date")) else { return Vec::new() };
    let staff = code(columns, cells, "fi_manager_code")
        .or_else(|| code(columns, cells, "salesperson_code"))
        .unwrap_or_else(|| "unassigned".to_owned());
    let funded_status = code(columns, cells, "contract_status")
        .is_some_and(|s| matches!(s.to_ascii_uppercase().as_str(), "FUNDED" | "F" | "PAID" | "FINANCE" | "FINANCED"));
    let mut out = Vec::new();
    if let Some(funded) = date(columns, cells, "funded_date") {
        let days = day_number(funded) - day_number(start);
        if days > rules.delay_days {
            out.push(Finding { rule: "cit.funding_delay", deal_number: deal, staff_code: staff, days, threshold: rules.delay_days });
        }
    } else if !funded_status {
        let days = day_number(as_of) - day_number(start);
        if days > rules.aged_days {
            out.push(Finding { rule: "cit.aged_contract", deal_number: deal, staff_code: staff, days, threshold: rules.aged_days });
        }
    }
    out
}

/// Why a finding was not turned into a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FindingError {
    /// The body names staff (by roster); it must not be written.
    #[error("finding names staff ({} leaks); refused", .0.len())]
    NameLeak(Vec<Leak>),
    /// The body has no canonical form.
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

/// The `leakage_finding` append request for a finding, after the roster sweep.
///
/// # Errors
/// [`FindingError::NameLeak`] when any string in the body names a roster entry.
pub fn finding_request(f: &Finding, as_of: Date, roster: &Roster) -> Result<AppendRequest, FindingError> {
    let body = json!({
        "schema": "pipeline/leakage_finding/v1",
        "analyzer": "cit",
        "rule": f.rule,
        "deal_number": f.deal_number,
        "staff_code": f.staff_code,
        "days": f.days,
        "threshold": f.threshold,
        "as_of": as_of.to_string(),
    });
    let leaks = roster.sweep(&body);
    if !leaks.is_empty() {
        return Err(FindingError::NameLeak(leaks));
    }
    Ok(AppendRequest::new(Claim::new(ClaimKind::LeakageFinding, body)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::roster::StaffMember;
    use crate::ingest::{Dms, Export, Options, Profile, check};

    fn d(s: &str) -> Date {
        crate::ingest::value::parse_date(s).unwrap()
    }

    #[test]
    fn day_numbers() {
        assert_eq!(day_number(d("1970-01-01")), 0);
        assert_eq!(day_number(d("2000-03-01")) - day_number(d("2000-02-28")), 2);
        assert_eq!(day_number(d("2025-01-01")), 20_089);
    }

    #[test]
    fn aged_and_delayed_contracts_from_a_csv() {
        let csv = b"Deal #,Contract Date,Date Sent,Funding Status,Funded Date,Bus Mgr #,Sls1 ID\n\
            D1,2025-03-01,2025-03-02,IN TRANSIT,,FI07,SP1\n\
            D2,2025-03-01,,SENT,,,SP2\n\
            D3,2025-03-01,2025-03-01,FUNDED,2025-03-20,FI08,SP1\n\
            D4,2025-03-20,,IN TRANSIT,,FI07,SP1\n\
            D5,2025-03-01,,FUNDED,,FI07,SP1\n";
        let profile = Profile::get(Dms::Reynolds, Export::Sales).unwrap();
        let as_of = d("2025-03-25");
        let mut findings = Vec::new();
        let report = check(&profile, &csv[..], &Options::default(), |r| {
            findings.extend(analyze_row(r.columns, r.cells, as_of, &CitRules::default()));
        })
        .unwrap();
        assert!(report.accepted, "{:?}", report.errors);
        let got: Vec<(&str, &str, &str, i64)> =
            findings.iter().map(|f| (f.rule, f.deal_number.as_str(), f.staff_code.as_str(), f.days)).collect();
        assert_eq!(
            got,
            [("cit.aged_contract", "D1", "FI07", 23), ("cit.aged_contract", "D2", "SP2", 24), ("cit.funding_delay", "D3", "FI08", 19)]
        );

        let roster = Roster::new(&[StaffMember { code: "FI07".into(), full_name: "Jean-François Tremblay".into(), nicknames: vec![] }]);
        let req = finding_request(&findings[0], as_of, &roster).unwrap();
        assert_eq!(req.claim.kind, ClaimKind::LeakageFinding);
        assert_eq!(req.claim.body["staff_code"], "FI07");
        // A finding whose deal number is (by a data error) a staff name is refused.
        let leaky = Finding { deal_number: "Tremblay".into(), ..findings[0].clone() };
        assert!(matches!(finding_request(&leaky, as_of, &roster), Err(FindingError::NameLeak(l)) if l[0].code == "FI07"));
    }
}
