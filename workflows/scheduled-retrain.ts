// scheduledRetrain: what a model's Temporal Schedule starts on its cron or interval. It only asks the
// lifecycle for a retrain (de-duplicated by this run's id), so overlapping or repeated firings
// cannot start more than one cycle.
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { retrainSignal } from './lifecycle-messages.ts';

export async function scheduledRetrain(input: { model: string }): Promise<void> {
  const { workflowId } = workflowInfo();
  await getExternalWorkflowHandle(WORKFLOW_IDS.modelLifecycle(input.model)).signal(retrainSignal, {
    reason: 'scheduled retrain',
    requestedBy: 'schedule',
    eventId: `schedule/${workflowId}`,
    scheduled: true,
  });
}
