// `modelLifecycle`: the entity workflow of one model (`model/<name>`). Users drive it with the
// signals, Updates and Query below; its `modelCycle` children report to it through the internal
// signals (approval requested/resolved, progress).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { personText } from './person-text.ts';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { SpecChange } from '../lifecycle/spec-diff.ts';
import type { ApprovalOutcome, CycleStage, CycleTrigger } from './model-cycle.ts';
import { workflowRef } from './workflow-ref.ts';
import type { RefusedPayload } from './refused-payload.ts';

export type { RefusedPayload };

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
  /** Why a cycle ended as it did when that is not a failure: `skipped: no new data since v3`, or
   * a promotion whose drift monitor did not start. */
  note?: string;
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
  /** Payloads the handlers refused (newest last, at most MAX_REFUSED). */
  refused?: RefusedPayload[];
  /** The last `setState` change (absent: never changed, the lifecycle is `active`). */
  desiredState?: DesiredStateChange;
}

/** Who set the lifecycle's desired state, when and why (`setState`). */
export interface DesiredStateChange {
  state: LifecycleDesiredState;
  previous: LifecycleDesiredState;
  actor: string;
  reason: string;
  at: string;
  /** Bringing the Schedule or the monitor in step failed (set the same state again to retry). */
  errors?: string[];
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
  /** Refused signal payloads, newest last (absent before payload validation existed). */
  refused?: RefusedPayload[];
  /** What the owner wants (`setState`): active, paused or retired (absent from lifecycles older than it). */
  desiredState?: LifecycleDesiredState;
  /** Who changed it last, when and why (absent: never changed). */
  desiredStateChange?: DesiredStateChange;
}

/** What `updateSpec` carries: the new spec (as `parseModelSpec` returns it) and whether to apply
 * it during a rollout. */
export interface UpdateSpecInput {
  spec: ModelSpec;
  /** Apply even while a rollout is in progress (it keeps the spec it started with). @default false */
  force?: boolean;
}

export interface UpdateSpecResult {
  /** What changed (empty: the running spec is already this one, nothing was done). */
  changes: SpecChange[];
  /** The Schedule sync's outcome, when `retrain` changed. */
  schedule?: 'created' | 'updated' | 'deleted' | 'none';
  /** The drift monitor's outcome, when `monitor` changed. */
  monitor?: MonitorSettingsResult['state'];
  /** The spec was adopted, but bringing the Schedule or the monitor in step failed (retried by
   * applying again). */
  errors?: string[];
}

export interface MonitorSettingsResult {
  workflowId: string;
  /** signalled: the running monitor got the new settings; started: (re)started with them (the
   * model has a champion); none: no monitor runs and none is due (the next promotion starts it). */
  state: 'signalled' | 'started' | 'none';
}

// Payload schemas: every handler parses its payload at the workflow boundary, so a malformed
// signal from the CLI, the events route or a script is refused and recorded, never a failed
// workflow task. Unknown keys are dropped (older and newer senders keep working).
// Types only, not content rules: a payload the handlers used to take must still be taken, so
// recorded histories replay to the same commands. The cycle's own signals keep fields added later.
const text = z.string();
export const dataArrivedSchema = z.object({
  eventId: text,
  dataset: text,
  partition: text,
  uris: z.array(text),
  retrain: z.boolean().optional(),
});
export const retrainSchema = z.object({
  reason: text,
  requestedBy: z.string().optional(),
  eventId: text.optional(),
  scheduled: z.boolean().optional(),
});
export const driftSchema = z.object({ eventId: text, summary: z.string(), reportUri: z.string().optional() });
/** Validator only (an Update's payload is never replayed through it). */
export const approvalDecisionSchema = z.object(
  {
    actor: personText('an approval needs the approver (actor)'),
    reason: personText('an approval needs a reason'),
  },
  'an approval needs { actor, reason }',
);
const cycleStage = z.string() as z.ZodType<CycleStage>;
export const cycleProgressSchema = z.looseObject({
  cycle: z.number(),
  stage: cycleStage,
  detail: z.string().optional(),
  version: z.number().optional(),
});
export const approvalRequestSchema = z.looseObject({
  cycle: z.number(),
  cycleWorkflowId: text,
  version: z.number(),
  requestedAt: z.string(),
  deadline: z.string(),
  default: z.enum(['approve', 'reject']),
  // A NaN metric arrives as null: shown, never a reason to lose the request.
  metrics: z.record(z.string(), z.unknown()) as z.ZodType<Record<string, number>>,
});
export const approvalResolvedSchema = z.looseObject({
  cycle: z.number(),
  outcome: z.object({ decision: z.enum(['approved', 'rejected']), actor: z.string(), reason: z.string(), timedOut: z.boolean() }),
});
/** The workflow-side check of `updateSpec`: a spec-shaped object naming its model and dataset. The
 * full spec parser (`parseModelSpec`, which needs Node) runs in an activity before the spec is
 * adopted, and fills in defaults, so a spec as written (not yet parsed) is accepted too. */
export const updateSpecSchema = z.object({
  spec: z.looseObject({ name: z.string().min(1), data: z.looseObject({ dataset: z.string().min(1) }) }),
  force: z.boolean().optional(),
});

/** Newest refused payloads kept in status. */
export const MAX_REFUSED = 20;

/** New data for the model's dataset (signal-with-start from `flywheel data arrive` and the events endpoint). */
export const dataArrivedSignal = defineSignal<[DataArrivedSignal]>('dataArrived');
/** A retrain request: by hand (`flywheel pipeline retrain`) or from the Schedule. */
export const retrainSignal = defineSignal<[RetrainSignal & { scheduled?: boolean }]>('retrain');
/** The drift monitor saw drift. */
export const driftSignal = defineSignal<[DriftSignal]>('drift');

export const approveUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('reject');
export const statusQuery = defineQuery<LifecycleStatus>('status');
/** Changes the running model's spec (validated, refused mid-rollout unless forced); answers the diff. */
export const updateSpecUpdate = defineUpdate<UpdateSpecResult, [UpdateSpecInput]>('updateSpec');
/** The spec the lifecycle runs with now (`flywheel pipeline diff`). */
export const specQuery = defineQuery<ModelSpec>('spec');

/** What the owner wants of a lifecycle (GitOps `state:`): `active` runs cycles on every trigger;
 * `paused` keeps the champion serving but starts no cycle (triggers wait; the Schedule and the
 * drift monitor are paused); `retired` stops the Schedule and the monitor and ends the lifecycle
 * once no cycle runs. */
export type LifecycleDesiredState = 'active' | 'paused' | 'retired';
export interface SetStateInput {
  state: LifecycleDesiredState;
  actor: string;
  reason: string;
}
export interface SetStateResult {
  state: LifecycleDesiredState;
  previous: LifecycleDesiredState;
  changed: boolean;
  /** What was done to the Schedule `schedule/<name>` (absent when nothing was tried). */
  schedule?: RetrainScheduleStateResult['state'];
  /** What was done to the drift monitor: stopped (told to end), started/signalled (resumed), none. */
  monitor?: 'stopped' | MonitorSettingsResult['state'];
  /** The state is set, but the Schedule or the monitor could not be brought in step (set it again to retry). */
  errors?: string[];
}
/** The `setRetrainScheduleState` activity's answer: paused, unpaused, deleted, or none (no Schedule). */
export interface RetrainScheduleStateResult {
  scheduleId: string;
  state: 'paused' | 'unpaused' | 'deleted' | 'none';
}
/** Validator only (an Update's payload is never replayed through it). */
export const setStateSchema = z.object(
  {
    state: z.enum(['active', 'paused', 'retired'], 'state must be active, paused or retired'),
    actor: personText('setState needs the actor'),
    reason: personText('setState needs a reason'),
  },
  'setState needs { state, actor, reason }',
);
/** Pause, resume or retire the lifecycle (`flywheel apply`, the GitOps reconciler). */
export const setStateUpdate = defineUpdate<SetStateResult, [SetStateInput]>('setState');

// Internal: cycle → lifecycle.
export const approvalRequestedSignal = defineSignal<[ApprovalRequest]>('approvalRequested');
export const approvalResolvedSignal = defineSignal<[{ cycle: number; outcome: ApprovalOutcome }]>('approvalResolved');
export const cycleProgressSignal = defineSignal<[CycleProgress]>('cycleProgress');

export type ModelLifecycleWorkflow = (spec: ModelSpec, carry?: LifecycleCarryOver, options?: LifecycleOptions) => Promise<void>;
export const modelLifecycleWorkflow = workflowRef<ModelLifecycleWorkflow>('modelLifecycle');
