//! [`UploadStore`] over SQL, for both backends.

use evidence_core::UnixMillis;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::{Dialect, SqlTenant};
use crate::store::uploads::{NewUpload, UploadChange, UploadRow, UploadState, UploadStore};
use crate::store::{StoreError, i64_of, size_u64};

const COLS: &str =
    "n, id, via, source, profile, export, max_bytes, expires_at, created_at, updated_at, state, lease_until, bytes, sha256, errors, claims";

fn opt_u64(v: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    v.map(|v| size_u64(v, what)).transpose()
}

with_sql_bounds! { (D::DB) impl<D: Dialect> SqlTenant<D> {
    fn upload_from(r: &<D::DB as Database>::Row) -> Result<UploadRow, StoreError> {
        let state = UploadState::parse(r.try_get::<&str, _>("state")?)?;
        let bytes = opt_u64(r.try_get("bytes")?, "upload bytes")?;
        let sha256: Option<String> = r.try_get("sha256")?;
        Ok(UploadRow {
            n: size_u64(r.try_get("n")?, "upload n")?,
            upload: NewUpload {
                id: r.try_get("id")?,
                via: r.try_get("via")?,
                source: r.try_get("source")?,
                profile: r.try_get("profile")?,
                export: r.try_get("export")?,
                max_bytes: size_u64(r.try_get("max_bytes")?, "upload max_bytes")?,
                expires_at: UnixMillis(r.try_get("expires_at")?),
                created_at: UnixMillis(r.try_get("created_at")?),
                state,
                bytes,
                sha256: sha256.clone(),
            },
            state,
            lease_until: r.try_get::<Option<i64>, _>("lease_until")?.map(UnixMillis),
            updated_at: UnixMillis(r.try_get("updated_at")?),
            bytes,
            sha256,
            errors: r.try_get("errors")?,
            claims: r.try_get("claims")?,
        })
    }
}}

with_sql_bounds! { (D::DB) impl<D: Dialect> UploadStore for SqlTenant<D> {
    async fn create_upload(&self, u: &NewUpload) -> Result<(), StoreError> {
        let now = u.created_at.0;
        sqlx::query(self.sql(
            "INSERT INTO @.uploads (id, via, source, profile, export, max_bytes, expires_at, created_at, updated_at, state, bytes, sha256) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(u.id.clone())
        .bind(u.via.clone())
        .bind(u.source.clone())
        .bind(u.profile.clone())
        .bind(u.export.clone())
        .bind(i64_of(u.max_bytes)?)
        .bind(u.expires_at.0)
        .bind(now)
        .bind(now)
        .bind(u.state.as_str())
        .bind(u.bytes.map(i64_of).transpose()?)
        .bind(u.sha256.clone())
        .execute(&self.inner.pool)
        .await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(())
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRow>, StoreError> {
        let r = sqlx::query(self.sql(&format!("SELECT {COLS} FROM @.uploads WHERE id = ?")))
            .bind(id.to_owned())
            .fetch_optional(&self.inner.pool)
            .await?;
        r.as_ref().map(Self::upload_from).transpose()
    }

    async fn uploads(&self, from: u64, limit: u32) -> Result<Vec<UploadRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {COLS} FROM @.uploads WHERE n >= ? ORDER BY n LIMIT ?")))
            .bind(i64_of(from)?)
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::upload_from)
            .collect()
    }

    async fn uploads_in(&self, state: UploadState, limit: u32) -> Result<Vec<UploadRow>, StoreError> {
        sqlx::query(self.sql(&format!("SELECT {COLS} FROM @.uploads WHERE state = ? ORDER BY n LIMIT ?")))
            .bind(state.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await?
            .iter()
            .map(Self::upload_from)
            .collect()
    }

    async fn begin_receive(&self, id: &str, now: UnixMillis, lease_until: UnixMillis) -> Result<bool, StoreError> {
        let done = sqlx::query(self.sql(
            "UPDATE @.uploads SET state = 'receiving', lease_until = ?, updated_at = ? \
             WHERE id = ? AND expires_at > ? AND (state = 'pending' OR (state = 'receiving' AND lease_until < ?)) RETURNING id",
        ))
        .bind(lease_until.0)
        .bind(now.0)
        .bind(id.to_owned())
        .bind(now.0)
        .bind(now.0)
        .fetch_optional(&self.inner.pool)
        .await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(done.is_some())
    }

    async fn change_upload(&self, id: &str, from: UploadState, to: UploadState, c: &UploadChange, now: UnixMillis) -> Result<bool, StoreError> {
        let done = sqlx::query(self.sql(
            "UPDATE @.uploads SET state = ?, updated_at = ?, lease_until = COALESCE(?, lease_until), bytes = COALESCE(?, bytes), \
             sha256 = COALESCE(?, sha256), errors = COALESCE(?, errors), claims = COALESCE(?, claims) \
             WHERE id = ? AND state = ? RETURNING id",
        ))
        .bind(to.as_str())
        .bind(now.0)
        .bind(c.lease_until.map(|t| t.0))
        .bind(c.bytes.map(i64_of).transpose()?)
        .bind(c.sha256.clone())
        .bind(c.errors.clone())
        .bind(c.claims.clone())
        .bind(id.to_owned())
        .bind(from.as_str())
        .fetch_optional(&self.inner.pool)
        .await?;
        self.inner.dialect.wrote(&self.inner.pool);
        Ok(done.is_some())
    }
}}
