//! A throwaway PostgreSQL cluster (or a fresh database on `DATABASE_URL`) for one test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{COUNTER, is_root, run};

/// A PostgreSQL database for one test: a fresh database on `DATABASE_URL` when set,
/// else a throwaway cluster (initdb, Unix socket in a temp dir, no TCP, fsync off)
/// stopped with `pg_ctl stop -m immediate` on drop.
#[derive(Debug)]
pub struct PgHarness {
    /// Connection options for the test's database.
    pub options: PgConnectOptions,
    /// The URL form (for child processes).
    pub url: String,
    cluster: Option<(PathBuf, bool)>,
}

impl PgHarness {
    /// Starts (or connects to) PostgreSQL and creates a fresh database.
    ///
    /// # Panics
    /// When PostgreSQL cannot be started: tests need it.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// As [`PgHarness::start`]; with `durable` the throwaway cluster keeps `fsync=on`
    /// (for benchmarks that must measure durable commits).
    ///
    /// # Panics
    /// When PostgreSQL cannot be started.
    pub async fn start_with(durable: bool) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let db = format!("ledger_test_{}_{n}_{}", std::process::id(), ledger::now().0);
        let (base_url, cluster) = match std::env::var("DATABASE_URL") {
            Ok(u) if !u.is_empty() => (u, None),
            _ => {
                let (url, dir, root) = start_cluster(durable);
                (url, Some((dir, root)))
            }
        };
        let base: PgConnectOptions = base_url.parse().expect("DATABASE_URL");
        let admin = PgPoolOptions::new().max_connections(1).connect_with(base.clone()).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\""))).execute(&admin).await.expect("create test database");
        admin.close().await;
        let url = with_database(&base_url, &db);
        Self { options: base.database(&db), url, cluster }
    }

    /// The data directory of the throwaway cluster (None on `DATABASE_URL`), for tests
    /// that inspect what PostgreSQL wrote to disk.
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.cluster.as_ref().map(|(dir, _)| dir.join("data"))
    }
}

fn with_database(url: &str, db: &str) -> String {
    // postgres://user@host[:port]/DB[?params]
    let (head, params) = url.split_once('?').map_or((url, None), |(h, p)| (h, Some(p)));
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let path_start = head[scheme_end..].find('/').map_or(head.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &head[..path_start]);
    if let Some(p) = params {
        out.push('?');
        out.push_str(p);
    }
    out
}

fn start_cluster(durable: bool) -> (String, PathBuf, bool) {
    let dir = std::env::temp_dir().join(format!(
        "ledger-pg-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        ledger::now().0
    ));
    std::fs::create_dir_all(&dir).expect("pg temp dir");
    let root = is_root();
    let as_pg = |args: &[&str]| {
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c.args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        c.env_remove("PGDATA");
        c
    };
    if root {
        if !Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()) {
            let _ = run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]));
        }
        run(Command::new("chown").args(["postgres", &dir.display().to_string()])).expect("chown pg dir");
    }
    let data = dir.join("data");
    let d = data.display().to_string();
    run(&mut as_pg(&["initdb", "-D", &d, "-A", "trust", "-U", "postgres", "--no-sync"])).expect("initdb");
    let sock = dir.display().to_string();
    let log = dir.join("log").display().to_string();
    let fsync = if durable { "" } else { " -F" };
    let opts = format!("-k {sock} -c listen_addresses=''{fsync} -c max_connections=200");
    run(&mut as_pg(&["pg_ctl", "-D", &d, "-l", &log, "-w", "start", "-o", &opts])).expect("pg_ctl start");
    (format!("postgres://postgres@localhost/postgres?host={sock}"), dir, root)
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        if let Some((dir, root)) = self.cluster.take() {
            let d = dir.join("data").display().to_string();
            let mut c = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", "pg_ctl"]);
                c
            } else {
                Command::new("pg_ctl")
            };
            let _ = c.args(["-D", &d, "stop", "-m", "immediate"]).output();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
