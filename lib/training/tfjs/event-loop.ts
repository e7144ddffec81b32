// TF.js ops run synchronously on the thread that called them, and a worker process trains on the
// same thread that dispatches workflow tasks, heartbeats and control activities. The training
// loop hands that thread back every few milliseconds so none of them waits on a whole epoch.
import { performance } from 'node:perf_hooks';

/** @default 10 */
export const DEFAULT_TRAINING_SLICE_MS = 10;

/** Resolves on the next turn of the event loop, after pending I/O callbacks and timers. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A `maybeYield()` that yields once at least `sliceMs` of synchronous work ran since the last
 * yield, so small steps do not pay a turn each and large ones never hold the thread for long. */
export function createYielder(sliceMs: number = DEFAULT_TRAINING_SLICE_MS): { maybeYield: () => Promise<void> } {
  let since = performance.now();
  return {
    async maybeYield() {
      if (performance.now() - since < sliceMs) return;
      await nextTurn();
      since = performance.now();
    },
  };
}
