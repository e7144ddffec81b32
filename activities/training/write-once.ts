// Model artifacts are write-once (ArtifactStore.putOnce): an attempt to replace one with other bytes
// is permanent, so it reaches the workflow as a non-retryable failure that names the key. The type
// is a local string until lib/errors.ts lists it (ARTIFACT_EXISTS_FAILURE_TYPE).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ARTIFACT_EXISTS_FAILURE_TYPE, ArtifactExistsError } from '../../lib/storage/index.ts';

/** The owner id of the files an attempt writes: its workflow run, which every retry of the run
 * shares (none for an activity started outside a workflow: it replaces nothing). */
export function runOwner(): string | undefined {
  return Context.current().info.workflowExecution?.runId;
}

/** Runs `work`; an ArtifactExistsError becomes a non-retryable `ArtifactExists` failure. */
export async function refusingOverwrites<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof ArtifactExistsError)) throw err;
    const failure = ApplicationFailure.create({
      type: ARTIFACT_EXISTS_FAILURE_TYPE,
      message: err.message,
      nonRetryable: true,
      details: [{ summary: err.message, key: err.key, uri: err.uri, existingSha256: err.existingSha256 }],
    });
    if (err.stack) failure.stack = err.stack;
    throw failure;
  }
}
