-- Experiment tracking (lib/tracking): one row per training run, written when the run is evaluated
-- (so runs that failed their gates are kept too) and linked to its registry version once
-- registered; and every drift-monitor check, so checks can be charted over time.
CREATE TABLE training_runs (
  run_id text PRIMARY KEY,
  model text NOT NULL,
  dataset_version text NOT NULL,
  trainer text NOT NULL,
  status text NOT NULL CHECK (status IN ('passed', 'failed')),
  params jsonb NOT NULL DEFAULT '{}',
  metrics jsonb NOT NULL DEFAULT '{}',
  epochs jsonb NOT NULL DEFAULT '[]',
  system jsonb,
  artifacts jsonb NOT NULL DEFAULT '{}',
  summary text NOT NULL DEFAULT '',
  version integer,
  mlflow_run_id text,
  started_at timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_runs_model ON training_runs (model, recorded_at DESC);

CREATE TABLE monitor_checks (
  model text NOT NULL,
  check_id text NOT NULL,
  at timestamptz NOT NULL,
  status text NOT NULL,
  breach boolean NOT NULL,
  champion_version integer,
  summary jsonb NOT NULL,
  PRIMARY KEY (model, check_id)
);
CREATE INDEX monitor_checks_model_at ON monitor_checks (model, at DESC);
