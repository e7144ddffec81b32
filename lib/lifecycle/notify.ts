// Delivers a data-arrival event to every model lifecycle that consumes the dataset, with
// signal-with-start: the first event creates the workflow, later ones signal it. The event id
// makes delivery idempotent (the workflow ignores an id it has seen). A retired model (its
// lifecycle completed: only `setState retired` ends one normally) is skipped, so an event never
// brings it back; `flywheel pipeline start` does.
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.ts';
import { listModelSpecs } from './specs.ts';
import { dataArrivedSignal, modelLifecycleWorkflow, type DataArrivedSignal } from '../contracts/model-lifecycle.ts';

/** A stable id for an event that came without one: same dataset, partition and files → same id. */
export function eventIdFor(event: Omit<DataArrivedSignal, 'eventId'>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([event.dataset, event.partition, [...event.uris].sort()]))
    .digest('hex');
  return `data-arrived/${event.dataset}/${event.partition}/${digest.slice(0, 12)}`;
}

/** Whether the model's newest lifecycle run completed, i.e. it was retired (`setState`). */
export async function isRetired(client: Client, model: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).describe()).status.name === 'COMPLETED';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Signals (or starts) the lifecycle of every model consuming the dataset; answers the models
 * signalled (retired ones are skipped). */
export async function notifyDataArrived(client: Client, store: ArtifactStore, event: DataArrivedSignal): Promise<string[]> {
  const specs: ModelSpec[] = [];
  for (const spec of await listModelSpecs(store, event.dataset)) if (!(await isRetired(client, spec.name))) specs.push(spec);
  for (const spec of specs) {
    await client.workflow.signalWithStart(modelLifecycleWorkflow, {
      workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [event],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
      staticSummary: `lifecycle of ${spec.name}`,
    });
  }
  return specs.map((s) => s.name);
}
