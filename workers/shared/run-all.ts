// Runs the workers of one process together: the CPU worker process serves flywheel-cpu and
// flywheel-control. When one stops (a shutdown or a fatal error) the others stop too, so the
// process never lives on half-served.
import type { Worker } from '@temporalio/worker';

/** Shuts `worker` down unless it is already stopping or stopped. */
export function shutdownIfRunning(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}

/** Resolves when every worker has stopped; rejects with the first worker's error, if any. */
export async function runAll(workers: readonly Worker[]): Promise<void> {
  const results = await Promise.allSettled(
    workers.map((w) =>
      w.run().finally(() => {
        for (const other of workers) if (other !== w) shutdownIfRunning(other);
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
