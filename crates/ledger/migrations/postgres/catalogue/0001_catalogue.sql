-- The catalogue (schema ledger_catalogue): which tenants exist, their schema and policy.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    schema_name TEXT NOT NULL UNIQUE,
    config      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
