-- Who may sign in and what they did: accounts, sessions, lock-out counters, temporary scope
-- grants, wall-screen tokens and the audit trail. No secret is stored in the clear: passwords
-- as argon2id hashes, session and display tokens as the SHA-256 hex of the token.

CREATE TABLE users (
    id                   bigserial PRIMARY KEY,
    username             text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{3,32}$'),
    display_name         text NOT NULL CHECK (display_name <> ''),
    role                 text NOT NULL CHECK (role <> ''),
    jurisdiction         text NOT NULL REFERENCES jurisdictions (code),
    password_hash        text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT true,
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

-- The key is the SHA-256 of the token: a stolen copy of this table opens no session.
CREATE TABLE sessions (
    id                   text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    user_id              bigint NOT NULL REFERENCES users (id),
    kind                 text NOT NULL CHECK (kind IN ('user', 'display')),
    csrf_token           text NOT NULL,
    created_at           timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL,
    idle_timeout_seconds integer NOT NULL CHECK (idle_timeout_seconds > 0),
    absolute_expires_at  timestamptz NOT NULL,
    revoked_at           timestamptz,
    source_address       text
);
-- "Log out everywhere" finds a user's live sessions without a scan.
CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- One row per key that failed to sign in ('user:<name>' or 'addr:<address>'). `lockouts`
-- survives a successful sign-in so repeated attacks keep doubling the lock.
CREATE TABLE login_failures (
    key              text PRIMARY KEY,
    failures         integer NOT NULL CHECK (failures >= 0),
    first_failure_at timestamptz NOT NULL,
    locked_until     timestamptz,
    lockouts         integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0)
);

-- A wider view for a while (e.g. a neighbouring township during a flood), with who and why.
CREATE TABLE scope_grants (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    scope      text NOT NULL CHECK (scope <> ''),
    granted_by text NOT NULL CHECK (granted_by <> ''),
    reason     text NOT NULL CHECK (reason <> ''),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at timestamptz
);
CREATE INDEX scope_grants_user_live_idx ON scope_grants (user_id, expires_at)
    WHERE revoked_at IS NULL;

-- Wall screens sign in with a long-lived token, shown once; only its SHA-256 is kept.
CREATE TABLE display_tokens (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    label        text NOT NULL CHECK (label <> ''),
    jurisdiction text NOT NULL REFERENCES jurisdictions (code),
    created_by   text NOT NULL CHECK (created_by <> ''),
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- No foreign keys: a refused request may name a case that does not exist, and the trail must
-- outlive whatever it mentions.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL,
    user_id        text,
    role           text,
    source_address text,
    action         text NOT NULL CHECK (action <> ''),
    outcome        text NOT NULL CHECK (outcome IN ('allowed', 'refused', 'failed')),
    case_id        bigint,
    detail         text
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_user_at_idx ON audit_log (user_id, at);
-- "Who looked at this case": only rows that name a case pay for this index.
CREATE INDEX audit_log_case_at_idx ON audit_log (case_id, at) WHERE case_id IS NOT NULL;

-- Accountability (责任追究制): the audit trail is append-only, whoever connects.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
