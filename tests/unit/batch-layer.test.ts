// The batch layer's serving logic without a database or a model: which layer answers, that a
// join keeps the request's values, that a lookup that fails falls back (and says so) instead of
// failing the request, that the breaker stops calling a failing table, and the knobs' parsing.
// The real tables, workflows and server: tests/integration/batch-layer.test.ts.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import type { Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { createBatchLayer, type BatchLayer, type FeatureLookup, type PredictionLookup } from '../../serving/batch-layer/layer.ts';
import { createLayeredPredictor } from '../../serving/batch-layer/serve.ts';
import type { ModelManager } from '../../serving/models.ts';
import type { Instance, Predict, PredictRequest } from '../../serving/predictor.ts';

const logger = createLogger({ level: 'silent' });

/** A served model `m` whose champion reads columns a and b. */
const models = {
  get: () => ({ route: { champion: 1 }, versions: new Map([[1, { io: { inputs: [{ column: 'a' }, { column: 'b' }] } }]]) }),
  list: () => [],
} as unknown as ModelManager;

/** Scores a + b, recording each call's instances. */
function fakePredict(calls: Instance[][]): Predict {
  return (async (req: PredictRequest) => {
    calls.push([...req.instances]);
    return {
      requestId: req.requestId,
      model: req.model,
      arm: 'champion',
      predictions: req.instances.map((i) => ({ value: Number(i.a) + Number(i.b), version: 1, cached: false })),
    };
  }) as unknown as Predict;
}

function fakeLayer(predictions: PredictionLookup, features: FeatureLookup): BatchLayer {
  return { predictions: async () => predictions, features: async () => features } as unknown as BatchLayer;
}

const request = { model: 'm', requestId: 'r1' };

describe('createLayeredPredictor', () => {
  it('answers fresh keys from the batch layer and the rest in real time (auto)', async () => {
    const calls: Instance[][] = [];
    const layer = fakeLayer(
      {
        status: 'ok',
        fresh: new Map([['k1', { prediction: { value: 42, version: 3 }, jobId: 'job-1', ageS: 7 }]]),
        missReason: 'not in the job',
      },
      { status: 'ok', table: 'm', rows: new Map() },
    );
    const predictLayered = createLayeredPredictor({ predict: fakePredict(calls), batch: layer, models });
    const out = await predictLayered({ ...request, instances: [{}, { a: 1, b: 2 }], keys: ['k1', 'k2'], layer: 'auto', join: false });
    expect(out.layer).toBe('mixed');
    expect(out.predictions).toEqual([
      { value: 42, version: 3, cached: false, layer: 'batch', batchJob: 'job-1', ageS: 7 },
      { value: 3, version: 1, cached: false, layer: 'realtime' },
    ]);
    expect(calls).toEqual([[{ a: 1, b: 2 }]]);
  });

  it("joins the feature row under the request's values, taking only the model's inputs", async () => {
    const calls: Instance[][] = [];
    const layer = fakeLayer(
      { status: 'ok', fresh: new Map(), missReason: '' },
      { status: 'ok', table: 'm', rows: new Map([['k1', { a: 10, b: 20, other: 'x' }]]) },
    );
    const predictLayered = createLayeredPredictor({ predict: fakePredict(calls), batch: layer, models });
    const out = await predictLayered({
      ...request,
      instances: [{ b: 5 }, { a: 1, b: 1 }],
      keys: ['k1', 'nope'],
      layer: 'realtime',
      join: true,
    });
    expect(calls).toEqual([
      [
        { a: 10, b: 5 },
        { a: 1, b: 1 },
      ],
    ]);
    expect(out.predictions.map((p) => [p.value, p.joined])).toEqual([
      [15, true],
      [2, false],
    ]);
  });

  it('falls back to real time, and says so, when the batch layer cannot be read', async () => {
    const calls: Instance[][] = [];
    const layer = fakeLayer(
      { status: 'unavailable', error: new Error('down') },
      { status: 'unavailable', table: 'm', error: new Error('down') },
    );
    const predictLayered = createLayeredPredictor({ predict: fakePredict(calls), batch: layer, models });
    const out = await predictLayered({ ...request, instances: [{ a: 1, b: 1 }], keys: ['k1'], layer: 'auto', join: true });
    expect(out).toMatchObject({ layer: 'realtime', fallback: 'batch layer unavailable' });
    await expect(predictLayered({ ...request, instances: [{}], keys: ['k1'], layer: 'batch', join: false })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('refuses keys that do not match the instances one to one', async () => {
    const layer = fakeLayer({ status: 'ok', fresh: new Map(), missReason: '' }, { status: 'ok', table: 'm', rows: new Map() });
    const predictLayered = createLayeredPredictor({ predict: fakePredict([]), batch: layer, models });
    await expect(predictLayered({ ...request, instances: [{}, {}], keys: ['k1'], layer: 'auto', join: false })).rejects.toThrow(
      'keys must give one entity key per instance (2), got 1',
    );
  });
});

describe('createBatchLayer', () => {
  it('stops querying a failing table once its breaker opens, and reports every lookup unavailable', async () => {
    let queries = 0;
    const db = {
      query: async () => {
        queries++;
        throw new Error('connection refused');
      },
    } as unknown as Database;
    const states: string[] = [];
    const layer = createBatchLayer({ db, logger, maxAgeS: 60, timeoutMs: 100, onStateChange: (s) => states.push(s) });
    for (let i = 0; i < 5; i++) expect((await layer.predictions('m', ['k'])).status).toBe('unavailable');
    expect(queries).toBe(3);
    expect(states).toEqual(['open']);
    expect(layer.breaker.state).toBe('open');
  });

  it('does not serve a job older than the maximum age', async () => {
    const publishedAt = new Date(Date.now() - 120_000);
    const db = {
      query: async () => ({
        rows: [{ job_id: 'j', model_version: 1, published_at: publishedAt, entity_key: 'k', prediction: { value: 1, version: 1 } }],
        rowCount: 1,
      }),
    } as unknown as Database;
    const stale = await createBatchLayer({ db, logger, maxAgeS: 60, timeoutMs: 100 }).predictions('m', ['k']);
    expect(stale).toMatchObject({ status: 'ok', missReason: 'the published batch job is 120 s old (max 60 s)' });
    const fresh = await createBatchLayer({ db, logger, maxAgeS: 600, timeoutMs: 100 }).predictions('m', ['k']);
    expect(fresh.status === 'ok' && fresh.fresh.get('k')).toMatchObject({ jobId: 'j', ageS: 120 });
  });
});

describe('batch layer configuration', () => {
  it('has defaults and parses the model=table list', () => {
    expect(loadConfig('serve', {}).serve).toMatchObject({ batchMaxAgeS: 86_400, batchTimeoutMs: 250, batchFeatureTables: {} });
    const serve = loadConfig('serve', { FLYWHEEL_SERVE_BATCH_FEATURE_TABLES: 'flights=flight-features, sales = store-features' }).serve;
    expect(serve.batchFeatureTables).toEqual({ flights: 'flight-features', sales: 'store-features' });
  });

  it('refuses a malformed list, naming the variable', () => {
    expect(() => loadConfig('serve', { FLYWHEEL_SERVE_BATCH_FEATURE_TABLES: 'flights' })).toThrow(ConfigError);
    expect(() => loadConfig('serve', { FLYWHEEL_SERVE_BATCH_FEATURE_TABLES: 'flights' })).toThrow(/FLYWHEEL_SERVE_BATCH_FEATURE_TABLES/);
  });
});
