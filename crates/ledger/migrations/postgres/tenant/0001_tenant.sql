-- One tenant's log (its own schema). The schema holds exactly one tenant: nothing here names a tenant.
CREATE TABLE head (
    id   BIGINT PRIMARY KEY CHECK (id = 0),
    size BIGINT NOT NULL
);
INSERT INTO head (id, size) VALUES (0, 0);

CREATE TABLE leaves (
    seq             BIGINT PRIMARY KEY,
    entry           BYTEA NOT NULL,
    leaf_hash       BYTEA NOT NULL,
    kind            BIGINT NOT NULL,
    appended_at     BIGINT NOT NULL,
    idempotency_key TEXT UNIQUE,
    content_hash    BYTEA NOT NULL
);

-- Encrypted records; a row is deleted when the record is erased (crypto-shredding).
CREATE TABLE records (
    seq         BIGINT PRIMARY KEY REFERENCES leaves (seq),
    ciphertext  BYTEA NOT NULL,
    nonce       BYTEA NOT NULL,
    wrapped_key BYTEA NOT NULL,
    salt        BYTEA NOT NULL
);

-- Complete Merkle nodes at levels >= 8 (lower ones are recomputed from leaf hashes).
CREATE TABLE nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE checkpoints (
    seq             BIGINT PRIMARY KEY,
    tree_size       BIGINT NOT NULL,
    root            BYTEA NOT NULL,
    note            TEXT NOT NULL,
    checkpoint_hash BYTEA NOT NULL UNIQUE,
    sealed_at       BIGINT NOT NULL,
    frontier        BYTEA NOT NULL
);

CREATE TABLE anchors (
    id              BIGSERIAL PRIMARY KEY,
    checkpoint_seq  BIGINT NOT NULL REFERENCES checkpoints (seq),
    rail            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    evidence        BYTEA,
    authority       TEXT,
    jurisdiction    TEXT,
    in_residency    BOOLEAN,
    reanchor_of     BIGINT REFERENCES anchors (id),
    created_at      BIGINT NOT NULL,
    anchored_at     BIGINT
);
CREATE INDEX anchors_due ON anchors (next_attempt_at) WHERE state <> 'anchored';
CREATE INDEX anchors_checkpoint ON anchors (checkpoint_seq);

CREATE TABLE incidents (
    seq          BIGINT PRIMARY KEY REFERENCES leaves (seq),
    from_ms      BIGINT NOT NULL,
    to_ms        BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    content_hash BYTEA NOT NULL
);
