// One async inference job (`POST /v1/models/:name/jobs`): the job id is this workflow's id, so
// a job survives any server restart; its scoring activity runs on whichever inference server
// polls the serving queue, and the optional webhook is retried on its own budget. Instances and
// predictions stay in the artifact store: this history holds their keys, whatever the job's size.
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createServingActivities } from '../serving/jobs/activities.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { SERVING_TASK_QUEUE } from '../lib/temporal/constants.ts';
import type { InferenceJobInput, InferenceJobOutcome } from '../lib/contracts/inference-job.ts';

type ServingActivities = ReturnType<typeof createServingActivities>;

const { scoreJob } = proxyActivities<ServingActivities>({
  taskQueue: SERVING_TASK_QUEUE,
  // No schedule-to-start limit: with every server down the job waits, it is not lost.
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

const { deliverWebhook } = proxyActivities<ServingActivities>({
  taskQueue: SERVING_TASK_QUEUE,
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

export async function inferenceJob(input: InferenceJobInput): Promise<InferenceJobOutcome> {
  const jobId = workflowInfo().workflowId;
  // Jobs recorded before payloads moved to the store replay with their predictions inline; the
  // serving side reads both shapes.
  const storePredictions = patched('inference-job-predictions-in-store');
  const scored = await scoreJob({ ...input, jobId, ...(storePredictions ? { storePredictions } : {}) });
  const result: InferenceJobOutcome = { ...scored, completedAt: new Date().toISOString() };
  if (input.webhookUrl) {
    try {
      // The activity puts the predictions into the body it sends, from the store.
      await deliverWebhook({ url: input.webhookUrl, body: { jobId, status: 'completed', result } });
      result.webhook = { delivered: true };
    } catch (err) {
      // The predictions stand even when nobody could be told; the job records why.
      const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
      result.webhook = { delivered: false, error: cause };
    }
  }
  return result;
}
