// routingCheck: runs one probe activity on the CPU queue and one on the GPU queue and returns
// what each worker said about itself. The smallest end-to-end proof that both workers are up
// and that routing by task queue works.
import { proxyActivities } from '@temporalio/workflow';
import type { SystemActivities } from '../activities/system/index.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import type { RoutingCheckInput, RoutingCheckResult } from '../lib/contracts/routing-check.ts';

const probeOptions = {
  startToCloseTimeout: '30 seconds',
  // A missing worker shows up as a schedule-to-start wait in the Web UI, then a clear timeout.
  scheduleToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
} as const;

const onCpu = proxyActivities<SystemActivities>({ ...probeOptions, taskQueue: TASK_QUEUES.cpu });
const onGpu = proxyActivities<SystemActivities>({ ...probeOptions, taskQueue: TASK_QUEUES.gpu });

export async function routingCheck(_input: RoutingCheckInput = {}): Promise<RoutingCheckResult> {
  const [cpu, gpu] = await Promise.all([onCpu.probeWorker(), onGpu.probeWorker()]);
  return { cpu, gpu };
}
