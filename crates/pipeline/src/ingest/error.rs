//! Why a file was refused: stable error kinds with row and column.

use serde::Serialize;

/// The stable kind of a refusal. Its [`name`](Self::name) is what `pipeline check --json`
/// prints and what ingest claims record; names never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A header names customer (or other person) PII. One error per offending column.
    PiiColumn,
    /// A header is not in the profile's allow-list.
    UnknownColumn,
    /// Two headers name the same canonical column.
    DuplicateColumn,
    /// A column the profile requires is absent.
    MissingColumn,
    /// The content is not CSV text (a known binary signature, or NUL-heavy bytes).
    NotCsv,
    /// The bytes are not valid in the file's encoding (UTF-8 unless Windows-1252 was declared).
    Encoding,
    /// A row has a different number of fields than the header.
    RaggedRow,
    /// A quoted field is still open at the end of the file.
    UnclosedQuote,
    /// A NUL byte inside a field.
    NulByte,
    /// The file, a field or a record is over its configured limit.
    TooLarge,
    /// No header, or a header and no data rows.
    Empty,
    /// A cell of a typed column (integer, decimal, date, code) does not parse as that type.
    InvalidValue,
    /// Too many errors: the rest of the file was not checked.
    TooManyErrors,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: &'static [ErrorKind] = &[
        Self::PiiColumn,
        Self::UnknownColumn,
        Self::DuplicateColumn,
        Self::MissingColumn,
        Self::NotCsv,
        Self::Encoding,
        Self::RaggedRow,
        Self::UnclosedQuote,
        Self::NulByte,
        Self::TooLarge,
        Self::Empty,
        Self::InvalidValue,
        Self::TooManyErrors,
    ];

    /// The stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PiiColumn => "pii_column",
            Self::UnknownColumn => "unknown_column",
            Self::DuplicateColumn => "duplicate_column",
            Self::MissingColumn => "missing_column",
            Self::NotCsv => "not_csv",
            Self::Encoding => "encoding",
            Self::RaggedRow => "ragged_row",
            Self::UnclosedQuote => "unclosed_quote",
            Self::NulByte => "nul_byte",
            Self::TooLarge => "too_large",
            Self::Empty => "empty",
            Self::InvalidValue => "invalid_value",
            Self::TooManyErrors => "too_many_errors",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One reason a file was refused.
///
/// `row` is the 1-based record number with the header as row 1 (so the first data row is
/// row 2, as a spreadsheet shows it when no field spans lines); `None` when the error is about
/// the whole file. `column` is the header exactly as written in the file (after decoding),
/// `None` when no single column is at fault or the header itself could not be read. Messages
/// never quote cell contents, so a report can be shown or logged without leaking data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind}{}{}: {message}", row.map(|r| format!(" at row {r}")).unwrap_or_default(), column.as_ref().map(|c| format!(" in column {c:?}")).unwrap_or_default())]
pub struct IngestError {
    /// The stable kind.
    pub kind: ErrorKind,
    /// The column as written in the file's header.
    pub column: Option<String>,
    /// The 1-based record number (header = 1).
    pub row: Option<u64>,
    /// What was wrong, in words (no cell contents).
    pub message: String,
    /// The 0-based index of the column, when known (not printed by `--json`, recorded in claims).
    #[serde(skip)]
    pub column_index: Option<usize>,
}

impl IngestError {
    /// An error about the whole file.
    pub fn file(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, column: None, row: None, message: message.into(), column_index: None }
    }

    /// An error at a row (no single column).
    pub fn at_row(kind: ErrorKind, row: u64, message: impl Into<String>) -> Self {
        Self { kind, column: None, row: Some(row), message: message.into(), column_index: None }
    }

    /// An error at a row and column.
    pub fn at_cell(kind: ErrorKind, row: u64, index: usize, column: Option<&str>, message: impl Into<String>) -> Self {
        Self { kind, column: column.map(str::to_owned), row: Some(row), message: message.into(), column_index: Some(index) }
    }
}

/// The input could not be read at all (as opposed to read and refused).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed.
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
}
