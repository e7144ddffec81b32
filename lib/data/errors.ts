// A data problem that no retry can fix: the input broke a hard rule or cannot be read. Carries
// the report; lib/temporal/failures.ts turns it into a non-retryable DataValidationFailed failure.
import type { ValidationReport } from './validation/report.ts';

export class DataValidationError extends Error {
  override readonly name = 'DataValidationError';
  constructor(
    readonly report: ValidationReport,
    readonly reportUri?: string,
  ) {
    super(report.summary);
  }
}

/** A source names no data: a glob or prefix with no match, an unknown scheme, a missing
 * connection-string variable. `pattern` is what the spec said. */
export class SourceNotFoundError extends Error {
  override readonly name = 'SourceNotFoundError';
  constructor(
    readonly pattern: string,
    message: string,
  ) {
    super(message);
  }
}

/** A partition name that cannot be a path segment or does not match its partitioning. */
export class InvalidPartitionError extends Error {
  override readonly name = 'InvalidPartitionError';
}
