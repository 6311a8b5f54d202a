//! Service and warranty: unbilled labour and warranty claim anomalies, per RO.
//!
//! Over canonical `service` rows; staff is `advisor_code`, else `technician_code`, else
//! `unassigned`. Pay types: `W`/`WARRANTY` is warranty, `I`/`INTERNAL` internal, anything else
//! (including none) customer pay.
//!
//! | rule | fires when (defaults) |
//! |---|---|
//! | `service.unbilled_labour` | customer pay, and `labour_hours` exceeds `billed_hours` (absent = 0) by more than `hours_tolerance` (0.10 h) |
//! | `service.labour_not_charged` | customer pay, `billed_hours` over zero and `labour_sale` absent or zero |
//! | `service.warranty_short_paid` | `warranty_paid_amount` is under `min_paid_pct` (95 %) of `warranty_claim_amount` |
//! | `service.warranty_unclaimed` | warranty pay type with no `warranty_claim_number` |

use serde_json::json;

use super::{Finding, code, fmt_hundredths, hundredths};
use crate::ingest::{Cell, ColumnSpec};

/// The thresholds (decimals in hundredths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceRules {
    /// Hours of labour that may go unbilled, in hundredths of an hour.
    pub hours_tolerance: i128,
    /// Lowest share of a warranty claim paid, in percent.
    pub min_paid_pct: i128,
}

impl Default for ServiceRules {
    fn default() -> Self {
        Self { hours_tolerance: 10, min_paid_pct: 95 }
    }
}

/// The findings for one canonical service row.
pub fn analyze_row(columns: &[ColumnSpec], cells: &[Cell], rules: &ServiceRules) -> Vec<Finding> {
    let Some(ro) = code(columns, cells, "ro_number") else { return Vec::new() };
    let staff =
        code(columns, cells, "advisor_code").or_else(|| code(columns, cells, "technician_code")).unwrap_or_else(|| "unassigned".to_owned());
    let pay_type = code(columns, cells, "pay_type").map(|s| s.to_ascii_uppercase());
    let warranty = matches!(pay_type.as_deref(), Some("W" | "WARRANTY"));
    let internal = matches!(pay_type.as_deref(), Some("I" | "INTERNAL"));
    let customer = !warranty && !internal;
    let f = |rule, measures| Finding { analyzer: "service", rule, subject: ro.clone(), staff_code: staff.clone(), measures };
    let mut out = Vec::new();
    let billed = hundredths(columns, cells, "billed_hours").unwrap_or(0);
    if customer
        && let Some(actual) = hundredths(columns, cells, "labour_hours")
        && actual - billed > rules.hours_tolerance
    {
        out.push(f("service.unbilled_labour", json!({ "labour_hours": fmt_hundredths(actual), "billed_hours": fmt_hundredths(billed) })));
    }
    if customer && billed > 0 && hundredths(columns, cells, "labour_sale").unwrap_or(0) == 0 {
        out.push(f("service.labour_not_charged", json!({ "billed_hours": fmt_hundredths(billed) })));
    }
    if let (Some(claimed), Some(paid)) =
        (hundredths(columns, cells, "warranty_claim_amount"), hundredths(columns, cells, "warranty_paid_amount"))
        && claimed > 0
        && paid * 100 < claimed * rules.min_paid_pct
    {
        out.push(f(
            "service.warranty_short_paid",
            json!({ "claimed": fmt_hundredths(claimed), "paid": fmt_hundredths(paid), "min_paid_pct": rules.min_paid_pct.to_string() }),
        ));
    }
    if warranty && code(columns, cells, "warranty_claim_number").is_none() {
        out.push(f("service.warranty_unclaimed", json!({})));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Dms, Export, Options, Profile, check};

    #[test]
    fn service_rules_fire_on_their_ros_only() {
        let csv = b"RO Number,Service Advisor Code,Technician Code,Pay Type,Labour Hours,Billed Hours,Labour Sale,Warranty Claim,Claim Amount,Claim Paid\n\
            R1,SA1,T1,C,2.50,1.00,150.00,,,\n\
            R2,SA2,T2,C,1.00,1.00,0,,,\n\
            R3,,T3,W,1.00,1.00,0,WC9,500.00,400.00\n\
            R4,SA4,T4,W,1.00,1.00,0,,,\n\
            R5,SA5,T5,I,3.00,0,0,,,\n\
            R6,SA6,T6,C,1.05,1.00,90.00,WC1,100.00,99.00\n";
        let profile = Profile::get(Dms::Quorum, Export::Service).unwrap();
        let mut findings = Vec::new();
        let report =
            check(&profile, &csv[..], &Options::default(), |r| findings.extend(analyze_row(r.columns, r.cells, &ServiceRules::default())))
                .unwrap();
        assert!(report.accepted, "{:?}", report.errors);
        let got: Vec<(&str, &str, &str)> = findings.iter().map(|f| (f.rule, f.subject.as_str(), f.staff_code.as_str())).collect();
        assert_eq!(
            got,
            [
                ("service.unbilled_labour", "R1", "SA1"),
                ("service.labour_not_charged", "R2", "SA2"),
                ("service.warranty_short_paid", "R3", "T3"),
                ("service.warranty_unclaimed", "R4", "SA4"),
            ]
        );
    }
}
