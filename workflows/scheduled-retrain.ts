// scheduledRetrain: what a model's Temporal Schedule starts on its cron or interval. It only asks the
// lifecycle for a retrain (de-duplicated by this run's id), so overlapping or repeated firings
// cannot start more than one cycle.
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { retrainSignal } from '../lib/contracts/model-lifecycle.ts';
import type { ScheduledRetrainInput } from '../lib/contracts/scheduled-retrain.ts';

export async function scheduledRetrain(input: ScheduledRetrainInput): Promise<void> {
  const { workflowId } = workflowInfo();
  await getExternalWorkflowHandle(WORKFLOW_IDS.modelLifecycle(input.model)).signal(retrainSignal, {
    reason: 'scheduled retrain',
    requestedBy: 'schedule',
    eventId: `schedule/${workflowId}`,
    scheduled: true,
  });
}
