// `rollout`: progressive delivery of one approved version (`rollout/<model>/v<n>`), its
// pause/resume/abort Updates and status Query, and the rollout activities' inputs and evidence.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { personText } from './person-text.ts';
import { FAILURE_TYPES } from '../errors.ts';
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
  /**
   * Analyses per run before the rollout continues as new (its history stays bounded: ~11 events a
   * check, so a 24 h hold at 15 s intervals never nears Temporal's 51,200-event limit).
   * @default 100
   */
  checksBeforeContinueAsNew?: number;
  /** Set by the rollout itself when it continues as new: where the previous run was. */
  carried?: RolloutCarry;
}

/** What a rollout carries through continue-as-new (only mid-step, so its route is set). */
export interface RolloutCarry {
  status: RolloutStatus;
  evidence: RolloutEvidence;
  paused: boolean;
  aborted?: string;
  /** ISO: when the current step's window began (its analysis reads from here). */
  since: string;
}

/** The failure type `promoteToChampion` throws when `expectedChampion` no longer holds the alias
 * (someone promoted by hand meanwhile): the rollout records the rollout as superseded and leaves
 * the alias alone. Non-retryable. */
export const CHAMPION_SUPERSEDED = FAILURE_TYPES.ChampionSuperseded;

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

/** `promoting`: every step passed and the promotion began; pause and abort are refused from here. */
export type RolloutState = 'starting' | 'running' | 'paused' | 'promoting' | 'completed' | 'rolled-back' | 'skipped';

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
  /** Analyses so far, over every run. */
  checks?: number;
  /** Runs so far (1 + continue-as-new count). */
  runs?: number;
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
  /** What the rollback did to the champion alias (compare-and-set: a manual promotion is kept). */
  alias?: { action: 'kept' | 'restored' | 'left'; champion: number | null; note: string };
}

const actor = personText('a non-empty actor (who)');
const reason = personText('a non-empty reason (why)');
/** Update payloads, checked by each Update's validator (a refused payload never reaches history). */
export const pauseRolloutInput = z.object({ actor, reason });
export const resumeRolloutInput = z.object({ actor });
export const abortRolloutInput = z.object({ actor, reason });

export const pauseRolloutUpdate = defineUpdate<RolloutStatus, [z.infer<typeof pauseRolloutInput>]>('pause');
export const resumeRolloutUpdate = defineUpdate<RolloutStatus, [z.infer<typeof resumeRolloutInput>]>('resume');
export const abortRolloutUpdate = defineUpdate<RolloutStatus, [z.infer<typeof abortRolloutInput>]>('abort');
export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

export type RolloutWorkflow = (input: RolloutInput) => Promise<RolloutResult>;
export const rolloutWorkflow = workflowRef<RolloutWorkflow>('rollout');
