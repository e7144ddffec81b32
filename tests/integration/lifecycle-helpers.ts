// Shared set-up for the lifecycle tests: small flights slices in the S3 store as data-arrival
// events, a quick model spec, polling the lifecycle's status Query (or anything else), and
// prediction traffic to an inference server.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import type { FlightInstance } from '../../lib/features/flights.ts';
import { parseModelSpec, type ModelSpec, type ModelSpecInput } from '../../lib/model-spec/model-spec.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ROOT } from './processes.ts';
import { statusQuery, type DataArrivedSignal, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';

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
    data: { dataset: 'flights', validation, windowPartitions: 2 },
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
export async function predictAll(url: string, key: string, model: string, instances: readonly FlightInstance[]): Promise<void> {
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
