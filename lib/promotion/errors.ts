// A promotion that cannot succeed as asked (the source version or an artifact missing, bytes that
// do not match their checksum, an artifact outside the source store): typed with the failure list's
// type, so the CLI and any workflow that wraps it report it as the permanent failure it is.
import { FAILURE_TYPES, type FailureType } from '../errors.ts';

export class PromotionError extends Error {
  override readonly name = 'PromotionError';
  constructor(
    readonly type: FailureType,
    message: string,
  ) {
    super(message);
  }
}

export const PROMOTION_FAILURES = {
  notFound: FAILURE_TYPES.NotFound,
  corrupt: FAILURE_TYPES.ArtifactCorrupt,
  invalid: FAILURE_TYPES.InvalidConfig,
} as const;
