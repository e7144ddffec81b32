// Shared set-up for the lifecycle tests: one test file's world on the shared servers, small flights slices in the S3 store as data-arrival
// events, a quick model spec, polling the lifecycle's status Query (or anything else), and
// prediction traffic to an inference server.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import type { InfraEnv } from './infra.ts';
import { spawnWorker, type Spawned } from './processes.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import type { FixtureInstance } from '../fixtures/fixture-models.ts';
import { loadFeatureSpec } from '../../lib/features/tabular/index.ts';
import { FLIGHTS_FEATURES_PATH, FLIGHTS_LABEL } from '../fixtures/flights-example.ts';
import { parseModelSpec, type ModelSpec, type ModelSpecInput } from '../../lib/model-spec/model-spec.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ROOT } from './processes.ts';
import { statusQuery, type DataArrivedSignal, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';

/** One lifecycle test file's world on the shared servers: its own store prefix, the built-in
 * registry on PostgreSQL, a CPU worker process using both, and a Temporal client. */
export class LifecycleWorld {
  readonly tag = randomUUID().slice(0, 8);
  readonly storeUri: string;
  readonly store: S3ArtifactStore;
  db!: PostgresDatabase;
  registry!: BuiltinRegistry;
  worker!: Spawned;
  connection!: Connection;
  client!: Client;

  constructor(
    private readonly infra: InfraEnv,
    private readonly prefix: string,
  ) {
    this.storeUri = `s3://${infra.s3Bucket}/${prefix}-${this.tag}`;
    this.store = S3ArtifactStore.create(this.storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
  }

  /** Registry, worker and client; call from beforeAll (the worker takes up to 90 s to start).
   * `workerEnv` adds to the worker's environment once the database is up (e.g. the serving URL and
   * an admin key a rollout needs). */
  async start(workerEnv?: (db: PostgresDatabase) => Promise<Record<string, string>>): Promise<this> {
    this.db = await PostgresDatabase.create(this.infra.databaseUrl);
    await migrate(this.db);
    this.registry = new BuiltinRegistry(this.db);
    this.worker = spawnWorker('cpu', {
      ...this.infra.env,
      MLFLOW_TRACKING_URI: '',
      ARTIFACT_STORE: this.storeUri,
      FLYWHEEL_WORKER_IDENTITY: `${this.prefix}-${this.tag}`,
      ...(workerEnv ? await workerEnv(this.db) : {}),
    });
    await this.worker.waitFor('"worker started"', 90_000);
    this.connection = await Connection.connect({ address: this.infra.temporalAddress });
    this.client = new Client({ connection: this.connection });
    return this;
  }

  /** Entity workflows run forever: end them so the shared dev server does not collect them. */
  async terminate(workflowIds: readonly string[]): Promise<void> {
    for (const id of workflowIds)
      await this.client?.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
  }

  /** Stops the worker and closes every connection (whatever start got to). */
  async stop(): Promise<void> {
    this.worker?.child.kill('SIGTERM');
    await this.worker?.exited;
    await this.connection?.close();
    await this.db?.close();
    this.store.dispose();
  }
}

/** `rows` flights of `month` (from `offset`) as a partition in the store, announced as an event. */
export async function sliceEvent(
  store: ArtifactStore,
  dir: string,
  month: string,
  rows: number,
  offset = 0,
  partition = month,
): Promise<DataArrivedSignal> {
  const file = join(dir, `${partition}-${offset}.parquet`);
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE strftime(date, '%Y-%m') = '${month}' ORDER BY date LIMIT ${rows} OFFSET ${offset}) TO '${file}' (FORMAT parquet)`,
    ),
  );
  const info = await store.put(`lake/flights/${partition}-${offset}.parquet`, await readFile(file));
  return { eventId: `data-arrived/flights/${partition}/${info.sha256!.slice(0, 12)}`, dataset: 'flights', partition, uris: [info.uri] };
}

export async function quickSpec(name: string, overrides: Partial<ModelSpecInput> = {}): Promise<ModelSpec> {
  const validation = await loadValidationSpec(join(ROOT, 'examples/flights/validation.yaml'));
  return parseModelSpec({
    name,
    task: 'binary',
    data: { dataset: 'flights', label: FLIGHTS_LABEL, time: 'date', partition: { by: 'month' }, validation, windowPartitions: 2 },
    features: await loadFeatureSpec(FLIGHTS_FEATURES_PATH),
    trainer: { hyperparameters: { hidden: [8], epochs: 2, seed: 5 }, resources: { gpu: false }, limitRows: 3000 },
    // No gates by default: a tiny model on a few thousand rows sits near AUC 0.5 either way.
    gates: {},
    ...overrides,
  });
}

export async function waitForStatus(
  client: Client,
  model: string,
  predicate: (s: LifecycleStatus) => boolean,
  timeoutMs = 120_000,
): Promise<LifecycleStatus> {
  const handle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
  const deadline = Date.now() + timeoutMs;
  let last: LifecycleStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${model}; last status: ${JSON.stringify(last, null, 2)}`);
}

/** Sends `instances` to the inference server's predict endpoint, 100 per request; every answer must be a 200. */
export async function predictAll(url: string, key: string, model: string, instances: readonly FixtureInstance[]): Promise<void> {
  for (let i = 0; i < instances.length; i += 100) {
    const res = await fetch(`${url}/v1/models/${model}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: instances.slice(i, i + 100) }),
    });
    if (res.status !== 200) throw new Error(`predict ${model}: ${res.status} ${await res.text()}`);
  }
}

/** Polls `read` until `done` holds (errors count as not yet); throws with the last value on timeout. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (err) {
      error = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out waiting for ${what}; last: ${JSON.stringify(last)}${error ? `; last error: ${(error as Error).message}` : ''}`,
  );
}
