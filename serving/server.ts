// Builds the inference server from its parts: ONNX Runtime threads, the model manager (registry
// aliases + routes table), the response cache, the prediction log, auth and rate limits, the
// HTTP app, and a Temporal worker for async-job activities. `stop()` is the graceful shutdown:
// stop accepting, finish in-flight requests, drain batchers, flush the log.
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { ServeSettings } from '../lib/config/index.ts';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';
import type { ModelRegistry } from '../lib/registry/index.ts';
import type { ArtifactStore } from '../lib/storage/index.ts';
import { guardDatabase } from '../lib/db/guard.ts';
import { isPermanentDbError } from '../lib/db/errors.ts';
import { notifyDataArrived } from '../lib/lifecycle/notify.ts';
import { DEFAULT_ONNX_PROVIDERS } from '../lib/onnx/providers.ts';
import { selectOnnxProviders } from '../lib/onnx/provider-select.ts';
import { parseWebhookPolicy } from '../lib/net/webhook-policy.ts';
import { guardRegistry, guardStore, isNeutralRegistryError, isNeutralStoreError } from '../lib/resilience/guards.ts';
import { BREAKER_STATE_VALUE, BreakerRegistry } from '../lib/resilience/registry.ts';
import { createWorker } from '../lib/temporal/worker.ts';
import { SERVING_TASK_QUEUE } from '../lib/temporal/constants.ts';
import { ResponseCache } from './cache.ts';
import { createAuthenticator, createRowLimiter } from './http/auth.ts';
import { buildApp } from './http/app.ts';
import type { Executor } from './inference/executor.ts';
import { InferencePool } from './inference/pool.ts';
import { createServingActivities } from './jobs/activities.ts';
import { createJobsClient } from './jobs/client.ts';
import { SERVING_FAILURE_MAPPINGS } from './jobs/failures.ts';
import { createServingMetrics, type ServingMetrics } from './metrics.ts';
import { ModelManager } from './models.ts';
import { createPredictor, type Predict } from './predictor.ts';
import { BATCH_LAYER_DEPENDENCY, createBatchLayer } from './batch-layer/layer.ts';
import { createLayeredPredictor } from './batch-layer/serve.ts';
import { KeyCache } from './key-cache.ts';
import { PredictionLog } from './prediction-log.ts';
import { RateLimiter } from './rate-limit.ts';
import type { DataArrivedSignal } from '../lib/contracts/model-lifecycle.ts';

export interface InferenceServerDeps {
  settings: ServeSettings;
  db: Database;
  registry: ModelRegistry;
  store: ArtifactStore;
  logger: Logger;
  /** @default ONNX Runtime threads (`settings.threads`) */
  executor?: Executor;
  /** The workflow service, for async jobs and events. Without it (until `attachTemporal`), those
   * routes answer 503. */
  temporal?: TemporalDeps;
  /** Log every prediction to the database. @default true */
  predictionLog?: boolean;
  /** Where the batch layer's tables are read (e.g. a read replica). @default db */
  batchDb?: Database;
}

export interface TemporalDeps {
  client: Client;
  namespace: string;
  workerConnection?: NativeConnection;
  identity?: string;
}

export interface InferenceServer {
  app: FastifyInstance;
  models: ModelManager;
  metrics: ServingMetrics;
  predict: Predict;
  /** Every outbound dependency's circuit breaker; `breakers.create(name, options)` adds one whose
   * state shows in the metrics and /readyz (docs/resilience.md). */
  breakers: BreakerRegistry;
  /** Loads models, starts refreshing and the job worker, listens; returns the base URL. */
  start(): Promise<string>;
  /** Connects the workflow service after start (it was unreachable then): job and event routes
   * start working, and the job worker starts polling. */
  attachTemporal(temporal: TemporalDeps): Promise<void>;
  /** Starts draining: /readyz answers 503 "draining" while requests are still served, so a load
   * balancer's health check takes this replica out before `stop()` closes the listener. */
  drain(): void;
  stop(): Promise<void>;
}

/** Deadline of one prediction-log batch insert (1,000 rows), at least the database's. */
const PREDICTION_LOG_TIMEOUT_MS = 5000;

export async function createInferenceServer(deps: InferenceServerDeps): Promise<InferenceServer> {
  const { settings, logger } = deps;
  const metrics = createServingMetrics();
  // FLYWHEEL_ONNX_PROVIDERS: which of the requested providers load here, logged once at start-up.
  const executor =
    deps.executor ??
    InferencePool.create({
      threads: settings.threads,
      executionProviders: await selectOnnxProviders(settings.onnxProviders ?? DEFAULT_ONNX_PROVIDERS, logger),
    });
  // Every outbound call has a deadline and a breaker per dependency (docs/resilience.md), whose
  // state is in the metrics and /readyz. Serving's own database calls (feedback, key lookups,
  // routing writes, readiness, the prediction log) share one, so a database that is down or hung
  // fails them fast instead of stalling requests; predictions do not touch the database at all.
  // The registry and the store are only read by model refreshes: while theirs are open, the
  // loaded models keep serving and the next refresh tries again.
  const breakers = new BreakerRegistry({
    onStateChange: (dependency, state) => {
      metrics.breakerState.set({ dependency }, BREAKER_STATE_VALUE[state]);
      metrics.breakerTransitions.inc({ dependency, state });
      logger.warn({ dependency, state }, `${dependency} circuit ${state}`);
    },
    onReject: (dependency) => metrics.breakerRejections.inc({ dependency }),
  });
  const dbBreaker = breakers.create('database', { name: 'the database', timeoutMs: settings.dbTimeoutMs, isNeutral: isPermanentDbError });
  const guardedDb = guardDatabase(deps.db, dbBreaker);
  const registry = guardRegistry(
    deps.registry,
    breakers.create('registry', { name: 'the model registry', timeoutMs: settings.registryTimeoutMs, isNeutral: isNeutralRegistryError }),
  );
  const store = guardStore(
    deps.store,
    breakers.create('artifact-store', { name: 'the artifact store', timeoutMs: settings.storeTimeoutMs, isNeutral: isNeutralStoreError }),
  );
  const cache = new ResponseCache({ maxEntries: settings.cacheSize, ttlMs: settings.cacheTtlMs });
  const models = new ModelManager({
    registry,
    store,
    db: guardedDb,
    executor,
    logger,
    metrics,
    ...(settings.models ? { models: settings.models } : {}),
    batcher: {
      maxBatchSize: settings.batching ? settings.maxBatchSize : 1,
      maxDelayMs: settings.maxDelayMs,
      maxQueueRows: settings.maxQueueRows,
      timeoutMs: settings.timeoutMs,
      // Two runs in flight per thread: the next batch is already waiting when one finishes.
      concurrency: 2 * settings.threads,
    },
    onSwitch: (model) => cache.invalidateModel(model),
  });
  // The log writes through the database's breaker, so its writes fail fast while it is open (rows
  // stay buffered, overflow is dropped and counted); a batch insert may take longer than a lookup.
  const logDb = guardDatabase(deps.db, dbBreaker, { timeoutMs: Math.max(settings.dbTimeoutMs, PREDICTION_LOG_TIMEOUT_MS) });
  const log =
    deps.predictionLog === false
      ? undefined
      : new PredictionLog(logDb, logger, {
          maxBuffer: settings.predictionLogBuffer,
          onWritten: (n) => metrics.logWritten.inc(n),
          onDropped: (n, reason) => metrics.logDropped.inc({ reason }, n),
          onQuarantined: (n) => metrics.logQuarantined.inc(n),
        });
  const predict = createPredictor({ models, cache, log, metrics, logger });
  // The lambda read path: batch predictions and feature rows by entity key, behind their own
  // breaker (the raw database: a batch-layer outage must not open the serving database's circuit).
  const batchLayer = createBatchLayer({
    db: deps.batchDb ?? deps.db,
    logger,
    maxAgeS: settings.batchMaxAgeS,
    timeoutMs: settings.batchTimeoutMs,
    featureTables: settings.batchFeatureTables,
    breaker: breakers.create(BATCH_LAYER_DEPENDENCY, { name: 'the batch layer', timeoutMs: settings.batchTimeoutMs }),
  });
  const predictLayered = createLayeredPredictor({
    predict,
    batch: batchLayer,
    models,
    onAnswered: (model, layer, count, fallback) =>
      metrics.layerAnswers.inc({ model, layer, fallback: fallback ? 'unavailable' : 'none' }, count),
  });
  const webhookPolicy = parseWebhookPolicy(settings.webhookAllow);
  const limiter = new RateLimiter(undefined, undefined, settings.rateLimitShare);
  const keys = new KeyCache({ db: guardedDb, logger, limiter, refreshMs: settings.keyRefreshMs, maxStaleMs: settings.keyMaxStaleMs });
  const authenticate = createAuthenticator({
    enabled: settings.auth,
    keys,
    limiter,
    rateLimitRps: settings.rateLimitRps,
    rateLimitBurst: settings.rateLimitBurst,
    onRateLimited: () => metrics.shed.inc({ reason: 'rate_limited' }),
    adminClientCert: settings.tls?.clientCaPath !== undefined,
  });

  let temporal = deps.temporal;
  let jobsClient = temporal ? createJobsClient(temporal.client, deps.store) : undefined;
  let firstRefresh: Promise<void> | undefined;
  // Draining (SIGTERM): /readyz says 503 "draining" first, so the balancer stops sending here
  // while in-flight and newly routed requests still succeed.
  let draining = false;
  const app = buildApp({
    settings,
    models,
    predict,
    predictLayered,
    authenticate,
    limitRows: createRowLimiter({
      limiter,
      rowsPerS: settings.rateLimitRows,
      // A whole job (10 × the request limit) must fit in one bucket.
      burst: Math.max(10 * settings.maxInstances, 2 * settings.rateLimitRows),
      onRateLimited: () => metrics.shed.inc({ reason: 'rate_limited' }),
    }),
    metrics,
    db: guardedDb,
    jobs: () => jobsClient,
    webhooks: { policy: webhookPolicy, enabled: settings.webhookSecret !== undefined },
    notifyDataArrived: () => {
      const t = temporal;
      return t ? (event: DataArrivedSignal) => notifyDataArrived(t.client, deps.store, event) : undefined;
    },
    logger,
    predictionLog: () => log?.state(),
    breakers: () => breakers.snapshot(),
    draining: () => draining,
    modelsReady: () => {
      const expected = models.expected();
      return expected.length > 0 && expected.every((name) => models.get(name) !== undefined);
    },
    beforeScrape: () => {
      for (const m of models.list())
        for (const lv of m.versions.values()) metrics.queueDepth.set({ model: m.name, version: String(lv.version) }, lv.batcher.queueRows);
      metrics.logBuffered.set(log?.buffered ?? 0);
      metrics.logFailures.set(log?.state().consecutiveFailures ?? 0);
      for (const [dependency, b] of Object.entries(breakers.snapshot()))
        metrics.breakerState.set({ dependency }, BREAKER_STATE_VALUE[b.state]);
    },
  });

  let refreshTimer: NodeJS.Timeout | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;

  let started = false;

  async function startJobWorker(): Promise<void> {
    const t = temporal;
    if (!t?.workerConnection || !settings.jobs) return;
    worker = await createWorker({
      connection: t.workerConnection,
      namespace: t.namespace,
      taskQueue: SERVING_TASK_QUEUE,
      ...(t.identity ? { identity: t.identity } : {}),
      activities: createServingActivities({
        predict,
        ready: () => firstRefresh ?? Promise.resolve(),
        logger,
        webhook: { policy: webhookPolicy, secret: settings.webhookSecret?.reveal() },
        store: deps.store,
      }),
      maxConcurrentActivityTaskExecutions: 8,
      failureMappings: SERVING_FAILURE_MAPPINGS,
    });
    workerRun = worker.run().catch((err: unknown) => logger.error({ err }, 'job worker stopped with an error'));
    logger.info({ taskQueue: SERVING_TASK_QUEUE }, 'async job worker started');
  }

  return {
    app,
    models,
    metrics,
    predict,
    breakers,
    async start() {
      firstRefresh = models.refresh();
      await firstRefresh;
      if (settings.auth) await keys.start();
      refreshTimer = setInterval(() => void models.refresh(), settings.refreshMs);
      refreshTimer.unref();
      await startJobWorker();
      started = true;
      const url = await app.listen({ host: settings.host, port: settings.port });
      logger.info({ url, models: models.list().map((m) => ({ name: m.name, route: m.route })) }, 'inference server listening');
      return url;
    },
    async attachTemporal(t) {
      if (temporal) return;
      temporal = t;
      jobsClient = createJobsClient(t.client, deps.store);
      if (started) await startJobWorker();
      logger.info({ namespace: t.namespace }, 'workflow service connected: async jobs and events are on');
    },
    drain() {
      if (!draining) logger.info({ drainMs: settings.drainMs }, 'draining: /readyz answers 503 while requests are still served');
      draining = true;
    },
    async stop() {
      draining = true;
      if (refreshTimer) clearInterval(refreshTimer);
      keys.stop();
      // Fastify stops accepting, answers 503 to new requests on kept-alive sockets, and waits for
      // in-flight requests.
      await app.close();
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await Promise.all(models.list().flatMap((m) => [...m.versions.values()].map((lv) => lv.batcher.drain())));
      await log?.close();
      await models.close();
      await executor.close();
      logger.info({ predictionLog: log?.state() }, 'inference server stopped');
    },
  };
}
