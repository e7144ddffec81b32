// Counts every activity attempt by type, outcome and task queue, with its duration. Passed to
// createWorker as an activity interceptor, inside the failure mapping (lib/temporal/failures.ts),
// so it sees the activity's own error (PreemptedError) and also recognises mapped failures.
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, CompleteAsyncError } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { PreemptedError } from '../../lib/training/preemption.ts';
import type { ActivityOutcome, WorkerMetrics } from './metrics.ts';

/** How an attempt that threw ended, from its error (and whether Temporal cancelled it). */
export function outcomeOf(err: unknown, cancelled: boolean): ActivityOutcome {
  if (err instanceof CompleteAsyncError) return 'async';
  if (err instanceof PreemptedError || (err instanceof ApplicationFailure && err.type === 'Preempted')) return 'preempted';
  if (err instanceof CancelledFailure || cancelled) return 'cancelled';
  return 'failed';
}

/** The activity interceptor factory that records into `metrics`. `now` in ms. */
export function activityMetricsInterceptor(
  metrics: Pick<WorkerMetrics, 'activities' | 'activityDuration' | 'preemptions'>,
  now: () => number = performance.now.bind(performance),
): ActivityInterceptorsFactory {
  return function activityMetrics(ctx: Context) {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const started = now();
        const record = (outcome: ActivityOutcome) => {
          const labels = { activity_type: ctx.info.activityType, outcome, task_queue: ctx.info.taskQueue };
          metrics.activities.inc(labels);
          metrics.activityDuration.observe(labels, (now() - started) / 1000);
          if (outcome === 'preempted') metrics.preemptions.inc({ activity_type: ctx.info.activityType });
        };
        try {
          const result = await next(input);
          record('completed');
          return result;
        } catch (err) {
          record(outcomeOf(err, ctx.cancellationSignal.aborted));
          throw err;
        }
      },
    };
    return { inbound };
  };
}
