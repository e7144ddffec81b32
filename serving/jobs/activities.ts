// Activities of async inference jobs, run inside the inference server (it holds the loaded
// models and batchers): score a job's instances, and deliver its webhook.
import { Context } from '@temporalio/activity';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { InferenceJobInput, InferenceJobPredictions } from '../../lib/workflow-types.ts';
import { ServingError } from '../errors.ts';
import type { Predict } from '../predictor.ts';

export interface ServingActivityDeps {
  predict: Predict;
  /** Resolves once the server loaded its models (a job must not fail just because it came first). */
  ready: () => Promise<void>;
  fetch?: typeof fetch;
}

export function createServingActivities(deps: ServingActivityDeps) {
  const doFetch = deps.fetch ?? fetch;
  return {
    async scoreJob(input: InferenceJobInput & { jobId: string }): Promise<InferenceJobPredictions> {
      await deps.ready();
      try {
        const out = await deps.predict({
          model: input.model,
          instances: input.instances,
          requestId: input.jobId,
          ...(input.routingKey !== undefined ? { routingKey: input.routingKey } : {}),
        });
        return { requestId: out.requestId, model: out.model, predictions: out.predictions.map(({ probability, version }) => ({ probability, version })) };
      } catch (err) {
        // Bad input or an unknown model will not get better; overload and timeouts will.
        if (err instanceof ServingError && err.code === 'badRequest') throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: err.message });
        if (err instanceof ServingError && err.code === 'notFound') throw permanentFailure(FAILURE_TYPES.NotFound, { summary: err.message });
        throw err;
      }
    },

    async deliverWebhook(input: { url: string; body: unknown }): Promise<void> {
      const response = await doFetch(input.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input.body),
        signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(10_000)]),
      });
      if (!response.ok) throw new Error(`webhook ${input.url} answered ${response.status}`);
    },
  };
}
