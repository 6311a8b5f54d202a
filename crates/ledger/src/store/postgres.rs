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
//!   committed (they commit together);
//! - anchoring workers claim outbox rows with `FOR UPDATE SKIP LOCKED` and a lease.
//!
//! Schema names are `t_` followed by 32 hex digits of `SHA-256(tenant id)`; every query
//! of a [`PgTenant`] names its own schema, and no method takes a tenant argument.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use evidence_core::merkle::NodeId;
use evidence_core::{AppendReceipt, CheckpointHash, CheckpointSeq, LeafHash, NodeHash, Seq, TenantId, UnixMillis, sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row as _};

use super::{
    AnchorRow, AnchorSuccess, CheckpointRow, EncryptedRecord, Extension, IncidentRow, LeafEffect, LeafRow, NewLeaf, Rail, SEAL_READ_CHUNK,
    SealDraft, SealSigned, Store, StoreError, TenantConfig, TenantStore, checkpoint_row, digest, encode_leaf, frontier_map, i64_of,
    leaf_row, seal_chunks, size_u64, token_row,
};
use crate::tokens::TokenRecord;

static CATALOGUE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres/catalogue");
static TENANT: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres/tenant");

const CATALOGUE_SCHEMA: &str = "ledger_catalogue";

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    pool: PgPool,
    open: Mutex<HashMap<TenantId, PgTenant>>,
}

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

impl PgStore {
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
        Ok(Self { inner: Arc::new(StoreInner { pool, open: Mutex::new(HashMap::new()) }) })
    }

    /// A bare pool (one connection) without migrations, for administration in tests.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn raw_connect(opts: PgConnectOptions) -> Result<PgPool, StoreError> {
        Ok(PgPoolOptions::new().max_connections(1).connect_with(opts).await?)
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    fn cached(&self, tenant: &TenantId) -> Option<PgTenant> {
        self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(tenant).cloned()
    }
}

impl Store for PgStore {
    type Tenant = PgTenant;

    async fn create_tenant(&self, tenant: &TenantId, config: &TenantConfig) -> Result<PgTenant, StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let schema = schema_for(tenant);
        migrate(&self.inner.pool, &schema, &TENANT).await?;
        sqlx::query(
            "INSERT INTO ledger_catalogue.tenants (id, schema_name, config, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(&schema)
        .bind(json)
        .bind(crate::now().0)
        .execute(&self.inner.pool)
        .await?;
        self.open_tenant(tenant).await
    }

    async fn open_tenant(&self, tenant: &TenantId) -> Result<PgTenant, StoreError> {
        if let Some(t) = self.cached(tenant) {
            return Ok(t);
        }
        let row = sqlx::query("SELECT schema_name, config FROM ledger_catalogue.tenants WHERE id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.inner.pool)
            .await?
            .ok_or_else(|| StoreError::UnknownTenant(tenant.clone()))?;
        let schema: String = row.try_get("schema_name")?;
        if schema != schema_for(tenant) {
            return Err(StoreError::Corrupt(format!("catalogue schema {schema} for tenant {tenant}")));
        }
        let config: TenantConfig =
            serde_json::from_str(row.try_get("config")?).map_err(|e| StoreError::Corrupt(format!("tenant config: {e}")))?;
        let lock = sha256(&[b"evidence/v1/seal\0", schema.as_bytes()]);
        let mut lock8 = [0u8; 8];
        lock8.copy_from_slice(&lock[..8]);
        let t = PgTenant {
            inner: Arc::new(TenantInner {
                tenant: tenant.clone(),
                config,
                pool: self.inner.pool.clone(),
                quoted: format!("\"{schema}\"."),
                seal_lock: i64::from_be_bytes(lock8),
            }),
        };
        let mut open = self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(open.entry(tenant.clone()).or_insert(t).clone())
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM ledger_catalogue.tenants ORDER BY id").fetch_all(&self.inner.pool).await?;
        ids.into_iter().map(|s| TenantId::new(s).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ledger_catalogue.tokens (id, tenant, role, label, secret_hash, created_at, expires_at, revoked_at, principal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM ledger_catalogue.tokens WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM ledger_catalogue.tokens ORDER BY created_at DESC, id")))
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, id: &str, at: UnixMillis) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE ledger_catalogue.tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&self.inner.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

const TOKEN_COLS: &str = "id, tenant, role, label, secret_hash, created_at, expires_at, revoked_at, principal";

fn token_from(r: &sqlx::postgres::PgRow) -> Result<TokenRecord, StoreError> {
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

/// One tenant's schema.
#[derive(Debug, Clone)]
pub struct PgTenant {
    inner: Arc<TenantInner>,
}

#[derive(Debug)]
struct TenantInner {
    tenant: TenantId,
    config: TenantConfig,
    pool: PgPool,
    /// `"t_…".`, prefixed to every table name.
    quoted: String,
    seal_lock: i64,
}

impl PgTenant {
    /// SQL with `@.` replaced by this tenant's schema.
    fn qs(&self, sql: &str) -> String {
        sql.replace("@.", &self.inner.quoted)
    }

    /// As [`Self::qs`], with `?` placeholders numbered `$1, $2, ...`.
    fn q(&self, sql: &str) -> AssertSqlSafe<String> {
        let sql = self.qs(sql);
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
        AssertSqlSafe(out)
    }
}

const LEAF_COLS: &str = "seq, entry, leaf_hash, kind, appended_at, content_hash, idempotency_key";
const ANCHOR_COLS: &str = "id, checkpoint_seq, rail, state, attempts, next_attempt_at, last_error, evidence, \
     authority, jurisdiction, in_residency, reanchor_of, created_at, anchored_at";
const CHUNK: usize = 1000;

fn leaf_from(r: &sqlx::postgres::PgRow) -> Result<LeafRow, StoreError> {
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

fn anchor_from(r: &sqlx::postgres::PgRow) -> Result<AnchorRow, StoreError> {
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

fn checkpoint_from(r: &sqlx::postgres::PgRow) -> Result<CheckpointRow, StoreError> {
    checkpoint_row(
        r.try_get("seq")?,
        r.try_get("tree_size")?,
        r.try_get::<&[u8], _>("root")?,
        r.try_get("note")?,
        r.try_get::<&[u8], _>("checkpoint_hash")?,
        r.try_get("sealed_at")?,
    )
}

impl TenantStore for PgTenant {
    fn tenant(&self) -> &TenantId {
        &self.inner.tenant
    }

    fn config(&self) -> &TenantConfig {
        &self.inner.config
    }

    async fn append(&self, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, StoreError> {
        let tenant = &self.inner.tenant;
        let mut tx = self.inner.pool.begin().await?;
        // The head row lock serialises appends of this tenant across processes.
        let size: i64 = sqlx::query_scalar(self.q("SELECT size FROM @.head WHERE id = 0 FOR UPDATE")).fetch_one(&mut *tx).await?;
        let mut seen: HashMap<String, AppendReceipt> = HashMap::new();
        let keys: Vec<&str> = leaves.iter().filter_map(|l| l.idempotency_key.as_deref()).collect();
        for chunk in keys.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Postgres>::new(self.qs(&format!("SELECT {LEAF_COLS} FROM @.leaves WHERE idempotency_key IN (")));
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
            let mut qb = QueryBuilder::<Postgres>::new(self.qs(&format!("INSERT INTO @.leaves ({LEAF_COLS}) ")));
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
            let mut qb = QueryBuilder::<Postgres>::new(self.qs("INSERT INTO @.records (seq, ciphertext, nonce, wrapped_key, salt) "));
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
                    sqlx::query(self.q("INSERT INTO @.incidents (seq, from_ms, to_ms, reason, content_hash) VALUES (?, ?, ?, ?, ?)"))
                        .bind(seq)
                        .bind(from.0)
                        .bind(to.0)
                        .bind(reason)
                        .bind(l.content_hash.0.to_vec())
                        .execute(&mut *tx)
                        .await?;
                }
                LeafEffect::Erase { target } => {
                    sqlx::query(self.q("DELETE FROM @.records WHERE seq = ?")).bind(i64_of(target.0)?).execute(&mut *tx).await?;
                }
                LeafEffect::Reanchor { original, success } => {
                    sqlx::query(self.q("UPDATE @.anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
                         jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ?"))
                    .bind(success.evidence.clone())
                    .bind(success.authority.clone())
                    .bind(success.jurisdiction.clone())
                    .bind(success.in_residency)
                    .bind(l.appended_at.0)
                    .bind(original)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(self.q("INSERT INTO @.anchors (checkpoint_seq, rail, state, next_attempt_at, reanchor_of, created_at) \
                         SELECT checkpoint_seq, rail, 'pending', ?, id, ? FROM @.anchors WHERE id = ?"))
                    .bind(l.appended_at.0)
                    .bind(l.appended_at.0)
                    .bind(original)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if !fresh.is_empty() {
            sqlx::query(self.q("UPDATE @.head SET size = ? WHERE id = 0")).bind(i64_of(next)?).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn size(&self) -> Result<u64, StoreError> {
        let size: i64 = sqlx::query_scalar(self.q("SELECT size FROM @.head WHERE id = 0")).fetch_one(&self.inner.pool).await?;
        size_u64(size, "head size")
    }

    async fn leaves(&self, from: u64, to: u64) -> Result<Vec<LeafRow>, StoreError> {
        sqlx::query(self.q(&format!("SELECT {LEAF_COLS} FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq")))
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(leaf_from)
            .collect()
    }

    async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<LeafHash>, StoreError> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(self.q("SELECT leaf_hash FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq"))
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter().map(|h| Ok(LeafHash(digest(h, "leaf hash")?))).collect()
    }

    async fn record(&self, seq: Seq) -> Result<Option<EncryptedRecord>, StoreError> {
        let row = sqlx::query(self.q("SELECT ciphertext, nonce, wrapped_key, salt FROM @.records WHERE seq = ?"))
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
            let h: Option<Vec<u8>> = sqlx::query_scalar(self.q("SELECT hash FROM @.nodes WHERE level = ? AND idx = ?"))
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
        let mut tx = self.inner.pool.begin().await?;
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(self.inner.seal_lock).fetch_one(&mut *tx).await?;
        if !locked {
            return Err(StoreError::SealBusy);
        }
        let last =
            sqlx::query(self.q("SELECT seq, tree_size, checkpoint_hash, frontier, sealed_at FROM @.checkpoints ORDER BY seq DESC LIMIT 1"))
                .fetch_optional(&mut *tx)
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
        let size = size_u64(sqlx::query_scalar(self.q("SELECT size FROM @.head WHERE id = 0")).fetch_one(&mut *tx).await?, "head size")?;
        let mut ext = Extension::new(old_size, old_map, size)?;
        for (from, to) in seal_chunks(old_size, size, SEAL_READ_CHUNK) {
            let hashes = sqlx::query_scalar(self.q("SELECT leaf_hash FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq"))
                .bind(i64_of(from)?)
                .bind(i64_of(to)?)
                .fetch_all(&mut *tx)
                .await?;
            ext = ext.push(from, to, hashes).await?;
        }
        let work = ext.finish()?;
        let draft = SealDraft { seq: CheckpointSeq(seq), prev, root: work.root, prev_sealed_at };
        let signed = sign(draft)?;
        for chunk in work.nodes.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Postgres>::new(self.qs("INSERT INTO @.nodes (level, idx, hash) "));
            qb.push_values(chunk, |mut b, (id, h)| {
                b.push_bind(i64::from(id.level)).push_bind(i64::try_from(id.index).unwrap_or(i64::MAX)).push_bind(h.0.to_vec());
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *tx).await?;
        }
        sqlx::query(self.q("INSERT INTO @.checkpoints (seq, tree_size, root, note, checkpoint_hash, sealed_at, frontier) \
             VALUES (?, ?, ?, ?, ?, ?, ?)"))
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
            sqlx::query(
                self.q("INSERT INTO @.anchors (checkpoint_seq, rail, state, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)"),
            )
            .bind(i64_of(seq)?)
            .bind(rail.as_str())
            .bind(now.0)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(CheckpointRow { seq: CheckpointSeq(seq), root: work.root, note: signed.note, hash: signed.hash, sealed_at: signed.sealed_at })
    }

    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<CheckpointRow>, StoreError> {
        sqlx::query(
            self.q("SELECT seq, tree_size, root, note, checkpoint_hash, sealed_at FROM @.checkpoints WHERE seq >= ? ORDER BY seq LIMIT ?"),
        )
        .bind(i64_of(from)?)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.pool)
        .await?
        .iter()
        .map(checkpoint_from)
        .collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        sqlx::query(self.q("SELECT seq, tree_size, root, note, checkpoint_hash, sealed_at FROM @.checkpoints ORDER BY seq DESC LIMIT 1"))
            .fetch_optional(&self.inner.pool)
            .await?
            .as_ref()
            .map(checkpoint_from)
            .transpose()
    }

    async fn anchors(&self, checkpoint: CheckpointSeq) -> Result<Vec<AnchorRow>, StoreError> {
        sqlx::query(self.q(&format!("SELECT {ANCHOR_COLS} FROM @.anchors WHERE checkpoint_seq = ? ORDER BY id")))
            .bind(i64_of(checkpoint.0)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(anchor_from)
            .collect()
    }

    async fn claim_due(&self, rail: Rail, now: UnixMillis, lease_until: UnixMillis, limit: u32) -> Result<Vec<AnchorRow>, StoreError> {
        let mut rows = sqlx::query(self.q(&format!(
            "UPDATE @.anchors SET next_attempt_at = ? WHERE id IN (SELECT id FROM @.anchors \
             WHERE state <> 'anchored' AND rail = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) \
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
        sqlx::query(self.q("UPDATE @.anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
             jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ? AND state <> 'anchored'"))
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
        sqlx::query(self.q("UPDATE @.anchors SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
             WHERE id = ? AND state <> 'anchored'"))
        .bind(error)
        .bind(next_attempt_at.0)
        .bind(id)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    async fn incidents_covering(&self, t: UnixMillis) -> Result<Vec<IncidentRow>, StoreError> {
        sqlx::query(
            self.q("SELECT seq, from_ms, to_ms, reason, content_hash FROM @.incidents WHERE from_ms <= ? AND to_ms >= ? ORDER BY seq"),
        )
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
        sqlx::query(self.q(&format!("SELECT {ANCHOR_COLS} FROM @.anchors WHERE state <> 'anchored' ORDER BY id")))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(anchor_from)
            .collect()
    }
}
