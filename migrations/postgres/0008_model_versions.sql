-- Models by version: `adpipe models add` copies a model folder into the
-- blob store under models/<version>/ (the version is the SHA-256 of its
-- files, so the same files are one version wherever they come from) and
-- lists it here; promotions, rollbacks and shadow runs refer to it.
CREATE TABLE model_versions (
    version     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- model.toml's kind: image_classifier, image_head, ...
    kind        TEXT NOT NULL,
    -- The folder's files, relative paths, as a JSON array.
    files       TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    added_at    BIGINT NOT NULL
);

-- Which version the workers run, newest last: each promotion or rollback is
-- a row, never changed. The live version is the last row's; a NULL version
-- is the model the workers were configured with (ADPIPE_MODEL).
CREATE TABLE model_deployments (
    seq         BIGSERIAL PRIMARY KEY,
    version     TEXT REFERENCES model_versions (version),
    -- promote | rollback
    action      TEXT NOT NULL,
    -- Promoted although it did worse than the live model on the ads people
    -- decided (`--force`): 1, else 0.
    forced      BIGINT NOT NULL DEFAULT 0,
    by_actor    TEXT NOT NULL,
    at          BIGINT NOT NULL
);

-- The candidate run beside the live model without deciding anything
-- (`adpipe models shadow`), newest last; a NULL version stops it.
CREATE TABLE model_shadows (
    seq         BIGSERIAL PRIMARY KEY,
    version     TEXT REFERENCES model_versions (version),
    by_actor    TEXT NOT NULL,
    at          BIGINT NOT NULL
);

-- What a shadow candidate would have decided for an ad, beside what the
-- live model did decide. A version here may also be a model no one added
-- (ADPIPE_SHADOW_MODEL names a folder): no foreign key on it.
CREATE TABLE shadow_verdicts (
    ad_id         TEXT NOT NULL REFERENCES ads (id) ON DELETE CASCADE,
    version       TEXT NOT NULL,
    -- approved | rejected | in_review
    status        TEXT NOT NULL,
    category      TEXT,
    score         DOUBLE PRECISION NOT NULL,
    live_status   TEXT NOT NULL,
    live_category TEXT,
    at            BIGINT NOT NULL,
    PRIMARY KEY (ad_id, version)
);
CREATE INDEX shadow_verdicts_version ON shadow_verdicts (version, at);
