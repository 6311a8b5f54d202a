//! `pipeline redact --input IN.jsonl --output OUT.jsonl`, offline.
//!
//! Each input line is `{"id": "...", "lang": "en"|"fr", "text": "..."}` (other fields are
//! ignored; blank lines are skipped). Each output line is `{"id": "...", "redacted": "...",
//! "spans": [{"byte_start": N, "byte_end": M, "type": "SIN"}]}` with UTF-8 byte offsets into
//! the input `text`, end exclusive, sorted and non-overlapping.
//!
//! The output is written to `OUT.jsonl.partial` and renamed to `OUT.jsonl` only when every
//! line succeeded, so a failed run leaves no partial output under the requested name.
//!
//! Exit codes: 0 success; 1 bad input data (invalid JSON, a missing field, an unknown
//! `lang`, invalid UTF-8, a line over 16 MiB), reported with its 1-based line number;
//! 2 unreadable input, unwritable output or bad arguments.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Lang, Redactor, Span};

/// The longest input line accepted, newline included.
pub const MAX_LINE_BYTES: usize = (16 << 20) + 1024;

const EXIT_HELP: &str = "\
Input: one JSON object per line, {\"id\": \"...\", \"lang\": \"en\"|\"fr\", \"text\": \"...\"}.
Output: one JSON object per line, {\"id\": \"...\", \"redacted\": \"...\", \"spans\": [{\"byte_start\": N, \"byte_end\": M, \"type\": \"SIN\"}]},
offsets are UTF-8 byte offsets into the input text, end exclusive. Runs offline.

Exit codes:
  0  every line redacted and written
  1  bad input data (invalid JSON or UTF-8, missing field, unknown lang, line too long); the message names the line
  2  input unreadable, output unwritable, or bad arguments";

/// Arguments of `pipeline redact`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_HELP)]
pub struct RedactArgs {
    /// JSONL input file.
    #[arg(long, value_name = "IN.jsonl")]
    pub input: PathBuf,
    /// JSONL output file (replaced only on success).
    #[arg(long, value_name = "OUT.jsonl")]
    pub output: PathBuf,
}

#[derive(serde::Deserialize)]
struct InLine {
    id: String,
    lang: Lang,
    text: String,
}

#[derive(serde::Serialize)]
struct OutLine<'a> {
    id: &'a str,
    redacted: &'a str,
    spans: &'a [Span],
}

/// Why a redaction run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedactRunError {
    /// A line of the input is not valid (exit code 1).
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading the input failed (exit code 2).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The input path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the output failed (exit code 2).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl RedactRunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RedactRunError::BadLine { .. } => 1,
            RedactRunError::Read { .. } | RedactRunError::Write { .. } => 2,
        }
    }
}

/// Redacts every line of `input` into `output`; returns the number of records written.
///
/// # Errors
/// [`RedactRunError`]; `in_name`/`out_name` name the streams in messages.
pub fn redact_stream<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    output: W,
    in_name: &str,
    out_name: &str,
) -> Result<usize, RedactRunError> {
    let read_err = |source| RedactRunError::Read { path: in_name.to_owned(), source };
    let write_err = |source| RedactRunError::Write { path: out_name.to_owned(), source };
    let mut reader = BufReader::new(input);
    let mut out = BufWriter::new(output);
    let mut buf = Vec::new();
    let mut line = 0usize;
    let mut written = 0usize;
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
        let n = (&mut reader).take(limit).read_until(b'\n', &mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        line += 1;
        if buf.len() > MAX_LINE_BYTES {
            return Err(RedactRunError::BadLine { line, message: format!("line longer than {MAX_LINE_BYTES} bytes") });
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|e| RedactRunError::BadLine { line, message: format!("invalid UTF-8 at byte {}", e.valid_up_to()) })?;
        if text.trim().is_empty() {
            continue;
        }
        let rec: InLine = serde_json::from_str(text).map_err(|e| RedactRunError::BadLine {
            line,
            message: format!("expected {{\"id\": string, \"lang\": \"en\"|\"fr\", \"text\": string}}: {e}"),
        })?;
        let r = redactor.redact(&rec.text, rec.lang).map_err(|e| RedactRunError::BadLine { line, message: e.to_string() })?;
        serde_json::to_writer(&mut out, &OutLine { id: &rec.id, redacted: &r.redacted, spans: &r.spans })
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(write_err)?;
        written += 1;
    }
    out.flush().map_err(write_err)?;
    Ok(written)
}

fn partial_path(output: &Path) -> PathBuf {
    let mut p = output.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Runs `pipeline redact`; prints errors to stderr.
pub fn run(args: &RedactArgs) -> ExitCode {
    match run_inner(args) {
        Ok(n) => {
            eprintln!("redacted {n} records into {}", args.output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pipeline redact: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_inner(args: &RedactArgs) -> Result<usize, RedactRunError> {
    let in_name = args.input.display().to_string();
    let out_name = args.output.display().to_string();
    let input = File::open(&args.input).map_err(|source| RedactRunError::Read { path: in_name.clone(), source })?;
    let partial = partial_path(&args.output);
    let file = File::create(&partial).map_err(|source| RedactRunError::Write { path: partial.display().to_string(), source })?;
    let redactor = Redactor::offline();
    let result = redact_stream(&redactor, input, &file, &in_name, &out_name)
        .and_then(|n| file.sync_all().map(|()| n).map_err(|source| RedactRunError::Write { path: out_name.clone(), source }))
        .and_then(|n| {
            std::fs::rename(&partial, &args.output).map(|()| n).map_err(|source| RedactRunError::Write { path: out_name.clone(), source })
        });
    if result.is_err() {
        // Best effort: the partial file holds only redacted text, but it is incomplete.
        let _ = std::fs::remove_file(&partial);
    }
    result
}
