// Records one replay fixture per scenario (tests/fixtures/histories/<name>[--<tag>].json): a
// private Temporal dev server (the `temporal` CLI), the REAL workflow bundle, and stub activities
// (stub-activities.ts) where a scenario needs them. Run it again after a workflow change to record
// the new code's histories next to the old ones (docs/safe-evolution.md):
//
//   node --import tsx tests/tools/record-histories.ts [--tag day2] [--only a,b] [--force]
//
// Workflows whose id contains `unpatched` run with every patch left inactive (the worker's
// patchActivationCallback), which records the old branch of each `patched()` with today's code.
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
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { createStubActivities } from './stub-activities.ts';

const OUT = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const SPEC = fileURLToPath(new URL('../../examples/flights/demo-quick.yaml', import.meta.url));
const CHECKS_PER_MONITOR_RUN = 3;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

const { values: args } = parseArgs({
  options: { tag: { type: 'string' }, only: { type: 'string' }, force: { type: 'boolean', default: false } },
});
const cli =
  process.env.TEMPORAL_CLI_PATH ??
  `${process.env.FLYWHEEL_TOOLS_DIR ?? fileURLToPath(new URL('../../.tools', import.meta.url))}/bin/temporal`;

// Stub preemptions and refusals are the point of some scenarios: only errors are worth printing.
Runtime.install({ logger: new DefaultLogger('ERROR') });
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: cli }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
});
const { client } = env;
const written: string[] = [];

async function save(name: string, handle: { workflowId: string; runId?: string | undefined }): Promise<void> {
  const file = `${OUT}${name}${args.tag ? `--${args.tag}` : ''}.json`;
  if (existsSync(file) && !args.force) throw new Error(`${file} exists: recorded histories are kept (use --tag, or --force)`);
  const history = await client.workflow.getHandle(handle.workflowId, handle.runId).fetchHistory();
  writeFileSync(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2) + '\n');
  written.push(file);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the lifecycle's `cycles`-th cycle has ended and it is idle again. */
async function cyclesDone(handle: WorkflowHandle, cycles: number): Promise<void> {
  await waitFor(`${handle.workflowId} cycle ${cycles}`, async () => {
    const s = await client.workflow.getHandle(handle.workflowId).query(statusQuery);
    return s.history.length >= cycles && !s.current && s.state === 'idle' ? true : undefined;
  });
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

const base = await loadModelSpec(SPEC);
const run = `${Date.now().toString(36)}`;

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
    await save('model-cycle-promoted', { workflowId: WORKFLOW_IDS.modelCycle(spec.name, 1) });
    await save('prepare-data', { workflowId: `${WORKFLOW_IDS.prepareData(spec.data.dataset, spec.name)}/1` });
  },
  // A new-data cycle, then a drift trigger inside the cooldown: the lifecycle waits, then retrains.
  async 'lifecycle-cooldown'() {
    const spec = specFor(base, `rec-cooldown-${run}`, (s) => (s.retrain.cooldown = '3s'));
    const handle = await startLifecycle(spec);
    await arrive(handle, spec, '2001-01');
    await cyclesDone(handle, 1);
    await handle.signal(driftSignal, { eventId: `drift/${spec.name}/1`, summary: 'recorded drift' });
    await cyclesDone(handle, 2);
    await client.workflow.execute('scheduledRetrain', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: `schedule/${spec.name}/recorded`,
      args: [{ model: spec.name }],
    });
    await cyclesDone(handle, 3);
    await handle.terminate('recorded');
    await save('lifecycle-cooldown-drift-schedule', handle);
    await save('scheduled-retrain', { workflowId: `schedule/${spec.name}/recorded` });
  },
  // Promotion starts the monitor (patch `drift-monitor`); its alert triggers a drift cycle; the
  // monitor continues as new after a few checks.
  async 'drift-trigger'() {
    const spec = specFor(base, `rec-drift-${run}`, (s) => {
      s.monitor = { ...s.monitor, enabled: true, interval: '1s', breachesToAlert: 1, cooldown: '1h' };
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
    await save('model-cycle-monitor-started', { workflowId: WORKFLOW_IDS.modelCycle(spec.name, 1) });
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
    await save('model-cycle-rollout', { workflowId: WORKFLOW_IDS.modelCycle(spec.name, 1) });
    await save('rollout-completed-stubbed', { workflowId: WORKFLOW_IDS.rollout(spec.name, 2) });
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
    await save('model-cycle-unpatched', { workflowId: WORKFLOW_IDS.modelCycle(spec.name, 1) });
  },
  async 'train-model-preemption'() {
    const workflowId = `${WORKFLOW_IDS.trainModel(`rec-preempt-${run}`, 'v-recorded')}/1`;
    await client.workflow.execute('trainModel', {
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
    });
    await save('train-model-preemption', { workflowId });
  },
  async 'batch-predict'() {
    const workflowId = `batch/rec-${run}`;
    await client.workflow.execute('batchPredict', {
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
    });
    const [first, second] = await waitFor('batch runs', async () => {
      const ids = await runIds(workflowId);
      return ids.length >= 2 ? ids : undefined;
    });
    await save('batch-predict-continue-as-new', { workflowId, runId: first! });
    await save('batch-predict-completed', { workflowId, runId: second! });
  },
  async 'inference-job'() {
    const workflowId = `job/rec-webhook-down-${run}`;
    await client.workflow.execute('inferenceJob', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId,
      args: [
        { model: 'rec-job', instances: [{ distance: 300, origin: 'SFO', destination: 'LAX' }], webhookUrl: 'http://127.0.0.1:9/hook' },
      ],
    });
    await save('inference-job-webhook-failed', { workflowId });
  },
  async 'routing-check'() {
    const workflowId = `routing-check/rec-${run}`;
    await client.workflow.execute('routingCheck', { taskQueue: TASK_QUEUES.cpu, workflowId, args: [{}] });
    await save('routing-check', { workflowId });
  },
};

let workers: Worker[] = [];
try {
  mkdirSync(OUT, { recursive: true });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  const activities = createStubActivities(client, { checksBeforeContinueAsNew: CHECKS_PER_MONITOR_RUN });
  workers = await Promise.all(
    [TASK_QUEUES.cpu, TASK_QUEUES.gpu, 'on-demand', SERVING_TASK_QUEUE].map((taskQueue) =>
      createWorker({
        connection: env.nativeConnection,
        taskQueue,
        activities,
        ...(taskQueue === TASK_QUEUES.cpu
          ? {
              workflowBundle,
              // The old branch of every patch, for workflows recorded as `unpatched`.
              patchActivationCallback: ({ workflowInfo }) => !workflowInfo.workflowId.includes('unpatched'),
            }
          : {}),
      }),
    ),
  );
  const selected = args.only ? args.only.split(',') : Object.keys(scenarios);
  const running = workers.map((w) => w.run());
  for (const name of selected) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`no scenario ${name} (have ${Object.keys(scenarios).join(', ')})`);
    const t0 = Date.now();
    await scenario();
    console.log(`recorded ${name} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  console.log(written.map((f) => `wrote ${f}`).join('\n'));
} finally {
  await env.teardown();
}
