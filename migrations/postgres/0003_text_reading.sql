-- What the ad's text said when the policy read it (JSON: says, categories,
-- off_topic, best_similarity), kept with the decision for moderators.
ALTER TABLE ads ADD COLUMN text_reading TEXT;
