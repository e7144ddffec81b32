// The model lifecycle on the real Temporal dev server, PostgreSQL registry and S3 store, with
// the CPU worker as a child process: a data event starts the workflow (signal-with-start) and a
// cycle that ends with a champion the registry, the artifacts and the status Query agree on;
// events during a cycle coalesce into one follow-up cycle; duplicate events start nothing;
// manual approvals wait, take Updates (validated), reject with a reason, or time out to the default.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinRegistry } from '../../lib/registry/index.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { LifecycleWorld, quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { approveUpdate, dataArrivedSignal, rejectUpdate, type DataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const world = new LifecycleWorld(infra, 'lifecycle');
const { tag, store } = world;
let client: Client;
let registry: BuiltinRegistry;
let jan: DataArrivedSignal;
let feb: DataArrivedSignal;
let dir: string;

const started: string[] = [];

function start(spec: ModelSpec, event: DataArrivedSignal) {
  started.push(WORKFLOW_IDS.modelLifecycle(spec.name));
  return client.workflow.signalWithStart(modelLifecycle, {
    workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
    taskQueue: TASK_QUEUES.cpu,
    args: [spec],
    signal: dataArrivedSignal,
    signalArgs: [event],
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-lifecycle-'));
  jan = await sliceEvent(store, dir, '2001-01', 15_000);
  feb = await sliceEvent(store, dir, '2001-02', 15_000);
  ({ registry, client } = await world.start());
}, 180_000);

afterAll(async () => {
  await world.terminate(started);
  await world.stop();
});

describe('modelLifecycle', () => {
  it('a data event creates the workflow and runs a cycle to a champion; registry, artifacts and status agree; more events coalesce', async () => {
    const spec = await quickSpec(`lc-auto-${tag}`);
    await start(spec, jan);
    const first = await waitForStatus(client, spec.name, (s) => s.history.length >= 1);
    const cycle1 = first.history[0]!;
    expect(cycle1, JSON.stringify(first)).toMatchObject({
      cycle: 1,
      stage: 'promoted',
      workflowId: `cycle/${spec.name}/1`,
      triggers: [{ kind: 'new-data', eventId: jan.eventId }],
    });

    const champion = await registry.getAlias(spec.name, 'champion');
    expect(champion.version).toBe(cycle1.version);
    expect(champion.lineage.datasetVersion).toBe(cycle1.datasetVersion);
    expect(champion.metrics.roc_auc ?? champion.metrics.rocAuc).toBeCloseTo(cycle1.metrics!.roc_auc ?? cycle1.metrics!.rocAuc!, 6);
    expect(await store.exists(store.keyFor(champion.artifactUri))).toBe(true);
    const approvals = await registry.approvals(spec.name, champion.version);
    expect(approvals.map((a) => [a.decision, a.actor])).toEqual([['approved', 'policy:automatic']]);

    // Feb starts cycle 2; three events while it runs (one a repeat of Jan) make one more cycle.
    const handle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name));
    await handle.signal(dataArrivedSignal, feb);
    await waitForStatus(client, spec.name, (s) => s.current?.cycle === 2);
    const marA = await sliceEvent(store, dir, '2001-03', 15_000, 0, '2001-03');
    const marB = await sliceEvent(store, dir, '2001-03', 15_000, 15_000, '2001-03');
    await handle.signal(dataArrivedSignal, marA);
    await handle.signal(dataArrivedSignal, marB);
    await handle.signal(dataArrivedSignal, jan); // the same event again: ignored
    const done = await waitForStatus(client, spec.name, (s) => s.history.length >= 3 && s.current === null, 180_000);
    await new Promise((r) => setTimeout(r, 1500));
    const settled = await waitForStatus(client, spec.name, () => true);
    expect(settled.cycles).toBe(3);
    expect(settled.pendingTriggers).toEqual([]);
    expect(done.history[2]!.triggers.map((t) => t.eventId)).toEqual([marA.eventId, marB.eventId]);
    expect(done.history.map((h) => h.stage)).toEqual(['promoted', 'promoted', 'promoted']);
    expect(settled.partitions).toEqual(['2001-01', '2001-02', '2001-03']);
    expect((await registry.getAlias(spec.name, 'champion')).version).toBe(done.history[2]!.version);
    // The third cycle trained on the newest two partitions (windowPartitions: 2).
    const desc = await client.workflow.getHandle(done.history[2]!.workflowId).describe();
    expect(desc.typedSearchAttributes.get({ name: 'FlywheelModel', type: 'KEYWORD' } as never)).toBe(spec.name);
  }, 420_000);

  it('manual approval: Updates are refused without a pending approval, approve promotes, reject ends the cycle with the reason', async () => {
    const spec = await quickSpec(`lc-manual-${tag}`, { approval: { mode: 'manual', timeout: '1h', default: 'reject' } });
    const handle = await start(spec, jan);
    const early = await handle.executeUpdate(approveUpdate, { args: [{ actor: 'ana', reason: 'too early' }] }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((early as WorkflowUpdateFailedError).cause?.message)).toMatch(/no approval is pending/);

    const waiting = await waitForStatus(client, spec.name, (s) => s.state === 'awaiting-approval');
    expect(waiting.pendingApproval).toMatchObject({ cycle: 1, default: 'reject' });
    const version = waiting.pendingApproval!.version;
    expect((await registry.getAlias(spec.name, 'challenger')).version).toBe(version);
    const noReason = await handle.executeUpdate(approveUpdate, { args: [{ actor: 'ana', reason: ' ' }] }).catch((e: unknown) => e);
    expect(String((noReason as WorkflowUpdateFailedError).cause?.message)).toMatch(/needs a reason/);

    const approved = await handle.executeUpdate(approveUpdate, { args: [{ actor: 'ana', reason: 'metrics look right' }] });
    expect(approved).toMatchObject({ decision: 'approved', actor: 'ana', timedOut: false, cycle: 1, version });
    await waitForStatus(client, spec.name, (s) => s.history.length === 1);
    expect((await registry.getAlias(spec.name, 'champion')).version).toBe(version);
    expect((await registry.approvals(spec.name, version)).map((a) => [a.decision, a.actor, a.reason])).toEqual([
      ['approved', 'ana', 'metrics look right'],
    ]);

    await handle.signal(dataArrivedSignal, feb);
    const second = await waitForStatus(client, spec.name, (s) => s.state === 'awaiting-approval' && s.pendingApproval?.cycle === 2);
    const rejected = await handle.executeUpdate(rejectUpdate, { args: [{ actor: 'bo', reason: 'worse on SFO flights' }] });
    expect(rejected).toMatchObject({ decision: 'rejected', actor: 'bo' });
    const after = await waitForStatus(client, spec.name, (s) => s.history.length === 2);
    expect(after.history[1]).toMatchObject({ stage: 'rejected', version: second.pendingApproval!.version });
    expect((await registry.getAlias(spec.name, 'champion')).version).toBe(version); // unchanged
    expect((await registry.approvals(spec.name, second.pendingApproval!.version)).map((a) => a.reason)).toEqual(['worse on SFO flights']);
  }, 300_000);

  it('a cycle whose candidate fails its gates ends as gates-failed, findable with a list filter on the search attributes', async () => {
    const spec = await quickSpec(`lc-gates-${tag}`, { gates: { minAuc: 0.99 } });
    await start(spec, jan);
    const done = await waitForStatus(client, spec.name, (s) => s.history.length === 1);
    expect(done.history[0]).toMatchObject({ stage: 'gates-failed' });
    expect(done.history[0]!.error).toMatch(/AUC .* < min 0.99/);
    expect(await registry.searchVersions(spec.name).catch(() => [])).toEqual([]); // nothing registered
    let ids: string[] = [];
    for (let i = 0; i < 40 && ids.length === 0; i++) {
      ids = [];
      for await (const w of client.workflow.list({
        query: `FlywheelModel = "${spec.name}" AND FlywheelStage = "gates-failed" AND ExecutionStatus = "Failed"`,
      }))
        ids.push(w.workflowId);
      if (ids.length === 0) await new Promise((r) => setTimeout(r, 250)); // visibility is eventually consistent
    }
    expect(ids).toEqual([`cycle/${spec.name}/1`]);
  }, 300_000);

  it('continues as new when its history grows, carrying triggers that arrived during the last cycle', async () => {
    const spec = await quickSpec(`lc-can-${tag}`);
    const workflowId = WORKFLOW_IDS.modelLifecycle(spec.name);
    started.push(workflowId);
    // A tiny history budget, so the first cycle alone exceeds it.
    const first = await client.workflow.signalWithStart(modelLifecycle, {
      workflowId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec, undefined, { maxHistoryEvents: 30 }],
      signal: dataArrivedSignal,
      signalArgs: [jan],
    });
    await waitForStatus(client, spec.name, (s) => s.current?.cycle === 1);
    await first.signal(dataArrivedSignal, feb); // arrives during cycle 1: must survive continue-as-new
    const done = await waitForStatus(client, spec.name, (s) => s.history.length === 2 && s.current === null, 180_000);
    expect(done.history.map((h) => [h.cycle, h.stage])).toEqual([
      [1, 'promoted'],
      [2, 'promoted'],
    ]);
    expect(done.history[1]!.triggers.map((t) => t.eventId)).toEqual([feb.eventId]);
    expect(done.partitions).toEqual(['2001-01', '2001-02']);
    const firstRun = await client.workflow.getHandle(workflowId, first.signaledRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
    // A repeat of an event from before continue-as-new is still recognised.
    await client.workflow.getHandle(workflowId).signal(dataArrivedSignal, jan);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await waitForStatus(client, spec.name, () => true)).cycles).toBe(2);
  }, 300_000);

  it('manual approval times out to the spec default', async () => {
    const spec = await quickSpec(`lc-timeout-${tag}`, { approval: { mode: 'manual', timeout: '2s', default: 'approve' } });
    await start(spec, jan);
    const done = await waitForStatus(client, spec.name, (s) => s.history.length === 1);
    expect(done.history[0]!.stage).toBe('promoted');
    const approvals = await registry.approvals(spec.name, done.history[0]!.version!);
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ decision: 'approved', actor: 'policy:timeout' });
  }, 300_000);
});
