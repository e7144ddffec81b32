// Experiment tracking on the embedded database: runs recorded idempotently, linked to versions and
// MLflow runs, listed and compared; drift checks kept over time; and how a training result and an
// evaluation become one run record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import type { DriftCheckSummary } from '../../lib/contracts/drift-monitor.ts';
import type { TrainActivityResult, ExternalModelResult } from '../../lib/contracts/train-model.ts';
import { evaluateJobOf, trainingRunOf } from '../../lib/model-spec/train-job.ts';
import {
  epochCollector,
  getRun,
  getRuns,
  linkRunVersion,
  listChecks,
  listRuns,
  recordCheck,
  recordRun,
  setMlflowRunId,
  trackedRunOf,
  type NewTrainingRun,
} from '../../lib/tracking/index.ts';
import { captureSystemInfo } from '../../lib/tracking/system.ts';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let db: PGliteDatabase;

beforeAll(async () => {
  db = await PGliteDatabase.create('memory://');
  await migrate(db);
}, 60_000);

afterAll(async () => {
  await db?.close();
});

function run(runId: string, overrides: Partial<NewTrainingRun> = {}): NewTrainingRun {
  return {
    runId,
    model: 'flights-delay',
    datasetVersion: 'ds-1',
    trainer: 'tfjs-mlp',
    status: 'passed',
    params: { hidden: [16, 8], learningRate: 0.001 },
    metrics: { rocAuc: 0.71 },
    epochs: [
      { epoch: 1, metrics: { loss: 0.5, valLoss: 0.52 } },
      { epoch: 2, metrics: { loss: 0.45, valLoss: 0.5 } },
    ],
    system: null,
    artifacts: { model: `s3://b/${runId}/model.onnx` },
    summary: 'all gates passed',
    startedAt: '2026-11-30T10:00:00.000Z',
    ...overrides,
  };
}

describe('training_runs', () => {
  it('records a run once, however often the evaluation retries, keeping a linked version', async () => {
    await recordRun(db, run('r-1'));
    expect(await linkRunVersion(db, 'r-1', 3, 'mlflow-abc')).toBe(true);
    const again = await recordRun(db, run('r-1', { metrics: { rocAuc: 0.72 } }));
    expect(again.version).toBe(3);
    expect(again.mlflowRunId).toBe('mlflow-abc');
    expect(again.metrics).toEqual({ rocAuc: 0.72 });
    expect((await listRuns(db)).filter((r) => r.runId === 'r-1')).toHaveLength(1);
    const stored = await getRun(db, 'r-1');
    expect(stored?.epochs[1]).toEqual({ epoch: 2, metrics: { loss: 0.45, valLoss: 0.5 } });
    expect(stored?.startedAt).toBe('2026-11-30T10:00:00.000Z');
  });

  it('linking a run nobody recorded says so', async () => {
    expect(await linkRunVersion(db, 'never-recorded', 1)).toBe(false);
  });

  it('lists newest first, per model, and finds runs in the order asked', async () => {
    await recordRun(db, run('r-2', { model: 'penguins', status: 'failed' }));
    await setMlflowRunId(db, 'r-2', 'mlflow-2');
    await recordRun(db, run('r-3'));
    expect((await listRuns(db, { model: 'flights-delay' })).map((r) => r.runId)).toEqual(['r-3', 'r-1']);
    expect((await listRuns(db, { limit: 1 })).map((r) => r.runId)).toEqual(['r-3']);
    const both = await getRuns(db, ['r-2', 'missing', 'r-1']);
    expect(both.map((r) => [r.runId, r.status, r.mlflowRunId])).toEqual([
      ['r-2', 'failed', 'mlflow-2'],
      ['r-1', 'passed', 'mlflow-abc'],
    ]);
  });
});

describe('monitor_checks', () => {
  const check = (checkId: string, at: string, breach: boolean): DriftCheckSummary => ({
    checkId,
    at,
    status: breach ? 'breach' : 'ok',
    breach,
    reasons: breach ? ['distance > 0.2'] : [],
    championVersion: 2,
    reference: 'ds-1',
    samples: 500,
    drift: null,
    slo: { samples: 500, p99LatencyMs: 3, errorRate: 0, labels: 0, auc: null, positiveRate: null },
  });

  it('keeps one row per check id, oldest first', async () => {
    await recordCheck(db, 'flights-delay', check('c-2', '2026-11-30T11:00:00.000Z', true));
    await recordCheck(db, 'flights-delay', check('c-1', '2026-11-30T10:00:00.000Z', false));
    await recordCheck(db, 'flights-delay', check('c-2', '2026-11-30T11:00:00.000Z', true)); // a retried activity
    const checks = await listChecks(db, 'flights-delay');
    expect(checks.map((c) => [c.checkId, c.breach])).toEqual([
      ['c-1', false],
      ['c-2', true],
    ]);
  });
});

describe('the drift check activity', () => {
  it('keeps every check it runs, once per check id', async () => {
    const store = await LocalArtifactStore.create(pathToFileURL(await mkdtemp(join(tmpdir(), 'flywheel-tracking-'))).href);
    const acts = createMonitorActivities({
      store,
      registry: new BuiltinRegistry(db),
      logger: silentLogger(),
      db,
      client: () => Promise.reject(new Error('no client')),
    });
    const monitor = monitorSpecSchema.parse({});
    await acts.checkDrift({ model: 'unserved', checkId: 'k-1', monitor });
    const summary = await acts.checkDrift({ model: 'unserved', checkId: 'k-1', monitor }); // a retry
    expect(summary.status).toBe('no-champion');
    const checks = await listChecks(db, 'unserved');
    expect(checks.map((c) => [c.checkId, c.status, c.at])).toEqual([['k-1', 'no-champion', summary.at]]);
  });
});

const tfjsResult: TrainActivityResult & { preemptions: number } = {
  trainer: 'tfjs-mlp',
  runKey: 'training/m/ds-1/1',
  weightsUri: 's3://b/run/weights.ckpt',
  modelUri: 's3://b/run/model.onnx',
  int8ModelUri: 's3://b/run/model.int8.onnx',
  featureSpecHash: 'h',
  parity: { rows: 100, maxAbsDiff: 1e-6, int8MaxAbsDiff: 0.01 },
  lineage: {
    datasetVersion: 'ds-1',
    trainUri: 's3://b/train.parquet',
    validationUri: 's3://b/validation.parquet',
    featureSpecUri: 's3://b/features.json',
    hyperparameters: { hidden: [8], epochs: 2 },
  },
  backend: 'wasm',
  bestValLoss: 0.4,
  epochsRun: 2,
  stoppedEarly: false,
  globalStep: 20,
  history: [
    { epoch: 1, loss: 0.6, valLoss: 0.5 },
    { epoch: 2, loss: 0.5, valLoss: 0.4 },
  ],
  resumedFrom: null,
  skippedCheckpoints: [],
  identity: 'gpu-1',
  system: {
    identity: 'gpu-1',
    hostname: 'h',
    platform: 'linux',
    arch: 'x64',
    node: 'v20',
    cpus: 2,
    cpuModel: 'cpu',
    memoryMb: 1024,
    backend: 'tfjs-wasm',
  },
  startedAt: '2026-11-30T10:00:00.000Z',
  preemptions: 1,
};

describe('a training result as a tracked run', () => {
  it('takes the TF.js history as epochs and the files as artifacts', () => {
    const r = trainingRunOf(tfjsResult);
    expect(r.trainer).toBe('tfjs-mlp');
    expect(r.epochs).toEqual([
      { epoch: 1, metrics: { loss: 0.6, valLoss: 0.5 } },
      { epoch: 2, metrics: { loss: 0.5, valLoss: 0.4 } },
    ]);
    expect(r.artifacts).toMatchObject({ model: tfjsResult.modelUri, int8Model: tfjsResult.int8ModelUri, weights: tfjsResult.weightsUri });
    expect(r.trainingMetrics).toMatchObject({ bestValLoss: 0.4, epochsRun: 2, preemptions: 1 });
    expect(r.system?.backend).toBe('tfjs-wasm');
  });

  it('takes a command trainer’s epochs, command and done metrics', () => {
    const command: ExternalModelResult = {
      trainer: 'command',
      runKey: 'training/m/ds-1/2',
      modelUri: 's3://b/run/model.onnx',
      featureSpecHash: 'h',
      lineage: { ...tfjsResult.lineage, hyperparameters: { lr: 0.1 }, command: ['python3', 'train.py'] },
      task: { kind: 'binary' },
      metrics: { valAuc: 0.8 },
      resumedFrom: null,
      lastCheckpointUri: 's3://b/run/ckpt/3',
      skippedCheckpoints: [],
      identity: 'gpu-2',
      epochs: [{ epoch: 0, metrics: { loss: 0.7 } }],
    };
    const r = trainingRunOf(command);
    expect(r).toMatchObject({
      trainer: 'command',
      params: { lr: 0.1, command: ['python3', 'train.py'] },
      epochs: [{ epoch: 0, metrics: { loss: 0.7 } }],
      trainingMetrics: { valAuc: 0.8 },
      artifacts: { checkpoint: 's3://b/run/ckpt/3' },
    });
    expect(r.system).toBeUndefined();
  });

  it('rides on the evaluation input of a whole training result only', () => {
    const spec = { name: 'm', gates: {}, trainer: { kind: 'tfjs-mlp' as const, hyperparameters: {}, resources: { gpu: false } } };
    const data = { featureSpecUri: 'f', testUri: 't', validationUri: 'v' };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(evaluateJobOf(spec as any, tfjsResult, data).run?.datasetVersion).toBe('ds-1');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(evaluateJobOf(spec as any, { runKey: 'r', modelUri: 'm' }, data).run).toBeUndefined();
  });

  it('joins the evaluation: test metrics, training metrics as train.*, int8 as int8.*, report files', () => {
    const record = trackedRunOf(
      { model: 'm', runKey: 'training/m/ds-1/1', run: trainingRunOf(tfjsResult) },
      {
        status: 'failed',
        summary: 'rocAuc 0.6 < 0.65',
        metrics: { rocAuc: 0.6 },
        int8Metrics: { rocAuc: 0.59 },
        gateReportUri: 's3://b/gates.json',
        reportUri: 's3://b/report.html',
        metricsUri: 's3://b/metrics.json',
      },
    );
    expect(record.status).toBe('failed');
    expect(record.metrics).toMatchObject({ rocAuc: 0.6, 'train.bestValLoss': 0.4, 'int8.rocAuc': 0.59 });
    expect(record.artifacts).toMatchObject({
      gateReport: 's3://b/gates.json',
      report: 's3://b/report.html',
      metrics: 's3://b/metrics.json',
    });
    expect(record.startedAt).toBe('2026-11-30T10:00:00.000Z');
  });
});

describe('what a training worker captures', () => {
  it('collects the last value of each metric per epoch, in epoch order', () => {
    const c = epochCollector();
    c.add(2, { loss: 0.4 });
    c.add(1, { loss: 0.6 });
    c.add(1, { loss: 0.5, acc: 0.7 });
    c.add(undefined, { loss: 0.1 });
    expect(c.list()).toEqual([
      { epoch: 1, metrics: { loss: 0.5, acc: 0.7 } },
      { epoch: 2, metrics: { loss: 0.4 } },
    ]);
  });

  it('describes the host, and lists GPUs only when there are some', async () => {
    const info = await captureSystemInfo('cpu@test', 'tfjs-wasm', async () => []);
    expect(info).toMatchObject({ identity: 'cpu@test', backend: 'tfjs-wasm', platform: process.platform, node: process.version });
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.memoryMb).toBeGreaterThan(0);
    expect(info.gpus).toBeUndefined();
    expect((await captureSystemInfo('g', 'b', async () => ['NVIDIA H200'])).gpus).toEqual(['NVIDIA H200']);
  });
});
