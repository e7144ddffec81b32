// Signals, Updates and Queries of `modelLifecycle` and its `modelCycle` children, in one module
// both workflows (and clients) import. Users drive the lifecycle; the cycle talks to its parent
// through the internal signals (approval requested/resolved, progress).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ApprovalDecisionInput,
  ApprovalOutcome,
  ApprovalRequest,
  CycleProgress,
  DataArrivedSignal,
  DriftSignal,
  LifecycleStatus,
  RetrainSignal,
} from '../lib/workflow-types.ts';

/** New data for the model's dataset (signal-with-start from `flywheel data arrive` and the events endpoint). */
export const dataArrivedSignal = defineSignal<[DataArrivedSignal]>('dataArrived');
/** A retrain request: by hand (`flywheel pipeline retrain`) or from the Schedule. */
export const retrainSignal = defineSignal<[RetrainSignal & { scheduled?: boolean }]>('retrain');
/** The drift monitor saw drift (the [rollout] issue sends these). */
export const driftSignal = defineSignal<[DriftSignal]>('drift');

export const approveUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalOutcome & { cycle: number; version: number }, [ApprovalDecisionInput]>('reject');
export const statusQuery = defineQuery<LifecycleStatus>('status');

// Internal: cycle → lifecycle.
export const approvalRequestedSignal = defineSignal<[ApprovalRequest]>('approvalRequested');
export const approvalResolvedSignal = defineSignal<[{ cycle: number; outcome: ApprovalOutcome }]>('approvalResolved');
export const cycleProgressSignal = defineSignal<[CycleProgress]>('cycleProgress');
// Internal: lifecycle → cycle.
export const approvalDecisionSignal = defineSignal<[ApprovalOutcome]>('approvalDecision');
