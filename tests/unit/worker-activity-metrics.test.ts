// The worker's activity interceptor and metrics: every attempt counted once by type, outcome and
// queue, preemptions counted, and the checkpoint-age gauge following a run.
import { ApplicationFailure, CancelledFailure, CompleteAsyncError } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PreemptedError } from '../../lib/training/preemption.ts';
import { activityMetricsInterceptor, outcomeOf } from '../../workers/shared/activity-metrics.ts';
import { createWorkerMetrics } from '../../workers/shared/metrics.ts';

function fakeContext(activityType: string, cancelled = false): Context {
  const controller = new AbortController();
  if (cancelled) controller.abort();
  return { info: { activityType, taskQueue: 'flywheel-gpu' }, cancellationSignal: controller.signal } as unknown as Context;
}

async function run(metrics: ReturnType<typeof createWorkerMetrics>, type: string, body: () => Promise<unknown>, cancelled = false) {
  let t = 1000;
  const factory = activityMetricsInterceptor(metrics, () => (t += 250));
  const inbound = factory(fakeContext(type, cancelled)).inbound!;
  return inbound.execute!({ args: [], headers: {} } as ActivityExecuteInput, body);
}

async function value(metrics: ReturnType<typeof createWorkerMetrics>, name: string, labels: Record<string, string>) {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value;
}

describe('outcomeOf', () => {
  it('names how an attempt ended', () => {
    expect(outcomeOf(new Error('x'), false)).toBe('failed');
    expect(outcomeOf(new Error('x'), true)).toBe('cancelled');
    expect(outcomeOf(new CancelledFailure('c'), false)).toBe('cancelled');
    expect(outcomeOf(new PreemptedError('w', null), false)).toBe('preempted');
    // As the failure mapping (outermost) rewrites it, should the order ever change.
    expect(outcomeOf(ApplicationFailure.create({ type: 'Preempted', message: 'p' }), true)).toBe('preempted');
    expect(outcomeOf(ApplicationFailure.create({ type: 'DatasetInvalid', message: 'd' }), false)).toBe('failed');
    expect(outcomeOf(new CompleteAsyncError(), false)).toBe('async');
  });
});

describe('activityMetricsInterceptor', () => {
  it('counts each attempt once, with its duration, and passes results and errors through', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    await expect(run(metrics, 'probeWorker', async () => 'ok')).resolves.toBe('ok');
    await expect(run(metrics, 'probeWorker', async () => 'ok')).resolves.toBe('ok');
    const boom = new Error('boom');
    await expect(run(metrics, 'probeWorker', () => Promise.reject(boom))).rejects.toBe(boom);

    const q = { activity_type: 'probeWorker', task_queue: 'flywheel-gpu' };
    expect(await value(metrics, 'flywheel_worker_activities_total', { ...q, outcome: 'completed' })).toBe(2);
    expect(await value(metrics, 'flywheel_worker_activities_total', { ...q, outcome: 'failed' })).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'flywheel_worker_activity_duration_seconds_sum{activity_type="probeWorker",outcome="completed",task_queue="flywheel-gpu"} 0.5',
    );
    expect(text).not.toMatch(/^flywheel_worker_preemptions_total\{/m);
  });

  it('counts a preempted training run as a preemption, and a cancelled one as cancelled', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    await expect(run(metrics, 'trainFlightsMlp', () => Promise.reject(new PreemptedError('gpu-1', 's3://b/ckpt')))).rejects.toThrow(
      PreemptedError,
    );
    await expect(run(metrics, 'trainFlightsMlp', () => Promise.reject(new Error('aborted')), true)).rejects.toThrow('aborted');
    expect(await value(metrics, 'flywheel_worker_preemptions_total', { activity_type: 'trainFlightsMlp' })).toBe(1);
    expect(await value(metrics, 'flywheel_worker_activities_total', { outcome: 'preempted' })).toBe(1);
    expect(await value(metrics, 'flywheel_worker_activities_total', { outcome: 'cancelled' })).toBe(1);
  });
});

describe('the checkpoint watch', () => {
  it('reports seconds since the last checkpoint per running run, and forgets a run that ended', async () => {
    let now = 10_000;
    const metrics = createWorkerMetrics({ defaultMetrics: false, now: () => now });
    const a = metrics.checkpoints.run('churn/run-a', { resumed: false });
    metrics.checkpoints.run('churn/run-b', { resumed: true });
    now += 42_000;
    expect(await value(metrics, 'flywheel_worker_checkpoint_age_seconds', { run_key: 'churn/run-a' })).toBe(42);
    a.written();
    now += 5_000;
    expect(await value(metrics, 'flywheel_worker_checkpoint_age_seconds', { run_key: 'churn/run-a' })).toBe(5);
    expect(await value(metrics, 'flywheel_worker_checkpoint_age_seconds', { run_key: 'churn/run-b' })).toBe(47);
    a.end();
    expect(await value(metrics, 'flywheel_worker_checkpoint_age_seconds', { run_key: 'churn/run-a' })).toBeUndefined();
    expect(await value(metrics, 'flywheel_worker_training_resumes_total', {})).toBe(1);
  });
});
