// Errors from building or loading ONNX models. lib/temporal/failures.ts maps InvalidModelError to
// a non-retryable InvalidConfig failure: the same weights will fail the same way again.

export class InvalidModelError extends Error {
  override readonly name = 'InvalidModelError';
}
