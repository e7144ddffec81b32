// `routingCheck`: one probe on each worker queue; the smallest proof that both workers are up.
import { workflowRef } from './workflow-ref.ts';

/** Input of `routingCheck`: nothing required; `note` is echoed for tracing. */
export interface RoutingCheckInput {
  note?: string;
}

/** What a worker says about itself when a probe activity runs on it. */
export interface WorkerProbe {
  workerKind: 'cpu' | 'gpu';
  taskQueue: string;
  identity: string;
  hostname: string;
  pid: number;
  /** The activity attempt that answered (1 unless retried). */
  attempt: number;
}

export interface RoutingCheckResult {
  cpu: WorkerProbe;
  gpu: WorkerProbe;
}

export type RoutingCheckWorkflow = (input?: RoutingCheckInput) => Promise<RoutingCheckResult>;
export const routingCheckWorkflow = workflowRef<RoutingCheckWorkflow>('routingCheck');
