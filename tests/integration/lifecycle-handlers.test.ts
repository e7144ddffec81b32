// modelLifecycle's own logic on a real (ephemeral) Temporal dev server, driven from outside with
// the real `temporal` CLI and the SDK client. The cycle and the monitor are stand-ins
// (tests/fixtures/lifecycle-stub-workflows.ts) because the subject is the lifecycle's handlers
// and carry-over, not training; the spec parser and the Schedule sync are the real activities.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ScheduleNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import type { ModelCycleInput } from '../../lib/contracts/model-cycle.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { ModelNotFoundError } from '../../lib/registry/errors.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { modelLifecycleWorkflow, type DataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import {
  dataArrivedSignal,
  driftSignal,
  retrainSignal,
  setStateUpdate,
  specQuery,
  statusQuery,
  updateSpecUpdate,
} from '../../lib/contracts/model-lifecycle.ts';
import { notifyDataArrived } from '../../lib/lifecycle/notify.ts';
import { saveModelSpec } from '../../lib/lifecycle/specs.ts';
import { LocalArtifactStore } from '../../lib/storage/local-store.ts';
import { getInfra } from './infra.ts';
import { quickSpec } from './lifecycle-helpers.ts';
import { ROOT } from './processes.ts';
import { finishSignal, monitorSettingsQuery } from '../fixtures/lifecycle-stub-workflows.ts';

const run = promisify(execFile);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const infra = getInfra();
let env: TestWorkflowEnvironment;
let client: Client;
let worker: Worker;
let control: Worker;
let running: Promise<void>;
const cycles: ModelCycleInput[] = [];
let hold = false;
/** The stand-in cycle of this model ends skipped with this detail. */
let skipping: { model: string; detail: string } | undefined;
/** Calls of the stand-in `restoreOrphanedRoute`, with the cycles started before each. */
const restores: Array<{ model: string; cyclesBefore: number }> = [];
let restoreFails = false;
let champion = false;

/** A stand-in registry: only `getModel` (does the model have a champion?) is read. */
const registry = {
  async getModel(name: string) {
    if (!champion) throw new ModelNotFoundError(name);
    return { name, aliases: { champion: 1 } };
  },
} as unknown as ModelRegistry;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: infra.temporalCliPath } } });
  client = env.client;
  await ensureSearchAttributes(env.connection, 'default');
  const bundle: WorkflowBundleWithSourceMap = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/lifecycle-stub-workflows.ts', import.meta.url)),
    logger: quiet,
  });
  const lifecycle = createLifecycleActivities({ registry, logger: quiet as never, client: async () => client });
  const activities = {
    ...lifecycle,
    async recordCycle(input: ModelCycleInput) {
      cycles.push(input);
      return { hold, ...(skipping?.model === input.spec.name ? { skipped: skipping.detail } : {}) };
    },
    async restoreOrphanedRoute(input: { model: string }) {
      restores.push({ model: input.model, cyclesBefore: cycles.filter((c) => c.spec.name === input.model).length });
      if (restoreFails) throw ApplicationFailure.nonRetryable('the inference server refused the admin key', 'InvalidConfig');
      return { restored: false, version: null, route: { canary: null, shadow: null } };
    },
  };
  worker = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.cpu, workflowBundle: bundle, activities });
  // The lifecycle's own activities (spec parsing, Schedule sync, monitor settings) run on the
  // control queue, as in the CPU worker process.
  control = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.control, activities });
  running = Promise.all([worker.run(), control.run()]).then(() => undefined);
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  control?.shutdown();
  await running;
  await env?.teardown();
});

function event(partition: string, n = 0): DataArrivedSignal {
  return { eventId: `ev/${partition}/${n}`, dataset: 'flights', partition, uris: [`s3://b/${partition}/${n}.parquet`] };
}

async function startLifecycle(spec: ModelSpec, maxHistoryEvents?: number) {
  return client.workflow.start(modelLifecycleWorkflow, {
    workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
    taskQueue: TASK_QUEUES.cpu,
    args: maxHistoryEvents ? [spec, undefined, { maxHistoryEvents }] : [spec],
  });
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read().catch(() => undefined);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const statusOf = (model: string) => () => client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).query(statusQuery);

/** The real `temporal` CLI against this test's server; `input` absent: no --input at all. */
async function temporal(args: string[], input?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      infra.temporalCliPath,
      [...args, '--address', env.address, ...(input === undefined ? [] : ['--input', input])],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `flywheel …` as a child process against this test's server, with its store in `dir`. Asynchronous:
 * this process runs the worker, so a blocking spawn would stall the workflow the CLI waits for. */
function flywheel(dir: string) {
  return (...args: string[]) =>
    run(process.execPath, ['bin/flywheel.js', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...infra.env,
        TEMPORAL_ADDRESS: env.address,
        ARTIFACT_STORE: `file://${dir}/store`,
        MLFLOW_TRACKING_URI: '',
      },
      encoding: 'utf8',
      timeout: 60_000,
    }).then(
      ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        status: err.code ?? 1,
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );
}

const JUNK = [undefined, '{}', '"x"', '[1]', '{"eventId": 5}'];

describe('modelLifecycle handlers', () => {
  it('refuses malformed payloads of every signal and Update sent with the `temporal` CLI, records them, and still retrains', async () => {
    const spec = await quickSpec(`lc-junk-${Date.now()}`, { retrain: { onNewData: false, onDrift: true, cooldown: '0s' } });
    const handle = await startLifecycle(spec);
    const id = handle.workflowId;
    const signals = ['dataArrived', 'retrain', 'drift', 'cycleProgress', 'approvalRequested', 'approvalResolved'];
    for (const name of signals)
      for (const input of JUNK) {
        const res = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', name], input);
        expect(res.code, res.out).toBe(0); // a signal is accepted by the server; the workflow refuses it
      }
    for (const name of ['approve', 'reject', 'updateSpec', 'setState'])
      for (const input of JUNK) {
        const res = await temporal(['workflow', 'update', 'execute', '--workflow-id', id, '--name', name], input);
        expect(res.code, `${name} ${input}: ${res.out}`).not.toBe(0); // refused by the validator
      }
    // The status Query answers (through the CLI too, with and without arguments) and lists the refusals.
    const status = await until(statusOf(spec.name), (s) => (s.refused?.length ?? 0) >= 20, 'refusals');
    expect(status.state).toBe('idle');
    expect(status.refused!.map((r) => r.handler)).toContain('approvalResolved');
    expect(status.refused!.at(-1)!.reason).toMatch(/payload|expected/);
    for (const input of [undefined, '{}', '"x"']) {
      const q = await temporal(['workflow', 'query', '--workflow-id', id, '--name', 'status'], input);
      expect(q.code, q.out).toBe(0);
      expect(q.out).toContain(spec.name);
    }
    // Still healthy: data arrives and a retrain by hand runs a cycle on it.
    await handle.signal(dataArrivedSignal, event('2001-01'));
    const ok = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', 'retrain'], '{"reason": "by hand"}');
    expect(ok.code, ok.out).toBe(0);
    const done = await until(statusOf(spec.name), (s) => s.history.length === 1, 'a cycle');
    expect(done.history[0]).toMatchObject({ stage: 'promoted', triggers: [{ kind: 'retrain', detail: 'by hand' }] });
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    await handle.terminate('test done');
  }, 120_000);

  it('updateSpec answers the diff, re-syncs the Schedule, hands the monitor its settings, and the next cycle uses the spec; unsafe changes are refused', async () => {
    const spec = await quickSpec(`lc-upd-${Date.now()}`);
    const handle = await startLifecycle(spec);
    await handle.signal(dataArrivedSignal, event('2001-01'));
    await until(statusOf(spec.name), (s) => s.history.length === 1, 'cycle 1');
    expect(cycles.at(-1)!.spec.retrain.cooldown).toBe('0s');

    // Another model's name, another dataset, a spec the parser refuses: all refused, nothing changes.
    const refusal = (args: unknown) =>
      handle.executeUpdate(updateSpecUpdate, { args: [args as never] }).then(
        () => 'accepted',
        (err: unknown) => (err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : String(err)),
      );
    expect(await refusal({ spec: { ...spec, name: 'other' } })).toMatch(/the spec is for other, this lifecycle runs/);
    expect(await refusal({ spec: { ...spec, data: { ...spec.data, dataset: 'taxis' } } })).toMatch(/data.dataset cannot change/);
    expect(await refusal({ spec: { ...spec, trainer: { kind: 'nope' } } })).toMatch(/the new spec is invalid/);
    expect(await handle.query(specQuery)).toEqual(spec);

    champion = true; // the model has a champion: the monitor starts with the new settings
    const next = await quickSpec(spec.name, {
      retrain: { onNewData: true, onDrift: true, cooldown: '1s', schedule: '@every 1h' },
      monitor: { ...spec.monitor, interval: '1m' },
    });
    const result = await handle.executeUpdate(updateSpecUpdate, { args: [{ spec: next }] });
    expect(result.changes).toEqual([
      { path: 'monitor.interval', from: '5m', to: '1m' },
      { path: 'retrain.cooldown', from: '0s', to: '1s' },
      { path: 'retrain.schedule', to: '@every 1h' },
    ]);
    expect(result).toMatchObject({ schedule: 'created', monitor: 'started' });
    expect(await handle.query(specQuery)).toEqual(next);
    const schedule = await client.schedule.getHandle(WORKFLOW_IDS.retrainSchedule(spec.name)).describe();
    expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
    const monitor = client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(spec.name));
    expect(await monitor.query(monitorSettingsQuery)).toEqual([{ monitor: next.monitor }]);
    // Applying the same spec again changes nothing.
    expect(await handle.executeUpdate(updateSpecUpdate, { args: [{ spec: next }] })).toEqual({ changes: [] });

    // The next cycle runs with the new spec; while it rolls out, a change needs force.
    hold = true;
    await handle.signal(dataArrivedSignal, event('2001-02'));
    await until(statusOf(spec.name), (s) => s.current?.stage === 'rollout', 'cycle 2 in rollout');
    expect(cycles.at(-1)!.spec).toEqual(next);
    const third = { ...next, description: 'third' };
    expect(await refusal({ spec: third })).toMatch(/cycle 2 is rolling out v2; apply after it ends, or force/);
    expect((await handle.executeUpdate(updateSpecUpdate, { args: [{ spec: third, force: true }] })).changes).toEqual([
      { path: 'description', from: '', to: 'third' },
    ]);
    hold = false;
    await client.workflow.getHandle(WORKFLOW_IDS.modelCycle(spec.name, 2)).signal(finishSignal);
    await until(statusOf(spec.name), (s) => s.history.length === 2, 'cycle 2 ends');
    await client.schedule.getHandle(WORKFLOW_IDS.retrainSchedule(spec.name)).delete();
    await monitor.terminate('test done');
    await handle.terminate('test done');
    champion = false;
  }, 120_000);

  it('drift during a cycle and at continue-as-new is carried into the next cycle; the carry-over keeps only the window', async () => {
    const spec = await quickSpec(`lc-can-${Date.now()}`); // windowPartitions: 2
    const handle = await startLifecycle(spec, 40);
    const lifecycleRun = (await handle.describe()).runId;
    hold = true;
    for (const month of ['2001-01', '2001-02', '2001-03', '2001-04']) await handle.signal(dataArrivedSignal, event(month));
    await until(statusOf(spec.name), (s) => s.current?.stage === 'rollout', 'a cycle in rollout');
    const cycle = (await handle.query(statusQuery)).current!.cycle;
    // Drift while the cycle runs: coalesced into one later cycle, never dropped.
    await handle.signal(driftSignal, { eventId: 'drift/1', summary: 'psi 0.4 on distance' });
    hold = false;
    await client.workflow.getHandle(WORKFLOW_IDS.modelCycle(spec.name, cycle)).signal(finishSignal);
    const after = await until(
      statusOf(spec.name),
      (s) => s.history.some((h) => h.triggers.some((t) => t.eventId === 'drift/1')),
      'the drift cycle',
    );
    expect(after.history.filter((h) => h.triggers.some((t) => t.kind === 'drift'))).toHaveLength(1);
    // Past maxHistoryEvents the lifecycle continues as new; signals sent around it are carried.
    for (let i = 0; i < 10; i++) await handle.signal(retrainSignal, { reason: `r${i}`, eventId: `r/${i}` });
    await handle.signal(driftSignal, { eventId: 'drift/2', summary: 'again' });
    const final = await until(
      statusOf(spec.name),
      (s) => s.pendingTriggers.length === 0 && s.state === 'idle' && s.history.some((h) => h.triggers.some((t) => t.eventId === 'drift/2')),
      'drift/2 handled',
    );
    const triggered = final.history.flatMap((h) => h.triggers.map((t) => t.eventId));
    for (let i = 0; i < 10; i++) expect(triggered).toContain(`r/${i}`);
    const now = await handle.describe();
    expect(now.runId).not.toBe(lifecycleRun); // it did continue as new
    expect(final.partitions).toEqual(['2001-01', '2001-02', '2001-03', '2001-04']);
    // The incarnation is the first run's id, the same in every run of the chain.
    expect(new Set(cycles.filter((c) => c.spec.name === spec.name).map((c) => c.incarnation))).toEqual(new Set([lifecycleRun.slice(0, 8)]));
    // What the new run started with: the two newest partitions keep their URIs, older ones only a name.
    const history = await handle.fetchHistory();
    const carried = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[1];
    const decoded = JSON.stringify(defaultPayloadConverter.fromPayload(carried!));
    expect(decoded).toContain('s3://b/2001-04/0.parquet');
    expect(decoded).not.toContain('s3://b/2001-01/0.parquet');
    expect(cycles.at(-1)!.partitions.map((p) => p.partition)).toEqual(['2001-03', '2001-04']);
    await handle.terminate('test done');
  }, 120_000);

  it('a drift waiting out the cooldown travels with continue-as-new, and runs with the next retrain', async () => {
    const spec = await quickSpec(`lc-cool-${Date.now()}`, { retrain: { onNewData: true, onDrift: true, cooldown: '1h' } });
    const handle = await startLifecycle(spec, 40);
    const firstRun = (await handle.describe()).runId;
    await handle.signal(dataArrivedSignal, event('2001-01'));
    await until(statusOf(spec.name), (s) => s.history.length === 1, 'cycle 1');
    await handle.signal(driftSignal, { eventId: 'drift/cool', summary: 'psi 0.5' });
    await until(statusOf(spec.name), (s) => s.state === 'cooldown', 'the cooldown');
    // Data that starts no cycle grows the history past maxHistoryEvents while the drift waits.
    for (let i = 2; i <= 13; i++)
      await handle.signal(dataArrivedSignal, { ...event(`2002-${String(i).padStart(2, '0')}`), retrain: false });
    await until(
      () => handle.describe(),
      (d) => d.runId !== firstRun,
      'continue-as-new during the cooldown',
    );
    const carried = await until(statusOf(spec.name), (s) => s.state === 'cooldown' && s.partitions.length === 13, 'the new run');
    expect(carried.pendingTriggers.map((t) => t.eventId)).toEqual(['drift/cool']);
    await handle.signal(retrainSignal, { reason: 'now' });
    const done = await until(statusOf(spec.name), (s) => s.history.length === 2, 'cycle 2');
    expect(done.history[1]!.triggers.map((t) => t.kind)).toEqual(['drift', 'retrain']);
    await handle.terminate('test done');
  }, 120_000);

  it('with rollout steps, every cycle first hands an orphaned canary back to the champion; a failing check holds nothing up', async () => {
    const spec = await quickSpec(`lc-orphan-${Date.now()}`, { rollout: { steps: [{ weight: 10, hold: '1s' }] } });
    const handle = await startLifecycle(spec);
    await handle.signal(dataArrivedSignal, event('2001-01'));
    await until(statusOf(spec.name), (s) => s.history.length === 1, 'cycle 1');
    expect(restores.filter((r) => r.model === spec.name)).toEqual([{ model: spec.name, cyclesBefore: 0 }]);
    restoreFails = true;
    await handle.signal(retrainSignal, { reason: 'again', eventId: 'orphan/2' });
    const after = await until(statusOf(spec.name), (s) => s.history.length === 2, 'cycle 2 despite the failed check');
    expect(after.history[1]!.stage).not.toBe('failed');
    expect(restores.filter((r) => r.model === spec.name).map((r) => r.cyclesBefore)).toEqual([0, 1]);
    restoreFails = false;
    // Without rollout steps there is no canary to orphan: no check.
    const plain = await quickSpec(`lc-plain-${Date.now()}`);
    const other = await startLifecycle(plain);
    await other.signal(dataArrivedSignal, event('2001-01'));
    await until(statusOf(plain.name), (s) => s.history.length === 1, 'the plain cycle');
    expect(restores.filter((r) => r.model === plain.name)).toEqual([]);
    await handle.terminate('test done');
    await other.terminate('test done');
  });

  it('a skipped cycle keeps why in the history `pipeline status` shows', async () => {
    const spec = await quickSpec(`lc-skip-${Date.now()}`);
    skipping = { model: spec.name, detail: 'skipped: no new data since v1' };
    const handle = await startLifecycle(spec);
    await handle.signal(dataArrivedSignal, event('2001-01'));
    const status = await until(statusOf(spec.name), (s) => s.history.length === 1, 'the skipped cycle');
    expect(status.history[0]).toMatchObject({ stage: 'skipped', note: 'skipped: no new data since v1' });
    skipping = undefined;
    await handle.terminate('test done');
  });

  it('`flywheel pipeline apply` starts a lifecycle or changes its spec; `pipeline diff` shows what would change (exit 1) or nothing (exit 0)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-apply-'));
    const cli = flywheel(dir);
    const spec = await quickSpec(`lc-cli-${Date.now()}`);
    const file = join(dir, 'spec.json');
    await writeFile(file, JSON.stringify(spec));
    const started = await cli('pipeline', 'apply', file);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toContain(`Started model/${spec.name}`);
    const same = await cli('pipeline', 'diff', file);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toContain('no changes');

    await writeFile(file, JSON.stringify({ ...spec, retrain: { ...spec.retrain, cooldown: '1h' } }));
    const diff = await cli('pipeline', 'diff', file);
    expect(diff.status, diff.stderr).toBe(1);
    expect(diff.stdout.trim()).toBe('retrain.cooldown: "0s" → "1h"');
    const applied = await cli('pipeline', 'apply', file);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`Applied to model/${spec.name}; the next cycle uses it:\nretrain.cooldown: "0s" → "1h"`);
    expect(applied.stdout).toContain('Schedule schedule/');
    expect((await cli('pipeline', 'diff', file)).status).toBe(0);
    const stored = JSON.parse(await readFile(join(dir, 'store', 'specs', `${spec.name}.json`), 'utf8')) as ModelSpec;
    expect(stored.retrain.cooldown).toBe('1h');
    // `pipeline status` shows refused payloads.
    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).signal(retrainSignal, {} as never);
    await until(statusOf(spec.name), (s) => (s.refused?.length ?? 0) === 1, 'the refusal');
    const status = await cli('pipeline', 'status', spec.name);
    expect(status.stdout).toMatch(/refused\s+1 malformed signal\(s\); last: retrain at .* \(reason: /);
    await writeFile(file, JSON.stringify({ ...spec, data: { ...spec.data, dataset: 'taxis' } }));
    const refused = await cli('pipeline', 'apply', file);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('spec refused: data.dataset cannot change on a running model (flights → taxis)');
    await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).terminate('test done');
  }, 120_000);

  it('setState: paused holds every trigger and pauses the Schedule and the monitor; resumed, they run; retired, the lifecycle ends after its cycle and the Schedule is gone; bad payloads are refused', async () => {
    const spec = await quickSpec(`lc-state-${Date.now()}`, {
      retrain: { onNewData: true, onDrift: true, cooldown: '0s', schedule: '@every 1h' },
    });
    const handle = await startLifecycle(spec);
    const schedule = client.schedule.getHandle(WORKFLOW_IDS.retrainSchedule(spec.name));
    await until(
      () => schedule.describe(),
      () => true,
      'the Schedule',
    );
    // A stand-in monitor runs, as after a promotion.
    const monitor = await client.workflow.start('driftMonitor', {
      workflowId: WORKFLOW_IDS.driftMonitor(spec.name),
      taskQueue: TASK_QUEUES.cpu,
    });
    const set = (args: unknown[]) => handle.executeUpdate(setStateUpdate, { args: args as never });
    const refusal = (args: unknown[]) =>
      set(args).then(
        () => 'accepted',
        (err: unknown) => (err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : String(err)),
      );
    // Refused in the validator: no payload, a bogus state, no reason, a blank reason.
    expect(await refusal([])).toBe('not a state change: (payload): setState needs { state, actor, reason }');
    expect(await refusal([{ state: 'asleep', actor: 'a', reason: 'r' }])).toBe(
      'not a state change: state: state must be active, paused or retired',
    );
    expect(await refusal([{ state: 'paused', actor: 'a' }])).toBe('not a state change: reason: setState needs a reason');
    expect(await refusal([{ state: 'paused', actor: 'a', reason: ' ' }])).toBe('not a state change: reason: setState needs a reason');

    const dir = await mkdtemp(join(tmpdir(), 'flywheel-state-'));
    const cli = flywheel(dir);
    const paused = await cli('pipeline', 'pause', spec.name, '--reason', 'holiday freeze', '--actor', 'alice');
    expect(paused.status, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`model/${spec.name}: active → paused.`);
    expect(paused.stdout).toContain(`Schedule ${WORKFLOW_IDS.retrainSchedule(spec.name)}: paused.`);
    expect(paused.stdout).toContain(`Drift monitor ${WORKFLOW_IDS.driftMonitor(spec.name)}: stopped.`);
    expect((await schedule.describe()).state).toMatchObject({ paused: true, note: 'paused by alice: holiday freeze' });
    expect(await monitor.query(monitorSettingsQuery)).toEqual([{ monitor: { ...spec.monitor, enabled: false } }]);
    expect(await set([{ state: 'paused', actor: 'bob', reason: 'again' }])).toEqual({
      state: 'paused',
      previous: 'paused',
      changed: false,
    });

    // Paused: new data and a retrain by hand wait; no cycle starts.
    await handle.signal(dataArrivedSignal, event('2001-01'));
    await handle.signal(retrainSignal, { reason: 'by hand', eventId: 'state/1' });
    await until(statusOf(spec.name), (s) => s.pendingTriggers.length === 2, 'the waiting triggers');
    // `pipeline status` shows the state (and gives a cycle, were one to start, time to show).
    const status = await cli('pipeline', 'status', spec.name);
    expect(status.stdout).toMatch(/desired\s+paused \(since .*, by alice: holiday freeze\)/);
    expect(await handle.query(statusQuery)).toMatchObject({
      state: 'idle',
      current: null,
      history: [],
      desiredState: 'paused',
      desiredStateChange: { state: 'paused', previous: 'active', actor: 'alice', reason: 'holiday freeze' },
    });
    expect(cycles.filter((c) => c.spec.name === spec.name)).toEqual([]);

    // Resumed: the Schedule and the monitor resume, and the waiting triggers run as one cycle.
    expect(await set([{ state: 'active', actor: 'alice', reason: 'freeze over' }])).toEqual({
      state: 'active',
      previous: 'paused',
      changed: true,
      schedule: 'unpaused',
      monitor: 'signalled',
    });
    expect((await schedule.describe()).state.paused).toBe(false);
    const resumed = await until(statusOf(spec.name), (s) => s.history.length === 1, 'the cycle after resuming');
    expect(resumed.history[0]!.triggers.map((t) => t.kind)).toEqual(['new-data', 'retrain']);

    // Retired while a cycle runs: the Schedule is deleted at once, no new cycle starts, and the
    // lifecycle completes when the running one ends.
    hold = true;
    await handle.signal(retrainSignal, { reason: 'one more', eventId: 'state/2' });
    await until(statusOf(spec.name), (s) => s.current?.stage === 'rollout', 'cycle 2 in rollout');
    hold = false;
    expect(await set([{ state: 'retired', actor: 'alice', reason: 'replaced by v2 model' }])).toEqual({
      state: 'retired',
      previous: 'active',
      changed: true,
      schedule: 'deleted',
      monitor: 'stopped',
    });
    await expect(schedule.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const refused = await cli('pipeline', 'resume', spec.name, '--reason', 'changed my mind');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`resume refused: ${spec.name} is retired: its lifecycle ends once cycle 2 ends`);
    await handle.signal(retrainSignal, { reason: 'too late', eventId: 'state/3' });
    await until(statusOf(spec.name), (s) => s.pendingTriggers.length === 1, 'the late trigger');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await client.workflow.getHandle(WORKFLOW_IDS.modelCycle(spec.name, 2)).signal(finishSignal);
    await handle.result(); // returns normally
    const final = await handle.query(statusQuery);
    expect(final).toMatchObject({
      desiredState: 'retired',
      cycles: 2,
      desiredStateChange: { previous: 'active', reason: 'replaced by v2 model' },
    });
    expect(final.history.map((h) => h.stage)).toEqual(['promoted', 'promoted']);
    expect(cycles.filter((c) => c.spec.name === spec.name)).toHaveLength(2);
    expect((await monitor.query(monitorSettingsQuery)).at(-1)).toEqual({ monitor: { ...spec.monitor, enabled: false } });
    // New data does not bring a retired model back (its spec is still in the store).
    const store = await LocalArtifactStore.create(`file://${dir}/store`);
    await saveModelSpec(store, spec);
    expect(await notifyDataArrived(client, store, event('2001-02'))).not.toContain(spec.name);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    await monitor.terminate('test done');
  }, 60_000);
});
