// prepareData end to end on the real Temporal dev server, S3 store and PostgreSQL, with the CPU
// worker as a child process: a clean month becomes a dataset version with a profile, fitted
// features and splits (every source column plus `__label`); a corrupt month fails fast with
// DataValidationFailed and is not retried.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import { readFittedFeatures } from '../../lib/features/tabular/model-io.ts';
import { loadFeatureSpec, type FeatureSpec } from '../../lib/features/tabular/spec.ts';
import { fittedFeaturesHash } from '../../lib/features/tabular/state.ts';
import { getJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';
import { prepareDataWorkflow, type PrepareDataResult } from '../../lib/contracts/prepare-data.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/prepare-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
let worker: Spawned;
let client: Client;
let spec: Record<string, unknown>;
let model: { features: FeatureSpec; task: 'binary'; label: { expression: string }; time: string };

async function sliceToStore(name: string, where: string, rows: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-prep-'));
  const out = join(dir, `${name}.parquet`);
  await withDuck((d) =>
    d.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE ${where} ORDER BY date LIMIT ${rows}) TO '${out}' (FORMAT parquet)`,
    ),
  );
  return (await store.put(`raw/flights/${name}/part-0000.parquet`, await readFile(out))).uri;
}

beforeAll(async () => {
  worker = spawnWorker('cpu', { ...infra.env, ARTIFACT_STORE: storeUri, FLYWHEEL_WORKER_IDENTITY: `prep-${tag}` });
  await worker.waitFor('"worker started"', 90_000);
  client = new Client({ connection: await Connection.connect({ address: infra.temporalAddress }) });
  spec = (await loadValidationSpec(join(ROOT, 'examples/flights/validation.yaml'))) as unknown as Record<string, unknown>;
  const features = await loadFeatureSpec(join(ROOT, 'examples/flights/features.yaml'));
  model = { features, task: 'binary', label: { expression: 'delay > 15' }, time: 'date' };
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  store.dispose();
});

describe('prepareData workflow', () => {
  it('turns partitions into a validated, profiled dataset version with features and splits', async () => {
    const jan = await sliceToStore('month=2001-01', `date < TIMESTAMP '2001-02-01'`, 30_000);
    const feb = await sliceToStore('month=2001-02', `date >= TIMESTAMP '2001-02-01' AND date < TIMESTAMP '2001-03-01'`, 30_000);
    const result = (await client.workflow.execute(prepareDataWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.prepareData('flights', `test-${tag}`),
      args: [{ dataset: 'flights', sourceUris: [feb, jan], validationSpec: spec, ...model }],
    })) as PrepareDataResult;

    expect(result.rows).toBe(60_000);
    expect(result.datasetVersion).toMatch(/^v-[0-9a-f]{16}$/);
    expect(result.validation.summary).toContain('passed (60000 rows');
    const { train, validation, test } = result.features.splits;
    expect(train.rows + validation.rows + test.rows).toBe(60_000);
    expect(train.rows).toBeGreaterThan(validation.rows);
    expect(train.positives).toBeGreaterThan(0);

    expect(result.features.task).toEqual({ kind: 'binary' });
    const fitted = await readFittedFeatures(store, result.features.featureSpecUri);
    expect(fittedFeaturesHash(fitted)).toBe(result.features.featureSpecHash);
    expect(fitted.fittedOn).toBe(result.datasetVersion);
    expect(fitted.task).toEqual({ kind: 'binary' });
    expect(fitted.label).toBe('delay > 15');
    const profile = await getJson<{ rows: number; features: Record<string, unknown> }>(store, store.keyFor(result.profileUri));
    expect(profile.rows).toBe(60_000);
    // Named from the feature spec: the flights demo's drift settings watch hour, distance, origin, destination.
    expect(Object.keys(profile.features)).toEqual(['hour', 'dow', 'distance', 'origin', 'destination', '__label']);

    // Same partitions in any order: the same version, and the cached outputs.
    const again = (await client.workflow.execute(prepareDataWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.prepareData('flights', `test-${tag}-again`),
      args: [{ dataset: 'flights', sourceUris: [jan, feb], validationSpec: spec, ...model }],
    })) as PrepareDataResult;
    expect(again.datasetVersion).toBe(result.datasetVersion);
    expect(again.features).toEqual(result.features);
  }, 120_000);

  it('stops on bad data with DataValidationFailed, without retrying', async () => {
    const good = await sliceToStore('month=2001-03', `date >= TIMESTAMP '2001-03-01'`, 5_000);
    const bytes = await store.get(store.keyFor(good));
    const bad = (await store.put('raw/flights/month=2001-04/part-0000.parquet', bytes.subarray(0, 1000))).uri;
    const workflowId = WORKFLOW_IDS.prepareData('flights', `bad-${tag}`);
    const err = await client.workflow
      .execute(prepareDataWorkflow, {
        taskQueue: TASK_QUEUES.cpu,
        workflowId,
        args: [{ dataset: 'flights', sourceUris: [bad], validationSpec: spec, ...model }],
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (err as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = (activityFailure as ActivityFailure).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('DataValidationFailed');
    expect((cause as ApplicationFailure).message).toContain('month=2001-04');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts).toEqual([1]);
  }, 120_000);
});
