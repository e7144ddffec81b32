// One table from Flywheel's domain errors to Temporal failures, and the activity interceptor that
// applies it: activities throw domain errors, and every worker turns them into the same typed
// ApplicationFailure. Kept apart from lib/errors.ts, which workflows import: this module reaches
// into storage, registry and ONNX code that must not enter the workflow bundle.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptors, Next } from '@temporalio/worker';
import { DataValidationError, InvalidPartitionError, SourceNotFoundError } from '../data/errors.ts';
import { SourceSpecError } from '../data/source-spec.ts';
import { FeatureSpecError } from '../features/tabular/spec.ts';
import { FittedFeaturesError } from '../features/tabular/state.ts';
import { InvalidSpecError } from '../data/validation/spec.ts';
import { FAILURE_TYPES, type FailureReport, type FailureType } from '../errors.ts';
import { InvalidModelError } from '../onnx/errors.ts';
import { RegistryNotFoundError } from '../registry/errors.ts';
import { ServingAdminError } from '../rollout/serving-admin.ts';
import { ArtifactCorruptError, ArtifactNotFoundError } from '../storage/errors.ts';
import { TrainerCommandError, TrainerProtocolError } from '../training/command/errors.ts';
import { PreemptedError } from '../training/preemption.ts';

/** How one domain error class (and its subclasses) reaches Temporal. */
export interface FailureMapping<E extends Error = Error> {
  error: abstract new (...args: never[]) => E;
  /** The failure's `type`; workflows match on it, so it never changes for a running history. */
  type: FailureType;
  /** True when retrying cannot help. */
  nonRetryable: boolean;
  /** Maps only the errors this accepts; the rest pass through unchanged. @default every error */
  when?: (err: E) => boolean;
  /** The failure's one detail. @default `{ summary: err.message }` */
  details?: (err: E) => FailureReport | Record<string, unknown>;
}

function row<E extends Error>(mapping: FailureMapping<E>): FailureMapping {
  return mapping as unknown as FailureMapping;
}

/** The table. The first row whose class matches (`instanceof`) wins; the message is the error's own. */
export const FAILURE_MAPPINGS: readonly FailureMapping[] = [
  row({
    error: DataValidationError,
    type: FAILURE_TYPES.DataValidationFailed,
    nonRetryable: true,
    details: (err) => ({
      summary: err.report.summary,
      ...(err.reportUri ? { reportUri: err.reportUri } : {}),
      problems: err.report.problems.filter((p) => p.severity === 'error'),
    }),
  }),
  row({ error: InvalidSpecError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  // The same weights fail the same way on every attempt.
  row({ error: InvalidModelError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  // A command that breaks the trainer protocol is a bug in the command, not bad luck.
  row({ error: TrainerProtocolError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  row({ error: TrainerCommandError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  // Only answers that asking again cannot change (a bad key, a bad request); the rest retry.
  row({ error: ServingAdminError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true, when: (err) => err.permanent }),
  // Specs of the tabular data path (sources, partitions, features, fitted state): the same text
  // fails the same way on every attempt.
  row({ error: SourceSpecError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  row({ error: InvalidPartitionError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  row({ error: FeatureSpecError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  row({ error: FittedFeaturesError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
  // Model, version and alias not found alike (the subclasses).
  row({ error: RegistryNotFoundError, type: FAILURE_TYPES.NotFound, nonRetryable: true }),
  row({
    error: ArtifactNotFoundError,
    type: FAILURE_TYPES.NotFound,
    nonRetryable: true,
    details: (err) => ({ summary: err.message, uri: err.uri }),
  }),
  // A source pattern with no match, like a missing artifact, is not retried into existence.
  row({ error: SourceNotFoundError, type: FAILURE_TYPES.NotFound, nonRetryable: true }),
  // The stored bytes stay corrupt however often they are read again.
  row({
    error: ArtifactCorruptError,
    type: FAILURE_TYPES.ArtifactCorrupt,
    nonRetryable: true,
    details: (err) => ({ summary: err.message, uri: err.uri }),
  }),
  // Retryable: the next attempt resumes from the checkpoint on another machine.
  row({
    error: PreemptedError,
    type: FAILURE_TYPES.Preempted,
    nonRetryable: false,
    details: (err) => ({ checkpointUri: err.checkpointUri, identity: err.identity }),
  }),
];

/** A table with a process's own rows after the library's: an app layer (the inference server's job
 * activities) maps error classes lib/ cannot import through the same mechanism, never its own catch. */
export function failureTable(extra: readonly FailureMapping[] = []): readonly FailureMapping[] {
  return extra.length ? [...FAILURE_MAPPINGS, ...extra] : FAILURE_MAPPINGS;
}

/** The table's row for an error, if any. */
export function failureMappingFor(err: unknown, table: readonly FailureMapping[] = FAILURE_MAPPINGS): FailureMapping | undefined {
  if (!(err instanceof Error) || err instanceof ApplicationFailure) return undefined;
  return table.find((m) => err instanceof m.error && (m.when?.(err) ?? true));
}

/** The ApplicationFailure for a domain error in the table; any other error, unchanged. */
export function toTemporalFailure(err: unknown, table: readonly FailureMapping[] = FAILURE_MAPPINGS): unknown {
  const mapping = failureMappingFor(err, table);
  if (!mapping) return err;
  const domain = err as Error;
  const failure = ApplicationFailure.create({
    type: mapping.type,
    message: domain.message,
    nonRetryable: mapping.nonRetryable,
    details: [mapping.details ? mapping.details(domain) : { summary: domain.message }],
  });
  // The Web UI shows where the domain error was thrown, not this module.
  if (domain.stack) failure.stack = domain.stack;
  return failure;
}

/** Applies the table to whatever an activity throws. */
export class DomainFailureInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly table: readonly FailureMapping[] = FAILURE_MAPPINGS) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      throw toTemporalFailure(err, this.table);
    }
  }
}

/** The activity interceptors every Flywheel worker runs (and activity tests, to see what a worker sends). */
export function flywheelActivityInterceptors(): ActivityInterceptors {
  return { inbound: new DomainFailureInterceptor() };
}

/** The same, with a process's own rows after the library's. */
export function activityInterceptorsWith(extra: readonly FailureMapping[]): () => ActivityInterceptors {
  const table = failureTable(extra);
  return () => ({ inbound: new DomainFailureInterceptor(table) });
}
