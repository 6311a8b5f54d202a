-- The catalogue: which tenants exist and their policy. Each tenant's log is its own file.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
