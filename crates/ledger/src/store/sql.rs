//! The one implementation of the storage layer over SQL: the catalogue, the storage
//! primitives of a tenant's log, the append plan and the seal, written once for both
//! backends. What truly differs between SQLite and PostgreSQL sits behind two small traits:
//! [`Backend`] (where tenants live: files or schemas, how they are created and migrated) and
//! [`Dialect`] (one tenant's table prefix and placeholders, the head-row lock, the outbox
//! lease's row locking, how a seal excludes another, what happens after a write).
//!
//! # The locking rule of a seal
//!
//! A seal extends the tree from the latest checkpoint `C(n)` to the head it read, and commits
//! `C(n+1)` only if, inside its write transaction, `C(n)` is still the latest checkpoint;
//! otherwise it answers [`StoreError::SealBusy`] and stores nothing. So two seals of one
//! tenant can never both extend the same checkpoint (the chain cannot fork), whatever the
//! backend. Each backend adds only how a seal avoids wasted work: PostgreSQL takes a
//! per-tenant transaction-scoped advisory lock first (`pg_try_advisory_xact_lock`, held by
//! the write transaction from the start, so a second sealer in any process is refused at
//! once), SQLite reads and hashes beside the single writer connection and relies on the
//! check alone (a second seal in the same process finds the checkpoint stored meanwhile).
//! Leaves below a committed head never change, so the leaf hashes may be read outside the
//! write transaction on both.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use evidence_core::internal::merkle_store::NodeId;
use evidence_core::{AppendReceipt, CheckpointHash, CheckpointSeq, LeafHash, NodeHash, Seq, TenantId, UnixMillis};
use sqlx::{AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Row, Transaction, Type};

use super::{
    AnchorRow, AnchorSuccess, CheckpointRow, EncryptedRecord, Extension, IncidentRow, KeyState, LeafEffect, LeafRow, NewLeaf, Rail,
    SEAL_READ_CHUNK, SealDraft, SealSigned, Store, StoreError, StoredRecord, TenantConfig, TenantStore, checkpoint_row, digest,
    frontier_map, i64_of, leaf_row, plan_append, seal_chunks, size_u64, token_row,
};
use crate::tokens::TokenRecord;

/// Rows written per `INSERT` statement (both backends' bind-parameter limits allow it).
const CHUNK: usize = 1000;
const LEAF_COLS: &str = "seq, entry, leaf_hash, kind, appended_at, content_hash, idempotency_key";
const ANCHOR_COLS: &str = "id, checkpoint_seq, rail, state, attempts, next_attempt_at, last_error, evidence, \
     authority, jurisdiction, in_residency, reanchor_of, created_at, anchored_at";
const CHECKPOINT_COLS: &str = "seq, tree_size, root, note, checkpoint_hash, sealed_at";
const TOKEN_COLS: &str = "id, tenant, role, label, secret_hash, created_at, expires_at, revoked_at, principal";

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// What differs between the SQL dialects for one tenant's log. Implemented by the SQLite and
/// PostgreSQL backends only (sealed).
pub trait Dialect: Send + Sync + Debug + 'static + Sealed {
    /// The sqlx database.
    type DB: Database;
    /// Appended to the head read of an append: PostgreSQL locks the head row so that appends
    /// from any number of processes get consecutive sequence numbers (`FOR UPDATE`); on
    /// SQLite the tenant's single writer connection already serialises them.
    const LOCK_HEAD: &'static str;
    /// Appended inside the outbox lease's row selection: PostgreSQL skips rows another
    /// worker is leasing at this moment (`FOR UPDATE SKIP LOCKED`).
    const SKIP_LOCKED: &'static str;

    /// `text` with `@.` replaced by the tenant's table prefix (PostgreSQL: its schema).
    fn prefixed(&self, text: &str) -> String;
    /// As [`Dialect::prefixed`], with `?` placeholders in the dialect's form.
    fn sql(&self, text: &str) -> String;
    /// The pool a seal's long reads go through (SQLite: a second connection beside the
    /// writer, so appends go on meanwhile; PostgreSQL: the pool).
    fn reader<'a>(&'a self, writer: &'a Pool<Self::DB>) -> &'a Pool<Self::DB>;
    /// Called before a seal reads anything: excludes other sealers where the backend can
    /// (see the module docs). `Some` is the transaction the seal then writes in.
    fn exclude_sealers(
        &self,
        writer: &Pool<Self::DB>,
    ) -> impl Future<Output = Result<Option<Transaction<'static, Self::DB>>, StoreError>> + Send;
    /// Called after each committed write (SQLite wakes its background WAL checkpointer).
    fn wrote(&self, writer: &Pool<Self::DB>) {
        let _ = writer;
    }
    /// Called once an erasure is applied: lets the engine drop what it still holds of deleted
    /// rows where it can (SQLite: `wal_checkpoint(TRUNCATE)`; the file itself runs with
    /// `secure_delete`). Defence in depth only: the erasure's guarantee is the destroyed key.
    fn after_erasure(&self, writer: &Pool<Self::DB>) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = writer;
        async { Ok(()) }
    }
}

/// Where a deployment's tenants live. Implemented by the SQLite and PostgreSQL backends only.
pub trait Backend: Send + Sync + Debug + 'static + Sealed {
    /// The sqlx database.
    type DB: Database;
    /// A tenant's dialect.
    type Dialect: Dialect<DB = Self::DB>;
    /// The catalogue's pool.
    fn catalogue(&self) -> &Pool<Self::DB>;
    /// `text` for the catalogue, `@.` replaced by its table prefix, placeholders in the dialect's form.
    fn catalogue_sql(&self, text: &str) -> String;
    /// Creates the tenant's storage if missing (file or schema) and brings it to the latest
    /// migration, then records the tenant in the catalogue unless it is there. Idempotent.
    fn create(&self, tenant: &TenantId, config_json: &str, now: UnixMillis) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Opens the tenant's storage: its writer pool and dialect. Only called for a tenant the
    /// catalogue holds, with its stored `schema` column (PostgreSQL) if any.
    fn open(
        &self,
        tenant: &TenantId,
        schema: Option<String>,
    ) -> impl Future<Output = Result<(Pool<Self::DB>, Self::Dialect), StoreError>> + Send;
    /// The catalogue query reading a tenant's policy (and, on PostgreSQL, its schema).
    const SELECT_TENANT: &'static str;
}

/// Attaches the sqlx bounds both backends satisfy to an impl block over the database `$db`.
macro_rules! with_sql_bounds {
    (($db:ty) impl<$p:ident: $bound:path> $($rest:tt)*) => {
        with_sql_bounds!(@ $db; [$p: $bound]; []; $($rest)*);
    };
    (@ $db:ty; [$($g:tt)*]; [$($head:tt)*]; { $($body:tt)* }) => {
        impl<$($g)*> $($head)*
        where
            for<'c> &'c mut <$db as Database>::Connection: Executor<'c, Database = $db>,
            for<'c> &'c Pool<$db>: Executor<'c, Database = $db>,
            <$db as Database>::Arguments: IntoArguments<$db> + Default,
            for<'q> i64: Encode<'q, $db> + Type<$db>,
            for<'r> i64: Decode<'r, $db>,
            for<'q> bool: Encode<'q, $db> + Type<$db>,
            for<'r> bool: Decode<'r, $db>,
            for<'q> String: Encode<'q, $db> + Type<$db>,
            for<'r> String: Decode<'r, $db>,
            for<'q> Vec<u8>: Encode<'q, $db> + Type<$db>,
            for<'r> Vec<u8>: Decode<'r, $db>,
            for<'q> &'q str: Encode<'q, $db> + Type<$db>,
            for<'r> &'r str: Decode<'r, $db> + Type<$db>,
            for<'r> &'r [u8]: Decode<'r, $db> + Type<$db>,
            for<'q> Option<String>: Encode<'q, $db>,
            for<'q> Option<i64>: Encode<'q, $db>,
            &'static str: ColumnIndex<<$db as Database>::Row>,
            usize: ColumnIndex<<$db as Database>::Row>,
        { $($body)* }
    };
    (@ $db:ty; [$($g:tt)*]; [$($head:tt)*]; $t:tt $($rest:tt)*) => {
        with_sql_bounds!(@ $db; [$($g)*]; [$($head)* $t]; $($rest)*);
    };
}

fn q(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

/// A deployment's storage over SQL: the catalogue and every tenant's log.
#[derive(Debug)]
pub struct SqlStore<B: Backend> {
    inner: Arc<StoreInner<B>>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

#[derive(Debug)]
struct StoreInner<B: Backend> {
    backend: B,
    open: std::sync::Mutex<HashMap<TenantId, SqlTenant<B::Dialect>>>,
    /// Serialises the creation and first opening of tenants in this process, so a tenant's
    /// storage is created and migrated once however many requests race to it.
    opening: tokio::sync::Mutex<()>,
}

impl<B: Backend> SqlStore<B> {
    pub(crate) fn from_backend(backend: B) -> Self {
        Self { inner: Arc::new(StoreInner { backend, open: std::sync::Mutex::default(), opening: tokio::sync::Mutex::const_new(()) }) }
    }

    pub(crate) fn backend(&self) -> &B {
        &self.inner.backend
    }

    fn cached(&self, tenant: &TenantId) -> Option<SqlTenant<B::Dialect>> {
        self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(tenant).cloned()
    }
}

with_sql_bounds! { (B::DB) impl<B: Backend> SqlStore<B> {
    fn token_from(r: &<B::DB as Database>::Row) -> Result<TokenRecord, StoreError> {
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

    async fn open_stored(&self, tenant: &TenantId) -> Result<SqlTenant<B::Dialect>, StoreError> {
        let b = &self.inner.backend;
        let row = sqlx::query(q(b.catalogue_sql(B::SELECT_TENANT)))
            .bind(tenant.as_str())
            .fetch_optional(b.catalogue())
            .await?
            .ok_or_else(|| StoreError::UnknownTenant(tenant.clone()))?;
        let config: TenantConfig =
            serde_json::from_str(row.try_get::<&str, _>("config").map_err(StoreError::Db)?).map_err(|e| StoreError::Corrupt(format!("tenant config: {e}")))?;
        let schema: Option<String> = row.try_get("schema_name").ok();
        let (pool, dialect) = b.open(tenant, schema).await?;
        let t = SqlTenant { inner: Arc::new(TenantInner { tenant: tenant.clone(), config, pool, dialect }) };
        let mut open = self.inner.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(open.entry(tenant.clone()).or_insert(t).clone())
    }
}}

with_sql_bounds! { (B::DB) impl<B: Backend> Store for SqlStore<B> {
    type Tenant = SqlTenant<B::Dialect>;

    async fn create_tenant_if_absent(&self, tenant: &TenantId, config: &TenantConfig) -> Result<(Self::Tenant, bool), StoreError> {
        if let Some(t) = self.cached(tenant) {
            return Ok((t, false));
        }
        let json = serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let _one_at_a_time = self.inner.opening.lock().await;
        if let Some(t) = self.cached(tenant) {
            return Ok((t, false));
        }
        let created = self.inner.backend.create(tenant, &json, crate::now()).await?;
        Ok((self.open_stored(tenant).await?, created))
    }

    async fn open_tenant(&self, tenant: &TenantId) -> Result<Self::Tenant, StoreError> {
        if let Some(t) = self.cached(tenant) {
            return Ok(t);
        }
        let _one_at_a_time = self.inner.opening.lock().await;
        if let Some(t) = self.cached(tenant) {
            return Ok(t);
        }
        self.open_stored(tenant).await
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let b = &self.inner.backend;
        let rows = sqlx::query(q(b.catalogue_sql("SELECT id FROM @.tenants ORDER BY id"))).fetch_all(b.catalogue()).await?;
        rows.iter().map(|r| TenantId::new(r.try_get::<String, _>(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let b = &self.inner.backend;
        sqlx::query(q(b.catalogue_sql(&format!("INSERT INTO @.tokens ({TOKEN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))))
            .bind(t.id.clone())
            .bind(t.tenant.as_ref().map(|t| t.as_str().to_owned()))
            .bind(t.role.name())
            .bind(t.label.clone())
            .bind(t.secret_hash.to_vec())
            .bind(t.created_at.0)
            .bind(t.expires_at.0)
            .bind(t.revoked_at.map(|r| r.0))
            .bind(t.principal.clone())
            .execute(b.catalogue())
            .await?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let b = &self.inner.backend;
        let row = sqlx::query(q(b.catalogue_sql(&format!("SELECT {TOKEN_COLS} FROM @.tokens WHERE id = ?"))))
            .bind(id.to_owned())
            .fetch_optional(b.catalogue())
            .await?;
        row.as_ref().map(Self::token_from).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let b = &self.inner.backend;
        let rows = sqlx::query(q(b.catalogue_sql(&format!("SELECT {TOKEN_COLS} FROM @.tokens ORDER BY created_at DESC, id"))))
            .fetch_all(b.catalogue())
            .await?;
        rows.iter().map(Self::token_from).collect()
    }

    async fn revoke_token(&self, id: &str, at: UnixMillis) -> Result<bool, StoreError> {
        let b = &self.inner.backend;
        let done = sqlx::query(q(b.catalogue_sql("UPDATE @.tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id")))
            .bind(at.0)
            .bind(id.to_owned())
            .fetch_optional(b.catalogue())
            .await?;
        Ok(done.is_some())
    }
}}

/// One tenant's log over SQL. Bound to the tenant at open; takes no tenant argument.
#[derive(Debug)]
pub struct SqlTenant<D: Dialect> {
    inner: Arc<TenantInner<D>>,
}

impl<D: Dialect> Clone for SqlTenant<D> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

#[derive(Debug)]
struct TenantInner<D: Dialect> {
    tenant: TenantId,
    config: TenantConfig,
    /// The writer pool (SQLite: one connection).
    pool: Pool<D::DB>,
    dialect: D,
}

impl<D: Dialect> SqlTenant<D> {
    fn sql(&self, text: &str) -> AssertSqlSafe<String> {
        q(self.inner.dialect.sql(text))
    }

    fn builder(&self, text: &str) -> QueryBuilder<D::DB>
    where
        <D::DB as Database>::Arguments: Default,
    {
        QueryBuilder::new(self.inner.dialect.prefixed(text))
    }
}

with_sql_bounds! { (D::DB) impl<D: Dialect> SqlTenant<D> {
    fn leaf_from(r: &<D::DB as Database>::Row) -> Result<LeafRow, StoreError> {
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

    fn record_from(r: &<D::DB as Database>::Row) -> Result<EncryptedRecord, StoreError> {
        let salt: &[u8] = r.try_get("salt")?;
        Ok(EncryptedRecord {
            ciphertext: r.try_get("ciphertext")?,
            nonce: r.try_get("nonce")?,
            wrapped_key: r.try_get("wrapped_key")?,
            kek_epoch: size_u64(r.try_get("kek_epoch")?, "record key epoch")?,
            legacy_salt: if salt.is_empty() { None } else { Some(digest(salt, "salt")?) },
        })
    }

    fn anchor_from(r: &<D::DB as Database>::Row) -> Result<AnchorRow, StoreError> {
        Ok(AnchorRow {
            id: r.try_get("id")?,
            checkpoint_seq: CheckpointSeq(size_u64(r.try_get("checkpoint_seq")?, "checkpoint seq")?),
            rail: super::rail(&r.try_get::<String, _>("rail")?)?,
            state: super::state(&r.try_get::<String, _>("state")?)?,
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

    fn checkpoint_from(r: &<D::DB as Database>::Row) -> Result<CheckpointRow, StoreError> {
        checkpoint_row(
            r.try_get("seq")?,
            r.try_get("tree_size")?,
            r.try_get::<&[u8], _>("root")?,
            r.try_get("note")?,
            r.try_get::<&[u8], _>("checkpoint_hash")?,
            r.try_get("sealed_at")?,
        )
    }

    /// The receipts of stored leaves carrying any of `keys`, by key.
    async fn stored_keys(
        &self,
        tx: &mut Transaction<'static, D::DB>,
        keys: &[&str],
    ) -> Result<HashMap<String, AppendReceipt>, StoreError> {
        let mut seen = HashMap::new();
        for chunk in keys.chunks(CHUNK) {
            let mut qb = self.builder(&format!("SELECT {LEAF_COLS} FROM @.leaves WHERE idempotency_key IN ("));
            let mut sep = qb.separated(", ");
            for k in chunk {
                sep.push_bind((*k).to_owned());
            }
            qb.push(")");
            for r in qb.build().fetch_all(&mut **tx).await? {
                let row = Self::leaf_from(&r)?;
                if let Some(k) = row.idempotency_key.clone() {
                    seen.insert(k, row.receipt()?);
                }
            }
        }
        Ok(seen)
    }

    /// Applies a leaf's side effect inside its transaction.
    async fn apply_effect(&self, tx: &mut Transaction<'static, D::DB>, seq: u64, l: &NewLeaf) -> Result<(), StoreError> {
        match &l.effect {
            LeafEffect::None => {}
            LeafEffect::Incident { from, to, reason } => {
                sqlx::query(self.sql("INSERT INTO @.incidents (seq, from_ms, to_ms, reason, content_hash) VALUES (?, ?, ?, ?, ?)"))
                    .bind(i64_of(seq)?)
                    .bind(from.0)
                    .bind(to.0)
                    .bind(reason.clone())
                    .bind(l.content_hash.0.to_vec())
                    .execute(&mut **tx)
                    .await?;
            }
            LeafEffect::Erase { target } => {
                let t = i64_of(target.0)?;
                let by: Option<i64> =
                    sqlx::query(self.sql("SELECT erasure_seq FROM @.erasures WHERE seq = ?")).bind(t).fetch_optional(&mut **tx).await?.map(|r| r.try_get(0)).transpose()?;
                if let Some(by) = by {
                    return Err(StoreError::AlreadyErased { seq: *target, by: Some(Seq(size_u64(by, "erasure seq")?)) });
                }
                let deleted = sqlx::query(self.sql("DELETE FROM @.records WHERE seq = ? RETURNING seq")).bind(t).fetch_optional(&mut **tx).await?;
                if deleted.is_none() {
                    // Erased before erasures were recorded (or never stored): erased all the same.
                    return Err(StoreError::AlreadyErased { seq: *target, by: None });
                }
                sqlx::query(self.sql("INSERT INTO @.erasures (seq, erasure_seq) VALUES (?, ?)")).bind(t).bind(i64_of(seq)?).execute(&mut **tx).await?;
                // Every epoch up to the current one held this record's key: all must go.
                sqlx::query(self.sql(
                    "UPDATE @.head SET shred_below = CASE WHEN shred_below > kek_epoch + 1 THEN shred_below ELSE kek_epoch + 1 END, \
                     erasure_pending_since = COALESCE(erasure_pending_since, ?) WHERE id = 0",
                ))
                .bind(l.appended_at.0)
                .execute(&mut **tx)
                .await?;
            }
            LeafEffect::Reanchor { original, success } => {
                sqlx::query(self.sql(
                    "UPDATE @.anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
                     jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ?",
                ))
                .bind(success.evidence.clone())
                .bind(success.authority.clone())
                .bind(success.jurisdiction.clone())
                .bind(success.in_residency)
                .bind(l.appended_at.0)
                .bind(*original)
                .execute(&mut **tx)
                .await?;
                sqlx::query(self.sql(
                    "INSERT INTO @.anchors (checkpoint_seq, rail, state, next_attempt_at, reanchor_of, created_at) \
                     SELECT checkpoint_seq, rail, 'pending', ?, id, ? FROM @.anchors WHERE id = ?",
                ))
                .bind(l.appended_at.0)
                .bind(l.appended_at.0)
                .bind(*original)
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// The latest checkpoint's sequence number, hash, tree size, right edge and seal time.
    async fn seal_start(&self) -> Result<(u64, CheckpointHash, u64, HashMap<NodeId, NodeHash>, Option<UnixMillis>, u64), StoreError> {
        let reader = self.inner.dialect.reader(&self.inner.pool);
        let last = sqlx::query(self.sql("SELECT seq, tree_size, checkpoint_hash, frontier, sealed_at FROM @.checkpoints ORDER BY seq DESC LIMIT 1"))
            .fetch_optional(reader)
            .await?;
        let head = sqlx::query(self.sql("SELECT size FROM @.head WHERE id = 0")).fetch_one(reader).await?;
        let size = size_u64(head.try_get(0)?, "head size")?;
        Ok(match last {
            None => (0, CheckpointHash([0; 32]), 0, HashMap::new(), None, size),
            Some(r) => {
                let old_size = size_u64(r.try_get("tree_size")?, "tree size")?;
                (
                    size_u64(r.try_get("seq")?, "checkpoint seq")? + 1,
                    CheckpointHash(digest(r.try_get::<&[u8], _>("checkpoint_hash")?, "checkpoint hash")?),
                    old_size,
                    frontier_map(old_size, r.try_get::<&[u8], _>("frontier")?)?,
                    Some(UnixMillis(r.try_get("sealed_at")?)),
                    size,
                )
            }
        })
    }
}}

with_sql_bounds! { (D::DB) impl<D: Dialect> TenantStore for SqlTenant<D> {
    fn tenant(&self) -> &TenantId {
        &self.inner.tenant
    }

    fn config(&self) -> &TenantConfig {
        &self.inner.config
    }

    async fn append(&self, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, StoreError> {
        let mut tx = self.inner.pool.begin().await?;
        let head = sqlx::query(self.sql(&format!("SELECT size, kek_epoch FROM @.head WHERE id = 0{}", D::LOCK_HEAD))).fetch_one(&mut *tx).await?;
        let epoch = size_u64(head.try_get(1)?, "key epoch")?;
        let head = size_u64(head.try_get(0)?, "head size")?;
        let keys: Vec<&str> = leaves.iter().filter_map(|l| l.idempotency_key.as_deref()).collect();
        let stored = self.stored_keys(&mut tx, &keys).await?;
        let plan = plan_append(&self.inner.tenant, head, stored, &leaves)?;
        // Under the head lock: a record sealed under an epoch a rotation has left would be
        // missed by its re-wrap and lost with the old key.
        if plan.fresh.iter().any(|p| p.leaf.record.kek_epoch != epoch) {
            return Err(StoreError::KeyEpochChanged { current: epoch });
        }
        for chunk in plan.fresh.chunks(CHUNK) {
            let mut qb = self.builder(&format!("INSERT INTO @.leaves ({LEAF_COLS}) "));
            qb.push_values(chunk, |mut b, p| {
                b.push_bind(i64::try_from(p.seq).unwrap_or(i64::MAX))
                    .push_bind(p.entry.clone())
                    .push_bind(p.leaf_hash.0.to_vec())
                    .push_bind(i64::from(p.leaf.kind.code()))
                    .push_bind(p.leaf.appended_at.0)
                    .push_bind(p.leaf.content_hash.0.to_vec())
                    .push_bind(p.leaf.idempotency_key.clone());
            });
            qb.build().execute(&mut *tx).await?;
            let mut qb = self.builder("INSERT INTO @.records (seq, ciphertext, nonce, wrapped_key, salt, kek_epoch) ");
            qb.push_values(chunk, |mut b, p| {
                let r = &p.leaf.record;
                b.push_bind(i64::try_from(p.seq).unwrap_or(i64::MAX))
                    .push_bind(r.ciphertext.clone())
                    .push_bind(r.nonce.clone())
                    .push_bind(r.wrapped_key.clone())
                    .push_bind(r.legacy_salt.map(|s| s.to_vec()).unwrap_or_default())
                    .push_bind(i64::try_from(r.kek_epoch).unwrap_or(i64::MAX));
            });
            qb.build().execute(&mut *tx).await?;
        }
        for p in &plan.fresh {
            self.apply_effect(&mut tx, p.seq, p.leaf).await?;
        }
        if !plan.fresh.is_empty() {
            sqlx::query(self.sql("UPDATE @.head SET size = ? WHERE id = 0")).bind(i64_of(plan.next)?).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(plan.receipts)
    }

    async fn size(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(self.sql("SELECT size FROM @.head WHERE id = 0")).fetch_one(&self.inner.pool).await?;
        size_u64(r.try_get(0)?, "head size")
    }

    async fn leaves(&self, from: u64, to: u64) -> Result<Vec<LeafRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {LEAF_COLS} FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq")))
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::leaf_from)
            .collect()
    }

    async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<LeafHash>, StoreError> {
        sqlx::query(self.sql("SELECT leaf_hash FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq"))
            .bind(i64_of(from)?)
            .bind(i64_of(to)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(|r| Ok(LeafHash(digest(r.try_get::<&[u8], _>(0)?, "leaf hash")?)))
            .collect()
    }

    async fn record(&self, seq: Seq) -> Result<Option<EncryptedRecord>, StoreError> {
        let row = sqlx::query(self.sql("SELECT ciphertext, nonce, wrapped_key, salt, kek_epoch FROM @.records WHERE seq = ?"))
            .bind(i64_of(seq.0)?)
            .fetch_optional(&self.inner.pool)
            .await?;
        row.map(|r| Self::record_from(&r)).transpose()
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, NodeHash)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let h = sqlx::query(self.sql("SELECT hash FROM @.nodes WHERE level = ? AND idx = ?"))
                .bind(i64::from(id.level))
                .bind(i64_of(id.index)?)
                .fetch_optional(&self.inner.pool)
                .await?;
            if let Some(h) = h {
                out.push((*id, NodeHash(digest(h.try_get::<&[u8], _>(0)?, "node hash")?)));
            }
        }
        Ok(out)
    }

    async fn seal<F>(&self, sign: F, rails: &[Rail], now: UnixMillis) -> Result<CheckpointRow, StoreError>
    where
        F: FnOnce(SealDraft) -> Result<SealSigned, StoreError> + Send,
    {
        // The locking rule is in the module docs: exclude other sealers where the backend
        // can, read and hash outside the write transaction, and commit only if the
        // checkpoint extended is still the latest.
        let held = self.inner.dialect.exclude_sealers(&self.inner.pool).await?;
        let (seq, prev, old_size, old_map, prev_sealed_at, size) = self.seal_start().await?;
        let mut ext = Extension::new(old_size, old_map, size)?;
        let reader = self.inner.dialect.reader(&self.inner.pool);
        for (from, to) in seal_chunks(old_size, size, SEAL_READ_CHUNK) {
            let hashes = sqlx::query(self.sql("SELECT leaf_hash FROM @.leaves WHERE seq >= ? AND seq < ? ORDER BY seq"))
                .bind(i64_of(from)?)
                .bind(i64_of(to)?)
                .fetch_all(reader)
                .await?
                .iter()
                .map(|r| r.try_get::<Vec<u8>, _>(0))
                .collect::<Result<Vec<_>, _>>()?;
            ext = ext.push(from, to, hashes).await?;
        }
        let work = ext.finish()?;
        let mut tx = match held {
            Some(tx) => tx,
            None => self.inner.pool.begin().await?,
        };
        let latest = sqlx::query(self.sql("SELECT MAX(seq) FROM @.checkpoints")).fetch_one(&mut *tx).await?;
        if latest.try_get::<Option<i64>, _>(0)? != seq.checked_sub(1).map(i64_of).transpose()? {
            return Err(StoreError::SealBusy);
        }
        let signed = sign(SealDraft { seq: CheckpointSeq(seq), prev, root: work.root, prev_sealed_at })?;
        for chunk in work.nodes.chunks(CHUNK) {
            let mut qb = self.builder("INSERT INTO @.nodes (level, idx, hash) ");
            qb.push_values(chunk, |mut b, (id, h)| {
                b.push_bind(i64::from(id.level)).push_bind(i64::try_from(id.index).unwrap_or(i64::MAX)).push_bind(h.0.to_vec());
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *tx).await?;
        }
        sqlx::query(self.sql(&format!("INSERT INTO @.checkpoints ({CHECKPOINT_COLS}, frontier) VALUES (?, ?, ?, ?, ?, ?, ?)")))
            .bind(i64_of(seq)?)
            .bind(i64_of(size)?)
            .bind(work.root.hash.0.to_vec())
            .bind(signed.note.note.clone())
            .bind(signed.hash.0.to_vec())
            .bind(signed.sealed_at.0)
            .bind(work.frontier_blob)
            .execute(&mut *tx)
            .await?;
        for rail in rails {
            sqlx::query(self.sql("INSERT INTO @.anchors (checkpoint_seq, rail, state, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)"))
                .bind(i64_of(seq)?)
                .bind(rail.as_str())
                .bind(now.0)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(CheckpointRow { seq: CheckpointSeq(seq), root: work.root, note: signed.note, hash: signed.hash, sealed_at: signed.sealed_at })
    }

    async fn checkpoints(&self, from: u64, limit: u32) -> Result<Vec<CheckpointRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {CHECKPOINT_COLS} FROM @.checkpoints WHERE seq >= ? ORDER BY seq LIMIT ?")))
            .bind(i64_of(from)?)
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::checkpoint_from)
            .collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {CHECKPOINT_COLS} FROM @.checkpoints ORDER BY seq DESC LIMIT 1")))
            .fetch_optional(&self.inner.pool)
            .await?
            .as_ref()
            .map(Self::checkpoint_from)
            .transpose()
    }

    async fn anchors(&self, checkpoint: CheckpointSeq) -> Result<Vec<AnchorRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {ANCHOR_COLS} FROM @.anchors WHERE checkpoint_seq = ? ORDER BY id")))
            .bind(i64_of(checkpoint.0)?)
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::anchor_from)
            .collect()
    }

    async fn claim_due(&self, rail: Rail, now: UnixMillis, lease_until: UnixMillis, limit: u32) -> Result<Vec<AnchorRow>, StoreError> {
        let mut rows = sqlx::query(self.sql(&format!(
            "UPDATE @.anchors SET next_attempt_at = ? WHERE id IN (SELECT id FROM @.anchors \
             WHERE state <> 'anchored' AND rail = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?{}) \
             RETURNING {ANCHOR_COLS}",
            D::SKIP_LOCKED
        )))
        .bind(lease_until.0)
        .bind(rail.as_str())
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.pool)
        .await?
        .iter()
        .map(Self::anchor_from)
        .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    async fn anchor_succeeded(&self, id: i64, ok: AnchorSuccess, now: UnixMillis) -> Result<(), StoreError> {
        sqlx::query(self.sql(
            "UPDATE @.anchors SET state = 'anchored', attempts = attempts + 1, evidence = ?, authority = ?, \
             jurisdiction = ?, in_residency = ?, anchored_at = ?, last_error = NULL WHERE id = ? AND state <> 'anchored'",
        ))
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
        sqlx::query(self.sql(
            "UPDATE @.anchors SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ? \
             WHERE id = ? AND state <> 'anchored'",
        ))
        .bind(error.to_owned())
        .bind(next_attempt_at.0)
        .bind(id)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    async fn incidents_covering(&self, t: UnixMillis) -> Result<Vec<IncidentRow>, StoreError> {
        sqlx::query(self.sql("SELECT seq, from_ms, to_ms, reason, content_hash FROM @.incidents WHERE from_ms <= ? AND to_ms >= ? ORDER BY seq"))
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
        sqlx::query(self.sql(&format!("SELECT {ANCHOR_COLS} FROM @.anchors WHERE state <> 'anchored' ORDER BY id")))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::anchor_from)
            .collect()
    }

    async fn key_state(&self) -> Result<KeyState, StoreError> {
        let r = sqlx::query(self.sql("SELECT kek_epoch, shred_below, shredded_below, erasure_pending_since FROM @.head WHERE id = 0"))
            .fetch_one(&self.inner.pool)
            .await?;
        Ok(KeyState {
            current: size_u64(r.try_get("kek_epoch")?, "key epoch")?,
            shred_below: size_u64(r.try_get("shred_below")?, "key epoch")?,
            shredded_below: size_u64(r.try_get("shredded_below")?, "key epoch")?,
            erasure_pending_since: r.try_get::<Option<i64>, _>("erasure_pending_since")?.map(UnixMillis),
        })
    }

    async fn advance_epoch(&self, from: u64, to: u64) -> Result<bool, StoreError> {
        let done = sqlx::query(self.sql("UPDATE @.head SET kek_epoch = ? WHERE id = 0 AND kek_epoch = ? RETURNING id"))
            .bind(i64_of(to)?)
            .bind(i64_of(from)?)
            .fetch_optional(&self.inner.pool)
            .await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(done.is_some())
    }

    async fn records_below(&self, epoch: u64, after: Option<Seq>, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        let after = after.map_or(Ok(-1), |s| i64_of(s.0))?;
        sqlx::query(self.sql(
            "SELECT r.seq AS seq, l.entry AS entry, r.ciphertext AS ciphertext, r.nonce AS nonce, r.wrapped_key AS wrapped_key, \
             r.salt AS salt, r.kek_epoch AS kek_epoch FROM @.records r JOIN @.leaves l ON l.seq = r.seq \
             WHERE r.kek_epoch < ? AND r.seq > ? ORDER BY r.seq LIMIT ?",
        ))
        .bind(i64_of(epoch)?)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.pool)
        .await?
        .iter()
        .map(|r| Ok(StoredRecord { seq: Seq(size_u64(r.try_get("seq")?, "seq")?), entry: r.try_get("entry")?, record: Self::record_from(r)? }))
        .collect()
    }

    async fn replace_records(&self, rows: Vec<(Seq, u64, EncryptedRecord)>) -> Result<u64, StoreError> {
        let mut tx = self.inner.pool.begin().await?;
        let mut changed = 0;
        for (seq, old, r) in rows {
            let done = sqlx::query(self.sql(
                "UPDATE @.records SET ciphertext = ?, nonce = ?, wrapped_key = ?, salt = ?, kek_epoch = ? WHERE seq = ? AND kek_epoch = ? \
                 RETURNING seq",
            ))
            .bind(r.ciphertext)
            .bind(r.nonce)
            .bind(r.wrapped_key)
            .bind(r.legacy_salt.map(|s| s.to_vec()).unwrap_or_default())
            .bind(i64_of(r.kek_epoch)?)
            .bind(i64_of(seq.0)?)
            .bind(i64_of(old)?)
            .fetch_optional(&mut *tx)
            .await?;
            changed += u64::from(done.is_some());
        }
        tx.commit().await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(changed)
    }

    async fn count_below(&self, epoch: u64) -> Result<u64, StoreError> {
        let r = sqlx::query(self.sql("SELECT COUNT(*) FROM @.records WHERE kek_epoch < ?")).bind(i64_of(epoch)?).fetch_one(&self.inner.pool).await?;
        size_u64(r.try_get(0)?, "record count")
    }

    async fn shredded(&self, below: u64) -> Result<(), StoreError> {
        sqlx::query(self.sql(
            "UPDATE @.head SET shredded_below = CASE WHEN shredded_below > ? THEN shredded_below ELSE ? END, \
             erasure_pending_since = CASE WHEN shred_below <= ? THEN NULL ELSE erasure_pending_since END WHERE id = 0",
        ))
        .bind(i64_of(below)?)
        .bind(i64_of(below)?)
        .bind(i64_of(below)?)
        .execute(&self.inner.pool)
        .await?;
        self.inner.dialect.after_erasure(&self.inner.pool).await
    }
}}

// Upload rows (the `uploads` table), a second impl block over the same tenant handle.
mod sessions;
mod uploads;
