-- Who may use the console and the admin API, and what they did.
--
-- Accounts are never deleted (disabled instead), so the audit log's names
-- always mean one account. A role is `viewer` < `moderator` < `admin`.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'moderator', 'admin')),
    -- Argon2id, as a PHC string.
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    disabled_at   BIGINT
);

-- API tokens: shown once, kept as their SHA-256. A token's name is unique
-- among its account's live tokens (a revoked one frees its name).
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (account_id, name) WHERE revoked_at IS NULL;

-- Console sessions, server-side: the cookie holds the id, this table its
-- SHA-256. Indexed by account, so a password change or a disabled account
-- ends them all.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    address       TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Who did what, newest last. Append-only: no row is ever updated or
-- deleted, by adpipe or anyone else with SQL access through it.
CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    at            BIGINT NOT NULL,
    -- `account:<name>`, `token:<account>/<token>`, `bootstrap`, `cli:<user>`.
    actor         TEXT NOT NULL,
    -- `account.created`, `token.revoked`, `session.signed_in`, `ad.decided`, …
    action        TEXT NOT NULL,
    target        TEXT,
    -- JSON.
    detail        TEXT,
    address       TEXT,
    user_agent    TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Failed sign-ins per key (an account name, a client address), shared by
-- every API replica: after too many in a window the key is locked a while.
CREATE TABLE sign_in_failures (
    key               TEXT PRIMARY KEY NOT NULL,
    failures          BIGINT NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until      BIGINT
);
