-- Precomputed predictions from batch jobs, for request-time reads (the lambda architecture).
-- Rows of a job are bulk-loaded under its job id; readers only see a job once the `current`
-- pointer flips to it, in one transaction, after every row is in: a half-written run is never read.
CREATE TABLE batch_predictions (
  job_id text NOT NULL,
  row_number bigint NOT NULL,
  probability real NOT NULL,
  model_version integer NOT NULL,
  PRIMARY KEY (job_id, row_number)
);

CREATE TABLE batch_prediction_jobs (
  job_id text PRIMARY KEY,
  model text NOT NULL,
  model_version integer NOT NULL,
  dataset_uri text NOT NULL,
  rows bigint,
  published_at timestamptz
);

-- One row per (model, dataset): which published job serves reads now.
CREATE TABLE batch_prediction_current (
  model text NOT NULL,
  dataset_uri text NOT NULL,
  job_id text NOT NULL REFERENCES batch_prediction_jobs (job_id),
  PRIMARY KEY (model, dataset_uri)
);
