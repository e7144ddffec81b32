// The batcher's spans (tracing on): each request in a merged run gets, under its own trace, a
// `batcher.queue` span (enqueued → dispatched) and an `inference.run` span (the round trip to the
// ONNX Runtime thread, measured on the main thread), both carrying the run's batch size. One run
// serves many requests, so the run is recorded once per request rather than under one of them.
import type { Context } from '@opentelemetry/api';
import { recordSpan } from '../lib/telemetry/index.ts';

export interface TracedRequest {
  /** The request's context when it was queued; undefined when tracing is off. */
  trace: Context | undefined;
  /** performance.now() when it was queued. */
  queuedAt: number;
  rows: number;
}

function batchAttributes(request: TracedRequest, rows: number, requests: number) {
  return { 'flywheel.rows': request.rows, 'flywheel.batch.rows': rows, 'flywheel.batch.requests': requests };
}

/** Records the queue wait of each traced request of a batch dispatched at `dispatchedAt`. */
export function traceQueueWaits(batch: readonly TracedRequest[], dispatchedAt: number, rows: number): void {
  for (const r of batch)
    if (r.trace) recordSpan('batcher.queue', r.trace, r.queuedAt, dispatchedAt, batchAttributes(r, rows, batch.length));
}

/** Records the inference run (thread round trip) under each traced request of the batch. */
export function traceRun(batch: readonly TracedRequest[], startedAt: number, endedAt: number, rows: number, error?: unknown): void {
  for (const r of batch)
    if (r.trace) recordSpan('inference.run', r.trace, startedAt, endedAt, batchAttributes(r, rows, batch.length), error);
}
