-- The text read in the ad's photo when the policy reads it (JSON: an array
-- of {"text", "box", "confidence"}, the box's corners in the photo's
-- pixels), kept with the decision as evidence for moderators. NULL when
-- nothing was read.
ALTER TABLE ads ADD COLUMN text_in_image TEXT;
