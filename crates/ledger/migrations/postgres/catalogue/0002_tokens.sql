-- Bearer tokens of the HTTP service: stored only as SHA-256 hashes of their secrets.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    tenant      TEXT,
    role        TEXT NOT NULL,
    label       TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
