// A job's instances and predictions live in the artifact store; its history carries their keys.
// These read them back for the scoring activity, the webhook and `GET /v1/jobs/:id`, and still
// accept jobs submitted or completed before (payloads inline in the history).
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import { ArtifactNotFoundError, getJson, putJson, type ArtifactStore } from '../../lib/storage/index.ts';
import {
  INFERENCE_JOB_KEYS,
  type InferenceInstance,
  type InferenceJobInput,
  type InferenceJobOutcome,
  type InferenceJobPrediction,
  type InferenceJobResult,
  type JobPayloadRef,
} from '../../lib/contracts/inference-job.ts';

async function readArray<T>(store: ArtifactStore, ref: JobPayloadRef, what: string): Promise<T[]> {
  try {
    return await getJson<T[]>(store, ref.key);
  } catch (err) {
    // Gone is gone (a retention sweep, a different store): retrying cannot bring it back.
    if (err instanceof ArtifactNotFoundError)
      throw permanentFailure(FAILURE_TYPES.NotFound, { summary: `the job's ${what} are no longer in the artifact store (${ref.key})` });
    throw err;
  }
}

/** Writes a job's instances where its workflow will find them; the reference goes in the input. */
export async function storeJobInstances(store: ArtifactStore, jobId: string, instances: InferenceInstance[]): Promise<JobPayloadRef> {
  const key = INFERENCE_JOB_KEYS.instances(jobId);
  await putJson(store, key, instances);
  return { key, count: instances.length };
}

export async function readJobInstances(store: ArtifactStore, input: InferenceJobInput): Promise<InferenceInstance[]> {
  if (input.instances) return input.instances;
  if (!input.instancesRef)
    throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: 'the job names no instances (neither instances nor instancesRef)' });
  return readArray<InferenceInstance>(store, input.instancesRef, 'instances');
}

/** Overwrites on a retry: the predictions of the attempt that reported back are the job's. */
export async function storeJobPredictions(
  store: ArtifactStore,
  jobId: string,
  predictions: InferenceJobPrediction[],
): Promise<JobPayloadRef> {
  const key = INFERENCE_JOB_KEYS.predictions(jobId);
  await putJson(store, key, predictions);
  return { key, count: predictions.length };
}

/** A job's outcome with its predictions inline, whichever way it completed. */
export async function inlineJobResult(store: ArtifactStore, outcome: InferenceJobOutcome): Promise<InferenceJobResult> {
  if (!('predictionsRef' in outcome)) return outcome;
  const { predictionsRef, ...rest } = outcome;
  return { ...rest, predictions: await readArray<InferenceJobPrediction>(store, predictionsRef, 'predictions') };
}

/** A webhook body whose `result` may name its predictions by key gets them inline. */
export async function inlineWebhookBody(store: ArtifactStore, body: unknown): Promise<unknown> {
  if (typeof body !== 'object' || body === null || !('result' in body)) return body;
  const result = (body as { result: unknown }).result;
  if (typeof result !== 'object' || result === null || !('predictionsRef' in result)) return body;
  return { ...body, result: await inlineJobResult(store, result as InferenceJobOutcome) };
}
