-- The inference server's state. Replicas keep none of their own: routing weights, API keys and
-- the prediction log live here, so any number of replicas behave as one service and a restart
-- loses nothing but in-memory caches.

-- Canary and shadow routing per model (the champion comes from the registry alias). Changed by
-- the admin API (the rollout workflow drives it); every replica polls it.
CREATE TABLE serving_routes (
  model text PRIMARY KEY,
  canary_version integer,
  canary_weight double precision NOT NULL DEFAULT 0 CHECK (canary_weight >= 0 AND canary_weight <= 1),
  shadow_version integer,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 of the whole key: keys are 256-bit random, so a fast hash is
-- enough (no dictionary to defend against) and verification costs microseconds per request.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  scopes text[] NOT NULL,
  rate_limit_rps double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Every prediction served (shadow ones flagged), written in batches off the hot path.
CREATE TABLE prediction_log (
  request_id text NOT NULL,
  instance integer NOT NULL,
  model text NOT NULL,
  model_version integer NOT NULL,
  shadow boolean NOT NULL DEFAULT false,
  routing_key text,
  features jsonb NOT NULL,
  output real NOT NULL,
  latency_ms real NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (request_id, instance, shadow)
);
CREATE INDEX prediction_log_model_time ON prediction_log (model, created_at);

-- Delayed ground truth, joined to the log by request id and instance.
CREATE TABLE prediction_feedback (
  request_id text NOT NULL,
  instance integer NOT NULL DEFAULT 0,
  label double precision NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, instance)
);
