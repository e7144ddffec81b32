// Every environment variable Flywheel reads, in one place: its schema, the form a person should
// write, and whether it is a secret. Process kinds pick the subsets they need (see schema.ts).
import { z } from 'zod';
import { ONNX_PROVIDERS, parseOnnxProviders } from '../onnx/providers.ts';

export interface EnvVar {
  readonly schema: z.ZodType;
  /** What a valid value looks like, quoted in the error when the value is invalid. */
  readonly expected: string;
  /** Secrets are never echoed, not even in configuration errors. */
  readonly secret?: boolean;
}

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'not host:port');

const httpUrl = z.url({ protocol: /^https?$/ });

const positiveInt = z.coerce.number().int().positive();

const ONNX_PROVIDERS_EXPECTED = `a comma list of ONNX Runtime execution providers in priority order, from ${ONNX_PROVIDERS.join(', ')}, e.g. cuda,cpu (default: cpu)`;

export const ENV_VARS = {
  FLYWHEEL_ENV: {
    schema: z.enum(['dev', 'staging', 'prod']).default('dev'),
    expected: 'one of dev, staging, prod',
  },
  FLYWHEEL_DATA_DIR: {
    schema: z.string().min(1).default('.flywheel'),
    expected: 'a folder path (relative paths resolve against the working directory)',
  },
  FLYWHEEL_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    expected: 'one of fatal, error, warn, info, debug, trace, silent',
  },
  TEMPORAL_ADDRESS: {
    schema: hostPort.default('127.0.0.1:7233'),
    expected: 'host:port, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233',
  },
  TEMPORAL_NAMESPACE: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .default('default'),
    expected: 'a namespace name (letters, digits, . _ -), e.g. default',
  },
  TEMPORAL_CLI_PATH: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a `temporal` CLI binary',
  },
  TEMPORAL_TLS: {
    schema: z.stringbool().optional(),
    expected: 'true or false',
  },
  TEMPORAL_TLS_CERT: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a PEM client certificate (mTLS)',
  },
  TEMPORAL_TLS_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'the path of the PEM private key for TEMPORAL_TLS_CERT',
  },
  TEMPORAL_TLS_CA: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a PEM CA bundle that signed the server certificate',
  },
  TEMPORAL_TLS_SERVER_NAME: {
    schema: z.string().min(1).optional(),
    expected: 'a host name to verify the server certificate against',
  },
  TEMPORAL_API_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'a Temporal Cloud API key',
    secret: true,
  },
  // The names below follow @temporalio/envconfig (the SDKs' and the `temporal` CLI's shared
  // configuration); TEMPORAL_TLS_CERT / _KEY / _CA above are Flywheel's older aliases.
  TEMPORAL_CONFIG_FILE: {
    schema: z.string().min(1).optional(),
    expected:
      'the path of a Temporal TOML config file with [profile.<name>] tables (default: ~/.config/temporalio/temporal.toml if present)',
  },
  TEMPORAL_PROFILE: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
    expected: 'a profile name in the Temporal config file, e.g. prod (default: default)',
  },
  TEMPORAL_TLS_CLIENT_CERT_PATH: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a PEM client certificate (mTLS); alias TEMPORAL_TLS_CERT',
  },
  TEMPORAL_TLS_CLIENT_KEY_PATH: {
    schema: z.string().min(1).optional(),
    expected: 'the path of the PEM private key of the client certificate; alias TEMPORAL_TLS_KEY',
  },
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a PEM CA bundle that signed the server certificate; alias TEMPORAL_TLS_CA',
  },
  TEMPORAL_TLS_CLIENT_CERT_DATA: {
    schema: z.string().includes('-----BEGIN').optional(),
    expected: 'a PEM client certificate, inline (instead of TEMPORAL_TLS_CLIENT_CERT_PATH)',
  },
  TEMPORAL_TLS_CLIENT_KEY_DATA: {
    schema: z.string().includes('-----BEGIN').optional(),
    expected: 'a PEM private key, inline (instead of TEMPORAL_TLS_CLIENT_KEY_PATH)',
    secret: true,
  },
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: {
    schema: z.string().includes('-----BEGIN').optional(),
    expected: 'a PEM CA bundle, inline (instead of TEMPORAL_TLS_SERVER_CA_CERT_PATH)',
  },
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: {
    // envconfig reads it, but the TypeScript SDK cannot skip host verification: refused when true.
    schema: z.stringbool().optional(),
    expected: 'false (the TypeScript SDK always verifies the server name; set TEMPORAL_TLS_SERVER_NAME instead)',
  },
  DATABASE_URL: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'not a postgres:// URL')
      .optional(),
    expected: 'postgres://user:password@host:5432/dbname (unset: embedded PGlite in FLYWHEEL_DATA_DIR)',
    secret: true,
  },
  FLYWHEEL_DB_SCHEMA: {
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'not a plain lowercase identifier')
      .refine((s) => !s.startsWith('pg_'), 'pg_* schemas belong to PostgreSQL')
      .default('public'),
    expected: 'a PostgreSQL schema name (lowercase letters, digits, _; ≤ 63; not pg_*), e.g. staging (default public)',
  },
  ARTIFACT_STORE: {
    schema: z
      .string()
      .regex(/^(file:\/\/\/\S*|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?)$/, 'not a file:/// or s3:// URI')
      .optional(),
    expected: 'file:///absolute/folder or s3://bucket/optional/prefix (unset: file://FLYWHEEL_DATA_DIR/artifacts)',
  },
  S3_ENDPOINT: {
    schema: httpUrl.optional(),
    expected: 'an http(s) URL of an S3-compatible endpoint, e.g. http://127.0.0.1:7070',
  },
  S3_FORCE_PATH_STYLE: {
    schema: z.stringbool().optional(),
    expected: 'true or false',
  },
  AWS_REGION: {
    schema: z.string().min(1).default('us-east-1'),
    expected: 'an AWS region name, e.g. us-east-1',
  },
  MLFLOW_TRACKING_URI: {
    schema: httpUrl.optional(),
    expected: 'an http(s) URL of an MLflow tracking server, e.g. http://127.0.0.1:5000 (unset: built-in registry)',
  },
  MLFLOW_TRACKING_TOKEN: {
    schema: z.string().min(1).optional(),
    expected: "a bearer token Flywheel sends to the MLflow server (Authorization: Bearer …), as MLflow's own clients read it",
    secret: true,
  },
  MLFLOW_TRACKING_USERNAME: {
    schema: z.string().min(1).optional(),
    expected: 'a user name for HTTP basic auth to the MLflow server (with MLFLOW_TRACKING_PASSWORD)',
  },
  MLFLOW_TRACKING_PASSWORD: {
    schema: z.string().min(1).optional(),
    expected: 'the password for HTTP basic auth to the MLflow server (with MLFLOW_TRACKING_USERNAME)',
    secret: true,
  },
  FLYWHEEL_ACTOR: {
    schema: z.string().min(1).optional(),
    expected: 'a person or system name recorded on alias moves and approvals (default: the OS user)',
  },
  FLYWHEEL_WORKER_IDENTITY: {
    schema: z.string().min(1).optional(),
    expected: 'a worker identity shown in the Web UI (default: <queue>@<hostname>:<pid>)',
  },
  FLYWHEEL_WORKER_MAX_CONCURRENT_ACTIVITIES: {
    schema: positiveInt.optional(),
    expected: 'a positive integer (default: 4 on the CPU worker, 1 on the GPU worker)',
  },
  FLYWHEEL_CONTROL_ACTIVITY_SLOTS: {
    schema: positiveInt.default(8),
    expected: 'a positive integer: control activities the CPU worker process runs at once on flywheel-control (default: 8)',
  },
  FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS: {
    schema: positiveInt.optional(),
    expected:
      "a positive integer: workflows the CPU worker keeps in memory between tasks (default: the Temporal SDK's, from the heap limit; about 1.8 MB each, and an evicted one replays its bounded history when it wakes)",
  },
  FLYWHEEL_WORKER_TASK_QUEUE: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/)
      .optional(),
    expected: 'the task queue a GPU worker polls, e.g. flywheel-gpu-ondemand for an on-demand pool (default: flywheel-gpu)',
  },
  FLYWHEEL_WORKER_DEPLOYMENT: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/)
      .optional(),
    expected: 'a Worker Deployment name, e.g. flywheel (with FLYWHEEL_WORKER_BUILD_ID: worker versioning on; docs/safe-evolution.md)',
  },
  FLYWHEEL_WORKER_BUILD_ID: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/)
      .optional(),
    expected: "this worker build's id, e.g. a git commit or 2026-11-30.1 (with FLYWHEEL_WORKER_DEPLOYMENT)",
  },
  FLYWHEEL_TRAINER_PATH: {
    schema: z.string().min(1).optional(),
    expected: "folders put first on a command trainer's PATH, e.g. .tools/trainers-venv/bin (default: the worker's PATH)",
  },
  FLYWHEEL_TRAINING_BACKEND: {
    schema: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    expected: 'one of auto, tensorflow, wasm, cpu',
  },
  FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: {
    schema: positiveInt.default(10_000),
    expected: 'a positive integer number of milliseconds',
  },
  FLYWHEEL_WORKER_HTTP_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    expected: "the interface a worker's health and metrics server listens on, e.g. 0.0.0.0 inside a container (default: 127.0.0.1)",
  },
  FLYWHEEL_WORKER_HTTP_PORT: {
    schema: z.coerce.number().int().min(0).max(65535).optional(),
    expected:
      "a port for the worker's /healthz, /readyz and /metrics, e.g. 9464; 0 picks a free one (unset: no server, so several workers share a host)",
  },
  FLYWHEEL_GIT_WEBHOOK_SECRET: {
    schema: z.string().min(16, 'at least 16 characters').optional(),
    expected:
      'the shared secret a git host signs push webhooks with (HMAC-SHA256, X-Hub-Signature-256), ≥ 16 characters; the CPU worker then answers POST /hooks/git/<env> on FLYWHEEL_WORKER_HTTP_PORT (unset: no hook route)',
    secret: true,
  },
  FLYWHEEL_WORKFLOW_BUNDLE: {
    schema: z.string().min(1).optional(),
    expected:
      'the path of a prebuilt workflow bundle the CPU worker loads instead of bundling workflows at start, e.g. dist/workflow-bundle.js (`npm run build`; the images set it)',
  },
  FLYWHEEL_SERVING_URL: {
    schema: httpUrl.optional(),
    expected: 'the inference server a rollout drives, e.g. http://127.0.0.1:8080 (unset: rollouts fail with a clear error)',
  },
  FLYWHEEL_SERVING_ADMIN_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'an API key with the admin scope (`flywheel keys create --scopes admin`)',
    secret: true,
  },
  FLYWHEEL_SERVING_TLS_CA: {
    schema: z.string().min(1).optional(),
    expected:
      "the path of a PEM CA bundle the inference server's HTTPS certificate is checked against (unset: the system CAs and NODE_EXTRA_CA_CERTS)",
  },
  FLYWHEEL_SERVING_TLS_CERT: {
    schema: z.string().min(1).optional(),
    expected:
      'the path of a PEM client certificate the rollout presents to the inference server (its admin routes need one when the server sets FLYWHEEL_SERVE_TLS_CLIENT_CA); needs FLYWHEEL_SERVING_TLS_KEY',
  },
  FLYWHEEL_SERVING_TLS_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'the path of the PEM private key of FLYWHEEL_SERVING_TLS_CERT',
  },
  FLYWHEEL_ONNX_PROVIDERS: {
    schema: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseOnnxProviders(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; expected ${ONNX_PROVIDERS_EXPECTED}` });
          return z.NEVER;
        }
      })
      .default(['cpu']),
    expected: ONNX_PROVIDERS_EXPECTED,
  },
  FLYWHEEL_SERVE_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    expected: 'an interface address to listen on, e.g. 127.0.0.1 (0.0.0.0 inside a container)',
  },
  FLYWHEEL_SERVE_PORT: {
    schema: z.coerce.number().int().min(0).max(65535).default(8080),
    expected: 'a TCP port number 0–65535 (0: any free port)',
  },
  FLYWHEEL_SERVE_MODELS: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/, 'not a comma-separated list of model names')
      .optional(),
    expected: 'comma-separated model names, e.g. flights-delay (unset: every model with a champion alias)',
  },
  FLYWHEEL_SERVE_THREADS: {
    schema: positiveInt.default(1),
    expected: 'a positive integer number of ONNX Runtime threads',
  },
  FLYWHEEL_SERVE_BATCHING: {
    schema: z.stringbool().default(true),
    expected: 'true or false (false: one ONNX Runtime run per request)',
  },
  FLYWHEEL_SERVE_MAX_BATCH_SIZE: {
    schema: positiveInt.default(32),
    expected: 'a positive integer number of rows per merged run',
  },
  FLYWHEEL_SERVE_MAX_DELAY_MS: {
    schema: z.coerce.number().min(0).default(2),
    expected: 'a number of milliseconds ≥ 0 a partial batch may wait while runs are in flight',
  },
  FLYWHEEL_SERVE_MAX_QUEUE_ROWS: {
    schema: positiveInt.default(2048),
    expected: 'a positive integer: rows that may wait per model version before requests are shed (503)',
  },
  FLYWHEEL_SERVE_TIMEOUT_MS: {
    schema: positiveInt.default(1000),
    expected: 'a positive integer number of milliseconds a request may wait for the model (then 504)',
  },
  FLYWHEEL_SERVE_CACHE_SIZE: {
    schema: z.coerce.number().int().min(0).default(10_000),
    expected: 'an integer ≥ 0: cached predictions (0 turns the cache off)',
  },
  FLYWHEEL_SERVE_CACHE_TTL_MS: {
    schema: positiveInt.default(60_000),
    expected: 'a positive integer number of milliseconds a cached prediction lives',
  },
  FLYWHEEL_SERVE_TLS_CERT: {
    schema: z.string().min(1).optional(),
    expected: 'the path of a PEM server certificate (chain) to serve HTTPS with; needs FLYWHEEL_SERVE_TLS_KEY (unset: plain HTTP)',
  },
  FLYWHEEL_SERVE_TLS_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'the path of the PEM private key (unencrypted) of FLYWHEEL_SERVE_TLS_CERT',
  },
  FLYWHEEL_SERVE_TLS_CLIENT_CA: {
    schema: z.string().min(1).optional(),
    expected:
      'the path of a PEM CA bundle: admin routes then also need a client certificate it signed (predict clients need none); needs FLYWHEEL_SERVE_TLS_CERT',
  },
  FLYWHEEL_SERVE_AUTH: {
    schema: z.stringbool().default(true),
    expected: 'true or false (false: no API keys needed; never in production)',
  },
  FLYWHEEL_SERVE_RATE_LIMIT_RPS: {
    schema: z.coerce.number().positive().default(1000),
    expected: 'a positive number of requests per second per API key (a key may set its own)',
  },
  FLYWHEEL_SERVE_RATE_LIMIT_ROWS: {
    schema: z.coerce.number().positive().default(20_000),
    expected:
      'a positive number of instances per second per API key (batches count by their rows; burst: 10 × FLYWHEEL_SERVE_MAX_INSTANCES or 2 s of the rate, whichever is larger)',
  },
  FLYWHEEL_SERVE_RATE_LIMIT_BURST: {
    schema: positiveInt.optional(),
    expected: 'a positive integer: requests a key may make at once (default: 2 × the rate, at least 10)',
  },
  FLYWHEEL_SERVE_BODY_LIMIT_BYTES: {
    schema: positiveInt.default(1_048_576),
    expected: 'a positive integer number of bytes (larger bodies get 413)',
  },
  FLYWHEEL_SERVE_MAX_INSTANCES: {
    schema: positiveInt.default(1000),
    expected: 'a positive integer: instances per predict request (jobs take up to 10×)',
  },
  FLYWHEEL_SERVE_REFRESH_MS: {
    schema: positiveInt.default(5000),
    expected: 'a positive integer number of milliseconds between registry alias and routing checks',
  },
  FLYWHEEL_SERVE_JOBS: {
    schema: z.stringbool().default(true),
    expected: 'true or false (false: this replica accepts async jobs but another one runs them)',
  },
  FLYWHEEL_SERVE_DB_TIMEOUT_MS: {
    schema: positiveInt.default(1000),
    expected:
      'a positive integer number of milliseconds a serving database call (feedback, key lookups, routing writes) may take; 3 failures in a row open a circuit for 2 s',
  },
  FLYWHEEL_SERVE_REGISTRY_TIMEOUT_MS: {
    schema: positiveInt.default(5000),
    expected:
      'a positive integer number of milliseconds a registry call of the inference server (alias and version reads on refresh) may take; 3 failures in a row open its circuit for 2 s and the loaded models keep serving',
  },
  FLYWHEEL_SERVE_STORE_TIMEOUT_MS: {
    schema: positiveInt.default(60_000),
    expected:
      'a positive integer number of milliseconds one artifact-store read of a model load (model file, feature spec) may take; 3 failures in a row open its circuit for 2 s',
  },
  FLYWHEEL_SERVE_BATCH_MAX_AGE_S: {
    schema: positiveInt.default(86_400),
    expected:
      'a positive integer number of seconds a published batch prediction stays fresh (older ones are recomputed in real time; docs/batch-layer.md)',
  },
  FLYWHEEL_SERVE_BATCH_TIMEOUT_MS: {
    schema: positiveInt.default(250),
    expected:
      'a positive integer number of milliseconds a batch-layer lookup may take before real-time scoring answers instead; 3 failures in a row open its circuit for 2 s',
  },
  FLYWHEEL_SERVE_BATCH_FEATURE_TABLES: {
    schema: z
      .string()
      .regex(/^\s*[^=,\s]+\s*=\s*[^=,\s]+\s*(,\s*[^=,\s]+\s*=\s*[^=,\s]+\s*)*$/, 'not model=table[,model=table…]')
      .optional(),
    expected:
      'a comma-separated list of model=table pairs: the batch feature table each model joins (unset: the table named like the model)',
  },
  FLYWHEEL_SERVE_DRAIN_MS: {
    schema: z.coerce.number().int().min(0).default(3000),
    expected:
      'an integer ≥ 0: milliseconds a stopping server answers /readyz with 503 "draining" (still serving) before it closes, so a load balancer\'s health check takes it out first',
  },
  FLYWHEEL_SERVE_RATE_LIMIT_SHARE: {
    schema: positiveInt.default(1),
    expected: "a positive integer: replicas behind one load balancer that share each key's limits (each enforces rate/N and burst/N)",
  },
  FLYWHEEL_SERVE_KEY_REFRESH_MS: {
    schema: positiveInt.default(5000),
    expected: 'a positive integer number of milliseconds between reloads of the API-key snapshot (how long a revocation takes to apply)',
  },
  FLYWHEEL_SERVE_KEY_MAX_STALE_MS: {
    schema: positiveInt.default(900_000),
    expected:
      'a positive integer number of milliseconds the API-key snapshot is trusted without a successful reload (a database outage longer than this makes authenticated requests 503)',
  },
  FLYWHEEL_SERVE_WEBHOOK_ALLOW: {
    schema: z.string().optional(),
    expected:
      'a comma-separated list of host names (hooks.example.com, *.example.com) and addresses or CIDRs that job webhooks may call (unset: any host whose addresses are all public)',
  },
  FLYWHEEL_SERVE_WEBHOOK_SECRET: {
    schema: z.string().min(16).optional(),
    expected: 'a secret of at least 16 characters that signs job webhooks (HMAC-SHA256); unset: jobs with a webhookUrl are refused',
    secret: true,
  },
  FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE: {
    schema: z.coerce.number().min(0).max(1).default(0.01),
    expected: 'a fraction 0..1 of requests written to the access log (5xx and slow ones always); 0 turns the log off (default: 0.01)',
  },
  FLYWHEEL_SERVE_ACCESS_LOG_SLOW_MS: {
    schema: positiveInt.default(1000),
    expected: 'a positive integer number of milliseconds: slower requests are always in the access log (default: 1000)',
  },
  FLYWHEEL_SERVE_PREDICTION_LOG_BUFFER: {
    schema: positiveInt.default(50_000),
    expected: 'a positive integer: prediction-log rows held while the database is down (more are dropped)',
  },
  // The web console (`flywheel console`, docs/console.md).
  FLYWHEEL_CONSOLE_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    expected: 'an interface address the console listens on, e.g. 127.0.0.1 (0.0.0.0 inside a container)',
  },
  FLYWHEEL_CONSOLE_PORT: {
    schema: z.coerce.number().int().min(0).max(65535).default(8288),
    expected: 'a TCP port number 0–65535 for the console (0: any free port; default: 8288)',
  },
  FLYWHEEL_CONSOLE_READS: {
    schema: z.enum(['open', 'login']).optional(),
    expected:
      'open (anyone who reaches the console may read) or login (reads need a signed-in admin); default: open on a loopback host, else login',
  },
  FLYWHEEL_CONSOLE_SESSION_SECRET: {
    // The example Secret's placeholder is long enough to pass the length check; deployed as is,
    // anyone who read the example could sign a session cookie.
    schema: z
      .string()
      .min(32)
      .refine(
        (s) => !/CHANGE-ME/i.test(s),
        'is still the example placeholder (CHANGE-ME…): set a random secret, e.g. `openssl rand -hex 32`',
      )
      .optional(),
    expected:
      'a secret of at least 32 characters that signs console session cookies; unset: a random one per process (sessions end at restart, and replicas do not share them)',
    secret: true,
  },
  TEMPORAL_WEB_UI_URL: {
    schema: httpUrl.optional(),
    expected: 'the Temporal Web UI base URL the console links workflows to, e.g. http://127.0.0.1:8233; unset: no links',
  },
  FLYWHEEL_API_KEY: {
    schema: z.string().min(1).optional(),
    expected: 'an inference-server API key (`flywheel keys create`), used by `flywheel traffic replay`',
    secret: true,
  },
  // Tracing (docs/tracing.md): off unless FLYWHEEL_TRACING is true; the OTEL_* names are the
  // OpenTelemetry SDK's own, so a collector set up for other services works unchanged.
  FLYWHEEL_TRACING: {
    schema: z.stringbool().default(false),
    expected: 'true or false (true: export OpenTelemetry traces over OTLP/HTTP)',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: httpUrl.optional(),
    expected: 'the base URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (traces go to <url>/v1/traces)',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    schema: httpUrl.optional(),
    expected: 'the full URL traces are POSTed to, e.g. http://127.0.0.1:4318/v1/traces (wins over OTEL_EXPORTER_OTLP_ENDPOINT)',
  },
  OTEL_SERVICE_NAME: {
    schema: z.string().min(1).optional(),
    expected: 'a service name for the traces (default by process: flywheel-cli, flywheel-worker, flywheel-serve, flywheel-dev)',
  },
} as const satisfies Record<string, EnvVar>;

export type EnvVarName = keyof typeof ENV_VARS;
