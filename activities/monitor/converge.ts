// Brings `monitor/<model>` in step with a spec's `monitor` section, for both callers: the cycle
// after a promotion (`ensureDriftMonitor`) and the lifecycle after a spec change
// (`applyMonitorSettings`). A running monitor is sent the settings (`updateMonitorSettings`: it
// keeps its state, applies them from its next check, and ends on `enabled: false`); a missing one
// is started only when the caller says there is something to watch (signal-with-start, so the
// settings reach it whether it ran or not; a monitor ignores settings it already has).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { driftMonitorWorkflow, updateMonitorSettingsSignal, type DriftMonitorInput } from '../../lib/contracts/drift-monitor.ts';

export type MonitorSpecOf = Pick<ModelSpec, 'name' | 'data' | 'monitor'>;

/** started: none ran and one was started; signalled: a running one got the settings; none: none runs and none was due. */
export type ConvergeOutcome = 'started' | 'signalled' | 'none';

export async function convergeDriftMonitor(client: Client, spec: MonitorSpecOf, options: { start: boolean }): Promise<ConvergeOutcome> {
  const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
  const signal = async (): Promise<ConvergeOutcome> => {
    try {
      await client.workflow.getHandle(workflowId).signal(updateMonitorSettingsSignal, { monitor: spec.monitor });
      return 'signalled';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'none';
      throw err;
    }
  };
  if (!options.start || !spec.monitor.enabled) return signal();
  const args: [DriftMonitorInput] = [
    { model: spec.name, dataset: spec.data.dataset, monitor: spec.monitor, lifecycleWorkflowId: WORKFLOW_IDS.modelLifecycle(spec.name) },
  ];
  // Only for the answer: signal-with-start itself is atomic, starting the monitor or signalling it.
  const running = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  await client.workflow.signalWithStart(driftMonitorWorkflow, {
    workflowId,
    taskQueue: TASK_QUEUES.cpu,
    args,
    signal: updateMonitorSettingsSignal,
    signalArgs: [{ monitor: spec.monitor }],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
    staticSummary: `drift and SLO monitor of ${spec.name}, every ${spec.monitor.interval}`,
  });
  return running ? 'signalled' : 'started';
}
