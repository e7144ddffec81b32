// What runs in a namespace: every running `modelLifecycle` workflow with its spec and state, read
// with the lifecycle's own Queries, over an injected client (CLI and reconciler activity alike).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { specQuery, statusQuery, type LifecycleDesiredState } from '../contracts/model-lifecycle.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../temporal/constants.ts';
import type { ObservedLifecycle } from './plan.ts';

const LIFECYCLE_PREFIX = WORKFLOW_IDS.modelLifecycle('');

/** The owner-set state from the `status` Query; lifecycles without setState support read `active`. */
export function observedState(status: unknown): LifecycleDesiredState {
  const s = status as { desiredState?: unknown; state?: unknown } | null;
  const v = s?.desiredState ?? s?.state;
  return v === 'paused' || v === 'retired' ? v : 'active';
}

/** The model names of running lifecycles (visibility: may lag a start by a second). */
export async function listRunningLifecycles(client: Client): Promise<string[]> {
  const names: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = 'modelLifecycle' AND ExecutionStatus = 'Running'` }))
    if (w.workflowId.startsWith(LIFECYCLE_PREFIX)) names.push(w.workflowId.slice(LIFECYCLE_PREFIX.length));
  return [...new Set(names)].sort();
}

/** One lifecycle's spec and state; undefined when it is not running. */
export async function observeLifecycle(client: Client, model: string): Promise<ObservedLifecycle | undefined> {
  const handle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
  try {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') return undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  try {
    const [spec, status] = await Promise.all([handle.query(specQuery), handle.query(statusQuery)]);
    return { name: model, spec, state: observedState(status) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined; // it ended between the two calls
    // A query is answered by a worker: without one polling, the server's bare "Failed to query
    // Workflow" says nothing about where to look.
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${handle.workflowId} runs but did not answer its spec Query (${why}); is a CPU worker polling ${TASK_QUEUES.cpu} in namespace ${client.options.namespace}?`,
      { cause: err },
    );
  }
}

/**
 * The running lifecycles: those visibility lists plus `alsoCheck` (the models git names, read
 * directly, so a lifecycle started a moment ago is not taken for missing).
 */
export async function observeLifecycles(client: Client, alsoCheck: readonly string[] = []): Promise<ObservedLifecycle[]> {
  const names = [...new Set([...(await listRunningLifecycles(client)), ...alsoCheck])].sort();
  const out: ObservedLifecycle[] = [];
  for (const name of names) {
    const o = await observeLifecycle(client, name);
    if (o) out.push(o);
  }
  return out;
}
