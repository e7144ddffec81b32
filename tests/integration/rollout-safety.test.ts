// The rollout's own safety logic on a real (ephemeral) Temporal dev server. The activities are
// stubbed (a routing and champion held in memory, a scripted verdict per analysis) because the
// subject is the workflow: a cancel or a permanent failure restores the route, pause and abort
// are honoured at step boundaries, a manual promotion is not clobbered, the history stays
// bounded through continue-as-new, and malformed Update payloads are refused with a reason.
// The real routing and registry effects are in rollout.test.ts and rollout-aliases.test.ts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ActivityFailure, CancelledFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { getInfra } from './infra.ts';
import {
  abortRolloutUpdate,
  pauseRolloutUpdate,
  resumeRolloutUpdate,
  rolloutStatusQuery,
  rolloutWorkflow,
  type AnalyzeInput,
  type RolloutEvidence,
  type RolloutInput,
  type RolloutResult,
  type RolloutStatus,
  type RouteInput,
} from '../../lib/contracts/rollout.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

type Verdict = 'pass' | 'fail' | 'inconclusive';
/** The stubs' state: what the server routes, who is champion, what the rollout did. */
interface World {
  champion: number;
  route: string;
  routes: string[];
  analyses: AnalyzeInput[];
  rolledBack: RolloutEvidence[];
  promotions: number;
  /** The verdict of analysis n (1-based); may steer the rollout first, as a person would. */
  verdict: (n: number, handle: WorkflowHandle) => Promise<Verdict>;
  /** Awaited by promoteToChampion before it acts. */
  promoting?: Promise<void>;
}
let world: World;
let handle: WorkflowHandleWithFirstExecutionRunId;
let recorded = 0;

const stubs = {
  async currentChampion(): Promise<number | null> {
    return world.champion;
  },
  async setRolloutRoute(input: RouteInput) {
    world.route = input.shadow ? 'shadow' : `canary ${input.weight}`;
    world.routes.push(world.route);
    return {};
  },
  async analyzeRolloutStep(input: AnalyzeInput) {
    world.analyses.push(input);
    const verdict = await world.verdict(world.analyses.length, handle);
    const arm = { samples: 1 };
    return {
      verdict,
      reasons: verdict === 'pass' ? [] : ['stub says so'],
      checks: [],
      predictionShift: null,
      champion: arm,
      challenger: arm,
    };
  },
  async rollbackRollout({ evidence }: { evidence: RolloutEvidence }) {
    world.route = 'champion';
    world.routes.push('champion');
    world.rolledBack.push(evidence);
    return {
      evidenceUri: 'memory://evidence',
      route: {},
      champion: world.champion,
      alias: { action: 'kept', champion: world.champion, note: '' },
    };
  },
  async completeRollout() {
    world.route = 'champion';
    return { evidenceUri: 'memory://evidence', route: {} };
  },
  /** Compare-and-set like the real one (rollout-aliases.test.ts tests that). */
  async promoteToChampion(input: { version: number; expectedChampion?: number | null }) {
    await world.promoting;
    if (input.expectedChampion !== undefined && input.expectedChampion !== world.champion)
      throw ApplicationFailure.create({ type: 'ChampionSuperseded', nonRetryable: true, message: `v${world.champion} holds the alias` });
    world.promotions++;
    const fromVersion = world.champion;
    world.champion = input.version;
    return { fromVersion, changed: true };
  },
};

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: getInfra().temporalCliPath } } });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

const analysis = {
  interval: '1s',
  minSamples: 0,
  maxExtension: '10s',
  maxErrorRateIncrease: 0.01,
  maxP99Ratio: 3,
  p99FloorMs: 50,
  maxPredictionShift: 1,
  minLabels: 0,
  maxAucDrop: 0.03,
};

/** Runs one rollout of v2 against champion v1 with the stubs; `during` steers it while it runs. */
async function run(
  steps: Array<{ weight: number; hold: string }>,
  verdict: World['verdict'],
  during: (h: WorkflowHandle) => Promise<void> = async () => undefined,
  extra: Partial<RolloutInput> = {},
): Promise<RolloutResult | Error> {
  world = { champion: 1, route: 'champion', routes: [], analyses: [], rolledBack: [], promotions: 0, verdict };
  const worker = await createWorker({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUES.cpu,
    activities: stubs,
    workflowBundle: bundle,
  });
  // The rollout's activities run on the control queue, as in the CPU worker process.
  const control = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.control, activities: stubs });
  const input: RolloutInput = {
    model: 'm',
    challenger: 2,
    plan: { steps: steps.map((s) => ({ shadow: false, ...s })), analysis },
    approvedBy: 'test',
    reason: 'safety test',
    ...extra,
  };
  handle = await env.client.workflow.start(rolloutWorkflow, {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.rollout(`m-${randomUUID()}`, 2),
    args: [input],
  });
  const result = handle.result().then(
    (r) => r as RolloutResult,
    (e: unknown) => e as Error,
  );
  await worker.runUntil(
    control.runUntil(async () => {
      await during(handle);
      return result;
    }),
  );
  // Each run's history replays on the same code: the new (patched) branches are deterministic.
  // FLYWHEEL_RECORD_HISTORIES=<dir> keeps them as replay fixtures (`temporal workflow show` JSON).
  const record = process.env.FLYWHEEL_RECORD_HISTORIES;
  const n = ++recorded;
  for (const [i, { runId, events }] of (await histories(handle)).entries()) {
    if (record) writeFileSync(join(record, `rollout-safety-${n}-run${i + 1}.json`), historyToJSON({ events }));
    const replay = await Worker.runReplayHistory({ workflowBundle: bundle, replayName: runId }, { events }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(replay, `run ${runId} replays`).toBeUndefined();
  }
  return result;
}

/** Every run of a rollout, following continue-as-new from the first. */
async function histories(h: WorkflowHandleWithFirstExecutionRunId) {
  const runs = [];
  let runId: string | undefined = h.firstExecutionRunId;
  while (runId) {
    const { events } = await env.client.workflow.getHandle(h.workflowId, runId).fetchHistory();
    runs.push({ runId, events: events! });
    runId = events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const status = (h: WorkflowHandle) => h.query(rolloutStatusQuery);
/** True once the current step has held at least its 1 s hold: this analysis is the step's last. */
const lastOfStep = async (h: WorkflowHandle) => (await status(h)).heldMs >= 1000;

describe('rollout safety', () => {
  it('a cancel mid-step restores the route to the champion before the cancel is reported', async () => {
    const result = await run(
      [{ weight: 25, hold: '60s' }],
      async () => 'inconclusive',
      async (h) => {
        await until(() => (world.analyses.length > 0 ? true : undefined));
        await h.cancel();
      },
    );
    expect(result).toBeInstanceOf(WorkflowFailedError);
    expect((result as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(world.routes).toEqual(['canary 25', 'champion']);
    expect(world.rolledBack[0]).toMatchObject({ outcome: 'rolled-back', reason: 'cancelled at step 1/1' });
  }, 60_000);

  it('an analysis failing for good after the route was set: rolled back, then the rollout fails with that error', async () => {
    const result = await run([{ weight: 25, hold: '60s' }], () => {
      throw ApplicationFailure.create({ type: 'InvalidConfig', nonRetryable: true, message: 'prediction log unreadable' });
    });
    expect(result).toBeInstanceOf(WorkflowFailedError);
    const cause = (result as WorkflowFailedError).cause as ActivityFailure;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause.cause as ApplicationFailure).type).toBe('InvalidConfig');
    expect(world.route).toBe('champion');
    expect(world.rolledBack[0]!.reason).toBe('failed: prediction log unreadable at step 1/1');
  }, 60_000);

  it("a pause during a step's last analysis holds the weight where it is until resumed", async () => {
    let paused = false;
    const result = await run(
      [
        { weight: 10, hold: '1s' },
        { weight: 50, hold: '1s' },
      ],
      async (_n, h) => {
        if (!paused && (await lastOfStep(h))) {
          paused = true;
          await h.executeUpdate(pauseRolloutUpdate, { args: [{ actor: 'ops', reason: 'dashboard' }] });
        }
        return 'pass';
      },
      async (h) => {
        await until(() => (paused ? true : undefined));
        await new Promise((r) => setTimeout(r, 2500));
        expect(world.routes).toEqual(['canary 10']);
        expect(await status(h)).toMatchObject({ state: 'paused', step: 1 });
        await h.executeUpdate(resumeRolloutUpdate, { args: [{ actor: 'ops' }] });
      },
    );
    expect(result).toMatchObject({ outcome: 'completed' });
    expect(world.routes).toEqual(['canary 10', 'canary 50']);
  }, 60_000);

  it('an abort accepted during the last analysis rolls back instead of promoting; once promoting, abort is refused', async () => {
    let aborted = false;
    const result = await run([{ weight: 10, hold: '1s' }], async (_n, h) => {
      if (!aborted && (await lastOfStep(h))) {
        aborted = true;
        await h.executeUpdate(abortRolloutUpdate, { args: [{ actor: 'ops', reason: 'bad feeling' }] });
      }
      return 'pass';
    });
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: 'aborted by ops: bad feeling', champion: 1 });
    expect(world.promotions).toBe(0);
    expect(world.route).toBe('champion');

    let release = () => {};
    const promoting = new Promise<void>((r) => (release = r));
    const second = await run(
      [{ weight: 10, hold: '1s' }],
      async () => {
        world.promoting = promoting;
        return 'pass';
      },
      async (h) => {
        await until(async () => ((await status(h)).state === 'promoting' ? true : undefined));
        await expect(h.executeUpdate(abortRolloutUpdate, { args: [{ actor: 'ops', reason: 'too late' }] })).rejects.toThrow(
          WorkflowUpdateFailedError,
        );
        release();
      },
    );
    expect(second).toMatchObject({ outcome: 'completed', champion: 2 });
  }, 60_000);

  it('a version promoted by hand during the rollout is not clobbered: the rollout ends superseded', async () => {
    const result = await run([{ weight: 10, hold: '1s' }], async () => {
      world.champion = 3; // someone ran `flywheel models promote m --version 3`
      return 'pass';
    });
    expect(result).toMatchObject({ outcome: 'rolled-back', champion: 3 });
    expect((result as RolloutResult).reason).toMatch(/^superseded: v3 holds the alias/);
    expect(world.champion).toBe(3);
    expect(world.route).toBe('champion');
  }, 60_000);

  it('a long hold continues as new every few checks: each run stays under 80 events; status, window and a pause carry over', async () => {
    const seen: RolloutStatus[] = [];
    const result = await run(
      [{ weight: 10, hold: '10s' }],
      async (n, h) => {
        seen.push(await status(h));
        // A pause during the first run's last check: the second run starts paused.
        if (n === 3) await h.executeUpdate(pauseRolloutUpdate, { args: [{ actor: 'ops', reason: 'across runs' }] });
        return 'pass';
      },
      async (h) => {
        await until(async () => ((await status(h)).runs === 2 ? true : undefined));
        await new Promise((r) => setTimeout(r, 1500));
        expect(world.analyses).toHaveLength(3);
        expect(await status(h)).toMatchObject({ state: 'paused', pausedBy: 'ops: across runs', checks: 3 });
        await h.executeUpdate(resumeRolloutUpdate, { args: [{ actor: 'ops' }] });
      },
      { checksBeforeContinueAsNew: 3 },
    );
    expect(result).toMatchObject({ outcome: 'completed', champion: 2 });
    expect(world.analyses.length).toBeGreaterThanOrEqual(9);
    const lengths = (await histories(handle)).map((r) => r.events.length);
    expect(lengths.length, lengths.join()).toBeGreaterThanOrEqual(3);
    expect(Math.max(...lengths), lengths.join()).toBeLessThan(80);
    expect(new Set(world.analyses.map((a) => a.since)).size).toBe(1); // one step, one window
    expect(seen.at(-1)).toMatchObject({ state: 'running', checks: world.analyses.length - 1 });
    expect(seen.at(-1)!.heldMs).toBeGreaterThanOrEqual(9000);
    expect(seen.at(-1)!.runs).toBe(lengths.length);
  }, 90_000);

  it('Update payloads that are missing, empty or junk (SDK and temporal CLI) are refused with the fields they need; the rollout carries on', async () => {
    const refusals: string[] = [];
    const result = await run(
      [{ weight: 10, hold: '5s' }],
      async () => 'pass',
      async (h) => {
        for (const [name, payload] of [
          ['pause', undefined],
          ['pause', {}],
          ['resume', 'junk'],
          ['abort', { actor: 'ops', reason: 42 }],
        ] as const) {
          const refused = await (payload === undefined ? h.executeUpdate(name) : h.executeUpdate(name, { args: [payload] })).then(
            () => undefined,
            (e: unknown) => e as WorkflowUpdateFailedError,
          );
          expect(refused, `${name} ${JSON.stringify(payload)}`).toBeInstanceOf(WorkflowUpdateFailedError);
          refusals.push(refused!.cause!.message);
        }
        // The same through the real `temporal` CLI: an Update with no --input, a Query with junk.
        const cli = (...args: string[]) =>
          new Promise<{ code: number; out: string }>((resolve) =>
            execFile(
              getInfra().temporalCliPath,
              ['workflow', ...args, '--address', env.address, '--namespace', env.namespace ?? 'default', '-w', h.workflowId],
              { timeout: 30_000 },
              (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
            ),
          );
        const noInput = await cli('update', 'execute', '--name', 'abort');
        expect(noInput.code, noInput.out).toBe(1);
        expect(noInput.out).toMatch(/abort needs \{ actor, reason \}/);
        const query = await cli('query', '--type', 'status', '--input', '"junk"');
        expect(query.code, query.out).toBe(0);
        expect(query.out).toMatch(/"state":\s*"(starting|running)"/);
      },
    );
    expect(refusals[0]).toMatch(/^pause needs \{ actor, reason \}:\n {2}\(root\): /);
    expect(refusals[1]).toMatch(/actor: .*\n {2}reason: /);
    expect(refusals[2]).toMatch(/^resume needs \{ actor \}/);
    expect(refusals[3]).toMatch(/^abort needs \{ actor, reason \}:\n {2}reason: /);
    expect(result).toMatchObject({ outcome: 'completed' });
  }, 60_000);
});
