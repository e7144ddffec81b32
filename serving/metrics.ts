// Prometheus metrics for the server, in a registry of its own (tests run several servers in one
// process). Labels stay low-cardinality: model, version, outcome.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { CounterSlots, SlotHistogram } from './metric-slots.ts';

export function createServingMetrics() {
  const registry = new Registry();
  // What every request counts goes through slots bound once per label set (serving/metric-slots.ts),
  // added to the counters when they are scraped.
  const slots = {
    cache: new CounterSlots(['model', 'result'] as const),
    requests: new CounterSlots(['route', 'status'] as const),
    predictions: new CounterSlots(['model', 'version', 'arm'] as const),
  };
  // Standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds): stock Node
  // dashboards and alerts work as they are; the pod's labels tell the processes apart.
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    slots,
    latency: new SlotHistogram({
      name: 'flywheel_serving_predict_latency_seconds',
      help: 'Time to answer a predict request, by model version that served it.',
      labelNames: ['model', 'version'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchSize: new SlotHistogram({
      name: 'flywheel_serving_batch_size',
      help: 'Rows per ONNX Runtime run.',
      labelNames: ['model', 'version'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'flywheel_serving_queue_rows',
      help: 'Rows waiting in the dynamic batcher.',
      labelNames: ['model', 'version'] as const,
      registers: [registry],
    }),
    cache: new Counter({
      name: 'flywheel_serving_cache_total',
      help: 'Response cache lookups by result (hit, miss).',
      labelNames: ['model', 'result'] as const,
      registers: [registry],
      collect() {
        slots.cache.flushInto(this);
      },
    }),
    unseenCategories: new Counter({
      name: 'flywheel_unseen_category_total',
      help: 'Categorical values outside the fitted vocabulary (encoded in the unseen bucket), by model and feature.',
      labelNames: ['model', 'feature'] as const,
      registers: [registry],
    }),
    shed: new Counter({
      name: 'flywheel_serving_shed_total',
      help: 'Requests refused to protect latency (queue_full, timeout, rate_limited).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    requests: new Counter({
      name: 'flywheel_serving_requests_total',
      help: 'HTTP requests by route and status code.',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
      collect() {
        slots.requests.flushInto(this);
      },
    }),
    // Real-time answers also count in flywheel_serving_predictions_total; batch answers only here
    // (they were scored by the batch job, and are not in the prediction log either).
    layerAnswers: new Counter({
      name: 'flywheel_serving_layer_predictions_total',
      help: 'Predictions answered by the lambda read path, by model and layer (batch, realtime), and real-time answers given because the batch layer was unreadable (fallback="unavailable").',
      labelNames: ['model', 'layer', 'fallback'] as const,
      registers: [registry],
    }),
    predictions: new Counter({
      name: 'flywheel_serving_predictions_total',
      help: 'Instances scored, by model version and arm (champion, canary, shadow).',
      labelNames: ['model', 'version', 'arm'] as const,
      registers: [registry],
      collect() {
        slots.predictions.flushInto(this);
      },
    }),
    logWritten: new Counter({
      name: 'flywheel_serving_prediction_log_written_total',
      help: 'Prediction log rows written to the database.',
      registers: [registry],
    }),
    logDropped: new Counter({
      name: 'flywheel_serving_prediction_log_dropped_total',
      help: 'Prediction log rows dropped, by reason (buffer_full, shutdown, unstorable).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    logQuarantined: new Counter({
      name: 'flywheel_serving_prediction_log_quarantined_total',
      help: 'Prediction log rows the database refused for their content, set aside in prediction_log_quarantine.',
      registers: [registry],
    }),
    logFailures: new Gauge({
      name: 'flywheel_serving_prediction_log_consecutive_failures',
      help: 'Prediction log writes failed in a row (0 when the last one succeeded); a rising value is a stuck writer.',
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'flywheel_serving_breaker_state',
      help: 'Circuit breaker state by dependency: 0 closed, 1 half-open (one trial call), 2 open (calls fail at once).',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    breakerTransitions: new Counter({
      name: 'flywheel_serving_breaker_transitions_total',
      help: 'Circuit breaker state changes by dependency and the state entered (open, half-open, closed).',
      labelNames: ['dependency', 'state'] as const,
      registers: [registry],
    }),
    breakerRejections: new Counter({
      name: 'flywheel_serving_breaker_rejections_total',
      help: 'Calls refused without reaching the dependency because its circuit was open.',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    logBuffered: new Gauge({
      name: 'flywheel_serving_prediction_log_buffered',
      help: 'Prediction log rows waiting to be written.',
      registers: [registry],
    }),
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
