-- The ad's photo as the image model saw it: the pooled feature vector of
-- the model's [output] embedding, little-endian f16 (2,560 bytes for
-- EfficientNet-Lite0's 1,280 values), and the name of the model that made
-- it (vectors of different models do not mix). Kept when the worker tags
-- the ad, or filled in by `adpipe embed --backfill`, so training a head on
-- the team's decisions reads no image again. NULL until then, and for a
-- model without an embedding output.
ALTER TABLE ads ADD COLUMN embedding BLOB;
ALTER TABLE ads ADD COLUMN embedding_model TEXT;
