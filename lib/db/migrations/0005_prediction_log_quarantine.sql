-- Prediction log rows the database refused for their content (a NUL byte, a lone surrogate, a
-- value out of range). The writer sets such a row aside here with the reason instead of retrying
-- it forever. `entry` is the row as JSON text with every control character and lone surrogate
-- escaped, so whatever the row held can be stored and read back.
CREATE TABLE prediction_log_quarantine (
  id bigserial PRIMARY KEY,
  model text NOT NULL,
  sqlstate text,
  reason text NOT NULL,
  entry text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prediction_log_quarantine_model_created ON prediction_log_quarantine (model, created_at);
