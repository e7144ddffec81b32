// The three ways into the lifecycle, on the real servers: `flywheel pipeline …` and
// `flywheel data arrive` (signal-with-start; the same event twice starts one cycle), the inference
// server's events endpoint, and the real `temporal` CLI starting `modelLifecycle` from a spec file.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { createInferenceServer } from '../../serving/server.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { ROOT, spawnNode, spawnWorker, type Spawned } from './processes.ts';
import { retrainSignal } from '../../lib/contracts/model-lifecycle.ts';
import { driftMonitorWorkflow } from '../../lib/contracts/drift-monitor.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/pipeline-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const env = { ...infra.env, MLFLOW_TRACKING_URI: '', ARTIFACT_STORE: storeUri, FLYWHEEL_ACTOR: 'ci' };
let worker: Spawned;
let connection: Connection;
let client: Client;
let db: PostgresDatabase;
let dir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-pipeline-'));
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  worker = spawnWorker('cpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `pipeline-${tag}` });
  await worker.waitFor('"worker started"', 90_000);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });
}, 180_000);

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  await db?.close();
});

describe('flywheel pipeline and data arrive', () => {
  it('start → arrive (twice: one cycle) → status → approve; events endpoint → reject; approve with nothing pending fails', async () => {
    const spec = await quickSpec(`pl-${tag}`, {
      approval: { mode: 'manual', timeout: '1h', default: 'reject' },
      data: { ...(await quickSpec('x')).data, dataset: 'flights', windowPartitions: 1 },
    });
    const specFile = join(dir, 'spec.json');
    await writeFile(specFile, JSON.stringify(spec));

    const started = flywheel('pipeline', 'start', specFile);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toContain(`Started model/${spec.name}`);

    const arrived = flywheel('data', 'arrive', '2001-01');
    expect(arrived.status, arrived.stderr).toBe(0);
    expect(arrived.stdout).toContain(`Notified the lifecycle of ${spec.name}.`);
    const again = flywheel('data', 'arrive', '2001-01');
    expect(again.stdout).toContain('Already published');

    const follow = spawnNode(['bin/flywheel.js', 'pipeline', 'status', spec.name, '--follow'], env);
    await follow.waitFor(/state\s+awaiting-approval/, 180_000);
    follow.child.kill('SIGINT');
    await follow.exited;
    expect(follow.output()).toMatch(/cycle 1: (prepare|train|evaluate|register|approval)/);

    const status = flywheel('pipeline', 'status', spec.name, '--json');
    const parsed = JSON.parse(status.stdout) as { pendingApproval: { version: number }; cycles: number };
    expect(parsed.cycles).toBe(1);
    const approve = flywheel('pipeline', 'approve', spec.name, '--reason', 'looks good');
    expect(approve.status, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`cycle 1: v${parsed.pendingApproval.version} approved by ci`);
    const done = await waitForStatus(client, spec.name, (s) => s.history.length === 1);
    expect(done.history[0]!.stage).toBe('promoted');
    expect(done.cycles).toBe(1); // the repeated arrival started nothing

    const nothing = flywheel('pipeline', 'approve', spec.name, '--reason', 'again');
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toContain('no approval is pending');

    // The events endpoint of the inference server delivers the same way.
    const settings = loadConfig('serve', { FLYWHEEL_SERVE_PORT: '0', FLYWHEEL_SERVE_MODELS: 'none-here' }).serve;
    const server = await createInferenceServer({
      settings,
      db,
      registry: new BuiltinRegistry(db),
      store,
      logger: createLogger({ level: 'silent' }),
      temporal: { client, namespace: 'default' },
    });
    const url = await server.start();
    try {
      const feb = await sliceEvent(store, dir, '2001-02', 12_000);
      const { key } = await createApiKey(db, { name: `events-${tag}`, scopes: ['events'] });
      const { key: predictOnly } = await createApiKey(db, { name: `predict-${tag}`, scopes: ['predict'] });
      const body = { dataset: 'flights', partition: feb.partition, uris: feb.uris };
      const post = (k: string) =>
        fetch(`${url}/v1/events/data-arrived`, {
          method: 'POST',
          headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post(predictOnly)).status).toBe(403);
      const first = await post(key);
      expect(first.status).toBe(202);
      const delivered = (await first.json()) as { eventId: string; models: string[] };
      expect(delivered.models).toContain(spec.name);
      expect(((await (await post(key)).json()) as { eventId: string }).eventId).toBe(delivered.eventId);
    } finally {
      await server.stop();
    }
    await waitForStatus(client, spec.name, (s) => s.pendingApproval?.cycle === 2);
    const reject = flywheel('pipeline', 'reject', spec.name, '--reason', 'not now');
    expect(reject.stdout).toMatch(/cycle 2: v\d+ rejected by ci/);
    const after = await waitForStatus(client, spec.name, (s) => s.history.length === 2);
    expect(after.history[1]!.stage).toBe('rejected');
    expect(after.cycles).toBe(2);
    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).terminate('test done');
  }, 420_000);

  it('commands that wait on a workflow exit 1 with how and why it ended when it did not complete', async () => {
    const spec = await quickSpec(`pl-end-${tag}`);
    const specFile = join(dir, 'end-spec.json');
    await writeFile(specFile, JSON.stringify(spec));
    const started = spawnNode(['bin/flywheel.js', 'pipeline', 'start', specFile, '--follow'], env);
    await started.waitFor(/state\s+idle/, 60_000);
    // The global --address wins over TEMPORAL_ADDRESS; --json follows as one object per line.
    const watcher = spawnNode(
      ['bin/flywheel.js', 'pipeline', 'status', spec.name, '--follow', '--json', '--address', infra.temporalAddress],
      { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    );
    let watcherStdout = '';
    watcher.child.stdout!.on('data', (chunk: Buffer) => (watcherStdout += chunk.toString()));
    await watcher.waitFor('"state":"idle"', 60_000);

    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).terminate('stopped by the CLI test');
    expect(await started.exited).toEqual({ code: 1, signal: null });
    expect(started.output()).toContain(`error: model/${spec.name} ended TERMINATED: stopped by the CLI test\n`);
    expect(await watcher.exited).toEqual({ code: 1, signal: null });
    const lines = watcherStdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ model: spec.name, state: 'idle' });

    // batch start follows its job; a model that is not registered fails it (NotFound, permanent).
    const failed = flywheel(
      'batch',
      'start',
      'file:///nowhere/flights.parquet',
      '--model',
      `missing-${tag}`,
      '--output',
      `out/missing-${tag}`,
    );
    expect(failed.status, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stderr).toBe(
      `error: batch/missing-${tag}/out-missing-${tag} ended FAILED: NotFound: model "missing-${tag}" is not registered\n`,
    );
    expect(failed.stdout).toContain(`batch/missing-${tag}/out-missing-${tag}: FAILED`);
  }, 180_000);

  it('monitor check waits for the verdict of the check it asked for', async () => {
    const spec = await quickSpec(`pl-mon-${tag}`);
    const handle = await client.workflow.start(driftMonitorWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.driftMonitor(spec.name),
      args: [{ model: spec.name, monitor: spec.monitor }],
    });
    try {
      const res = flywheel('monitor', 'check', spec.name, '--json');
      expect(res.status, res.stderr).toBe(0);
      const after = JSON.parse(res.stdout) as { state: { checks: number; lastCheck: { status: string; reasons: string[] } } };
      expect(after.state.checks).toBe(1);
      expect(after.state.lastCheck).toMatchObject({ status: 'no-champion', reasons: [`${spec.name} has no champion yet`] });
    } finally {
      await handle.terminate('test done');
    }
  }, 120_000);

  it('the Web UI port is named as not Temporal (exit 3); a namespace that does not exist is named (exit 2)', () => {
    const ui = new URL(infra.temporalUiUrl);
    const res = flywheel('pipeline', 'status', 'anything', '--address', `127.0.0.1:${ui.port}`);
    expect(res.status).toBe(3);
    expect(res.stderr, res.stderr).toMatch(
      new RegExp(
        `^error: cannot reach Temporal at 127\\.0\\.0\\.1:${ui.port} \\(something listens there, but no Temporal frontend answered within 2\\.5 s: a Web UI or other HTTP port, or TLS on one side only\\?\\); set TEMPORAL_ADDRESS=<host:port> or pass --address <host:port>`,
      ),
    );
    const ns = flywheel('--namespace', `nope-${tag}`, 'pipeline', 'status', 'anything');
    expect(ns.status).toBe(2);
    expect(ns.stderr).toBe(
      `error: namespace "nope-${tag}" does not exist on Temporal at ${infra.temporalAddress}; set TEMPORAL_NAMESPACE or pass --namespace <name>\n`,
    );
  }, 60_000);

  it('the real `temporal` CLI starts modelLifecycle from a spec file', async () => {
    const spec = await quickSpec(`pl-cli-${tag}`);
    const specFile = join(dir, 'cli-spec.json');
    await writeFile(specFile, JSON.stringify(spec));
    const res = spawnSync(
      infra.temporalCliPath,
      [
        'workflow',
        'start',
        '--type',
        'modelLifecycle',
        '--task-queue',
        'flywheel-cpu',
        '--workflow-id',
        WORKFLOW_IDS.modelLifecycle(spec.name),
        '--input-file',
        specFile,
        '--address',
        infra.temporalAddress,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(res.status, res.stderr).toBe(0);
    const idle = await waitForStatus(client, spec.name, (s) => s.state === 'idle');
    expect(idle.model).toBe(spec.name);
    // With no data yet, a retrain request records a skipped cycle that says why.
    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).signal(retrainSignal, { reason: 'by hand' });
    const skipped = await waitForStatus(client, spec.name, (s) => s.history.length === 1);
    expect(skipped.history[0]).toMatchObject({ stage: 'failed', error: 'no flights data has arrived yet' });
    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).terminate('test done');
  }, 120_000);
});
