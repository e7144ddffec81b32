// Experiment tracking against the real servers: two training runs of one model through the real
// activities, in process (train → evaluate → register, as a cycle runs them), on PostgreSQL, the
// S3 store and the MLflow registry. Each run is in `training_runs` with its params, epochs, system
// and metrics, linked to its version; MLflow's own Python client lists the MLflow runs with their
// params, metrics and artifacts; and `flywheel runs list|show|compare` read them through the CLI.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { evaluateJobOf } from '../../lib/model-spec/train-job.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { MlflowRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { noPreemption } from '../../lib/training/preemption.ts';
import { getRun, type TrainingRunRecord } from '../../lib/tracking/index.ts';
import type { EvaluateCandidateResult } from '../../lib/contracts/model-cycle.ts';
import type { BuildFeaturesResult, IngestResult } from '../../lib/contracts/prepare-data.ts';
import type { TrainActivityResult } from '../../lib/contracts/train-model.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, sliceEvent } from './lifecycle-helpers.ts';
import { ROOT } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const model = `tracking-${tag}`;
const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/tracking-${tag}`, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const logger = silentLogger();
// The expected gate failure would otherwise be logged by the mock's default logger.
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const env = new MockActivityEnvironment({ activityType: 'tracking-test' }, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
let db: PostgresDatabase;
let dir: string;
const runKeys = [`training/${model}/a`, `training/${model}/b`];
const versions: number[] = [];

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', 'runs', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATABASE_URL: infra.databaseUrl },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** One run as a cycle runs it: train, evaluate (which records it), register (which links it). */
async function cycle(
  spec: ModelSpec,
  runKey: string,
  prepared: { featureSpecUri: string; splits: Record<string, { uri: string }>; datasetVersion: string },
) {
  const registry = new MlflowRegistry({ trackingUri: infra.mlflowUri, db });
  const training = createTrainingActivities({ store, logger, identity: `tracking-test-${tag}`, preemption: noPreemption() });
  const evaluation = createEvaluationActivities({ store, logger, registry, db });
  const registration = createRegistryActivities({ registry, logger, db });
  const { splits, featureSpecUri } = prepared;
  const trained: TrainActivityResult = await env.run(training.trainFlightsMlp, {
    runKey,
    trainUri: splits.train!.uri,
    validationUri: splits.validation!.uri,
    featureSpecUri,
    datasetVersion: prepared.datasetVersion,
    hyperparameters: spec.trainer.kind === 'tfjs-mlp' ? spec.trainer.hyperparameters : {},
    limitRows: 3000,
  });
  const job = evaluateJobOf(
    spec,
    { ...trained, preemptions: 0 },
    { featureSpecUri, testUri: splits.test!.uri, validationUri: splits.validation!.uri },
  );
  const evaluated: EvaluateCandidateResult = await env.run(evaluation.evaluateCandidate, job);
  const { version }: { version: number } = await env.run(registration.registerCandidate, {
    model: spec.name,
    runKey,
    modelUri: trained.modelUri,
    featureSpecUri,
    lineage: { datasetVersion: prepared.datasetVersion, featureSpecHash: trained.featureSpecHash, params: trained.lineage.hyperparameters },
    metrics: evaluated.metrics,
    gateReportUri: evaluated.gateReportUri,
    reportUri: evaluated.reportUri,
    summary: evaluated.summary,
  });
  return version;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-tracking-'));
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  const spec = await quickSpec(model);
  const slice = await sliceEvent(store, dir, '2001-01', 3000);
  const data = createDataActivities({ store, logger });
  const ingested: IngestResult = await env.run(data.ingestDataset, { dataset: 'flights', sourceUris: slice.uris });
  const columns = {
    features: spec.features,
    task: spec.task,
    label: spec.data.label!,
    ...(spec.data.time ? { time: spec.data.time } : {}),
  };
  const features: BuildFeaturesResult = await env.run(data.buildFeatures, { manifestUri: ingested.manifestUri, ...columns });
  const prepared = { ...features, datasetVersion: ingested.datasetVersion };
  versions.push(await cycle(spec, runKeys[0]!, prepared));
  // The second run: other hyperparameters, and a gate no tiny model passes — a failed run is tracked too.
  const strict = await quickSpec(model, {
    trainer: { hyperparameters: { hidden: [4], epochs: 3, seed: 7 }, resources: { gpu: false }, limitRows: 3000 },
    gates: { minAuc: 0.999 },
  } as never);
  const failure = await cycle(strict, runKeys[1]!, prepared).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).type).toBe('QualityGateFailed');
}, 60_000);

afterAll(async () => {
  await db?.close();
  store.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('experiment tracking on the real servers', () => {
  it('records each run with params, epochs, system and metrics, linked to its version and its MLflow run', async () => {
    const passed = (await getRun(db, runKeys[0]!)) as TrainingRunRecord;
    expect(passed).toMatchObject({ model, status: 'passed', trainer: 'tfjs-mlp', version: versions[0] });
    expect(passed.params).toMatchObject({ hidden: [8], epochs: 2, seed: 5 });
    expect(passed.epochs.map((e) => e.epoch)).toEqual([0, 1]); // the TF.js trainer counts epochs from 0
    expect(passed.epochs[0]!.metrics.loss).toBeGreaterThan(0);
    expect(passed.system).toMatchObject({ identity: `tracking-test-${tag}`, node: process.version });
    expect(passed.metrics.rocAuc).toBeGreaterThan(0);
    expect(passed.metrics['train.epochsRun']).toBe(2);
    expect(Object.keys(passed.artifacts)).toEqual(
      expect.arrayContaining(['model', 'int8Model', 'weights', 'featureSpec', 'gateReport', 'report', 'metrics']),
    );
    expect(passed.mlflowRunId).toMatch(/^[0-9a-f]{32}$/);

    const failed = (await getRun(db, runKeys[1]!)) as TrainingRunRecord;
    expect(failed).toMatchObject({ status: 'failed', version: null });
    expect(failed.summary).toMatch(/auc/i);
    expect(failed.epochs.length).toBeGreaterThan(0);
    expect(failed.mlflowRunId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('MLflow’s Python client lists the runs with their params, metrics, per-epoch history and artifacts', async () => {
    expect(infra.mlflowPython, 'the MLflow venv (infra.sh provision mlflow)').toBeTruthy();
    const script = `
import json, sys
from mlflow.tracking import MlflowClient
c = MlflowClient(sys.argv[1])
exp = c.get_experiment_by_name("flywheel/" + sys.argv[2])
out = []
for r in c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"]):
    out.append({"name": r.info.run_name, "status": r.info.status, "params": r.data.params, "metrics": r.data.metrics,
                "tags": {k: v for k, v in r.data.tags.items() if k.startswith("flywheel.")},
                "loss": [[m.step, m.value] for m in c.get_metric_history(r.info.run_id, "loss")],
                "artifacts": sorted(a.path for a in c.list_artifacts(r.info.run_id, "evaluation")), "id": r.info.run_id})
mv = c.get_model_version(sys.argv[2], sys.argv[3])
print(json.dumps({"runs": out, "versionRunId": mv.run_id}))
`;
    const res = spawnSync(infra.mlflowPython!, ['-c', script, infra.mlflowUri, model, String(versions[0])], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const { runs, versionRunId } = JSON.parse(res.stdout) as {
      runs: Array<{
        name: string;
        status: string;
        params: Record<string, string>;
        metrics: Record<string, number>;
        tags: Record<string, string>;
        loss: number[][];
        artifacts: string[];
        id: string;
      }>;
      versionRunId: string;
    };
    expect(runs.map((r) => [r.name, r.status])).toEqual([
      [runKeys[0], 'FINISHED'],
      [runKeys[1], 'FAILED'],
    ]);
    const [a, b] = runs;
    const tracked = (await getRun(db, runKeys[0]!))!;
    expect(a!.id).toBe(tracked.mlflowRunId);
    expect(versionRunId).toBe(tracked.mlflowRunId);
    expect(a!.params).toMatchObject({ hidden: '[8]', epochs: '2', seed: '5' });
    expect(b!.params).toMatchObject({ hidden: '[4]', epochs: '3' });
    expect(a!.metrics.rocAuc).toBeCloseTo(tracked.metrics.rocAuc!, 6);
    expect(a!.loss.map(([step]) => step)).toEqual([0, 1]);
    expect(a!.loss[1]![1]).toBeCloseTo(tracked.epochs[1]!.metrics.loss!, 6);
    expect(a!.tags).toMatchObject({
      'flywheel.runId': runKeys[0],
      'flywheel.datasetVersion': tracked.datasetVersion,
      'flywheel.trainer': 'tfjs-mlp',
      'flywheel.version': String(versions[0]),
    });
    expect(a!.tags['flywheel.system.hostname']).toBeTruthy();
    expect(a!.artifacts).toEqual(['evaluation/gates.json', 'evaluation/metrics.json', 'evaluation/report.html']);
  });

  it('flywheel runs list, show and compare read them from the database', () => {
    const list = flywheel('list', '--model', model, '--json');
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as TrainingRunRecord[]).map((r) => [r.runId, r.status])).toEqual([
      [runKeys[1], 'failed'],
      [runKeys[0], 'passed'],
    ]);
    const show = flywheel('show', runKeys[0]!);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`Version\\s+v${versions[0]}`));
    expect(show.stdout).toMatch(/EPOCH\s+loss\s+valLoss/);
    expect(show.stdout).toMatch(/MLflow run\s+[0-9a-f]{32}/);
    const compare = flywheel('compare', ...runKeys);
    expect(compare.status, compare.stderr).toBe(0);
    expect(compare.stdout).toMatch(/^\*\s+param epochs\s+2\s+3$/m);
    expect(compare.stdout).toMatch(/^\*\s+status\s+passed\s+failed$/m);
    expect(compare.stdout).toMatch(/^\s+model\s+/m);
  });
});
