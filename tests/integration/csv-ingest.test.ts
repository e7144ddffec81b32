// CSV partitions through `prepareData` on the real Temporal dev server and S3 store, with the CPU
// worker as a child process: the same January flights as Parquet, as CSV in the S3 store and as
// CSV in a local folder (file://, ISO dates) become three dataset versions (content-addressed:
// different bytes) with the same rows, column types, validation verdict, profile, splits and
// feature spec. A malformed CSV — a ragged row, or a value that does not fit its column far past
// the sniffed sample — stops at ingest with a non-retryable DataValidationFailed and a report
// that says what is wrong and where, after one attempt.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import type { DatasetManifest } from '../../lib/data/ingest.ts';
import type { DatasetProfile } from '../../lib/data/profile-types.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import type { ValidationReport } from '../../lib/data/validation/report.ts';
import type { FittedFeatures } from '../../lib/features/tabular/index.ts';
import { getJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';
import { prepareDataWorkflow, type PrepareDataResult } from '../../lib/contracts/prepare-data.ts';
import { flightsPrepareFields } from '../fixtures/flights-example.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/csv-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const ROWS = 5000;
let worker: Spawned;
let connection: Connection;
let client: Client;
let validationSpec: Record<string, unknown>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-csv-'));
  worker = spawnWorker('cpu', { ...infra.env, MLFLOW_TRACKING_URI: '', ARTIFACT_STORE: storeUri, FLYWHEEL_WORKER_IDENTITY: `csv-${tag}` });
  await worker.waitFor('"worker started"', 90_000);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });
  validationSpec = (await loadValidationSpec(join(ROOT, 'examples/flights/validation.yaml'))) as unknown as Record<string, unknown>;
}, 120_000);

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  store.dispose();
});

/** The first `rows` January flights, written by DuckDB as `name` (Parquet or CSV with a header);
 * `isoDates` writes `2001-01-01T00:01:00` instead of `2001-01-01 00:01:00`. */
async function janFile(name: string, rows: number, isoDates = false): Promise<string> {
  const out = join(dir, name);
  const date = isoDates ? `strftime(date, '%Y-%m-%dT%H:%M:%S') AS date` : 'date';
  const format = name.endsWith('.csv') ? 'FORMAT csv, HEADER' : 'FORMAT parquet';
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT ${date}, delay, distance, origin, destination FROM read_parquet('${flightsParquetPath()}') WHERE month(date) = 1 ORDER BY date, origin, destination, distance LIMIT ${rows}) TO '${out}' (${format})`,
    ),
  );
  return out;
}

async function toStore(file: string, key: string): Promise<string> {
  return (await store.put(key, await readFile(file))).uri;
}

async function prepare(label: string, sourceUris: string[]): Promise<PrepareDataResult> {
  const workflowId = WORKFLOW_IDS.prepareData('flights', `csv-${label}-${tag}`);
  return client.workflow.execute(prepareDataWorkflow, {
    taskQueue: TASK_QUEUES.cpu,
    workflowId,
    args: [{ dataset: 'flights', sourceUris, validationSpec, ...(await flightsPrepareFields()) }],
  }) as Promise<PrepareDataResult>;
}

/** Rows in one normalized dataset that the other lacks (as a multiset), both ways. */
async function rowDifference(a: DatasetManifest, b: DatasetManifest): Promise<number[]> {
  const paths = await Promise.all(
    [a, b].map(async (m) => {
      const path = join(dir, `${m.datasetVersion}.parquet`);
      await writeFile(path, await store.get(store.keyFor(m.dataUri)));
      return path;
    }),
  );
  return withDuck(async (duck) => {
    const diff = async (x: string, y: string) =>
      (
        await duck.all<{ n: number }>(
          `SELECT count(*)::INT AS n FROM (SELECT * FROM read_parquet('${x}') EXCEPT ALL SELECT * FROM read_parquet('${y}'))`,
        )
      )[0]!.n;
    return [await diff(paths[0]!, paths[1]!), await diff(paths[1]!, paths[0]!)];
  });
}

describe('CSV ingestion through prepareData', () => {
  it('a CSV partition from the S3 store and from a local folder gives the rows, types, validation, profile and features of the same data in Parquet', async () => {
    const parquetUri = await toStore(await janFile('jan.parquet', ROWS), 'raw/flights/month=2001-01/part-0000.parquet');
    const csvS3Uri = await toStore(await janFile('jan.csv', ROWS), 'raw/flights-csv/month=2001-01/part-0000.csv');
    const csvFileUri = pathToFileURL(await janFile('jan-iso.csv', ROWS, true)).href;

    const parquet = await prepare('parquet', [parquetUri]);
    const fromS3 = await prepare('s3', [csvS3Uri]);
    const fromFile = await prepare('file', [csvFileUri]);
    const results = [parquet, fromS3, fromFile];

    // Content-addressed: three different inputs (bytes), three versions; the same rows in each.
    expect(new Set(results.map((r) => r.datasetVersion)).size).toBe(3);
    expect(results.map((r) => r.rows)).toEqual([ROWS, ROWS, ROWS]);
    const manifests = await Promise.all(results.map((r) => getJson<DatasetManifest>(store, store.keyFor(r.manifestUri))));
    expect(manifests[1]!.sources).toEqual([expect.objectContaining({ uri: csvS3Uri })]);
    expect(manifests[2]!.sources).toEqual([expect.objectContaining({ uri: csvFileUri })]);
    expect(manifests[1]!.columns).toEqual(manifests[0]!.columns);
    expect(manifests[2]!.columns).toEqual(manifests[0]!.columns);
    expect(manifests[0]!.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'date TIMESTAMP',
      'delay BIGINT',
      'distance BIGINT',
      'origin VARCHAR',
      'destination VARCHAR',
    ]);
    expect(await rowDifference(manifests[0]!, manifests[1]!)).toEqual([0, 0]);
    expect(await rowDifference(manifests[0]!, manifests[2]!)).toEqual([0, 0]);

    // Validation, profile and features agree, up to the version each names.
    const unversioned = (r: PrepareDataResult) => ({
      ...r.validation,
      summary: r.validation.summary.replace(r.datasetVersion, '<version>'),
      reportUri: undefined,
    });
    expect(unversioned(parquet).summary).toContain(`passed (${ROWS} rows`);
    expect(unversioned(fromS3)).toEqual(unversioned(parquet));
    expect(unversioned(fromFile)).toEqual(unversioned(parquet));
    const profiles = await Promise.all(results.map((r) => getJson<DatasetProfile>(store, store.keyFor(r.profileUri))));
    expect(profiles.map((p) => p.source)).toEqual(results.map((r) => r.datasetVersion));
    expect(profiles[0]!.rows).toBe(ROWS);
    expect(profiles[1]!.features).toEqual(profiles[0]!.features);
    expect(profiles[2]!.features).toEqual(profiles[0]!.features);
    const split = (r: PrepareDataResult) =>
      Object.fromEntries(Object.entries(r.features.splits).map(([k, v]) => [k, { rows: v.rows, positives: v.positives }]));
    expect(split(fromS3)).toEqual(split(parquet));
    expect(split(fromFile)).toEqual(split(parquet));
    expect(results.map((r) => r.features.featureSpecHash)).toEqual([
      parquet.features.featureSpecHash,
      parquet.features.featureSpecHash,
      parquet.features.featureSpecHash,
    ]);
    const spec = async (r: PrepareDataResult) => ({
      ...(await getJson<FittedFeatures>(store, store.keyFor(r.features.featureSpecUri))),
      fittedOn: undefined,
    });
    expect(await spec(fromFile)).toEqual(await spec(parquet));
  }, 180_000);

  it.each([
    {
      what: 'a ragged row (in the store)',
      make: async () => {
        const lines = (await readFile(await janFile('ragged-src.csv', 3000), 'utf8')).trimEnd().split('\n');
        lines.splice(1000, 0, '2001-01-05 10:00:00,5,300,ATL,TPA,EXTRA');
        const path = join(dir, 'ragged.csv');
        await writeFile(path, `${lines.join('\n')}\n`);
        return toStore(path, 'raw/flights-csv/month=2001-02/part-0000.csv');
      },
      problem:
        /not a well-formed CSV \(comma-separated, double-quoted, with a header row\): rows with a different number of fields, or an unterminated quote/,
    },
    {
      what: 'a value that does not fit its column past the sniffed sample (local file)',
      make: async () => {
        const text = await readFile(await janFile('late-src.csv', 30_000), 'utf8');
        const path = join(dir, 'late.csv');
        await writeFile(path, `${text}2001-01-31 23:59:00,n/a,300,ATL,TPA\n`);
        return pathToFileURL(path).href;
      },
      problem: /CSV Error on Line: 30002; Original Line: 2001-01-31 23:59:00,n\/a,300,ATL,TPA; Error when converting column "delay"/,
    },
  ])(
    '$what: ingest fails once with DataValidationFailed and a report saying where',
    async ({ what, make, problem }) => {
      const uri = await make();
      const workflowId = WORKFLOW_IDS.prepareData('flights', `csv-bad-${what.split(' ')[1]}-${tag}`);
      const err = await client.workflow
        .execute(prepareDataWorkflow, {
          taskQueue: TASK_QUEUES.cpu,
          workflowId,
          args: [{ dataset: 'flights', sourceUris: [uri], validationSpec, ...(await flightsPrepareFields()) }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const activity = (err as WorkflowFailedError).cause as ActivityFailure;
      expect(activity).toBeInstanceOf(ActivityFailure);
      expect(activity.activityType).toBe('ingestDataset');
      const failure = activity.cause as ApplicationFailure;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure.type).toBe('DataValidationFailed');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(`cannot read ${uri}: `);
      expect(failure.message).toMatch(problem);

      const details = failure.details?.[0] as { summary: string; reportUri: string };
      const report = await getJson<ValidationReport>(store, store.keyFor(details.reportUri));
      expect(report).toMatchObject({ passed: false, errors: 1, subject: uri });
      expect(report.problems[0]).toMatchObject({ severity: 'error', rule: 'unreadable' });
      expect(report.problems[0]!.message).toMatch(problem);
      expect(new TextDecoder().decode(await store.get(store.keyFor(details.reportUri).replace(/\.json$/, '.txt')))).toMatch(problem);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const attempts = (history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(attempts).toEqual([1]);
    },
    120_000,
  );
});
