// One worker process: config → connect → create → run until SIGTERM/SIGINT → clean up.
// The Temporal runtime turns those signals into a graceful worker shutdown. With
// FLYWHEEL_WORKER_HTTP_PORT set, it also serves /healthz, /readyz and /metrics (observability.ts).
import { resolve } from 'node:path';
import { loadConfig, type Env, type WorkerConfig } from '../../lib/config/index.ts';
import type { ServingTarget } from '../../activities/rollout/index.ts';
import { createRegistry } from '../../lib/registry/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { createArtifactStore, s3OptionsFrom } from '../../lib/storage/index.ts';
import { connectClient, connectWorkerConnection } from '../../lib/temporal/connection.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import type { Client } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES, WORKFLOW_IDS, type WorkerKind } from '../../lib/temporal/constants.ts';
import { gitopsSyncSignal } from '../../lib/contracts/gitops.ts';
import { createGitHookHandler } from '../../lib/gitops/webhook.ts';
import type { ActivitySet } from './activities.ts';
import { createFlywheelWorker, defaultIdentity } from './create-worker.ts';
import { runAll } from './run-all.ts';
import { trainerPathOf } from './trainer-path.ts';
import { selectBackend } from '../../lib/training/backend.ts';
import { listenForPreemption, noPreemption } from '../../lib/training/preemption.ts';
import { installTemporalRuntime } from '../../lib/temporal/runtime.ts';
import { prepareObservability } from './observability.ts';
import { SERVICE_NAMES, startTracing } from '../../lib/telemetry/index.ts';
import { selectOnnxProviders } from '../../lib/onnx/provider-select.ts';

function servingTarget(config: WorkerConfig): ServingTarget | undefined {
  const s = config.serving;
  return s ? { url: s.url, ...(s.adminKey ? { adminKey: s.adminKey.reveal() } : {}), ...(s.tls ? { tls: s.tls } : {}) } : undefined;
}

/** Started by a parent with an IPC channel (the dev stack): say we are up, and shut down gracefully
 * when the parent goes away, however it ended (the channel closes even on SIGKILL). */
function followParent(): void {
  process.send?.({ flywheel: 'worker-started' });
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGINT'));
}

export interface WorkerProcessOptions {
  /** The control worker's activities: given, this process also serves flywheel-control on its
   * own slots (FLYWHEEL_CONTROL_ACTIVITY_SLOTS). The CPU worker process passes them. */
  control?: ActivitySet;
  /** The Worker Deployment options for this process's config (the versioning hook,
   * lib/temporal/versioning), applied to each of its workers alike. @default unversioned */
  deployment?: (config: WorkerConfig) => WorkerOptions['workerDeploymentOptions'] | undefined;
  /** @default process.env */
  env?: Env;
}

/** The CPU worker's `POST /hooks/git/<env>` (FLYWHEEL_GIT_WEBHOOK_SECRET set): a `sync` to gitops/<env>. */
function gitHooks(kind: WorkerKind, config: WorkerConfig, logger: ReturnType<typeof createLogger>) {
  const secret = config.worker.gitWebhookSecret;
  if (kind !== 'cpu' || !secret) return undefined;
  let client: Promise<Client> | undefined;
  return createGitHookHandler({
    secret: secret.reveal(),
    logger,
    signal: async (env, reason) => {
      const c = await (client ??= connectClient(config.temporal));
      await c.workflow.getHandle(WORKFLOW_IDS.gitopsReconciler(env)).signal(gitopsSyncSignal, { reason });
    },
  });
}

export async function runWorkerProcess(kind: WorkerKind, activities: ActivitySet, options: WorkerProcessOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const config = loadConfig('worker', env);
  const logger = createLogger({ level: config.logLevel, base: { process: `worker-${kind}` } });
  const observability = await prepareObservability(config.worker.http, logger, gitHooks(kind, config, logger));
  installTemporalRuntime(logger, config.logLevel, observability.runtimeOptions);
  // FLYWHEEL_TRACING on: before the workers are created, so they get the tracing interceptors.
  const tracing = startTracing(config.tracing, { serviceName: SERVICE_NAMES.worker });
  const taskQueue = config.worker.taskQueue;
  if (taskQueue && kind !== 'gpu')
    throw new Error(`FLYWHEEL_WORKER_TASK_QUEUE is for GPU workers; the ${kind} worker polls ${TASK_QUEUES[kind]}`);
  const identity = config.worker.identity ?? defaultIdentity(kind, taskQueue);
  const trainerPath = trainerPathOf(config);

  // GPU workers run on spot machines: SIGTERM is the preemption notice (checkpoint now).
  const preemption = kind === 'gpu' ? listenForPreemption() : noPreemption();
  const connection = await connectWorkerConnection(config.temporal).catch(async (err: unknown) => {
    await observability.close();
    throw err;
  });
  let db: Database | undefined;
  let client: Promise<Client> | undefined;
  try {
    const store = await createArtifactStore(config.artifactStore);
    // Say up front which backend training runs on (a GPU worker without a GPU still runs, on CPU).
    if (kind === 'gpu') await selectBackend(config.worker.trainingBackend, logger);
    if (kind === 'cpu') db = (await openDatabase(config.database)).db;
    // Batch scoring's ONNX Runtime providers (FLYWHEEL_ONNX_PROVIDERS): which load here, said once.
    const onnxProviders = kind === 'cpu' ? await selectOnnxProviders(config.worker.onnxProviders, logger) : undefined;
    if (kind === 'cpu') {
      // The lifecycle workflows tag themselves with these; a fresh server needs them once.
      const added = await ensureSearchAttributes(connection, config.temporal.namespace);
      if (added.length) logger.info({ added }, 'registered search attributes');
    }
    const deps = {
      identity,
      logger,
      store,
      s3: s3OptionsFrom(config.artifactStore),
      preemption,
      trainingBackend: config.worker.trainingBackend,
      ...(trainerPath ? { trainerPath } : {}),
      temporalClient: () => (client ??= connectClient(config.temporal)),
      serving: () => servingTarget(config),
      checkpointWatch: observability.checkpointWatch,
      dataDir: config.dataDir,
      ...(observability.driftCheckWatch ? { driftCheckWatch: observability.driftCheckWatch } : {}),
      ...(onnxProviders ? { onnxProviders } : {}),
      ...(db ? { db, registry: createRegistry(config, db) } : {}),
    };
    const deployment = options.deployment?.(config);
    const versioning = deployment ? { workerDeploymentOptions: deployment } : {};
    // FLYWHEEL_WORKFLOW_BUNDLE (the images): the bundle built by `npm run build`. It holds no tracing
    // interceptors, so a traced worker bundles at start as before (docs/images.md).
    const bundlePath = kind === 'cpu' ? config.worker.workflowBundle : undefined;
    if (bundlePath && tracing) logger.warn({ bundlePath }, 'tracing is on: bundling workflows at start instead of the prebuilt bundle');
    const prebuilt = bundlePath && !tracing ? { workflowBundle: { codePath: resolve(bundlePath) } } : {};
    const worker = await createFlywheelWorker({
      ...versioning,
      ...prebuilt,
      kind,
      connection,
      namespace: config.temporal.namespace,
      identity,
      ...(taskQueue ? { taskQueue } : {}),
      activities: activities(deps),
      interceptors: observability.interceptors,
      shutdownGraceMs: config.worker.shutdownGraceMs,
      ...(config.worker.maxCachedWorkflows ? { maxCachedWorkflows: config.worker.maxCachedWorkflows } : {}),
      ...(config.worker.maxConcurrentActivities ? { maxConcurrentActivities: config.worker.maxConcurrentActivities } : {}),
    });
    const workers = [worker];
    if (options.control) {
      const controlIdentity = config.worker.identity ? `${config.worker.identity}/control` : defaultIdentity('control');
      workers.push(
        await createFlywheelWorker({
          ...versioning,
          kind: 'control',
          connection,
          namespace: config.temporal.namespace,
          identity: controlIdentity,
          activities: options.control({ ...deps, identity: controlIdentity }),
          interceptors: observability.interceptors,
          shutdownGraceMs: config.worker.shutdownGraceMs,
          maxConcurrentActivities: config.worker.controlActivitySlots,
        }),
      );
    }
    logger.info(
      {
        identity,
        taskQueue: taskQueue ?? TASK_QUEUES[kind],
        ...(options.control ? { controlTaskQueue: TASK_QUEUES.control, controlActivitySlots: config.worker.controlActivitySlots } : {}),
        namespace: config.temporal.namespace,
        address: config.temporal.address,
      },
      'worker started',
    );
    if (process.send) followParent();
    observability.running(
      connection,
      workers.map((w) => ({ name: w.options.taskQueue, worker: w })),
    );
    await runAll(workers);
    logger.info({ identity }, 'worker stopped');
  } finally {
    observability.stopped();
    preemption.dispose();
    await client?.then((c) => c.connection.close()).catch(() => undefined);
    await db?.close();
    await connection.close();
    await observability.close();
    await tracing?.shutdown();
  }
}
