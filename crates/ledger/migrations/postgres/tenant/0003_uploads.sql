-- Uploads of dealer exports (signed upload URLs and the SFTP drop; see ledger::store::uploads).
-- One row per upload, written before each side effect so that a crash at any point neither
-- loses an acknowledged upload nor ingests it twice. n orders the list (paging).
CREATE TABLE uploads (
    n           BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    via         TEXT NOT NULL,
    source      TEXT NOT NULL,
    profile     TEXT NOT NULL,
    export      TEXT NOT NULL,
    max_bytes   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    state       TEXT NOT NULL,
    lease_until BIGINT,
    bytes       BIGINT,
    sha256      TEXT,
    errors      TEXT,
    claims      TEXT
);
CREATE INDEX uploads_state ON uploads (state);
