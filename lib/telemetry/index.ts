// OpenTelemetry tracing for Flywheel's processes (docs/tracing.md). Off unless FLYWHEEL_TRACING
// is true; then spans go over OTLP/HTTP to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
export { activeTracer } from './state.ts';
export { startTracing, currentTracing, SERVICE_NAMES, TRACER_NAME, type Tracing, type StartTracingOptions } from './provider.ts';
export {
  inSpan,
  failSpan,
  captureContext,
  recordSpan,
  traceHeaders,
  contextFromHeaders,
  activeTraceId,
  annotateActiveSpan,
} from './spans.ts';
export { tracingClientInterceptors, tracingWorkflowModules, tracingWorkerOptions, type WorkerTracing } from './temporal.ts';
