// `inferenceJob`: one async prediction request accepted by the inference server; the job id is
// the workflow id. Its scoring activity runs on the serving queue.
import { workflowRef } from './workflow-ref.ts';

/** One flight as raw fields, as a prediction request carries it (see lib/features/flights.ts). */
export interface InferenceInstance {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** Input of `inferenceJob`: an async prediction request accepted by the inference server. */
export interface InferenceJobInput {
  model: string;
  instances: InferenceInstance[];
  routingKey?: string;
  /** POSTed `{ jobId, status, result | error }` when the job ends. */
  webhookUrl?: string;
}

export interface InferenceJobPredictions {
  requestId: string;
  model: string;
  predictions: Array<{ probability: number; version: number }>;
}

export interface InferenceJobResult extends InferenceJobPredictions {
  completedAt: string;
  webhook?: { delivered: boolean; error?: string };
}

export type InferenceJobWorkflow = (input: InferenceJobInput) => Promise<InferenceJobResult>;
export const inferenceJobWorkflow = workflowRef<InferenceJobWorkflow>('inferenceJob');
