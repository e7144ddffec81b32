// Control work never waits for heavy work's slots. On a private Temporal dev server (other test
// files' workers on the shared one poll flywheel-cpu too) and the real PostgreSQL registry, the CPU
// worker process's two workers are built as workers/shared/run.ts builds them: flywheel-cpu with
// every workflow and heavy activity, flywheel-control with the control activities on their own
// slots. The heavy activity is a stand-in that holds a flywheel-cpu slot (a batch chunk, a
// training run) because the subject is slot separation, not scoring; the rollout workflow and its
// control activities (champion look-up, promotion) are the real ones.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { rolloutWorkflow, type RolloutResult } from '../../lib/contracts/rollout.ts';
import { controlActivities, cpuActivities } from '../../workers/cpu/activities.ts';
import { createFlywheelWorker } from '../../workers/shared/create-worker.ts';
import { runAll } from '../../workers/shared/run-all.ts';
import { getInfra } from './infra.ts';
import { quickSpec } from './lifecycle-helpers.ts';
import { spawnWorker } from './processes.ts';

/** How long a promotion may take while a batch job fills every flywheel-cpu slot. */
const CONTROL_SLO_MS = 5_000;
const CPU_SLOTS = 2;

const infra = getInfra();
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let workers: Worker[] = [];
let running: Promise<void> | undefined;
let holding = 0;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: infra.temporalCliPath } } });
  bundle = await bundleWorkflowCode({
    workflowsPath: new URL('./control-queue.workflows.ts', import.meta.url).pathname,
    logger: quiet,
  });
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  const store = await LocalArtifactStore.create(`file://${await mkdtemp(join(tmpdir(), 'control-queue-'))}`);
  const deps = { identity: 'control-queue-test', logger: silentLogger(), store, db, registry, temporalClient: async () => env.client };
  const heavy = {
    async holdCpuSlot({ ms }: { ms: number }): Promise<void> {
      holding++;
      try {
        await Context.current().sleep(ms);
      } finally {
        holding--;
      }
    },
  };
  const common = { connection: env.nativeConnection, namespace: 'default', shutdownGraceMs: 500 };
  workers = [
    await createFlywheelWorker({
      ...common,
      kind: 'cpu',
      activities: { ...cpuActivities(deps), ...heavy },
      maxConcurrentActivities: CPU_SLOTS,
      workflowBundle: bundle,
    }),
    await createFlywheelWorker({
      ...common,
      kind: 'control',
      activities: controlActivities(deps),
      // The process's default (FLYWHEEL_CONTROL_ACTIVITY_SLOTS unset).
      maxConcurrentActivities: loadConfig('worker', {}).worker.controlActivitySlots,
    }),
  ];
  running = runAll(workers);
}, 180_000);

afterAll(async () => {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running;
  await db?.close();
  await env?.teardown();
});

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the control queue', () => {
  it(`promotes a version within ${CONTROL_SLO_MS / 1000} s while a batch job holds every flywheel-cpu slot`, async () => {
    const model = `cq-${randomUUID().slice(0, 8)}`;
    const batch = await env.client.workflow.start('saturateCpuQueue', {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: `saturate/${model}`,
      args: [{ holds: CPU_SLOTS * 2, ms: 120_000 }],
    });
    try {
      await until(() => holding === CPU_SLOTS, 30_000);
      const { version } = await registry.createVersion({
        model,
        artifactUri: 'file:///nowhere/model.onnx',
        runId: `run-${model}`,
        lineage: { datasetVersion: 'v-test', featureSpecHash: 'h', params: {} },
      });
      const plan = (await quickSpec(model)).rollout;
      const started = Date.now();
      const handle = await env.client.workflow.start(rolloutWorkflow, {
        taskQueue: TASK_QUEUES.cpu,
        workflowId: WORKFLOW_IDS.rollout(model, version),
        args: [{ model, challenger: version, plan, approvedBy: 'test', reason: 'control queue' }],
      });
      const result = await Promise.race([
        handle.result(),
        new Promise<RolloutResult>((_, reject) =>
          setTimeout(() => reject(new Error(`the rollout did not finish within ${CONTROL_SLO_MS} ms`)), CONTROL_SLO_MS),
        ),
      ]);
      const elapsedMs = Date.now() - started;
      console.info(
        `rollout (champion look-up + promotion) finished in ${elapsedMs} ms with ${holding} heavy activities holding flywheel-cpu`,
      );
      expect(result).toMatchObject({ outcome: 'skipped', champion: version });
      expect((await registry.getModel(model)).aliases.champion).toBe(version);
      // The heavy work still holds its slots: the promotion did not wait for one.
      expect(holding).toBe(CPU_SLOTS);
      const queues: Record<string, string> = {};
      for (const e of (await handle.fetchHistory()).events ?? []) {
        const a = e.activityTaskScheduledEventAttributes;
        if (a?.activityType?.name) queues[a.activityType.name] = a.taskQueue?.name ?? '';
      }
      expect(queues).toEqual({ currentChampion: TASK_QUEUES.control, promoteToChampion: TASK_QUEUES.control });
    } finally {
      await batch.terminate('test done').catch(() => undefined);
    }
  });

  it('the CPU worker process serves flywheel-control beside flywheel-cpu, with its configured slots', async () => {
    const worker = spawnWorker('cpu', {
      ...infra.env,
      TEMPORAL_ADDRESS: env.address,
      MLFLOW_TRACKING_URI: '',
      ARTIFACT_STORE: `file://${await mkdtemp(join(tmpdir(), 'control-queue-'))}`,
      FLYWHEEL_CONTROL_ACTIVITY_SLOTS: '3',
    });
    try {
      await worker.waitFor('"worker started"', 90_000);
      expect(worker.output()).toMatch(/"controlTaskQueue":"flywheel-control","controlActivitySlots":3/);
      // The enhanced mode reports the pollers of every partition of the queue; the legacy one
      // lists only the root partition's, which a poller that landed on another may not reach
      // for a while (this check once waited 20 s in vain on a loaded machine).
      const pollers = async (name: string) => {
        const res = await env.client.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name },
          apiMode: 1, // DESCRIBE_TASK_QUEUE_MODE_ENHANCED
          versions: { unversioned: true },
          taskQueueTypes: [2], // TASK_QUEUE_TYPE_ACTIVITY
          reportPollers: true,
        });
        return Object.values(res.versionsInfo ?? {}).flatMap((v) => Object.values(v.typesInfo ?? {}).flatMap((t) => t.pollers ?? []));
      };
      // This file's own control worker polls too; the process's poller carries its pid.
      const identity = new RegExp(`^${TASK_QUEUES.control}@.+:${worker.child.pid}$`);
      const deadline = Date.now() + 60_000;
      let control = await pollers(TASK_QUEUES.control);
      while (!control.some((p) => identity.test(p.identity ?? '')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        control = await pollers(TASK_QUEUES.control);
      }
      expect(control.map((p) => p.identity)).toContainEqual(expect.stringMatching(identity));
    } finally {
      worker.child.kill('SIGTERM');
    }
    // Both workers shut down gracefully on SIGTERM and the process exits cleanly.
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });
});
