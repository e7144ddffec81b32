// batchPredict on the real Temporal dev server, PostgreSQL registry and S3 store, with the CPU
// worker as a child process: every row scored exactly once (across continue-as-new), predictions
// equal ONNX Runtime's for the same rows, and a cancelled job's manifest lists exactly the chunks
// that finished.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_SPEC_TAG } from '../../activities/evaluation/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { buildFeaturesForVersion, loadDataset } from '../../lib/data/prepare.ts';
import { flightsPrepareFields } from '../fixtures/flights-example.ts';
import { batchFromInstances, loadModelIO, type ModelIO } from '../../lib/features/tabular/index.ts';
import { OnnxSession } from '../../lib/onnx/index.ts';
import { readPrediction } from '../../lib/batch/table.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { getJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import { WORKFLOW_IDS, TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { loadSplit } from '../../lib/training/data.ts';
import { exportRun } from '../../lib/training/export.ts';
import { trainMlp } from '../../lib/training/tfjs/trainer.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';
import { batchPredictWorkflow, batchProgressQuery, type BatchManifest, type BatchPredictInput } from '../../lib/contracts/batch-predict.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/batch-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const modelName = `flights-batch-${tag}`;
const ROWS = 300_000;
let worker: Spawned;
let client: Client;
let db: PostgresDatabase;
let datasetUri: string;
let modelUri: string;
let io: ModelIO;
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'flywheel-batch-'));
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  // A real model: trained on January, registered with its feature spec.
  const janFile = join(dir, 'jan.parquet');
  const scoreFile = join(dir, 'score.parquet');
  await withDuck(async (duck) => {
    await duck.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') ORDER BY date LIMIT 30000) TO '${janFile}' (FORMAT parquet)`,
    );
    await duck.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE date >= TIMESTAMP '2001-03-01' ORDER BY date LIMIT ${ROWS}) TO '${scoreFile}' (FORMAT parquet)`,
    );
    const jan = (await store.put('raw/jan.parquet', await readFile(janFile))).uri;
    const manifest = await ingestDataset(duck, { store }, { dataset: 'flights', sourceUris: [jan] });
    await loadDataset(duck, { store }, manifest);
    const f = await buildFeaturesForVersion(duck, store, manifest, await flightsPrepareFields());
    io = await loadModelIO(store, f.featureSpecUri);
    const train = await loadSplit(duck, { store }, f.splits.train.uri, io);
    const validation = await loadSplit(duck, { store }, f.splits.validation.uri, io);
    const run = await trainMlp({ hidden: [8], epochs: 2, seed: 3 }, train, validation);
    modelUri = (
      await exportRun(store, `runs/${tag}`, run.weights, run.layers, [8], train, validation, {
        featureSpecHash: io.hash,
        datasetVersion: manifest.datasetVersion,
      })
    ).modelUri;
    await new BuiltinRegistry(db).createVersion({
      model: modelName,
      runId: `runs/${tag}`,
      artifactUri: modelUri,
      lineage: { datasetVersion: manifest.datasetVersion, featureSpecHash: io.hash, params: {} },
      tags: { [FEATURE_SPEC_TAG]: f.featureSpecUri },
    });
    await new BuiltinRegistry(db).setAlias(modelName, 'champion', 1, { actor: 'test', reason: 'batch test' });
  });
  datasetUri = (await store.put('score/march.parquet', await readFile(scoreFile))).uri;
  // The built-in registry (on the same PostgreSQL), where this test registered the model.
  worker = spawnWorker('cpu', {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_WORKER_IDENTITY: `batch-${tag}`,
  });
  await worker.waitFor('"worker started"', 90_000);
  client = new Client({ connection: await Connection.connect({ address: infra.temporalAddress }) });
}, 180_000);

afterAll(async () => {
  await client?.connection.close();
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await db?.close();
  store.dispose();
});

async function outputRows(
  prefix: string,
): Promise<{ rows: number; distinct: number; min: number; max: number; sample: Array<{ r: number; p: number; v: number }> }> {
  const files: string[] = [];
  for await (const o of store.list(`${prefix}/part-`)) {
    const path = join(dir, o.key.replaceAll('/', '_'));
    await writeFile(path, await store.get(o.key, { verify: true }));
    files.push(`'${path}'`);
  }
  return withDuck(async (duck) => {
    const from = `read_parquet([${files.join(', ')}])`;
    const [agg] = await duck.all<{ rows: number; distinct: number; min: number; max: number }>(
      `SELECT count(*)::BIGINT AS rows, count(DISTINCT row_number)::BIGINT AS distinct, min(row_number)::BIGINT AS min, max(row_number)::BIGINT AS max FROM ${from}`,
    );
    const sample = await duck.all<{ r: number; p: number; v: number }>(
      `SELECT row_number::BIGINT AS r, probability::DOUBLE AS p, model_version AS v FROM ${from} WHERE row_number % 997 = 0 ORDER BY r`,
    );
    return { ...agg!, sample };
  });
}

describe('batchPredict', () => {
  it('scores every row once, across continue-as-new, matching ONNX Runtime', async () => {
    const input: BatchPredictInput = {
      datasetUri,
      model: { name: modelName },
      outputPrefix: `out/full-${tag}`,
      chunkRows: 50_000,
      maxParallel: 2,
      chunksPerRun: 4,
      writeTable: true,
    };
    const handle = await client.workflow.start(batchPredictWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.batchPredict(modelName, `full-${tag}`),
      args: [input],
    });
    const firstRun = handle.firstExecutionRunId;
    const manifest = (await handle.result()) as BatchManifest;
    expect(manifest).toMatchObject({
      status: 'completed',
      rowsTotal: ROWS,
      rowsWritten: ROWS,
      chunksTotal: 6,
      model: { name: modelName, version: 1 },
    });
    // The result stays small; the manifest file lists every chunk (from the chunks' records).
    expect(manifest.chunks).toBeUndefined();
    expect((await handle.describe()).runId).not.toBe(firstRun); // continued as new
    const stored = await getJson<BatchManifest>(store, store.keyFor(manifest.manifestUri!));
    expect(stored.rowsWritten).toBe(ROWS);
    expect(stored.chunks!.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.model)).toBe(modelName);

    const out = await outputRows(`out/full-${tag}`);
    expect(out).toMatchObject({ rows: ROWS, distinct: ROWS, min: 0, max: ROWS - 1 });
    // The same rows through ONNX Runtime directly (the serving path's encoding) give the same answers.
    const raw = await withDuck((duck) =>
      duck.all<{ iso: string; distance: number; origin: string; destination: string }>(
        `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS iso, distance::DOUBLE AS distance, origin, destination FROM read_parquet('${join(dir, 'score.parquet')}', file_row_number = true) WHERE file_row_number % 997 = 0 ORDER BY file_row_number`,
      ),
    );
    const parsed = batchFromInstances(
      io.fitted.spec,
      raw.map((r) => ({ date: r.iso, distance: r.distance, origin: r.origin, destination: r.destination })),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const x = io.encoder.encode(parsed.batch);
    const session = await OnnxSession.create(await store.get(store.keyFor(modelUri)));
    const expected = await session.run(x, raw.length);
    await session.dispose();
    expect(x.length).toBe(raw.length * io.encoder.dimension);
    expect(out.sample).toHaveLength(raw.length);
    out.sample.forEach((s, i) => {
      expect(s.v).toBe(1);
      expect(Math.abs(s.p - expected[i]!)).toBeLessThanOrEqual(1e-6);
    });
    // Lambda architecture: the same predictions, bulk-loaded and published for request-time reads.
    const { rows: loaded } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_predictions WHERE job_id = $1', [
      handle.workflowId,
    ]);
    expect(loaded[0]!.n).toBe(ROWS);
    for (const s of out.sample.slice(0, 20)) {
      const read = await readPrediction(db, modelName, datasetUri, s.r);
      expect(read).toMatchObject({ jobId: handle.workflowId, modelVersion: 1 });
      expect(Math.abs(read!.probability - s.p)).toBeLessThanOrEqual(1e-6);
    }
  }, 240_000);

  it('scores all 3M flights rows: output row count equals input', async () => {
    const input: BatchPredictInput = {
      datasetUri: pathToFileURL(flightsParquetPath()).toString(),
      model: { name: modelName },
      outputPrefix: `out/all-${tag}`,
      chunkRows: 500_000,
      maxParallel: 2,
    };
    const manifest = (await client.workflow.execute(batchPredictWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.batchPredict(modelName, `all-${tag}`),
      args: [input],
    })) as BatchManifest;
    expect(manifest).toMatchObject({ status: 'completed', rowsTotal: 3_000_000, rowsWritten: 3_000_000, chunksTotal: 6 });
    expect(await outputRows(`out/all-${tag}`)).toMatchObject({ rows: 3_000_000, distinct: 3_000_000, min: 0, max: 2_999_999 });
  }, 240_000);

  it('loses no row and duplicates none when a worker is SIGKILLed mid-job', async () => {
    const second = spawnWorker('cpu', {
      ...infra.env,
      MLFLOW_TRACKING_URI: '',
      ARTIFACT_STORE: storeUri,
      FLYWHEEL_WORKER_IDENTITY: `batch-b-${tag}`,
    });
    await second.waitFor('"worker started"', 90_000);
    const prefix = `out/kill-${tag}`;
    const input: BatchPredictInput = { datasetUri, model: { name: modelName }, outputPrefix: prefix, chunkRows: 10_000, maxParallel: 2 };
    const handle = await client.workflow.start(batchPredictWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.batchPredict(modelName, `kill-${tag}`),
      args: [input],
    });
    // Kill the second worker while it is running a chunk, so that chunk must be retried elsewhere.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.lastWorkerIdentity === `batch-b-${tag}` && a.activityType?.name === 'scoreBatchChunk')) break;
      if (Date.now() > deadline) throw new Error('the second worker never ran a chunk');
      await new Promise((r) => setTimeout(r, 20));
    }
    second.child.kill('SIGKILL');
    await second.exited;
    const manifest = (await handle.result()) as BatchManifest;
    expect(manifest).toMatchObject({ status: 'completed', rowsWritten: ROWS, chunksTotal: 30 });
    expect(await outputRows(prefix)).toMatchObject({ rows: ROWS, distinct: ROWS, min: 0, max: ROWS - 1 });
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('runs from the CLI with a progress bar and reports status', () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TEMPORAL_ADDRESS: infra.temporalAddress };
    const start = spawnSync(
      process.execPath,
      ['bin/flywheel.js', 'batch', 'start', datasetUri, '--model', modelName, '--output', `out/cli-${tag}`, '--chunk-rows', '100000'],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(start.status, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/\[#+\.*\] \d+\.\d% [\d,]+\/300,000 rows/);
    expect(start.stdout).toContain('COMPLETED');
    expect(start.stdout).toMatch(/Rows written\s+300,000/);
    const id = /Started (\S+)/.exec(start.stdout)![1]!;
    const status = spawnSync(process.execPath, ['bin/flywheel.js', 'batch', 'status', id], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(status.stdout).toContain(`${id}: COMPLETED`);
    expect(status.stdout).toContain('100.0% 300,000/300,000 rows');
  }, 180_000);

  it('on cancel stops new chunks and writes a manifest of exactly the finished ones', async () => {
    const prefix = `out/cancel-${tag}`;
    const input: BatchPredictInput = {
      datasetUri,
      model: { name: modelName },
      outputPrefix: prefix,
      chunkRows: 5_000,
      maxParallel: 1,
      writeTable: true,
    };
    const handle = await client.workflow.start(batchPredictWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.batchPredict(modelName, `cancel-${tag}`),
      args: [input],
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const p = await handle.query(batchProgressQuery).catch(() => undefined);
      if (p && p.chunksDone >= 3) break;
      if (Date.now() > deadline) throw new Error(`the job made no progress: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const manifest = await getJson<BatchManifest>(store, `${prefix}/manifest.json`);
    expect(manifest.status).toBe('cancelled');
    const finished = manifest.chunks!;
    expect(finished.length).toBeGreaterThanOrEqual(3);
    expect(finished.length).toBeLessThan(60);
    const parts: string[] = [];
    for await (const o of store.list(`${prefix}/part-`)) parts.push(o.uri);
    expect(parts.sort()).toEqual(finished.map((c) => c.uri).sort());
    expect(manifest.rowsWritten).toBe(finished.reduce((n, c) => n + c.rows, 0));
    // Its rows were loaded but never published: reads still see the complete earlier job.
    const { rows: partial } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_predictions WHERE job_id = $1', [
      handle.workflowId,
    ]);
    expect(partial[0]!.n).toBeGreaterThan(0);
    expect((await readPrediction(db, modelName, datasetUri, 0))?.jobId).toBe(WORKFLOW_IDS.batchPredict(modelName, `full-${tag}`));
  }, 120_000);
});
