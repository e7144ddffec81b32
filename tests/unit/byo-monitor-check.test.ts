// One drift check end to end for a multiclass and a regression champion (PGlite prediction log and
// registry, local artifact store): the champion's fitted features (its feature-spec tag) say how
// to profile the window and which feedback is a label; held-out requests pass, a flood of unseen
// categories breaches, and so do label drift and poor online quality of the champion's task.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { referenceProfileKey, runDriftCheck } from '../../lib/monitor/check.ts';
import { BuiltinRegistry, FEATURE_SPEC_TAG } from '../../lib/registry/index.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import { heldOutTraffic, type HeldOutTraffic } from './helpers/drift-traffic.ts';

let dir: string;
let db: PGliteDatabase;
let store: LocalArtifactStore;
let registry: BuiltinRegistry;

/** A champion of `model` trained on the fixture's reference (profile and fitted features stored). */
async function champion(model: string, dataset: string, t: HeldOutTraffic): Promise<void> {
  await putJson(store, referenceProfileKey(dataset, `${model}-ref`), t.reference);
  const features = await putJson(store, `fixtures/${model}/features.json`, t.fitted);
  const v = await registry.createVersion({
    model,
    runId: `run-${model}`,
    artifactUri: 'file:///nowhere/model.onnx',
    lineage: { datasetVersion: `${model}-ref`, featureSpecHash: 'h', params: {} },
    tags: { [FEATURE_SPEC_TAG]: features.uri },
  });
  await registry.setAlias(model, 'champion', v.version, { actor: 'test', reason: 'test' });
}

interface Logged {
  features: Record<string, unknown>;
  output: number;
  outputClass?: string;
  label?: number;
  labelClass?: string;
}

/** Logs the predictions of one request and the feedback of each labelled one (one statement
 * each: a row at a time is slow on PGlite). */
async function log(model: string, rows: readonly Logged[]): Promise<void> {
  const requestId = randomUUID();
  const json = JSON.stringify(rows.map((r, i) => ({ ...r, i })));
  await db.query(
    `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, features, output, output_class, latency_ms, created_at)
     SELECT $1, (e->>'i')::int, $2, 1, false, e->'features', (e->>'output')::real, e->>'outputClass', 2, now()
       FROM jsonb_array_elements($3::jsonb) e`,
    [requestId, model, json],
  );
  await db.query(
    `INSERT INTO prediction_feedback (request_id, instance, label, label_class, key_id)
     SELECT $1, (e->>'i')::int, (e->>'label')::double precision, e->>'labelClass', 'k'
       FROM jsonb_array_elements($2::jsonb) e WHERE e ? 'label' OR e ? 'labelClass'`,
    [requestId, json],
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-monitor-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  registry = new BuiltinRegistry(db);
  store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a multiclass champion (weather.csv → weather)', () => {
  let t: HeldOutTraffic;
  const monitor = monitorSpecSchema.parse({
    window: '10m',
    minSamples: 400,
    slo: { minLabels: 100, maxLabelShift: 0.2, minAccuracy: 0.5 },
  });
  /** Held-out days, predicted as their true class `correct` of the time; labels as given. */
  const traffic = (labels: (i: number, truth: string) => string, requests = t.requests): Logged[] =>
    requests.map((features, i) => {
      const truth = t.labels[i] as string;
      return { features, output: 0.9, outputClass: truth, labelClass: labels(i, truth) };
    });

  beforeAll(async () => {
    t = await heldOutTraffic({
      csv: 'weather.csv',
      task: 'multiclass',
      label: 'weather',
      referenceRows: 2000,
      spec: {
        features: [
          { name: 'location', kind: 'categorical' },
          { name: 'date', kind: 'datetime', parts: ['month'] },
          { name: 'precipitation', kind: 'numeric', log1p: true },
          { name: 'temp_max', kind: 'numeric' },
          { name: 'wind', kind: 'numeric' },
        ],
      },
    });
  }, 60_000);

  it('held-out days with their true classes pass; accuracy and the label shift are measured', async () => {
    await champion('mc-steady', 'weather', t);
    await log(
      'mc-steady',
      traffic((_, truth) => truth),
    );
    const s = await runDriftCheck({ db, store, registry }, { model: 'mc-steady', dataset: 'weather', checkId: 'c1', monitor });
    expect(s, JSON.stringify(s)).toMatchObject({ status: 'ok', breach: false, samples: t.requests.length, drift: { compared: 5 } });
    expect(s.slo).toMatchObject({ task: 'multiclass', labels: t.requests.length, accuracy: 1, auc: null });
    expect(s.slo.labelShift!).toBeLessThan(0.1);
  });

  it('a 30% flood of unseen locations breaches', async () => {
    await champion('mc-flood', 'weather', t);
    await log(
      'mc-flood',
      traffic((_, truth) => truth).map((r, i) => (i % 10 < 3 ? { ...r, features: { ...r.features, location: `Q${i % 7}` } } : r)),
    );
    const s = await runDriftCheck({ db, store, registry }, { model: 'mc-flood', dataset: 'weather', checkId: 'c1', monitor });
    expect(s).toMatchObject({ status: 'breach', breach: true });
    expect(s.reasons.filter((r) => r.startsWith('unseen ')).map((r) => r.split(':')[0])).toEqual(['unseen location']);
  });

  it('feedback that is mostly fog breaches the label shift and the accuracy floor', async () => {
    await champion('mc-fog', 'weather', t);
    await log(
      'mc-fog',
      traffic((i, truth) => (i % 4 === 0 ? truth : 'fog')),
    );
    const s = await runDriftCheck({ db, store, registry }, { model: 'mc-fog', dataset: 'weather', checkId: 'c1', monitor });
    expect(s.status).toBe('breach');
    expect(s.drift?.drifted).toBe(false);
    expect(s.reasons.map((r) => r.split(':')[0])).toEqual(['SLO online accuracy', 'SLO label shift vs training']);
  });
});

describe('a regression champion (seattle-weather-hourly-normals.csv → temperature)', () => {
  let t: HeldOutTraffic;
  const monitor = monitorSpecSchema.parse({ window: '10m', minSamples: 400, slo: { minLabels: 100, maxLabelShift: 0.3, maxRmse: 2 } });
  const traffic = (error: number, labelShift = 0, requests = t.requests.slice(0, 1200)): Logged[] =>
    requests.map((features, i) => {
      const truth = t.labels[i] as number;
      return { features, output: truth + (i % 2 === 0 ? error : -error), label: truth + labelShift };
    });

  beforeAll(async () => {
    t = await heldOutTraffic({
      csv: 'seattle-weather-hourly-normals.csv',
      task: 'regression',
      label: 'temperature',
      referenceRows: 6000,
      spec: {
        features: [
          { name: 'when', kind: 'datetime', column: 'date', parts: ['hour', 'month', 'dayOfWeek'] },
          { name: 'pressure', kind: 'numeric' },
          { name: 'wind', kind: 'numeric' },
        ],
      },
    });
  }, 60_000);

  it('held-out hours predicted within 1° pass; RMSE and MAE are measured', async () => {
    await champion('rg-steady', 'hourly', t);
    await log('rg-steady', traffic(1));
    const s = await runDriftCheck({ db, store, registry }, { model: 'rg-steady', dataset: 'hourly', checkId: 'c1', monitor });
    expect(s, JSON.stringify(s)).toMatchObject({ status: 'ok', breach: false, samples: 1200, drift: { compared: 5 } });
    expect(s.slo).toMatchObject({ task: 'regression', labels: 1200, auc: null });
    expect(s.slo.rmse).toBeCloseTo(1, 4);
    expect(s.slo.mae).toBeCloseTo(1, 4);
  });

  it('predictions 3° off breach the RMSE ceiling; labels 4° warmer breach the label shift', async () => {
    await champion('rg-off', 'hourly', t);
    await log('rg-off', traffic(3));
    const off = await runDriftCheck({ db, store, registry }, { model: 'rg-off', dataset: 'hourly', checkId: 'c1', monitor });
    expect(off.reasons).toEqual([expect.stringMatching(/^SLO online RMSE: 3 > 2$/)]);

    await champion('rg-warm', 'hourly', t);
    await log('rg-warm', traffic(0, 4));
    const warm = await runDriftCheck({ db, store, registry }, { model: 'rg-warm', dataset: 'hourly', checkId: 'c1', monitor });
    expect(warm.reasons.map((r) => r.split(':')[0])).toEqual(['SLO online RMSE', 'SLO label shift vs training']);
    expect(warm.slo.labelShift!).toBeGreaterThan(0.5);
  });
});
