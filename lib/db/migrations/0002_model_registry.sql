-- The built-in model registry, and the parts MLflow has no concept of (alias history, approvals),
-- which Flywheel keeps here whichever registry backend serves versions and aliases.
CREATE TABLE registered_models (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
  model text NOT NULL REFERENCES registered_models (name),
  version integer NOT NULL,
  run_id text NOT NULL,
  artifact_uri text NOT NULL,
  lineage jsonb NOT NULL,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  gate_report_uri text,
  tags jsonb NOT NULL DEFAULT '{}'::jsonb,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version),
  UNIQUE (model, run_id)
);

CREATE TABLE model_aliases (
  model text NOT NULL REFERENCES registered_models (name),
  alias text NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (model, alias),
  FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

-- Every alias move, for every backend: who moved it, when, why.
CREATE TABLE model_alias_history (
  id bigserial PRIMARY KEY,
  model text NOT NULL,
  alias text NOT NULL,
  from_version integer,
  to_version integer,
  actor text NOT NULL,
  reason text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_alias_history_model_alias ON model_alias_history (model, alias, id);

CREATE TABLE model_approvals (
  id bigserial PRIMARY KEY,
  model text NOT NULL,
  version integer NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  actor text NOT NULL,
  reason text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_approvals_model_version ON model_approvals (model, version);
