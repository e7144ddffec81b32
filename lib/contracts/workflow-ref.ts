// A typed handle on a workflow for code that may not import workflows/ (lib/, serving/, and any
// client): the workflow type name, typed as the workflow function, so `client.workflow.start(ref,
// { args })` checks the arguments and the result like passing the function itself would.
import type { Workflow } from '@temporalio/common';

export type WorkflowRef<F extends Workflow> = F & {
  /** The workflow type name: what histories record, so it never changes. */
  readonly workflowType: string;
};

/**
 * A stand-in function named `workflowType` (the SDK reads a workflow's type from the function's
 * name). It is only ever passed to a Temporal client; calling it throws.
 */
export function workflowRef<F extends Workflow>(workflowType: string): WorkflowRef<F> {
  const ref = function workflowReference(): never {
    throw new Error(`${workflowType} is a workflow: start it with a Temporal client`);
  };
  Object.defineProperty(ref, 'name', { value: workflowType });
  return Object.assign(ref, { workflowType }) as unknown as WorkflowRef<F>;
}
