// Everything a worker process exposes to the platform, built from FLYWHEEL_WORKER_HTTP_*: the
// health and metrics server, Flywheel's worker metrics with their activity interceptor and
// checkpoint watch, and the Temporal runtime's Prometheus exporter. Unconfigured, it is all off
// and costs nothing (several workers on one host then need no ports).
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import type { Logger } from '../../lib/log.ts';
import type { InstallRuntimeOptions } from '../../lib/temporal/runtime.ts';
import { noCheckpointWatch, type CheckpointWatch } from '../../lib/training/checkpoint-watch.ts';
import type { DriftCheckWatch } from '../../activities/monitor/index.ts';
import { activityMetricsInterceptor } from './activity-metrics.ts';
import { startHealthServer, type HealthServerOptions } from './health-server.ts';
import { createWorkerMetrics } from './metrics.ts';
import { createWorkerReadiness, type NamedWorker } from './readiness.ts';
import { freeLoopbackPort, scrapeSdkMetrics } from './sdk-metrics.ts';

export interface WorkerObservability {
  /** For installTemporalRuntime: Core's Prometheus exporter, when metrics are on. */
  runtimeOptions: InstallRuntimeOptions;
  /** For every Temporal worker of the process. */
  interceptors: NonNullable<WorkerOptions['interceptors']>;
  checkpointWatch: CheckpointWatch;
  /** Counts drift checks by result; undefined when metrics are off. */
  driftCheckWatch?: DriftCheckWatch;
  /** The workers are built and about to run: readiness starts judging them. */
  running(connection: NativeConnection, workers: readonly NamedWorker[]): void;
  stopped(): void;
  close(): Promise<void>;
}

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

const OFF: WorkerObservability = {
  runtimeOptions: {},
  interceptors: {},
  checkpointWatch: noCheckpointWatch,
  running: () => undefined,
  stopped: () => undefined,
  close: async () => undefined,
};

export async function prepareObservability(
  http: { host: string; port: number } | undefined,
  logger: Logger,
  hooks?: HealthServerOptions['hooks'],
): Promise<WorkerObservability> {
  if (!http) return OFF;
  const metrics = createWorkerMetrics();
  const readiness = createWorkerReadiness();
  const sdkAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  const server = await startHealthServer({
    ...http,
    logger,
    ...(hooks ? { hooks } : {}),
    readiness: () => readiness.check(),
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: (await metrics.registry.metrics()) + (await scrapeSdkMetrics(sdkAddress)),
    }),
  });
  logger.info({ url: server.url, endpoints: ['/healthz', '/readyz', '/metrics'] }, 'worker health server listening');

  // The runtime shuts the workers down on these too; `once`, so a second signal still kills.
  const onSignal = () => readiness.draining();
  for (const s of SHUTDOWN_SIGNALS) process.once(s, onSignal);
  return {
    runtimeOptions: { prometheusBindAddress: sdkAddress },
    interceptors: { activity: [activityMetricsInterceptor(metrics)] },
    checkpointWatch: metrics.checkpoints,
    driftCheckWatch: metrics.driftCheckWatch,
    running: (connection, workers) => readiness.running(connection, workers),
    stopped: () => readiness.stopped(),
    close: async () => {
      for (const s of SHUTDOWN_SIGNALS) process.off(s, onSignal);
      await server.close();
    },
  };
}
