// Small span helpers over the OpenTelemetry API. Each takes the tracer from activeTracer() and
// costs one check when tracing is off.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { activeTracer } from './state.ts';

/** Runs `fn` inside a new child span of the active one; the span ends when `fn` settles and
 * records its error. Off: just `fn()`. */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return fn(undefined);
  return tracer.startActiveSpan(name, { attributes, kind: SpanKind.INTERNAL }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` failed with `err`. */
export function failSpan(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/** The active context, captured to parent spans recorded later (the batcher's); undefined when off. */
export function captureContext(): Context | undefined {
  return activeTracer() ? context.active() : undefined;
}

/**
 * Records a span that already happened, under `parent`: for work measured outside the caller's
 * async context (a batched run serving many requests). Times are performance.now() values.
 */
export function recordSpan(name: string, parent: Context, startMs: number, endMs: number, attributes: Attributes, error?: unknown): void {
  const tracer = activeTracer();
  if (!tracer) return;
  const span = tracer.startSpan(name, { attributes, startTime: startMs }, parent);
  if (error !== undefined) failSpan(span, error);
  span.end(endMs);
}

/** W3C trace-context headers for an outgoing request from the active span; {} when off. */
export function traceHeaders(): Record<string, string> {
  if (!activeTracer()) return {};
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** The context an incoming request's traceparent/tracestate headers carry (the active one when
 * they carry none). */
export function contextFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(context.active(), headers);
}

/** The active span's trace id, for logs and answers; undefined when off or outside a span. */
export function activeTraceId(): string | undefined {
  if (!activeTracer()) return undefined;
  const span = trace.getActiveSpan();
  return span?.spanContext().traceId;
}

/** Adds attributes to the active span (an id learnt mid-request); nothing when off. */
export function annotateActiveSpan(attributes: Attributes): void {
  if (!activeTracer()) return;
  trace.getActiveSpan()?.setAttributes(attributes);
}
