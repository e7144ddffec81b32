// The one way to create a Temporal worker here, so none runs without the failure mapping
// (lib/temporal/failures.ts). ESLint rejects a `Worker.create` anywhere else.
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { activityInterceptorsWith, type FailureMapping } from './failures.ts';

export interface FlywheelWorkerOptions extends WorkerOptions {
  /** Rows for this process's own error classes, after the library's table (lib/temporal/failures.ts). */
  failureMappings?: readonly FailureMapping[];
}

/** `Worker.create` with Flywheel's activity interceptors first (outermost), before any passed in. */
export function createWorker(options: FlywheelWorkerOptions): Promise<Worker> {
  const { failureMappings = [], ...workerOptions } = options;
  const interceptors = workerOptions.interceptors ?? {};
  return Worker.create({
    ...workerOptions,
    interceptors: { ...interceptors, activity: [activityInterceptorsWith(failureMappings), ...(interceptors.activity ?? [])] },
  });
}
