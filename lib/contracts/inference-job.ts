// `inferenceJob`: one async prediction request accepted by the inference server; the job id is
// the workflow id. Its scoring activity runs on the serving queue.
import { workflowRef } from './workflow-ref.ts';

/** One instance as a prediction request carries it: the served model's input columns by name
 * (checked against that model's fitted features when the job is submitted). */
export type InferenceInstance = Record<string, unknown>;

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
  /** Per instance, what its model's task predicts (`probability`; `class` + `probabilities`;
   * `value`) and the version that served it. Jobs from before tasks carry `probability` only. */
  predictions: Array<
    ({ probability: number } | { class: string; probabilities: Record<string, number> } | { value: number }) & { version: number }
  >;
}

export interface InferenceJobResult extends InferenceJobPredictions {
  completedAt: string;
  webhook?: { delivered: boolean; error?: string };
}

export type InferenceJobWorkflow = (input: InferenceJobInput) => Promise<InferenceJobResult>;
export const inferenceJobWorkflow = workflowRef<InferenceJobWorkflow>('inferenceJob');
