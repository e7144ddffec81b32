-- Who posted each label (the API key's id). Labels without one predate attribution: the rollout
-- analysis and the drift monitor ignore them, as they ignore labels other than 0 and 1.
ALTER TABLE prediction_feedback ADD COLUMN key_id text;
