// One prediction request, whichever door it came in by (HTTP or an async job): route to a
// version, check the instances against that version's fitted features, answer from the cache
// where possible, encode the rest with the version's own encoder (the one training used: no
// skew), batch, shape each answer by the model's task, log, and mirror to the shadow if one is set.
import type { FeatureBatch, FeatureColumn } from '../lib/features/tabular/encode.ts';
import { activeTracer, inSpan } from '../lib/telemetry/index.ts';
import type { Logger } from '../lib/log.ts';
import { argmax, predictionOf, type Prediction as TaskPrediction } from '../lib/tasks/task.ts';
import { cacheKey, type ResponseCache } from './cache.ts';
import { ServingError } from './errors.ts';
import { canonicalRows, checkInstancesFor, type CheckedInstances } from './instances.ts';
import type { CounterSlot, HistogramSlot } from './metric-slots.ts';
import type { ServingMetrics } from './metrics.ts';
import type { LoadedVersion, ModelManager, ServedModel } from './models.ts';
import type { PredictionLog } from './prediction-log.ts';
import { chooseArm, type Arm } from './router.ts';

/** A request instance: the model's input columns by name (checked generically at the door). */
export type Instance = Readonly<Record<string, unknown>>;

export interface PredictRequest {
  model: string;
  instances: readonly Instance[];
  requestId: string;
  routingKey?: string;
  /** performance.now() when the request arrived, for the latency metric and log. */
  startedAt?: number;
}

/** What the task predicts (`probability`; `class` + `probabilities`; `value`), the version that
 * served it, and whether it came from the cache. */
export type Prediction = TaskPrediction & { version: number; cached: boolean };

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

function servedModel(models: ModelManager, model: string): ServedModel {
  const served = models.get(model);
  if (served) return served;
  const names = models.list().map((m) => m.name);
  throw new ServingError(
    'notFound',
    `model ${JSON.stringify(model)} is not served here (served: ${names.length ? names.join(', ') : 'none'})`,
  );
}

/** The loaded champion of a served model: a 404 for a model not served here, a 503 (retry in a
 * second) while its champion is still loading. The one lookup the schema, feedback and job routes
 * share, so they agree on both answers. */
export function championOf(models: ModelManager, model: string): LoadedVersion {
  const served = servedModel(models, model);
  const lv = served.versions.get(served.route.champion);
  if (!lv) throw new ServingError('unavailable', `${model} v${served.route.champion} is not loaded yet`, 1);
  return lv;
}

/** Throws the same 400 a predict would for instances the model's champion cannot encode, so an
 * async job is refused at submission rather than accepted and failed later (or a 503 while the
 * champion loads: it cannot be checked yet). */
export function checkInstances(models: ModelManager, model: string, instances: readonly Instance[]): void {
  checkInstancesFor(championOf(models, model).io, instances, model);
}

/** The rows `rows` of `batch`, column by column. */
function pickRows(batch: FeatureBatch, rows: readonly number[]): FeatureBatch {
  if (rows.length === batch.rows) return batch;
  const columns: Record<string, FeatureColumn> = {};
  for (const [name, col] of Object.entries(batch.columns)) {
    if (!col) continue;
    if (col instanceof Float64Array) {
      const out = new Float64Array(rows.length);
      rows.forEach((r, j) => (out[j] = col[r]!));
      columns[name] = out;
    } else columns[name] = rows.map((r) => (col as ArrayLike<unknown>)[r]) as FeatureColumn;
  }
  return { rows: rows.length, columns };
}

/** One version's per-request metrics, bound once (serving/metric-slots.ts). */
interface VersionSlots {
  latency: HistogramSlot;
  arms: Record<Arm | 'shadow', CounterSlot>;
}

export function createPredictor(deps: PredictorDeps) {
  const { models, cache, metrics } = deps;
  const versionSlots = new WeakMap<LoadedVersion, VersionSlots>();
  const cacheSlots = new Map<string, { hit: CounterSlot; miss: CounterSlot }>();

  function slotsOf(model: string, lv: LoadedVersion): VersionSlots {
    let slots = versionSlots.get(lv);
    if (!slots) {
      const version = String(lv.version);
      const arm = (a: Arm | 'shadow') => metrics.slots.predictions.slot({ model, version, arm: a });
      slots = {
        latency: metrics.latency.slot({ model, version }),
        arms: { champion: arm('champion'), canary: arm('canary'), shadow: arm('shadow') },
      };
      versionSlots.set(lv, slots);
    }
    return slots;
  }

  function cacheSlotsOf(model: string): { hit: CounterSlot; miss: CounterSlot } {
    let slots = cacheSlots.get(model);
    if (!slots) {
      slots = { hit: metrics.slots.cache.slot({ model, result: 'hit' }), miss: metrics.slots.cache.slot({ model, result: 'miss' }) };
      cacheSlots.set(model, slots);
    }
    return slots;
  }

  function score(lv: LoadedVersion, batch: FeatureBatch, rows: readonly number[]): Promise<Float32Array> {
    return lv.batcher.submit(lv.io.encoder.encode(pickRows(batch, rows)), rows.length);
  }

  /** Logs one row per instance: `outputs` holds rows × head units values (NaN: the model failed). */
  function logAll(req: PredictRequest, lv: LoadedVersion, shadow: boolean, outputs: ArrayLike<number>, latencyMs: number): void {
    if (!deps.log) return;
    // The rows go to the log's buffer here; the database write is batched off the request path.
    const span = activeTracer()?.startSpan('prediction_log.record', {
      attributes: { 'flywheel.rows': req.instances.length, 'flywheel.shadow': shadow },
    });
    const at = new Date();
    const { task, head } = lv.io;
    for (let i = 0; i < req.instances.length; i++) {
      const o = i * head.units;
      let output = outputs[o]!;
      let outputClass: string | null = null;
      // Multiclass logs the predicted class and its probability (migration 0007).
      if (task.kind === 'multiclass' && !Number.isNaN(output)) {
        const k = argmax(outputs, o, head.units);
        output = outputs[o + k]!;
        outputClass = task.classes[k]!;
      }
      deps.log.record({
        requestId: req.requestId,
        instance: i,
        model: req.model,
        version: lv.version,
        shadow,
        routingKey: req.routingKey,
        features: req.instances[i]!,
        output,
        outputClass,
        latencyMs,
        at,
      });
    }
    span?.end();
  }

  function failed(lv: LoadedVersion, rows: number): Float32Array {
    return new Float32Array(rows * lv.io.head.units).fill(NaN);
  }

  function mirror(req: PredictRequest, lv: LoadedVersion, checked: CheckedInstances | undefined): void {
    const started = performance.now();
    let batch: FeatureBatch;
    try {
      // The shadow may read other columns than the served version; instances it cannot encode
      // are its problem, never the caller's.
      batch = checked?.batch ?? checkInstancesFor(lv.io, req.instances, req.model, { strict: false }).batch;
    } catch (err) {
      deps.logger.debug({ err, model: req.model, version: lv.version }, 'shadow cannot encode the instances');
      return;
    }
    score(
      lv,
      batch,
      req.instances.map((_, i) => i),
    ).then(
      (y) => {
        slotsOf(req.model, lv).arms.shadow.inc(req.instances.length);
        logAll(req, lv, true, y, performance.now() - started);
      },
      (err: unknown) => {
        deps.logger.debug({ err, model: req.model, version: lv.version }, 'shadow prediction failed');
        if (!(err instanceof ServingError)) logAll(req, lv, true, failed(lv, req.instances.length), performance.now() - started);
      },
    );
  }

  function countUnseen(model: string, lv: LoadedVersion, batch: FeatureBatch): void {
    for (const { feature, count } of lv.countUnseen(batch)) metrics.unseenCategories.inc({ model, feature }, count);
  }

  async function predictUntraced(req: PredictRequest): Promise<PredictResponse> {
    const startedAt = req.startedAt ?? performance.now();
    const served = servedModel(models, req.model);
    const { arm, version } = chooseArm(served.route, req.routingKey);
    const lv = served.versions.get(version);
    if (!lv) throw new ServingError('unavailable', `${req.model} v${version} is not loaded yet`, 1);
    const checked = checkInstancesFor(lv.io, req.instances, req.model);
    countUnseen(req.model, lv, checked.batch);

    const n = req.instances.length;
    const units = lv.io.head.units;
    const outputs = new Float32Array(n * units);
    const cached = new Array<boolean>(n).fill(false);
    const misses: number[] = [];
    const keys = cache.enabled ? canonicalRows(lv.io, checked.batch).map((c) => cacheKey(req.model, version, c)) : [];
    for (let i = 0; i < n; i++) {
      const hit = cache.enabled ? cache.get(keys[i]!) : undefined;
      if (hit === undefined) misses.push(i);
      else {
        outputs.set(hit, i * units);
        cached[i] = true;
      }
    }
    if (cache.enabled) {
      const hits = n - misses.length;
      const counts = cacheSlotsOf(req.model);
      if (hits) counts.hit.inc(hits);
      if (misses.length) counts.miss.inc(misses.length);
    }
    if (misses.length > 0) {
      let y: Float32Array;
      try {
        y = await score(lv, checked.batch, misses);
      } catch (err) {
        // A model that fails to score is logged as NaN outputs, so the rollout analysis and the
        // drift monitor count its error rate per version; shedding and timeouts are the
        // server's, not the model's, and are not.
        if (!(err instanceof ServingError)) logAll(req, lv, false, failed(lv, n), performance.now() - startedAt);
        throw err;
      }
      misses.forEach((row, j) => {
        const out = y.subarray(j * units, (j + 1) * units);
        outputs.set(out, row * units);
        if (cache.enabled) cache.set(keys[row]!, out);
      });
    }

    const shadowVersion = served.route.shadow;
    const shadow = shadowVersion !== undefined && shadowVersion !== version ? served.versions.get(shadowVersion) : undefined;
    // The same fitted features encode the same way: the shadow reuses the checked batch.
    if (shadow) mirror(req, shadow, shadow.io.hash === lv.io.hash ? checked : undefined);

    const latencyMs = performance.now() - startedAt;
    const slots = slotsOf(req.model, lv);
    slots.latency.observe(latencyMs / 1000);
    slots.arms[arm].inc(n);
    logAll(req, lv, false, outputs, latencyMs);
    const { task } = lv.io;
    // A plain loop that adds to predictionOf's fresh object (same fields, same order as a spread,
    // without copying it): this runs on every request.
    const predictions = new Array<Prediction>(n);
    for (let i = 0; i < n; i++) {
      const p = predictionOf(task, outputs, i * units) as Prediction;
      p.version = version;
      p.cached = cached[i]!;
      predictions[i] = p;
    }
    return { requestId: req.requestId, model: req.model, arm, predictions };
  }

  return function predict(req: PredictRequest): Promise<PredictResponse> {
    if (!activeTracer()) return predictUntraced(req);
    return inSpan('predict', { 'flywheel.model': req.model, 'flywheel.instances': req.instances.length }, async (span) => {
      const out = await predictUntraced(req);
      span?.setAttributes({
        'flywheel.model.version': out.predictions[0]?.version ?? -1,
        'flywheel.arm': out.arm,
        'flywheel.cache.hits': out.predictions.filter((p) => p.cached).length,
      });
      return out;
    });
  };
}

export type Predict = ReturnType<typeof createPredictor>;
