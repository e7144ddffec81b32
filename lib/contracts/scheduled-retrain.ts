// `scheduledRetrain`: what a model's Temporal Schedule starts; it only signals the lifecycle.
import { workflowRef } from './workflow-ref.ts';

export interface ScheduledRetrainInput {
  model: string;
}

export type ScheduledRetrainWorkflow = (input: ScheduledRetrainInput) => Promise<void>;
export const scheduledRetrainWorkflow = workflowRef<ScheduledRetrainWorkflow>('scheduledRetrain');
