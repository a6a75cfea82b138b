-- Field terminals' credentials, in the store beside the other credentials (they were a Redis
-- hash): one row per terminal, bound to one unit, revocable; only the token's SHA-256 is kept.
CREATE TABLE terminal_credentials (
    terminal_id  text PRIMARY KEY CHECK (terminal_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    unit_id      text NOT NULL CHECK (unit_id <> ''),
    token_digest text NOT NULL UNIQUE CHECK (token_digest ~ '^[0-9a-f]{64}$'),
    created_by   text NOT NULL CHECK (created_by <> ''),
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX terminal_credentials_unit_idx ON terminal_credentials (unit_id);
