// The data lake: `flywheel data seed` writes the flights months into the artifact store, and
// `flywheel data arrive <partition>` cuts one partition — of the flights data, or of any model's
// `data.source` — into the lake and publishes it as a data-arrival event (an object under events/,
// keyed by partition and content, so announcing the same data twice is one event).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactNotFoundError, getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { FLIGHTS_DATASET, flightsParquetPath, flightsPartitionKey, MONTH_PATTERN } from './flights.ts';
import { assertPartitionName, listPartitions, writePartitions, type TablePartition } from './partitions.ts';
import { resolveSource } from './resolve.ts';
import { partitioningOf, SourceSpecError, type PartitionSpec, type Partitioning, type TableSource } from './source-spec.ts';
import type { SourceContext } from './sources.ts';

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

/** What `data arrive --spec` reads from a model spec: its dataset, where its rows come from and
 * how they are cut. */
export interface SourcePartitioning {
  dataset: string;
  source?: TableSource;
  partition?: PartitionSpec;
  time?: string;
}

export interface SourcePartitionOptions {
  /** Where a PostgreSQL source's connection-string variable is read. @default process.env */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

function sourceOf(spec: SourcePartitioning): { source: TableSource; partitioning: Partitioning } {
  if (!spec.source)
    throw new SourceSpecError(
      `the model spec of dataset ${spec.dataset} has no data.source: set it (files or a postgres query) to cut partitions from, or announce partitions by URI (POST /v1/events/data-arrived)`,
    );
  const partitioning = partitioningOf({ partition: spec.partition, time: spec.time });
  if (!partitioning)
    throw new SourceSpecError(
      `the model spec of dataset ${spec.dataset} has no data.partition: say how its rows are cut (e.g. { by: month })`,
    );
  return { source: spec.source, partitioning };
}

/** Brings the source's rows to a temp folder for `fn` (files, or a PostgreSQL query's result). */
async function withSourceRows<T>(
  duck: Duck,
  ctx: SourceContext,
  source: TableSource,
  options: SourcePartitionOptions,
  fn: (from: string) => Promise<T>,
): Promise<T> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-arrive-'));
  try {
    const resolved = await resolveSource(duck, ctx, source, {
      tmpDir: tmp,
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return await fn(resolved.sql);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The partitions a model spec's source holds, by name, with their row counts. */
export async function listSourcePartitions(
  duck: Duck,
  ctx: SourceContext,
  spec: SourcePartitioning,
  options: SourcePartitionOptions = {},
): Promise<TablePartition[]> {
  const { source, partitioning } = sourceOf(spec);
  return withSourceRows(duck, ctx, source, options, (from) => listPartitions(duck, from, partitioning, options.signal));
}

/** Cuts partitions of a model spec's source into the lake (those not there already) and publishes
 * each arrival, oldest first: the named ones, or every one with `'all'`. The source is read once
 * for all of them. A partition the source does not hold fails with InvalidPartitionError listing
 * some that it does, before anything is published. */
export async function arriveSourcePartitions(
  duck: Duck,
  ctx: SourceContext,
  spec: SourcePartitioning,
  partitions: readonly string[] | 'all',
  options: SourcePartitionOptions = {},
): Promise<Array<{ event: DataArrivedEvent; isNew: boolean; rows: number }>> {
  const { source, partitioning } = sourceOf(spec);
  if (partitions !== 'all') for (const p of partitions) assertPartitionName(partitioning.by, p);
  const written = await withSourceRows(duck, ctx, source, options, (from) =>
    writePartitions(duck, ctx.store, {
      dataset: spec.dataset,
      from,
      partitioning,
      ...(partitions === 'all' ? {} : { only: partitions }),
      ...(options.signal ? { signal: options.signal } : {}),
    }),
  );
  const order = partitions === 'all' ? undefined : new Map(partitions.map((p, i) => [p, i]));
  if (order) written.sort((x, y) => order.get(x.name)! - order.get(y.name)!);
  const arrived = [];
  for (const w of written) arrived.push({ ...(await publishPartitionArrival(ctx.store, spec.dataset, w.name, w.key)), rows: w.rows });
  return arrived;
}

/** arriveSourcePartitions for one partition. */
export async function arriveSourcePartition(
  duck: Duck,
  ctx: SourceContext,
  spec: SourcePartitioning,
  partition: string,
  options: SourcePartitionOptions = {},
): Promise<{ event: DataArrivedEvent; isNew: boolean; rows: number }> {
  const [arrived] = await arriveSourcePartitions(duck, ctx, spec, [partition], options);
  return arrived!;
}
