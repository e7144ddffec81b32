// Carries out one planned GitOps action against Temporal over an injected client. Every action is
// idempotent, so a reconciler cancelled or terminated mid-apply just runs it again: a start that
// finds the lifecycle running is fine, an updateSpec with the running spec changes nothing, a
// setState to the current state reports `changed: false`.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { modelLifecycleWorkflow, setStateUpdate, updateSpecUpdate, type LifecycleDesiredState } from '../contracts/model-lifecycle.ts';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import { formatSpecChanges } from '../lifecycle/spec-diff.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.ts';
import type { GitopsAction } from './plan.ts';

export interface ActionResult {
  outcome: 'done' | 'unchanged' | 'refused' | 'failed' | 'reported';
  detail: string;
}

export interface ExecuteOptions {
  client: Client;
  /** Who asks (recorded by setState): a user, or `gitops/<env>@<commit>`. */
  actor: string;
  reason: string;
  /** Apply a spec even during a rollout (the rollout keeps the spec it started with). @default false */
  force?: boolean;
  /** Saves the spec where data-arrival events read it (the artifact store), when given. */
  saveSpec?: (spec: ModelSpec) => Promise<unknown>;
}

/** Starts `model/<name>` on the CPU queue; false when it runs already. */
export async function startLifecycle(client: Client, spec: ModelSpec): Promise<boolean> {
  try {
    await client.workflow.start(modelLifecycleWorkflow, {
      workflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
      staticSummary: `lifecycle of ${spec.name}`,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

function refusal(err: unknown): string | undefined {
  if (err instanceof WorkflowUpdateFailedError) return err.cause?.message ?? err.message;
  if (err instanceof WorkflowNotFoundError) return 'the lifecycle is not running';
  return undefined;
}

async function setState(client: Client, model: string, state: LifecycleDesiredState, o: ExecuteOptions): Promise<ActionResult> {
  const r = await client.workflow
    .getHandle(WORKFLOW_IDS.modelLifecycle(model))
    .executeUpdate(setStateUpdate, { args: [{ state, actor: o.actor, reason: o.reason }] });
  return r.changed ? { outcome: 'done', detail: `${r.previous} → ${r.state}` } : { outcome: 'unchanged', detail: `already ${r.state}` };
}

async function update(client: Client, model: string, spec: ModelSpec, o: ExecuteOptions): Promise<ActionResult> {
  const r = await client.workflow
    .getHandle(WORKFLOW_IDS.modelLifecycle(model))
    .executeUpdate(updateSpecUpdate, { args: [{ spec, ...(o.force ? { force: true } : {}) }] });
  await o.saveSpec?.(spec);
  if (r.errors?.length) return { outcome: 'failed', detail: `spec applied, but: ${r.errors.join('; ')}` };
  return r.changes.length
    ? { outcome: 'done', detail: formatSpecChanges(r.changes).replace(/\n/g, '; ') }
    : { outcome: 'unchanged', detail: 'runs this spec' };
}

async function run(action: GitopsAction, o: ExecuteOptions): Promise<ActionResult> {
  const { client } = o;
  switch (action.kind) {
    case 'create': {
      await o.saveSpec?.(action.spec);
      const started = await startLifecycle(client, action.spec);
      // Started by someone else meanwhile (or by an earlier, interrupted pass): bring its spec in step.
      const result = started
        ? { outcome: 'done' as const, detail: `started ${WORKFLOW_IDS.modelLifecycle(action.model)}` }
        : await update(client, action.model, action.spec, o);
      if (action.state === 'paused') {
        const paused = await setState(client, action.model, 'paused', o);
        return { outcome: result.outcome, detail: `${result.detail}; ${paused.detail}` };
      }
      return result;
    }
    case 'update':
      return update(client, action.model, action.spec, o);
    case 'pause':
      return setState(client, action.model, 'paused', o);
    case 'resume':
      return setState(client, action.model, 'active', o);
    case 'retire':
      return setState(client, action.model, 'retired', o);
    case 'unmanaged':
      if (action.retire) return setState(client, action.model, 'retired', o);
      return { outcome: 'reported', detail: 'runs but is not in git (prune: false)' };
  }
}

/** The action's outcome; a refusal by the lifecycle (an Update's validator) is `refused`, not thrown. */
export async function executeAction(action: GitopsAction, options: ExecuteOptions): Promise<ActionResult> {
  try {
    return await run(action, options);
  } catch (err) {
    const why = refusal(err);
    if (why !== undefined) return { outcome: 'refused', detail: why };
    throw err;
  }
}
