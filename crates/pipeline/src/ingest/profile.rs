//! DMS export profiles: for each vendor and export, the allow-list of columns, their types
//! and the headers accepted for them.
//!
//! Every profile of one export maps onto the same canonical columns (the tables the analyzers
//! read); vendors differ in the headers they write. A header is matched by its
//! [match key](super::header::match_key), so case, separators, accents, word order and the
//! spelling of "number" (`No`, `#`, `Num`, `Numéro`) do not matter.
//!
//! **Assumptions.** No vendor publishes a complete, stable column dictionary for its CSV
//! exports; report writers let each dealer choose columns and titles. The vendor headers
//! below are the names these systems are commonly seen to use (CDK Drive field names,
//! Reynolds ERA report titles, DealerTrack/Arkona, PBS Systems and Quorum XSellerator
//! naming), not copied from a vendor specification. Every vendor header is therefore an
//! assumption to confirm against a real export; adding one is a one-line change here and the
//! table below is checked against this data by a test. No Quorum GL export is offered: none is
//! known to us.
//!
//! Free-text columns (RO stories, deal notes, comments) are deliberately absent from every
//! allow-list: they routinely hold customer names and phone numbers, and the redactor, not
//! ingest, is the place for such text.
#![doc = include_str!("PROFILES.md")]

use std::collections::HashMap;
use std::fmt::Write as _;

use super::header::match_key;

/// A DMS vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
#[non_exhaustive]
pub enum Dms {
    /// CDK Global (Drive).
    Cdk,
    /// Reynolds and Reynolds (ERA / ERA-IGNITE).
    Reynolds,
    /// DealerTrack DMS (formerly Arkona).
    Dealertrack,
    /// PBS Systems.
    Pbs,
    /// Quorum Information Technologies (XSellerator).
    Quorum,
}

impl Dms {
    /// Every vendor.
    pub const ALL: &'static [Dms] = &[Dms::Cdk, Dms::Reynolds, Dms::Dealertrack, Dms::Pbs, Dms::Quorum];

    /// The name used on the command line and in claims.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cdk => "cdk",
            Self::Reynolds => "reynolds",
            Self::Dealertrack => "dealertrack",
            Self::Pbs => "pbs",
            Self::Quorum => "quorum",
        }
    }
}

/// An export type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
#[non_exhaustive]
pub enum Export {
    /// Vehicle sales / deals (F&I included).
    Sales,
    /// Service repair orders.
    Service,
    /// Vehicle inventory.
    Inventory,
    /// General-ledger postings.
    Gl,
}

impl Export {
    /// Every export type.
    pub const ALL: &'static [Export] = &[Export::Sales, Export::Service, Export::Inventory, Export::Gl];

    /// The name used on the command line and in claims.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sales => "sales",
            Self::Service => "service",
            Self::Inventory => "inventory",
            Self::Gl => "gl",
        }
    }
}

/// The type of a column's cells. Empty cells are allowed in every type and read as absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// Free text, at most the field limit; formula-neutralised.
    Text,
    /// A signed whole number (`-12`, `1,204`).
    Integer,
    /// A decimal number or amount (`-12.50`, `$1,234.56`, `(12.50)`, `5.99`).
    Decimal,
    /// A calendar date: `YYYY-MM-DD`, `YYYYMMDD` or `MM/DD/YYYY` (a time after the date is ignored).
    Date,
    /// A short identifier (stock, deal, RO, VIN, personnel and op codes): at most 64 bytes,
    /// letters, digits and `- _ . / #` only, so it can never hold a formula.
    Code,
}

impl ColumnType {
    /// The name used in the profile table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Date => "date",
            Self::Code => "code",
        }
    }
}

/// One canonical column of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The canonical name (also accepted as a header).
    pub name: &'static str,
    /// The cell type.
    pub ty: ColumnType,
    /// Whether a file without it is refused (`missing_column`).
    pub required: bool,
    /// Headers accepted from every vendor besides the canonical name.
    pub aliases: &'static [&'static str],
}

const fn c(name: &'static str, ty: ColumnType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, ty, required: false, aliases }
}

const fn req(name: &'static str, ty: ColumnType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, ty, required: true, aliases }
}

use ColumnType::{Code, Date, Decimal, Integer, Text};

const SALES: &[ColumnSpec] = &[
    req("deal_number", Code, &["deal", "deal id", "no transaction", "no contrat"]),
    c("deal_date", Date, &["contract date", "sale date", "date contrat", "date vente"]),
    c("stock_number", Code, &["stock"]),
    c("vin", Code, &["niv", "serial number"]),
    c("deal_type", Code, &["sale type", "new used", "type vente"]),
    c("sale_price", Decimal, &["selling price", "cash price", "price", "prix vente"]),
    c("vehicle_cost", Decimal, &["cost"]),
    c("front_gross", Decimal, &["front end gross", "front gross profit"]),
    c("back_gross", Decimal, &["back end gross", "fi gross", "f i gross"]),
    c("reserve", Decimal, &["finance reserve", "dealer reserve", "dealer participation"]),
    c("amount_financed", Decimal, &["amt financed", "montant finance"]),
    c("apr", Decimal, &["rate", "contract rate", "sell rate", "taux"]),
    c("buy_rate", Decimal, &["bank buy rate"]),
    c("term_months", Integer, &["term", "terme"]),
    c("payment", Decimal, &["monthly payment", "paiement"]),
    c("lender_code", Code, &["lender", "bank code", "lienholder code", "finance source"]),
    c("service_contract_amount", Decimal, &["service contract", "extended warranty", "vsc amount"]),
    c("gap_amount", Decimal, &["gap"]),
    c("products_sold", Integer, &["fi products", "product count"]),
    c("salesperson_code", Code, &["salesperson", "salesperson id", "sales rep id", "salesperson1 no", "salesman no"]),
    c("fi_manager_code", Code, &["fi manager", "f i manager", "fi manager id", "fi mgr", "business manager id", "bus mgr id"]),
    c("contract_status", Code, &["funding status", "status"]),
    c("contract_sent_date", Date, &["date sent", "contract sent"]),
    c("funded_date", Date, &["funding date", "date funded"]),
];

const SERVICE: &[ColumnSpec] = &[
    req("ro_number", Code, &["ro", "repair order", "repair order no", "bon travail", "no bt"]),
    c("open_date", Date, &["ro open date", "date ouverture"]),
    c("close_date", Date, &["ro close date", "closed date", "date fermeture"]),
    c("vin", Code, &["niv"]),
    c("advisor_code", Code, &["advisor", "service advisor", "service advisor no", "sa", "writer id", "service writer"]),
    c("technician_code", Code, &["technician", "tech", "tech id", "technician id"]),
    c("pay_type", Code, &["labor type", "labour type", "line type"]),
    c("op_code", Code, &["opcode", "operation code"]),
    c("labour_hours", Decimal, &["labor hours", "actual hours", "clock hours"]),
    c("billed_hours", Decimal, &["sold hours", "flag hours", "flagged hours"]),
    c("labour_sale", Decimal, &["labor sale", "labor sales", "labour sales"]),
    c("parts_sale", Decimal, &["parts sales"]),
    c("labour_cost", Decimal, &["labor cost"]),
    c("warranty_claim_number", Code, &["claim", "warranty claim"]),
    c("warranty_claim_amount", Decimal, &["claim amount", "warranty amount"]),
    c("warranty_paid_amount", Decimal, &["claim paid", "warranty paid"]),
    c("mileage", Integer, &["mileage in", "odometer", "kilometrage", "km"]),
];

const INVENTORY: &[ColumnSpec] = &[
    req("stock_number", Code, &["stock"]),
    c("vin", Code, &["niv"]),
    c("year", Integer, &["model year", "annee"]),
    c("make", Text, &["marque"]),
    c("model", Text, &["modele"]),
    c("trim", Text, &["version"]),
    c("new_used", Code, &["type", "n u"]),
    c("received_date", Date, &["inventory date", "inv date", "in stock date", "date reception"]),
    c("days_in_stock", Integer, &["age", "days"]),
    c("cost", Decimal, &["inv amt", "inventory cost", "cout"]),
    c("list_price", Decimal, &["price", "msrp", "prix"]),
    c("odometer", Integer, &["mileage", "kilometrage", "km"]),
    c("status", Code, &["statut"]),
];

const GL: &[ColumnSpec] = &[
    req("account_number", Code, &["account", "acct no", "gl account", "compte"]),
    c("account_description", Text, &["acct desc", "description"]),
    c("posting_date", Date, &["post date", "accounting date", "transaction date", "date"]),
    c("journal", Code, &["journal id", "journal code"]),
    c("reference", Code, &["reference no", "ref no", "document no"]),
    c("debit", Decimal, &["debit amount"]),
    c("credit", Decimal, &["credit amount"]),
    c("amount", Decimal, &["posting amount", "montant"]),
    c("department", Code, &["dept", "departement"]),
    c("control_number", Code, &["control", "control no"]),
];

/// Vendor-specific headers: (vendor, export, canonical column, headers).
const VENDOR_ALIASES: &[(Dms, Export, &str, &[&str])] = &[
    (Dms::Cdk, Export::Sales, "sale_price", &["CashPrice"]),
    (Dms::Cdk, Export::Sales, "salesperson_code", &["Salesman1No", "SalesPerson1Id"]),
    (Dms::Cdk, Export::Sales, "fi_manager_code", &["FIMgrNo"]),
    (Dms::Cdk, Export::Sales, "lender_code", &["LienHolderNo"]),
    (Dms::Cdk, Export::Service, "advisor_code", &["ServiceAdvisorNo"]),
    (Dms::Cdk, Export::Service, "technician_code", &["TechNo"]),
    (Dms::Cdk, Export::Service, "billed_hours", &["SoldHours"]),
    (Dms::Cdk, Export::Inventory, "received_date", &["InvDate"]),
    (Dms::Cdk, Export::Gl, "account_number", &["AcctNo"]),
    (Dms::Cdk, Export::Gl, "reference", &["RefNo"]),
    (Dms::Reynolds, Export::Sales, "fi_manager_code", &["Bus Mgr #", "Business Mgr ID"]),
    (Dms::Reynolds, Export::Sales, "salesperson_code", &["Sls1 ID", "Sales Person ID"]),
    (Dms::Reynolds, Export::Service, "advisor_code", &["SA #"]),
    (Dms::Reynolds, Export::Service, "technician_code", &["Tech #"]),
    (Dms::Reynolds, Export::Service, "warranty_claim_number", &["Claim #"]),
    (Dms::Reynolds, Export::Gl, "account_number", &["Account #"]),
    (Dms::Dealertrack, Export::Service, "advisor_code", &["Writer ID", "Service Writer ID"]),
    (Dms::Dealertrack, Export::Gl, "reference", &["Document Number"]),
    (Dms::Dealertrack, Export::Sales, "salesperson_code", &["Salesperson Number"]),
    (Dms::Dealertrack, Export::Sales, "fi_manager_code", &["FI Manager Number"]),
    (Dms::Pbs, Export::Sales, "salesperson_code", &["SalespersonRef", "SalesRep1Ref"]),
    (Dms::Pbs, Export::Sales, "fi_manager_code", &["FIManagerRef", "BusinessManagerRef"]),
    (Dms::Pbs, Export::Service, "ro_number", &["RepairOrderNumber"]),
    (Dms::Pbs, Export::Service, "advisor_code", &["ServiceAdvisorRef"]),
    (Dms::Pbs, Export::Service, "technician_code", &["TechnicianRef"]),
    (Dms::Pbs, Export::Gl, "journal", &["JournalCode"]),
    (Dms::Quorum, Export::Sales, "fi_manager_code", &["Business Manager Code"]),
    (Dms::Quorum, Export::Sales, "salesperson_code", &["Salesperson Code"]),
    (Dms::Quorum, Export::Service, "advisor_code", &["Service Advisor Code"]),
    (Dms::Quorum, Export::Service, "technician_code", &["Technician Code"]),
];

const fn base_columns(export: Export) -> &'static [ColumnSpec] {
    match export {
        Export::Sales => SALES,
        Export::Service => SERVICE,
        Export::Inventory => INVENTORY,
        Export::Gl => GL,
    }
}

/// Whether the vendor offers the export (no Quorum GL export is known; see the module docs).
pub const fn has_export(dms: Dms, export: Export) -> bool {
    !matches!((dms, export), (Dms::Quorum, Export::Gl))
}

/// A resolved profile: the allow-list of one vendor's export.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The vendor.
    pub dms: Dms,
    /// The export.
    pub export: Export,
    /// The canonical columns.
    pub columns: &'static [ColumnSpec],
    keys: HashMap<String, usize>,
}

impl Profile {
    /// The profile of `dms`'s `export`, or `None` when the vendor has no such export.
    pub fn get(dms: Dms, export: Export) -> Option<Self> {
        if !has_export(dms, export) {
            return None;
        }
        let columns = base_columns(export);
        let mut keys = HashMap::new();
        for (i, col) in columns.iter().enumerate() {
            keys.insert(match_key(col.name), i);
            for a in col.aliases {
                keys.insert(match_key(a), i);
            }
        }
        for (d, e, name, aliases) in VENDOR_ALIASES {
            if *d == dms
                && *e == export
                && let Some(i) = columns.iter().position(|col| col.name == *name)
            {
                for a in *aliases {
                    keys.insert(match_key(a), i);
                }
            }
        }
        Some(Self { dms, export, columns, keys })
    }

    /// The canonical column a header (as written) names, if it is on the allow-list.
    pub fn resolve(&self, header: &str) -> Option<usize> {
        self.keys.get(&match_key(header)).copied()
    }

    /// The vendor-specific headers of one canonical column.
    pub fn vendor_aliases<'a>(&'a self, column: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        VENDOR_ALIASES
            .iter()
            .filter(move |(d, e, n, _)| *d == self.dms && *e == self.export && *n == column)
            .flat_map(|(_, _, _, a)| a.iter().copied())
    }
}

/// The profile table in Markdown, generated from the data above (the crate docs include the
/// checked-in copy, `src/ingest/PROFILES.md`; a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut out = String::from("## Profile table\n\n");
    out.push_str("Generated from the profile data by `profile::markdown_table()`; `req` marks a required column.\n");
    out.push_str("Every export accepts the canonical name and the common headers; vendor headers apply to that vendor only.\n");
    for &export in Export::ALL {
        let vendors: Vec<&str> = Dms::ALL.iter().filter(|d| has_export(**d, export)).map(|d| d.name()).collect();
        let _ = write!(out, "\n### `{}` (vendors: {})\n\n", export.name(), vendors.join(", "));
        out.push_str("| column | type | req | common headers | vendor headers (assumed) |\n|---|---|---|---|---|\n");
        for col in base_columns(export) {
            let vendor: Vec<String> = VENDOR_ALIASES
                .iter()
                .filter(|(_, e, n, _)| *e == export && *n == col.name)
                .map(|(d, _, _, a)| format!("{}: {}", d.name(), a.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(" ")))
                .collect();
            let common: Vec<String> = col.aliases.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                col.name,
                col.ty.name(),
                if col.required { "req" } else { "" },
                common.join(" "),
                vendor.join("; ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::pii;

    #[test]
    fn docs_table_matches_the_data() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ingest/PROFILES.md");
        let generated = markdown_table();
        if std::env::var_os("UPDATE_PROFILES_MD").is_some() {
            std::fs::write(path, &generated).expect("write PROFILES.md");
        }
        let on_disk = std::fs::read_to_string(path).expect("read PROFILES.md");
        assert!(on_disk == generated, "src/ingest/PROFILES.md is stale: rerun with UPDATE_PROFILES_MD=1");
    }

    #[test]
    fn no_allowed_header_is_pii_and_no_two_columns_share_a_key() {
        for &dms in Dms::ALL {
            for &export in Export::ALL {
                let Some(p) = Profile::get(dms, export) else { continue };
                let mut seen = HashMap::new();
                for (i, col) in p.columns.iter().enumerate() {
                    let headers = std::iter::once(col.name).chain(col.aliases.iter().copied()).chain(p.vendor_aliases(col.name));
                    for h in headers {
                        assert_eq!(pii::classify(h), None, "{h} in {dms:?}/{export:?} is classed as PII");
                        assert_eq!(p.resolve(h), Some(i), "{h} in {dms:?}/{export:?}");
                        if let Some(prev) = seen.insert(match_key(h), i) {
                            assert_eq!(prev, i, "{h} maps to two columns");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn vendor_headers_do_not_leak_across_vendors() {
        let cdk = Profile::get(Dms::Cdk, Export::Service).unwrap();
        let pbs = Profile::get(Dms::Pbs, Export::Service).unwrap();
        assert!(pbs.resolve("ServiceAdvisorRef").is_some());
        assert!(cdk.resolve("ServiceAdvisorRef").is_none());
        assert!(Profile::get(Dms::Quorum, Export::Gl).is_none());
    }
}
