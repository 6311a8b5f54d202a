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
//! writes, so writes to one tenant are serialised in process and sealing never races an
//! append.
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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evidence_core::merkle::NodeId;
use evidence_core::{AppendReceipt, CheckpointHash, CheckpointSeq, LeafHash, NodeHash, Seq, TenantId, UnixMillis};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row as _, Sqlite};

use crate::tokens::TokenRecord;

use super::{
    AnchorRow, AnchorSuccess, CheckpointRow, EncryptedRecord, Extension, IncidentRow, LeafEffect, LeafRow, NewLeaf, Rail, SEAL_READ_CHUNK,
    SealDraft, SealSigned, Store, StoreError, TenantConfig, TenantStore, checkpoint_row, digest, encode_leaf, frontier_map, i64_of,
    leaf_row, seal_chunks, size_u64, token_row,
};

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

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    dir: PathBuf,
    durability: Durability,
    catalogue: SqlitePool,
    open: Mutex<HashMap<TenantId, SqliteTenant>>,
}

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
        .pragma("wal_autocheckpoint", autocheckpoint.to_string())
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
        .busy_timeout(Duration::from_secs(30));
    Ok(SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None).connect_with(opts).await?)
}

impl SqliteStore {
    /// Opens (creating if needed) a data directory.
    ///
    /// # Errors
    /// [`StoreError`] when the directory or catalogue cannot be opened or migrated.
    pub async fn open(dir: impl Into<PathBuf>, durability: Durability) -> Result<Self, StoreError> {
        let dir = dir.into();
        tokio::fs::create_dir_all(dir.join("tenants")).await?;
        let catalogue = open_pool(&dir.join("catalogue.db"), durability).await?;
        CATALOGUE.run(&catalogue).await?;
        Ok(Self { inner: Arc::new(StoreInner { dir, durability, catalogue, open: Mutex::new(HashMap::new()) }) })
    }

    fn cached(&self, tenant: &TenantId) -> Option<SqliteTenant> {
        self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(tenant).cloned()
    }

    async fn open_file(&self, tenant: &TenantId, config: TenantConfig) -> Result<SqliteTenant, StoreError> {
        if let Some(t) = self.cached(tenant) {
            return Ok(t);
        }
        let path = self.inner.dir.join("tenants").join(format!("{}.db", tenant.as_str()));
        let pool = open_pool(&path, self.inner.durability).await?;
        TENANT.run(&pool).await?;
        let side = open_connection(&path, self.inner.durability, 0).await?;
        let checkpointer = Checkpointer::spawn(side.clone(), tenant.clone());
        let t = SqliteTenant { inner: Arc::new(TenantInner { tenant: tenant.clone(), config, pool, side, checkpointer }) };
        let mut open = self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(open.entry(tenant.clone()).or_insert(t).clone())
    }

    async fn stored_config(&self, tenant: &TenantId) -> Result<Option<TenantConfig>, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT config FROM tenants WHERE id = ?")
            .bind(tenant.as_str())
            .fetch_optional(&self.inner.catalogue)
            .await?;
        row.map(|c| serde_json::from_str(&c).map_err(|e| StoreError::Corrupt(format!("tenant config: {e}")))).transpose()
    }
}

impl Store for SqliteStore {
    type Tenant = SqliteTenant;

    async fn create_tenant(&self, tenant: &TenantId, config: &TenantConfig) -> Result<SqliteTenant, StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("INSERT INTO tenants (id, config, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .bind(json)
            .bind(crate::now().0)
            .execute(&self.inner.catalogue)
            .await?;
        self.open_tenant(tenant).await
    }

    async fn open_tenant(&self, tenant: &TenantId) -> Result<SqliteTenant, StoreError> {
        if let Some(t) = self.cached(tenant) {
            return Ok(t);
        }
        let config = self.stored_config(tenant).await?.ok_or_else(|| StoreError::UnknownTenant(tenant.clone()))?;
        self.open_file(tenant, config).await
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id").fetch_all(&self.inner.catalogue).await?;
        ids.into_iter().map(|s| TenantId::new(s).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (id, tenant, role, label, secret_hash, created_at, expires_at, revoked_at, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(t.tenant.as_ref().map(TenantId::as_str))
        .bind(t.role.name())
        .bind(&t.label)
        .bind(&t.secret_hash[..])
        .bind(t.created_at.0)
        .bind(t.expires_at.0)
        .bind(t.revoked_at.map(|r| r.0))
        .bind(t.principal.as_deref())
        .execute(&self.inner.catalogue)
        .await?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM tokens WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.inner.catalogue)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM tokens ORDER BY created_at DESC, id")))
            .fetch_all(&self.inner.catalogue)
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, id: &str, at: UnixMillis) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&self.inner.catalogue)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

const TOKEN_COLS: &str = "id, tenant, role, label, secret_hash, created_at, expires_at, revoked_at, principal";

fn token_from(r: &sqlx::sqlite::SqliteRow) -> Result<TokenRecord, StoreError> {
    token_row(
        r.try_get("id")?,
        r.try_get("tenant")?,
        r.try_get("role")?,
        r.try_get("label")?,
        r.try_get::<&[u8], _>("secret_hash")?,
        r.try_get("created_at")?,
        r.try_get("expires_at")?,
        r.try_get("revoked_at")?,
        r.try_get("principal")?,
    )
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

/// One tenant's SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteTenant {
    inner: Arc<TenantInner>,
}

#[derive(Debug)]
struct TenantInner {
    tenant: TenantId,
    config: TenantConfig,
    pool: SqlitePool,
    /// The second connection: background checkpoints and the long read of a seal, never writes.
    side: SqlitePool,
    checkpointer: Checkpointer,
}

impl SqliteTenant {
    /// After a write: wakes the background checkpointer (never waits), and when the log is
    /// due to restart, checkpoints what is left on the writer connection (see [`Checkpointer`]).
    fn wrote(&self) {
        use std::sync::atomic::Ordering;
        let ck = &self.inner.checkpointer;
        let _ = ck.wake.try_send(());
        if ck.restart_due.swap(false, Ordering::AcqRel) {
            let (pool, due, tenant) = (self.inner.pool.clone(), Arc::clone(&ck.restart_due), self.inner.tenant.clone());
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

const LEAF_COLS: &str = "seq, entry, leaf_hash, kind, appended_at, content_hash, idempotency_key";
const ANCHOR_COLS: &str = "id, checkpoint_seq, rail, state, attempts, next_attempt_at, last_error, evidence, \
     authority, jurisdiction, in_residency, reanchor_of, created_at, anchored_at";
const CHUNK: usize = 1000;

fn leaf_from(r: &sqlx::sqlite::SqliteRow) -> Result<LeafRow, StoreError> {
    leaf_row(
        r.try_get("seq")?,
        r.try_get("entry")?,
        r.try_get::<&[u8], _>("leaf_hash")?,
        r.try_get("kind")?,
        r.try_get("appended_at")?,
        r.try_get::<&[u8], _>("content_hash")?,
        r.try_get("idempotency_key")?,
    )
}

fn anchor_from(r: &sqlx::sqlite::SqliteRow) -> Result<AnchorRow, StoreError> {
    Ok(AnchorRow {
        id: r.try_get("id")?,
        checkpoint_seq: CheckpointSeq(size_u64(r.try_get("checkpoint_seq")?, "checkpoint seq")?),
        rail: super::rail(r.try_get("rail")?)?,
        state: super::state(r.try_get("state")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: UnixMillis(r.try_get("next_attempt_at")?),
        last_error: r.try_get("last_error")?,
        evidence: r.try_get("evidence")?,
        authority: r.try_get("authority")?,
        jurisdiction: r.try_get("jurisdiction")?,
        in_residency: r.try_get("in_residency")?,
        reanchor_of: r.try_get("reanchor_of")?,
        created_at: UnixMillis(r.try_get("created_at")?),
        anchored_at: r.try_get::<Option<i64>, _>("anchored_at")?.map(UnixMillis),
    })
}

fn checkpoint_from(r: &sqlx::sqlite::SqliteRow) -> Result<CheckpointRow, StoreError> {
    checkpoint_row(
        r.try_get("seq")?,
        r.try_get("tree_size")?,
        r.try_get::<&[u8], _>("root")?,
        r.try_get("note")?,
        r.try_get::<&[u8], _>("checkpoint_hash")?,
        r.try_get("sealed_at")?,
    )
}

impl TenantStore for SqliteTenant {
    fn tenant(&self) -> &TenantId {
        &self.inner.tenant
    }

    fn config(&self) -> &TenantConfig {
        &self.inner.config
    }

    async fn append(&self, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, StoreError> {
        let tenant = &self.inner.tenant;
        let mut tx = self.inner.pool.begin().await?;
        let size: i64 = sqlx::query_scalar("SELECT size FROM head WHERE id = 0").fetch_one(&mut *tx).await?;
        let mut seen: HashMap<String, AppendReceipt> = HashMap::new();
        let keys: Vec<&str> = leaves.iter().filter_map(|l| l.idempotency_key.as_deref()).collect();
        for chunk in keys.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {LEAF_COLS} FROM leaves WHERE idempotency_key IN ("));
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind(*k);
            }
            qb.push(")");
            for r in qb.build().fetch_all(&mut *tx).await? {
                let row = leaf_from(&r)?;
                if let Some(k) = row.idempotency_key.clone() {
                    seen.insert(k, row.receipt()?);
                }
            }
        }
        let mut next = size_u64(size, "head size")?;
        let mut out = Vec::with_capacity(leaves.len());
        let mut fresh: Vec<(u64, Vec<u8>, LeafHash, &NewLeaf)> = Vec::with_capacity(leaves.len());
        for l in &leaves {
            if let Some(r) = l.idempotency_key.as_ref().and_then(|k| seen.get(k)) {
                out.push(r.clone());
                continue;
            }
            let (entry, leaf_hash) = encode_leaf(tenant, next, l)?;
            let receipt = AppendReceipt {
                tenant: tenant.clone(),
                seq: Seq(next),
                kind: l.kind,
                content_hash: l.content_hash,
                commitment: l.commitment,
                leaf_hash,
                appended_at: l.appended_at,
            };
            if let Some(k) = &l.idempotency_key {
                seen.insert(k.clone(), receipt.clone());
            }
            out.push(receipt);
            fresh.push((next, entry, leaf_hash, l));
            next += 1;
        }
        for chunk in fresh.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!("INSERT INTO leaves ({LEAF_COLS}) "));
            qb.push_values(chunk, |mut b, (seq, entry, h, l)| {
                b.push_bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .push_bind(entry.clone())
                    .push_bind(h.0.to_vec())
                    .push_bind(i64::from(l.kind.code()))
                    .push_bind(l.appended_at.0)
                    .push_bind(l.content_hash.0.to_vec())
                    .push_bind(l.idempotency_key.clone());
            });
            qb.build().execute(&mut *tx).await?;
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO records (seq, ciphertext, nonce, wrapped_key, salt) ");
            qb.push_values(chunk, |mut b, (seq, _, _, l)| {
                b.push_bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .push_bind(l.record.ciphertext.clone())
                    .push_bind(l.record.nonce.clone())
                    .push_bind(l.record.wrapped_key.clone())
                    .push_bind(l.record.salt.to_vec());
            });
            qb.build().execute(&mut *tx).await?;
        }
        for (seq, _, _, l) in &fresh {
            let seq = i64_of(*seq)?;
            match &l.effect {
                LeafEffect::None => {}
                LeafEffect::Incident { from, to, reason } => {
                    sqlx::query("INSERT INTO incidents (seq, from_ms, to_ms, reason, content_hash) VALUES (?, ?, ?, ?, ?)")
                        .bind(seq)
                        .bind(from.0)
                        .bind(to.0)
                        .bind(reason)
                        .bind(l.content_hash.0.to_vec())
                        .execute(&mut *tx)
                        .await?;
                }
                LeafEffect::Erase { target } => {
                    sqlx::query("DELETE FROM records WHERE seq = ?").bind(i64_of(target.0)?).execute(&mut *tx).await?;
                }
                LeafEffect::Reanchor { original, success } => {
                    sqlx::query(
                        "UPDATE anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
                         jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ?",
                    )
                    .bind(success.evidence.clone())
                    .bind(success.authority.clone())
                    .bind(success.jurisdiction.clone())
                    .bind(success.in_residency)
                    .bind(l.appended_at.0)
                    .bind(original)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO anchors (checkpoint_seq, rail, state, next_attempt_at, reanchor_of, created_at) \
                         SELECT checkpoint_seq, rail, 'pending', ?, id, ? FROM anchors WHERE id = ?",
                    )
                    .bind(l.appended_at.0)
                    .bind(l.appended_at.0)
                    .bind(original)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if !fresh.is_empty() {
            sqlx::query("UPDATE head SET size = ? WHERE id = 0").bind(i64_of(next)?).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.wrote();
        Ok(out)
    }

    async fn size(&self) -> Result<u64, StoreError> {
        let size: i64 = sqlx::query_scalar("SELECT size FROM head WHERE id = 0").fetch_one(&self.inner.pool).await?;
        size_u64(size, "head size")
    }

    async fn leaves(&self, from: u64, to: u64) -> Result<Vec<LeafRow>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {LEAF_COLS} FROM leaves WHERE seq >= ? AND seq < ? ORDER BY seq")))
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(leaf_from)
            .collect()
    }

    async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<LeafHash>, StoreError> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT leaf_hash FROM leaves WHERE seq >= ? AND seq < ? ORDER BY seq")
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter().map(|h| Ok(LeafHash(digest(h, "leaf hash")?))).collect()
    }

    async fn record(&self, seq: Seq) -> Result<Option<EncryptedRecord>, StoreError> {
        let row = sqlx::query("SELECT ciphertext, nonce, wrapped_key, salt FROM records WHERE seq = ?")
            .bind(i64_of(seq.0)?)
            .fetch_optional(&self.inner.pool)
            .await?;
        row.map(|r| {
            Ok(EncryptedRecord {
                ciphertext: r.try_get("ciphertext")?,
                nonce: r.try_get("nonce")?,
                wrapped_key: r.try_get("wrapped_key")?,
                salt: digest(r.try_get::<&[u8], _>("salt")?, "salt")?,
            })
        })
        .transpose()
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, NodeHash)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let h: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM nodes WHERE level = ? AND idx = ?")
                .bind(i64::from(id.level))
                .bind(i64_of(id.index)?)
                .fetch_optional(&self.inner.pool)
                .await?;
            if let Some(h) = h {
                out.push((*id, NodeHash(digest(&h, "node hash")?)));
            }
        }
        Ok(out)
    }

    async fn seal<F>(&self, sign: F, rails: &[Rail], now: UnixMillis) -> Result<CheckpointRow, StoreError>
    where
        F: FnOnce(SealDraft) -> Result<SealSigned, StoreError> + Send,
    {
        // The long part of a seal (reading every leaf hash since the last checkpoint, hashing
        // the tree) reads on the side connection, [`SEAL_READ_CHUNK`] leaves at a time, and
        // hashes off the async workers, so appends go on meanwhile; only the short write that
        // stores the checkpoint holds the writer connection. Leaves appended after the head
        // is read wait for the next seal.
        let mut rtx = self.inner.side.begin().await?;
        let last = sqlx::query("SELECT seq, tree_size, checkpoint_hash, frontier, sealed_at FROM checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *rtx)
            .await?;
        let prev_sealed_at = last.as_ref().map(|r| r.try_get::<i64, _>("sealed_at")).transpose()?.map(UnixMillis);
        let (seq, prev, old_size, old_map) = match last {
            None => (0, CheckpointHash([0; 32]), 0, HashMap::new()),
            Some(r) => {
                let old_size = size_u64(r.try_get("tree_size")?, "tree size")?;
                (
                    size_u64(r.try_get("seq")?, "checkpoint seq")? + 1,
                    CheckpointHash(digest(r.try_get::<&[u8], _>("checkpoint_hash")?, "checkpoint hash")?),
                    old_size,
                    frontier_map(old_size, r.try_get::<&[u8], _>("frontier")?)?,
                )
            }
        };
        let size = size_u64(sqlx::query_scalar("SELECT size FROM head WHERE id = 0").fetch_one(&mut *rtx).await?, "head size")?;
        rtx.rollback().await?;
        // Leaves below `size` are committed and never change, so the chunks need not share
        // the snapshot above: each is its own short read, and the log can restart between
        // them while the tree is hashed.
        let mut ext = Extension::new(old_size, old_map, size)?;
        for (from, to) in seal_chunks(old_size, size, SEAL_READ_CHUNK) {
            let hashes = sqlx::query_scalar("SELECT leaf_hash FROM leaves WHERE seq >= ? AND seq < ? ORDER BY seq")
                .bind(i64_of(from)?)
                .bind(i64_of(to)?)
                .fetch_all(&self.inner.side)
                .await?;
            ext = ext.push(from, to, hashes).await?;
        }
        let work = ext.finish()?;
        let mut tx = self.inner.pool.begin().await?;
        // Another seal of this tenant (e.g. `seal_now` beside the scheduler) may have
        // stored a checkpoint since the snapshot: then this one would fork the chain.
        let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM checkpoints").fetch_one(&mut *tx).await?;
        if latest != seq.checked_sub(1).map(i64_of).transpose()? {
            return Err(StoreError::SealBusy);
        }
        let draft = SealDraft { seq: CheckpointSeq(seq), prev, root: work.root, prev_sealed_at };
        let signed = sign(draft)?;
        for chunk in work.nodes.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT OR REPLACE INTO nodes (level, idx, hash) ");
            qb.push_values(chunk, |mut b, (id, h)| {
                b.push_bind(i64::from(id.level)).push_bind(i64::try_from(id.index).unwrap_or(i64::MAX)).push_bind(h.0.to_vec());
            });
            qb.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO checkpoints (seq, tree_size, root, note, checkpoint_hash, sealed_at, frontier) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(i64_of(seq)?)
        .bind(i64_of(size)?)
        .bind(work.root.hash.0.to_vec())
        .bind(&signed.note.note)
        .bind(signed.hash.0.to_vec())
        .bind(signed.sealed_at.0)
        .bind(work.frontier_blob)
        .execute(&mut *tx)
        .await?;
        for rail in rails {
            sqlx::query("INSERT INTO anchors (checkpoint_seq, rail, state, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)")
                .bind(i64_of(seq)?)
                .bind(rail.as_str())
                .bind(now.0)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.wrote();
        Ok(CheckpointRow { seq: CheckpointSeq(seq), root: work.root, note: signed.note, hash: signed.hash, sealed_at: signed.sealed_at })
    }

    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<CheckpointRow>, StoreError> {
        sqlx::query("SELECT seq, tree_size, root, note, checkpoint_hash, sealed_at FROM checkpoints WHERE seq >= ? ORDER BY seq LIMIT ?")
            .bind(i64_of(from)?)
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(checkpoint_from)
            .collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        sqlx::query("SELECT seq, tree_size, root, note, checkpoint_hash, sealed_at FROM checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.inner.pool)
            .await?
            .as_ref()
            .map(checkpoint_from)
            .transpose()
    }

    async fn anchors(&self, checkpoint: CheckpointSeq) -> Result<Vec<AnchorRow>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ANCHOR_COLS} FROM anchors WHERE checkpoint_seq = ? ORDER BY id")))
            .bind(i64_of(checkpoint.0)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(anchor_from)
            .collect()
    }

    async fn claim_due(&self, rail: Rail, now: UnixMillis, lease_until: UnixMillis, limit: u32) -> Result<Vec<AnchorRow>, StoreError> {
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE anchors SET next_attempt_at = ? WHERE id IN (SELECT id FROM anchors \
             WHERE state <> 'anchored' AND rail = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) \
             RETURNING {ANCHOR_COLS}"
        )))
        .bind(lease_until.0)
        .bind(rail.as_str())
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.pool)
        .await?
        .iter()
        .map(anchor_from)
        .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    async fn anchor_succeeded(&self, id: i64, ok: AnchorSuccess, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
             jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ? AND state <> 'anchored'",
        )
        .bind(ok.evidence)
        .bind(ok.authority)
        .bind(ok.jurisdiction)
        .bind(ok.in_residency)
        .bind(now.0)
        .bind(id)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    async fn anchor_failed(&self, id: i64, error: &str, next_attempt_at: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE anchors SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
             WHERE id = ? AND state <> 'anchored'",
        )
        .bind(error)
        .bind(next_attempt_at.0)
        .bind(id)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    async fn incidents_covering(&self, t: UnixMillis) -> Result<Vec<IncidentRow>, StoreError> {
        sqlx::query("SELECT seq, from_ms, to_ms, reason, content_hash FROM incidents WHERE from_ms <= ? AND to_ms >= ? ORDER BY seq")
            .bind(t.0)
            .bind(t.0)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(IncidentRow {
                    seq: Seq(size_u64(r.try_get("seq")?, "incident seq")?),
                    from: UnixMillis(r.try_get("from_ms")?),
                    to: UnixMillis(r.try_get("to_ms")?),
                    reason: r.try_get("reason")?,
                    content_hash: evidence_core::ContentHash(digest(r.try_get::<&[u8], _>("content_hash")?, "content hash")?),
                })
            })
            .collect()
    }

    async fn unanchored(&self) -> Result<Vec<AnchorRow>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ANCHOR_COLS} FROM anchors WHERE state <> 'anchored' ORDER BY id")))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(anchor_from)
            .collect()
    }
}
