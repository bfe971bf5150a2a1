-- Ads and their lifecycle. Times are Unix milliseconds (UTC) so the same
-- queries serve SQLite and PostgreSQL.
CREATE TABLE ads (
    id            TEXT PRIMARY KEY,
    text          TEXT NOT NULL,
    email         TEXT NOT NULL,
    image_key     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'failed')),
    category      TEXT,
    tags          TEXT,
    model         TEXT,
    policy        TEXT,
    reason        TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    -- The built-in queue: a worker owns a pending ad until this time.
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    decided_at    BIGINT,
    notified_at   BIGINT,
    notify_attempts BIGINT NOT NULL DEFAULT 0,
    notify_after  BIGINT
);
CREATE INDEX ads_pending ON ads (created_at) WHERE status = 'pending';
CREATE INDEX ads_unnotified ON ads (decided_at) WHERE notified_at IS NULL AND decided_at IS NOT NULL;
