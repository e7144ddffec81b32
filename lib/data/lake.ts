// The flights data lake: `flywheel data seed` writes monthly partitions into the artifact store,
// and `flywheel data arrive <month>` publishes one month as a data-arrival event (an object
// under events/, keyed by month and content, so announcing the same data twice is one event).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactNotFoundError, getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { FLIGHTS_DATASET, flightsParquetPath, flightsPartitionKey, MONTH_PATTERN } from './flights.ts';
import { assertPartitionName } from './partitions.ts';

export interface SeededPartition {
  month: string;
  uri: string;
  rows: number;
  written: boolean;
}

export interface DataArrivedEvent {
  type: 'data-arrived';
  dataset: string;
  partition: string;
  uris: string[];
  sha256: string;
  /** Stable across repeats of the same data: consumers de-duplicate on it. */
  eventId: string;
  publishedAt: string;
}

export async function flightsMonths(duck: Duck): Promise<Array<{ month: string; rows: number }>> {
  return duck.all(
    `SELECT strftime(date, '%Y-%m') AS month, count(*)::BIGINT AS rows FROM read_parquet(${sqlString(flightsParquetPath())}) GROUP BY 1 ORDER BY 1`,
  );
}

/** Writes each month's partition unless it is already in the store (idempotent). */
export async function seedFlights(
  duck: Duck,
  store: ArtifactStore,
  months?: readonly string[],
  onProgress?: (line: string) => void,
): Promise<SeededPartition[]> {
  const available = await flightsMonths(duck);
  const wanted = months ?? available.map((m) => m.month);
  for (const m of wanted) {
    if (!MONTH_PATTERN.test(m)) throw new RangeError(`month ${JSON.stringify(m)} is not YYYY-MM`);
    if (!available.some((a) => a.month === m))
      throw new RangeError(`the flights data has no month ${m} (available: ${available.map((a) => a.month).join(', ')})`);
  }
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-seed-'));
  const results: SeededPartition[] = [];
  try {
    for (const month of wanted) {
      const key = flightsPartitionKey(month);
      const rows = available.find((a) => a.month === month)!.rows;
      if (await store.exists(key)) {
        results.push({ month, uri: store.uriFor(key), rows, written: false });
        onProgress?.(`${month}: already seeded (${rows} rows)`);
        continue;
      }
      const out = join(tmp, `${month}.parquet`);
      await duck.run(
        `COPY (SELECT * FROM read_parquet(${sqlString(flightsParquetPath())}) WHERE strftime(date, '%Y-%m') = ${sqlString(month)} ORDER BY date)
         TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const info = await store.putStream(key, createReadStream(out), { contentType: 'application/vnd.apache.parquet' });
      results.push({ month, uri: info.uri, rows, written: true });
      onProgress?.(`${month}: wrote ${rows} rows to ${info.uri}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return results;
}

export function arrivalKey(dataset: string, partition: string): string {
  return `events/data-arrived/${dataset}/${partition}.json`;
}

/** Publishes the arrival of one partition already in the lake (its object at `key`): an event
 * keyed by dataset, partition and content, so announcing the same bytes twice is one event.
 * Returns the event and whether it is new. The partition name is checked as one path segment. */
export async function publishPartitionArrival(
  store: ArtifactStore,
  dataset: string,
  partition: string,
  key: string,
): Promise<{ event: DataArrivedEvent; isNew: boolean }> {
  assertPartitionName('value', partition);
  const info = await store.stat(key);
  if (!info) throw new ArtifactNotFoundError(store.uriFor(key));
  const sha256 = info.sha256 ?? '';
  const eventId = `data-arrived/${dataset}/${partition}/${sha256.slice(0, 12)}`;
  const existing = (await store.exists(arrivalKey(dataset, partition)))
    ? await getJson<DataArrivedEvent>(store, arrivalKey(dataset, partition))
    : undefined;
  if (existing?.eventId === eventId) return { event: existing, isNew: false };
  const event: DataArrivedEvent = {
    type: 'data-arrived',
    dataset,
    partition,
    uris: [store.uriFor(key)],
    sha256,
    eventId,
    publishedAt: new Date().toISOString(),
  };
  await putJson(store, arrivalKey(dataset, partition), event);
  return { event, isNew: true };
}

/** Publishes one month; seeds it first when needed. Returns the event and whether it is new. */
export async function arriveFlightsMonth(
  duck: Duck,
  store: ArtifactStore,
  month: string,
): Promise<{ event: DataArrivedEvent; isNew: boolean }> {
  await seedFlights(duck, store, [month]);
  return publishPartitionArrival(store, FLIGHTS_DATASET, month, flightsPartitionKey(month));
}
