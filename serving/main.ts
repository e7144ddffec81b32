// The inference server process (`flywheel serve`): config → connect → create → listen, and a
// graceful stop on SIGTERM/SIGINT (stop accepting, drain, flush the prediction log, exit).
import { hostname } from 'node:os';
import { loadConfig, type Env } from '../lib/config/index.ts';
import { openDatabase, type Database } from '../lib/db/index.ts';
import { createLogger } from '../lib/log.ts';
import { createRegistry } from '../lib/registry/index.ts';
import { createArtifactStore } from '../lib/storage/index.ts';
import { connectClient, connectWorkerConnection } from '../lib/temporal/connection.ts';
import { SERVING_TASK_QUEUE } from '../lib/temporal/constants.ts';
import { installTemporalRuntime } from '../lib/worker/runtime.ts';
import { createInferenceServer, type InferenceServerDeps } from './server.ts';

export async function runServeProcess(env: Env = process.env, overrides: { port?: number } = {}): Promise<void> {
  const config = loadConfig('serve', env);
  const logger = createLogger({ level: config.logLevel, base: { process: 'serve' } });
  installTemporalRuntime(logger, config.logLevel, { shutdownSignals: [] });
  const settings = { ...config.serve, ...(overrides.port !== undefined ? { port: overrides.port } : {}) };
  let db: Database | undefined;
  let temporal: InferenceServerDeps['temporal'];
  try {
    // A hung database frees each serving connection after 10 s; the serving guard fails callers
    // much sooner (FLYWHEEL_SERVE_DB_TIMEOUT_MS).
    db = (await openDatabase(config.database, { postgres: { connectTimeoutMs: 2000, queryTimeoutMs: 10_000, applicationName: 'flywheel-serve' } })).db;
    const store = await createArtifactStore(config.artifactStore);
    try {
      const [client, workerConnection] = await Promise.all([connectClient(config.temporal), connectWorkerConnection(config.temporal)]);
      temporal = { client, workerConnection, namespace: config.temporal.namespace, identity: `${SERVING_TASK_QUEUE}@${hostname()}:${process.pid}` };
    } catch (err) {
      // Synchronous serving does not need the workflow service; async jobs do (they answer 503).
      logger.warn({ err, address: config.temporal.address }, 'workflow service unreachable: async jobs are off');
    }
    const server = await createInferenceServer({ settings, db, registry: createRegistry(config, db), store, logger, ...(temporal ? { temporal } : {}) });
    await server.start();
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down: draining requests');
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await server.stop();
  } finally {
    await temporal?.workerConnection?.close();
    await temporal?.client.connection.close();
    await db?.close();
  }
}
