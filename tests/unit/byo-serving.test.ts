// Serving models of every task on the embedded stack (PGlite, local artifact store, real ONNX
// models on ONNX Runtime threads): a multiclass and a regression model with fitted features
// written by hand, answered in their task's shape, cached, logged per migration 0007, their
// fields checked by the fitted features, unseen categories counted, and feedback read by task.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { FITTED_FEATURES_FORMAT, parseFittedFeatures, type FittedFeatures } from '../../lib/features/tabular/state.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import type { Task } from '../../lib/tasks/task.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { registerFixtureModel } from '../fixtures/fixture-models.ts';

const CLASSES = ['drizzle', 'rain', 'sun'];

/** Weather-like features: a city vocabulary, a standardised temperature, the month of a date. */
function fitted(task: Task): FittedFeatures {
  return parseFittedFeatures({
    format: FITTED_FEATURES_FORMAT,
    spec: {
      features: [
        { name: 'city', kind: 'categorical' },
        { name: 'temp', kind: 'numeric' },
        { name: 'month', kind: 'datetime', column: 'date', parts: [{ part: 'month', encoding: 'cyclic' }] },
        { name: 'station', kind: 'categorical', hash: { buckets: 4 } },
      ],
    },
    state: [
      { kind: 'categorical', vocabulary: ['Seattle', 'New York'] },
      { kind: 'numeric', impute: 12, center: 12, scale: 6 },
      { kind: 'datetime' },
      { kind: 'categorical' },
    ],
    task,
    fittedOn: 'hand-written',
    rows: 100,
  });
}

let dir: string;
let db: PGliteDatabase;
let server: InferenceServer;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-serve-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  const store = await LocalArtifactStore.create(`file://${join(dir, 'artifacts')}`);
  const registry = new BuiltinRegistry(db);
  const models = { weather: fitted({ kind: 'multiclass', classes: CLASSES }), temperature: fitted({ kind: 'regression' }) };
  for (const [name, spec] of Object.entries(models))
    await registerFixtureModel({ registry, store, name, spec, hidden: [8], alias: 'champion' });
  await registerFixtureModel({ registry, store, name: 'rainy', spec: fitted({ kind: 'binary' }), hidden: [8], alias: 'champion' });
  // v2 of the multiclass model reads fewer columns: the shadow test mirrors traffic to it.
  const fewer = fitted({ kind: 'multiclass', classes: CLASSES });
  await registerFixtureModel({
    registry,
    store,
    name: 'weather',
    spec: parseFittedFeatures({ ...fewer, spec: { features: fewer.spec.features.slice(0, 2) }, state: fewer.state.slice(0, 2) }),
    hidden: [4],
  });
  const settings = loadConfig('serve', { FLYWHEEL_SERVE_PORT: '0', FLYWHEEL_SERVE_AUTH: 'false' }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
  url = await server.start();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const instance = { city: 'Seattle', temp: 9.5, date: '2012-01-04T00:00:00', station: 'KSEA' };

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

type Answer = { requestId: string; predictions: Array<Record<string, unknown>> };

async function predict(model: string, instances: unknown[]): Promise<Answer> {
  const res = await post(`/v1/models/${model}/predict`, { instances });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json as unknown as Answer;
}

async function logged(requestId: string): Promise<Array<{ output: number; output_class: string | null; features: unknown }>> {
  for (let tries = 0; tries < 40; tries++) {
    const { rows } = await db.query<{ output: number; output_class: string | null; features: unknown }>(
      'SELECT output, output_class, features FROM prediction_log WHERE request_id = $1 AND NOT shadow ORDER BY instance',
      [requestId],
    );
    if (rows.length > 0) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

describe('a multiclass model', () => {
  it('answers the most probable class with every class probability, caches it and logs the class', async () => {
    const first = await predict('weather', [instance]);
    const p = first.predictions[0]!;
    expect(Object.keys(p)).toEqual(['class', 'probabilities', 'version', 'cached']);
    const probabilities = p.probabilities as Record<string, number>;
    expect(Object.keys(probabilities)).toEqual(CLASSES);
    expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const best = CLASSES.reduce((a, b) => (probabilities[b]! > probabilities[a]! ? b : a));
    expect(p.class).toBe(best);
    expect(p.cached).toBe(false);

    // The same input written differently (another timestamp form, other key order) is a cache hit.
    const again = await predict('weather', [{ station: 'KSEA', date: '2012-01-04 00:00', temp: 9.5, city: 'Seattle' }]);
    expect(again.predictions[0]).toEqual({ ...p, cached: true });

    const [row] = await logged(first.requestId);
    expect(row?.output_class).toBe(best);
    expect(row?.output).toBeCloseTo(probabilities[best]!, 5);
    expect(row?.features).toEqual(instance);
  });

  it('describes itself: inputs with kinds, classes and an example that predicts', async () => {
    const res = await fetch(`${url}/v1/models/weather/schema`);
    const schema = (await res.json()) as Record<string, unknown>;
    expect(schema).toMatchObject({
      model: 'weather',
      task: 'multiclass',
      classes: CLASSES,
      predictionFields: ['class', 'probabilities'],
      inputs: [
        { name: 'city', kind: 'string' },
        { name: 'temp', kind: 'number' },
        { name: 'date', kind: 'timestamp' },
        { name: 'station', kind: 'string' },
      ],
      example: { city: 'Seattle', temp: 12, date: '2001-03-04T13:45:00', station: null },
    });
    await predict('weather', [schema.example]);
  });
});

describe('a shadow that reads other columns', () => {
  it('is scored on the same instances and logged with its class, never answering', async () => {
    const put = await fetch(`${url}/v1/admin/models/weather/routing`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ shadow: { version: 2 } }),
    });
    expect(put.status).toBe(200);
    try {
      const out = await predict('weather', [instance, { ...instance, city: 'Paris' }]);
      expect(out.predictions.map((p) => p.version)).toEqual([1, 1]);
      let rows: Array<{ instance: number; output_class: string | null }> = [];
      for (let tries = 0; tries < 40 && rows.length < 2; tries++) {
        await new Promise((r) => setTimeout(r, 100));
        ({ rows } = await db.query<{ instance: number; output_class: string | null }>(
          'SELECT instance, output_class FROM prediction_log WHERE request_id = $1 AND shadow AND model_version = 2 ORDER BY instance',
          [out.requestId],
        ));
      }
      expect(rows.map((r) => r.instance)).toEqual([0, 1]);
      expect(rows.every((r) => CLASSES.includes(r.output_class!))).toBe(true);
    } finally {
      await fetch(`${url}/v1/admin/models/weather/routing`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ shadow: null }),
      });
    }
  });
});

describe('a regression model', () => {
  it('answers a value and logs it as the output', async () => {
    const out = await predict('temperature', [instance, { ...instance, temp: null }]);
    expect(out.predictions.map((p) => Object.keys(p))).toEqual([
      ['value', 'version', 'cached'],
      ['value', 'version', 'cached'],
    ]);
    const rows = await logged(out.requestId);
    expect(rows.map((r) => r.output_class)).toEqual([null, null]);
    expect(rows[0]!.output).toBeCloseTo(out.predictions[0]!.value as number, 4);
  });
});

describe('fields are checked by the served model', () => {
  it('names missing, mistyped and unknown fields per instance', async () => {
    const res = await post('/v1/models/weather/predict', {
      instances: [instance, { city: 'Seattle', temp: 'warm', date: '2012-01-04T00:00:00Z', wind: 3 }],
    });
    expect(res.status).toBe(400);
    expect((res.json.error as { message: string }).message).toBe(
      'invalid request body: instances[1].wind: unknown field (weather reads city (string), temp (number), date (timestamp), station (string)); ' +
        'instances[1].temp: must be a finite number or null; ' +
        'instances[1].date: must be a naive timestamp like 2001-03-04T13:45:00 (no zone) or null; ' +
        'instances[1].station: is required (null for a missing value)',
    );
  });

  it('refuses an async job with the same 400 at submission', async () => {
    const res = await post('/v1/models/temperature/jobs', { instances: [{ ...instance, temp: true }] });
    expect(res.status).toBe(400);
    expect((res.json.error as { message: string }).message).toBe(
      'invalid request body: instances[0].temp: must be a finite number or null',
    );
  });
});

describe('unseen categories', () => {
  it('are counted per model and vocabulary feature (hashed features have no unseen bucket)', async () => {
    await predict('temperature', [{ ...instance, city: 'Atlantis', station: 'never-seen' }, { ...instance, city: null }, instance]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('flywheel_unseen_category_total{model="temperature",feature="city"} 2');
    expect(metrics).not.toContain('feature="station"');
  });
});

describe('feedback by task', () => {
  async function feedback(body: Record<string, unknown>) {
    return post('/v1/feedback', body);
  }
  async function stored(requestId: string) {
    const { rows } = await db.query<{ label: number | null; label_class: string | null }>(
      'SELECT label, label_class FROM prediction_feedback WHERE request_id = $1',
      [requestId],
    );
    return rows[0];
  }

  it('stores a class name in label_class and checks it against the named model', async () => {
    const { requestId } = await predict('weather', [instance]);
    expect((await feedback({ requestId, label: 'rain', model: 'weather' })).status).toBe(202);
    expect(await stored(requestId)).toEqual({ label: null, label_class: 'rain' });
    const refused = await feedback({ requestId, label: 'hail', model: 'weather' });
    expect(refused.status).toBe(400);
    expect((refused.json.error as { message: string }).message).toBe(
      'invalid request body: label: must be one of its classes (weather is a multiclass classifier): "drizzle", "rain", "sun"',
    );
  });

  it('stores a regression value in label and refuses a class name for a regression model', async () => {
    const { requestId } = await predict('temperature', [instance]);
    expect((await feedback({ requestId, label: 11.25, model: 'temperature' })).status).toBe(202);
    expect(await stored(requestId)).toEqual({ label: 11.25, label_class: null });
    const refused = await feedback({ requestId, label: 'warm', model: 'temperature' });
    expect(refused.status).toBe(400);
    expect((refused.json.error as { message: string }).message).toMatch(
      /label: must be a finite number \(temperature is a regression model\)/,
    );
  });

  it('keeps binary labels to 0 or 1 when the model is named, and takes either kind without it', async () => {
    const { requestId } = await predict('rainy', [instance]);
    expect((await feedback({ requestId, label: 2, model: 'rainy' })).status).toBe(400);
    expect((await feedback({ requestId, label: 1, model: 'rainy' })).status).toBe(202);
    expect(await stored(requestId)).toEqual({ label: 1, label_class: null });
    expect((await feedback({ requestId, label: 'sun' })).status).toBe(202);
    expect(await stored(requestId)).toEqual({ label: null, label_class: 'sun' });
    expect((await feedback({ requestId, label: 'x', model: 'nope' })).status).toBe(404);
    expect((await feedback({ requestId, label: 'a\u0000' })).status).toBe(400);
  });
});
