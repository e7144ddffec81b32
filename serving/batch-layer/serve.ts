// Answers a prediction request from the layer it asks for: `realtime` (the default, as before),
// `batch` (only published batch predictions), or `auto` (a fresh batch prediction by entity key
// where one exists, real-time scoring otherwise). With `join`, each instance scored in real time
// is first merged with its entity's row of the batch feature table (request values win). Each
// prediction says which layer answered; a batch layer that cannot be read makes real time answer,
// and the response says so (`fallback`).
import { ServingError } from '../errors.ts';
import { championOf, type Instance, type Predict } from '../predictor.ts';
import type { ModelManager } from '../models.ts';
import { BATCH_LAYER_UNAVAILABLE, type BatchLayer } from './layer.ts';

export const LAYERS = ['auto', 'batch', 'realtime'] as const;
export type Layer = (typeof LAYERS)[number];

export interface LayeredRequest {
  model: string;
  instances: readonly Instance[];
  /** One entity key per instance; required unless `layer` is realtime and `join` is off. */
  keys?: readonly string[];
  layer: Layer;
  join: boolean;
  /** A realtime instance whose entity has no feature row is a 404, not a 400 for missing fields
   * (a lookup by key alone, which sends no features). @default false */
  requireFeatureRow?: boolean;
  requestId: string;
  routingKey?: string;
  startedAt?: number;
}

/** A prediction as the predict route answers it, plus where it came from. */
export type LayeredPrediction = Record<string, unknown> & {
  layer: 'batch' | 'realtime';
  /** Batch: the published job that computed it, and its age. */
  batchJob?: string;
  ageS?: number;
  /** With `join`: whether a feature-table row was merged into the instance. */
  joined?: boolean;
};

export interface LayeredResponse {
  requestId: string;
  model: string;
  /** `mixed` when some predictions came from each layer. */
  layer: 'batch' | 'realtime' | 'mixed';
  predictions: LayeredPrediction[];
  /** Set when the batch layer could not be read and real-time scoring answered instead. */
  fallback?: string;
}

export interface LayeredPredictorDeps {
  predict: Predict;
  batch: BatchLayer;
  models: ModelManager;
  /** Counts answers by layer (serving metrics). */
  onAnswered?: (model: string, layer: 'batch' | 'realtime', count: number, fallback: boolean) => void;
}

/** Up to five keys for a message. */
function someKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => JSON.stringify(k));
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}

export function createLayeredPredictor(deps: LayeredPredictorDeps) {
  const { batch } = deps;

  /** The feature rows for the instances at `rows`, merged under each instance (request values win). */
  async function joinFeatures(
    req: LayeredRequest,
    keys: readonly string[],
    rows: readonly number[],
  ): Promise<{ instances: Instance[]; joined: boolean[]; fallback?: string }> {
    const inputs = new Set(championOf(deps.models, req.model).io.inputs.map((i) => i.column));
    const lookup = await batch.features(
      req.model,
      rows.map((i) => keys[i]!),
    );
    if (lookup.status === 'unavailable') {
      if (req.requireFeatureRow)
        throw new ServingError('unavailable', `${BATCH_LAYER_UNAVAILABLE}: cannot read the features of the key from ${lookup.table}`, 1);
      return { instances: rows.map((i) => req.instances[i]!), joined: rows.map(() => false), fallback: BATCH_LAYER_UNAVAILABLE };
    }
    const missing = rows.filter((i) => !lookup.rows.has(keys[i]!)).map((i) => keys[i]!);
    if (req.requireFeatureRow && missing.length > 0)
      throw new ServingError(
        'notFound',
        `no fresh batch prediction of ${req.model} and no row in feature table ${JSON.stringify(lookup.table)} for key ${someKeys(missing)}`,
      );
    const instances = rows.map((i) => {
      const row = lookup.rows.get(keys[i]!);
      if (!row) return req.instances[i]!;
      // Only the model's input columns: the table may hold more (other models' features).
      const merged: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row)) if (inputs.has(name)) merged[name] = value;
      return { ...merged, ...req.instances[i]! };
    });
    return { instances, joined: rows.map((i) => lookup.rows.has(keys[i]!)) };
  }

  return async function predictLayered(req: LayeredRequest): Promise<LayeredResponse> {
    const n = req.instances.length;
    const keys = req.keys ?? [];
    if ((req.layer !== 'realtime' || req.join) && keys.length !== n)
      throw new ServingError('badRequest', `invalid request body: keys must give one entity key per instance (${n}), got ${keys.length}`);
    const out = new Array<LayeredPrediction | undefined>(n);
    let fallback: string | undefined;

    if (req.layer !== 'realtime') {
      const lookup = await batch.predictions(req.model, [...new Set(keys)]);
      if (lookup.status === 'unavailable') {
        if (req.layer === 'batch')
          throw new ServingError('unavailable', `${BATCH_LAYER_UNAVAILABLE}; retry later or ask for layer auto`, 1);
        fallback = BATCH_LAYER_UNAVAILABLE;
      } else {
        keys.forEach((key, i) => {
          const hit = lookup.fresh.get(key);
          if (hit) out[i] = { ...hit.prediction, cached: false, layer: 'batch', batchJob: hit.jobId, ageS: hit.ageS };
        });
        const misses = keys.filter((_, i) => !out[i]);
        if (req.layer === 'batch' && misses.length > 0)
          throw new ServingError('notFound', `no fresh batch prediction of ${req.model} for key ${someKeys(misses)}: ${lookup.missReason}`);
      }
    }

    const rows = [...out.keys()].filter((i) => !out[i]);
    let requestId = req.requestId;
    if (rows.length > 0) {
      const joined = req.join ? await joinFeatures(req, keys, rows) : undefined;
      fallback ??= joined?.fallback;
      let answer;
      try {
        answer = await deps.predict({
          model: req.model,
          instances: joined?.instances ?? rows.map((i) => req.instances[i]!),
          requestId: req.requestId,
          ...(req.routingKey !== undefined ? { routingKey: req.routingKey } : {}),
          ...(req.startedAt !== undefined ? { startedAt: req.startedAt } : {}),
        });
      } catch (err) {
        // Instances that needed the features the unreadable table would have joined.
        if (joined?.fallback && err instanceof ServingError && err.code === 'badRequest')
          throw new ServingError('unavailable', `${BATCH_LAYER_UNAVAILABLE}, and the instances alone cannot be scored: ${err.message}`, 1);
        throw err;
      }
      requestId = answer.requestId;
      rows.forEach((row, j) => {
        const p: LayeredPrediction = { ...answer.predictions[j]!, layer: 'realtime' };
        if (joined) p.joined = joined.joined[j]!;
        out[row] = p;
      });
    }
    const predictions = out as LayeredPrediction[];
    const batchCount = predictions.filter((p) => p.layer === 'batch').length;
    if (batchCount > 0) deps.onAnswered?.(req.model, 'batch', batchCount, false);
    if (batchCount < n) deps.onAnswered?.(req.model, 'realtime', n - batchCount, fallback !== undefined);
    return {
      requestId,
      model: req.model,
      layer: batchCount === n ? 'batch' : batchCount === 0 ? 'realtime' : 'mixed',
      predictions,
      ...(fallback ? { fallback } : {}),
    };
  };
}

export type PredictLayered = ReturnType<typeof createLayeredPredictor>;
