// Flywheel's own worker metrics, in a registry of the process's (tests build several): activities
// by type and outcome, their durations, training checkpoint age, preemptions and resumes, and
// prom-client's default Node metrics under their standard names (process_cpu_seconds_total,
// nodejs_eventloop_lag_seconds), so stock dashboards work unchanged.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckpointWatch } from '../../lib/training/checkpoint-watch.ts';
import type { DriftCheckWatch } from '../../activities/monitor/index.ts';

/** How an activity attempt ended: the label values of `outcome`. */
export const ACTIVITY_OUTCOMES = ['completed', 'failed', 'cancelled', 'preempted', 'async'] as const;
export type ActivityOutcome = (typeof ACTIVITY_OUTCOMES)[number];

export interface WorkerMetricsOptions {
  /** Collect prom-client's default process and Node metrics. @default true */
  defaultMetrics?: boolean;
  /** @default Date.now */
  now?: () => number;
}

export function createWorkerMetrics(options: WorkerMetricsOptions = {}) {
  const registry = new Registry();
  const now = options.now ?? Date.now;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const activities = new Counter({
    name: 'flywheel_worker_activities_total',
    help: 'Activity attempts this process finished, by activity type, outcome and task queue.',
    labelNames: ['activity_type', 'outcome', 'task_queue'] as const,
    registers: [registry],
  });
  const activityDuration = new Histogram({
    name: 'flywheel_worker_activity_duration_seconds',
    help: 'Wall time of one activity attempt, by activity type, outcome and task queue.',
    labelNames: ['activity_type', 'outcome', 'task_queue'] as const,
    // From a registry lookup (ms) to a training run (an hour).
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const preemptions = new Counter({
    name: 'flywheel_worker_preemptions_total',
    help: 'Activities given back on a preemption notice (SIGTERM on a spot GPU worker), by activity type.',
    labelNames: ['activity_type'] as const,
    registers: [registry],
  });
  const resumes = new Counter({
    name: 'flywheel_worker_training_resumes_total',
    help: 'Training runs that resumed from a checkpoint instead of starting over.',
    registers: [registry],
  });
  // Raw check verdicts, before the monitor's hysteresis decides whether to alert the lifecycle.
  const driftChecks = new Counter({
    name: 'flywheel_monitor_drift_checks_total',
    help: 'Drift/SLO checks the drift monitor ran on this worker, by model and result (breach, clear, unknown: not judged).',
    labelNames: ['model', 'result'] as const,
    registers: [registry],
  });

  // Per running training: when it started and when it last wrote a checkpoint. Gauge values are
  // computed at scrape time, and a run's series goes away when the run ends.
  const runs = new Map<string, { since: number }>();
  new Gauge({
    name: 'flywheel_worker_checkpoint_age_seconds',
    help: 'Seconds since a running training run last wrote a checkpoint (since it started, before its first).',
    labelNames: ['run_key'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [runKey, run] of runs) this.set({ run_key: runKey }, (now() - run.since) / 1000);
    },
  });

  const checkpoints: CheckpointWatch = {
    run(runKey, { resumed }) {
      if (resumed) resumes.inc();
      const run = { since: now() };
      runs.set(runKey, run);
      return {
        written: () => void (run.since = now()),
        end: () => {
          if (runs.get(runKey) === run) runs.delete(runKey);
        },
      };
    },
  };

  const driftCheckWatch: DriftCheckWatch = (model, result) => driftChecks.inc({ model, result });

  return { registry, activities, activityDuration, preemptions, resumes, checkpoints, driftChecks, driftCheckWatch };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
