// Temporal's OpenTelemetry interceptors (@temporalio/interceptors-opentelemetry), when tracing is
// on: the client puts its StartWorkflow span into the workflow's headers, the workflow's spans
// (RunWorkflow, StartActivity) reach the exporter through a sink, and each activity runs in a
// RunActivity span. Off, every helper returns nothing, so the workflow bundle, its interceptors
// and the histories are exactly what they are without tracing.
import { createRequire } from 'node:module';
import type { ClientInterceptors, WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  type OpenTelemetrySinks,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { currentTracing } from './provider.ts';

const require = createRequire(import.meta.url);

/** Client interceptors for a new Client; undefined when tracing is off. */
export function tracingClientInterceptors(): ClientInterceptors | undefined {
  return currentTracing() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

/** The workflow interceptor module to bundle with the workflows; [] when tracing is off. Pass it
 * to bundleWorkflowCode's workflowInterceptorModules when a worker gets a prebuilt bundle. */
export function tracingWorkflowModules(): string[] {
  return currentTracing() ? [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')] : [];
}

export interface WorkerTracing {
  interceptors: { workflowModules: string[]; activity: ActivityInterceptorsFactory[] };
  /** For clients made from the worker's connection inside activities. */
  clientWorkflow: WorkflowClientInterceptor[];
  sinks: InjectedSinks<OpenTelemetrySinks>;
}

/** What a worker adds for tracing; undefined when tracing is off. */
export function tracingWorkerOptions(): WorkerTracing | undefined {
  const tracing = currentTracing();
  if (!tracing) return undefined;
  const activity: ActivityInterceptorsFactory = (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
  return {
    interceptors: {
      workflowModules: tracingWorkflowModules(),
      activity: [activity],
    },
    clientWorkflow: [new OpenTelemetryWorkflowClientInterceptor()],
    // The workflow sandbox cannot export; its finished spans come out through this sink (called
    // only for new events, never during replay) into the same processor as everything else.
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
