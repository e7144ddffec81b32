// The workflow bundle of tests/integration/tracing.test.ts: one workflow whose one activity calls
// the inference server over HTTP, so a trace runs client → workflow → activity → serving; and the
// real async-job workflow, whose activities the server runs.
import { proxyActivities } from '@temporalio/workflow';

export { inferenceJob } from '../../workflows/inference-job.ts';

export interface TracedPredictInput {
  url: string;
  model: string;
  instances: readonly object[];
}

export interface TracedPredictActivities {
  /** POSTs the instances to the server's predict route; returns the predictions' count. */
  predictOverHttp(input: TracedPredictInput): Promise<number>;
}

const { predictOverHttp } = proxyActivities<TracedPredictActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

export async function tracedPredict(input: TracedPredictInput): Promise<number> {
  return predictOverHttp(input);
}
