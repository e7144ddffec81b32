-- Models of any task. A multiclass prediction logs its predicted class beside the probability of
-- that class (`output`); its feedback names the true class. Binary (0/1) and regression labels
-- stay numbers in `label`, which a multiclass label leaves null.
ALTER TABLE prediction_log ADD COLUMN output_class text;
ALTER TABLE prediction_feedback ADD COLUMN label_class text;
ALTER TABLE prediction_feedback ALTER COLUMN label DROP NOT NULL;
