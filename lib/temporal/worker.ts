// The one way to create a Temporal worker here, so none runs without the failure mapping
// (lib/temporal/failures.ts). ESLint rejects a `Worker.create` anywhere else.
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { activityInterceptorsWith, type FailureMapping } from './failures.ts';
import { tracingWorkerOptions } from '../telemetry/temporal.ts';

export interface FlywheelWorkerOptions extends WorkerOptions {
  /** Rows for this process's own error classes, after the library's table (lib/temporal/failures.ts). */
  failureMappings?: readonly FailureMapping[];
}

type ClientWorkflowInterceptors = NonNullable<NonNullable<WorkerOptions['interceptors']>['client']>['workflow'];

/** The list form of a worker's client workflow interceptors (the SDK's older object form is refused). */
function asArray(workflow: ClientWorkflowInterceptors): WorkflowClientInterceptor[] {
  if (workflow === undefined) return [];
  if (!Array.isArray(workflow)) throw new TypeError('client workflow interceptors must be a list to combine with tracing');
  return workflow;
}

/** `Worker.create` with Flywheel's activity interceptors first (outermost), before any passed in;
 * with tracing on (lib/telemetry), Temporal's OpenTelemetry interceptors and span sink next. */
export function createWorker(options: FlywheelWorkerOptions): Promise<Worker> {
  const { failureMappings = [], ...workerOptions } = options;
  const interceptors = workerOptions.interceptors ?? {};
  // Off: nothing is added, so the workflow bundle and its histories are unchanged.
  const tracing = tracingWorkerOptions();
  return Worker.create({
    ...workerOptions,
    interceptors: {
      ...interceptors,
      activity: [activityInterceptorsWith(failureMappings), ...(tracing?.interceptors.activity ?? []), ...(interceptors.activity ?? [])],
      ...(tracing
        ? {
            workflowModules: [...(interceptors.workflowModules ?? []), ...tracing.interceptors.workflowModules],
            client: { ...interceptors.client, workflow: [...tracing.clientWorkflow, ...asArray(interceptors.client?.workflow)] },
          }
        : {}),
    },
    ...(tracing ? { sinks: { ...workerOptions.sinks, ...tracing.sinks } } : {}),
  });
}
