// Activities of async inference jobs, run inside the inference server (it holds the loaded
// models and batchers): score a job's instances, and deliver its webhook. Instances and
// predictions go through the artifact store, so the job's history holds keys, not rows.
import { Context } from '@temporalio/activity';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { Predict } from '../predictor.ts';
import { deliverWebhook, WebhookPolicyError } from './webhook.ts';
import type { WebhookPolicy } from '../../lib/net/webhook-policy.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { inlineWebhookBody, readJobInstances, storeJobPredictions } from './payloads.ts';
import type { InferenceJobInput, InferenceJobPredictions, InferenceJobStoredPredictions } from '../../lib/contracts/inference-job.ts';

export interface ServingActivityDeps {
  predict: Predict;
  /** Resolves once the server loaded its models (a job must not fail just because it came first). */
  ready: () => Promise<void>;
  logger: Logger;
  webhook: { policy: WebhookPolicy; secret: string | undefined };
  /** Where job instances are read from and predictions written to. */
  store: ArtifactStore;
}

/** `scoreJob`'s input: with `storePredictions` (every job since payloads moved to the store) the
 * predictions are written there and only their key comes back. */
export type ScoreJobInput = InferenceJobInput & { jobId: string; storePredictions?: boolean };

export function createServingActivities(deps: ServingActivityDeps) {
  return {
    async scoreJob(input: ScoreJobInput): Promise<InferenceJobPredictions | InferenceJobStoredPredictions> {
      await deps.ready();
      const instances = await readJobInstances(deps.store, input);
      // A bad instance or an unknown model throws a ServingError, which the job worker's failure
      // table (./failures.ts) makes permanent; overload and timeouts retry.
      const out = await deps.predict({
        model: input.model,
        instances,
        requestId: input.jobId,
        ...(input.routingKey !== undefined ? { routingKey: input.routingKey } : {}),
      });
      // What the task predicts and the version; whether it was cached is no business of a job's.
      const predictions = out.predictions.map(({ cached: _cached, ...prediction }) => prediction);
      if (!input.storePredictions) return { requestId: out.requestId, model: out.model, predictions };
      return {
        requestId: out.requestId,
        model: out.model,
        predictionsRef: await storeJobPredictions(deps.store, input.jobId, predictions),
      };
    },

    async deliverWebhook(input: { url: string; body: unknown }): Promise<void> {
      const secret = deps.webhook.secret;
      if (!secret)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: 'webhooks are off on this server (no FLYWHEEL_SERVE_WEBHOOK_SECRET to sign them with)',
        });
      // The receiver gets the predictions themselves, not the store key the history holds.
      const body = await inlineWebhookBody(deps.store, input.body);
      try {
        await deliverWebhook({
          url: input.url,
          body,
          policy: deps.webhook.policy,
          secret,
          signal: Context.current().cancellationSignal,
        });
      } catch (err) {
        // The job result gets the generic message; the cause stays in this server's log.
        deps.logger.warn({ err, cause: (err as Error).cause, url: input.url }, 'webhook not delivered');
        // A refused address stays refused (permanent, through the failure table); anything else retries.
        if (err instanceof WebhookPolicyError) throw err;
        throw new Error((err as Error).message);
      }
    },
  };
}
