// One configuration schema per process kind. Each picks the variables it reads from ENV_VARS
// and shapes them into a typed, nested Config.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ENV_VARS, type EnvVarName } from './vars.ts';
import { Secret } from './secret.ts';
import { parseWebhookPolicy } from '../net/webhook-policy.ts';
import { checkServeTls, type ServeTlsSettings } from './serve-tls.ts';
import { shapeTemporal, type TemporalConfig } from './temporal.ts';
import type { OnnxProvider } from '../onnx/providers.ts';

export type { TemporalConfig, TemporalTlsConfig } from './temporal.ts';
export type { ServeTlsSettings } from './serve-tls.ts';

function pick<const K extends EnvVarName>(names: readonly K[]) {
  const shape = {} as { [P in K]: (typeof ENV_VARS)[P]['schema'] };
  for (const name of names) shape[name] = ENV_VARS[name].schema as never;
  return z.object(shape);
}

export const TRACING_VARS = [
  'FLYWHEEL_TRACING',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SERVICE_NAME',
] as const satisfies readonly EnvVarName[];

export const COMMON_VARS = [
  'FLYWHEEL_ENV',
  'FLYWHEEL_DATA_DIR',
  'FLYWHEEL_LOG_LEVEL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_CLI_PATH',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_PROFILE',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'DATABASE_URL',
  'FLYWHEEL_DB_SCHEMA',
  'ARTIFACT_STORE',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'AWS_REGION',
  'MLFLOW_TRACKING_URI',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_USERNAME',
  'MLFLOW_TRACKING_PASSWORD',
  'FLYWHEEL_ACTOR',
  ...TRACING_VARS,
] as const satisfies readonly EnvVarName[];

export const WORKER_VARS = [
  ...COMMON_VARS,
  'FLYWHEEL_WORKER_IDENTITY',
  'FLYWHEEL_WORKER_MAX_CONCURRENT_ACTIVITIES',
  'FLYWHEEL_CONTROL_ACTIVITY_SLOTS',
  'FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS',
  'FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS',
  'FLYWHEEL_TRAINING_BACKEND',
  'FLYWHEEL_WORKER_TASK_QUEUE',
  'FLYWHEEL_WORKER_DEPLOYMENT',
  'FLYWHEEL_WORKER_BUILD_ID',
  'FLYWHEEL_TRAINER_PATH',
  'FLYWHEEL_SERVING_URL',
  'FLYWHEEL_SERVING_ADMIN_KEY',
  'FLYWHEEL_SERVING_TLS_CA',
  'FLYWHEEL_SERVING_TLS_CERT',
  'FLYWHEEL_SERVING_TLS_KEY',
  'FLYWHEEL_WORKER_HTTP_HOST',
  'FLYWHEEL_WORKER_HTTP_PORT',
  'FLYWHEEL_GIT_WEBHOOK_SECRET',
  'FLYWHEEL_ONNX_PROVIDERS',
  'FLYWHEEL_WORKFLOW_BUNDLE',
] as const satisfies readonly EnvVarName[];

export const SERVE_VARS = [
  ...COMMON_VARS,
  'FLYWHEEL_SERVE_HOST',
  'FLYWHEEL_SERVE_PORT',
  'FLYWHEEL_SERVE_MODELS',
  'FLYWHEEL_SERVE_THREADS',
  'FLYWHEEL_SERVE_BATCHING',
  'FLYWHEEL_SERVE_MAX_BATCH_SIZE',
  'FLYWHEEL_SERVE_MAX_DELAY_MS',
  'FLYWHEEL_SERVE_MAX_QUEUE_ROWS',
  'FLYWHEEL_SERVE_TIMEOUT_MS',
  'FLYWHEEL_SERVE_CACHE_SIZE',
  'FLYWHEEL_SERVE_CACHE_TTL_MS',
  'FLYWHEEL_SERVE_AUTH',
  'FLYWHEEL_SERVE_TLS_CERT',
  'FLYWHEEL_SERVE_TLS_KEY',
  'FLYWHEEL_SERVE_TLS_CLIENT_CA',
  'FLYWHEEL_SERVE_RATE_LIMIT_RPS',
  'FLYWHEEL_SERVE_RATE_LIMIT_BURST',
  'FLYWHEEL_SERVE_RATE_LIMIT_ROWS',
  'FLYWHEEL_SERVE_RATE_LIMIT_SHARE',
  'FLYWHEEL_SERVE_BODY_LIMIT_BYTES',
  'FLYWHEEL_SERVE_MAX_INSTANCES',
  'FLYWHEEL_SERVE_REFRESH_MS',
  'FLYWHEEL_SERVE_JOBS',
  'FLYWHEEL_SERVE_PREDICTION_LOG_BUFFER',
  'FLYWHEEL_SERVE_DB_TIMEOUT_MS',
  'FLYWHEEL_SERVE_REGISTRY_TIMEOUT_MS',
  'FLYWHEEL_SERVE_STORE_TIMEOUT_MS',
  'FLYWHEEL_SERVE_BATCH_MAX_AGE_S',
  'FLYWHEEL_SERVE_BATCH_TIMEOUT_MS',
  'FLYWHEEL_SERVE_BATCH_FEATURE_TABLES',
  'FLYWHEEL_SERVE_DRAIN_MS',
  'FLYWHEEL_SERVE_KEY_REFRESH_MS',
  'FLYWHEEL_SERVE_KEY_MAX_STALE_MS',
  'FLYWHEEL_SERVE_WEBHOOK_ALLOW',
  'FLYWHEEL_SERVE_WEBHOOK_SECRET',
  'FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE',
  'FLYWHEEL_SERVE_ACCESS_LOG_SLOW_MS',
  'FLYWHEEL_ONNX_PROVIDERS',
] as const satisfies readonly EnvVarName[];

export const CONSOLE_VARS = [
  ...COMMON_VARS,
  'FLYWHEEL_CONSOLE_HOST',
  'FLYWHEEL_CONSOLE_PORT',
  'FLYWHEEL_CONSOLE_READS',
  'FLYWHEEL_CONSOLE_SESSION_SECRET',
  'TEMPORAL_WEB_UI_URL',
] as const satisfies readonly EnvVarName[];

/** `schema`: the PostgreSQL schema every Flywheel table of this environment lives in
 * (FLYWHEEL_DB_SCHEMA); undefined: public. */
export type DatabaseConfig = ({ kind: 'postgres'; url: Secret } | { kind: 'pglite'; dataDir: string }) & { schema?: string };

export interface ArtifactStoreConfig {
  uri: string;
  s3: { endpoint?: string; forcePathStyle: boolean; region: string };
}

/** OpenTelemetry tracing (lib/telemetry). Undefined `tracing`: off. */
export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP protobuf). */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME; unset: the process's own name (flywheel-cli, flywheel-worker, flywheel-serve). */
  serviceName?: string;
}

type TracingEnv = {
  FLYWHEEL_TRACING: boolean;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
};

/** The traces URL the way the OpenTelemetry SDKs resolve it: the signal's own endpoint as is,
 * else the base endpoint + /v1/traces, else a local collector. */
function shapeTracing(raw: TracingEnv): TracingConfig | undefined {
  if (!raw.FLYWHEEL_TRACING) return undefined;
  const base = (raw.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318').replace(/\/+$/, '');
  return {
    tracesUrl: raw.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
    ...(raw.OTEL_SERVICE_NAME ? { serviceName: raw.OTEL_SERVICE_NAME } : {}),
  };
}

/** The MLflow tracking server (registry and run mirroring) and how to authenticate to it. */
export interface MlflowConfig {
  trackingUri?: string;
  /** MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (basic). */
  auth?: MlflowAuth;
}

export type MlflowAuth = { kind: 'bearer'; token: Secret } | { kind: 'basic'; username: string; password: Secret };

/** MLflow's own auth variables, checked together: a token or a user and password, never half. */
function shapeMlflow(raw: CommonEnv, ctx: z.RefinementCtx): MlflowConfig {
  const { MLFLOW_TRACKING_TOKEN: token, MLFLOW_TRACKING_USERNAME: username, MLFLOW_TRACKING_PASSWORD: password } = raw;
  if (token && (username || password)) {
    ctx.addIssue({
      code: 'custom',
      path: ['MLFLOW_TRACKING_TOKEN'],
      message: 'set either MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD, not both',
    });
  }
  if (Boolean(username) !== Boolean(password)) {
    ctx.addIssue({
      code: 'custom',
      path: [username ? 'MLFLOW_TRACKING_PASSWORD' : 'MLFLOW_TRACKING_USERNAME'],
      message: 'MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD go together (HTTP basic auth)',
    });
  }
  const auth: MlflowAuth | undefined = token
    ? { kind: 'bearer', token: new Secret(token) }
    : username && password
      ? { kind: 'basic', username, password: new Secret(password) }
      : undefined;
  return { ...(raw.MLFLOW_TRACKING_URI ? { trackingUri: raw.MLFLOW_TRACKING_URI } : {}), ...(auth ? { auth } : {}) };
}

export interface CommonConfig {
  env: 'dev' | 'staging' | 'prod';
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  temporal: TemporalConfig;
  database: DatabaseConfig;
  artifactStore: ArtifactStoreConfig;
  mlflow: MlflowConfig;
  /** Who a CLI user is, for alias moves and approvals. */
  actor?: string;
  /** Undefined: tracing is off (FLYWHEEL_TRACING unset or false). */
  tracing?: TracingConfig;
}

export interface WorkerConfig extends CommonConfig {
  worker: {
    identity?: string;
    maxConcurrentActivities?: number;
    /** Activity slots of the control worker (flywheel-control) in the CPU worker process. */
    controlActivitySlots: number;
    /** Workflows the CPU worker keeps cached (each costs memory; evicted ones replay on wake). Unset: the SDK's default. */
    maxCachedWorkflows?: number;
    shutdownGraceMs: number;
    /** TF.js backend for training activities; `auto` picks the fastest installed. */
    trainingBackend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
    /** The queue a GPU worker polls instead of flywheel-gpu (an on-demand pool's). */
    taskQueue?: string;
    /** Worker Deployment Versioning (both or neither): the deployment and this build's id. */
    deploymentName?: string;
    buildId?: string;
    /** Folders put first on a command trainer's PATH. */
    trainerPath?: string;
    /** The health and metrics server (/healthz, /readyz, /metrics); undefined: none. Port 0: a free one. */
    http?: { host: string; port: number };
    /** ONNX Runtime execution providers batch scoring asks for, in priority order. */
    onnxProviders: OnnxProvider[];
    /** Signs git push webhooks (POST /hooks/git/<env> on the CPU worker's HTTP server); undefined: no route. */
    gitWebhookSecret?: Secret;
    /** A prebuilt workflow bundle (`npm run build`) the CPU worker loads instead of bundling at start. */
    workflowBundle?: string;
  };
  /** The inference server whose routing a rollout drives (admin API). */
  serving?: ServingEndpoint;
}

export interface ServingEndpoint {
  url: string;
  adminKey?: Secret;
  /** HTTPS client settings (paths): a CA to trust, and a client certificate for admin routes. */
  tls?: { caPath?: string; certPath?: string; keyPath?: string };
}

type CommonEnv = z.output<ReturnType<typeof pick<(typeof COMMON_VARS)[number]>>>;

function shapeCommon(raw: CommonEnv, ctx: z.RefinementCtx): CommonConfig {
  const dataDir = isAbsolute(raw.FLYWHEEL_DATA_DIR) ? raw.FLYWHEEL_DATA_DIR : resolve(raw.FLYWHEEL_DATA_DIR);

  if (raw.FLYWHEEL_ENV === 'prod' && !raw.DATABASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['DATABASE_URL'],
      message: 'required when FLYWHEEL_ENV=prod (embedded PGlite serves one process only)',
    });
  }

  const tracing = shapeTracing(raw);
  return {
    env: raw.FLYWHEEL_ENV,
    dataDir,
    logLevel: raw.FLYWHEEL_LOG_LEVEL,
    temporal: shapeTemporal(raw, ctx),
    database: {
      ...(raw.DATABASE_URL
        ? { kind: 'postgres' as const, url: new Secret(raw.DATABASE_URL) }
        : { kind: 'pglite' as const, dataDir: resolve(dataDir, 'pglite') }),
      // public is PostgreSQL's own default: left out, so configurations without it read as before.
      ...(raw.FLYWHEEL_DB_SCHEMA !== 'public' ? { schema: raw.FLYWHEEL_DB_SCHEMA } : {}),
    },
    artifactStore: {
      uri: raw.ARTIFACT_STORE ?? `file://${resolve(dataDir, 'artifacts')}`,
      s3: {
        ...(raw.S3_ENDPOINT ? { endpoint: raw.S3_ENDPOINT } : {}),
        // S3-compatible stores on a bare host:port need path-style addressing.
        forcePathStyle: raw.S3_FORCE_PATH_STYLE ?? Boolean(raw.S3_ENDPOINT),
        region: raw.AWS_REGION,
      },
    },
    mlflow: shapeMlflow(raw, ctx),
    ...(raw.FLYWHEEL_ACTOR ? { actor: raw.FLYWHEEL_ACTOR } : {}),
    ...(tracing ? { tracing } : {}),
  };
}

export const commonSchema = pick(COMMON_VARS).transform((raw, ctx) => shapeCommon(raw, ctx));

function checkVersioning(
  raw: { FLYWHEEL_WORKER_DEPLOYMENT?: string | undefined; FLYWHEEL_WORKER_BUILD_ID?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (Boolean(raw.FLYWHEEL_WORKER_DEPLOYMENT) !== Boolean(raw.FLYWHEEL_WORKER_BUILD_ID))
    ctx.addIssue({
      code: 'custom',
      path: [raw.FLYWHEEL_WORKER_DEPLOYMENT ? 'FLYWHEEL_WORKER_BUILD_ID' : 'FLYWHEEL_WORKER_DEPLOYMENT'],
      message: 'worker versioning needs both FLYWHEEL_WORKER_DEPLOYMENT and FLYWHEEL_WORKER_BUILD_ID (or neither: unversioned)',
    });
}

export const workerSchema = pick(WORKER_VARS).transform((raw, ctx): WorkerConfig => {
  checkVersioning(raw, ctx);
  if (Boolean(raw.FLYWHEEL_SERVING_TLS_CERT) !== Boolean(raw.FLYWHEEL_SERVING_TLS_KEY))
    ctx.addIssue({
      code: 'custom',
      path: [raw.FLYWHEEL_SERVING_TLS_CERT ? 'FLYWHEEL_SERVING_TLS_KEY' : 'FLYWHEEL_SERVING_TLS_CERT'],
      message: 'a client certificate for the inference server needs both FLYWHEEL_SERVING_TLS_CERT and FLYWHEEL_SERVING_TLS_KEY',
    });
  return {
    ...shapeCommon(raw, ctx),
    worker: {
      ...(raw.FLYWHEEL_WORKER_IDENTITY ? { identity: raw.FLYWHEEL_WORKER_IDENTITY } : {}),
      ...(raw.FLYWHEEL_WORKER_MAX_CONCURRENT_ACTIVITIES ? { maxConcurrentActivities: raw.FLYWHEEL_WORKER_MAX_CONCURRENT_ACTIVITIES } : {}),
      controlActivitySlots: raw.FLYWHEEL_CONTROL_ACTIVITY_SLOTS,
      ...(raw.FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS ? { maxCachedWorkflows: raw.FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS } : {}),
      shutdownGraceMs: raw.FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS,
      trainingBackend: raw.FLYWHEEL_TRAINING_BACKEND,
      ...(raw.FLYWHEEL_WORKER_TASK_QUEUE ? { taskQueue: raw.FLYWHEEL_WORKER_TASK_QUEUE } : {}),
      ...(raw.FLYWHEEL_WORKER_DEPLOYMENT ? { deploymentName: raw.FLYWHEEL_WORKER_DEPLOYMENT } : {}),
      ...(raw.FLYWHEEL_WORKER_BUILD_ID ? { buildId: raw.FLYWHEEL_WORKER_BUILD_ID } : {}),
      ...(raw.FLYWHEEL_TRAINER_PATH ? { trainerPath: raw.FLYWHEEL_TRAINER_PATH } : {}),
      ...(raw.FLYWHEEL_WORKER_HTTP_PORT !== undefined
        ? { http: { host: raw.FLYWHEEL_WORKER_HTTP_HOST, port: raw.FLYWHEEL_WORKER_HTTP_PORT } }
        : {}),
      onnxProviders: raw.FLYWHEEL_ONNX_PROVIDERS,
      ...(raw.FLYWHEEL_GIT_WEBHOOK_SECRET ? { gitWebhookSecret: new Secret(raw.FLYWHEEL_GIT_WEBHOOK_SECRET) } : {}),
      ...(raw.FLYWHEEL_WORKFLOW_BUNDLE ? { workflowBundle: raw.FLYWHEEL_WORKFLOW_BUNDLE } : {}),
    },
    ...(raw.FLYWHEEL_SERVING_URL
      ? {
          serving: {
            url: raw.FLYWHEEL_SERVING_URL.replace(/\/+$/, ''),
            ...(raw.FLYWHEEL_SERVING_ADMIN_KEY ? { adminKey: new Secret(raw.FLYWHEEL_SERVING_ADMIN_KEY) } : {}),
            ...(raw.FLYWHEEL_SERVING_TLS_CA || raw.FLYWHEEL_SERVING_TLS_CERT
              ? {
                  tls: {
                    ...(raw.FLYWHEEL_SERVING_TLS_CA ? { caPath: raw.FLYWHEEL_SERVING_TLS_CA } : {}),
                    ...(raw.FLYWHEEL_SERVING_TLS_CERT ? { certPath: raw.FLYWHEEL_SERVING_TLS_CERT } : {}),
                    ...(raw.FLYWHEEL_SERVING_TLS_KEY ? { keyPath: raw.FLYWHEEL_SERVING_TLS_KEY } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
  };
});

export interface ServeSettings {
  host: string;
  port: number;
  /** Undefined: every registered model with a champion alias. */
  models?: string[];
  threads: number;
  batching: boolean;
  maxBatchSize: number;
  maxDelayMs: number;
  maxQueueRows: number;
  timeoutMs: number;
  cacheSize: number;
  cacheTtlMs: number;
  auth: boolean;
  rateLimitRps: number;
  rateLimitBurst: number;
  /** Instances per second per key (the row limit). */
  rateLimitRows: number;
  /** Replicas sharing each key's limits: each enforces rate/N and burst/N. @default 1 */
  rateLimitShare: number;
  bodyLimitBytes: number;
  maxInstances: number;
  refreshMs: number;
  jobs: boolean;
  predictionLogBuffer: number;
  /** Deadline of one serving database call (breaker-guarded). */
  dbTimeoutMs: number;
  /** Deadline of one registry call of the server (breaker-guarded). */
  registryTimeoutMs: number;
  /** Deadline of one artifact-store read of a model load (breaker-guarded). */
  storeTimeoutMs: number;
  /** How old a published batch prediction may be and still answer (the lambda read path). */
  batchMaxAgeS: number;
  /** Deadline of one batch-layer lookup (its own breaker); past it, real-time scoring answers. */
  batchTimeoutMs: number;
  /** Model → the batch feature table it joins; a model not listed joins the table of its name. */
  batchFeatureTables: Record<string, string>;
  /** How long a stopping server reports "draining" on /readyz before it closes. @default 3000 */
  drainMs: number;
  /** Reload interval of the API-key snapshot: the revocation latency. */
  keyRefreshMs: number;
  /** How long the snapshot is trusted without a successful reload. */
  keyMaxStaleMs: number;
  /** Webhook destinations (host patterns, addresses, CIDRs); empty: any public host. */
  webhookAllow: string[];
  /** Signs webhooks; undefined: jobs with a webhookUrl are refused. */
  webhookSecret?: Secret;
  /** Fraction of requests in the access log (5xx and slow ones always); 0: no access log. */
  accessLogSample: number;
  /** Requests at least this slow are always logged. */
  accessLogSlowMs: number;
  /** HTTPS (and client certificates for admin routes); undefined: plain HTTP. */
  tls?: ServeTlsSettings;
  /** ONNX Runtime execution providers asked for, in priority order. @default ['cpu'] */
  onnxProviders?: OnnxProvider[];
}

export const serveSchema = pick(SERVE_VARS)
  .superRefine((raw, ctx) => {
    try {
      parseWebhookPolicy((raw.FLYWHEEL_SERVE_WEBHOOK_ALLOW ?? '').split(','));
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['FLYWHEEL_SERVE_WEBHOOK_ALLOW'], message: (err as Error).message });
    }
    checkServeTls(raw, ctx);
  })
  .transform((raw, ctx) => ({
    ...shapeCommon(raw, ctx),
    serve: {
      host: raw.FLYWHEEL_SERVE_HOST,
      port: raw.FLYWHEEL_SERVE_PORT,
      ...(raw.FLYWHEEL_SERVE_MODELS ? { models: raw.FLYWHEEL_SERVE_MODELS.split(',') } : {}),
      threads: raw.FLYWHEEL_SERVE_THREADS,
      batching: raw.FLYWHEEL_SERVE_BATCHING,
      maxBatchSize: raw.FLYWHEEL_SERVE_MAX_BATCH_SIZE,
      maxDelayMs: raw.FLYWHEEL_SERVE_MAX_DELAY_MS,
      maxQueueRows: raw.FLYWHEEL_SERVE_MAX_QUEUE_ROWS,
      timeoutMs: raw.FLYWHEEL_SERVE_TIMEOUT_MS,
      cacheSize: raw.FLYWHEEL_SERVE_CACHE_SIZE,
      cacheTtlMs: raw.FLYWHEEL_SERVE_CACHE_TTL_MS,
      auth: raw.FLYWHEEL_SERVE_AUTH,
      rateLimitRps: raw.FLYWHEEL_SERVE_RATE_LIMIT_RPS,
      rateLimitBurst: raw.FLYWHEEL_SERVE_RATE_LIMIT_BURST ?? Math.max(10, Math.ceil(2 * raw.FLYWHEEL_SERVE_RATE_LIMIT_RPS)),
      rateLimitRows: raw.FLYWHEEL_SERVE_RATE_LIMIT_ROWS,
      rateLimitShare: raw.FLYWHEEL_SERVE_RATE_LIMIT_SHARE,
      bodyLimitBytes: raw.FLYWHEEL_SERVE_BODY_LIMIT_BYTES,
      maxInstances: raw.FLYWHEEL_SERVE_MAX_INSTANCES,
      refreshMs: raw.FLYWHEEL_SERVE_REFRESH_MS,
      jobs: raw.FLYWHEEL_SERVE_JOBS,
      predictionLogBuffer: raw.FLYWHEEL_SERVE_PREDICTION_LOG_BUFFER,
      dbTimeoutMs: raw.FLYWHEEL_SERVE_DB_TIMEOUT_MS,
      registryTimeoutMs: raw.FLYWHEEL_SERVE_REGISTRY_TIMEOUT_MS,
      storeTimeoutMs: raw.FLYWHEEL_SERVE_STORE_TIMEOUT_MS,
      batchMaxAgeS: raw.FLYWHEEL_SERVE_BATCH_MAX_AGE_S,
      batchTimeoutMs: raw.FLYWHEEL_SERVE_BATCH_TIMEOUT_MS,
      batchFeatureTables: Object.fromEntries(
        (raw.FLYWHEEL_SERVE_BATCH_FEATURE_TABLES ?? '')
          .split(',')
          .filter((pair) => pair.trim())
          .map((pair) => pair.split('=').map((part) => part.trim()) as [string, string]),
      ),
      drainMs: raw.FLYWHEEL_SERVE_DRAIN_MS,
      keyRefreshMs: raw.FLYWHEEL_SERVE_KEY_REFRESH_MS,
      keyMaxStaleMs: raw.FLYWHEEL_SERVE_KEY_MAX_STALE_MS,
      webhookAllow: (raw.FLYWHEEL_SERVE_WEBHOOK_ALLOW ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
      ...(raw.FLYWHEEL_SERVE_WEBHOOK_SECRET ? { webhookSecret: new Secret(raw.FLYWHEEL_SERVE_WEBHOOK_SECRET) } : {}),
      accessLogSample: raw.FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE,
      accessLogSlowMs: raw.FLYWHEEL_SERVE_ACCESS_LOG_SLOW_MS,
      onnxProviders: raw.FLYWHEEL_ONNX_PROVIDERS,
      ...(raw.FLYWHEEL_SERVE_TLS_CERT && raw.FLYWHEEL_SERVE_TLS_KEY
        ? {
            tls: {
              certPath: raw.FLYWHEEL_SERVE_TLS_CERT,
              keyPath: raw.FLYWHEEL_SERVE_TLS_KEY,
              ...(raw.FLYWHEEL_SERVE_TLS_CLIENT_CA ? { clientCaPath: raw.FLYWHEEL_SERVE_TLS_CLIENT_CA } : {}),
            },
          }
        : {}),
    } satisfies ServeSettings,
  }));

export interface ConsoleSettings {
  host: string;
  port: number;
  /** `open`: anyone who reaches the console reads it; `login`: reads need a signed-in admin too. */
  reads: 'open' | 'login';
  /** Whether `reads` was set explicitly (an explicit `open` on a non-loopback host is warned about). */
  readsExplicit: boolean;
  /** Signs session cookies; undefined: a random secret per process (sessions end at restart). */
  sessionSecret?: Secret;
  /** The Temporal Web UI base URL (no trailing slash); undefined: no links into it. */
  webUiUrl?: string;
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const consoleSchema = pick(CONSOLE_VARS).transform((raw, ctx) => ({
  ...shapeCommon(raw, ctx),
  console: {
    host: raw.FLYWHEEL_CONSOLE_HOST,
    port: raw.FLYWHEEL_CONSOLE_PORT,
    // Open reads are a convenience of a console only this machine reaches.
    reads: raw.FLYWHEEL_CONSOLE_READS ?? (isLoopbackHost(raw.FLYWHEEL_CONSOLE_HOST) ? 'open' : 'login'),
    readsExplicit: raw.FLYWHEEL_CONSOLE_READS !== undefined,
    ...(raw.FLYWHEEL_CONSOLE_SESSION_SECRET ? { sessionSecret: new Secret(raw.FLYWHEEL_CONSOLE_SESSION_SECRET) } : {}),
    ...(raw.TEMPORAL_WEB_UI_URL ? { webUiUrl: raw.TEMPORAL_WEB_UI_URL.replace(/\/+$/, '') } : {}),
  } satisfies ConsoleSettings,
}));

/** Process kinds and the configuration each parses. The CLI uses the common subset. */
export const CONFIG_SCHEMAS = {
  cli: commonSchema,
  worker: workerSchema,
  serve: serveSchema,
  console: consoleSchema,
} as const;

export type ProcessKind = keyof typeof CONFIG_SCHEMAS;
export type ConfigFor<K extends ProcessKind> = z.output<(typeof CONFIG_SCHEMAS)[K]>;
