// The batch layer of the lambda read path (docs/batch-layer.md): published batch predictions and
// batch feature rows, looked up by entity key. Every lookup goes through one circuit breaker
// ('batch-layer') with a short deadline of its own, so a table that is down, locked or slow costs
// a request at most FLYWHEEL_SERVE_BATCH_TIMEOUT_MS, and nothing once the breaker has opened:
// callers then score in real time instead. Nothing here throws for a lookup that failed.
import { readFeatureRows } from '../../lib/batch/feature-table.ts';
import { readKeyedPredictions, type PublishedJob } from '../../lib/batch/keyed-predictions.ts';
import type { Database } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { CircuitBreaker, type BreakerState } from '../../lib/resilience/breaker.ts';

export const BATCH_LAYER_DEPENDENCY = 'batch-layer';

/** What a response says when the batch layer could not be read and real time answered. */
export const BATCH_LAYER_UNAVAILABLE = 'batch layer unavailable';

export interface BatchLayerOptions {
  db: Database;
  logger: Logger;
  /** A published prediction older than this is not served. */
  maxAgeS: number;
  /** Deadline of one lookup. */
  timeoutMs: number;
  /** Model → feature table; a model not listed joins the table of its own name. */
  featureTables?: Readonly<Record<string, string>>;
  onStateChange?: (state: BreakerState) => void;
  /** The breaker lookups run under (the server's, so it shows in metrics and /readyz).
   * @default one of its own, named 'batch-layer' */
  breaker?: CircuitBreaker;
  /** @default Date.now */
  now?: () => number;
}

export interface FreshPrediction {
  prediction: Record<string, unknown>;
  jobId: string;
  /** Seconds since the job was published. */
  ageS: number;
}

export type PredictionLookup =
  | {
      status: 'ok';
      job?: PublishedJob;
      fresh: Map<string, FreshPrediction>;
      /** Why keys without a fresh prediction have none. */ missReason: string;
    }
  | { status: 'unavailable'; error: unknown };

export type FeatureLookup =
  | { status: 'ok'; table: string; jobId?: string; rows: Map<string, Record<string, unknown>> }
  | { status: 'unavailable'; table: string; error: unknown };

export function createBatchLayer(options: BatchLayerOptions) {
  const { db, logger } = options;
  const now = options.now ?? Date.now;
  const breaker =
    options.breaker ??
    new CircuitBreaker({
      // The dependency's name in breaker metrics and logs.
      name: BATCH_LAYER_DEPENDENCY,
      timeoutMs: options.timeoutMs,
      onStateChange: (state) => {
        logger.warn({ dependency: BATCH_LAYER_DEPENDENCY, state }, `batch layer circuit ${state}`);
        options.onStateChange?.(state);
      },
    });

  function featureTableOf(model: string): string {
    return options.featureTables?.[model] ?? model;
  }

  /** Fresh published predictions of `model` for `keys`, or why there are none. */
  async function predictions(model: string, keys: readonly string[]): Promise<PredictionLookup> {
    let found;
    try {
      found = await breaker.run(() => readKeyedPredictions(db, model, keys));
    } catch (error) {
      logger.debug({ err: error, model }, 'batch prediction lookup failed');
      return { status: 'unavailable', error };
    }
    const fresh = new Map<string, FreshPrediction>();
    if (!found.job) return { status: 'ok', fresh, missReason: `no batch job of ${model} is published` };
    const ageS = Math.max(0, Math.round((now() - found.job.publishedAt.getTime()) / 1000));
    if (ageS > options.maxAgeS)
      return { status: 'ok', job: found.job, fresh, missReason: `the published batch job is ${ageS} s old (max ${options.maxAgeS} s)` };
    for (const [key, prediction] of found.predictions) fresh.set(key, { prediction, jobId: found.job.jobId, ageS });
    return { status: 'ok', job: found.job, fresh, missReason: `the published batch job ${found.job.jobId} has no row for the key` };
  }

  /** The published feature rows of the model's table for `keys`. */
  async function features(model: string, keys: readonly string[]): Promise<FeatureLookup> {
    const table = featureTableOf(model);
    try {
      const found = await breaker.run(() => readFeatureRows(db, table, keys));
      return { status: 'ok', table, rows: found.rows, ...(found.jobId ? { jobId: found.jobId } : {}) };
    } catch (error) {
      logger.debug({ err: error, model, table }, 'batch feature lookup failed');
      return { status: 'unavailable', table, error };
    }
  }

  return { breaker, featureTableOf, predictions, features };
}

export type BatchLayer = ReturnType<typeof createBatchLayer>;
