// The inference server process (`flywheel serve`): config → connect → create → listen, and a
// graceful stop on SIGTERM/SIGINT (report not-ready for FLYWHEEL_SERVE_DRAIN_MS so a load balancer
// stops sending, then stop accepting, finish in-flight requests, flush the prediction log, exit).
import { hostname } from 'node:os';
import { loadConfig, type Env } from '../lib/config/index.ts';
import { openDatabase, type Database } from '../lib/db/index.ts';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/registry/index.ts';
import { createArtifactStore } from '../lib/storage/index.ts';
import { connectClient, connectWorkerConnection } from '../lib/temporal/connection.ts';
import { SERVING_TASK_QUEUE } from '../lib/temporal/constants.ts';
import { installTemporalRuntime } from '../lib/temporal/runtime.ts';
import { sleep } from '../lib/time/sleep.ts';
import { SERVICE_NAMES, startTracing } from '../lib/telemetry/index.ts';
import type { Logger } from '../lib/log.ts';
import { createInferenceServer, type InferenceServer, type TemporalDeps } from './server.ts';

export async function runServeProcess(env: Env = process.env, overrides: { port?: number } = {}): Promise<void> {
  const config = loadConfig('serve', env);
  const logger = createLogger({ level: config.logLevel, base: { process: 'serve' } });
  // FLYWHEEL_TRACING on: before the server is built, so its request hooks are registered.
  const tracing = startTracing(config.tracing, { serviceName: SERVICE_NAMES.serve });
  installTemporalRuntime(logger, config.logLevel, { shutdownSignals: [] });
  const settings = { ...config.serve, ...(overrides.port !== undefined ? { port: overrides.port } : {}) };
  let db: Database | undefined;
  let temporal: TemporalDeps | undefined;
  const reconnect = new AbortController();
  try {
    // A hung database frees each serving connection after 10 s; the serving guard fails callers
    // much sooner (FLYWHEEL_SERVE_DB_TIMEOUT_MS).
    db = (
      await openDatabase(config.database, {
        postgres: { connectTimeoutMs: 2000, queryTimeoutMs: 10_000, applicationName: 'flywheel-serve' },
      })
    ).db;
    const store = await createArtifactStore(config.artifactStore);
    const connect = async (): Promise<TemporalDeps> => {
      const [client, workerConnection] = await Promise.allSettled([
        connectClient(config.temporal),
        connectWorkerConnection(config.temporal),
      ]);
      if (client.status === 'rejected' || workerConnection.status === 'rejected') {
        // Half a connection is no use: close what did connect before the next try.
        if (client.status === 'fulfilled') await client.value.connection.close().catch(() => undefined);
        if (workerConnection.status === 'fulfilled') await workerConnection.value.close().catch(() => undefined);
        throw client.status === 'rejected' ? client.reason : (workerConnection as PromiseRejectedResult).reason;
      }
      return {
        client: client.value,
        workerConnection: workerConnection.value,
        namespace: config.temporal.namespace,
        identity: `${SERVING_TASK_QUEUE}@${hostname()}:${process.pid}`,
      };
    };
    try {
      temporal = await connect();
    } catch (err) {
      // Synchronous serving does not need the workflow service; async jobs and events do (503
      // until it is reached, which the server keeps trying in the background).
      logger.warn(
        { err, address: config.temporal.address },
        'workflow service unreachable: async jobs and events are off until it answers',
      );
    }
    const server = await createInferenceServer({
      settings,
      db,
      registry: createRegistry(config, db),
      store,
      logger,
      ...(temporal ? { temporal } : {}),
    });
    await server.start();
    if (!temporal) {
      void keepConnecting(connect, reconnect.signal, logger).then(async (t) => {
        if (!t) return;
        temporal = t; // closed in `finally`, even when shutdown raced the connect
        if (!reconnect.signal.aborted) await server.attachTemporal(t);
      });
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down: draining requests');
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    reconnect.abort();
    await drainThenStop(server, settings.drainMs, logger);
  } finally {
    reconnect.abort();
    await temporal?.workerConnection?.close();
    await temporal?.client.connection.close();
    await db?.close();
    await tracing?.shutdown();
  }
}

/**
 * The drain sequence behind a load balancer: /readyz turns 503 "draining" while requests are still
 * answered, for `drainMs` (long enough for the balancer's health check to mark this replica down:
 * with HAProxy's `inter 500 fall 2`, about 1 s), then the listener closes and in-flight requests
 * finish. A second SIGTERM/SIGINT skips the rest of the wait (Ctrl-C twice).
 */
async function drainThenStop(server: InferenceServer, drainMs: number, logger: Logger): Promise<void> {
  server.drain();
  if (drainMs > 0) {
    const skip = new AbortController();
    const again = () => {
      logger.info('second signal: closing now');
      skip.abort();
    };
    process.once('SIGTERM', again);
    process.once('SIGINT', again);
    await sleep(drainMs, skip.signal);
    process.off('SIGTERM', again);
    process.off('SIGINT', again);
  }
  await server.stop();
}

/** Tries to reach the workflow service with capped exponential backoff (1 s … 30 s) until it
 * answers or `signal` aborts (shutdown); undefined when aborted. */
async function keepConnecting(
  connect: () => Promise<TemporalDeps>,
  signal: AbortSignal,
  logger: Logger,
): Promise<TemporalDeps | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    const delayMs = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
    await sleep(delayMs, signal);
    if (signal.aborted) return undefined;
    try {
      return await connect();
    } catch (err) {
      if (attempt % 5 === 0) logger.warn({ err, attempt: attempt + 1 }, 'workflow service still unreachable; retrying');
    }
  }
  return undefined;
}
