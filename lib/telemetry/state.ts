// Whether this process traces, as one variable read on every hot path: callers check
// `activeTracer()` once and do nothing more when it is undefined (tracing off).
import type { Tracer } from '@opentelemetry/api';

let current: Tracer | undefined;

/** The tracer Flywheel's own spans go to; undefined when tracing is off. */
export function activeTracer(): Tracer | undefined {
  return current;
}

/** Set by startTracing (and cleared by its shutdown); nothing else writes it. */
export function setActiveTracer(tracer: Tracer | undefined): void {
  current = tracer;
}
