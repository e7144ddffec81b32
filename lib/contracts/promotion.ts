// The contract of a cross-environment promotion's approval workflow, which runs in the TARGET
// environment's namespace: the CLI copies and registers the version there first (lib/promotion),
// then this workflow waits for the target's approval (when its spec asks for one) and moves the
// champion alias in the target registry through an activity. Shared by the workflow and the CLI.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { personText } from './person-text.ts';
import { workflowRef } from './workflow-ref.ts';

/** e.g. `promotion/flights-delay/v4` (the target registry's version). */
export function promotionWorkflowId(model: string, targetVersion: number): string {
  return `promotion/${model}/v${targetVersion}`;
}

export interface PromotionApproval {
  mode: 'automatic' | 'manual';
  /** How long a manual approval waits before `default` applies. */
  timeoutMs: number;
  default: 'approve' | 'reject';
}

export interface PromotionInput {
  model: string;
  /** The version registered in the target environment's registry. */
  version: number;
  from: { env: string; version: number; runId: string; datasetVersion: string };
  to: { env: string };
  approval: PromotionApproval;
  /** Who asked for the promotion and why (an automatic approval is recorded in their name). */
  requestedBy: { actor: string; reason: string };
}

export interface PromotionDecisionInput {
  actor: string;
  reason: string;
}

export interface PromotionOutcome {
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  /** True when nobody decided before the deadline and the spec's default applied. */
  timedOut: boolean;
}

export type PromotionStage = 'awaiting-approval' | 'promoting' | 'promoted' | 'rejected';

export interface PromotionStatus {
  model: string;
  version: number;
  from: PromotionInput['from'];
  to: PromotionInput['to'];
  stage: PromotionStage;
  approval: PromotionApproval;
  /** When the default decision applies (manual approvals only). */
  deadline?: string;
  outcome?: PromotionOutcome;
}

export interface PromotionResult {
  model: string;
  version: number;
  outcome: PromotionOutcome;
  /** The champion after the promotion (the promoted version when approved). */
  champion: number | null;
  /** The version the champion alias pointed at before, when it moved. */
  previousChampion: number | null;
}

/** What the target environment's `completePromotion` activity records and does. */
export interface CompletePromotionInput {
  model: string;
  version: number;
  from: PromotionInput['from'];
  outcome: PromotionOutcome;
}

export interface CompletePromotionResult {
  champion: number | null;
  previousChampion: number | null;
}

/** Validator only (an Update's payload is never replayed through it). */
export const promotionDecisionSchema = z.object(
  {
    actor: personText('a decision needs the approver (actor)'),
    reason: personText('a decision needs a reason'),
  },
  'a decision needs { actor, reason }',
);

export const approvePromotionUpdate = defineUpdate<PromotionOutcome, [PromotionDecisionInput]>('approve');
export const rejectPromotionUpdate = defineUpdate<PromotionOutcome, [PromotionDecisionInput]>('reject');
export const promotionStatusQuery = defineQuery<PromotionStatus>('status');

export type PromoteAcrossEnvironmentsWorkflow = (input: PromotionInput) => Promise<PromotionResult>;
export const promoteAcrossEnvironmentsWorkflow = workflowRef<PromoteAcrossEnvironmentsWorkflow>('promoteAcrossEnvironments');
