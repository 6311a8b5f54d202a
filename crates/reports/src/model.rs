//! The report's input: a plain data model the server fills from the ledger.
//!
//! Everything the PDF shows comes from here, including the "generated at" time (the server
//! passes the cut checkpoint's seal time, never the clock), so the same input always renders
//! to the same bytes. Values that must have a shape (dates, hex digests, personnel codes) are
//! checked by [`ReportInput::validate`], which [`crate::render()`] calls first.

use evidence_core::types::UnixMillis;

/// A calendar date (proleptic Gregorian), e.g. a period bound or a deal date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 1970..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 (checked against the month).
    pub day: u8,
}

impl Date {
    /// A checked date.
    ///
    /// # Errors
    /// [`InputError::Date`] when the day does not exist.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InputError> {
        let d = Self { year, month, day };
        if (1970..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Ok(d)
        } else {
            Err(InputError::Date { value: format!("{year:04}-{month:02}-{day:02}") })
        }
    }

    /// Parses `YYYY-MM-DD` (the query-string form of the report endpoint).
    ///
    /// # Errors
    /// [`InputError::Date`].
    pub fn parse(s: &str) -> Result<Self, InputError> {
        let bad = || InputError::Date { value: s.chars().take(32).collect() };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num =
            |r: std::ops::Range<usize>| s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit())).and_then(|t| t.parse::<u16>().ok());
        let (y, m, d) = (num(0..4).ok_or_else(bad)?, num(5..7).ok_or_else(bad)?, num(8..10).ok_or_else(bad)?);
        Self::new(y, u8::try_from(m).map_err(|_| bad())?, u8::try_from(d).map_err(|_| bad())?).map_err(|_| bad())
    }

    /// The UTC date of an instant.
    pub fn of(t: UnixMillis) -> Self {
        let days = t.0.div_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        Self { year: u16::try_from(y).unwrap_or(9999), month: m, day: d }
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(i64::from(self.year), self.month, self.day)
    }

    /// The Monday that starts this date's ISO week.
    #[must_use]
    pub fn week_start(self) -> Self {
        let days = self.days_since_epoch();
        // 1970-01-01 was a Thursday: weekday index with Monday = 0.
        let weekday = (days + 3).rem_euclid(7);
        let (y, m, d) = civil_from_days(days - weekday);
        Self { year: u16::try_from(y).unwrap_or(1970), month: m, day: d }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since the epoch of a civil date (the usual era-based computation).
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since the epoch.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u8::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u8::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The reporting period, both bounds inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

/// The checkpoint the report was cut at: every listed claim is in the tree it seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutCheckpoint {
    /// Checkpoint sequence number.
    pub seq: u64,
    /// Tree size it seals.
    pub tree_size: u64,
    /// Merkle root, 64 hex digits.
    pub root_hex: String,
    /// `checkpoint_hash` (SHA-256 of the note body), 64 hex digits: what both rails anchor.
    pub checkpoint_hash_hex: String,
    /// When the ledger sealed it.
    pub sealed_at: UnixMillis,
    /// The RFC 3161 anchor, if it is in.
    pub tsa: Option<TsaStamp>,
    /// The Fabric transaction that anchors it, if it is in.
    pub fabric: Option<FabricTx>,
}

/// A Fabric anchor transaction as the report shows it: the block holding it and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricTx {
    /// The block's number on the channel.
    pub block: u64,
    /// The transaction id (hex), when the stored receipt names one.
    pub tx_id: Option<String>,
}

/// An RFC 3161 stamp as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsaStamp {
    /// The TSA's name (e.g. its certificate subject or configured name).
    pub name: String,
    /// The token's genTime.
    pub gen_time: UnixMillis,
}

/// An anchoring rail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rail {
    /// RFC 3161 time-stamp.
    Tsa,
    /// Hyperledger Fabric private channel.
    Fabric,
}

impl Rail {
    /// Its short name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Rail::Tsa => "RFC 3161",
            Rail::Fabric => "Fabric",
        }
    }
}

/// How long a checkpoint waited for its anchor on one rail (seal to anchor), for the plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorDelay {
    /// The checkpoint.
    pub checkpoint_seq: u64,
    /// The rail.
    pub rail: Rail,
    /// Seal time to anchor time, milliseconds.
    pub delay_ms: u64,
}

/// A claim's anchoring state on one rail.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnchorState {
    /// Queued in the outbox.
    Pending,
    /// Anchored (TSA genTime or Fabric block time).
    Anchored,
    /// The outbox gave up for now; the text says why (no internal detail).
    Failed(String),
}

/// A personnel code (staff are never named in a report): 1 to 32 of `A-Z a-z 0-9 - _ .`,
/// starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonnelCode(String);

impl PersonnelCode {
    /// A checked code.
    ///
    /// # Errors
    /// [`InputError::PersonnelCode`].
    pub fn new(code: &str) -> Result<Self, InputError> {
        let ok = (1..=32).contains(&code.len())
            && code.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && code.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
        if ok { Ok(Self(code.to_owned())) } else { Err(InputError::PersonnelCode { value: code.chars().take(40).collect() }) }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operational identifier (kept by the redactor: not personal data).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationalId {
    /// Deal number.
    Deal(String),
    /// Repair order number.
    RepairOrder(String),
    /// Stock number.
    Stock(String),
    /// Vehicle identification number.
    Vin(String),
}

impl OperationalId {
    /// Label and value, as rendered.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            OperationalId::Deal(v) => ("deal", v),
            OperationalId::RepairOrder(v) => ("RO", v),
            OperationalId::Stock(v) => ("stock", v),
            OperationalId::Vin(v) => ("VIN", v),
        }
    }
}

/// An amount in cents of the report's currency, with what it measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    /// What it is (e.g. `reserve`, `at stake`).
    pub label: String,
    /// Cents (negative allowed).
    pub cents: i64,
}

impl Amount {
    /// Parses a decimal string as the pipeline writes it (`"1250.00"`, `"-3.5"`, `"12"`):
    /// at most two decimals.
    ///
    /// # Errors
    /// [`InputError::Amount`].
    pub fn parse_cents(s: &str) -> Result<i64, InputError> {
        let bad = || InputError::Amount { value: s.chars().take(32).collect() };
        let (neg, body) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty()
            || int.len() > 15
            || frac.len() > 2
            || (body.contains('.') && frac.is_empty())
            || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = int.parse().map_err(|_| bad())?;
        let mut f: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        if frac.len() == 1 {
            f *= 10;
        }
        let v = whole.checked_mul(100).and_then(|w| w.checked_add(f)).ok_or_else(bad)?;
        Ok(if neg { -v } else { v })
    }
}

/// A dated fact of a finding (e.g. `contract` 2026-03-02).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatedFact {
    /// What the date is.
    pub label: String,
    /// The date.
    pub date: Date,
}

/// A finding's standing in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Neither retracted nor superseded.
    Active,
    /// A `retraction` claim (sequence number `by`) retracted it.
    Retracted {
        /// The retraction claim's sequence number.
        by: u64,
        /// Its reason.
        reason: String,
    },
    /// A `supersession` claim (sequence number `by`) replaced it.
    Superseded {
        /// The superseding claim's sequence number.
        by: u64,
    },
}

/// One row of the findings table: one claim in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Claim kind (e.g. `leakage_finding`).
    pub kind: String,
    /// Analyzer (e.g. `cit`); the summary plots group by it.
    pub analyzer: String,
    /// Rule (e.g. `cit.aged_contract`).
    pub rule: String,
    /// Personnel codes of the staff concerned (codes only: see [`PersonnelCode`]).
    pub personnel: Vec<PersonnelCode>,
    /// The amount at stake, cents (summed in the summary), if any.
    pub at_stake_cents: Option<i64>,
    /// Other amounts shown in the row.
    pub amounts: Vec<Amount>,
    /// The business date the finding is about (the per-week plot groups by its week).
    pub date: Date,
    /// Other dates shown in the row.
    pub dates: Vec<DatedFact>,
    /// Deal, RO, stock, VIN.
    pub identifiers: Vec<OperationalId>,
    /// SHA-256 of the claim's canonical bytes, 64 hex digits.
    pub content_hash_hex: String,
    /// Leaf index in the tenant's log (the claim's sequence number).
    pub leaf_index: u64,
    /// The first checkpoint that seals the leaf.
    pub checkpoint_seq: u64,
    /// That checkpoint's TSA genTime, once anchored.
    pub tsa_gen_time: Option<UnixMillis>,
    /// Anchoring state per rail.
    pub anchoring: Vec<(Rail, AnchorState)>,
    /// The Fabric transaction anchoring that checkpoint, once anchored there.
    pub fabric: Option<FabricTx>,
    /// Active, retracted or superseded.
    pub status: Status,
}

/// A file attached to the PDF (`/EmbeddedFiles`, `/AFRelationship /Supplement`): the
/// evidence bundle of listed claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// File name inside the PDF (e.g. `claim-17.bundle.json`).
    pub file_name: String,
    /// Its bytes, embedded unchanged.
    pub bytes: Vec<u8>,
    /// Its description.
    pub description: String,
    /// MIME type (e.g. `application/json`).
    pub mime_type: String,
}

/// Everything the report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportInput {
    /// Tenant id.
    pub tenant: String,
    /// Ledger name (the checkpoint key's origin name).
    pub ledger: String,
    /// Reporting period.
    pub period: Period,
    /// When the report counts as generated: from the data (e.g. the cut checkpoint's seal time).
    pub generated_at: UnixMillis,
    /// The trust material (TSA, Fabric, ledger key, report-signing CA) is development
    /// material: every page then says "DEVELOPMENT: not evidence".
    pub development: bool,
    /// ISO 4217 code the amounts are in (e.g. `CAD`).
    pub currency: String,
    /// The checkpoint the report was cut at.
    pub checkpoint: CutCheckpoint,
    /// Anchoring delays per checkpoint and rail (the summary's delay plot).
    pub anchor_delays: Vec<AnchorDelay>,
    /// The findings table, in the order to show.
    pub findings: Vec<Finding>,
    /// Files to attach (the evidence bundles).
    pub attachments: Vec<Attachment>,
    /// Where the verifier's trust file comes from, in a sentence for the "How to verify" page
    /// (e.g. "the ledger operator publishes trust.json at ...").
    pub trust_file_source: String,
}

/// Why an input cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not a valid date.
    #[error("not a valid YYYY-MM-DD date: {value:?}")]
    Date {
        /// The value.
        value: String,
    },
    /// The period ends before it starts.
    #[error("the period ends ({to}) before it starts ({from})")]
    Period {
        /// Start.
        from: Date,
        /// End.
        to: Date,
    },
    /// Not a personnel code.
    #[error("not a personnel code: {value:?} (1-32 of A-Z a-z 0-9 - _ ., starting alphanumeric)")]
    PersonnelCode {
        /// The value (truncated).
        value: String,
    },
    /// Not an amount.
    #[error("not a decimal amount with at most two decimals: {value:?}")]
    Amount {
        /// The value.
        value: String,
    },
    /// A digest field is not 64 hex digits.
    #[error("{field} is not 64 hex digits: {value:?}")]
    Hex {
        /// Which field.
        field: &'static str,
        /// The value (truncated).
        value: String,
    },
    /// A text field holds a control character (other than none allowed) or is too long.
    #[error("{field} holds a control character or is longer than {max} characters")]
    Text {
        /// Which field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// Two attachments share a file name.
    #[error("two attachments are named {name:?}")]
    DuplicateAttachment {
        /// The name.
        name: String,
    },
}

fn check_hex(field: &'static str, v: &str) -> Result<(), InputError> {
    if v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(InputError::Hex { field, value: v.chars().take(80).collect() })
    }
}

fn check_text(field: &'static str, v: &str, max: usize) -> Result<(), InputError> {
    if v.chars().count() > max || v.chars().any(char::is_control) { Err(InputError::Text { field, max }) } else { Ok(()) }
}

impl ReportInput {
    /// The content hashes of the listed claims, in table order: what the `report_issued`
    /// claim names so that a report can be proven to have said what it said.
    pub fn listed_content_hashes(&self) -> Vec<&str> {
        self.findings.iter().map(|f| f.content_hash_hex.as_str()).collect()
    }

    /// Checks the shapes the renderer relies on: digests are hex, texts have no control
    /// characters and bounded lengths, the period is ordered, attachment names are unique.
    ///
    /// # Errors
    /// The first [`InputError`] found.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.period.to < self.period.from {
            return Err(InputError::Period { from: self.period.from, to: self.period.to });
        }
        check_text("tenant", &self.tenant, 64)?;
        check_text("ledger", &self.ledger, 200)?;
        check_text("currency", &self.currency, 8)?;
        check_text("trust_file_source", &self.trust_file_source, 2000)?;
        check_hex("checkpoint.root_hex", &self.checkpoint.root_hex)?;
        check_hex("checkpoint.checkpoint_hash_hex", &self.checkpoint.checkpoint_hash_hex)?;
        if let Some(t) = &self.checkpoint.tsa {
            check_text("checkpoint.tsa.name", &t.name, 300)?;
        }
        if let Some(id) = self.checkpoint.fabric.as_ref().and_then(|f| f.tx_id.as_ref()) {
            check_text("checkpoint.fabric.tx_id", id, 128)?;
        }
        for f in &self.findings {
            check_hex("finding.content_hash_hex", &f.content_hash_hex)?;
            check_text("finding.kind", &f.kind, 64)?;
            check_text("finding.analyzer", &f.analyzer, 64)?;
            check_text("finding.rule", &f.rule, 128)?;
            for a in &f.amounts {
                check_text("finding.amounts.label", &a.label, 64)?;
            }
            for d in &f.dates {
                check_text("finding.dates.label", &d.label, 64)?;
            }
            for i in &f.identifiers {
                check_text("finding.identifiers", i.parts().1, 64)?;
            }
            for (_, s) in &f.anchoring {
                if let AnchorState::Failed(why) = s {
                    check_text("finding.anchoring.failed", why, 300)?;
                }
            }
            if let Some(id) = f.fabric.as_ref().and_then(|f| f.tx_id.as_ref()) {
                check_text("finding.fabric.tx_id", id, 128)?;
            }
            if let Status::Retracted { reason, .. } = &f.status {
                check_text("finding.status.reason", reason, 500)?;
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for a in &self.attachments {
            check_text("attachment.file_name", &a.file_name, 200)?;
            check_text("attachment.description", &a.description, 500)?;
            check_text("attachment.mime_type", &a.mime_type, 100)?;
            if !names.insert(a.file_name.as_str()) {
                return Err(InputError::DuplicateAttachment { name: a.file_name.clone() });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_day_counts() {
        for days in [0_i64, 59, 60, 365, 10_957, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Date::parse("2026-03-01").unwrap().days_since_epoch(), 20_513);
        assert_eq!(Date::of(UnixMillis(1_795_000_000_120)).to_string(), "2026-11-18");
    }

    #[test]
    fn week_starts_on_monday() {
        // 2026-11-18 is a Wednesday.
        assert_eq!(Date::parse("2026-11-18").unwrap().week_start().to_string(), "2026-11-16");
        assert_eq!(Date::parse("2026-11-16").unwrap().week_start().to_string(), "2026-11-16");
        assert_eq!(Date::parse("2027-01-03").unwrap().week_start().to_string(), "2026-12-28");
    }

    #[test]
    fn bad_dates_and_amounts_are_refused() {
        for s in ["2026-02-29", "2026-13-01", "2026-1-01", "20260101", "2026-01-0x", "１２３４-01-01"] {
            assert!(Date::parse(s).is_err(), "{s}");
        }
        assert!(Date::parse("2028-02-29").is_ok());
        assert_eq!(Amount::parse_cents("1250.00").unwrap(), 125_000);
        assert_eq!(Amount::parse_cents("-3.5").unwrap(), -350);
        assert_eq!(Amount::parse_cents("12").unwrap(), 1200);
        for s in ["", "1.234", "1e3", "--1", "1.", ".5", "999999999999999999"] {
            assert!(Amount::parse_cents(s).is_err(), "{s}");
        }
    }

    #[test]
    fn personnel_codes_are_codes() {
        assert!(PersonnelCode::new("FI-07").is_ok());
        for s in ["", "Jane Doe", "-x", "a/b", &"x".repeat(33)] {
            assert!(PersonnelCode::new(s).is_err(), "{s}");
        }
    }
}
