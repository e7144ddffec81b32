// Crash test: in the middle of a cycle (while it trains) the CPU worker is SIGKILLed and the
// Temporal dev server is killed and restarted on the same database file. The cycle completes, and
// no step's effect is applied twice: one registry version, one challenger move, one champion
// move, one approval record.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { dataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { freePort, spawnWorker, type Spawned } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/crash-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED */
const PENDING_ACTIVITY_STATE_STARTED = 2;
let dir: string;
let port: number;
let server: ChildProcess | undefined;
let worker: Spawned | undefined;
let db: PostgresDatabase;

/** A dev server of this test's own (so restarting it disturbs no other test), on a SQLite file. */
async function startTemporal(): Promise<ChildProcess> {
  const child = spawn(
    infra.temporalCliPath,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db-filename',
      join(dir, 'temporal.sqlite'),
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 500 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error('the test dev server did not start');
}

function startWorker(): Spawned {
  return spawnWorker('cpu', {
    ...infra.env,
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_WORKER_IDENTITY: `crash-${tag}-${Date.now()}`,
  });
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-crash-'));
  port = await freePort();
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  server = await startTemporal();
}, 120_000);

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  server?.kill('SIGKILL');
  await db?.close();
});

describe('a lifecycle cycle through crashes', () => {
  it('survives a killed worker and a restarted Temporal server mid-training, applying each effect once', async () => {
    const spec = await quickSpec(`crash-${tag}`, {
      trainer: { hyperparameters: { hidden: [32], epochs: 20, patience: 20, seed: 3 }, resources: { gpu: false }, limitRows: 20_000 },
    });
    const event = await sliceEvent(store, dir, '2001-01', 30_000);
    worker = startWorker();
    await worker.waitFor('"worker started"', 90_000);
    await withClient((client) =>
      client.workflow.signalWithStart(modelLifecycle, {
        workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
        taskQueue: TASK_QUEUES.cpu,
        args: [spec],
        signal: dataArrivedSignal,
        signalArgs: [event],
      }),
    );
    const training = await withClient((client) => waitForStatus(client, spec.name, (s) => s.current?.stage === 'train', 120_000));
    const trainWorkflowId = training.current!.detail!;
    // Kill only once the training activity is really running on the worker (started, not done).
    await withClient(async (client) => {
      for (let i = 0; i < 600; i++) {
        const desc = await client.workflow
          .getHandle(trainWorkflowId)
          .describe()
          .catch(() => undefined);
        const pending = desc?.raw.pendingActivities?.[0];
        if (Number(pending?.state) === PENDING_ACTIVITY_STATE_STARTED) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the training activity never started');
    });
    await new Promise((r) => setTimeout(r, 1000));

    worker.child.kill('SIGKILL');
    await worker.exited;
    server!.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    server = await startTemporal();
    worker = startWorker();
    await worker.waitFor('"worker started"', 90_000);

    const done = await withClient((client) => waitForStatus(client, spec.name, (s) => s.history.length === 1, 240_000));
    expect(done.history[0]).toMatchObject({ cycle: 1, stage: 'promoted' });
    expect(done.cycles).toBe(1);

    // The training step really was interrupted: its activity ran again (attempt 2) after the crash.
    const history = await withClient((client) => client.workflow.getHandle(trainWorkflowId).fetchHistory());
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
    );
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);

    const registry = new BuiltinRegistry(db);
    const versions = await registry.searchVersions(spec.name);
    expect(versions.map((v) => v.version)).toEqual([1]);
    const moves = await registry.aliasHistory(spec.name);
    expect(moves.map((m) => `${m.alias}:${m.fromVersion}->${m.toVersion}`).sort()).toEqual(['challenger:null->1', 'champion:null->1']);
    expect(await registry.approvals(spec.name)).toHaveLength(1);
    await withClient((client) => client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).terminate('test done'));
  }, 420_000);
});
