// The embedded stack behind `flywheel dev` and `flywheel demo`: a Temporal dev server (SQLite file
// in the data folder, Web UI), the configured database (PGlite by default), the artifact store (a
// local folder by default), the CPU and control workers in this process (PGlite serves one
// process, and this one owns it) and the GPU (training) worker as a child process, so training
// never stalls this process's event loop — or the inference server that `--serve` and the demo
// run beside it.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Env, WorkerConfig } from '../../lib/config/index.ts';
import { createRegistry } from '../../lib/registry/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { createArtifactStore, s3OptionsFrom, type ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../../lib/temporal/search-attributes.ts';
import { tracingClientInterceptors } from '../../lib/telemetry/index.ts';
import { ensureTemporalExecutable, type TemporalExecutable } from '../../lib/temporal/dev-server.ts';
import { controlActivities, cpuActivities } from '../../workers/cpu/activities.ts';
import type { ServingTarget } from '../../activities/rollout/index.ts';
import { createFlywheelWorker, defaultIdentity } from '../../workers/shared/create-worker.ts';
import { runAll, shutdownIfRunning } from '../../workers/shared/run-all.ts';
import { trainerPathOrBundled } from '../../workers/shared/trainer-path.ts';
import { routingCheckWorkflow, type RoutingCheckResult } from '../../lib/contracts/routing-check.ts';

export interface DevStackOptions {
  /** @default 7233 */
  port?: number;
  /** @default 8233 */
  uiPort?: number;
  /** Progress lines for a person (`flywheel dev` prints them). */
  onProgress?: (line: string) => void;
  /** The inference server rollouts drive (known once it is started, hence a function). */
  serving?: () => ServingTarget | undefined;
  /** The environment `config` was loaded from; the GPU worker process gets it, pointed at this
   * stack's Temporal server and data folder. @default process.env */
  env?: Env;
}

/** The GPU worker's child process. */
export interface WorkerProcess {
  pid: number;
  /** Its stdout and stderr (structured logs), in the data folder. */
  logPath: string;
}

export interface DevStack {
  address: string;
  webUiUrl: string;
  executable: TemporalExecutable;
  env: TestWorkflowEnvironment;
  db: Database;
  store: ArtifactStore;
  /** The CPU worker (this process). */
  worker: Worker;
  /** The control worker (flywheel-control, this process): rollout, promotion, drift checks. */
  controlWorker: Worker;
  gpuWorker: WorkerProcess;
  /** Resolves when all workers have stopped (after SIGINT/SIGTERM or `shutdown()`); rejects when
   * the GPU worker process died on its own (the error carries its last log lines). */
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
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} for ${what} is already in use on 127.0.0.1 (another \`flywheel dev\` or \`flywheel demo\`, or a Temporal server?); stop it or pick another port`,
            )
          : err,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The GPU worker's entry point (a path, not an import: lib/ never imports a process root). */
const GPU_WORKER_ENTRY = fileURLToPath(new URL('../../workers/gpu/main.ts', import.meta.url));
const LOG_TAIL_LINES = 40;
/** Loading TF.js and connecting takes seconds; a minute and a half means something is wrong. */
const READY_TIMEOUT_MS = 90_000;

interface WorkerChild extends WorkerProcess {
  /** Resolves once the worker polls its task queue; rejects if the process exits first. */
  ready: Promise<void>;
  /** Settles when the process has exited: `undefined` after a clean exit or `stop()`, else why. */
  exited: Promise<Error | undefined>;
  /** SIGINT (graceful: in-flight activities get the shutdown grace), SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/**
 * Runs `workers/gpu/main.ts` as a child process on this stack's Temporal server. Its logs go to
 * `<dataDir>/logs/worker-gpu.log`; its last lines come back in an error when it fails. It is niced:
 * training is batch work, and on a small machine the server beside it should win the CPU.
 */
async function startGpuWorkerProcess(config: WorkerConfig, address: string, baseEnv: Env): Promise<WorkerChild> {
  const logDir = join(config.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, 'worker-gpu.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined && !/^TEMPORAL_(TLS|API_KEY|CONFIG_FILE|PROFILE)/.test(k)) env[k] = v;
  // A profile of its own: else the user's ~/.config/temporalio/temporal.toml (a Cloud profile's
  // API key or TLS settings) would reach this child, which talks to the local server only.
  const profilePath = join(config.dataDir, 'temporal-dev.toml');
  await writeFile(profilePath, `# Written by flywheel dev for its own worker\n[profile.default]\naddress = "${address}"\n`);
  Object.assign(env, {
    TEMPORAL_CONFIG_FILE: profilePath,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    FLYWHEEL_DATA_DIR: config.dataDir,
    FLYWHEEL_LOG_LEVEL: baseEnv.FLYWHEEL_LOG_LEVEL ?? 'info',
  });
  const trainerPath = trainerPathOrBundled(config);
  if (trainerPath) env.FLYWHEEL_TRAINER_PATH = trainerPath;
  const child = spawn(process.execPath, ['--import', 'tsx', GPU_WORKER_ENTRY], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - LOG_TAIL_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // If this process ends without stopping it (an uncaught error, process.exit), the child goes too.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  try {
    if (child.pid) setPriority(child.pid, 10);
  } catch {
    // not permitted here: it runs at normal priority
  }

  let stopping = false;
  const exited = new Promise<Error | undefined>((resolve) => {
    child.once('error', (err) => resolve(new Error(`the GPU worker process could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      log.end();
      const clean = stopping || code === 0;
      const lines = `its last log lines (all of them in ${logPath}):\n${tail.join('\n')}`;
      resolve(clean ? undefined : new Error(`the GPU worker process (pid ${child.pid}) exited with ${signal ?? `code ${code}`}; ${lines}`));
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const late = setTimeout(() => {
      const lines = `its last log lines (all of them in ${logPath}):\n${tail.join('\n')}`;
      reject(new Error(`the GPU worker process (pid ${child.pid}) did not start polling within ${READY_TIMEOUT_MS / 1000}s; ${lines}`));
    }, READY_TIMEOUT_MS);
    child.on('message', (m: { flywheel?: string }) => {
      if (m.flywheel !== 'worker-started') return;
      clearTimeout(late);
      resolve();
    });
    void exited.then((err) => {
      clearTimeout(late);
      reject(err ?? new Error('the GPU worker process exited before it started polling'));
    });
  });
  ready.catch(() => undefined); // observed by the caller; not an unhandled rejection meanwhile
  return {
    pid: child.pid ?? 0,
    logPath,
    ready,
    exited,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const lingering = setTimeout(() => child.kill('SIGKILL'), config.worker.shutdownGraceMs + 5000);
      await exited;
      clearTimeout(lingering);
    },
  };
}

export async function startDevStack(config: WorkerConfig, logger: Logger, options: DevStackOptions = {}): Promise<DevStack> {
  const progress = options.onProgress ?? (() => undefined);
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  const address = `127.0.0.1:${port}`;
  // The dev server only logs a taken port and the SDK would then talk to whatever listens there.
  await assertPortFree(port, 'the Temporal frontend (--port)');
  await assertPortFree(uiPort, 'the Web UI (--ui-port)');
  await mkdir(config.dataDir, { recursive: true });
  // The database first: a PGlite folder another process owns fails here, before anything starts.
  progress(config.database.kind === 'pglite' ? `Opening PGlite in ${config.database.dataDir}` : 'Connecting to PostgreSQL');
  const db = (await openDatabase(config.database)).db;
  let env: TestWorkflowEnvironment | undefined;
  let gpu: WorkerChild | undefined;
  try {
    const executable = await ensureTemporalExecutable({ cliPath: config.temporal.cliPath, onProgress: progress });
    progress(
      executable.type === 'existing-path'
        ? `Starting the Temporal dev server (${executable.path}, from ${executable.source})`
        : 'Starting the Temporal dev server (no `temporal` CLI found: the SDK downloads one; this needs internet)',
    );
    const { source: _source, ...serverExecutable } = executable;
    const clientInterceptors = tracingClientInterceptors();
    const temporal = await TestWorkflowEnvironment.createLocal({
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
      // Tracing on (FLYWHEEL_TRACING): the stack's client carries traces into the workflows it starts.
      ...(clientInterceptors ? { client: { interceptors: clientInterceptors } } : {}),
    });
    env = temporal;
    const registry = createRegistry(config, db);
    const store = await createArtifactStore(config.artifactStore);
    const gpuChild = await startGpuWorkerProcess(config, address, options.env ?? process.env);
    gpu = gpuChild;
    progress(
      `Starting the CPU and control workers (bundling workflows) and the GPU worker process (pid ${gpuChild.pid}, log ${gpuChild.logPath})`,
    );
    const identity = defaultIdentity('cpu');
    const trainerPath = trainerPathOrBundled(config);
    const deps = {
      identity,
      logger,
      store,
      s3: s3OptionsFrom(config.artifactStore),
      trainingBackend: config.worker.trainingBackend,
      ...(trainerPath ? { trainerPath } : {}),
      temporalClient: () => Promise.resolve(temporal.client),
      ...(options.serving ? { serving: options.serving } : {}),
      db,
      registry,
    };
    const worker = await createFlywheelWorker({
      kind: 'cpu',
      connection: temporal.nativeConnection,
      namespace: config.temporal.namespace,
      identity,
      activities: cpuActivities(deps),
      shutdownGraceMs: config.worker.shutdownGraceMs,
      ...(config.worker.maxCachedWorkflows ? { maxCachedWorkflows: config.worker.maxCachedWorkflows } : {}),
      ...(config.worker.maxConcurrentActivities ? { maxConcurrentActivities: config.worker.maxConcurrentActivities } : {}),
    });
    const controlIdentity = defaultIdentity('control');
    const controlWorker = await createFlywheelWorker({
      kind: 'control',
      connection: temporal.nativeConnection,
      namespace: config.temporal.namespace,
      identity: controlIdentity,
      activities: controlActivities({ ...deps, identity: controlIdentity }),
      shutdownGraceMs: config.worker.shutdownGraceMs,
      maxConcurrentActivities: config.worker.controlActivitySlots,
    });
    await gpuChild.ready;

    // The GPU worker dying on its own stops the stack (a demo would otherwise wait on training
    // forever); SIGINT/SIGTERM stop the CPU worker here and the GPU worker after it.
    let died: Error | undefined;
    void gpuChild.exited.then((err) => {
      died = err;
      shutdownIfRunning(worker);
    });
    const running = runAll([worker, controlWorker])
      .finally(() => gpuChild.stop())
      .then(() => {
        if (died) throw died;
      });
    return {
      address,
      webUiUrl: `http://127.0.0.1:${uiPort}`,
      executable,
      env: temporal,
      db,
      store,
      worker,
      controlWorker,
      gpuWorker: { pid: gpuChild.pid, logPath: gpuChild.logPath },
      running,
      routingCheck: () =>
        temporal.client.workflow.execute(routingCheckWorkflow, {
          taskQueue: TASK_QUEUES.cpu,
          workflowId: WORKFLOW_IDS.routingCheck(`dev-${Date.now()}`),
          args: [{ note: 'flywheel dev start-up' }],
        }),
      shutdown: () => shutdownIfRunning(worker),
      close: async () => {
        await gpuChild.stop();
        await db.close();
        await temporal.teardown();
      },
    };
  } catch (err) {
    await gpu?.stop();
    await db.close();
    await env?.teardown();
    throw err;
  }
}
