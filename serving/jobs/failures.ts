// The inference server's rows of the one failure table (lib/temporal/failures.ts): its job
// activities throw serving errors, and the server's job worker (createWorker's failureMappings)
// turns them into the same typed failures every other worker sends.
import { FAILURE_TYPES } from '../../lib/errors.ts';
import type { FailureMapping } from '../../lib/temporal/failures.ts';
import { ServingError } from '../errors.ts';
import { WebhookPolicyError } from './webhook.ts';

function row<E extends Error>(mapping: FailureMapping<E>): FailureMapping {
  return mapping as unknown as FailureMapping;
}

export const SERVING_FAILURE_MAPPINGS: readonly FailureMapping[] = [
  // Bad input or an unknown model will not get better; overload and timeouts will (they pass through).
  row({ error: ServingError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true, when: (err) => err.code === 'badRequest' }),
  row({ error: ServingError, type: FAILURE_TYPES.NotFound, nonRetryable: true, when: (err) => err.code === 'notFound' }),
  // A webhook address the policy refuses stays refused.
  row({ error: WebhookPolicyError, type: FAILURE_TYPES.InvalidConfig, nonRetryable: true }),
];
