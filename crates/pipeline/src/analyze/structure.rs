//! Financial structure: front/back gross, payment and rate structure anomalies, per deal.
//!
//! Over canonical `sales` rows; staff is `salesperson_code` for front-gross rules and
//! `fi_manager_code` for the others (else the other code, else `unassigned`).
//!
//! | rule | fires when (defaults) |
//! |---|---|
//! | `structure.front_loss` | `front_gross` is below −`max_front_loss` (−1,000.00) |
//! | `structure.negative_back` | `back_gross` is below zero |
//! | `structure.payment_mismatch` | `payment` differs by more than `payment_tolerance_pct` (2 %) from the level payment that `amount_financed`, `apr` and `term_months` give (monthly compounding) |
//! | `structure.rate_over_cap` | `apr` is over `max_apr` (35.00: Canada's criminal interest rate cap as an APR from 2025) |

use serde_json::json;

use super::{Finding, code, fmt_hundredths, hundredths, int};
use crate::ingest::{Cell, ColumnSpec};

/// The thresholds (decimals in hundredths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StructureRules {
    /// Largest front-end loss tolerated, in cents.
    pub max_front_loss: i128,
    /// Payment tolerance, in percent.
    pub payment_tolerance_pct: i128,
    /// Highest APR, in hundredths of a percent.
    pub max_apr: i128,
}

impl Default for StructureRules {
    fn default() -> Self {
        Self { max_front_loss: 100_000, payment_tolerance_pct: 2, max_apr: 3500 }
    }
}

/// The level monthly payment in cents, or `None` for a non-positive term.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
pub fn level_payment(principal_cents: i128, apr_hundredths: i128, months: i64) -> Option<i128> {
    if months <= 0 {
        return None;
    }
    let p = principal_cents as f64;
    let n = months as f64;
    let r = apr_hundredths as f64 / 100.0 / 100.0 / 12.0;
    let pay = if r.abs() < 1e-12 { p / n } else { p * r / (1.0 - (1.0 + r).powf(-n)) };
    pay.is_finite().then(|| pay.round() as i128)
}

/// The findings for one canonical sales row.
pub fn analyze_row(columns: &[ColumnSpec], cells: &[Cell], rules: &StructureRules) -> Vec<Finding> {
    let Some(deal) = code(columns, cells, "deal_number") else { return Vec::new() };
    let sp = code(columns, cells, "salesperson_code");
    let fi = code(columns, cells, "fi_manager_code");
    let unassigned = || "unassigned".to_owned();
    let sales_staff = sp.clone().or_else(|| fi.clone()).unwrap_or_else(unassigned);
    let fi_staff = fi.or(sp).unwrap_or_else(unassigned);
    let f = |rule, staff: &String, measures| Finding {
        analyzer: "structure",
        rule,
        subject: deal.clone(),
        staff_code: staff.clone(),
        measures,
    };
    let mut out = Vec::new();
    if let Some(front) = hundredths(columns, cells, "front_gross")
        && front < -rules.max_front_loss
    {
        out.push(f(
            "structure.front_loss",
            &sales_staff,
            json!({ "front_gross": fmt_hundredths(front), "max_front_loss": fmt_hundredths(rules.max_front_loss) }),
        ));
    }
    if let Some(back) = hundredths(columns, cells, "back_gross")
        && back < 0
    {
        out.push(f("structure.negative_back", &fi_staff, json!({ "back_gross": fmt_hundredths(back) })));
    }
    let apr = hundredths(columns, cells, "apr");
    if let (Some(pay), Some(fin), Some(apr), Some(term)) =
        (hundredths(columns, cells, "payment"), hundredths(columns, cells, "amount_financed"), apr, int(columns, cells, "term_months"))
        && let Some(expected) = level_payment(fin, apr, term)
        && expected > 0
        && (pay - expected).abs() * 100 > expected * rules.payment_tolerance_pct
    {
        out.push(f(
            "structure.payment_mismatch",
            &fi_staff,
            json!({ "payment": fmt_hundredths(pay), "expected_payment": fmt_hundredths(expected), "tolerance_pct": rules.payment_tolerance_pct.to_string() }),
        ));
    }
    if let Some(apr) = apr
        && apr > rules.max_apr
    {
        out.push(f("structure.rate_over_cap", &fi_staff, json!({ "apr": fmt_hundredths(apr), "max_apr": fmt_hundredths(rules.max_apr) })));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Dms, Export, Options, Profile, check};

    #[test]
    fn level_payment_matches_a_known_loan() {
        // 20,000.00 at 6.00 % over 60 months: 386.66 a month.
        assert_eq!(level_payment(2_000_000, 600, 60), Some(38_666));
        assert_eq!(level_payment(1_200_000, 0, 12), Some(100_000));
        assert_eq!(level_payment(1, 1, 0), None);
    }

    #[test]
    fn structure_rules_fire_on_their_deals_only() {
        let csv = b"Deal No,Front Gross,Back Gross,Amount Financed,APR,Term,Payment,Salesperson Code,Business Manager Code\n\
            D1,-1500.00,200,20000.00,6.00,60,386.66,SP1,FI1\n\
            D2,500,-25.00,20000.00,6.00,60,420.00,SP2,FI2\n\
            D3,500,100,5000.00,39.90,24,,SP3,FI3\n\
            D4,-999.99,0,20000.00,6.00,60,390.00,SP4,FI4\n";
        let profile = Profile::get(Dms::Quorum, Export::Sales).unwrap();
        let mut findings = Vec::new();
        let report = check(&profile, &csv[..], &Options::default(), |r| {
            findings.extend(analyze_row(r.columns, r.cells, &StructureRules::default()));
        })
        .unwrap();
        assert!(report.accepted, "{:?}", report.errors);
        let got: Vec<(&str, &str, &str)> = findings.iter().map(|f| (f.rule, f.subject.as_str(), f.staff_code.as_str())).collect();
        assert_eq!(
            got,
            [
                ("structure.front_loss", "D1", "SP1"),
                ("structure.negative_back", "D2", "FI2"),
                ("structure.payment_mismatch", "D2", "FI2"),
                ("structure.rate_over_cap", "D3", "FI3")
            ]
        );
        assert_eq!(findings[2].measures["expected_payment"], "386.66");
    }
}
