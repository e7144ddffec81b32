// What the HTTP routes need, built once by the server and passed to each route module.
import type { ServeSettings } from '../../lib/config/index.ts';
import type { Database } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import type { BreakerSnapshot } from '../../lib/resilience/breaker.ts';
import type { WebhookPolicy } from '../../lib/net/webhook-policy.ts';
import type { JobsClient } from '../jobs/client.ts';
import type { ServingMetrics } from '../metrics.ts';
import type { ModelManager } from '../models.ts';
import type { Predict } from '../predictor.ts';
import type { PredictLayered } from '../batch-layer/serve.ts';
import type { PredictionLogState } from '../prediction-log.ts';
import type { Authenticate, LimitRows } from './auth.ts';
import type { DataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';

export interface ServingContext {
  settings: Pick<ServeSettings, 'maxInstances' | 'bodyLimitBytes' | 'accessLogSample' | 'accessLogSlowMs' | 'tls'>;
  models: ModelManager;
  predict: Predict;
  /** A predict that may answer from the batch layer (docs/batch-layer.md). */
  predictLayered: PredictLayered;
  authenticate: Authenticate;
  /** Charges a key for the instances of a request (the row limit); throws 429 past it. */
  limitRows: LimitRows;
  metrics: ServingMetrics;
  db: Database;
  /** Undefined while the workflow service is not connected (the server keeps trying). */
  jobs: () => JobsClient | undefined;
  logger: Logger;
  /** Job webhooks: where they may go, and whether the server can sign them at all. */
  webhooks: { policy: WebhookPolicy; enabled: boolean };
  /** Delivers a data-arrival event to the model lifecycles; undefined without the workflow service. */
  notifyDataArrived: () => ((event: DataArrivedSignal) => Promise<string[]>) | undefined;
  /** Whether every expected model has a loaded champion (readiness). */
  modelsReady: () => boolean;
  /** True once a stop has begun: /readyz answers 503 "draining" while requests are still served. */
  draining: () => boolean;
  /** The prediction log writer's state (undefined when logging is off), shown by /readyz. */
  predictionLog: () => PredictionLogState | undefined;
  /** Every dependency's circuit breaker, shown by /readyz. */
  breakers: () => Record<string, BreakerSnapshot>;
  /** Updates gauges (queue depth, log buffer) just before /metrics is read. */
  beforeScrape: () => void;
}
