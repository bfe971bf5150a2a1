-- People in the loop: the `in_review` status (a person decides), what the
-- model suggested for such an ad, the append-only decision history, and
-- the webhook outbox.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE ads_new (
    id            TEXT PRIMARY KEY NOT NULL,
    text          TEXT NOT NULL,
    email         TEXT NOT NULL,
    image_key     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'approved', 'rejected', 'in_review', 'failed')),
    category      TEXT,
    tags          TEXT,
    model         TEXT,
    policy        TEXT,
    reason        TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    decided_at    BIGINT,
    notified_at   BIGINT,
    notify_attempts BIGINT NOT NULL DEFAULT 0,
    notify_after  BIGINT,
    -- The best category's score behind the last decision.
    score         DOUBLE PRECISION,
    -- In review: what the model would have decided alone.
    suggestion    TEXT,
    -- In review: since when (Unix milliseconds).
    review_since  BIGINT
);
INSERT INTO ads_new (id, text, email, image_key, content_type, status, category, tags, model,
                     policy, reason, attempts, lease_until, created_at, decided_at, notified_at,
                     notify_attempts, notify_after)
SELECT id, text, email, image_key, content_type, status, category, tags, model, policy, reason,
       attempts, lease_until, created_at, decided_at, notified_at, notify_attempts, notify_after
FROM ads;
DROP TABLE ads;
ALTER TABLE ads_new RENAME TO ads;
CREATE INDEX ads_pending ON ads (created_at) WHERE status = 'pending';
CREATE INDEX ads_unnotified ON ads (decided_at) WHERE notified_at IS NULL AND decided_at IS NOT NULL;
CREATE INDEX ads_in_review ON ads (id) WHERE status = 'in_review';
CREATE INDEX ads_email ON ads (lower(email));

-- Every decision ever made about an ad, oldest first. Append-only: rows
-- are never updated, and deleted only with their ad.
CREATE TABLE decisions (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ad_id     TEXT NOT NULL REFERENCES ads (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    -- `model:<model>@<policy>` or `moderator:<name>`.
    decided_by TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    category  TEXT,
    score     DOUBLE PRECISION,
    reason    TEXT,
    model     TEXT,
    policy    TEXT
);
CREATE INDEX decisions_ad ON decisions (ad_id, seq);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'the decision history is append-only');
END;
-- A cascade from a deleted ad runs after the ad's row is gone.
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
WHEN EXISTS (SELECT 1 FROM ads WHERE id = OLD.ad_id)
BEGIN
    SELECT RAISE(ABORT, 'the decision history is append-only');
END;

-- Webhook deliveries owed to the site, written with the decision they
-- tell of and sent (with retries) until the receiver answers 2xx.
CREATE TABLE webhooks (
    delivery_id   TEXT PRIMARY KEY NOT NULL,
    ad_id         TEXT NOT NULL REFERENCES ads (id) ON DELETE CASCADE,
    event         TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    deliver_after BIGINT NOT NULL,
    delivered_at  BIGINT,
    last_error    TEXT
);
CREATE INDEX webhooks_due ON webhooks (deliver_after) WHERE delivered_at IS NULL;
