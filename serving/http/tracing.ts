// One SERVER span per HTTP request when tracing is on (lib/telemetry): started when the request
// arrives, a child of the caller's trace when it sends a W3C traceparent, made the active span
// for the handler (so predict, batcher, inference and log spans nest under it, and an async job's
// StartWorkflow carries it on), and ended with the status when the answer is sent. Registered only
// when tracing is on: off, a request pays nothing at all.
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { activeTracer, contextFromHeaders } from '../../lib/telemetry/index.ts';

/** Probes and scrapes: frequent, uninteresting, and they would drown real traces. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

const SPANS = new WeakMap<FastifyRequest, Span>();

function startRequestSpan(tracer: Tracer, request: FastifyRequest): Span {
  const route = request.routeOptions.url;
  const parent = contextFromHeaders(request.headers);
  return tracer.startSpan(
    route ? `${request.method} ${route}` : request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_URL_PATH]: request.url.split('?')[0]!,
        ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
        'flywheel.request_id': request.id,
      },
    },
    parent,
  );
}

function endRequestSpan(request: FastifyRequest, statusCode: number, aborted = false): void {
  const span = SPANS.get(request);
  if (!span) return;
  SPANS.delete(request);
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
  if (statusCode >= 500 || aborted) span.setStatus({ code: SpanStatusCode.ERROR, ...(aborted ? { message: 'client aborted' } : {}) });
  span.end();
}

/** Adds the request-span hooks when tracing is on; returns whether it did. Call before routes. */
export function registerRequestTracing(app: FastifyInstance): boolean {
  const tracer = activeTracer();
  if (!tracer) return false;
  app.addHook('onRequest', (request, _reply, done) => {
    if (!UNTRACED.has(request.routeOptions.url ?? '')) SPANS.set(request, startRequestSpan(tracer, request));
    done();
  });
  // The handler runs synchronously from this hook's `done`, so running `done` inside the span's
  // context makes it the active span for the handler and everything it awaits.
  app.addHook('preHandler', (request, _reply, done) => {
    const span = SPANS.get(request);
    if (span) context.with(trace.setSpan(context.active(), span), done);
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    endRequestSpan(request, 499, true);
    done();
  });
  return true;
}
