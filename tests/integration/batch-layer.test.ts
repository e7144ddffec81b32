// The lambda read path on real servers: PostgreSQL (a private database on the shared server), the
// S3 store, a private Temporal dev server with a worker running the real batchPredict and
// batchFeatures workflows and activities, and the inference server over HTTP. After a keyed batch
// job publishes, a lookup by key answers with its value and `layer: "batch"`; a key outside the
// job is scored in real time from the batch feature table; a multiclass job is served in its task's
// shape; a second prediction job, or feature job, that has written every row but not published
// leaves the first one serving; a join gives the prediction the full features give; a stale job
// and an unreadable batch layer both fall back to real time, and say so.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeatureTableActivities } from '../../activities/batch/features.ts';
import { createBatchActivities } from '../../activities/batch/index.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { readPrediction } from '../../lib/batch/table.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { fitFixtureSpec, registerFixtureModel } from '../fixtures/fixture-models.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { createPrivateDatabase, type PrivateDatabase } from './private-database.ts';
import { batchPredictWorkflow, type BatchPredictInput } from '../../lib/contracts/batch-predict.ts';
import { batchFeaturesWorkflow, type BatchFeaturesResult } from '../../lib/contracts/batch-features.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomBytes(4).toString('hex');
const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/batch-layer-${tag}`, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const logger = createLogger({ level: 'silent' });
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const NAME = `flights-lambda-${tag}`;
/** A multiclass model on the same features; it joins NAME's feature table (the mapping knob). */
const MC = `flights-lambda-mc-${tag}`;
const CLASSES = ['early', 'on-time', 'late'];
/** Keys F0…F999 have batch predictions; F1000…F1199 only feature rows. */
const SCORED = 1000;
const FEATURED = 1200;

let dir: string;
let db: PostgresDatabase;
let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let server: InferenceServer;
let url: string;
let database: PrivateDatabase;
const extraServers: InferenceServer[] = [];
let predictionsUri: string;
let featuresUri: string;
/** The same entities a month later: every distance 500 miles longer. */
let laterFeaturesUri: string;
/** Holds a job between its last chunk and its publish while set. */
let gate: { jobId: string; reached: () => void; released: boolean } | undefined;

async function startServer(
  env: Record<string, string> = {},
  batchDb?: PostgresDatabase,
): Promise<{ server: InferenceServer; url: string }> {
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: `${NAME},${MC}`,
    FLYWHEEL_SERVE_BATCH_FEATURE_TABLES: `${MC}=${NAME}`,
    FLYWHEEL_SERVE_REFRESH_MS: '600000',
    FLYWHEEL_SERVE_AUTH: 'false',
    FLYWHEEL_SERVE_CACHE_SIZE: '0',
    ...env,
  }).serve;
  const s = await createInferenceServer({
    settings,
    db,
    registry: new BuiltinRegistry(db),
    store,
    logger,
    predictionLog: false,
    ...(batchDb ? { batchDb } : {}),
  });
  return { server: s, url: await s.start() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-lambda-'));
  database = await createPrivateDatabase(infra.databaseUrl, 'flywheel_lambda');
  db = await PostgresDatabase.create(database.url);
  await migrate(db);
  const registry = new BuiltinRegistry(db);
  const spec = await fitFixtureSpec(20_000);
  await registerFixtureModel({ registry, store, name: NAME, spec, hidden: [8], seed: 1, alias: 'champion' });
  // Version 2 predicts differently: the second batch job scores with it.
  await registerFixtureModel({ registry, store, name: NAME, spec, hidden: [8], seed: 2 });
  await registerFixtureModel({
    registry,
    store,
    name: MC,
    spec: { ...spec, task: { kind: 'multiclass', classes: CLASSES } },
    hidden: [8],
    alias: 'champion',
  });
  const predictionsFile = join(dir, 'flights-scored.parquet');
  const featuresFile = join(dir, 'flights-features.parquet');
  await withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE f AS SELECT row_number() OVER () - 1 AS n, * FROM (SELECT * FROM read_parquet('${flightsParquetPath()}') LIMIT ${FEATURED})`,
    );
    const cols = `'F' || n AS flight_id, date, distance, origin, destination, delay`;
    await duck.run(`COPY (SELECT ${cols} FROM f WHERE n < ${SCORED} ORDER BY n) TO '${predictionsFile}' (FORMAT parquet)`);
    await duck.run(`COPY (SELECT ${cols} FROM f ORDER BY n) TO '${featuresFile}' (FORMAT parquet)`);
    await duck.run(
      `COPY (SELECT 'F' || n AS flight_id, date, distance + 500 AS distance, origin, destination, delay FROM f ORDER BY n) TO '${join(dir, 'later.csv')}' (FORMAT csv, HEADER)`,
    );
  });
  laterFeaturesUri = pathToFileURL(join(dir, 'later.csv')).toString();
  predictionsUri = pathToFileURL(predictionsFile).toString();
  featuresUri = pathToFileURL(featuresFile).toString();

  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: infra.temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
  });
  const batch = createBatchActivities({ store, db, registry, logger });
  const features = createFeatureTableActivities({ store, db, logger });
  /** Runs `publish` once the test releases the gate, if it holds this job. */
  async function gated<T>(jobId: string, publish: () => Promise<T>): Promise<T> {
    const g = gate;
    if (g && g.jobId === jobId) {
      g.reached();
      while (!g.released) {
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return publish();
  }
  worker = await createWorker({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUES.cpu,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }),
    activities: {
      ...batch,
      ...features,
      // The test pauses one job between writing its rows and publishing them (the real publish
      // runs once released), heartbeating so the pause is not a heartbeat timeout.
      publishBatchTable: (job: Parameters<typeof batch.publishBatchTable>[0]) => gated(job.jobId, () => batch.publishBatchTable(job)),
      publishFeatureTable: (job: Parameters<typeof features.publishFeatureTable>[0]) =>
        gated(job.jobId, () => features.publishFeatureTable(job)),
    },
  });
  workerRun = worker.run();
  ({ server, url } = await startServer());
}, 180_000);

afterAll(async () => {
  for (const s of [server, ...extraServers]) await s?.stop();
  if (gate) gate.released = true;
  worker?.shutdown();
  await workerRun;
  await env?.teardown();
  await db?.close();
  await database?.drop();
  store.dispose();
  await rm(dir, { recursive: true, force: true });
});

interface Body {
  requestId: string;
  layer: string;
  fallback?: string;
  prediction: { probability: number; version: number; batchJob?: string; ageS?: number };
  predictions: Array<{ probability: number; version: number; layer: string; batchJob?: string; ageS?: number; joined?: boolean }>;
  error?: { code: string; message: string };
}

async function call(base: string, path: string, body?: unknown): Promise<{ status: number; json: Body; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Body, ms: performance.now() - started };
}

const lookup = (key: string, base = url) => call(base, `/v1/models/${NAME}/batch/${encodeURIComponent(key)}`);
const predict = (body: unknown, base = url) => call(base, `/v1/models/${NAME}/predict`, body);

/** The key's row as a request instance (the model's inputs, timestamps as a client sends them). */
async function instanceOf(key: string): Promise<Record<string, unknown>> {
  const [row] = await withDuck((duck) =>
    duck.all(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination
       FROM read_parquet('${featuresUri.replace('file://', '')}') WHERE flight_id = '${key}'`,
    ),
  );
  return row!;
}

async function storedPrediction(jobId: string, key: string): Promise<{ probability: number; version: number }> {
  const { rows } = await db.query<{ prediction: { probability: number; version: number } }>(
    'SELECT prediction FROM batch_keyed_predictions WHERE job_id = $1 AND entity_key = $2',
    [jobId, key],
  );
  return rows[0]!.prediction;
}

function runBatch(label: string, version: number, extra: Partial<BatchPredictInput> = {}) {
  const input: BatchPredictInput = {
    datasetUri: predictionsUri,
    model: { name: NAME, version },
    ...extra,
    outputPrefix: `out/${label}`,
    chunkRows: 300,
    maxParallel: 2,
    keyColumn: 'flight_id',
  };
  return env.client.workflow.start(batchPredictWorkflow, {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.batchPredict(input.model.name, `${label}-${tag}`),
    args: [input],
  });
}

let firstJob: string;

describe('the lambda read path', () => {
  it('answers a key from the published batch job, with the value the job stored and layer batch', async () => {
    const handle = await runBatch('first', 1);
    await handle.result();
    firstJob = handle.workflowId;
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_keyed_predictions WHERE job_id = $1', [firstJob]);
    expect(rows[0]!.n).toBe(SCORED);

    const got = await lookup('F17');
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ layer: 'batch', key: 'F17', prediction: { batchJob: firstJob, version: 1 } });
    expect(got.json.prediction.ageS).toBeLessThan(60);
    expect(got.json.prediction.probability).toBe((await storedPrediction(firstJob, 'F17')).probability);
    // What the job stored is what the model says now for the same flight.
    const now = await predict({ instances: [await instanceOf('F17')] });
    expect(Math.abs(now.json.predictions[0]!.probability - got.json.prediction.probability)).toBeLessThan(1e-6);

    // The predict option: keys with layer auto answer from the batch where it has them.
    const auto = await predict({ instances: [{}, await instanceOf('F1100')], keys: ['F17', 'F1100'], layer: 'auto' });
    expect(auto.status).toBe(200);
    expect(auto.json.layer).toBe('mixed');
    expect(auto.json.predictions[0]).toMatchObject({ layer: 'batch', batchJob: firstJob, probability: got.json.prediction.probability });
    expect(auto.json.predictions[1]).toMatchObject({ layer: 'realtime', version: 1 });
    // layer batch refuses a key the job does not have, naming it.
    const only = await predict({ instances: [{}], keys: ['F1100'], layer: 'batch' });
    expect(only.status).toBe(404);
    expect(only.json.error!.message).toContain('"F1100"');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_serving_layer_predictions_total\{model="[^"]+",layer="batch",fallback="none"\} [1-9]/);
  }, 60_000);

  it('scores a key outside the batch job in real time from the batch feature table, and a join matches full features', async () => {
    const result: BatchFeaturesResult = await env.client.workflow.execute(batchFeaturesWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.batchFeatures(NAME, `first-${tag}`),
      args: [{ sourceUri: featuresUri, table: NAME, keyColumn: 'flight_id', chunkRows: 500 }],
    });
    expect(result).toMatchObject({ rows: FEATURED, columns: ['date', 'distance', 'origin', 'destination', 'delay'] });

    const full = await instanceOf('F1100');
    const expected = (await predict({ instances: [full] })).json.predictions[0]!.probability;
    const got = await lookup('F1100');
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ layer: 'realtime', key: 'F1100', prediction: { version: 1 } });
    expect(got.json.fallback).toBeUndefined();
    expect(got.json.prediction.probability).toBeCloseTo(expected, 6);
    // Neither a batch prediction nor a feature row: 404, naming the key.
    const none = await lookup('nobody');
    expect(none.status).toBe(404);
    expect(none.json.error!.message).toContain('"nobody"');

    // Join: an empty instance plus the feature row is the full instance; a request value wins.
    const joined = await predict({ instances: [{}, { distance: 2500 }], keys: ['F1100', 'F1100'], join: true });
    expect(joined.status).toBe(200);
    expect(joined.json.predictions[0]).toMatchObject({ layer: 'realtime', joined: true });
    expect(joined.json.predictions[0]!.probability).toBeCloseTo(expected, 6);
    const overridden = (await predict({ instances: [{ ...full, distance: 2500 }] })).json.predictions[0]!.probability;
    expect(joined.json.predictions[1]!.probability).toBeCloseTo(overridden, 6);
    expect(overridden).not.toBeCloseTo(expected, 6);
  }, 60_000);

  it('stores and serves any task: a multiclass job answers with class and probabilities, as predict does', async () => {
    await (await runBatch('mc', 1, { model: { name: MC } })).result();
    const got = await call(url, `/v1/models/${MC}/batch/F5`);
    expect(got.status).toBe(200);
    const batch = got.json.prediction as unknown as { class: string; probabilities: Record<string, number>; version: number };
    expect(got.json.layer).toBe('batch');
    expect(Object.keys(batch.probabilities)).toEqual(CLASSES);
    const now = (await call(url, `/v1/models/${MC}/predict`, { instances: [await instanceOf('F5')] })).json.predictions[0] as unknown as {
      class: string;
      probabilities: Record<string, number>;
    };
    expect(batch.class).toBe(now.class);
    for (const c of CLASSES) expect(batch.probabilities[c]).toBeCloseTo(now.probabilities[c]!, 6);
    // A key outside the job: scored from the table FLYWHEEL_SERVE_BATCH_FEATURE_TABLES maps it to.
    const rt = await call(url, `/v1/models/${MC}/batch/F1100`);
    expect(rt.status).toBe(200);
    expect(rt.json.layer).toBe('realtime');
    expect(CLASSES).toContain((rt.json.prediction as unknown as { class: string }).class);
  }, 60_000);

  it('keeps serving the published job while a second one has written its rows but not published', async () => {
    const before = await lookup('F17');
    let reached!: () => void;
    const atPublish = new Promise<void>((r) => (reached = r));
    // This one also writes the row-number table (`writeTable`), published by the same flip.
    const handle = await runBatch('second', 2, { writeTable: true });
    gate = { jobId: handle.workflowId, reached, released: false };
    await atPublish;
    // Every row of the second job is in the table, yet readers still see the first job.
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_keyed_predictions WHERE job_id = $1', [
      handle.workflowId,
    ]);
    expect(rows[0]!.n).toBe(SCORED);
    const second = await storedPrediction(handle.workflowId, 'F17');
    expect(second.version).toBe(2);
    expect(second.probability).not.toBe(before.json.prediction.probability);
    const during = await lookup('F17');
    expect(during.json).toMatchObject({ layer: 'batch', prediction: { batchJob: firstJob, version: 1 } });
    expect(during.json.prediction.probability).toBe(before.json.prediction.probability);

    gate.released = true;
    await handle.result();
    const after = await lookup('F17');
    expect(after.json).toMatchObject({ layer: 'batch', prediction: { batchJob: handle.workflowId, version: 2 } });
    expect(after.json.prediction.probability).toBe(second.probability);
    // Row 17 of the dataset is F17: the row-number read agrees with the keyed one.
    const byRow = await readPrediction(db, NAME, predictionsUri, 17);
    expect(byRow).toMatchObject({ jobId: handle.workflowId, modelVersion: 2 });
    expect(byRow!.probability).toBeCloseTo(second.probability, 6);
  }, 60_000);

  it('joins the published feature job while a newer one (from CSV) has loaded its rows but not published', async () => {
    const full = await instanceOf('F1100');
    const current = (await predict({ instances: [full] })).json.predictions[0]!.probability;
    const later = (await predict({ instances: [{ ...full, distance: Number(full.distance) + 500 }] })).json.predictions[0]!.probability;
    expect(later).not.toBeCloseTo(current, 6);
    let reached!: () => void;
    const atPublish = new Promise<void>((r) => (reached = r));
    const workflowId = WORKFLOW_IDS.batchFeatures(NAME, `later-${tag}`);
    gate = { jobId: workflowId, reached, released: false };
    const handle = await env.client.workflow.start(batchFeaturesWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId,
      args: [{ sourceUri: laterFeaturesUri, table: NAME, keyColumn: 'flight_id', columns: ['date', 'distance', 'origin', 'destination'] }],
    });
    await atPublish;
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_feature_rows WHERE job_id = $1', [workflowId]);
    expect(rows[0]!.n).toBe(FEATURED);
    const during = await lookup('F1100');
    expect(during.json.layer).toBe('realtime');
    expect(during.json.prediction.probability).toBeCloseTo(current, 6);
    gate.released = true;
    expect(await handle.result()).toMatchObject({ rows: FEATURED, columns: ['date', 'distance', 'origin', 'destination'] });
    const after = await lookup('F1100');
    expect(after.json.prediction.probability).toBeCloseTo(later, 6);
  }, 60_000);

  it('scores in real time when the published job is older than FLYWHEEL_SERVE_BATCH_MAX_AGE_S', async () => {
    const { rows } = await db.query<{ job_id: string }>('SELECT job_id FROM batch_prediction_serving WHERE model = $1', [NAME]);
    const jobId = rows[0]!.job_id;
    await db.query(`UPDATE batch_prediction_jobs SET published_at = now() - interval '2 days' WHERE job_id = $1`, [jobId]);
    try {
      const got = await lookup('F17');
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ layer: 'realtime', prediction: { version: 1 } });
      expect(got.json.prediction.batchJob).toBeUndefined();
      const only = await predict({ instances: [{}], keys: ['F17'], layer: 'batch' });
      expect(only.status).toBe(404);
      expect(only.json.error!.message).toMatch(/old \(max 86400 s\)/);
    } finally {
      await db.query(`UPDATE batch_prediction_jobs SET published_at = now() WHERE job_id = $1`, [jobId]);
    }
  }, 30_000);

  it('falls back to real-time scoring when the batch layer cannot be read, and says so', async () => {
    // The batch layer reads through its own pool, closed here: every lookup fails at once.
    const batchDb = await PostgresDatabase.create(database.url);
    await batchDb.close();
    const down = await startServer({}, batchDb);
    extraServers.push(down.server);
    const full = await instanceOf('F17');
    const expected = (await predict({ instances: [full] })).json.predictions[0]!.probability;
    for (let i = 0; i < 4; i++) {
      const got = await predict({ instances: [full], keys: ['F17'], layer: 'auto' }, down.url);
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ layer: 'realtime', fallback: 'batch layer unavailable' });
      expect(got.json.predictions[0]).toMatchObject({ layer: 'realtime', version: 1 });
      expect(got.json.predictions[0]!.probability).toBeCloseTo(expected, 6);
    }
    // A join whose table cannot be read scores what was sent, and says so.
    const joined = await predict({ instances: [full], keys: ['F17'], join: true }, down.url);
    expect(joined.json).toMatchObject({ layer: 'realtime', fallback: 'batch layer unavailable' });
    expect(joined.json.predictions[0]!.joined).toBe(false);
    // A key alone cannot be scored without its features: 503, not a wrong answer.
    const keyOnly = await lookup('F17', down.url);
    expect(keyOnly.status).toBe(503);
    expect(keyOnly.json.error!.message).toContain('batch layer unavailable');
    const batchOnly = await predict({ instances: [{}], keys: ['F17'], layer: 'batch' }, down.url);
    expect(batchOnly.status).toBe(503);
    // The outage shows: fallback answers counted, and the batch layer's breaker in the metrics
    // (open after 3 failed lookups) and in /readyz, which stays ready.
    const metrics = await (await fetch(`${down.url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_serving_layer_predictions_total\{model="[^"]+",layer="realtime",fallback="unavailable"\} [1-9]/);
    expect(metrics).toMatch(/flywheel_serving_breaker_state\{dependency="batch-layer"\} 2/);
    const ready = await fetch(`${down.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { breakers: Record<string, { state: string }> }).breakers['batch-layer']?.state).toBe('open');
  }, 30_000);
});
