//! Contracts in transit (CIT): funding delays and aged contracts, per F&I producer.
//!
//! Over canonical `sales` rows (any vendor profile), with `as_of` the analysis date:
//!
//! | rule | fires when | days counted from |
//! |---|---|---|
//! | `cit.aged_contract` | no `funded_date`, `contract_status` not funded (`FUNDED`, `F`, `PAID`, `FINANCED`; case-insensitive), and more than `aged_days` (default 10) have passed by `as_of` | `contract_sent_date`, else `deal_date` |
//! | `cit.funding_delay` | `funded_date` is present and more than `delay_days` (default 7) passed before it | `contract_sent_date`, else `deal_date` |
//!
//! A row with no deal number or neither date is skipped. Each finding names the F&I manager by
//! `fi_manager_code`, else the salesperson by `salesperson_code`, else `unassigned`.

use serde_json::json;

use super::{Finding, code, date};
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

/// The findings for one canonical sales row.
pub fn analyze_row(columns: &[ColumnSpec], cells: &[Cell], as_of: Date, rules: &CitRules) -> Vec<Finding> {
    let Some(deal) = code(columns, cells, "deal_number") else { return Vec::new() };
    let Some(start) = date(columns, cells, "contract_sent_date").or_else(|| date(columns, cells, "deal_date")) else { return Vec::new() };
    let staff = code(columns, cells, "fi_manager_code")
        .or_else(|| code(columns, cells, "salesperson_code"))
        .unwrap_or_else(|| "unassigned".to_owned());
    let funded_status = code(columns, cells, "contract_status")
        .is_some_and(|s| matches!(s.to_ascii_uppercase().as_str(), "FUNDED" | "F" | "PAID" | "FINANCED"));
    let finding = |rule, days, threshold| Finding {
        analyzer: "cit",
        rule,
        subject: deal.clone(),
        staff_code: staff.clone(),
        measures: json!({ "days": days, "threshold_days": threshold }),
    };
    let mut out = Vec::new();
    if let Some(funded) = date(columns, cells, "funded_date") {
        let days = day_number(funded) - day_number(start);
        if days > rules.delay_days {
            out.push(finding("cit.funding_delay", days, rules.delay_days));
        }
    } else if !funded_status {
        let days = day_number(as_of) - day_number(start);
        if days > rules.aged_days {
            out.push(finding("cit.aged_contract", days, rules.aged_days));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::roster::{Roster, StaffMember};
    use crate::analyze::{FindingError, finding_request};
    use crate::ingest::{Dms, Export, Options, Profile, check};
    use evidence_core::claim::ClaimKind;

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
            findings.iter().map(|f| (f.rule, f.subject.as_str(), f.staff_code.as_str(), f.measures["days"].as_i64().unwrap())).collect();
        assert_eq!(
            got,
            [("cit.aged_contract", "D1", "FI07", 23), ("cit.aged_contract", "D2", "SP2", 24), ("cit.funding_delay", "D3", "FI08", 19)]
        );

        let roster = Roster::new(&[StaffMember { code: "FI07".into(), full_name: "Jean-François Tremblay".into(), nicknames: vec![] }]);
        let req = finding_request(&findings[0], as_of, &roster).unwrap();
        assert_eq!(req.claim.kind, ClaimKind::LeakageFinding);
        assert_eq!(req.claim.body["staff_code"], "FI07");
        // A finding whose subject is (by a data error) a staff name is refused.
        let leaky = Finding { subject: "Tremblay".into(), ..findings[0].clone() };
        assert!(matches!(finding_request(&leaky, as_of, &roster), Err(FindingError::NameLeak(l)) if l[0].code == "FI07"));
    }
}
