//! DMS CSV ingest: profiles, the customer-PII header refusal, hostile-input checks, formula
//! neutralisation, and the `ingest_record` claim.
//!
//! # What a file goes through
//!
//! [`check`] reads any [`Read`] once, row by row, and never holds more than the sniff window
//! ([`tap::SNIFF_BYTES`]), the parser's buffer ([`CSV_BUFFER_BYTES`]) and one record (at most
//! [`Limits::max_record_bytes`]); [`Stats`] reports what it held. In order:
//!
//! 1. **Sniff** the first 8 KiB: a known binary signature (`infer`: zip/xlsx/docx, pdf, png,
//!    jpeg, gif, exe/elf, gzip, ... and html/xml/shell scripts) or NUL-heavy bytes (at least 4
//!    NULs and at least 1%) → `not_csv`; a UTF-16/32 BOM → `encoding`; nothing (or only a
//!    BOM) → `empty`. A UTF-8 BOM is skipped.
//! 2. **Header** (row 1): every header is folded ([`header`]) and checked by the PII rule
//!    ([`pii`]); each PII header gives one `pii_column` error naming the column exactly as
//!    written. Other headers must be on the profile's allow-list ([`profile`]) or give
//!    `unknown_column`; two headers for one canonical column give `duplicate_column`; an absent
//!    required column gives `missing_column`. Any header error refuses the file before a single
//!    data row is read.
//! 3. **Rows**: a row with a different field count → `ragged_row`; a NUL byte → `nul_byte`;
//!    bytes that are not UTF-8 (or, only when [`DeclaredEncoding::Windows1252`] is declared,
//!    are transcoded from Windows-1252) → `encoding`; a typed cell that does not parse →
//!    `invalid_value`. Text cells starting with `=`, `+`, `-`, `@`, TAB or CR are neutralised by
//!    prefixing `'` (OWASP, "CSV Injection") and counted; typed cells are parsed, never
//!    neutralised, so `-12.50` in an amount column is the number −12.50, and `-2+3` there is an
//!    `invalid_value`. Codes (stock, deal, RO numbers, VINs, personnel codes) admit no formula
//!    characters at all.
//! 4. **Limits** ([`Limits`], defaults below): the whole file, one field, one record, the
//!    number of columns → `too_large`, found by the [`tap`] before the parser buffers them.
//!    A quoted field still open at end of file → `unclosed_quote` (the `csv` crate accepts it
//!    silently; the tap's own quote tracker finds it).
//!
//! After [`Limits::max_errors`] errors the rest is not read (`too_many_errors`). A file is
//! accepted only with no error at all; rows handed to the `on_row` callback before a later
//! error are provisional, so a consumer must discard them unless the [`Report`] says accepted.
//!
//! | limit | default |
//! |---|---|
//! | file | 4 GiB |
//! | field | 32 KiB |
//! | record | 1 MiB |
//! | columns | 256 |
//! | errors reported | 100 |
//!
//! Rows are numbered from 1 with the header as row 1, so the first data row is row 2; columns
//! are named as the file's header writes them. Error messages never quote cell contents.
//!
//! # The claim
//!
//! [`ingest_file`] checks a file and writes one `ingest_record` claim through any
//! [`ClaimSink`](evidence_core::sink::ClaimSink) — see [`claim`] for the body. A refused file's claim records only error kinds,
//! rows and column *indexes* (never header text, which in a headerless file would be data);
//! nothing of the file's content is stored either way.
//!
//! # The CLI
//!
//! See [`cli`]: `pipeline check` (writes nothing) and `pipeline ingest`, which appends the
//! file's claim to a ledger server (`--server URL`, with a token) through the typed client's
//! `ClaimSink` ([`crate::sinks`]); [`ingest_file`] takes any `ClaimSink`.
//!
//! The analyzers, their consumers and the name-leak gate that run on accepted files are in
//! [`crate::analyze`] (`pipeline analyze`).

use std::io::Read;

pub mod claim;
pub mod cli;
pub mod error;
pub mod header;
pub mod pii;
pub mod profile;
pub mod tap;
pub mod value;

pub use claim::{IngestOutcome, ingest_file, ingest_request};
pub use error::{ErrorKind, IngestError, ReadError};
pub use profile::{ColumnSpec, ColumnType, Dms, Export, Profile};
pub use value::{Cell, Date, Decimal};

use tap::{Overflow, Sniff, Tap};

/// The parser's buffer size, in bytes.
pub const CSV_BUFFER_BYTES: usize = 64 * 1024;

/// Configurable limits. See the module docs for the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file, in bytes.
    pub max_file_bytes: u64,
    /// The largest field, in bytes (quotes not counted).
    pub max_field_bytes: u64,
    /// The largest record, in bytes.
    pub max_record_bytes: u64,
    /// The most columns in the header.
    pub max_columns: usize,
    /// How many errors are reported before reading stops.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_file_bytes: 4 << 30, max_field_bytes: 32 << 10, max_record_bytes: 1 << 20, max_columns: 256, max_errors: 100 }
    }
}

/// The encoding the caller declares for a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum DeclaredEncoding {
    /// UTF-8 (a BOM is allowed). The default; invalid bytes are refused.
    #[default]
    #[value(name = "utf-8")]
    Utf8,
    /// Windows-1252, transcoded to UTF-8. Only when the sender says so: every byte string is
    /// valid Windows-1252, so it can never be detected.
    #[value(name = "windows-1252", alias = "cp1252")]
    Windows1252,
}

impl DeclaredEncoding {
    /// The name recorded in claims.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Windows1252 => "windows-1252",
        }
    }
}

/// How to check a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The declared encoding.
    pub encoding: DeclaredEncoding,
    /// The limits.
    pub limits: Limits,
    /// Whether to compute the file's SHA-256 ([`ingest_file`] always does).
    pub hash: bool,
}

/// What [`check`] held in memory and read, from its own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Raw bytes read from the input.
    pub bytes_read: u64,
    /// The longest record handed over by the parser, in bytes (fields only, no quotes).
    pub peak_record_bytes: usize,
    /// The most text held in one row's cells, in bytes.
    pub peak_row_text_bytes: usize,
    /// The bytes held at most, as the sum of the sniff window, the parser's buffer and the two
    /// peaks above (the parser's per-field offsets and allocator slack are not counted).
    pub peak_buffered_bytes: usize,
}

/// The verdict on one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// True when there is no error.
    pub accepted: bool,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Text cells neutralised.
    pub neutralised: u64,
    /// Every error, in the order found (at most `max_errors` + 1).
    pub errors: Vec<IngestError>,
    /// The canonical columns the file has, in the file's order.
    pub columns: Vec<&'static str>,
    /// The file's SHA-256, when asked for.
    pub sha256: Option<[u8; 32]>,
    /// Memory and byte counters.
    pub stats: Stats,
}

/// One accepted-so-far data row, in canonical column order (absent columns are
/// [`Cell::Empty`]).
#[derive(Debug)]
pub struct Row<'a> {
    /// The 1-based record number (header = 1).
    pub number: u64,
    /// The canonical columns of the profile.
    pub columns: &'static [ColumnSpec],
    /// One cell per canonical column.
    pub cells: &'a [Cell],
}

struct Run<'p> {
    profile: &'p Profile,
    opts: Options,
    errors: Vec<IngestError>,
    headers: Vec<String>,
    to_canon: Vec<usize>,
    rows: u64,
    neutralised: u64,
    stats: Stats,
}

impl Run<'_> {
    /// Records an error; false when the error budget is spent.
    fn push(&mut self, e: IngestError) -> bool {
        if self.errors.len() >= self.opts.limits.max_errors {
            self.errors.push(IngestError::file(
                ErrorKind::TooManyErrors,
                format!("more than {} errors; the rest of the file was not checked", self.opts.limits.max_errors),
            ));
            return false;
        }
        self.errors.push(e);
        true
    }

    fn column(&self, i: usize) -> Option<&str> {
        self.headers.get(i).map(String::as_str)
    }

    fn decode<'b>(&self, bytes: &'b [u8]) -> Option<std::borrow::Cow<'b, str>> {
        match self.opts.encoding {
            DeclaredEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed),
            DeclaredEncoding::Windows1252 => Some(encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0),
        }
    }

    /// Checks the header; true when it is acceptable.
    fn header(&mut self, rec: &csv::ByteRecord) -> bool {
        if rec.len() > self.opts.limits.max_columns {
            self.push(IngestError::at_row(
                ErrorKind::TooLarge,
                1,
                format!("{} columns, over the {}-column limit", rec.len(), self.opts.limits.max_columns),
            ));
            return false;
        }
        for (i, raw) in rec.iter().enumerate() {
            if raw.contains(&0) {
                self.push(IngestError {
                    kind: ErrorKind::NulByte,
                    column: None,
                    row: Some(1),
                    message: format!("NUL byte in header field {}", i + 1),
                    column_index: Some(i),
                });
                return false;
            }
            let Some(h) = self.decode(raw) else {
                self.push(IngestError {
                    kind: ErrorKind::Encoding,
                    column: None,
                    row: Some(1),
                    message: format!("header field {} is not valid {}", i + 1, self.opts.encoding.name()),
                    column_index: Some(i),
                });
                return false;
            };
            self.headers.push(h.into_owned());
        }
        let mut ok = true;
        let mut seen: Vec<Option<usize>> = vec![None; self.profile.columns.len()];
        for i in 0..self.headers.len() {
            let h = self.headers[i].clone();
            if let Some(class) = pii::classify(&h) {
                ok = false;
                if !self.push(IngestError::at_cell(
                    ErrorKind::PiiColumn,
                    1,
                    i,
                    Some(&h),
                    format!("header names {}: the whole file is refused", class.describe()),
                )) {
                    return false;
                }
                continue;
            }
            let Some(c) = self.profile.resolve(&h) else {
                ok = false;
                let msg = format!("not on the {} {} allow-list", self.profile.dms.name(), self.profile.export.name());
                if !self.push(IngestError::at_cell(ErrorKind::UnknownColumn, 1, i, Some(&h), msg)) {
                    return false;
                }
                continue;
            };
            if let Some(first) = seen[c] {
                ok = false;
                let msg = format!("names the same column ({}) as header field {}", self.profile.columns[c].name, first + 1);
                if !self.push(IngestError::at_cell(ErrorKind::DuplicateColumn, 1, i, Some(&h), msg)) {
                    return false;
                }
            } else {
                seen[c] = Some(i);
            }
            self.to_canon.push(c);
        }
        for (c, col) in self.profile.columns.iter().enumerate() {
            if col.required && seen[c].is_none() {
                ok = false;
                if !self.push(IngestError::at_row(ErrorKind::MissingColumn, 1, format!("required column {} is absent", col.name))) {
                    return false;
                }
            }
        }
        ok
    }

    /// Checks one data row into `cells`; false when the error budget is spent.
    fn row(&mut self, number: u64, rec: &csv::ByteRecord, cells: &mut [Cell]) -> (bool, bool) {
        let before = self.errors.len();
        if rec.len() != self.headers.len() {
            let fields = |n: usize| format!("{n} {}", if n == 1 { "field" } else { "fields" });
            let msg = format!("{}, the header has {}", fields(rec.len()), fields(self.headers.len()));
            return (self.push(IngestError::at_row(ErrorKind::RaggedRow, number, msg)), false);
        }
        if memchr::memchr(0, rec.as_slice()).is_some() {
            let i = rec.iter().position(|f| f.contains(&0)).unwrap_or(0);
            let e = IngestError::at_cell(ErrorKind::NulByte, number, i, self.column(i), "NUL byte in field");
            return (self.push(e), false);
        }
        let mut text = 0;
        for (i, raw) in rec.iter().enumerate() {
            let Some(s) = self.decode(raw) else {
                let e = IngestError::at_cell(
                    ErrorKind::Encoding,
                    number,
                    i,
                    self.column(i),
                    format!("not valid {}", self.opts.encoding.name()),
                );
                if !self.push(e) {
                    return (false, false);
                }
                continue;
            };
            let c = self.to_canon[i];
            let (Some(spec), Some(cell)) = (self.profile.columns.get(c), cells.get_mut(c)) else { continue };
            let trimmed = s.trim();
            if trimmed.is_empty() && spec.ty != ColumnType::Text {
                *cell = Cell::Empty;
                continue;
            }
            let parsed = match spec.ty {
                ColumnType::Text => {
                    let n = value::needs_neutralising(&s);
                    self.neutralised += u64::from(n);
                    cell.set_text(&s, n);
                    text += s.len() + 1;
                    true
                }
                ColumnType::Code => {
                    let ok = value::is_code(trimmed);
                    if ok {
                        cell.set_code(trimmed);
                        text += trimmed.len();
                    }
                    ok
                }
                ColumnType::Integer => value::parse_integer(trimmed).map(|v| *cell = Cell::Integer(v)).is_some(),
                ColumnType::Decimal => value::parse_decimal(trimmed).map(|v| *cell = Cell::Decimal(v)).is_some(),
                ColumnType::Date => value::parse_date(trimmed).map(|v| *cell = Cell::Date(v)).is_some(),
            };
            if !parsed {
                let what = match spec.ty {
                    ColumnType::Code => "a code (1 to 64 letters, digits, spaces or - _ . / #, starting with a letter or digit)",
                    ColumnType::Integer => "an integer",
                    ColumnType::Decimal => "a decimal number",
                    ColumnType::Date => "a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)",
                    ColumnType::Text => "text",
                };
                let e = IngestError::at_cell(
                    ErrorKind::InvalidValue,
                    number,
                    i,
                    self.column(i),
                    format!("expected {what} in column {}", spec.name),
                );
                if !self.push(e) {
                    return (false, false);
                }
            }
        }
        self.stats.peak_row_text_bytes = self.stats.peak_row_text_bytes.max(text);
        (true, self.errors.len() == before)
    }
}

fn sniff_error(s: &Sniff) -> Option<IngestError> {
    match s {
        Sniff::Empty => Some(IngestError::file(ErrorKind::Empty, "the file is empty")),
        Sniff::Binary(mime) => Some(IngestError::file(ErrorKind::NotCsv, format!("content is {mime}, not CSV text"))),
        Sniff::NulHeavy(n) => Some(IngestError::file(
            ErrorKind::NotCsv,
            format!("{n} NUL bytes in the first {} bytes: binary, not CSV text", tap::SNIFF_BYTES),
        )),
        Sniff::WideText => Some(IngestError::file(ErrorKind::Encoding, "UTF-16/UTF-32 text is not accepted; export as UTF-8")),
        Sniff::Text => None,
    }
}

/// Checks one file against `profile`, streaming; calls `on_row` for each data row that had
/// no error (provisional until the report says accepted). Writes nothing.
///
/// # Errors
/// [`ReadError`] only when the input could not be read; everything wrong with its content is
/// in the [`Report`].
pub fn check<R: Read>(profile: &Profile, input: R, opts: &Options, mut on_row: impl FnMut(&Row<'_>)) -> Result<Report, ReadError> {
    let l = opts.limits;
    let mut tap = Tap::new(input, l.max_file_bytes, l.max_field_bytes, l.max_record_bytes, opts.hash);
    let mut run = Run {
        profile,
        opts: *opts,
        errors: Vec::new(),
        headers: Vec::new(),
        to_canon: Vec::new(),
        rows: 0,
        neutralised: 0,
        stats: Stats::default(),
    };
    let finish = |run: Run<'_>, tap: &mut Tap<R>| {
        let mut stats = run.stats;
        stats.bytes_read = tap.raw_bytes();
        stats.peak_buffered_bytes = tap::SNIFF_BYTES + CSV_BUFFER_BYTES + stats.peak_record_bytes + stats.peak_row_text_bytes;
        let columns = run.to_canon.iter().filter_map(|&c| run.profile.columns.get(c).map(|s| s.name)).collect();
        Report {
            accepted: run.errors.is_empty(),
            rows: run.rows,
            neutralised: run.neutralised,
            errors: run.errors,
            columns,
            sha256: tap.finish_hash(),
            stats,
        }
    };
    match tap.prime() {
        Ok(s) => {
            if let Some(e) = sniff_error(&s) {
                run.push(e);
                return Ok(finish(run, &mut tap));
            }
        }
        Err(e) => {
            if tap.overflow().is_none() {
                return Err(ReadError::Io(e));
            }
            run.push(IngestError::file(ErrorKind::TooLarge, format!("file is over the {}-byte limit", l.max_file_bytes)));
            return Ok(finish(run, &mut tap));
        }
    }
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(CSV_BUFFER_BYTES).from_reader(tap);
    let mut rec = csv::ByteRecord::new();
    let mut cells: Vec<Cell> = vec![Cell::Empty; profile.columns.len()];
    let mut number = 0u64;
    let mut header_ok = false;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = rdr.get_ref().overflow();
                let Some(at) = at else {
                    return Err(match e.into_kind() {
                        csv::ErrorKind::Io(io) => ReadError::Io(io),
                        other => ReadError::Io(std::io::Error::other(format!("csv: {other:?}"))),
                    });
                };
                let e = match at.what {
                    Overflow::File => IngestError::file(ErrorKind::TooLarge, format!("file is over the {}-byte limit", l.max_file_bytes)),
                    Overflow::Record => {
                        IngestError::at_row(ErrorKind::TooLarge, at.row, format!("record is over the {}-byte limit", l.max_record_bytes))
                    }
                    Overflow::Field(i) => IngestError::at_cell(
                        ErrorKind::TooLarge,
                        at.row,
                        i,
                        run.column(i),
                        format!("field is over the {}-byte limit", l.max_field_bytes),
                    ),
                };
                run.push(e);
                let mut tap = rdr.into_inner();
                return Ok(finish(run, &mut tap));
            }
        }
        number += 1;
        run.stats.peak_record_bytes = run.stats.peak_record_bytes.max(rec.as_slice().len());
        if number == 1 {
            header_ok = run.header(&rec);
            if !header_ok {
                break;
            }
            continue;
        }
        run.rows += 1;
        let (more, clean) = run.row(number, &rec, &mut cells);
        if clean && run.errors.is_empty() {
            on_row(&Row { number, columns: profile.columns, cells: &cells });
        }
        if !more {
            break;
        }
    }
    let mut tap = rdr.into_inner();
    if header_ok
        && run.errors.len() <= l.max_errors
        && let Some((row, field)) = tap.open_quote()
    {
        let e = IngestError::at_cell(ErrorKind::UnclosedQuote, row, field, run.column(field), "quoted field is never closed");
        run.push(e);
    }
    if number == 0 {
        run.push(IngestError::file(ErrorKind::Empty, "the file has no header"));
    } else if header_ok && run.rows == 0 {
        run.push(IngestError::file(ErrorKind::Empty, "the file has a header and no data rows"));
    }
    Ok(finish(run, &mut tap))
}
