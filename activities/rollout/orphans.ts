// Whether a model's rollout workflow still runs, for `restoreOrphanedRoute`: a rollout that was
// terminated (which runs no code, so no compensation) leaves its canary or shadow on the server.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';

/** `rollout/<model>/v<n>` is running (a closed or unknown one is not). */
export function rolloutRunningVia(client: () => Promise<Client>): (model: string, version: number) => Promise<boolean> {
  return async function rolloutRunning(model, version) {
    try {
      const run = await (await client()).workflow.getHandle(WORKFLOW_IDS.rollout(model, version)).describe();
      return run.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
}
