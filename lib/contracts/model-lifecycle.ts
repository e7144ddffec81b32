// `modelLifecycle`: the entity workflow of one model (`model/<name>`). Users drive it with the
// signals, Updates and Query below; its `modelCycle` children report to it through the internal
// signals (approval requested/resolved, progress).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { ApprovalOutcome, CycleStage, CycleTrigger } from './model-cycle.ts';
import { workflowRef } from './workflow-ref.ts';

/** A dataset partition (e.g. a month of flights) announced by a data-arrival event. */
export interface DataArrivedSignal {
  /** Stable across repeats of the same data: the same event twice starts one cycle. */
  eventId: string;
  dataset: string;
  partition: string;
  uris: string[];
  /** false: record the partition for the next cycle without starting one (drift, the Schedule or
   * a person decides when to retrain). @default true */
  retrain?: boolean;
}

export interface RetrainSignal {
  reason: string;
  requestedBy?: string;
  /** De-duplication key (schedules use their run id). */
  eventId?: string;
}

export interface DriftSignal {
  eventId: string;
  summary: string;
  reportUri?: string;
}

/** What `approve`/`reject` Updates carry: who decided and why (recorded in the registry). */
export interface ApprovalDecisionInput {
  actor: string;
  reason: string;
}

export interface ApprovalRequest {
  cycle: number;
  cycleWorkflowId: string;
  version: number;
  requestedAt: string;
  /** When the default decision applies. */
  deadline: string;
  default: 'approve' | 'reject';
  metrics: Record<string, number>;
}

export interface CycleSummary {
  cycle: number;
  workflowId: string;
  stage: CycleStage;
  startedAt: string;
  endedAt?: string;
  triggers: CycleTrigger[];
  version?: number;
  datasetVersion?: string;
  metrics?: Record<string, number>;
  error?: string;
}

/** Live progress a cycle reports to its lifecycle (shown by `flywheel pipeline status`). */
export interface CycleProgress {
  cycle: number;
  stage: CycleStage;
  detail?: string;
  version?: number;
}

/** What `modelLifecycle` carries across continue-as-new. */
export interface LifecycleCarryOver {
  cycles: number;
  partitions: Array<{ partition: string; uris: string[]; eventId: string }>;
  pending: CycleTrigger[];
  seenEventIds: string[];
  history: CycleSummary[];
  lastAutomaticCycleEndedAt?: string;
  championProfileUri?: string;
}

export interface LifecycleOptions {
  /** History events after which the run continues as new. @default 5000 */
  maxHistoryEvents?: number;
}

/** The `status` Query of `modelLifecycle`. */
export interface LifecycleStatus {
  model: string;
  state: 'idle' | 'cooldown' | 'running' | 'awaiting-approval';
  current: (CycleSummary & { detail?: string }) | null;
  pendingApproval: ApprovalRequest | null;
  pendingTriggers: CycleTrigger[];
  partitions: string[];
  /** The newest cycles, oldest first (at most 20). */
  history: CycleSummary[];
  cycles: number;
  cooldownUntil: string | null;
}

/** New data for the model's dataset (signal-with-start from `flywheel data arrive` and the events endpoint). */
export const dataArrivedSignal = defineSignal<[DataArrivedSignal]>('dataArrived');
/** A retrain request: by hand (`flywheel pipeline retrain`) or from the Schedule. */
export const retrainSignal = defineSignal<[RetrainSignal & { scheduled?: boolean }]>('retrain');
/** The drift monitor saw drift. */
export const driftSignal = defineSignal<[DriftSignal]>('drift');

export const approveUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('reject');
export const statusQuery = defineQuery<LifecycleStatus>('status');

// Internal: cycle → lifecycle.
export const approvalRequestedSignal = defineSignal<[ApprovalRequest]>('approvalRequested');
export const approvalResolvedSignal = defineSignal<[{ cycle: number; outcome: ApprovalOutcome }]>('approvalResolved');
export const cycleProgressSignal = defineSignal<[CycleProgress]>('cycleProgress');

export type ModelLifecycleWorkflow = (spec: ModelSpec, carry?: LifecycleCarryOver, options?: LifecycleOptions) => Promise<void>;
export const modelLifecycleWorkflow = workflowRef<ModelLifecycleWorkflow>('modelLifecycle');
