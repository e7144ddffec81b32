// The B5 pipeline: N sequential steps, each one activity that "works" for `workMs` (a timer,
// standing in for I/O-bound work), so the difference to a plain function chain is Temporal's
// own per-step cost (schedule, dispatch, record the result).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface BenchStepActivities {
  benchStep(input: { step: number; workMs: number }): Promise<number>;
}

const { benchStep } = proxyActivities<BenchStepActivities>({ startToCloseTimeout: '1 minute' });

export async function benchPipeline(input: { steps: number; workMs: number }): Promise<number> {
  let acc = 0;
  for (let step = 0; step < input.steps; step++) acc += await benchStep({ step, workMs: input.workMs });
  return acc;
}

const local = proxyLocalActivities<BenchStepActivities>({ startToCloseTimeout: '1 minute' });

/** The same steps as local activities: run by the worker that runs the workflow, recorded in the
 * workflow task's completion (a marker), with no activity task round trip through the server. */
export async function benchPipelineLocal(input: { steps: number; workMs: number }): Promise<number> {
  let acc = 0;
  for (let step = 0; step < input.steps; step++) acc += await local.benchStep({ step, workMs: input.workMs });
  return acc;
}
