// evaluateCandidate and registerCandidate with real trained binary models on a local store and
// the built-in registry (PGlite): a good candidate passes and becomes challenger, an untrained one
// fails its gates with QualityGateFailed naming them, and the champion is scored like for like.
// The splits are written as prepare writes them (every source column plus `__label`) and the
// features are the flights example's spec fitted on the training split.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { fitFeatures, loadFeatureSpec, modelIO, type ModelIO } from '../../lib/features/tabular/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import { loadSplit } from '../../lib/training/data.ts';
import { exportRun } from '../../lib/training/export.ts';
import { initVariables, snapshot, disposeVariables } from '../../lib/training/tfjs/model.ts';
import { Rng } from '../../lib/random.ts';
import { trainMlp } from '../../lib/training/tfjs/trainer.ts';
import type { EvaluateCandidateInput, EvaluateCandidateResult, TrainingRunInput } from '../../lib/contracts/model-cycle.ts';
import { getRun, listRuns } from '../../lib/tracking/index.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const env = new MockActivityEnvironment(undefined, { logger: quiet });
const gates = { minAuc: 0.55, maxAucDropVsChampion: 0.02, maxP99LatencyMs: 200, maxModelSizeBytes: 5_000_000 };
let store: LocalArtifactStore;
let db: PGliteDatabase;
let registry: BuiltinRegistry;
let features: { featureSpecUri: string; splits: Record<'train' | 'validation' | 'test', { uri: string }> };
let io: ModelIO;
let goodModelUri: string;
let goodInt8Uri: string;
let badModelUri: string;
let acts: ReturnType<typeof createEvaluationActivities> & ReturnType<typeof createRegistryActivities>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(join(tmpdir(), 'flywheel-eval-act-'));
  store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
  db = await PGliteDatabase.create(join(root, 'db'));
  await migrate(db);
  registry = new BuiltinRegistry(db);
  acts = {
    ...createEvaluationActivities({ store, registry, logger: silentLogger() }),
    ...createRegistryActivities({ registry, logger: silentLogger() }),
  };
  await withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE flights AS SELECT *, (delay > 15)::INTEGER AS __label,
         ntile(5) OVER (ORDER BY date, origin, destination) AS fifth
       FROM (SELECT * FROM read_parquet('${flightsParquetPath()}') ORDER BY date LIMIT 40000)`,
    );
    const where = { train: 'fifth <= 3', validation: 'fifth = 4', test: 'fifth = 5' };
    const splits = {} as typeof features.splits;
    for (const [name, clause] of Object.entries(where) as [keyof typeof where, string][]) {
      const file = join(root, `${name}.parquet`);
      await duck.run(`COPY (SELECT * EXCLUDE (fifth) FROM flights WHERE ${clause}) TO ${sqlString(file)} (FORMAT parquet)`);
      splits[name] = { uri: (await store.put(`data/flights/${name}.parquet`, await readFile(file))).uri };
    }
    await duck.run(`CREATE TABLE flights_train AS SELECT * FROM flights WHERE ${where.train}`);
    const spec = await loadFeatureSpec(join(import.meta.dirname, '../../examples/flights/features.yaml'));
    const fitted = { ...(await fitFeatures(duck, 'flights_train', spec, { fittedOn: 'test' })), task: { kind: 'binary' as const } };
    io = modelIO(fitted);
    features = { featureSpecUri: (await putJson(store, 'features/flights.json', fitted)).uri, splits };
    const train = await loadSplit(duck, { store }, features.splits.train.uri, io);
    const validation = await loadSplit(duck, { store }, features.splits.validation.uri, io);
    const meta = { featureSpecHash: io.hash, datasetVersion: 'test' };
    const trained = await trainMlp({ hidden: [16], epochs: 3, learningRate: 0.01, seed: 1 }, train, validation);
    const good = await exportRun(store, 'runs/good', trained.weights, trained.layers, [16], train, validation, meta);
    goodModelUri = good.modelUri;
    goodInt8Uri = good.int8ModelUri;
    // "Bad": the same architecture, never trained — what a broken training run would ship.
    const untrained = initVariables({ inputDim: train.dim, hidden: [16] }, new Rng(99));
    badModelUri = (await exportRun(store, 'runs/bad', snapshot(untrained), trained.layers, [16], train, validation, meta)).modelUri;
    disposeVariables(untrained);
  });
}, 120_000);

afterAll(async () => db?.close());

function input(runKey: string, modelUri: string): EvaluateCandidateInput {
  return {
    model: 'flights-eval',
    runKey,
    modelUri,
    featureSpecUri: features.featureSpecUri,
    testUri: features.splits.test.uri,
    validationUri: features.splits.validation.uri,
    gates,
  };
}

describe('evaluation and registration activities', () => {
  let first: EvaluateCandidateResult;

  it('passes a good first candidate (champion gates skipped) and registers it as challenger', async () => {
    first = (await env.run(acts.evaluateCandidate, input('runs/good', goodModelUri))) as EvaluateCandidateResult;
    expect(first.summary).toMatch(/gates passed \(\d skipped: no champion\)/);
    expect(first.metrics.rocAuc).toBeGreaterThan(0.55);
    expect(first.champion).toBeNull();
    expect(first.worstSlice).toMatch(/^(origin|destination|date\.hour|date\.dayOfWeek)=/);
    const html = (await store.get(store.keyFor(first.reportUri))).toString();
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    const lineage = { datasetVersion: 'v', featureSpecHash: io.hash, params: {} };
    const registered = {
      model: 'flights-eval',
      runKey: 'runs/good',
      modelUri: goodModelUri,
      featureSpecUri: features.featureSpecUri,
      lineage,
      metrics: first.metrics,
      gateReportUri: first.gateReportUri,
      reportUri: first.reportUri,
      summary: first.summary,
    };
    const { version } = (await env.run(acts.registerCandidate, registered)) as { version: number };
    const again = (await env.run(acts.registerCandidate, registered)) as { version: number };
    expect(again.version).toBe(version);
    expect((await registry.getAlias('flights-eval', 'challenger')).version).toBe(version);
    expect(await registry.aliasHistory('flights-eval', 'challenger')).toHaveLength(1);
    await registry.setAlias('flights-eval', 'champion', version, { actor: 'test', reason: 'first champion' });
  }, 60_000);

  it('fails an untrained candidate with QualityGateFailed naming the failed gates', async () => {
    const err = await env.run(acts.evaluateCandidate, input('runs/bad', badModelUri)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe('QualityGateFailed');
    expect(failure.nonRetryable).toBe(true);
    const details = failure.details?.[0] as { failedGates: string[]; reportUri: string; htmlReportUri: string };
    expect(details.failedGates).toEqual(expect.arrayContaining(['minAuc', 'maxAucDropVsChampion']));
    expect(failure.message).toContain('failed');
    expect(await store.exists(store.keyFor(details.htmlReportUri))).toBe(true);
  }, 60_000);

  it('scores the champion on the same test rows', async () => {
    const again = (await env.run(acts.evaluateCandidate, input('runs/good-again', goodModelUri))) as EvaluateCandidateResult;
    expect(again.champion).toEqual({ version: 1, rocAuc: first.metrics.rocAuc });
    expect(again.summary).toMatch(/^\d+\/\d+ gates passed$/);
  }, 60_000);

  it('does not compare a champion whose features cannot be read, and says why', async () => {
    const legacy = await putJson(store, 'features/legacy.json', { kind: 'flights-v1', originVocab: [] });
    const { version } = (await env.run(acts.registerCandidate, {
      model: 'flights-eval',
      runKey: 'runs/legacy',
      modelUri: goodModelUri,
      featureSpecUri: legacy.uri,
      lineage: { datasetVersion: 'v', featureSpecHash: 'sha256:legacy', params: {} },
      metrics: first.metrics,
      gateReportUri: first.gateReportUri,
      reportUri: first.reportUri,
      summary: first.summary,
    })) as { version: number };
    await registry.setAlias('flights-eval', 'champion', version, { actor: 'test', reason: 'legacy champion' });
    const result = (await env.run(acts.evaluateCandidate, input('runs/good-3', goodModelUri))) as EvaluateCandidateResult;
    expect(result.champion).toBeNull();
    expect(result.notes?.[0]).toMatch(new RegExp(`^champion v${version} not compared: .*flights-v1`));
    expect(result.summary).toContain('skipped: no champion');
  }, 60_000);

  it('scores the int8 variant on the same rows, gates it against fp32, and registers it as the served build only when asked and passed', async () => {
    const withInt8 = { ...input('runs/good-int8', goodModelUri), variants: { int8: { modelUri: goodInt8Uri, maxMetricDrop: 0.02 } } };
    const result = (await env.run(acts.evaluateCandidate, withInt8)) as EvaluateCandidateResult;
    const int8 = result.variants!.int8!;
    expect(int8).toMatchObject({ metric: 'rocAuc', fp32: result.metrics.rocAuc, maxDrop: 0.02, modelUri: goodInt8Uri });
    expect(int8.variant).toBe(int8.metrics.rocAuc);
    expect(int8.drop).toBeCloseTo(int8.fp32 - int8.variant, 12);
    expect(int8.passed).toBe(int8.drop <= 0.02);
    expect(int8.sizeBytes).toBeLessThan(result.sizeBytes);
    // A gate of 0 fails any int8 model that is worse at all; one that is not worse passes.
    const strict = (await env.run(acts.evaluateCandidate, {
      ...withInt8,
      variants: { int8: { modelUri: goodInt8Uri, maxMetricDrop: 0 } },
    })) as EvaluateCandidateResult;
    expect(strict.variants!.int8!.passed).toBe(strict.variants!.int8!.drop <= 1e-12);

    const registered = {
      model: 'flights-variants',
      runKey: 'runs/good-int8',
      modelUri: goodModelUri,
      featureSpecUri: features.featureSpecUri,
      lineage: { datasetVersion: 'v', featureSpecHash: io.hash, params: {} },
      metrics: result.metrics,
      gateReportUri: result.gateReportUri,
      reportUri: result.reportUri,
      summary: result.summary,
      variants: { int8: { ...int8, passed: true } },
    };
    const fp32 = (await env.run(acts.registerCandidate, registered)) as { version: number };
    const served = (await env.run(acts.registerCandidate, {
      ...registered,
      runKey: 'runs/good-int8-served',
      servedVariant: 'int8' as const,
    })) as {
      version: number;
    };
    const failedGate = (await env.run(acts.registerCandidate, {
      ...registered,
      runKey: 'runs/good-int8-failed',
      servedVariant: 'int8' as const,
      variants: { int8: { ...int8, passed: false } },
    })) as { version: number };
    const v1 = await registry.getVersion('flights-variants', fp32.version);
    expect(v1.artifactUri).toBe(goodModelUri);
    expect(v1.tags).toMatchObject({
      'flywheel.variant': 'fp32',
      'flywheel.variant.int8.uri': goodInt8Uri,
      'flywheel.variant.fp32.uri': goodModelUri,
    });
    expect(v1.tags['flywheel.variant.int8.gate']).toMatch(/^passed: int8: rocAuc/);
    const v2 = await registry.getVersion('flights-variants', served.version);
    expect([v2.artifactUri, v2.tags['flywheel.variant']]).toEqual([goodInt8Uri, 'int8']);
    const v3 = await registry.getVersion('flights-variants', failedGate.version);
    expect([v3.artifactUri, v3.tags['flywheel.variant']]).toEqual([goodModelUri, 'fp32']);
  }, 60_000);
});

describe('experiment tracking (evaluation records the run, registration links it)', () => {
  const run: TrainingRunInput = {
    datasetVersion: 'ds-7',
    trainer: 'tfjs-mlp',
    params: { hidden: [16], epochs: 3 },
    epochs: [{ epoch: 0, metrics: { loss: 0.5, valLoss: 0.49 } }],
    artifacts: { model: 'file:///m.onnx' },
    trainingMetrics: { bestValLoss: 0.49 },
    startedAt: '2026-11-30T10:00:00.000Z',
  };
  const tracked = () => ({
    ...createEvaluationActivities({ store, registry, logger: silentLogger(), db }),
    ...createRegistryActivities({ registry, logger: silentLogger(), db }),
  });
  const tracking = (runKey: string, modelUri: string): EvaluateCandidateInput => ({
    ...input(runKey, modelUri),
    model: 'flights-tracked',
    run,
  });

  it('records a passing run with its evaluation, and links it to the version it became', async () => {
    const acts = tracked();
    const evaluated = (await env.run(acts.evaluateCandidate, tracking('runs/tracked-good', goodModelUri))) as EvaluateCandidateResult;
    const recorded = await getRun(db, 'runs/tracked-good');
    expect(recorded).toMatchObject({
      model: 'flights-tracked',
      status: 'passed',
      datasetVersion: 'ds-7',
      params: { hidden: [16] },
      version: null,
    });
    expect(recorded!.metrics).toMatchObject({ rocAuc: evaluated.metrics.rocAuc, 'train.bestValLoss': 0.49 });
    expect(recorded!.artifacts).toMatchObject({
      gateReport: evaluated.gateReportUri,
      report: evaluated.reportUri,
      metrics: evaluated.metricsUri,
    });
    const { version } = (await env.run(acts.registerCandidate, {
      model: 'flights-tracked',
      runKey: 'runs/tracked-good',
      modelUri: goodModelUri,
      featureSpecUri: features.featureSpecUri,
      lineage: { datasetVersion: 'ds-7', featureSpecHash: io.hash, params: {} },
      metrics: evaluated.metrics,
      gateReportUri: evaluated.gateReportUri,
      reportUri: evaluated.reportUri,
      summary: evaluated.summary,
    })) as { version: number };
    expect((await getRun(db, 'runs/tracked-good'))!.version).toBe(version);
  }, 60_000);

  it('records a run that failed its gates as failed before the failure is thrown, once however often it retries', async () => {
    const acts = tracked();
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await env.run(acts.evaluateCandidate, tracking('runs/tracked-bad', badModelUri)).catch((e: unknown) => e);
      expect((err as ApplicationFailure).type).toBe('QualityGateFailed');
    }
    expect((await getRun(db, 'runs/tracked-bad'))!.status).toBe('failed');
    expect((await listRuns(db, { model: 'flights-tracked' })).map((r) => r.runId).sort()).toEqual([
      'runs/tracked-bad',
      'runs/tracked-good',
    ]);
  }, 60_000);

  it('records nothing for an input from before tracking (no run details)', async () => {
    await env.run(tracked().evaluateCandidate, { ...input('runs/untracked', goodModelUri), model: 'flights-tracked' });
    expect(await getRun(db, 'runs/untracked')).toBeNull();
  }, 60_000);
});

describe('evaluateCandidate keep-alive', () => {
  it('beats through the whole scoring, not only at each step, so a heartbeat timeout only catches a dead worker', async () => {
    // A store whose model reads take 400 ms: scoring is quiet for that long between steps.
    const slowGet: LocalArtifactStore['get'] = async (key, options) => {
      if (key.endsWith('.onnx')) await new Promise((r) => setTimeout(r, 400));
      return store.get(key, options);
    };
    const slow = new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'get') return slowGet;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const beats: unknown[] = [];
    const mock = new MockActivityEnvironment(undefined, { logger: quiet });
    mock.on('heartbeat', (d: unknown) => beats.push(d));
    const activities = createEvaluationActivities({ store: slow, registry, logger: silentLogger(), keepAliveMs: 50 });
    await mock.run(activities.evaluateCandidate, { ...input('runs/good', goodModelUri), model: 'flights-keepalive' });
    // Each step beats once; the keep-alive repeats the last one while the model loads.
    const repeats = beats.filter((b, i) => i > 0 && JSON.stringify(b) === JSON.stringify(beats[i - 1]));
    expect(repeats.length).toBeGreaterThanOrEqual(4);
  });
});

describe('championLineage', () => {
  it('answers the champion’s version and training data, or null without a champion', async () => {
    const model = 'flights-lineage';
    const lineage = createRegistryActivities({ registry, logger: silentLogger() }).championLineage;
    expect(await lineage({ model })).toBeNull();
    const v = await registry.createVersion({
      model,
      runId: 'training/train/flights-lineage/v-abc/i1/1',
      artifactUri: goodModelUri,
      lineage: { datasetVersion: 'v-abc', featureSpecHash: 'h', params: {} },
    });
    expect(await lineage({ model })).toBeNull();
    await registry.setAlias(model, 'champion', v.version, { actor: 'test', reason: 'test' });
    expect(await lineage({ model })).toEqual({ version: v.version, datasetVersion: 'v-abc' });
  });
});
