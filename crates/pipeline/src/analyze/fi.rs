//! F&I: product penetration and reserve anomalies, per F&I producer.
//!
//! Over canonical `sales` rows; the producer is `fi_manager_code` (rows without one are
//! counted under `unassigned`).
//!
//! | rule | scope | fires when (defaults) |
//! |---|---|---|
//! | `fi.rate_markup` | deal | `apr` − `buy_rate` is over `max_markup` (2.50 points) |
//! | `fi.reserve_outlier` | deal | `reserve` is over `max_reserve_pct` (3.00 %) of `amount_financed` |
//! | `fi.low_penetration` | producer | with at least `min_deals` (5) financed deals, the share of deals with `products_sold` > 0 (or a `service_contract_amount` or `gap_amount` over zero) is under `min_penetration_pct` (30 %) |
//!
//! Per-deal findings come from [`FiAnalyzer::row`]; producer findings from
//! [`FiAnalyzer::finish`], in producer-code order.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Finding, code, fmt_hundredths, hundredths, int};
use crate::ingest::{Cell, ColumnSpec};

/// The thresholds (decimals in hundredths: 250 = 2.50).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FiRules {
    /// Largest APR markup over the buy rate, in hundredths of a point.
    pub max_markup: i128,
    /// Largest reserve as a percentage of the amount financed, in hundredths of a percent.
    pub max_reserve_pct: i128,
    /// Fewest financed deals before penetration is judged.
    pub min_deals: u64,
    /// Lowest product penetration, in percent.
    pub min_penetration_pct: u64,
}

impl Default for FiRules {
    fn default() -> Self {
        Self { max_markup: 250, max_reserve_pct: 300, min_deals: 5, min_penetration_pct: 30 }
    }
}

/// The F&I analyzer: feed rows, then finish.
#[derive(Clone, Debug, Default)]
pub struct FiAnalyzer {
    rules: FiRules,
    producers: BTreeMap<String, (u64, u64)>,
}

impl FiAnalyzer {
    /// A new analyzer.
    pub fn new(rules: FiRules) -> Self {
        Self { rules, producers: BTreeMap::new() }
    }

    /// Per-deal findings for one row; counts the row toward its producer's penetration.
    pub fn row(&mut self, columns: &[ColumnSpec], cells: &[Cell]) -> Vec<Finding> {
        let Some(deal) = code(columns, cells, "deal_number") else { return Vec::new() };
        let staff = code(columns, cells, "fi_manager_code").unwrap_or_else(|| "unassigned".to_owned());
        let mut out = Vec::new();
        let financed = hundredths(columns, cells, "amount_financed").filter(|v| *v > 0);
        if let (Some(apr), Some(buy)) = (hundredths(columns, cells, "apr"), hundredths(columns, cells, "buy_rate"))
            && apr - buy > self.rules.max_markup
        {
            let measures = json!({ "apr": fmt_hundredths(apr), "buy_rate": fmt_hundredths(buy), "markup": fmt_hundredths(apr - buy), "max_markup": fmt_hundredths(self.rules.max_markup) });
            out.push(Finding { analyzer: "fi", rule: "fi.rate_markup", subject: deal.clone(), staff_code: staff.clone(), measures });
        }
        if let (Some(reserve), Some(fin)) = (hundredths(columns, cells, "reserve"), financed) {
            let pct = reserve * 10_000 / fin;
            if pct > self.rules.max_reserve_pct {
                let measures = json!({ "reserve": fmt_hundredths(reserve), "amount_financed": fmt_hundredths(fin), "reserve_pct": fmt_hundredths(pct), "max_reserve_pct": fmt_hundredths(self.rules.max_reserve_pct) });
                out.push(Finding { analyzer: "fi", rule: "fi.reserve_outlier", subject: deal, staff_code: staff.clone(), measures });
            }
        }
        if financed.is_some() {
            let with_products = int(columns, cells, "products_sold").is_some_and(|n| n > 0)
                || hundredths(columns, cells, "service_contract_amount").is_some_and(|v| v > 0)
                || hundredths(columns, cells, "gap_amount").is_some_and(|v| v > 0);
            let e = self.producers.entry(staff).or_default();
            e.0 += 1;
            e.1 += u64::from(with_products);
        }
        out
    }

    /// Per-producer findings.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (staff, (deals, with)) in self.producers {
            if deals >= self.rules.min_deals && with * 100 < self.rules.min_penetration_pct * deals {
                let measures = json!({ "financed_deals": deals, "deals_with_products": with, "penetration_pct": with * 100 / deals, "min_penetration_pct": self.rules.min_penetration_pct });
                out.push(Finding { analyzer: "fi", rule: "fi.low_penetration", subject: staff.clone(), staff_code: staff, measures });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Dms, Export, Options, Profile, check};

    #[test]
    fn markup_reserve_and_penetration() {
        let mut csv = b"DealNumber,AmountFinanced,Rate,BuyRate,Reserve,FIManagerRef,Products Sold\n".to_vec();
        csv.extend_from_slice(b"D1,20000.00,8.99,5.99,400.00,FI01,1\n"); // markup 3.00, reserve 2.00 %
        csv.extend_from_slice(b"D2,10000.00,6.49,5.99,450.00,FI01,0\n"); // reserve 4.50 %
        for i in 0..5 {
            csv.extend_from_slice(format!("E{i},15000,6.00,5.00,100,FI02,0\n").as_bytes());
        }
        let profile = Profile::get(Dms::Pbs, Export::Sales).unwrap();
        let mut fi = FiAnalyzer::new(FiRules::default());
        let mut findings = Vec::new();
        let report = check(&profile, &csv[..], &Options::default(), |r| findings.extend(fi.row(r.columns, r.cells))).unwrap();
        assert!(report.accepted, "{:?}", report.errors);
        findings.extend(fi.finish());
        let got: Vec<(&str, &str, &str)> = findings.iter().map(|f| (f.rule, f.subject.as_str(), f.staff_code.as_str())).collect();
        assert_eq!(got, [("fi.rate_markup", "D1", "FI01"), ("fi.reserve_outlier", "D2", "FI01"), ("fi.low_penetration", "FI02", "FI02")]);
        assert_eq!(findings[0].measures["markup"], "3.00");
        assert_eq!(findings[1].measures["reserve_pct"], "4.50");
        assert_eq!(findings[2].measures["penetration_pct"], 0);
    }
}
