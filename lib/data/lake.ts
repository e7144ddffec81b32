// The flights data lake: `flywheel data seed` writes monthly partitions into the artifact store,
// and `flywheel data arrive <month>` publishes one month as a data-arrival event (an object
// under events/, keyed by month and content, so announcing the same data twice is one event).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { FLIGHTS_DATASET, flightsParquetPath, flightsPartitionKey, MONTH_PATTERN } from './flights.ts';

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

/** Publishes one month; seeds it first when needed. Returns the event and whether it is new. */
export async function arriveFlightsMonth(
  duck: Duck,
  store: ArtifactStore,
  month: string,
): Promise<{ event: DataArrivedEvent; isNew: boolean }> {
  const [partition] = await seedFlights(duck, store, [month]);
  const key = flightsPartitionKey(month);
  const sha256 = (await store.stat(key))?.sha256 ?? '';
  const eventId = `data-arrived/${FLIGHTS_DATASET}/${month}/${sha256.slice(0, 12)}`;
  const existing = (await store.exists(arrivalKey(FLIGHTS_DATASET, month)))
    ? await getJson<DataArrivedEvent>(store, arrivalKey(FLIGHTS_DATASET, month))
    : undefined;
  if (existing?.eventId === eventId) return { event: existing, isNew: false };
  const event: DataArrivedEvent = {
    type: 'data-arrived',
    dataset: FLIGHTS_DATASET,
    partition: month,
    uris: [partition!.uri],
    sha256,
    eventId,
    publishedAt: new Date().toISOString(),
  };
  await putJson(store, arrivalKey(FLIGHTS_DATASET, month), event);
  return { event, isNew: true };
}
