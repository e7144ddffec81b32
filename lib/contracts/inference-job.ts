// `inferenceJob`: one async prediction request accepted by the inference server; the job id is
// the workflow id. Its scoring activity runs on the serving queue. Instances and predictions live
// in the artifact store and the history carries their keys: a job of 10,000 rows would otherwise
// put megabytes into the history (Temporal refuses payloads over 2 MB).
import { workflowRef } from './workflow-ref.ts';

/** One instance as a prediction request carries it: the served model's input columns by name
 * (checked against that model's fitted features when the job is submitted). */
export type InferenceInstance = Record<string, unknown>;

/** A JSON array in the artifact store, and how many items it holds. */
export interface JobPayloadRef {
  key: string;
  count: number;
}

/** Where a job's payloads live in the artifact store (one folder per job). */
export const INFERENCE_JOB_KEYS = {
  instances: (jobId: string) => `jobs/${jobId}/instances.json`,
  predictions: (jobId: string) => `jobs/${jobId}/predictions.json`,
} as const;

/** An async prediction request as the inference server accepts it. */
export interface InferenceJobRequest {
  model: string;
  instances: InferenceInstance[];
  routingKey?: string;
  /** POSTed `{ jobId, status, result | error }` when the job ends. */
  webhookUrl?: string;
}

/** Input of `inferenceJob`: the request, with its instances in the store (`instancesRef`). Jobs
 * submitted before that carry them inline (`instances`). */
export interface InferenceJobInput extends Omit<InferenceJobRequest, 'instances'> {
  instancesRef?: JobPayloadRef;
  /** Inline instances: jobs submitted before payloads moved to the store. */
  instances?: InferenceInstance[];
}

export type InferenceJobPrediction = (
  { probability: number } | { class: string; probabilities: Record<string, number> } | { value: number }
) & { version: number };

export interface InferenceJobPredictions {
  requestId: string;
  model: string;
  /** Per instance, what its model's task predicts (`probability`; `class` + `probabilities`;
   * `value`) and the version that served it. Jobs from before tasks carry `probability` only. */
  predictions: InferenceJobPrediction[];
}

/** What `scoreJob` returns when it wrote the predictions to the store. */
export interface InferenceJobStoredPredictions {
  requestId: string;
  model: string;
  predictionsRef: JobPayloadRef;
}

interface JobEnd {
  completedAt: string;
  webhook?: { delivered: boolean; error?: string };
}

/** A completed job as `GET /v1/jobs/:id` and the webhook show it: predictions inline. */
export interface InferenceJobResult extends InferenceJobPredictions, JobEnd {}

/** What the workflow returns: the predictions' key; jobs that completed before that, inline. */
export type InferenceJobOutcome = InferenceJobResult | (InferenceJobStoredPredictions & JobEnd);

export type InferenceJobWorkflow = (input: InferenceJobInput) => Promise<InferenceJobOutcome>;
export const inferenceJobWorkflow = workflowRef<InferenceJobWorkflow>('inferenceJob');
