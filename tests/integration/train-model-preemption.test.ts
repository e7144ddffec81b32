// trainModel's preemption budget, on a real (ephemeral) Temporal dev server with stand-in
// training activities: preemptions are retried on their own budget, the run moves to the
// on-demand queue after `switchAfter`, and a run preempted past its budget fails for good.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { getInfra } from './infra.ts';
import {
  trainModelWorkflow,
  type TrainActivityInput,
  type TrainActivityResult,
  type TrainModelInput,
  type TrainModelResult,
} from '../../lib/contracts/train-model.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: getInfra().temporalCliPath } } });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

/** A stand-in for the training activity: preempted `preemptOn` times on spot queues. */
function fakeTraining(calls: string[], spotPreemptions: number) {
  return {
    async trainFlightsMlp(input: TrainActivityInput): Promise<TrainActivityResult> {
      const queue = Context.current().info.taskQueue;
      calls.push(queue);
      if (queue !== 'on-demand' && calls.filter((q) => q !== 'on-demand').length <= spotPreemptions) {
        throw ApplicationFailure.create({ type: 'Preempted', message: 'spot notice', nonRetryable: false });
      }
      return { runKey: input.runKey, identity: queue } as unknown as TrainActivityResult;
    },
  };
}

async function runWith(calls: string[], spotPreemptions: number, input: Partial<TrainModelInput>) {
  const queues = ['flywheel-cpu', 'flywheel-gpu', 'on-demand'];
  const workers = await Promise.all(
    queues.map((taskQueue) =>
      createWorker({
        connection: env.nativeConnection,
        taskQueue,
        activities: fakeTraining(calls, spotPreemptions),
        ...(taskQueue === 'flywheel-cpu' ? { workflowBundle: bundle } : {}),
      }),
    ),
  );
  const job: TrainModelInput = { model: 'm', datasetVersion: 'v-test', trainUri: 'x', validationUri: 'y', featureSpecUri: 'z', ...input };
  const run = env.client.workflow.execute(trainModelWorkflow, {
    taskQueue: 'flywheel-cpu',
    workflowId: WORKFLOW_IDS.trainModel('m', randomUUID()),
    args: [job],
  });
  const results = await Promise.all([
    run.then(
      (r) => r as TrainModelResult,
      (e: unknown) => e,
    ),
    ...workers.map((w) => w.runUntil(run.catch(() => undefined))),
  ]);
  return results[0];
}

describe('trainModel preemption budget', () => {
  it('retries preemptions and moves to the on-demand queue after switchAfter', async () => {
    const calls: string[] = [];
    const result = (await runWith(calls, 5, {
      preemption: { maxPreemptions: 5, switchAfter: 2, onDemandQueue: 'on-demand' },
    })) as TrainModelResult;
    expect(calls).toEqual(['flywheel-gpu', 'flywheel-gpu', 'on-demand']);
    expect(result).toMatchObject({ preemptions: 2, taskQueues: ['flywheel-gpu', 'on-demand'] });
  }, 60_000);

  it('fails with PreemptionBudgetExhausted past the budget', async () => {
    const calls: string[] = [];
    const err = await runWith(calls, 10, { preemption: { maxPreemptions: 2 } });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('PreemptionBudgetExhausted');
    expect(calls).toEqual(['flywheel-gpu', 'flywheel-gpu', 'flywheel-gpu']);
  }, 60_000);
});
