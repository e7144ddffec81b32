// The inference server's job activities throw serving errors; the job worker's rows of the one
// failure table (serving/jobs/failures.ts) decide which are permanent. Run through the same
// interceptor factory createWorker installs.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { parseWebhookPolicy } from '../../lib/net/webhook-policy.ts';
import { activityInterceptorsWith } from '../../lib/temporal/failures.ts';
import { ServingError } from '../../serving/errors.ts';
import { createServingActivities } from '../../serving/jobs/activities.ts';
import { SERVING_FAILURE_MAPPINGS } from '../../serving/jobs/failures.ts';
import type { Predict } from '../../serving/predictor.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

function activities(predict: Predict, secret: string | undefined = 's3cret') {
  return createServingActivities({
    predict,
    ready: () => Promise.resolve(),
    logger: quiet as never,
    webhook: { policy: parseWebhookPolicy(['hooks.example.com']), secret },
    // Never touched: these jobs carry their instances inline and these bodies no predictions key.
    store: undefined as never,
  });
}

async function run<A extends unknown[]>(fn: (...args: A) => Promise<unknown>, ...args: A): Promise<unknown> {
  const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [activityInterceptorsWith(SERVING_FAILURE_MAPPINGS)] });
  return env.run(fn, ...args).then(
    () => undefined,
    (err: unknown) => err,
  );
}

const job = { jobId: 'job-1', model: 'm', instances: [] };

describe('serving job failures (one table, the server rows)', () => {
  it('makes a bad request permanent InvalidConfig with the server message', async () => {
    const err = await run(
      activities(() => Promise.reject(new ServingError('badRequest', 'instances[0].date: not a timestamp'))).scoreJob,
      job,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true, message: 'instances[0].date: not a timestamp' });
  });

  it('makes an unknown model permanent NotFound', async () => {
    const err = await run(activities(() => Promise.reject(new ServingError('notFound', 'model "m" is not served here'))).scoreJob, job);
    expect(err).toMatchObject({ type: 'NotFound', nonRetryable: true });
  });

  it('lets overload and timeouts retry (unchanged errors)', async () => {
    for (const code of ['overloaded', 'timeout'] as const) {
      const thrown = new ServingError(code, `${code} now`);
      const err = await run(activities(() => Promise.reject(thrown)).scoreJob, job);
      expect(err, code).toBe(thrown);
    }
  });

  it('makes a webhook address the policy refuses permanent', async () => {
    const refused = await run(activities(() => Promise.reject(new Error('unused'))).deliverWebhook, {
      url: 'http://169.254.169.254/latest',
      body: {},
    });
    expect(refused).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
  });
});
