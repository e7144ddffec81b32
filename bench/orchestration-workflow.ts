// The B5 pipeline: N sequential steps, each one activity that "works" for `workMs` (a timer,
// standing in for I/O-bound work), so the difference to a plain function chain is Temporal's
// own per-step cost (schedule, dispatch, record the result).
import { proxyActivities } from '@temporalio/workflow';

export interface BenchStepActivities {
  benchStep(input: { step: number; workMs: number }): Promise<number>;
}

const { benchStep } = proxyActivities<BenchStepActivities>({ startToCloseTimeout: '1 minute' });

export async function benchPipeline(input: { steps: number; workMs: number }): Promise<number> {
  let acc = 0;
  for (let step = 0; step < input.steps; step++) acc += await benchStep({ step, workMs: input.workMs });
  return acc;
}
