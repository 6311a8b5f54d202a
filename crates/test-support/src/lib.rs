//! The workspace's shared test toolkit (dev-only, never published, never a normal
//! dependency): temporary directories, a throwaway PostgreSQL cluster, the one test PKI and
//! independent RFC 3161 TSA (the `openssl` command line, over HTTP with fault injection or as a
//! ledger rail), the shared ledger fixtures, rail test doubles and outage switches, a local S3
//! emulator (moto), and (feature `server`) the HTTP service on a loopback port.
//!
//! Each crate's tests use these instead of a copy of their own.
#![forbid(unsafe_code)]
#![allow(clippy::missing_panics_doc, clippy::missing_errors_doc)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "browser")]
pub mod browser;
pub mod fixtures;
pub mod pg;
pub mod rails;
pub mod s3;
#[cfg(feature = "server")]
pub mod server;
pub mod tsa;

pub use pg::PgHarness;
pub use rails::{FabricTestDouble, FailoverTsa, OpensslTsa, Switchable};
pub use s3::MotoS3;
#[cfg(feature = "server")]
pub use server::{LocalServer, ServedLedger};

pub(crate) static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates one under the system temp dir.
    pub fn new(prefix: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{}", std::process::id(), ledger::now().0));
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn run(cmd: &mut Command) -> std::io::Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr))))
    }
}

pub(crate) fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
