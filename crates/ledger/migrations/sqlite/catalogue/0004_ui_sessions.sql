-- Dashboard sessions (ledger-server's /ui/), shared by every replica on the same store. The
-- key is the SHA-256 (hex) of the cookie's random id; the id itself is never stored.
CREATE TABLE ui_sessions (
    key         TEXT PRIMARY KEY NOT NULL,
    token_id    TEXT NOT NULL,
    mfa_subject TEXT,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_used   INTEGER NOT NULL,
    not_after   INTEGER NOT NULL
);
CREATE INDEX ui_sessions_not_after ON ui_sessions (not_after);
