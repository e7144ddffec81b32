// Flywheel's failure types, one list. Permanent failures are thrown as non-retryable
// ApplicationFailures whose `type` is one of these, with a human-readable report in details;
// lib/temporal/failures.ts maps domain errors to them.
import { ApplicationFailure } from '@temporalio/common';

export const FAILURE_TYPES = {
  /** Configuration or a job spec is invalid; retrying cannot help. */
  InvalidConfig: 'InvalidConfig',
  /** Input data broke a hard validation rule. */
  DataValidationFailed: 'DataValidationFailed',
  /** A candidate model failed its quality gates. */
  QualityGateFailed: 'QualityGateFailed',
  /** A named model, version, alias or artifact does not exist. */
  NotFound: 'NotFound',
  /** A stored artifact's bytes do not match its recorded checksum. */
  ArtifactCorrupt: 'ArtifactCorrupt',
  /** The worker was preempted (spot notice); retryable, on its own budget. */
  Preempted: 'Preempted',
  /** More preemptions than a training job's preemption budget allows. */
  PreemptionBudgetExhausted: 'PreemptionBudgetExhausted',
  /** The champion alias moved (a promotion by hand) since a rollout captured it: nothing to overwrite. */
  ChampionSuperseded: 'ChampionSuperseded',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/** Failure types that retrying cannot fix; workflows list them in `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = [
  FAILURE_TYPES.InvalidConfig,
  FAILURE_TYPES.DataValidationFailed,
  FAILURE_TYPES.QualityGateFailed,
  FAILURE_TYPES.NotFound,
  FAILURE_TYPES.ArtifactCorrupt,
  FAILURE_TYPES.PreemptionBudgetExhausted,
  FAILURE_TYPES.ChampionSuperseded,
];

export interface FailureReport {
  /** One line a person reads first (shown in the Web UI). */
  summary: string;
  /** Where the full report lives, when it is an artifact. */
  reportUri?: string;
  [key: string]: unknown;
}

/** A permanent failure: non-retryable, typed, with a report. */
export function permanentFailure(type: FailureType, report: FailureReport): ApplicationFailure {
  return ApplicationFailure.create({ type, message: report.summary, nonRetryable: true, details: [report] });
}

/** The error at the bottom of a `cause` chain ("Activity task failed" → the activity's own error):
 * the one a person can act on. */
export function innermostError(err: Error): Error {
  let current = err;
  for (let depth = 0; current.cause instanceof Error && depth < 20; depth++) current = current.cause;
  return current;
}
