//! PostgreSQL backend: one schema per tenant, a `ledger_catalogue` schema for the catalogue.
//!
//! Several `Ledger` processes may share one database:
//! - an append locks the tenant's `head` row (`SELECT ... FOR UPDATE`) inside its
//!   transaction, so concurrent appends from any number of processes get distinct,
//!   consecutive sequence numbers with no gaps (a rolled-back append releases the lock
//!   without having advanced the head);
//! - a seal takes the tenant's transaction-scoped advisory lock with
//!   `pg_try_advisory_xact_lock` and answers [`StoreError::SealBusy`] when another process
//!   holds it; it reads the head as committed, and every leaf below a committed head is
//!   committed (they commit together); the rest of the locking rule is the shared one of the
//!   [`super::sql`] module docs;
//! - anchoring workers claim outbox rows with `FOR UPDATE SKIP LOCKED` and a lease.
//!
//! Schema names are `t_` followed by 32 hex digits of `SHA-256(tenant id)`; every query
//! of a [`PgTenant`] names its own schema, and no method takes a tenant argument.
//!
//! This module holds only what is PostgreSQL's: schemas, their migrations, placeholders and
//! the advisory lock ([`PgBackend`], [`PgDialect`]); the storage logic is
//! [`super::SqlStore`] / [`super::SqlTenant`], shared with SQLite.

use evidence_core::{TenantId, UnixMillis, sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

use super::sql::{Backend, Dialect, Sealed};
use super::{SqlStore, SqlTenant, StoreError};

static CATALOGUE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres/catalogue");
static TENANT: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres/tenant");

const CATALOGUE_SCHEMA: &str = "ledger_catalogue";

/// The PostgreSQL store: schema `ledger_catalogue` and one schema per tenant.
pub type PgStore = SqlStore<PgBackend>;

/// One tenant's schema.
pub type PgTenant = SqlTenant<PgDialect>;

/// The schema holding `tenant`'s log.
pub fn schema_for(tenant: &TenantId) -> String {
    let h = sha256(&[tenant.as_str().as_bytes()]);
    format!("t_{}", &hex::encode(h)[..32])
}

async fn migrate(pool: &PgPool, schema: &str, migrator: &sqlx::migrate::Migrator) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    if let Err(e) = sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))).execute(&mut *conn).await {
        // Two processes creating the same schema at once: one loses the race harmlessly.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)").bind(schema).fetch_one(&mut *conn).await?;
        if !exists {
            return Err(e.into());
        }
    }
    sqlx::query(AssertSqlSafe(format!("SET search_path TO \"{schema}\""))).execute(&mut *conn).await?;
    // `run_direct` is `run` on a connection we hold (the search_path is per connection).
    let r = migrator.run_direct(None, &mut *conn, false).await;
    sqlx::query("SET search_path TO DEFAULT").execute(&mut *conn).await?;
    r?;
    Ok(())
}

impl SqlStore<PgBackend> {
    /// Connects to `url` (e.g. `DATABASE_URL`) with up to `max_connections`, and migrates the catalogue.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let opts: PgConnectOptions = url.parse()?;
        Self::connect_with(opts, max_connections).await
    }

    /// As [`PgStore::connect`], from options.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn connect_with(opts: PgConnectOptions, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(max_connections).connect_with(opts).await?;
        migrate(&pool, CATALOGUE_SCHEMA, &CATALOGUE).await?;
        Ok(Self::from_backend(PgBackend { pool }))
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.backend().pool
    }
}

/// Where a PostgreSQL deployment's tenants live: one schema each, in one database.
#[derive(Debug)]
pub struct PgBackend {
    pool: PgPool,
}

impl Sealed for PgBackend {}

impl Backend for PgBackend {
    type DB = Postgres;
    type Dialect = PgDialect;
    const SELECT_TENANT: &'static str = "SELECT schema_name, config FROM ledger_catalogue.tenants WHERE id = $1";

    fn catalogue(&self) -> &PgPool {
        &self.pool
    }

    fn catalogue_sql(&self, text: &str) -> String {
        numbered(&text.replace("@.", "ledger_catalogue."))
    }

    async fn create(&self, tenant: &TenantId, config_json: &str, now: UnixMillis) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO ledger_catalogue.tenants (id, schema_name, config, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(schema_for(tenant))
        .bind(config_json)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn open(&self, tenant: &TenantId, schema: Option<String>) -> Result<(PgPool, PgDialect), StoreError> {
        let expected = schema_for(tenant);
        if schema.as_deref() != Some(expected.as_str()) {
            return Err(StoreError::Corrupt(format!("catalogue schema {schema:?} for tenant {tenant}")));
        }
        migrate(&self.pool, &expected, &TENANT).await?;
        let lock = sha256(&[b"evidence/v1/seal\0", expected.as_bytes()]);
        let mut lock8 = [0u8; 8];
        lock8.copy_from_slice(&lock[..8]);
        Ok((self.pool.clone(), PgDialect { quoted: format!("\"{expected}\"."), seal_lock: i64::from_be_bytes(lock8) }))
    }
}

/// One tenant schema's dialect: every table prefixed with the schema, `$n` placeholders,
/// the head row locked by appends, the outbox leased with `SKIP LOCKED`, and a per-tenant
/// advisory lock excluding other sealers.
#[derive(Debug)]
pub struct PgDialect {
    /// `"t_…".`, prefixed to every table name.
    quoted: String,
    seal_lock: i64,
}

impl Sealed for PgDialect {}

impl Dialect for PgDialect {
    type DB = Postgres;
    const LOCK_HEAD: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn prefixed(&self, text: &str) -> String {
        text.replace("@.", &self.quoted)
    }

    fn sql(&self, text: &str) -> String {
        numbered(&self.prefixed(text))
    }

    fn reader<'a>(&'a self, writer: &'a PgPool) -> &'a PgPool {
        writer
    }

    async fn exclude_sealers(&self, writer: &PgPool) -> Result<Option<Transaction<'static, Postgres>>, StoreError> {
        let mut tx = writer.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(self.seal_lock).fetch_one(&mut *tx).await?;
        if locked { Ok(Some(tx)) } else { Err(StoreError::SealBusy) }
    }
}

/// `sql` with its `?` placeholders numbered `$1, $2, ...`.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}
