// The embedded stack behind `flywheel dev`: a Temporal dev server (SQLite file in the data
// folder, Web UI), the configured database (PGlite by default), the artifact store (a local
// folder by default), and both workers in this one process — PGlite serves a single process,
// so one process owns it and both workers share it.
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { WorkerConfig } from '../config/index.ts';
import { createRegistry } from '../registry/index.ts';
import { openDatabase, type Database } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { createArtifactStore, s3OptionsFrom, type ArtifactStore } from '../storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../temporal/search-attributes.ts';
import { ensureTemporalExecutable, type TemporalExecutable } from '../temporal/dev-server.ts';
import { activitiesFor } from '../worker/activities.ts';
import type { ServingTarget } from '../../activities/rollout/index.ts';
import { createFlywheelWorker, defaultIdentity } from '../worker/create-worker.ts';
import type { RoutingCheckResult } from '../workflow-types.ts';

export interface DevStackOptions {
  /** @default 7233 */
  port?: number;
  /** @default 8233 */
  uiPort?: number;
  /** Progress lines for a person (`flywheel dev` prints them). */
  onProgress?: (line: string) => void;
  /** The inference server rollouts drive (known once it is started, hence a function). */
  serving?: () => ServingTarget | undefined;
}

export interface DevStack {
  address: string;
  webUiUrl: string;
  executable: TemporalExecutable;
  env: TestWorkflowEnvironment;
  db: Database;
  store: ArtifactStore;
  workers: Worker[];
  /** Resolves when both workers have stopped (after SIGINT/SIGTERM or `shutdown()`). */
  running: Promise<void>;
  routingCheck(): Promise<RoutingCheckResult>;
  shutdown(): void;
  /** Closes the database and stops the Temporal server; call after `running` settles. */
  close(): Promise<void>;
}

/** Fails with a clear error when something already listens on 127.0.0.1:`port`. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} for ${what} is already in use on 127.0.0.1 (another \`flywheel dev\` or \`flywheel demo\`, or a Temporal server?); stop it or pick another port`) : err),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

export async function startDevStack(config: WorkerConfig, logger: Logger, options: DevStackOptions = {}): Promise<DevStack> {
  const progress = options.onProgress ?? (() => undefined);
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  // The dev server only logs a taken port and the SDK would then talk to whatever listens there.
  await assertPortFree(port, 'the Temporal frontend (--port)');
  await assertPortFree(uiPort, 'the Web UI (--ui-port)');
  const executable = await ensureTemporalExecutable({ cliPath: config.temporal.cliPath, onProgress: progress });
  progress(
    executable.type === 'existing-path'
      ? `Starting the Temporal dev server (${executable.path}, from ${executable.source})`
      : 'Starting the Temporal dev server (no `temporal` CLI found: the SDK downloads one; this needs internet)',
  );
  await mkdir(config.dataDir, { recursive: true });
  const { source: _source, ...serverExecutable } = executable;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable,
      ip: '127.0.0.1',
      port,
      ui: true,
      uiPort,
      namespace: config.temporal.namespace,
      dbFilename: join(config.dataDir, 'temporal.sqlite'),
      log: { format: 'pretty', level: 'warn' },
      // Bind the Web UI to loopback too, whatever the CLI's default.
      extraArgs: ['--ui-ip', '127.0.0.1'],
      searchAttributes: SEARCH_ATTRIBUTE_LIST,
    },
  });

  let db: Database | undefined;
  try {
    progress(config.database.kind === 'pglite' ? `Opening PGlite in ${config.database.dataDir}` : 'Connecting to PostgreSQL');
    const openedDb = (await openDatabase(config.database)).db;
    db = openedDb;
    const registry = createRegistry(config, openedDb);
    const store = await createArtifactStore(config.artifactStore);
    progress('Starting the CPU and GPU workers (bundling workflows)');
    const workers = await Promise.all(
      (['cpu', 'gpu'] as const).map((kind) => {
        const identity = defaultIdentity(kind);
        return createFlywheelWorker({
          kind,
          connection: env.nativeConnection,
          namespace: config.temporal.namespace,
          identity,
          activities: activitiesFor(kind, { identity, logger, store, s3: s3OptionsFrom(config.artifactStore), trainingBackend: config.worker.trainingBackend, temporalClient: () => Promise.resolve(env.client), ...(options.serving ? { serving: options.serving } : {}), ...(kind === 'cpu' ? { db: openedDb, registry } : {}) }),
          shutdownGraceMs: config.worker.shutdownGraceMs,
        });
      }),
    );
    const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
    const openDb = db;
    return {
      address: `127.0.0.1:${port}`,
      webUiUrl: `http://127.0.0.1:${uiPort}`,
      executable,
      env,
      db: openDb,
      store,
      workers,
      running,
      routingCheck: () =>
        env.client.workflow.execute('routingCheck', {
          taskQueue: TASK_QUEUES.cpu,
          workflowId: WORKFLOW_IDS.routingCheck(`dev-${Date.now()}`),
          args: [{ note: 'flywheel dev start-up' }],
        }) as Promise<RoutingCheckResult>,
      shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
      close: async () => {
        await openDb.close();
        await env.teardown();
      },
    };
  } catch (err) {
    await db?.close();
    await env.teardown();
    throw err;
  }
}
