// A multiclass and a regression model through the activities end to end on local files, no
// servers: splits written per the data contract (every source column plus `__label`) and fitted
// features with their task → trainFlightsMlp (few epochs) → evaluateCandidate (task metrics,
// gates, slices from the spec, report) → register → batch scoring, whose outputs equal what the
// serving path (JSON instances through the same encoder and ONNX model) gives, to 1e-5.
import { planChunkAt, planChunkCount } from '../../lib/batch/chunks.ts';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchActivities } from '../../activities/batch/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { sqlString, withDuck, type Duck } from '../../lib/data/duck.ts';
import { vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import { batchFromInstances, fitFeatures, loadModelIO, type ModelIO } from '../../lib/features/tabular/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { OnnxSession, readOnnxMetadata } from '../../lib/onnx/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import { fitClasses, predictionOf, type Task } from '../../lib/tasks/task.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { noPreemption } from '../../lib/training/preemption.ts';
import type { BatchChunkResult, BatchPlan } from '../../lib/contracts/batch-predict.ts';
import type { EvaluateCandidateResult } from '../../lib/contracts/model-cycle.ts';
import type { TrainActivityResult } from '../../lib/contracts/train-model.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const env = new MockActivityEnvironment(undefined, { logger: quiet });
const data = vegaDatasetsDataDir();
let root: string;
let store: LocalArtifactStore;
let db: PGliteDatabase;
let registry: BuiltinRegistry;

interface Prepared {
  trainUri: string;
  validationUri: string;
  testUri: string;
  featureSpecUri: string;
  /** Local copy of the test split, for the serving-path comparison. */
  testPath: string;
}

/**
 * What prepare writes: `source` as a table with `__label`, split by `where` clauses into Parquet
 * files in the store, and features fitted on the training split with the task attached.
 */
async function prepare(
  duck: Duck,
  name: string,
  source: string,
  label: string,
  where: { train: string; validation: string; test: string },
  features: unknown,
  task: (trainLabels: unknown[]) => Task,
): Promise<Prepared> {
  await duck.run(`CREATE TABLE ${name} AS SELECT *, ${label} AS __label FROM ${source}`);
  const uris: Record<string, string> = {};
  for (const [split, clause] of Object.entries(where)) {
    const file = join(root, `${name}-${split}.parquet`);
    await duck.run(`COPY (SELECT * FROM ${name} WHERE ${clause} ORDER BY date) TO ${sqlString(file)} (FORMAT parquet)`);
    uris[split] = (await store.put(`data/${name}/${split}.parquet`, await readFile(file))).uri;
  }
  await duck.run(`CREATE TABLE ${name}_train AS SELECT * FROM ${name} WHERE ${where.train}`);
  const fitted = await fitFeatures(duck, `${name}_train`, features as never, { fittedOn: name });
  const labels = (await duck.columns(`SELECT __label FROM ${name}_train`)).__label as unknown[];
  const featureSpecUri = (await putJson(store, `features/${name}.json`, { ...fitted, task: task(labels), label })).uri;
  return {
    trainUri: uris.train!,
    validationUri: uris.validation!,
    testUri: uris.test!,
    featureSpecUri,
    testPath: join(root, `${name}-test.parquet`),
  };
}

let weather: Prepared;
let normals: Prepared;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'flywheel-byo-train-'));
  store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
  db = await PGliteDatabase.create(join(root, 'db'));
  await migrate(db);
  registry = new BuiltinRegistry(db);
  await withDuck(async (duck) => {
    weather = await prepare(
      duck,
      'weather',
      `read_csv_auto(${sqlString(join(data, 'weather.csv'))})`,
      'weather',
      {
        train: `date < DATE '2014-01-01'`,
        validation: `date >= DATE '2014-01-01' AND date < DATE '2014-07-01'`,
        test: `date >= DATE '2014-07-01'`,
      },
      {
        features: [
          { name: 'location', kind: 'categorical' },
          { name: 'date', kind: 'datetime', parts: ['month', 'dayOfWeek'], encoding: 'cyclic' },
          { name: 'precipitation', kind: 'numeric', log1p: true },
          { name: 'temp_max', kind: 'numeric' },
          { name: 'temp_min', kind: 'numeric' },
          { name: 'wind', kind: 'numeric' },
        ],
      },
      (labels) => ({ kind: 'multiclass', classes: fitClasses(labels as string[]) }),
    );
    normals = await prepare(
      duck,
      'normals',
      `read_csv_auto(${sqlString(join(data, 'seattle-weather-hourly-normals.csv'))})`,
      'temperature::DOUBLE',
      { train: 'day(date) <= 15', validation: 'day(date) BETWEEN 16 AND 20', test: 'day(date) > 20' },
      {
        features: [
          { name: 'date', kind: 'datetime', parts: ['month', 'hour'] },
          { name: 'pressure', kind: 'numeric' },
          { name: 'wind', kind: 'numeric' },
        ],
      },
      () => ({ kind: 'regression' }),
    );
  });
}, 60_000);

afterAll(async () => db?.close());

const training = () =>
  createTrainingActivities({ store, logger: silentLogger(), identity: 'test', backend: 'cpu', preemption: noPreemption() });
const evaluation = () => createEvaluationActivities({ store, registry, logger: silentLogger() });
const registration = () => createRegistryActivities({ registry, logger: silentLogger() });
const batch = () => createBatchActivities({ store, registry, logger: silentLogger() });
const hyperparameters = { hidden: [16], epochs: 8, batchSize: 64, learningRate: 0.01, seed: 7, patience: 8 };

async function trainOn(p: Prepared, runKey: string): Promise<TrainActivityResult> {
  return (await env.run(training().trainFlightsMlp, {
    runKey,
    trainUri: p.trainUri,
    validationUri: p.validationUri,
    featureSpecUri: p.featureSpecUri,
    datasetVersion: 'test',
    hyperparameters,
  })) as TrainActivityResult;
}

async function evaluate(p: Prepared, model: string, runKey: string, modelUri: string, gates: Record<string, unknown>) {
  return (await env.run(evaluation().evaluateCandidate, {
    model,
    runKey,
    modelUri,
    featureSpecUri: p.featureSpecUri,
    testUri: p.testUri,
    validationUri: p.validationUri,
    gates,
  })) as EvaluateCandidateResult;
}

async function register(p: Prepared, model: string, runKey: string, trained: TrainActivityResult, evaluated: EvaluateCandidateResult) {
  const { version } = (await env.run(registration().registerCandidate, {
    model,
    runKey,
    modelUri: trained.modelUri,
    featureSpecUri: p.featureSpecUri,
    lineage: { datasetVersion: 'test', featureSpecHash: trained.featureSpecHash, params: {} },
    metrics: evaluated.metrics,
    gateReportUri: evaluated.gateReportUri,
    reportUri: evaluated.reportUri,
    summary: evaluated.summary,
  })) as { version: number };
  await registry.setAlias(model, 'champion', version, { actor: 'test', reason: 'test champion' });
  return version;
}

/** Scores the whole test split through the batch activities; the output rows in row order. */
async function batchScore(model: string, p: Prepared, outputPrefix: string) {
  const plan = (await env.run(batch().planBatch, { datasetUri: p.testUri, model: { name: model }, chunkRows: 400 })) as BatchPlan;
  const parts: BatchChunkResult[] = [];
  for (let i = 0; i < planChunkCount(plan); i++) {
    const chunk = planChunkAt(plan, i);
    parts.push(
      (await env.run(batch().scoreBatchChunk, { datasetUri: p.testUri, outputPrefix, plan: plan.model, chunk })) as BatchChunkResult,
    );
  }
  const files = parts.map((c) => sqlString(join(root, 'store', ...store.keyFor(c.uri).split('/'))));
  const rows = await withDuck((duck) => duck.all(`SELECT * FROM read_parquet([${files.join(', ')}]) ORDER BY row_number`));
  return { plan, rows };
}

/** The serving path: the test rows as JSON instances, through batchFromInstances, the same
 * encoder and the same ONNX model; one prediction per row. */
async function servingPredictions(io: ModelIO, modelUri: string, testPath: string, dateFormat: string) {
  const instances = await withDuck(
    async (duck) =>
      JSON.parse(
        JSON.stringify(
          await duck.all(
            `SELECT * EXCLUDE (date, __label), strftime(date::TIMESTAMP, ${sqlString(dateFormat)}) AS date FROM read_parquet(${sqlString(testPath)})`,
          ),
        ),
      ) as unknown[],
  );
  const parsed = batchFromInstances(io.fitted.spec, instances);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
  const session = await OnnxSession.create(await store.get(store.keyFor(modelUri)));
  try {
    const out = await session.run(io.encoder.encode(parsed.batch), parsed.batch.rows);
    return Array.from({ length: parsed.batch.rows }, (_, i) => predictionOf(io.task, out, i * io.head.units));
  } finally {
    await session.dispose();
  }
}

describe('multiclass: Seattle and New York weather', () => {
  let trained: TrainActivityResult;
  let evaluated: EvaluateCandidateResult;

  it('trains a softmax model from the fitted features, with its task and hash in the ONNX metadata', async () => {
    trained = await trainOn(weather, 'runs/weather/1');
    const io = await loadModelIO(store, weather.featureSpecUri);
    expect(trained.task).toEqual(io.task);
    expect(io.task).toMatchObject({ kind: 'multiclass', classes: expect.arrayContaining(['rain', 'sun']) });
    expect(trained.featureSpecHash).toBe(io.hash);
    expect(trained.lineage).toMatchObject({ featureSpecHash: io.hash, task: 'multiclass' });
    expect(trained.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const meta = readOnnxMetadata(await store.get(store.keyFor(trained.modelUri)));
    expect(meta).toMatchObject({ featureSpecHash: io.hash, task: 'multiclass' });
    expect(JSON.parse(meta.classes!)).toEqual(io.task.kind === 'multiclass' ? io.task.classes : []);
  }, 60_000);

  it('checkpoints a preempted multiclass run and resumes it to the same result', async () => {
    const preempt = new AbortController();
    const acts = createTrainingActivities({
      store,
      logger: silentLogger(),
      identity: 'test',
      backend: 'cpu',
      preemption: { signal: preempt.signal, dispose: () => undefined },
    });
    const runEnv = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
    runEnv.on('heartbeat', (d: unknown) => {
      if ((d as { epoch: number }).epoch >= 2) preempt.abort(new Error('SIGTERM'));
    });
    const input = {
      runKey: 'runs/weather/preempted',
      trainUri: weather.trainUri,
      validationUri: weather.validationUri,
      featureSpecUri: weather.featureSpecUri,
      datasetVersion: 'test',
      hyperparameters,
      checkpoint: { everySteps: 5 },
    };
    const err = await runEnv.run(acts.trainFlightsMlp, input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ type: 'Preempted', nonRetryable: false });
    const resumed = (await env.run(training().trainFlightsMlp, input)) as TrainActivityResult;
    expect(resumed.resumedFrom?.epoch).toBeGreaterThanOrEqual(2);
    expect(resumed.epochsRun).toBe(trained.epochsRun);
    // Deterministic resume: the same weights as the uninterrupted run, so the same best loss.
    expect(resumed.bestValLoss).toBeCloseTo(trained.bestValLoss, 5);
  }, 60_000);

  it('evaluates accuracy and macro-F1, slices by location, passes its gates and writes the report', async () => {
    evaluated = await evaluate(weather, 'byo-weather', 'runs/weather/1', trained.modelUri, {
      minAccuracy: 0.5,
      maxAccuracyDropVsChampion: 0.05,
      maxP99LatencyMs: 500,
    });
    expect(evaluated.task).toBe('multiclass');
    expect(Object.keys(evaluated.metrics).sort()).toEqual(['accuracy', 'classes', 'logLoss', 'macroF1', 'topK', 'topKAccuracy']);
    expect(evaluated.metrics.accuracy).toBeGreaterThan(0.5);
    expect(evaluated.summary).toMatch(/^3\/3 gates passed \(1 skipped: no champion\)$/);
    expect(evaluated.worstSlice).toMatch(/^location=/);
    const html = (await store.get(store.keyFor(evaluated.reportUri))).toString();
    expect(html).toContain('Confusion');
    await register(weather, 'byo-weather', 'runs/weather/1', trained, evaluated);
  }, 60_000);

  it('fails a gate it cannot meet with QualityGateFailed naming it, the champion compared', async () => {
    const err = await evaluate(weather, 'byo-weather', 'runs/weather/2', trained.modelUri, { minAccuracy: 0.999 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('QualityGateFailed');
    expect((err as ApplicationFailure).details?.[0]).toMatchObject({ failedGates: ['minAccuracy'] });
    const again = await evaluate(weather, 'byo-weather', 'runs/weather/3', trained.modelUri, { maxAccuracyDropVsChampion: 0.01 });
    expect(again.champion).toEqual({ version: 1, metrics: evaluated.metrics });
    expect(again.summary).toBe('1/1 gates passed');
  }, 60_000);

  it('refuses gates of another task', async () => {
    const err = await evaluate(weather, 'byo-weather', 'runs/weather/4', trained.modelUri, { minAuc: 0.6 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ApplicationFailure).type).toBe('InvalidConfig');
    expect((err as ApplicationFailure).message).toContain('minAuc is a binary classification gate');
  }, 60_000);

  it('batch-scores class, probability and p_<class> equal to the serving path', async () => {
    const io = await loadModelIO(store, weather.featureSpecUri);
    const classes = io.task.kind === 'multiclass' ? io.task.classes : [];
    const { plan, rows } = await batchScore('byo-weather', weather, 'batch/weather');
    expect(plan.model.outputColumns).toEqual(['class', 'probability', ...classes.map((c) => `p_${c}`)]);
    const serving = await servingPredictions(io, trained.modelUri, weather.testPath, '%Y-%m-%d');
    expect(rows).toHaveLength(serving.length);
    rows.forEach((row, i) => {
      const online = serving[i] as { class: string; probabilities: Record<string, number> };
      expect(row.class).toBe(online.class);
      expect(Math.abs((row.probability as number) - online.probabilities[online.class]!)).toBeLessThanOrEqual(1e-5);
      for (const c of classes) expect(Math.abs((row[`p_${c}`] as number) - online.probabilities[c]!)).toBeLessThanOrEqual(1e-5);
    });
  }, 60_000);
});

describe('regression: Seattle hourly temperature normals', () => {
  let trained: TrainActivityResult;

  it('trains, evaluates RMSE/MAE/R² with gates, and does not compare a champion of another task', async () => {
    trained = await trainOn(normals, 'runs/normals/1');
    expect(trained.task).toEqual({ kind: 'regression' });
    expect(trained.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4); // raw °C: float32 rounding
    // Same model name as the multiclass champion: it must be left out with a note, not compared.
    const evaluated = await evaluate(normals, 'byo-weather', 'runs/normals/1', trained.modelUri, {
      minR2: 0.6,
      maxRmse: 5,
      maxRmseIncreaseVsChampion: 0.1,
    });
    expect(Object.keys(evaluated.metrics).sort()).toEqual(['mae', 'r2', 'rmse', 'targetMean']);
    expect(evaluated.metrics.r2).toBeGreaterThan(0.6);
    expect(evaluated.champion).toBeNull();
    expect(evaluated.notes?.[0]).toMatch(
      /champion v1 not compared: it is a multiclass classification model, the candidate a regression one/,
    );
    expect(evaluated.summary).toContain('(1 skipped: no champion)');
    expect(evaluated.worstSlice).toMatch(/^date\.month=(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$/);
    await register(normals, 'byo-normals', 'runs/normals/1', trained, evaluated);
  }, 60_000);

  it('batch-scores `value` equal to the serving path', async () => {
    const io = await loadModelIO(store, normals.featureSpecUri);
    const { plan, rows } = await batchScore('byo-normals', normals, 'batch/normals');
    expect(plan.model.outputColumns).toEqual(['value']);
    const serving = await servingPredictions(io, trained.modelUri, normals.testPath, '%Y-%m-%dT%H:%M:%S');
    expect(rows).toHaveLength(serving.length);
    rows.forEach((row, i) => expect(Math.abs((row.value as number) - (serving[i] as { value: number }).value)).toBeLessThanOrEqual(1e-5));
  }, 60_000);
});
