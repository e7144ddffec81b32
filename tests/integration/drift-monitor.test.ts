// The drift monitor on the real stack: Temporal dev server with the CPU worker as a child
// process, PostgreSQL (registry, prediction log), the S3 store (training profile, reports) and
// a real inference server writing the prediction log. Drifted traffic (real flights, three times
// as far, seven hours later) makes every check breach, yet the lifecycle gets exactly one drift
// signal (hysteresis + cooldown) and queues exactly one drift-triggered cycle; control traffic
// from the training month triggers none. A monitor that continues as new every two checks keeps
// its counters, alert and cooldown across runs: the alert still comes after the third breach and
// only once. (A checkNow at continue-as-new is in drift-monitor-signals.test.ts.)
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import type { FixtureInstance } from '../fixtures/fixture-models.ts';
import { createLogger } from '../../lib/log.ts';
import { referenceProfileKey } from '../../lib/monitor/check.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { putJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { fitFixtureSpec, registerFixtureModel } from '../fixtures/fixture-models.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { driftMonitor } from '../../workflows/drift-monitor.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { drifted, januaryTraffic } from '../unit/helpers/drift-traffic.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, waitForStatus } from './lifecycle-helpers.ts';
import { spawnWorker, type Spawned } from './processes.ts';
import { checkNowSignal, driftMonitorStatusQuery, type DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import { statusQuery, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/monitor-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const logger = createLogger({ level: 'silent' });
const DRIFT = `monitor-drift-${tag}`;
const CONTROL = `monitor-control-${tag}`;
const CHAIN = `monitor-chain-${tag}`;
let worker: Spawned;
let connection: Connection;
let client: Client;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let server: InferenceServer;
let url: string;
let key: string;
let control: FixtureInstance[];
const started: string[] = [];

/** Checks only on `checkNow` (the interval is an hour); an alert after two breaches, then an hour's cooldown. */
function spec(name: string, breachesToAlert = 2): Promise<ModelSpec> {
  return quickSpec(name, {
    retrain: { onDrift: true, onNewData: true, cooldown: '0s' },
    monitor: {
      interval: '1h',
      window: '15m',
      minSamples: 300,
      breachesToAlert,
      clearsToRearm: 2,
      cooldown: '1h',
      drift: { features: ['hour', 'day_of_week', 'distance', 'origin'] },
    },
  });
}

async function predictAll(model: string, instances: readonly FixtureInstance[]): Promise<void> {
  for (let i = 0; i < instances.length; i += 100) {
    const res = await fetch(`${url}/v1/models/${model}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: instances.slice(i, i + 100) }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** Runs checks now until one is judged (ok or breach) and returns the status after it (its
 * alert, if any, sent). Another test file's CPU worker on the shared task queue may take a check
 * and not find this file's training profile in its own store, or have no database at all: that
 * check judges nothing (`no-reference`, or a failed check; counters unchanged), so it is simply
 * repeated. */
async function judgedCheck(model: string): Promise<DriftMonitorStatus> {
  const handle = client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(model));
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = (await handle.query(driftMonitorStatusQuery)).state.checks;
    await handle.signal(checkNowSignal, { reason: 'test' });
    const s = await waitFor(
      `check ${before + 1} of ${model}`,
      () => handle.query(driftMonitorStatusQuery),
      (q) => q.state.checks > before && q.phase === 'waiting',
    );
    // A check whose activity failed (another file's worker without a database took it) counts but
    // keeps the previous lastCheck: only a lastCheck from this very check is a verdict.
    const fresh = s.state.lastCheck?.checkId.endsWith(`-${s.state.checks}`) ?? false;
    if (fresh && (s.state.lastCheck?.status === 'ok' || s.state.lastCheck?.status === 'breach')) return s;
  }
  throw new Error(`no judged check of ${model} in 10 tries`);
}

function driftCycles(s: LifecycleStatus): string[] {
  const triggers = [...s.history.flatMap((c) => c.triggers), ...(s.current?.triggers ?? []), ...s.pendingTriggers];
  return triggers.filter((t) => t.kind === 'drift').map((t) => t.eventId);
}

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  worker = spawnWorker('cpu', {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_WORKER_IDENTITY: `monitor-${tag}`,
  });
  const featureSpec = await fitFixtureSpec();
  for (const name of [DRIFT, CONTROL, CHAIN]) await registerFixtureModel({ registry, store, name, spec: featureSpec, alias: 'champion' });
  // The fixture versions' lineage names dataset version `fixture`: its profile is the reference.
  const traffic = await januaryTraffic(20_000, 600);
  control = traffic.control;
  await putJson(store, referenceProfileKey('flights', 'fixture'), traffic.reference);
  key = (await createApiKey(db, { name: `monitor-${tag}`, scopes: ['predict', 'feedback'] })).key;
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: `${DRIFT},${CONTROL},${CHAIN}`,
    FLYWHEEL_SERVE_REFRESH_MS: '600000',
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger });
  url = await server.start();
  await worker.waitFor('"worker started"', 90_000);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });
}, 240_000);

afterAll(async () => {
  for (const id of started)
    await client?.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  await server?.stop().catch(() => undefined);
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  await db?.close();
});

async function startLifecycleAndMonitor(model: string): Promise<void> {
  const s = await spec(model);
  started.push(WORKFLOW_IDS.modelLifecycle(model), WORKFLOW_IDS.driftMonitor(model));
  await client.workflow.start(modelLifecycle, { workflowId: WORKFLOW_IDS.modelLifecycle(model), taskQueue: TASK_QUEUES.cpu, args: [s] });
  const activities = createMonitorActivities({ store, registry, logger, db, client: async () => client });
  expect(await activities.ensureDriftMonitor({ spec: s })).toEqual({ workflowId: `monitor/${model}`, state: 'started' });
  expect(await activities.ensureDriftMonitor({ spec: s })).toEqual({ workflowId: `monitor/${model}`, state: 'running' });
}

async function logged(model: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM prediction_log WHERE model = $1', [model]);
  return rows[0]!.n;
}

describe('driftMonitor', () => {
  it('injected drift: every check breaches, the lifecycle gets exactly one drift signal within the cooldown', async () => {
    await startLifecycleAndMonitor(DRIFT);
    await predictAll(DRIFT, drifted(control));
    await waitFor(
      'the prediction log',
      () => logged(DRIFT),
      (n) => n >= control.length,
    );

    const statuses: DriftMonitorStatus[] = [];
    for (let n = 1; n <= 4; n++) statuses.push(await judgedCheck(DRIFT));
    expect(
      statuses.map((s) => s.state.lastCheck?.status),
      JSON.stringify(statuses.map((s) => s.state.lastCheck)),
    ).toEqual(['breach', 'breach', 'breach', 'breach']);
    expect(statuses.map((s) => s.state.alerts)).toEqual([0, 1, 1, 1]);
    const last = statuses.at(-1)!;
    expect(last.state).toMatchObject({ armed: false, alertedVersion: 1, consecutiveBreaches: 4 });
    expect(last.state.lastCheck).toMatchObject({ championVersion: 1, reference: 'fixture', samples: control.length });
    expect(last.state.lastCheck!.drift!.driftedFeatures).toEqual(expect.arrayContaining(['distance', 'hour']));

    const lifecycle = await waitForStatus(client, DRIFT, (s) => driftCycles(s).length >= 1);
    expect(driftCycles(lifecycle)).toEqual([`drift/${DRIFT}/${last.state.epoch}/${statuses[1]!.state.checks}`]);
    // The report the signal points at: JSON and a self-contained HTML page with histograms.
    const html = new TextDecoder().decode(await store.get(store.keyFor(last.state.lastCheck!.htmlUri!)));
    expect(html).toContain('<svg');
    expect(html).toContain('Breach: data drift');
    expect(await store.exists(store.keyFor(last.state.lastCheck!.reportUri!))).toBe(true);
  });

  it('no-drift control: traffic from the training month triggers nothing', async () => {
    await startLifecycleAndMonitor(CONTROL);
    await predictAll(CONTROL, control);
    await waitFor(
      'the prediction log',
      () => logged(CONTROL),
      (n) => n >= control.length,
    );

    const statuses: DriftMonitorStatus[] = [];
    for (let n = 1; n <= 3; n++) statuses.push(await judgedCheck(CONTROL));
    expect(
      statuses.map((s) => s.state.lastCheck?.status),
      JSON.stringify(statuses.at(-1)?.state.lastCheck),
    ).toEqual(['ok', 'ok', 'ok']);
    expect(statuses.at(-1)!.state).toMatchObject({ alerts: 0, armed: true, consecutiveClears: 3 });
    const lifecycle = await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(CONTROL)).query(statusQuery);
    expect(driftCycles(lifecycle)).toEqual([]);
    expect(lifecycle.cycles).toBe(0);
  });

  it('continue-as-new every 2 checks: counters, alert, cooldown and epoch carry over; the run id changes; one alert', async () => {
    const s = await spec(CHAIN, 3);
    const lifecycleId = WORKFLOW_IDS.modelLifecycle(CHAIN);
    const monitorId = WORKFLOW_IDS.driftMonitor(CHAIN);
    started.push(lifecycleId, monitorId);
    await client.workflow.start(modelLifecycle, { workflowId: lifecycleId, taskQueue: TASK_QUEUES.cpu, args: [s] });
    // Started directly (not by ensureDriftMonitor) to set the run length small.
    const first = await client.workflow.start(driftMonitor, {
      workflowId: monitorId,
      taskQueue: TASK_QUEUES.cpu,
      args: [{ model: CHAIN, dataset: 'flights', monitor: s.monitor, lifecycleWorkflowId: lifecycleId, checksBeforeContinueAsNew: 2 }],
    });
    await predictAll(CHAIN, drifted(control));
    await waitFor(
      'the prediction log',
      () => logged(CHAIN),
      (n) => n >= control.length,
    );

    const statuses: DriftMonitorStatus[] = [];
    for (let n = 1; n <= 5; n++) statuses.push(await judgedCheck(CHAIN));
    const states = statuses.map((x) => x.state);
    expect(
      states.map((x) => x.lastCheck?.status),
      JSON.stringify(states.map((x) => x.lastCheck?.reasons)),
    ).toEqual(['breach', 'breach', 'breach', 'breach', 'breach']);
    // Breach 3 (in the second run at the latest) alerts: the count from the first run carried over.
    expect(states.map((x) => x.consecutiveBreaches)).toEqual([1, 2, 3, 4, 5]);
    expect(states.map((x) => x.alerts)).toEqual([0, 0, 1, 1, 1]);
    expect(states.map((x) => x.armed)).toEqual([true, true, false, false, false]);
    expect(new Set(states.map((x) => x.epoch))).toEqual(new Set([first.firstExecutionRunId.slice(0, 8)]));
    expect(states[4]!.lastAlertAt).toBe(states[2]!.lastAlertAt);
    expect(states[4]!.alertedVersion).toBe(1);
    // Every check counts, judged or not; the last check is the one just run.
    const checks = states.map((x) => x.checks);
    expect(checks).toEqual([...checks].sort((a, b) => a - b));
    expect(states[4]!.lastCheck!.checkId).toMatch(new RegExp(`-${checks[4]}$`));

    // One run per two checks: the earlier ones continued as new, the newest one runs.
    const runs = await waitFor(
      'the runs in visibility',
      async () => {
        const found: Array<{ runId: string; status: string }> = [];
        for await (const w of client.workflow.list({ query: `WorkflowId = '${monitorId}'` }))
          found.push({ runId: w.runId, status: w.status.name });
        return found;
      },
      (found) => found.length === Math.floor(checks[4]! / 2) + 1 && found.filter((r) => r.status === 'RUNNING').length === 1,
    );
    expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW')).toHaveLength(runs.length - 1);
    const current = await client.workflow.getHandle(monitorId).describe();
    expect(current.runId).not.toBe(first.firstExecutionRunId);
    expect(runs.map((r) => r.runId)).toContain(first.firstExecutionRunId);

    // The lifecycle heard of this episode once, from the check that alerted.
    const lifecycle = await waitForStatus(client, CHAIN, (x) => driftCycles(x).length >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(driftCycles(await waitForStatus(client, CHAIN, () => true))).toEqual([`drift/${CHAIN}/${states[2]!.epoch}/${checks[2]}`]);
    expect(driftCycles(lifecycle)).toHaveLength(1);
  });
});
