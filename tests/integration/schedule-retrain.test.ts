// The retrain Schedule on the real Temporal dev server, with the CPU worker as a child process,
// PostgreSQL (registry) and the S3 store: a spec with `retrain.schedule: "@every 3s"` makes the
// lifecycle create `schedule/<name>`, whose firings start `scheduledRetrain`, which asks the
// lifecycle for a retrain. A partition recorded without a retrain is trained on by a cycle the
// Schedule started (trigger kind `schedule`), the next firing starts the next cycle, which finds no
// new data since v1 and skips training, and starting the lifecycle again with the schedule removed
// deletes the Schedule.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinRegistry } from '../../lib/registry/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { dataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { LifecycleWorld, quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const world = new LifecycleWorld(infra, 'schedule');
const { tag, store } = world;
const MODEL = `sched-${tag}`;
let client: Client;
let registry: BuiltinRegistry;

beforeAll(async () => {
  ({ registry, client } = await world.start());
}, 180_000);

afterAll(async () => {
  await client?.schedule
    .getHandle(WORKFLOW_IDS.retrainSchedule(MODEL))
    .delete()
    .catch(() => undefined);
  await world.terminate([WORKFLOW_IDS.modelLifecycle(MODEL)]);
  await world.stop();
});

/** Completed `scheduledRetrain` runs the Schedule started for `model` (visibility). */
async function scheduledRuns(model: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = 'scheduledRetrain' AND FlywheelModel = '${model}' AND ExecutionStatus = 'Completed'`;
  for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

describe('retrain Schedule', () => {
  it('fires scheduledRetrain every few seconds; the lifecycle runs a schedule-triggered cycle to a champion; removing the schedule deletes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-schedule-'));
    const spec = await quickSpec(MODEL, { retrain: { schedule: '@every 3s', onNewData: true }, monitor: { enabled: false } });
    const jan = await sliceEvent(store, dir, '2001-01', 6000);
    const lifecycleId = WORKFLOW_IDS.modelLifecycle(MODEL);
    // The partition is recorded, not trained on: only the Schedule can start the cycle.
    await client.workflow.signalWithStart(modelLifecycle, {
      workflowId: lifecycleId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [{ ...jan, retrain: false }],
    });

    const running = await waitForStatus(client, MODEL, (s) => s.current?.cycle === 1, 30_000);
    expect(running.partitions).toEqual(['2001-01']);
    const first = running.current!.triggers;
    expect(first.length).toBeGreaterThanOrEqual(1);
    for (const t of first) {
      expect(t).toMatchObject({ kind: 'schedule', detail: 'scheduled retrain (by schedule)' });
      expect(t.eventId).toMatch(new RegExp(`^schedule/scheduled-retrain/${MODEL}-\\d{4}-\\d\\d-\\d\\dT`));
    }

    // The Schedule as Temporal shows it: a 3-second interval that starts scheduledRetrain.
    const schedule = client.schedule.getHandle(WORKFLOW_IDS.retrainSchedule(MODEL));
    const described = await schedule.describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([3000]);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledRetrain', taskQueue: TASK_QUEUES.cpu });
    expect(described.policies.overlap).toBe('SKIP');

    // Cycle 1 trains on the recorded partition and promotes v1; the next firing starts cycle 2,
    // which has nothing new to train on (the champion's own dataset version) and is skipped.
    const done = await waitForStatus(client, MODEL, (s) => s.history.length >= 2, 180_000);
    // Skipped cycles are quick: later firings may have added more by now, all skipped the same way.
    expect(
      done.history.map((c) => [c.cycle, c.stage, c.version]),
      JSON.stringify(done.history),
    ).toEqual([[1, 'promoted', 1], ...done.history.slice(1).map((c) => [c.cycle, 'skipped', 1])]);
    expect((await registry.getAlias(MODEL, 'champion')).version).toBe(1);
    expect((await registry.searchVersions(MODEL)).map((v) => v.version)).toEqual([1]);
    const triggers = done.history.flatMap((c) => c.triggers);
    expect(new Set(triggers.map((t) => t.kind))).toEqual(new Set(['schedule']));
    expect(new Set(triggers.map((t) => t.eventId)).size).toBe(triggers.length); // one per firing
    // Every trigger came from a completed scheduledRetrain run the Schedule started.
    const fromRuns = triggers.map((t) => t.eventId.replace(/^schedule\//, ''));
    let runs: string[] = [];
    for (let i = 0; i < 40 && !fromRuns.every((id) => runs.includes(id)); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250)); // visibility catches up
      runs = await scheduledRuns(MODEL);
    }
    expect(runs).toEqual(expect.arrayContaining(fromRuns));
    expect((await schedule.describe()).info.recentActions.length).toBeGreaterThanOrEqual(2);

    // A new start of the lifecycle with the schedule removed from the spec deletes the Schedule.
    await client.workflow.getHandle(lifecycleId).terminate('spec changed');
    const { schedule: _removed, ...retrain } = spec.retrain;
    await client.workflow.start(modelLifecycle, { workflowId: lifecycleId, taskQueue: TASK_QUEUES.cpu, args: [{ ...spec, retrain }] });
    const deadline = Date.now() + 30_000;
    let gone: unknown;
    while (Date.now() < deadline && !gone) {
      gone = await schedule.describe().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!gone) await new Promise((r) => setTimeout(r, 250));
    }
    expect(gone).toBeInstanceOf(ScheduleNotFoundError);
  }, 300_000);
});
