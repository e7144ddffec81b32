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
