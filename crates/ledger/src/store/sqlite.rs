//! SQLite backend: a catalogue database plus one database file per tenant.
//!
//! Layout under the data directory: `catalogue.db` and `tenants/<tenant id>.db` (tenant
//! ids are restricted to `a-z 0-9 - _ .` and start with a letter or digit, so they are
//! safe file names). Each file is opened in WAL mode with `synchronous=FULL` by default:
//! with WAL, FULL syncs the log on every commit, so a committed (acknowledged)
//! transaction survives a power loss as well as a process crash. `synchronous=NORMAL`
//! ([`Durability::ProcessCrash`]) syncs only at checkpoints of the WAL: it survives a
//! process crash (the WAL is in the OS page cache) but may lose the last commits on a
//! power loss or kernel crash, so it is not the default.
//!
//! One process owns a data directory. Each tenant file has one connection that reads and
//! writes, so writes to one tenant are serialised in process; a seal reads and hashes on a
//! second connection and stores its checkpoint through the writer (the locking rule is in
//! the [`super::sql`] module docs).
//!
//! This module holds only what is SQLite's: the directory layout, connection settings and
//! background WAL checkpoints ([`SqliteBackend`], [`SqliteDialect`]); the storage logic is
//! [`super::SqlStore`] / [`super::SqlTenant`], shared with PostgreSQL.
//!
//! WAL checkpoints (copying committed pages from the log into the database file, then
//! syncing it) run in the background: each tenant file has a second connection that never
//! writes and runs `PRAGMA wal_checkpoint(PASSIVE)` after appends and seals, at most every
//! [`CHECKPOINT_PAUSE`]. A passive checkpoint never blocks the writer. Left to the writer,
//! SQLite checkpoints on the commit that crosses its threshold, and that commit (and every
//! append queued behind it) waits for tens of megabytes to be copied and synced: under
//! sustained appends this was the largest source of tail latency. Once the log reaches
//! [`RESTART_FRAMES`], the writer checkpoints the little left after its next commit, so that
//! the log starts again from its beginning (and is cut back to [`WAL_SIZE_LIMIT`] on disk);
//! its own automatic checkpoint at [`WRITER_AUTOCHECKPOINT_PAGES`] is only a backstop.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use evidence_core::{TenantId, UnixMillis};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::sql::{Backend, Dialect, Sealed};
use super::{SqlStore, SqlTenant, StoreError};

static CATALOGUE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite/catalogue");
static TENANT: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite/tenant");

/// How hard commits are pushed to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL + `synchronous=FULL`: commits survive power loss (default).
    #[default]
    PowerLoss,
    /// WAL + `synchronous=NORMAL`: commits survive a process crash, not a power loss.
    ProcessCrash,
}

/// The SQLite store: `catalogue.db` and `tenants/<tenant>.db` under a data directory.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// One tenant's SQLite file.
pub type SqliteTenant = SqlTenant<SqliteDialect>;

/// WAL frames (pages of 4 KiB) after which the writer connection checkpoints on commit:
/// a backstop, never reached while background checkpoints run.
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 65_536;
/// WAL frames after which the log is restarted from its beginning (see the module docs).
pub const RESTART_FRAMES: u32 = 8192;
/// Shortest pause between two background checkpoints of one tenant file.
pub const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);
/// Size (bytes) a tenant's WAL file is cut back to when the log restarts.
pub const WAL_SIZE_LIMIT: u64 = 40 << 20;

async fn open_pool(path: &Path, durability: Durability) -> Result<SqlitePool, StoreError> {
    open_connection(path, durability, WRITER_AUTOCHECKPOINT_PAGES).await
}

/// A pool of one connection to `path`, checkpointing on commit past `autocheckpoint` WAL
/// pages (0: never).
async fn open_connection(path: &Path, durability: Durability, autocheckpoint: u32) -> Result<SqlitePool, StoreError> {
    let opts = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            Durability::PowerLoss => SqliteSynchronous::Full,
            Durability::ProcessCrash => SqliteSynchronous::Normal,
        })
        .foreign_keys(true)
        // Deleted content is overwritten in the file (erased records; defence in depth).
        .pragma("secure_delete", "ON")
        .pragma("wal_autocheckpoint", autocheckpoint.to_string())
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
        .busy_timeout(Duration::from_secs(30));
    Ok(SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None).connect_with(opts).await?)
}

impl SqlStore<SqliteBackend> {
    /// Opens (creating if needed) a data directory.
    ///
    /// # Errors
    /// [`StoreError`] when the directory or catalogue cannot be opened or migrated.
    pub async fn open(dir: impl Into<PathBuf>, durability: Durability) -> Result<Self, StoreError> {
        let dir = dir.into();
        tokio::fs::create_dir_all(dir.join("tenants")).await?;
        let catalogue = open_pool(&dir.join("catalogue.db"), durability).await?;
        CATALOGUE.run(&catalogue).await?;
        Ok(Self::from_backend(SqliteBackend { dir, durability, catalogue }))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.backend().dir
    }
}

/// Where a SQLite deployment's tenants live: one file per tenant under the data directory.
#[derive(Debug)]
pub struct SqliteBackend {
    dir: PathBuf,
    durability: Durability,
    catalogue: SqlitePool,
}

impl Sealed for SqliteBackend {}

impl Backend for SqliteBackend {
    type DB = Sqlite;
    type Dialect = SqliteDialect;
    const SELECT_TENANT: &'static str = "SELECT config FROM tenants WHERE id = ?";

    fn catalogue(&self) -> &SqlitePool {
        &self.catalogue
    }

    fn catalogue_sql(&self, text: &str) -> String {
        text.replace("@.", "")
    }

    async fn create(&self, tenant: &TenantId, config_json: &str, now: UnixMillis) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO tenants (id, config, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .bind(config_json)
            .bind(now.0)
            .execute(&self.catalogue)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn open(&self, tenant: &TenantId, _schema: Option<String>) -> Result<(SqlitePool, SqliteDialect), StoreError> {
        let path = self.dir.join("tenants").join(format!("{}.db", tenant.as_str()));
        let pool = open_pool(&path, self.durability).await?;
        TENANT.run(&pool).await?;
        let side = open_connection(&path, self.durability, 0).await?;
        let checkpointer = Checkpointer::spawn(side.clone(), tenant.clone());
        Ok((pool, SqliteDialect { tenant: tenant.clone(), side, checkpointer }))
    }
}

/// One tenant file's dialect: no table prefix, `?` placeholders, a second connection for a
/// seal's reads and the background WAL checkpoints.
#[derive(Debug)]
pub struct SqliteDialect {
    tenant: TenantId,
    /// The second connection: background checkpoints and the long read of a seal, never writes.
    side: SqlitePool,
    checkpointer: Checkpointer,
}

impl Sealed for SqliteDialect {}

impl Dialect for SqliteDialect {
    type DB = Sqlite;
    const LOCK_HEAD: &'static str = "";
    const SKIP_LOCKED: &'static str = "";

    fn prefixed(&self, text: &str) -> String {
        text.replace("@.", "")
    }

    fn sql(&self, text: &str) -> String {
        self.prefixed(text)
    }

    fn reader<'a>(&'a self, _writer: &'a SqlitePool) -> &'a SqlitePool {
        &self.side
    }

    /// Nothing to take: the seal's final check (the checkpoint it extends is still the
    /// latest) is the exclusion, and the tenant's writes go through one connection.
    async fn exclude_sealers(&self, _writer: &SqlitePool) -> Result<Option<Transaction<'static, Sqlite>>, StoreError> {
        Ok(None)
    }

    /// Copies the whole log into the file and truncates it to zero bytes, so that frames
    /// holding erased rows leave the WAL (the file's deleted content is zeroed by
    /// `secure_delete`). Waits for readers (busy timeout); a busy answer is logged.
    async fn after_erasure(&self, writer: &SqlitePool) -> Result<(), StoreError> {
        let (busy, _, _): CheckpointResult = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(writer).await?;
        if busy != 0 {
            tracing::warn!(tenant = %self.tenant, "WAL truncation after an erasure was blocked by a reader; the next one retries");
        }
        Ok(())
    }

    /// After a write: wakes the background checkpointer (never waits), and when the log is
    /// due to restart, checkpoints what is left on the writer connection (see the module docs).
    fn wrote(&self, writer: &SqlitePool) {
        use std::sync::atomic::Ordering;
        let ck = &self.checkpointer;
        let _ = ck.wake.try_send(());
        if ck.restart_due.swap(false, Ordering::AcqRel) {
            let (pool, due, tenant) = (writer.clone(), Arc::clone(&ck.restart_due), self.tenant.clone());
            tokio::spawn(async move {
                match passive_checkpoint(&pool).await {
                    Ok((0, frames, done)) if frames == done => {}
                    // The background task held the checkpoint lock, or frames remain: again after the next write.
                    Ok(_) => due.store(true, Ordering::Release),
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, error = %e, "WAL checkpoint on the writer connection failed");
                        due.store(true, Ordering::Release);
                    }
                }
            });
        }
    }
}

/// Background WAL checkpointing of one tenant file (see the module docs).
#[derive(Debug)]
struct Checkpointer {
    /// Wakes the background task (capacity one: wake-ups coalesce).
    wake: tokio::sync::mpsc::Sender<()>,
    /// Set by the background task once the log holds [`RESTART_FRAMES`] frames. The log
    /// only starts again from its beginning when a write transaction begins with every
    /// frame already checkpointed, which sustained appends rarely allow a concurrent
    /// checkpoint to achieve; so the writer, after its next commit, checkpoints the few
    /// frames written since the last background checkpoint on its own connection, and the
    /// transaction after that restarts the log.
    restart_due: Arc<std::sync::atomic::AtomicBool>,
}

/// What `PRAGMA wal_checkpoint` answers: (busy, frames in the log, frames checkpointed).
type CheckpointResult = (i64, i64, i64);

/// One passive WAL checkpoint on `pool` (never blocks a writer).
async fn passive_checkpoint(pool: &SqlitePool) -> Result<CheckpointResult, sqlx::Error> {
    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await
}

impl Checkpointer {
    /// Starts the background task on `pool` (a connection of its own): one passive
    /// checkpoint per wake-up, then a pause of [`CHECKPOINT_PAUSE`]. The task ends, closing
    /// its connection, when the tenant handle (holding the sender) is dropped.
    fn spawn(pool: SqlitePool, tenant: TenantId) -> Self {
        let (wake, mut woken) = tokio::sync::mpsc::channel::<()>(1);
        let restart_due = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let due = Arc::clone(&restart_due);
        tokio::spawn(async move {
            while woken.recv().await.is_some() {
                match passive_checkpoint(&pool).await {
                    Ok((_, frames, _)) if frames >= i64::from(RESTART_FRAMES) => due.store(true, std::sync::atomic::Ordering::Release),
                    Ok(_) => {}
                    // Not fatal: the writer's own automatic checkpoint is the backstop.
                    Err(e) => tracing::warn!(tenant = %tenant, error = %e, "background WAL checkpoint failed"),
                }
                tokio::time::sleep(CHECKPOINT_PAUSE).await;
            }
            pool.close().await;
        });
        Self { wake, restart_due }
    }
}
