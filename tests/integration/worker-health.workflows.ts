// The workflow bundle of tests/integration/worker-health.test.ts, run by the test's own worker on
// a private queue: each sends one real activity to the spawned CPU worker on flywheel-cpu.
import { proxyActivities } from '@temporalio/workflow';
import type { CommandTrainInput, CommandTrainResult } from '../../lib/contracts/train-model.ts';
import type { WorkerProbe } from '../../lib/contracts/routing-check.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';

interface CpuActivities {
  probeWorker(): Promise<WorkerProbe>;
  trainWithCommand(input: CommandTrainInput): Promise<CommandTrainResult>;
}

const cpu = proxyActivities<CpuActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

/** One quick activity on the CPU worker. */
export async function probeCpuWorker(): Promise<WorkerProbe> {
  return cpu.probeWorker();
}

/** A training command that runs until cancelled: it keeps the worker busy while it drains. */
export async function holdCpuWorker(input: CommandTrainInput): Promise<CommandTrainResult> {
  return cpu.trainWithCommand(input);
}
