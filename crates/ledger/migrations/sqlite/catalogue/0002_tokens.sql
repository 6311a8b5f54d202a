-- Bearer tokens of the HTTP service: stored only as SHA-256 hashes of their secrets.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant      TEXT,
    role        TEXT NOT NULL,
    label       TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
