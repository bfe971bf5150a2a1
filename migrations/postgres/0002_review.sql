-- People in the loop: the `in_review` status (a person decides), what the
-- model suggested for such an ad, the append-only decision history, and
-- the webhook outbox.
ALTER TABLE ads DROP CONSTRAINT ads_status_check;
ALTER TABLE ads ADD CONSTRAINT ads_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'in_review', 'failed'));
-- The best category's score behind the last decision.
ALTER TABLE ads ADD COLUMN score DOUBLE PRECISION;
-- In review: what the model would have decided alone.
ALTER TABLE ads ADD COLUMN suggestion TEXT;
-- In review: since when (Unix milliseconds).
ALTER TABLE ads ADD COLUMN review_since BIGINT;
CREATE INDEX ads_in_review ON ads (id) WHERE status = 'in_review';
CREATE INDEX ads_email ON ads (lower(email));

-- Every decision ever made about an ad, oldest first. Append-only: rows
-- are never updated, and deleted only with their ad.
CREATE TABLE decisions (
    seq       BIGSERIAL PRIMARY KEY,
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
-- A cascade from a deleted ad runs after the ad's row is gone.
CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR EXISTS (SELECT 1 FROM ads WHERE id = OLD.ad_id) THEN
        RAISE EXCEPTION 'the decision history is append-only';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();

-- Webhook deliveries owed to the site, written with the decision they
-- tell of and sent (with retries) until the receiver answers 2xx.
CREATE TABLE webhooks (
    delivery_id   TEXT PRIMARY KEY,
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
