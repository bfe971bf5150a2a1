-- The moderation team at work: who is looking at an ad in review (a
-- claim, until a time), the internal note a decision may carry, and the
-- submitter's one appeal of a rejection.

-- A claim: the account holding the ad, and until when (Unix milliseconds).
-- An expired claim is no claim; nothing needs to clear it.
ALTER TABLE ads ADD COLUMN claimed_by TEXT;
ALTER TABLE ads ADD COLUMN claimed_until BIGINT;

-- The appeal: the per-ad secret its link carries (made at submission, as
-- unguessable as a token; the link in the rejection email is the only
-- place it is shown), the submitter's text and when it came. One per ad.
ALTER TABLE ads ADD COLUMN appeal_secret TEXT;
ALTER TABLE ads ADD COLUMN appeal_text TEXT;
ALTER TABLE ads ADD COLUMN appealed_at BIGINT;

-- For moderators only: never in an email, a webhook or the public page.
ALTER TABLE decisions ADD COLUMN note TEXT;
