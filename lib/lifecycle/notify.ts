// Delivers a data-arrival event to every model lifecycle that consumes the dataset, with
// signal-with-start: the first event creates the workflow, later ones signal it. The event id
// makes delivery idempotent (the workflow ignores an id it has seen).
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
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

export async function notifyDataArrived(client: Client, store: ArtifactStore, event: DataArrivedSignal): Promise<string[]> {
  const specs = await listModelSpecs(store, event.dataset);
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
