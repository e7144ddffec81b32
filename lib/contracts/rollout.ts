// `rollout`: progressive delivery of one approved version (`rollout/<model>/v<n>`), its
// pause/resume/abort Updates and status Query, and the rollout activities' inputs and evidence.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { AnalysisCriteria, ArmStats, StepJudgement } from '../rollout/analysis.ts';
import type { ServingRoute } from './serving-admin.ts';
import { workflowRef } from './workflow-ref.ts';

export interface RolloutInput {
  model: string;
  /** The approved version being rolled out. */
  challenger: number;
  plan: ModelSpec['rollout'];
  /** Who approved and why: recorded with the promotion. */
  approvedBy: string;
  reason: string;
}

/** How a `rollout` ended. */
export interface RolloutResult {
  /** `skipped`: nothing to compare with (no champion yet) or no steps; promoted directly. */
  outcome: 'completed' | 'rolled-back' | 'skipped';
  model: string;
  challenger: number;
  /** The champion after the rollout. */
  champion: number | null;
  reason: string;
  evidenceUri?: string;
}

export type RolloutState = 'starting' | 'running' | 'paused' | 'completed' | 'rolled-back' | 'skipped';

export interface RolloutStatus {
  model: string;
  challenger: number;
  champion: number | null;
  state: RolloutState;
  /** 0-based index of the current step; equals steps.length once every step passed. */
  step: number;
  steps: number;
  heldMs: number;
  pausedBy?: string;
  resumedBy?: string;
  last?: { verdict: StepAnalysis['verdict']; reasons: string[]; challengerSamples: number; championSamples: number };
}

/** Input of `setRolloutRoute`. */
export interface RouteInput {
  model: string;
  champion: number;
  challenger: number;
  /** A shadow step mirrors traffic; otherwise `weight` percent is answered by the challenger. */
  shadow: boolean;
  weight: number;
}

/** Input of `analyzeRolloutStep`. */
export interface AnalyzeInput {
  model: string;
  champion: number;
  challenger: number;
  shadow: boolean;
  /** A full canary: the champion only scores a mirror of the traffic (see `setRolloutRoute`). */
  championShadow: boolean;
  /** ISO: the step began. */
  since: string;
  criteria: AnalysisCriteria;
}

export interface StepAnalysis extends StepJudgement {
  window: { since: string; until: string };
  champion: ArmStats;
  challenger: ArmStats;
}

export interface RolloutEvidence {
  model: string;
  challenger: number;
  champion: number | null;
  outcome: 'completed' | 'rolled-back';
  reason: string;
  steps: Array<{ index: number; plan: { shadow: boolean; weight: number }; route: ServingRoute | null; analysis: StepAnalysis | null }>;
}

export const pauseRolloutUpdate = defineUpdate<RolloutStatus, [{ actor: string; reason: string }]>('pause');
export const resumeRolloutUpdate = defineUpdate<RolloutStatus, [{ actor: string }]>('resume');
export const abortRolloutUpdate = defineUpdate<RolloutStatus, [{ actor: string; reason: string }]>('abort');
export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

export type RolloutWorkflow = (input: RolloutInput) => Promise<RolloutResult>;
export const rolloutWorkflow = workflowRef<RolloutWorkflow>('rollout');
