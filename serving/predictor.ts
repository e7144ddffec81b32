// One prediction request, whichever door it came in by (HTTP or an async job): route to a
// version, answer from the cache where possible, encode the rest with that version's own feature
// spec (the spec training used: no skew), batch, log, and mirror to the shadow if one is set.
import { encodeFlights, parseNaiveTimestamp, type FlightInstance } from '../lib/features/flights.ts';
import type { Logger } from '../lib/log.ts';
import { cacheKey, type ResponseCache } from './cache.ts';
import { ServingError } from './errors.ts';
import type { ServingMetrics } from './metrics.ts';
import type { LoadedVersion, ModelManager } from './models.ts';
import type { PredictionLog } from './prediction-log.ts';
import { chooseArm, type Arm } from './router.ts';

export interface PredictRequest {
  model: string;
  instances: readonly FlightInstance[];
  requestId: string;
  routingKey?: string;
  /** performance.now() when the request arrived, for the latency metric and log. */
  startedAt?: number;
}

export interface Prediction {
  probability: number;
  version: number;
  cached: boolean;
}

export interface PredictResponse {
  requestId: string;
  model: string;
  arm: Arm;
  predictions: Prediction[];
}

export interface PredictorDeps {
  models: ModelManager;
  cache: ResponseCache;
  log: PredictionLog | undefined;
  metrics: ServingMetrics;
  logger: Logger;
}

/** Throws the same 400 a predict would for an instance the model cannot encode, so an async job
 * is refused at submission rather than accepted and failed later. */
export function checkInstances(instances: readonly FlightInstance[]): void {
  for (let i = 0; i < instances.length; i++) {
    const date = instances[i]!.date;
    if (parseNaiveTimestamp(date) === null)
      throw new ServingError(
        'badRequest',
        `instances[${i}].date: ${JSON.stringify(date)} is not a naive timestamp like 2001-03-04T13:45:00`,
      );
  }
}

export function createPredictor(deps: PredictorDeps) {
  const { models, cache, metrics } = deps;

  function canonicalize(instances: readonly FlightInstance[]): { dateMs: Float64Array; canonical: string[] } {
    const dateMs = new Float64Array(instances.length);
    const canonical = new Array<string>(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i]!;
      const ms = parseNaiveTimestamp(inst.date);
      if (ms === null)
        throw new ServingError(
          'badRequest',
          `instances[${i}].date: ${JSON.stringify(inst.date)} is not a naive timestamp like 2001-03-04T13:45:00`,
        );
      dateMs[i] = ms;
      canonical[i] = `${ms}|${inst.distance}|${inst.origin}|${inst.destination}`;
    }
    return { dateMs, canonical };
  }

  async function score(
    lv: LoadedVersion,
    instances: readonly FlightInstance[],
    dateMs: Float64Array,
    rows: readonly number[],
  ): Promise<Float32Array> {
    const batch = {
      dateMs: rows.map((i) => dateMs[i]!),
      distance: rows.map((i) => instances[i]!.distance),
      origin: rows.map((i) => instances[i]!.origin),
      destination: rows.map((i) => instances[i]!.destination),
    };
    return lv.batcher.submit(encodeFlights(lv.spec, batch), rows.length);
  }

  function logAll(req: PredictRequest, version: number, shadow: boolean, outputs: ArrayLike<number>, latencyMs: number): void {
    if (!deps.log) return;
    const at = new Date();
    for (let i = 0; i < req.instances.length; i++) {
      deps.log.record({
        requestId: req.requestId,
        instance: i,
        model: req.model,
        version,
        shadow,
        routingKey: req.routingKey,
        features: req.instances[i]!,
        output: outputs[i]!,
        latencyMs,
        at,
      });
    }
  }

  function mirror(req: PredictRequest, lv: LoadedVersion, dateMs: Float64Array): void {
    const started = performance.now();
    score(
      lv,
      req.instances,
      dateMs,
      req.instances.map((_, i) => i),
    ).then(
      (y) => {
        metrics.predictions.inc({ model: req.model, version: String(lv.version), arm: 'shadow' }, req.instances.length);
        logAll(req, lv.version, true, y, performance.now() - started);
      },
      (err: unknown) => {
        deps.logger.debug({ err, model: req.model, version: lv.version }, 'shadow prediction failed');
        if (!(err instanceof ServingError))
          logAll(req, lv.version, true, new Float64Array(req.instances.length).fill(NaN), performance.now() - started);
      },
    );
  }

  return async function predict(req: PredictRequest): Promise<PredictResponse> {
    const startedAt = req.startedAt ?? performance.now();
    const served = models.get(req.model);
    if (!served) {
      const names = models.list().map((m) => m.name);
      throw new ServingError(
        'notFound',
        `model ${JSON.stringify(req.model)} is not served here (served: ${names.length ? names.join(', ') : 'none'})`,
      );
    }
    const { arm, version } = chooseArm(served.route, req.routingKey);
    const lv = served.versions.get(version);
    if (!lv) throw new ServingError('unavailable', `${req.model} v${version} is not loaded yet`, 1);
    const { dateMs, canonical } = canonicalize(req.instances);

    const probabilities = new Float64Array(req.instances.length);
    const cached = new Array<boolean>(req.instances.length).fill(false);
    const misses: number[] = [];
    const keys = cache.enabled ? canonical.map((c) => cacheKey(req.model, version, c)) : [];
    for (let i = 0; i < req.instances.length; i++) {
      const hit = cache.enabled ? cache.get(keys[i]!) : undefined;
      if (hit === undefined) misses.push(i);
      else {
        probabilities[i] = hit;
        cached[i] = true;
      }
    }
    if (cache.enabled) {
      const hits = req.instances.length - misses.length;
      if (hits) metrics.cache.inc({ model: req.model, result: 'hit' }, hits);
      if (misses.length) metrics.cache.inc({ model: req.model, result: 'miss' }, misses.length);
    }
    if (misses.length > 0) {
      let y: ArrayLike<number>;
      try {
        y = await score(lv, req.instances, dateMs, misses);
      } catch (err) {
        // A model that fails to score is logged as NaN outputs, so the rollout analysis and the
        // drift monitor count its error rate per version; shedding and timeouts are the
        // server's, not the model's, and are not.
        if (!(err instanceof ServingError))
          logAll(req, version, false, new Float64Array(req.instances.length).fill(NaN), performance.now() - startedAt);
        throw err;
      }
      misses.forEach((row, j) => {
        probabilities[row] = y[j]!;
        if (cache.enabled) cache.set(keys[row]!, y[j]!);
      });
    }

    const shadowVersion = served.route.shadow;
    const shadow = shadowVersion !== undefined && shadowVersion !== version ? served.versions.get(shadowVersion) : undefined;
    if (shadow) mirror(req, shadow, dateMs);

    const latencyMs = performance.now() - startedAt;
    metrics.latency.observe({ model: req.model, version: String(version) }, latencyMs / 1000);
    metrics.predictions.inc({ model: req.model, version: String(version), arm }, req.instances.length);
    logAll(req, version, false, probabilities, latencyMs);
    return {
      requestId: req.requestId,
      model: req.model,
      arm,
      predictions: Array.from(probabilities, (probability, i) => ({ probability, version, cached: cached[i]! })),
    };
  };
}

export type Predict = ReturnType<typeof createPredictor>;
