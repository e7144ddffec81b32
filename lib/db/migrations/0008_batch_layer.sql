-- The lambda read path (docs/batch-layer.md): batch predictions and batch-computed features keyed
-- by an entity key, for request-time lookups. Both follow 0003's rule: rows load under their job's
-- id, and readers only ever join through a pointer that flips to a job, in one transaction, once
-- every row is in, so a half-written job is never read and the previous one serves until then.

-- A keyed job names its key column; unkeyed jobs (0003's row_number table) leave it null.
ALTER TABLE batch_prediction_jobs ADD COLUMN key_column text;

-- One prediction per entity, stored as the predict route answers it for the model's task
-- ({probability} | {class, probabilities} | {value}, plus version). `json`, not `jsonb`: it keeps
-- the text as written, so a multiclass answer lists its classes in the model's output order.
CREATE TABLE batch_keyed_predictions (
  job_id text NOT NULL,
  entity_key text NOT NULL,
  prediction json NOT NULL,
  PRIMARY KEY (job_id, entity_key)
);

-- Per model: the published keyed job lookups read now.
CREATE TABLE batch_prediction_serving (
  model text PRIMARY KEY,
  job_id text NOT NULL REFERENCES batch_prediction_jobs (job_id)
);

CREATE TABLE batch_feature_jobs (
  job_id text PRIMARY KEY,
  feature_table text NOT NULL,
  key_column text NOT NULL,
  source_uri text NOT NULL,
  columns jsonb NOT NULL,
  rows bigint,
  published_at timestamptz
);

-- One row of features per entity: the source's columns by name, as JSON.
CREATE TABLE batch_feature_rows (
  job_id text NOT NULL,
  entity_key text NOT NULL,
  features jsonb NOT NULL,
  PRIMARY KEY (job_id, entity_key)
);

-- Per feature table: the published job lookups read now.
CREATE TABLE batch_feature_current (
  feature_table text PRIMARY KEY,
  job_id text NOT NULL REFERENCES batch_feature_jobs (job_id)
);
