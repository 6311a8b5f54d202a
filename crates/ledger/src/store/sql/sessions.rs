//! [`SessionStore`] over SQL, for both backends (the catalogue's `ui_sessions` table).

use evidence_core::UnixMillis;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::{Backend, SqlStore, q};
use crate::store::StoreError;
use crate::store::sessions::{SessionRecord, SessionStore};

const COLS: &str = "key, token_id, mfa_subject, csrf, created_at, last_used, not_after";

with_sql_bounds! { (B::DB) impl<B: Backend> SqlStore<B> {
    fn session_from(r: &<B::DB as Database>::Row) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            key: r.try_get("key")?,
            token_id: r.try_get("token_id")?,
            mfa_subject: r.try_get("mfa_subject")?,
            csrf: r.try_get("csrf")?,
            created_at: UnixMillis(r.try_get("created_at")?),
            last_used: UnixMillis(r.try_get("last_used")?),
            not_after: UnixMillis(r.try_get("not_after")?),
        })
    }
}}

with_sql_bounds! { (B::DB) impl<B: Backend> SessionStore for SqlStore<B> {
    async fn put_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let b = &self.inner.backend;
        sqlx::query(q(b.catalogue_sql(&format!("INSERT INTO @.ui_sessions ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"))))
            .bind(s.key.clone())
            .bind(s.token_id.clone())
            .bind(s.mfa_subject.clone())
            .bind(s.csrf.clone())
            .bind(s.created_at.0)
            .bind(s.last_used.0)
            .bind(s.not_after.0)
            .execute(b.catalogue())
            .await?;
        Ok(())
    }

    async fn use_session(&self, key: &str, now: UnixMillis, idle_since: UnixMillis) -> Result<Option<SessionRecord>, StoreError> {
        let b = &self.inner.backend;
        let row = sqlx::query(q(b.catalogue_sql(&format!(
            "UPDATE @.ui_sessions SET last_used = ? WHERE key = ? AND not_after > ? AND last_used >= ? RETURNING {COLS}"
        ))))
        .bind(now.0)
        .bind(key.to_owned())
        .bind(now.0)
        .bind(idle_since.0)
        .fetch_optional(b.catalogue())
        .await?;
        if let Some(r) = row {
            return Ok(Some(Self::session_from(&r)?));
        }
        // Absent, or ended by its deadlines: nothing of it stays.
        self.end_session(key).await?;
        Ok(None)
    }

    async fn end_session(&self, key: &str) -> Result<bool, StoreError> {
        let b = &self.inner.backend;
        let done = sqlx::query(q(b.catalogue_sql("DELETE FROM @.ui_sessions WHERE key = ? RETURNING key")))
            .bind(key.to_owned())
            .fetch_optional(b.catalogue())
            .await?;
        Ok(done.is_some())
    }

    async fn sweep_sessions(&self, now: UnixMillis, idle_since: UnixMillis) -> Result<u64, StoreError> {
        let b = &self.inner.backend;
        let gone = sqlx::query(q(b.catalogue_sql("DELETE FROM @.ui_sessions WHERE not_after <= ? OR last_used < ? RETURNING key")))
            .bind(now.0)
            .bind(idle_since.0)
            .fetch_all(b.catalogue())
            .await?;
        Ok(gone.len() as u64)
    }
}}
