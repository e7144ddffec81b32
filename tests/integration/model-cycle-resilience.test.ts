// modelCycle's own logic on a real (ephemeral) Temporal dev server, with stand-in activities: the
// activities are stubbed because the subject is the workflow (retry budgets, run keys per
// incarnation, skipping a retrain with no new data, parent close policies, search attributes,
// the evaluation heartbeat timeout), and a stand-in is the one way to hold the registry down for
// exactly 60 s without stopping the shared PostgreSQL other tests use. The scenarios run concurrently (one worker, stubs keyed by
// model name), so the file takes about as long as its two 60-second waits (the outage, and the
// heartbeat timeout of a silent evaluation), ~75 s.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST, SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import {
  approvalDecisionSignal,
  modelCycleWorkflow,
  type ChampionLineage,
  type ModelCycleInput,
  type ModelCycleResult,
  type TriggerKind,
} from '../../lib/contracts/model-cycle.ts';
import type { TrainActivityInput } from '../../lib/contracts/train-model.ts';
import { getInfra } from './infra.ts';
import { quickSpec } from './lifecycle-helpers.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const OUTAGE_MS = 60_000;
const DATASET_VERSION = 'v-same-data';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let worker: Worker;
let control: Worker;
let running: Promise<void>;
let spec: ModelSpec;

/** What each stub saw, per model. */
const calls = new Map<string, string[]>();
const runKeys = new Map<string, string[]>();
const record = (map: Map<string, string[]>, model: string, what: string) => map.set(model, [...(map.get(model) ?? []), what]);
let outageStartedAt: number | undefined;

function stubs() {
  const ok = <T>(value: T) => value as never;
  return {
    // prepareData's steps: one dataset version, whatever the partitions.
    ingestDataset: async () => ok({ datasetVersion: DATASET_VERSION, manifestUri: 'mem://manifest', rows: 10 }),
    validateDataset: async () => ok({ passed: true, summary: 'ok' }),
    profileDataset: async () => ok({ profileUri: 'mem://profile' }),
    buildFeatures: async () =>
      ok({
        featureSpecUri: 'mem://features',
        featureSpecHash: 'h',
        splits: { train: { uri: 'mem://train' }, validation: { uri: 'mem://validation' }, test: { uri: 'mem://test' } },
      }),
    async trainFlightsMlp(input: TrainActivityInput & { model?: string }) {
      const model = modelOfRun(input.runKey);
      record(runKeys, model, input.runKey);
      if (model.startsWith('cancel-')) {
        // Beats until the cycle's close policy cancels it (a terminate would never tell it).
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(200);
        }
      }
      return ok({
        runKey: input.runKey,
        modelUri: `mem://${input.runKey}/model.onnx`,
        featureSpecHash: 'h',
        lineage: { hyperparameters: {} },
      });
    },
    async evaluateCandidate(input: { model: string }) {
      record(calls, input.model, 'evaluateCandidate');
      const ctx = Context.current();
      if (input.model.startsWith('dead-') && ctx.info.attempt === 1) {
        // A worker killed mid-scoring: one beat, then silence (until the worker shuts down).
        ctx.heartbeat();
        await ctx.sleep(10 * 60_000);
      }
      return ok({ metrics: { rocAuc: 0.7 }, summary: 'passed', gateReportUri: 'mem://gates', reportUri: 'mem://report' });
    },
    async registerCandidate(input: { model: string; runKey: string }) {
      record(calls, input.model, 'registerCandidate');
      if (input.model.startsWith('outage-')) {
        outageStartedAt ??= Date.now();
        if (Date.now() - outageStartedAt < OUTAGE_MS) throw new Error('connect ECONNREFUSED (the registry is down)');
      }
      if (input.model.startsWith('notfound-'))
        throw ApplicationFailure.create({ type: 'NotFound', message: 'no such model', nonRetryable: true });
      return { version: 4 };
    },
    async championLineage(input: { model: string }): Promise<ChampionLineage | null> {
      record(calls, input.model, 'championLineage');
      return input.model.startsWith('skip-') ? { version: 3, datasetVersion: DATASET_VERSION } : null;
    },
    recordApprovalDecision: async () => undefined,
    promoteToChampion: async () => ok({}),
    async ensureDriftMonitor(input: { spec: ModelSpec }) {
      record(calls, input.spec.name, 'ensureDriftMonitor');
      if (input.spec.name.startsWith('monitor-'))
        throw ApplicationFailure.create({ type: 'InvalidConfig', message: 'monitor refused to start', nonRetryable: true });
      return ok({});
    },
  };
}

/** `training/train/<model>/<dataset version>[/<incarnation>]/<cycle>` → model. */
function modelOfRun(runKey: string): string {
  return runKey.split('/')[2]!;
}

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: getInfra().temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
  });
  bundle = await bundleWorkflowCode({
    workflowsPath: new URL('../fixtures/cycle-parent-workflows.ts', import.meta.url).pathname,
    logger: quiet,
  });
  const activities = stubs();
  worker = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.cpu, workflowBundle: bundle, activities });
  // Registration, approval, promotion and the monitor's start run on the control queue, as in
  // the CPU worker process.
  control = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.control, activities });
  running = Promise.all([worker.run(), control.run()]).then(() => undefined);
  spec = await quickSpec('placeholder', { monitor: { enabled: true } });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  control?.shutdown();
  await running;
  await env?.teardown();
});

async function startCycle(
  model: string,
  options: { trigger?: TriggerKind; incarnation?: string; cycle?: number; approval?: ModelSpec['approval'] } = {},
): Promise<WorkflowHandle<typeof modelCycleWorkflow>> {
  const lifecycleWorkflowId = `stand-in/${model}/${randomUUID()}`;
  await env.client.workflow.start('lifecycleStandIn', { taskQueue: 'flywheel-cpu', workflowId: lifecycleWorkflowId });
  const input: ModelCycleInput = {
    spec: { ...spec, name: model, ...(options.approval ? { approval: options.approval } : {}) },
    cycle: options.cycle ?? 1,
    partitions: [{ partition: '2001-01', uris: ['mem://2001-01'] }],
    triggers: [{ kind: options.trigger ?? 'new-data', eventId: randomUUID(), detail: 'test', at: new Date().toISOString() }],
    lifecycleWorkflowId,
    ...(options.incarnation ? { incarnation: options.incarnation } : {}),
  };
  return env.client.workflow.start(modelCycleWorkflow, {
    taskQueue: 'flywheel-cpu',
    workflowId: `${WORKFLOW_IDS.modelCycle(model, input.cycle)}/${randomUUID().slice(0, 8)}`,
    args: [input],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: model }],
  });
}

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** With FLYWHEEL_RECORD_HISTORIES=<folder>, writes the cycle's history there (replay fixtures of
 * the patched branches: incarnation ids, skip without new data). */
async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  const dir = process.env.FLYWHEEL_RECORD_HISTORIES;
  if (dir) await writeFile(join(dir, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

describe.concurrent('modelCycle', () => {
  it('ignores malformed approvalDecision signals from the temporal CLI; a real decision still decides', async () => {
    const model = unique('junk');
    const handle = await startCycle(model, { approval: { mode: 'manual', timeout: '1h', default: 'reject' } });
    for (let i = 0; ; i++) {
      const stage = (await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage);
      if (stage === 'approval') break;
      if (i > 200) throw new Error(`the cycle never asked for approval (stage ${stage})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const cli = promisify(execFile);
    const base = ['workflow', 'signal', '--address', env.address, '--workflow-id', handle.workflowId, '--name', 'approvalDecision'];
    for (const input of [undefined, '{}', '"x"', '[1]', '{"decision":"maybe","actor":"a","reason":"r","timedOut":false}'])
      await cli(getInfra().temporalCliPath, input === undefined ? base : [...base, '--input', input]);
    await handle.signal(approvalDecisionSignal, { decision: 'approved', actor: 'ana', reason: 'looks right', timedOut: false });
    const result = await handle.result();
    expect(result).toMatchObject({ stage: 'promoted', approval: { actor: 'ana', decision: 'approved' } });
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approvalDecision')).toHaveLength(6);
  }, 60_000);

  it('completes through a 60-second registry outage during registration', async () => {
    const model = unique('outage');
    const started = Date.now();
    const result = await (await startCycle(model)).result();
    expect(result).toMatchObject({ stage: 'promoted', promoted: true, version: 4 });
    // Old budget: 5 attempts, ~15 s. The outage outlasted that many times over.
    expect(calls.get(model)!.filter((c) => c === 'registerCandidate').length).toBeGreaterThan(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(OUTAGE_MS);
  }, 150_000);

  it('still stops at once on a non-retryable registry failure', async () => {
    const model = unique('notfound');
    await expect((await startCycle(model)).result()).rejects.toThrow(WorkflowFailedError);
    expect(calls.get(model)!.filter((c) => c === 'registerCandidate')).toHaveLength(1);
  }, 60_000);

  it('keeps a promotion when the drift monitor cannot be started, and says why', async () => {
    const model = unique('monitor');
    const result: ModelCycleResult = await (await startCycle(model)).result();
    expect(result).toMatchObject({ stage: 'promoted', promoted: true, monitorError: 'monitor refused to start' });
    expect(calls.get(model)).toContain('ensureDriftMonitor');
  }, 60_000);

  it('skips a drift-triggered retrain on the champion’s own dataset version; a manual retrain still trains', async () => {
    const model = unique('skip');
    const drift = await startCycle(model, { trigger: 'drift' });
    const skipped = await drift.result();
    await recordHistory('model-cycle-skipped-no-new-data', drift);
    expect(skipped).toMatchObject({ stage: 'skipped', promoted: false, detail: 'skipped: no new data since v3', version: 3 });
    expect(runKeys.get(model)).toBeUndefined();
    expect(calls.get(model)).toEqual(['championLineage']);

    const scheduled = await (await startCycle(model, { trigger: 'schedule', cycle: 2 })).result();
    expect(scheduled.stage).toBe('skipped');

    const manual = await (await startCycle(model, { trigger: 'retrain', cycle: 3 })).result();
    expect(manual).toMatchObject({ stage: 'promoted', promoted: true });
    expect(runKeys.get(model)).toHaveLength(1);
  }, 60_000);

  it('gives every incarnation its own run key, and tags every child with the model', async () => {
    const model = unique('inc');
    // The same model, data and cycle number: what a re-created lifecycle produces.
    const first = await startCycle(model, { incarnation: 'aaaa1111' });
    await first.result();
    await recordHistory('model-cycle-incarnation', first);
    await (await startCycle(model, { incarnation: 'bbbb2222' })).result();
    const keys = runKeys.get(model)!;
    expect(keys).toEqual([
      `training/${WORKFLOW_IDS.trainModel(model, DATASET_VERSION)}/aaaa1111/1`,
      `training/${WORKFLOW_IDS.trainModel(model, DATASET_VERSION)}/bbbb2222/1`,
    ]);

    // `FlywheelModel="<model>"` lists the cycles and their prepare and train children.
    const ids = new Set<string>();
    for (let i = 0; i < 50 && ids.size < 6; i++) {
      ids.clear();
      for await (const wf of env.client.workflow.list({ query: `FlywheelModel = "${model}"` })) ids.add(wf.workflowId);
      await new Promise((r) => setTimeout(r, 200));
    }
    const kinds = [...ids].map((id) => id.split('/')[0]).sort();
    expect(kinds).toEqual(['cycle', 'cycle', 'prepare', 'prepare', 'train', 'train']);
  }, 60_000);

  it('cancels (not terminates) training when the cycle is terminated', async () => {
    const model = unique('cancel');
    const cycle = await startCycle(model, { incarnation: 'cccc3333' });
    const trainId = `${WORKFLOW_IDS.trainModel(model, DATASET_VERSION)}/cccc3333/1`;
    for (let i = 0; i < 100 && !runKeys.get(model); i++) await new Promise((r) => setTimeout(r, 100));
    expect(runKeys.get(model)).toHaveLength(1);
    await cycle.terminate('the spec changed');
    const train = env.client.workflow.getHandle(trainId);
    const err = await train.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await train.describe()).status.name).toBe('CANCELLED');
  }, 60_000);

  it('notices an evaluation worker that went silent within the one-minute heartbeat timeout, and retries', async () => {
    const model = unique('dead');
    const started = Date.now();
    const result = await (await startCycle(model)).result();
    expect(result).toMatchObject({ stage: 'promoted', promoted: true });
    expect(calls.get(model)!.filter((c) => c === 'evaluateCandidate')).toHaveLength(2);
    // Before: no heartbeat timeout, so the silent attempt held the cycle for its 30-minute timeout.
    expect(Date.now() - started).toBeLessThan(100_000);
  }, 150_000);

  it('schedules evaluateCandidate with a one-minute heartbeat timeout', async () => {
    const model = unique('beat');
    const cycle = await startCycle(model);
    await cycle.result();
    const history = await cycle.fetchHistory();
    const scheduled = history.events!.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'evaluateCandidate',
    )!.activityTaskScheduledEventAttributes!;
    expect(Number(scheduled.heartbeatTimeout?.seconds)).toBe(60);
  }, 60_000);
});
