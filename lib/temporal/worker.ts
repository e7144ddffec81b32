// The one way to create a Temporal worker here, so none runs without the failure mapping
// (lib/temporal/failures.ts). ESLint rejects a `Worker.create` anywhere else.
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { flywheelActivityInterceptors } from './failures.ts';

/** `Worker.create` with Flywheel's activity interceptors first (outermost), before any passed in. */
export function createWorker(options: WorkerOptions): Promise<Worker> {
  const interceptors = options.interceptors ?? {};
  return Worker.create({
    ...options,
    interceptors: { ...interceptors, activity: [flywheelActivityInterceptors, ...(interceptors.activity ?? [])] },
  });
}
