-- One tenant's log. The file holds exactly one tenant: nothing here names a tenant.
CREATE TABLE head (
    id   INTEGER PRIMARY KEY CHECK (id = 0),
    size INTEGER NOT NULL
);
INSERT INTO head (id, size) VALUES (0, 0);

CREATE TABLE leaves (
    seq             INTEGER PRIMARY KEY,
    entry           BLOB NOT NULL,
    leaf_hash       BLOB NOT NULL,
    kind            INTEGER NOT NULL,
    appended_at     INTEGER NOT NULL,
    idempotency_key TEXT UNIQUE,
    content_hash    BLOB NOT NULL
);

-- Encrypted records; a row is deleted when the record is erased (crypto-shredding).
CREATE TABLE records (
    seq         INTEGER PRIMARY KEY REFERENCES leaves (seq),
    ciphertext  BLOB NOT NULL,
    nonce       BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    salt        BLOB NOT NULL
);

-- Complete Merkle nodes at levels >= 8 (lower ones are recomputed from leaf hashes).
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    seq             INTEGER PRIMARY KEY,
    tree_size       INTEGER NOT NULL,
    root            BLOB NOT NULL,
    note            TEXT NOT NULL,
    checkpoint_hash BLOB NOT NULL UNIQUE,
    sealed_at       INTEGER NOT NULL,
    frontier        BLOB NOT NULL
);

CREATE TABLE anchors (
    id              INTEGER PRIMARY KEY,
    checkpoint_seq  INTEGER NOT NULL REFERENCES checkpoints (seq),
    rail            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    evidence        BLOB,
    authority       TEXT,
    jurisdiction    TEXT,
    in_residency    INTEGER,
    reanchor_of     INTEGER REFERENCES anchors (id),
    created_at      INTEGER NOT NULL,
    anchored_at     INTEGER
);
CREATE INDEX anchors_due ON anchors (next_attempt_at) WHERE state <> 'anchored';
CREATE INDEX anchors_checkpoint ON anchors (checkpoint_seq);

CREATE TABLE incidents (
    seq          INTEGER PRIMARY KEY REFERENCES leaves (seq),
    from_ms      INTEGER NOT NULL,
    to_ms        INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    content_hash BLOB NOT NULL
);
