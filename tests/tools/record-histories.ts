// Records one replay fixture per scenario (tests/fixtures/histories/<name>[--<tag>].json): a
// private Temporal dev server (the `temporal` CLI), the REAL workflow bundle, and stub activities
// (stub-activities.ts) where a scenario needs them. Run it again after a workflow change to record
// the new code's histories next to the old ones (docs/safe-evolution.md):
//
//   node --import tsx tests/tools/record-histories.ts [--tag day2] [--only a,b] [--force]
//        [--unpatched | --unpatch patch-id,patch-id]
//
// Workflows whose id contains `unpatched` run with every patch left inactive (the worker's
// patchActivationCallback), which records the old branch of each `patched()` with today's code.
// --unpatched does that for every workflow (files end in `--unpatched`), --unpatch for the named
// patches only (files end in `--without-<ids>`); scenarios that need a deactivated patch are skipped.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { loadModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { SERVING_TASK_QUEUE, TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { dataArrivedSignal, driftSignal, statusQuery } from '../../lib/contracts/model-lifecycle.ts';
import { setStateUpdate, type LifecycleDesiredState } from '../../lib/contracts/model-lifecycle.ts';
import { pauseRolloutUpdate, resumeRolloutUpdate, rolloutStatusQuery } from '../../lib/contracts/rollout.ts';
import { approvePromotionUpdate, promoteAcrossEnvironmentsWorkflow } from '../../lib/contracts/promotion.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { createStubActivities } from './stub-activities.ts';

const OUT = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const SPEC = fileURLToPath(new URL('../../examples/flights/demo-quick.yaml', import.meta.url));
const CHECKS_PER_MONITOR_RUN = 5;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

const { values: args } = parseArgs({
  options: {
    tag: { type: 'string' },
    only: { type: 'string' },
    force: { type: 'boolean', default: false },
    unpatched: { type: 'boolean', default: false },
    unpatch: { type: 'string' },
  },
});
/** Patches left inactive in every workflow: all (`--unpatched`), the named ones, or none. */
const inactive: 'all' | Set<string> = args.unpatched ? 'all' : new Set(args.unpatch ? args.unpatch.split(',') : []);
const isInactive = (patchId: string) => inactive === 'all' || inactive.has(patchId);
const variant = inactive === 'all' ? '--unpatched' : inactive.size ? `--without-${[...inactive].sort().join('+')}` : '';
const cli =
  process.env.TEMPORAL_CLI_PATH ??
  `${process.env.FLYWHEEL_TOOLS_DIR ?? fileURLToPath(new URL('../../.tools', import.meta.url))}/bin/temporal`;

// Stub preemptions and refusals are the point of some scenarios: only errors are worth printing,
// and an activity without a stub ends the recording with its name instead of a timeout.
const missingStubs = new Set<string>();
Runtime.install({
  logger: new DefaultLogger('ERROR', (entry) => {
    const missing = /Activity function (\w+) is not registered/.exec(entry.message);
    if (missing) missingStubs.add(missing[1]!);
    else console.error(`[${entry.level}] ${entry.message}`, entry.meta ?? '');
  }),
});
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: cli }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
});
const { client } = env;
const written: string[] = [];

async function save(name: string, handle: { workflowId: string; runId?: string | undefined }): Promise<void> {
  const file = `${OUT}${name}${args.tag ? `--${args.tag}` : ''}${variant}.json`;
  if (existsSync(file) && !args.force) throw new Error(`${file} exists: recorded histories are kept (use --tag, or --force)`);
  const history = await client.workflow.getHandle(handle.workflowId, handle.runId).fetchHistory();
  writeFileSync(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2) + '\n');
  written.push(file);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (missingStubs.size)
      throw new Error(`no stub for activity ${[...missingStubs].join(', ')}: add it to tests/tools/stub-activities.ts`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A workflow's result, or the reason it will never come (a missing stub, a time-out). */
async function settle<T>(result: Promise<T>, what: string): Promise<T> {
  let done = false;
  const settled = result.finally(() => (done = true));
  await Promise.race([settled, waitFor(what, async () => (done ? true : undefined), 120_000)]);
  return settled;
}

/** Waits until the lifecycle's `cycles`-th cycle has ended and it is idle again. */
async function cyclesDone(handle: WorkflowHandle, cycles: number): Promise<void> {
  let last: unknown;
  await waitFor(`${handle.workflowId} cycle ${cycles}`, async () => {
    const s = await client.workflow.getHandle(handle.workflowId).query(statusQuery);
    last = { state: s.state, current: s.current, history: s.history.map((c) => `${c.cycle}:${c.stage}`), pending: s.pendingTriggers };
    return s.history.length >= cycles && !s.current && s.state === 'idle' ? true : undefined;
  }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last)}`);
  });
}

/** The children of one type a run started, in order (ids read from its history, not rebuilt here). */
async function children(parent: { workflowId: string; runId?: string | undefined }, workflowType: string) {
  const { events } = await client.workflow.getHandle(parent.workflowId, parent.runId).fetchHistory();
  return (events ?? []).flatMap((e) => {
    const started = e.childWorkflowExecutionStartedEventAttributes;
    return started?.workflowType?.name === workflowType && started.workflowExecution?.workflowId
      ? [{ workflowId: started.workflowExecution.workflowId, runId: started.workflowExecution.runId ?? undefined }]
      : [];
  });
}

/** The only (or first) child of a type, which the scenario needs to exist. */
async function child(parent: { workflowId: string; runId?: string | undefined }, workflowType: string, nth = 0) {
  const found = (await children(parent, workflowType))[nth];
  if (!found) throw new Error(`${parent.workflowId} started no ${workflowType} #${nth + 1}`);
  return found;
}

async function runIds(workflowId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) ids.push(w.runId);
  return ids.reverse(); // oldest first
}

function specFor(base: ModelSpec, name: string, change: (s: ModelSpec) => void): ModelSpec {
  const spec = structuredClone(base);
  spec.name = name;
  spec.rollout = { ...spec.rollout, steps: [] };
  spec.monitor = { ...spec.monitor, enabled: false };
  spec.retrain = { ...spec.retrain, cooldown: '0s' };
  change(spec);
  return spec;
}

async function arrive(handle: WorkflowHandle, spec: ModelSpec, partition: string): Promise<void> {
  await handle.signal(dataArrivedSignal, {
    eventId: `data-arrived/${spec.data.dataset}/${partition}/${spec.name}`,
    dataset: spec.data.dataset,
    partition,
    uris: [`s3://flywheel-recorder/lake/${spec.data.dataset}/${partition}.parquet`],
  });
}

function startLifecycle(spec: ModelSpec, options?: { maxHistoryEvents: number }) {
  return client.workflow.start('modelLifecycle', {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
    args: options ? [spec, undefined, options] : [spec],
  });
}

/** Rollout checks of `slow-analysis` models as they start (a pause lands during one). */
const analyses = new EventEmitter();

/** A rollout started on its own: v2 against champion v1, steps of `holdS` seconds checked every second. */
function startRollout(model: string, steps: number, holdS: number, extra: Record<string, unknown> = {}) {
  return client.workflow.start('rollout', {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.rollout(model, 2),
    args: [
      {
        model,
        challenger: 2,
        plan: {
          ...base.rollout,
          steps: Array.from({ length: steps }, (_, i) => ({ shadow: false, weight: (i + 1) * Math.floor(100 / steps), hold: `${holdS}s` })),
          analysis: { ...base.rollout.analysis, interval: '1s' },
        },
        approvedBy: 'recorder',
        reason: 'recorded scenario',
        ...extra,
      },
    ],
  });
}

/** Every run of a workflow (continue-as-new chains): `name`, `name-run2`, … */
async function saveRuns(name: string, workflowId: string): Promise<void> {
  const ids = await waitFor(`${workflowId} runs`, async () => ((await runIds(workflowId)).length ? runIds(workflowId) : undefined));
  for (const [i, runId] of ids.entries()) await save(i === 0 ? name : `${name}-run${i + 1}`, { workflowId, runId });
}

const base = await loadModelSpec(SPEC);
const run = `${Date.now().toString(36)}`;

/** Patches a scenario cannot progress without (skipped when they are left inactive). */
const REQUIRES: Record<string, string[]> = { 'drift-trigger': ['drift-monitor'], rollout: ['rollout-before-promotion'] };

/** Each scenario drives real workflows and saves the runs it is about. */
const scenarios: Record<string, () => Promise<void>> = {
  // A cycle, then continue-as-new (tiny event budget); the next run starts from the carried state.
  async 'lifecycle-continue-as-new'() {
    const spec = specFor(base, `rec-can-${run}`, () => {});
    const handle = await startLifecycle(spec, { maxHistoryEvents: 30 });
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    const [first, second] = await waitFor('continue-as-new', async () => {
      const ids = await runIds(handle.workflowId);
      return ids.length >= 2 ? ids : undefined;
    });
    await handle.terminate('recorded');
    await save('lifecycle-continue-as-new', { workflowId: handle.workflowId, runId: first! });
    await save('lifecycle-continued-run', { workflowId: handle.workflowId, runId: second! });
    const cycle = await child({ workflowId: handle.workflowId, runId: first! }, 'modelCycle');
    await save('model-cycle-promoted', cycle);
    await save('prepare-data', await child(cycle, 'prepareData'));
  },
  // setState (GitOps `state:`): paused (new data waits), resumed (it runs), retired (the lifecycle ends).
  async 'lifecycle-states'() {
    const spec = specFor(base, `rec-states-${run}`, () => {});
    const handle = await startLifecycle(spec);
    const set = (state: LifecycleDesiredState, reason: string) =>
      handle.executeUpdate(setStateUpdate, { args: [{ state, actor: 'recorder', reason }] });
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await set('paused', 'recorded pause');
    await arrive(handle, spec, '2001-02');
    await waitFor('the waiting trigger', async () => ((await handle.query(statusQuery)).pendingTriggers.length === 1 ? true : undefined));
    await set('active', 'recorded resume');
    await cyclesDone(handle, 2);
    await set('retired', 'recorded retirement');
    await settle(handle.result(), 'modelLifecycle');
    await save('lifecycle-paused-resumed-retired', handle);
  },
  // A new-data cycle, then a drift trigger inside the cooldown: the lifecycle waits, then retrains.
  async 'lifecycle-cooldown'() {
    const spec = specFor(base, `rec-cooldown-${run}`, (s) => (s.retrain.cooldown = '3s'));
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await handle.signal(driftSignal, { eventId: `drift/${spec.name}/1`, summary: 'recorded drift' });
    await cyclesDone(handle, 2);
    await settle(
      client.workflow.execute('scheduledRetrain', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId: `schedule/${spec.name}/recorded`,
        args: [{ model: spec.name }],
      }),
      'scheduledRetrain',
    );
    await cyclesDone(handle, 3);
    await handle.terminate('recorded');
    await save('lifecycle-cooldown-drift-schedule', handle);
    // Retrains on data already trained on, by drift and by the Schedule.
    await save('model-cycle-drift-triggered', await child(handle, 'modelCycle', 1));
    await save('model-cycle-scheduled', await child(handle, 'modelCycle', 2));
    await save('scheduled-retrain', { workflowId: `schedule/${spec.name}/recorded` });
  },
  // Promotion starts the monitor (patch `drift-monitor`); its alert triggers a drift cycle; the
  // monitor continues as new after a few checks.
  async 'drift-trigger'() {
    const spec = specFor(base, `rec-drift-${run}`, (s) => {
      // Drift that persists past a 2 s cooldown: an alert, breaches while disarmed, then past the cooldown.
      s.monitor = { ...s.monitor, enabled: true, interval: '1s', breachesToAlert: 1, cooldown: '2s' };
    });
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 2); // the first cycle, then the drift-triggered one
    const monitorId = WORKFLOW_IDS.driftMonitor(spec.name);
    const [first] = await waitFor('monitor continue-as-new', async () => {
      const ids = await runIds(monitorId);
      return ids.length >= 2 ? ids : undefined;
    });
    await client.workflow.getHandle(monitorId).terminate('recorded');
    await handle.terminate('recorded');
    await save('lifecycle-drift-triggered', handle);
    await save('model-cycle-monitor-started', await child(handle, 'modelCycle'));
    await save('drift-monitor-continue-as-new', { workflowId: monitorId, runId: first! });
  },
  // A cycle with rollout steps (patch `rollout-before-promotion`) and its rollout child.
  async rollout() {
    const spec = specFor(base, `rec-rollout-${run}`, (s) => {
      s.rollout = {
        ...s.rollout,
        steps: [
          { shadow: true, weight: 0, hold: '1s' },
          { shadow: false, weight: 50, hold: '1s' },
        ],
        analysis: { ...s.rollout.analysis, interval: '1s' },
      };
    });
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await handle.terminate('recorded');
    const cycle = await child(handle, 'modelCycle');
    await save('lifecycle-rollout-steps', handle);
    await save('model-cycle-rollout', cycle);
    await save('rollout-completed-stubbed', await child(cycle, 'rollout'));
  },
  // The same cycle with every patch inactive: the old branch of each patch (direct promotion, no monitor).
  async unpatched() {
    const spec = specFor(base, `rec-unpatched-${run}`, (s) => {
      s.rollout = { ...s.rollout, steps: [{ shadow: false, weight: 50, hold: '1s' }] };
      s.monitor = { ...s.monitor, enabled: true };
    });
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await handle.terminate('recorded');
    await save('lifecycle-unpatched', handle);
    await save('model-cycle-unpatched', await child(handle, 'modelCycle'));
  },
  // A spec that also trains on labelled recent traffic (`data.traffic`, a plain label column).
  async 'labelled-traffic'() {
    const spec = specFor(base, `rec-traffic-${run}`, (s) => {
      s.data.label = 'delayed';
      // Set loosely: specs from before the field have no `data.traffic` in their type.
      (s.data as Record<string, unknown>).traffic = { enabled: true, window: '1h', maxRows: 1000 };
    });
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await handle.terminate('recorded');
    await save('model-cycle-labelled-traffic', await child(handle, 'modelCycle'));
  },
  // A rollout with a small check budget per run (its continue-as-new, where the code has one).
  async 'rollout-continue-as-new'() {
    const model = `rec-rollout-can-${run}`;
    const handle = await startRollout(model, 2, 2, { checksBeforeContinueAsNew: 1 });
    await settle(client.workflow.getHandle(handle.workflowId).result(), 'rollout');
    await saveRuns('rollout-continue-as-new', handle.workflowId);
  },
  // Cancelled while the canary holds: the route is set, the cancel arrives (compensation, where the code has it).
  async 'rollout-cancelled'() {
    const model = `rec-rollout-cancel-${run}`;
    const handle = await startRollout(model, 1, 60);
    await waitFor('the canary step', async () => ((await handle.query(rolloutStatusQuery)).last ? true : undefined));
    await handle.cancel();
    await settle(
      handle.result().then(
        () => undefined,
        () => undefined,
      ),
      'rollout',
    );
    await saveRuns('rollout-cancelled', handle.workflowId);
  },
  // Paused during the last check of step 1, so the pause is pending at the step boundary; then resumed.
  async 'rollout-paused-at-boundary'() {
    const model = `rec-slow-analysis-${run}`;
    const firstCheck = new Promise<void>((resolve) => analyses.once(model, () => resolve()));
    const handle = await startRollout(model, 2, 1);
    await firstCheck;
    await handle.executeUpdate(pauseRolloutUpdate, { args: [{ actor: 'recorder', reason: 'boundary' }] });
    await waitFor('paused', async () => ((await handle.query(rolloutStatusQuery)).state === 'paused' ? true : undefined));
    await new Promise((r) => setTimeout(r, 2000)); // the check ends and the rollout reaches the boundary
    await handle.executeUpdate(resumeRolloutUpdate, { args: [{ actor: 'recorder' }] });
    await settle(handle.result(), 'rollout');
    await saveRuns('rollout-paused-at-boundary', handle.workflowId);
  },
  async 'train-model-preemption'() {
    const workflowId = `${WORKFLOW_IDS.trainModel(`rec-preempt-${run}`, 'v-recorded')}/1`;
    await settle(
      client.workflow.execute('trainModel', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [
          {
            model: `rec-preempt-${run}`,
            datasetVersion: 'v-recorded',
            trainUri: 's3://flywheel-recorder/train.parquet',
            validationUri: 's3://flywheel-recorder/validation.parquet',
            featureSpecUri: 's3://flywheel-recorder/spec.json',
            preemption: { maxPreemptions: 5, switchAfter: 2, onDemandQueue: 'on-demand' },
          },
        ],
      }),
      'trainModel',
    );
    await save('train-model-preemption', { workflowId });
  },
  async 'batch-predict'() {
    const workflowId = `batch/rec-${run}`;
    await settle(
      client.workflow.execute('batchPredict', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [
          {
            datasetUri: 's3://flywheel-recorder/batch.parquet',
            model: { name: 'rec-batch' },
            outputPrefix: `batch/rec-${run}`,
            maxParallel: 2,
            chunksPerRun: 2,
            writeTable: true,
          },
        ],
      }),
      'batchPredict',
    );
    const [first, second] = await waitFor('batch runs', async () => {
      const ids = await runIds(workflowId);
      return ids.length >= 2 ? ids : undefined;
    });
    await save('batch-predict-continue-as-new', { workflowId, runId: first! });
    await save('batch-predict-completed', { workflowId, runId: second! });
  },
  async 'batch-features'() {
    const workflowId = `batch-features/rec-${run}`;
    await settle(
      client.workflow.execute('batchFeatures', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [{ sourceUri: 's3://flywheel-recorder/features.parquet', table: 'rec-features', keyColumn: 'flight_id', maxParallel: 2 }],
      }),
      'batchFeatures',
    );
    await save('batch-features-completed', { workflowId });
  },
  async 'inference-job'() {
    const workflowId = `job/rec-webhook-down-${run}`;
    await settle(
      client.workflow.execute('inferenceJob', {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [
          { model: 'rec-job', instances: [{ distance: 300, origin: 'SFO', destination: 'LAX' }], webhookUrl: 'http://127.0.0.1:9/hook' },
        ],
      }),
      'inferenceJob',
    );
    await save('inference-job-webhook-failed', { workflowId });
  },
  // The GitOps reconciler: a create, a commit that does not load (skipped), an update, a sync and a
  // refused sync payload, then continue-as-new after three passes with the applied commit carried.
  async 'gitops-reconciler'() {
    const workflowId = WORKFLOW_IDS.gitopsReconciler(`rec-${run}`);
    const handle = await client.workflow.start('gitopsReconciler', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId,
      args: [{ env: `rec-${run}`, repo: 'file:///recorder/state.git', ref: 'main', path: '', intervalMs: 60_000, maxLoops: 3 }],
    });
    const status = () => client.workflow.getHandle(workflowId).query<{ loops: number; appliedCommit: string | null }>('status');
    await waitFor('first pass', async () => ((await status()).loops >= 1 ? true : undefined));
    await handle.signal('sync', { unexpected: true });
    await handle.signal('sync');
    await waitFor('second pass', async () => ((await status()).loops >= 2 ? true : undefined));
    await handle.signal('sync', { reason: 'recorded' });
    await waitFor('continue-as-new', async () => ((await runIds(workflowId)).length >= 2 ? true : undefined));
    await waitFor('carried commit', async () => ((await status()).appliedCommit === '3'.repeat(40) ? true : undefined));
    await handle.terminate('recorded');
    await saveRuns('gitops-reconciler', workflowId);
  },
  // Cross-environment promotion: a manual approval Update (after a refused one), and an
  // automatic one that moves the champion at once.
  async promotion() {
    const input = (model: string, mode: 'manual' | 'automatic') => ({
      model,
      version: 4,
      from: { env: 'staging', version: 2, runId: 'run-rec', datasetVersion: 'v-rec' },
      to: { env: 'prod' },
      approval: { mode, timeoutMs: 3_600_000, default: 'reject' as const },
      requestedBy: { actor: 'recorder', reason: 'recorded scenario' },
    });
    const manual = await client.workflow.start(promoteAcrossEnvironmentsWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: `promotion/rec-manual-${run}/v4`,
      args: [input(`rec-manual-${run}`, 'manual')],
    });
    await manual.executeUpdate(approvePromotionUpdate, { args: [{ actor: 'recorder', reason: '' }] }).catch(() => undefined);
    await manual.executeUpdate(approvePromotionUpdate, { args: [{ actor: 'recorder', reason: 'recorded approval' }] });
    await settle(manual.result(), 'promoteAcrossEnvironments');
    await save('promotion-manual-approved', manual);
    const workflowId = `promotion/rec-auto-${run}/v4`;
    await settle(
      client.workflow.execute(promoteAcrossEnvironmentsWorkflow, {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [input(`rec-auto-${run}`, 'automatic')],
      }),
      'promoteAcrossEnvironments',
    );
    await save('promotion-automatic', { workflowId });
  },
  async 'routing-check'() {
    const workflowId = `routing-check/rec-${run}`;
    await settle(client.workflow.execute('routingCheck', { taskQueue: TASK_QUEUES.cpu, workflowId, args: [{}] }), 'routingCheck');
    await save('routing-check', { workflowId });
  },
};

let workers: Worker[] = [];
let running: Array<Promise<void>> = [];
try {
  mkdirSync(OUT, { recursive: true });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  const activities = createStubActivities(client, {
    checksBeforeContinueAsNew: CHECKS_PER_MONITOR_RUN,
    analysisStarted: (model) => analyses.emit(model),
  });
  // Stub activities on every queue a workflow may route to (the kinds' own, on-demand, serving).
  workers = await Promise.all(
    [...new Set<string>([...Object.values(TASK_QUEUES), 'on-demand', SERVING_TASK_QUEUE])].map((taskQueue) =>
      createWorker({
        connection: env.nativeConnection,
        taskQueue,
        activities,
        ...(taskQueue === TASK_QUEUES.cpu
          ? {
              workflowBundle,
              // The old branch of every patch, for workflows recorded as `unpatched`.
              patchActivationCallback: ({ workflowInfo, patchId }) =>
                !isInactive(patchId) && !workflowInfo.workflowId.includes('unpatched'),
            }
          : {}),
      }),
    ),
  );
  const selected = args.only ? args.only.split(',') : Object.keys(scenarios);
  running = workers.map((w) => w.run());
  for (const name of selected) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`no scenario ${name} (have ${Object.keys(scenarios).join(', ')})`);
    const needs = (REQUIRES[name] ?? []).filter(isInactive);
    if (needs.length) {
      console.log(`skipped ${name}: it needs ${needs.join(', ')}`);
      continue;
    }
    const t0 = Date.now();
    await scenario();
    console.log(`recorded ${name} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  console.log(written.map((f) => `wrote ${f}`).join('\n'));
} finally {
  // Workers first: the server's connection cannot close under them.
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await Promise.allSettled(running);
  await env.teardown();
}
