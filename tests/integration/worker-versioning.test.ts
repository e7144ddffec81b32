// Worker Deployment Versioning on a real (ephemeral) Temporal dev server, with stub activities
// (tests/tools/stub-activities.ts): the subject is where the server sends each workflow's tasks,
// which depends only on the workflow types' behaviours (lib/temporal/versioning.ts) and the
// worker options, not on what the activities do. Build v1 starts a rollout (PINNED) and a
// lifecycle (AUTO_UPGRADE); once v2 is current, the rollout finishes its hold on v1 and the
// lifecycle's next task runs on v2. The same bundle also runs on an unversioned worker.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSpec } from '../../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../../lib/temporal/search-attributes.ts';
import { workerVersioningOptions } from '../../lib/temporal/versioning.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { dataArrivedSignal, statusQuery } from '../../lib/contracts/model-lifecycle.ts';
import { rolloutStatusQuery } from '../../lib/contracts/rollout.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { createStubActivities } from '../tools/stub-activities.ts';
import { getInfra } from './infra.ts';

const run = promisify(execFile);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const SPEC = new URL('../../examples/flights/demo-quick.yaml', import.meta.url).pathname;
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const workers: Array<{ worker: Worker; running: Promise<void> }> = [];

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: getInfra().temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
  });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  // Unversioned, on the CPU and control queues: the workflows' activities go there whatever the build.
  await startWorker(TASK_QUEUES.cpu, {});
  await startWorker(TASK_QUEUES.control, {});
}, 120_000);

afterAll(async () => {
  for (const { worker } of workers) worker.shutdown();
  await Promise.allSettled(workers.map((w) => w.running));
  await env?.teardown();
});

/** A worker of one build of a deployment, or an unversioned one (`{}`). */
async function startWorker(taskQueue: string, version: { deploymentName?: string; buildId?: string }) {
  const worker = await createWorker({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createStubActivities(env.client, { checksBeforeContinueAsNew: 3 }),
    ...workerVersioningOptions(version),
  });
  workers.push({ worker, running: worker.run() });
}

/** `temporal worker deployment set-current-version`, retried until the build's pollers are known. */
async function setCurrent(deploymentName: string, buildId: string): Promise<void> {
  const args = ['worker', 'deployment', 'set-current-version', '--address', env.address, '--deployment-name', deploymentName];
  for (let attempt = 0; ; attempt++) {
    try {
      await run(getInfra().temporalCliPath, [...args, '--build-id', buildId, '--yes']);
      return;
    } catch (err) {
      if (attempt > 40) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function versioningOf(workflowId: string) {
  const { raw } = await env.client.workflow.getHandle(workflowId).describe();
  const info = raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: info?.behavior, buildId: info?.deploymentVersion?.buildId };
}

/** The build that completed each workflow task, oldest first (WorkflowTaskCompleted events). */
async function buildsOf(workflowId: string): Promise<string[]> {
  const { events } = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (events ?? []).flatMap((e) => {
    const done = e.workflowTaskCompletedEventAttributes;
    return done ? [done.deploymentVersion?.buildId ?? done.workerVersion?.buildId ?? '?'] : [];
  });
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('worker deployment versioning', () => {
  it('runs the annotated workflows on an unversioned worker, as before', async () => {
    // A behaviour sent by an unversioned worker fails every workflow task: this would time out.
    const result = await env.client.workflow.execute('prepareData', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: `prepare/unversioned-${randomUUID()}`,
      args: [{ dataset: 'flights', sourceUris: ['s3://x/1.parquet'], validationSpec: {} }],
      workflowExecutionTimeout: '20s',
    });
    expect(result).toMatchObject({ dataset: 'flights', rows: 3000 });
  }, 60_000);

  it('keeps a pinned rollout on v1 and moves the auto-upgrade lifecycle to v2', async () => {
    // Its own task queue: the unversioned workers above keep polling the CPU and control ones.
    // Activities go to those (unversioned), workflow tasks to this deployment's queue.
    const taskQueue = `versioned-${randomUUID()}`;
    const deploymentName = `flywheel-test-${randomUUID().slice(0, 8)}`;
    await startWorker(taskQueue, { deploymentName, buildId: 'v1' });
    await setCurrent(deploymentName, 'v1');

    const spec = await loadModelSpec(SPEC);
    spec.name = `versioned-${randomUUID().slice(0, 8)}`;
    const lifecycle = await env.client.workflow.start('modelLifecycle', {
      taskQueue,
      workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
      args: [spec],
    });
    const rollout = await env.client.workflow.start('rollout', {
      taskQueue,
      workflowId: WORKFLOW_IDS.rollout(spec.name, 2),
      args: [
        {
          model: spec.name,
          challenger: 2,
          plan: {
            ...spec.rollout,
            steps: [{ shadow: false, weight: 50, hold: '4s' }],
            analysis: { ...spec.rollout.analysis, interval: '1s' },
          },
          approvedBy: 'test',
          reason: 'versioning test',
        },
      ],
    });
    await eventually(
      () => rollout.query(rolloutStatusQuery),
      (s) => s.state === 'running',
    );
    await lifecycle.query(statusQuery);
    expect(await versioningOf(lifecycle.workflowId)).toEqual({ behavior: 2, buildId: 'v1' }); // AUTO_UPGRADE
    expect(await versioningOf(rollout.workflowId)).toEqual({ behavior: 1, buildId: 'v1' }); // PINNED

    await startWorker(taskQueue, { deploymentName, buildId: 'v2' });
    await setCurrent(deploymentName, 'v2');
    const rolloutTasksBefore = (await buildsOf(rollout.workflowId)).length;
    // The lifecycle's next task (a partition recorded without a retrain) goes to the current build,
    // once the new routing has reached the task queue (the server propagates it asynchronously).
    let partitions = 0;
    const moved = await eventually(
      async () => {
        const partition = `2001-${String(++partitions).padStart(2, '0')}`;
        await lifecycle.signal(dataArrivedSignal, {
          eventId: partition,
          dataset: spec.data.dataset,
          partition,
          uris: ['s3://x'],
          retrain: false,
        });
        await eventually(
          () => lifecycle.query(statusQuery),
          (s) => s.partitions.length === partitions,
        );
        return versioningOf(lifecycle.workflowId);
      },
      (v) => v.buildId === 'v2',
      30_000,
      1000,
    );
    expect(moved).toEqual({ behavior: 2, buildId: 'v2' });
    expect((await buildsOf(lifecycle.workflowId)).at(-1)).toBe('v2');

    // The rollout holds on v1 to the end, and its checks keep running there.
    expect(await rollout.result()).toMatchObject({ outcome: 'completed' });
    expect(await versioningOf(rollout.workflowId)).toEqual({ behavior: 1, buildId: 'v1' });
    const rolloutBuilds = await buildsOf(rollout.workflowId);
    expect(rolloutBuilds.length).toBeGreaterThan(rolloutTasksBefore); // it kept working after the switch…
    expect(new Set(rolloutBuilds)).toEqual(new Set(['v1'])); // …on v1 only
    await lifecycle.terminate('test over');
  }, 120_000);
});
