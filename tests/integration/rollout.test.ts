// Progressive rollouts on the real stack: Temporal dev server, PostgreSQL (registry, routes,
// prediction log, feedback), the S3 store, a `flywheel serve` process and a CPU worker process
// that drives it through the admin API, under live traffic with labels. A good challenger walks
// every step of its cycle's rollout and becomes champion while the server's weights follow the
// plan; a deliberately bad model is rolled back on evidence with no failed request; killing the
// server and the worker mid-step leaves a rollout that resumes and finishes; a cancelled rollout
// hands all traffic back to the champion, a terminated one's canary is restored by the orphan
// check; a rollback leaves a champion promoted by hand.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import type { FixtureInstance } from '../fixtures/fixture-models.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { getJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { fitFixtureSpec, registerFixtureModel } from '../fixtures/fixture-models.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { rollout } from '../../workflows/rollout.ts';
import { createRolloutActivities } from '../../activities/rollout/index.ts';
import { rolloutRunningVia } from '../../activities/rollout/orphans.ts';
import type { Logger } from '../../lib/log.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { freePort, ROOT, spawnNode, spawnWorker, type Spawned } from './processes.ts';
import { dataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import {
  abortRolloutUpdate,
  pauseRolloutUpdate,
  resumeRolloutUpdate,
  rolloutStatusQuery,
  type RolloutEvidence,
  type RolloutInput,
  type RolloutResult,
} from '../../lib/contracts/rollout.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/rollout-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const GOOD = `ro-good-${tag}`;
const BAD = `ro-bad-${tag}`;
const CRASH = `ro-crash-${tag}`;
const CANCEL = `ro-cancel-${tag}`;
const env = { ...infra.env, MLFLOW_TRACKING_URI: '', ARTIFACT_STORE: storeUri, FLYWHEEL_LOG_LEVEL: 'info' };
const children: Spawned[] = [];
const started: string[] = [];
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let client: Client;
let connection: Connection;
let key: string;
let port: number;
let url: string;
let server: Spawned;
let worker: Spawned;
let flights: Array<FixtureInstance & { delay: number }>;

function serve(): Spawned {
  const s = spawnNode(['bin/flywheel.js', 'serve'], {
    ...env,
    FLYWHEEL_SERVE_PORT: String(port),
    FLYWHEEL_SERVE_MODELS: [GOOD, BAD, CRASH, CANCEL].join(','),
    FLYWHEEL_SERVE_REFRESH_MS: '1000',
  });
  children.push(s);
  return s;
}

function startWorker(): Spawned {
  const w = spawnWorker('cpu', {
    ...env,
    FLYWHEEL_SERVING_URL: url,
    FLYWHEEL_SERVING_ADMIN_KEY: key,
    FLYWHEEL_WORKER_IDENTITY: `rollout-${tag}`,
  });
  children.push(w);
  return w;
}

interface Traffic {
  ok: number;
  failed: Array<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** Live traffic: `rps` single-flight requests with random routing keys, each labelled with the
 * flight's real delay right after its answer. Counts every answer that was not a 200. */
function traffic(model: string, rps: number): Traffic {
  const t: Traffic = { ok: 0, failed: [], stop: async () => undefined };
  let running = true;
  const inflight = new Set<Promise<void>>();
  let i = 0;
  const one = async (): Promise<void> => {
    const f = flights[i++ % flights.length]!;
    const { delay, ...instance } = f;
    try {
      const res = await fetch(`${url}/v1/models/${model}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [instance], routingKey: randomUUID() }),
      });
      const text = await res.text();
      if (res.status !== 200) {
        t.failed.push({ status: res.status, body: text.slice(0, 200) });
        return;
      }
      t.ok++;
      const requestId = (JSON.parse(text) as { requestId: string }).requestId;
      await fetch(`${url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ requestId, label: delay > 15 ? 1 : 0 }),
      });
    } catch (err) {
      t.failed.push({ status: 0, body: (err as Error).message });
    }
  };
  const loop = (async () => {
    while (running) {
      if (inflight.size < 16) {
        const p = one().finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1000 / rps));
    }
    await Promise.all(inflight);
  })();
  t.stop = async () => {
    running = false;
    await loop;
  };
  return t;
}

/** Runs the `flywheel` CLI without blocking this process (the traffic keeps flowing). */
function flywheel(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/flywheel.js', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

interface RouteView {
  champion: { version: number };
  canary: { version: number; weight: number } | null;
  shadow: { version: number } | null;
}

async function route(model: string): Promise<RouteView> {
  const res = await fetch(`${url}/v1/admin/models/${model}/routing`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`routing ${res.status}: ${await res.text()}`);
  return (await res.json()) as RouteView;
}

const describeRoute = (r: RouteView) =>
  `champion v${r.champion.version}${r.shadow ? ` shadow v${r.shadow.version}` : ''}${r.canary ? ` canary v${r.canary.version}@${r.canary.weight}` : ''}`;

/** Records each distinct routing the server reports, in order, until stopped. */
function watchRoutes(model: string): { seen: string[]; stop(): Promise<void> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await route(model).catch(() => undefined);
      if (r) {
        const d = describeRoute(r);
        if (seen.at(-1) !== d) seen.push(d);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function startRollout(input: RolloutInput) {
  const workflowId = WORKFLOW_IDS.rollout(input.model, input.challenger);
  started.push(workflowId);
  return client.workflow.start(rollout, { workflowId, taskQueue: TASK_QUEUES.cpu, args: [input] });
}

async function plan(steps: Array<Record<string, unknown>>, analysis: Record<string, unknown> = {}): Promise<ModelSpec['rollout']> {
  return (await quickSpec('plan', { rollout: { steps, analysis: { interval: '2s', minSamples: 30, maxExtension: '60s', ...analysis } } }))
    .rollout;
}

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  const spec = await fitFixtureSpec();
  for (const name of [BAD, CRASH, CANCEL]) await registerFixtureModel({ registry, store, name, spec, seed: 1, alias: 'champion' }); // v1
  await registerFixtureModel({ registry, store, name: BAD, spec, seed: 1, outputBias: 8 }); // v2: calls nearly every flight late
  await registerFixtureModel({ registry, store, name: CRASH, spec, seed: 1, variant: 'again' }); // v2: the champion's weights again
  await registerFixtureModel({ registry, store, name: BAD, spec, seed: 1, variant: 'paused' }); // v3: for pause/resume/abort
  await registerFixtureModel({ registry, store, name: BAD, spec, seed: 1, variant: 'manual' }); // v4: a manual promotion meanwhile
  await registerFixtureModel({ registry, store, name: CANCEL, spec, seed: 1, variant: 'again' }); // v2: cancelled mid-step
  flights = await withDuck((duck) =>
    duck.all<FixtureInstance & { delay: number } & Record<string, unknown>>(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination, delay::DOUBLE AS delay
       FROM read_parquet('${flightsParquetPath()}') WHERE strftime(date, '%Y-%m') = '2001-03' USING SAMPLE 3000 ROWS (reservoir, 7)`,
    ),
  );
  key = (await createApiKey(db, { name: `rollout-${tag}`, scopes: ['predict', 'feedback', 'admin'] })).key;
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = serve();
  worker = startWorker();
  await Promise.all([server.waitFor('inference server listening', 60_000), worker.waitFor('"worker started"', 90_000)]);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });
}, 240_000);

afterAll(async () => {
  for (const id of started)
    await client?.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  for (const c of children) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await connection?.close();
  await db?.close();
});

describe('rollout', () => {
  it('a good challenger walks every step of its cycle (shadow → 25% → 100%) and becomes champion; the server follows the plan', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-rollout-'));
    const spec = await quickSpec(GOOD, {
      rollout: {
        steps: [
          { shadow: true, hold: '4s' },
          { weight: 25, hold: '4s' },
          { weight: 100, hold: '3s' },
        ],
        // Two tiny models on 3,000 rows each are calibrated differently; the shift check is
        // loose here, the error-rate, latency and sample-size checks are the spec's defaults.
        analysis: { interval: '2s', minSamples: 30, maxExtension: '60s', maxPredictionShift: 20, maxAucDrop: 0.25 },
      },
      monitor: { enabled: false },
    });
    const lifecycleId = WORKFLOW_IDS.modelLifecycle(GOOD);
    started.push(lifecycleId);
    const jan = await sliceEvent(store, dir, '2001-01', 8000);
    await client.workflow.signalWithStart(modelLifecycle, {
      workflowId: lifecycleId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [jan],
    });
    // Cycle 1 has no champion to compare with: its rollout is skipped and v1 promoted directly.
    const first = await waitForStatus(client, GOOD, (s) => s.history.length >= 1, 180_000);
    expect(first.history[0]).toMatchObject({ stage: 'promoted', version: 1 });
    await waitUntil('the server serving v1', async () => ((await route(GOOD)).champion.version === 1 ? true : undefined));

    const load = traffic(GOOD, 40);
    const watch = watchRoutes(GOOD);
    try {
      const feb = await sliceEvent(store, dir, '2001-02', 8000);
      await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, feb);
      const done = await waitForStatus(client, GOOD, (s) => s.history.length >= 2, 240_000);
      expect(done.history[1], JSON.stringify(done.history[1])).toMatchObject({ stage: 'promoted', version: 2 });
    } finally {
      await watch.stop();
      await load.stop();
    }
    const final = describeRoute(await route(GOOD));
    if (watch.seen.at(-1) !== final) watch.seen.push(final);
    // Every step as planned, in order; then the promotion (maybe briefly v2 as its own canary).
    expect(watch.seen.slice(0, 4), watch.seen.join('\n')).toEqual([
      'champion v1',
      'champion v1 shadow v2',
      'champion v1 canary v2@0.25',
      'champion v1 shadow v1 canary v2@1',
    ]);
    expect(
      watch.seen.slice(4).every((d) => d.startsWith('champion v2')),
      watch.seen.join('\n'),
    ).toBe(true);
    expect(watch.seen.at(-1)).toBe('champion v2');
    expect((await registry.getAlias(GOOD, 'champion')).version).toBe(2);
    const result = (await client.workflow.getHandle(WORKFLOW_IDS.rollout(GOOD, 2)).result()) as RolloutResult;
    expect(result).toMatchObject({ outcome: 'completed', champion: 2 });
    const evidence = await getJson<RolloutEvidence>(store, store.keyFor(result.evidenceUri!));
    expect(evidence.steps.map((s) => s.analysis?.verdict)).toEqual(['pass', 'pass', 'pass']);
    expect(evidence.steps[0]!.analysis!.challenger.shadow).toBe(true);
    expect(evidence.steps[2]!.analysis!.champion.shadow).toBe(true); // 100%: the champion scores a mirror of the same requests
    expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).toEqual([]);
    expect((await registry.getVersion(GOOD, 2)).tags['flywheel.rollout']).toBe('completed');
  }, 420_000);

  it('a deliberately bad model is canaried and rolled back automatically: champion unchanged, evidence recorded, no failed request', async () => {
    const load = traffic(BAD, 40);
    let result: RolloutResult;
    try {
      const handle = await startRollout({
        model: BAD,
        challenger: 2,
        plan: await plan([
          { weight: 30, hold: '30s' },
          { weight: 100, hold: '10s' },
        ]),
        approvedBy: 'test',
        reason: 'rollback test',
      });
      result = (await handle.result()) as RolloutResult;
      // Traffic keeps flowing across the compensation.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await load.stop();
    }
    expect(result.outcome, result.reason).toBe('rolled-back');
    expect(result.reason).toMatch(/predictionShift/);
    expect(result.champion).toBe(1);
    expect((await registry.getAlias(BAD, 'champion')).version).toBe(1);
    const r = await route(BAD);
    expect(describeRoute(r)).toBe('champion v1');
    const evidence = await getJson<RolloutEvidence>(store, store.keyFor(result.evidenceUri!));
    expect(evidence).toMatchObject({ outcome: 'rolled-back', champion: 1, challenger: 2 });
    const failedStep = evidence.steps[0]!.analysis!;
    expect(failedStep.verdict).toBe('fail');
    expect(failedStep.predictionShift!).toBeGreaterThan(0.25);
    expect(failedStep.challenger.samples).toBeGreaterThanOrEqual(30);
    expect(evidence.steps[1]!.analysis).toBeNull(); // never reached
    const tags = (await registry.getVersion(BAD, 2)).tags;
    expect(tags['flywheel.rollout']).toBe('rolled-back');
    expect(tags['flywheel.rollout.evidence']).toBe(result.evidenceUri);
    expect(load.failed, JSON.stringify(load.failed.slice(0, 3))).toEqual([]);
    expect(load.ok).toBeGreaterThan(100);
  }, 180_000);

  it('killing the server and the CPU worker during a step: the rollout resumes and finishes', async () => {
    const load = traffic(CRASH, 40);
    try {
      const handle = await startRollout({
        model: CRASH,
        challenger: 2,
        // The challenger is the champion's weights again, so any online-AUC gap between the arms is
        // which flights each arm drew (~80 labels an arm): the subject here is the crash, not evidence.
        plan: await plan(
          [
            { weight: 50, hold: '12s' },
            { weight: 100, hold: '4s' },
          ],
          { maxAucDrop: 1 },
        ),
        approvedBy: 'test',
        reason: 'crash test',
      });
      await waitUntil('step 1 holding', async () => {
        const s = await handle.query(rolloutStatusQuery);
        return s.state === 'running' && s.step === 0 && s.heldMs >= 2000 ? s : undefined;
      });
      expect(describeRoute(await route(CRASH))).toBe('champion v1 canary v2@0.5');
      server.child.kill('SIGKILL');
      worker.child.kill('SIGKILL');
      await Promise.all([server.exited, worker.exited]);
      await new Promise((r) => setTimeout(r, 3000));
      server = serve();
      worker = startWorker();
      await Promise.all([server.waitFor('inference server listening', 60_000), worker.waitFor('"worker started"', 90_000)]);
      // The restarted server read the step's weights back from the routes table.
      expect(describeRoute(await route(CRASH))).toMatch(/^champion v1 canary v2@0\.5$|^champion v1 shadow v1 canary v2@1$|^champion v2/);
      const result = (await handle.result()) as RolloutResult;
      expect(result, result.reason).toMatchObject({ outcome: 'completed', champion: 2 });
    } finally {
      await load.stop();
    }
    expect((await registry.getAlias(CRASH, 'champion')).version).toBe(2);
    expect(describeRoute(await route(CRASH))).toBe('champion v2');
    const moves = (await registry.aliasHistory(CRASH, 'champion')).filter((m) => m.toVersion === 2);
    expect(moves).toHaveLength(1);
    expect(load.ok).toBeGreaterThan(100);
  }, 240_000);

  it('pause freezes the hold clock, resume restarts it, abort rolls back with the reason; Updates that make no sense are refused', async () => {
    const load = traffic(BAD, 20);
    try {
      const handle = await startRollout({
        model: BAD,
        challenger: 3,
        plan: await plan([{ weight: 20, hold: '60s' }]),
        approvedBy: 'test',
        reason: 'pause test',
      });
      await waitUntil('the step holding', async () => {
        const s = await handle.query(rolloutStatusQuery);
        return s.state === 'running' && s.heldMs > 0 ? s : undefined;
      });
      await expect(handle.executeUpdate(resumeRolloutUpdate, { args: [{ actor: 'ops' }] })).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(handle.executeUpdate(pauseRolloutUpdate, { args: [{ actor: 'ops', reason: '' }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
      // The CLI path: `flywheel rollout pause|status` (the Update and the Query underneath).
      const paused = await flywheel(['rollout', 'pause', BAD, '--version', '3', '--reason', 'looking at a dashboard', '--actor', 'ops']);
      expect(paused.code, paused.stderr).toBe(0);
      expect(paused.stdout).toMatch(/State\s+paused \(ops: looking at a dashboard\)/);
      expect((await handle.query(rolloutStatusQuery)).pausedBy).toBe('ops: looking at a dashboard');
      const heldAtPause = (await handle.query(rolloutStatusQuery)).heldMs;
      await new Promise((r) => setTimeout(r, 3000));
      expect((await handle.query(rolloutStatusQuery)).heldMs).toBe(heldAtPause);
      const shown = await flywheel(['rollout', 'status', BAD, '--version', '3']);
      expect(shown.stdout).toMatch(/Step\s+1 of 1, held \d+s/);
      const noLifecycle = await flywheel(['rollout', 'status', BAD]);
      expect(noLifecycle.code).not.toBe(0);
      expect(noLifecycle.stderr).toMatch(/no rollout of .* is running now.*--version/);
      await expect(handle.executeUpdate(pauseRolloutUpdate, { args: [{ actor: 'ops', reason: 'twice' }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
      expect(describeRoute(await route(BAD))).toBe('champion v1 canary v3@0.2'); // paused, not rolled back
      expect(await handle.executeUpdate(resumeRolloutUpdate, { args: [{ actor: 'ops' }] })).toMatchObject({
        state: 'running',
        resumedBy: 'ops',
      });
      await handle.executeUpdate(abortRolloutUpdate, { args: [{ actor: 'ops', reason: 'wrong build' }] });
      const result = (await handle.result()) as RolloutResult;
      expect(result).toMatchObject({ outcome: 'rolled-back', champion: 1, reason: 'aborted by ops: wrong build' });
      await expect(handle.executeUpdate(abortRolloutUpdate, { args: [{ actor: 'ops', reason: 'again' }] })).rejects.toThrow();
    } finally {
      await load.stop();
    }
    expect(describeRoute(await route(BAD))).toBe('champion v1');
    expect((await registry.getAlias(BAD, 'champion')).version).toBe(1);
    expect(load.failed).toEqual([]);
  }, 120_000);

  it('cancelling a rollout mid-step (what a closing parent requests) hands all traffic back to the champion first', async () => {
    const handle = await startRollout({
      model: CANCEL,
      challenger: 2,
      plan: await plan([{ weight: 50, hold: '60s' }]),
      approvedBy: 'test',
      reason: 'cancel test',
    });
    await waitUntil('the canary routed', async () =>
      describeRoute(await route(CANCEL)) === 'champion v1 canary v2@0.5' ? true : undefined,
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // The compensation ran before the cancel was reported: no wait needed.
    expect(describeRoute(await route(CANCEL))).toBe('champion v1');
    expect((await registry.getAlias(CANCEL, 'champion')).version).toBe(1);
    const tags = (await registry.getVersion(CANCEL, 2)).tags;
    expect(tags['flywheel.rollout']).toBe('rolled-back');
    const evidence = await getJson<RolloutEvidence>(store, store.keyFor(tags['flywheel.rollout.evidence']!));
    expect(evidence).toMatchObject({ reason: 'cancelled at step 1/1', alias: { action: 'kept', champion: 1 } });
  }, 120_000);

  it('a terminated rollout runs no compensation; restoreOrphanedRoute then hands its canary back, but never a live one', async () => {
    const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
    const { restoreOrphanedRoute } = createRolloutActivities({
      db,
      registry,
      store,
      logger: silent,
      serving: () => ({ url, adminKey: key }),
      rolloutRunning: rolloutRunningVia(async () => client),
    });
    const handle = await startRollout({
      model: CANCEL,
      challenger: 2,
      plan: await plan([{ weight: 40, hold: '60s' }]),
      approvedBy: 'test',
      reason: 'terminate test',
    });
    await waitUntil('the canary routed', async () =>
      describeRoute(await route(CANCEL)) === 'champion v1 canary v2@0.4' ? true : undefined,
    );
    expect(await restoreOrphanedRoute({ model: CANCEL })).toMatchObject({ restored: false, version: 2 });
    await handle.terminate('what `temporal workflow terminate` does');
    expect(describeRoute(await route(CANCEL))).toBe('champion v1 canary v2@0.4'); // why terminating is unsafe
    expect(await restoreOrphanedRoute({ model: CANCEL })).toMatchObject({ restored: true, version: 2 });
    expect(describeRoute(await route(CANCEL))).toBe('champion v1');
  }, 120_000);

  it('a rollback after someone promoted another version by hand leaves that champion alone', async () => {
    const before = (await registry.getAlias(BAD, 'champion')).version;
    const handle = await startRollout({
      model: BAD,
      challenger: 4,
      // No traffic: the step never gathers evidence and rolls back after its hold and extension.
      plan: await plan([{ weight: 30, hold: '3s' }], { maxExtension: '3s' }),
      approvedBy: 'test',
      reason: 'manual promotion test',
    });
    await waitUntil('the canary routed', async () => ((await route(BAD)).canary?.version === 4 ? true : undefined));
    await registry.setAlias(BAD, 'champion', 3, { actor: 'ops', reason: 'hotfix by hand' });
    const result = (await handle.result()) as RolloutResult;
    expect(result, result.reason).toMatchObject({ outcome: 'rolled-back', champion: 3 });
    expect(result.reason).toMatch(/not enough evidence/);
    expect((await registry.getAlias(BAD, 'champion')).version).toBe(3);
    const moves = await registry.aliasHistory(BAD, 'champion');
    expect(moves.at(-1)).toMatchObject({ fromVersion: before, toVersion: 3, actor: 'ops' });
    const evidence = await getJson<RolloutEvidence>(store, store.keyFor(result.evidenceUri!));
    expect(evidence.alias).toMatchObject({ action: 'left', champion: 3 });
    await waitUntil('the server on v3 alone', async () => (describeRoute(await route(BAD)) === 'champion v3' ? true : undefined));
    await registry.setAlias(BAD, 'champion', before, { actor: 'test', reason: 'restore for later tests' });
  }, 120_000);
});
