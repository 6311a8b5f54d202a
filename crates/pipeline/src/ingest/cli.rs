//! `pipeline check` and `pipeline ingest`.
//!
//! ```text
//! pipeline check --profile cdk|reynolds|dealertrack|pbs|quorum --export sales|service|inventory|gl FILE.csv [--json]
//! pipeline ingest --profile P --export E FILE.csv [--tenant T] [--server URL] [--token T | --token-file F]
//! ```
//!
//! Both also take `--encoding utf-8|windows-1252` (declare a Windows-1252 file; default
//! UTF-8) and `--max-file-bytes`, `--max-field-bytes`, `--max-record-bytes` (defaults in the
//! [`ingest`](super) docs).
//!
//! Exit codes: **0** accepted, **1** refused, **2** the file could not be read, the arguments
//! are bad (clap's own errors included), the vendor has no such export, or (ingest) the claim
//! could not be written.
//!
//! `check` writes nothing. Its `--json` output is one line:
//!
//! ```text
//! {"accepted": bool, "rows": N, "neutralised": N, "errors": [{"kind": "...", "column": "..." | null, "row": N | null, "message": "..."}]}
//! ```
//!
//! `column` is the header exactly as written, `null` when the error is not about one column;
//! `row` is the 1-based record number with the header as row 1, `null` for a whole-file error.
//! Without `--json` the same facts are printed as text, one error per line.
//!
//! `ingest` appends one `ingest_record` claim (see [`claim`](super::claim)) and prints
//! `{"sink": "...", "receipt": {...}}`. The claim goes to a ledger server over HTTP
//! ([`LedgerArgs`]: `--server`, default `http://127.0.0.1:8080`, which is where
//! `ledger-server dev` listens; the token from `--token`, `PIPELINE_TOKEN`, or `--token-file`,
//! default `data/dev/token`, which `ledger-server dev` writes).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll, Wake};

use evidence_core::types::TenantId;
use serde::Serialize;

use crate::sinks::SinkOpenError;

use super::{DeclaredEncoding, Dms, Export, IngestError, Limits, Options, Profile, Report};

/// Exit code: accepted.
pub const EXIT_ACCEPTED: u8 = 0;
/// Exit code: refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: could not read the file, bad arguments, or could not write.
pub const EXIT_UNREADABLE: u8 = 2;

/// Options both subcommands share.
#[derive(Clone, Debug, clap::Args)]
pub struct CommonArgs {
    /// The DMS vendor that produced the file.
    #[arg(long, value_enum)]
    pub profile: Dms,
    /// The export type.
    #[arg(long, value_enum)]
    pub export: Export,
    /// The CSV file.
    pub file: PathBuf,
    /// The file's encoding (Windows-1252 only when the sender declares it).
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: DeclaredEncoding,
    /// The largest file accepted, in bytes.
    #[arg(long)]
    pub max_file_bytes: Option<u64>,
    /// The largest field accepted, in bytes.
    #[arg(long)]
    pub max_field_bytes: Option<u64>,
    /// The largest record accepted, in bytes.
    #[arg(long)]
    pub max_record_bytes: Option<u64>,
}

impl CommonArgs {
    fn options(&self, hash: bool) -> Options {
        let d = Limits::default();
        let limits = Limits {
            max_file_bytes: self.max_file_bytes.unwrap_or(d.max_file_bytes),
            max_field_bytes: self.max_field_bytes.unwrap_or(d.max_field_bytes),
            max_record_bytes: self.max_record_bytes.unwrap_or(d.max_record_bytes),
            ..d
        };
        Options { encoding: self.encoding, limits, hash }
    }

    fn profile(&self, err: &mut dyn Write) -> Option<Profile> {
        let p = Profile::get(self.profile, self.export);
        if p.is_none() {
            let _ = writeln!(err, "pipeline: {} has no {} export profile", self.profile.name(), self.export.name());
        }
        p
    }

    fn open(&self, err: &mut dyn Write) -> Option<BufReader<File>> {
        match File::open(&self.file) {
            Ok(f) => Some(BufReader::with_capacity(64 * 1024, f)),
            Err(e) => {
                let _ = writeln!(err, "pipeline: cannot read {}: {e}", self.file.display());
                None
            }
        }
    }
}

/// `pipeline check`.
#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    /// Profile, export, file and limits.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    accepted: bool,
    rows: u64,
    neutralised: u64,
    errors: &'a [IngestError],
}

/// "1 error", "0 errors", "2 errors".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_report(out: &mut dyn Write, file: &std::path::Path, report: &Report, json: bool) -> std::io::Result<()> {
    if json {
        let j = JsonReport { accepted: report.accepted, rows: report.rows, neutralised: report.neutralised, errors: &report.errors };
        let s = serde_json::to_string(&j).map_err(std::io::Error::other)?;
        writeln!(out, "{s}")
    } else {
        let verdict = if report.accepted { "accepted" } else { "refused" };
        writeln!(
            out,
            "{}: {verdict}: {}, {} neutralised, {}",
            file.display(),
            count(report.rows, "row", "rows"),
            count(report.neutralised, "cell", "cells"),
            count(report.errors.len() as u64, "error", "errors")
        )?;
        for e in &report.errors {
            writeln!(out, "  {e}")?;
        }
        Ok(())
    }
}

/// Runs `pipeline check`; returns the exit code.
pub fn run_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let c = &args.common;
    let Some(profile) = c.profile(err) else { return EXIT_UNREADABLE };
    let Some(input) = c.open(err) else { return EXIT_UNREADABLE };
    let report = match super::check(&profile, input, &c.options(false), |_| {}) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "pipeline: cannot read {}: {e}", c.file.display());
            return EXIT_UNREADABLE;
        }
    };
    if print_report(out, &c.file, &report, args.json).is_err() {
        return EXIT_UNREADABLE;
    }
    if report.accepted { EXIT_ACCEPTED } else { EXIT_REFUSED }
}

/// `pipeline ingest`: checks the file as `check` does, then writes its `ingest_record` claim
/// to a ledger server (`--server`, default `http://127.0.0.1:8080`, where `ledger-server dev`
/// listens) with a bearer token of a role that may append.
#[derive(Clone, Debug, clap::Args)]
pub struct IngestArgs {
    /// Profile, export, file and limits.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The tenant whose log receives the claim.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Where the claim goes.
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

/// Where `pipeline ingest` and `pipeline analyze` write: a ledger server.
///
/// The pipeline holds no ledger keys and opens no ledger files: only the server does (its
/// SQLite directory is owned by one process, and its checkpoint and record keys stay on the
/// server). For a first run, `ledger-server dev` listens on the default `--server` and writes
/// a token to the default `--token-file`.
#[derive(Clone, Debug, clap::Args)]
pub struct LedgerArgs {
    /// The ledger server's base URL.
    #[arg(long, env = "PIPELINE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A bearer token of a role that may append (`service` for machines); else read from --token-file.
    #[arg(long, env = "PIPELINE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the token (`ledger-server dev` writes one to data/dev/token).
    #[arg(long, default_value = "data/dev/token")]
    pub token_file: PathBuf,
    /// No longer supported: the pipeline writes through a ledger server (see --server).
    #[arg(long, hide = true)]
    pub data: Option<PathBuf>,
}

impl LedgerArgs {
    /// Opens the sink these arguments name, for `tenant`.
    ///
    /// # Errors
    /// [`SinkOpenError`] when `--data` is given, no token can be found, or the client cannot be built.
    pub fn open(&self, tenant: &TenantId) -> Result<ledger_client::TenantClient, SinkOpenError> {
        if let Some(dir) = &self.data {
            return Err(SinkOpenError::LocalLedgerGone { dir: dir.clone() });
        }
        let token = match &self.token {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(&self.token_file)
                .map(|t| t.trim().to_owned())
                .map_err(|source| SinkOpenError::NoToken { file: self.token_file.clone(), source })?,
        };
        Ok(ledger_client::LedgerClient::new(&self.server, &token)?.tenant(tenant.clone()))
    }

    /// Where claims go, as reported in a command's output (`server URL`).
    pub fn describe(&self) -> String {
        format!("server {}", self.server)
    }
}

/// Runs `pipeline ingest`; returns the exit code.
pub fn run_ingest(args: &IngestArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let c = &args.common;
    let tenant = match TenantId::new(args.tenant.clone()) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "pipeline: --tenant: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let Some(profile) = c.profile(err) else { return EXIT_UNREADABLE };
    let Some(input) = c.open(err) else { return EXIT_UNREADABLE };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "pipeline: cannot start the runtime: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let opts = c.options(true);
    let result = rt.block_on(async {
        let sink = args.ledger.open(&tenant).map_err(|e| e.to_string())?;
        super::ingest_file(&sink, &profile, input, &opts).await.map_err(|e| e.to_string())
    });
    let sink = args.ledger.describe();
    let outcome = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(err, "pipeline: {}: {e}", c.file.display());
            return EXIT_UNREADABLE;
        }
    };
    let _ = print_report(err, &c.file, &outcome.report, false);
    let printed = serde_json::to_string(&serde_json::json!({
        "sink": sink,
        "receipt": outcome.receipt,
    }));
    match printed {
        Ok(s) if writeln!(out, "{s}").is_ok() => {}
        _ => return EXIT_UNREADABLE,
    }
    if outcome.report.accepted { EXIT_ACCEPTED } else { EXIT_REFUSED }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future that needs no I/O reactor to completion on this thread (tests and the
/// in-memory sink).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Arc::new(ThreadWaker(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
