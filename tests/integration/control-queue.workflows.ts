// The workflow bundle of tests/integration/control-queue.test.ts: every real workflow, plus one
// that fills flywheel-cpu's activity slots with a stand-in heavy activity (a batch chunk, a
// training run), so the test can show control work does not wait for those slots.
import { proxyActivities } from '@temporalio/workflow';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';

export * from '../../workflows/index.ts';

export interface HeavyStubActivities {
  /** Holds one flywheel-cpu slot for `ms` (until cancelled). */
  holdCpuSlot(input: { ms: number }): Promise<void>;
}

const { holdCpuSlot } = proxyActivities<HeavyStubActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 1 },
});

/** `holds` heavy activities at once on flywheel-cpu, as a batch job with `maxParallel: holds`. */
export async function saturateCpuQueue(input: { holds: number; ms: number }): Promise<void> {
  await Promise.all(Array.from({ length: input.holds }, () => holdCpuSlot({ ms: input.ms })));
}
