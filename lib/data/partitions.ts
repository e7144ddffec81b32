// Partitions of a dataset in the lake, for any partitioning: by the day (`2001-03-04`), ISO week
// (`2001-W09`) or month (`2001-03`) of a time column, or by any column's value. A partition's
// name is one path segment of `raw/<dataset>/<key>=<name>/part-0000.parquet`; names users type
// (`data arrive`, the events endpoint) are checked here, and column values that could not be a
// segment (a `/`, `..`, a control character) are percent-escaped when the table is split.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlIdent, sqlString } from './duck.ts';
import type { Partitioning } from './source-spec.ts';
import { InvalidPartitionError } from './errors.ts';
import { assertPartitionName, PARTITION_NAME_MAX_BYTES, unsafeReason } from './partition-names.ts';

export {
  assertPartitionName,
  DAY_PATTERN,
  InvalidPartitionError,
  MONTH_PATTERN,
  PARTITION_NAME_MAX_BYTES,
  WEEK_PATTERN,
} from './partition-names.ts';

/** A column value as a partition name: `%`, `/`, `\` and control characters percent-escaped, and
 * `.`/`..` escaped whole, so any value is one safe segment and distinct values stay distinct. */
export function escapePartitionValue(value: string): string {
  if (value === '.' || value === '..') return value.replaceAll('.', '%2E');
  return value.replace(/[%/\\\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The inverse of escapePartitionValue. */
export function unescapePartitionValue(name: string): string {
  return name.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The `<key>` of `<key>=<name>`: the calendar unit, or the (escaped) column name. */
export function partitionKeyName(partitioning: Partitioning): string {
  return partitioning.by === 'value' ? escapePartitionValue(partitioning.column).replaceAll('=', '%3D') : partitioning.by;
}

/** The lake key of one partition's file: `raw/<dataset>/<key>=<name>/part-0000.parquet`. */
export function partitionObjectKey(dataset: string, partitioning: Partitioning, name: string): string {
  const reason = unsafeReason(dataset);
  if (reason) throw new InvalidPartitionError(`dataset ${JSON.stringify(dataset)} ${reason}; a dataset name is one path segment`);
  assertPartitionName(partitioning.by, name);
  return `raw/${dataset}/${partitionKeyName(partitioning)}=${name}/part-0000.parquet`;
}

/** SQL giving each row's partition name (before escaping): strftime of the time column, or the
 * column's value as text. */
export function partitionSql(partitioning: Partitioning): string {
  const c = sqlIdent(partitioning.column);
  switch (partitioning.by) {
    case 'day':
      return `strftime(${c}, '%Y-%m-%d')`;
    case 'week':
      return `strftime(${c}, '%G-W%V')`;
    case 'month':
      return `strftime(${c}, '%Y-%m')`;
    case 'value':
      return `${c}::VARCHAR`;
  }
}

export interface WrittenPartition {
  /** The partition's name: the key's value, escaped for a column value. */
  name: string;
  key: string;
  uri: string;
  rows: number;
  /** False when the object was already in the store (nothing written). */
  written: boolean;
}

export interface WritePartitionsOptions {
  dataset: string;
  /** SQL table expression holding the rows. */
  from: string;
  partitioning: Partitioning;
  /** Only these partitions (names as written in keys); each must exist in the table. */
  only?: readonly string[];
  /** Rows are written in this order within a partition. @default the partition column */
  orderBy?: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface TablePartition {
  /** The partition's name (a column value escaped). */
  name: string;
  /** The unescaped value of the partition expression. */
  value: string;
  rows: number;
}

/** The partitions a table holds, by name, with their row counts: one GROUP BY of the partition
 * expression. A missing column, a time partitioning of a column that is not DATE or TIMESTAMP,
 * and rows with no value are refused with an error naming the column. */
export async function listPartitions(
  duck: Duck,
  from: string,
  partitioning: Partitioning,
  signal?: AbortSignal,
): Promise<TablePartition[]> {
  const column = partitioning.column;
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const type = described.find((c) => c.column_name === column)?.column_type;
  if (type === undefined)
    throw new InvalidPartitionError(
      `partition column ${column} is not in the data (columns: ${described.map((c) => c.column_name).join(', ')})`,
    );
  if (partitioning.by !== 'value' && !(type.startsWith('TIMESTAMP') || type === 'DATE'))
    throw new InvalidPartitionError(`partition by ${partitioning.by} needs a DATE or TIMESTAMP column; ${column} is ${type}`);
  const groups = await duck.all<{ v: string | null; n: number }>(
    `SELECT ${partitionSql(partitioning)} AS v, count(*)::BIGINT AS n FROM ${from} GROUP BY 1 ORDER BY 1 NULLS LAST`,
    signal,
  );
  const nulls = groups.find((g) => g.v === null);
  if (nulls) throw new InvalidPartitionError(`${nulls.n} rows have no value in partition column ${column}; every row needs one`);
  const partitions = groups.map((g) => ({ name: partitioning.by === 'value' ? escapePartitionValue(g.v!) : g.v!, value: g.v!, rows: g.n }));
  for (const p of partitions) {
    if (Buffer.byteLength(p.name) > PARTITION_NAME_MAX_BYTES)
      throw new InvalidPartitionError(`a value of ${column} is longer than ${PARTITION_NAME_MAX_BYTES} bytes: ${p.name.slice(0, 40)}…`);
  }
  return partitions;
}

/** Splits a table into partitions by the spec and writes each that is not in the store yet
 * (idempotent, like `data seed`), as `raw/<dataset>/<key>=<name>/part-0000.parquet`. */
export async function writePartitions(duck: Duck, store: ArtifactStore, options: WritePartitionsOptions): Promise<WrittenPartition[]> {
  const { partitioning, from, signal } = options;
  const expr = partitionSql(partitioning);
  const partitions = await listPartitions(duck, from, partitioning, signal);
  let wanted = partitions;
  if (options.only) {
    const names = new Set(partitions.map((p) => p.name));
    for (const name of options.only) {
      assertPartitionName(partitioning.by, name);
      if (!names.has(name))
        throw new InvalidPartitionError(
          `the data has no partition ${name} (available: ${partitions
            .slice(0, 20)
            .map((p) => p.name)
            .join(', ')}${partitions.length > 20 ? ', …' : ''})`,
        );
    }
    wanted = partitions.filter((p) => options.only!.includes(p.name));
  }

  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-partitions-'));
  const results: WrittenPartition[] = [];
  try {
    for (const p of wanted) {
      const key = partitionObjectKey(options.dataset, partitioning, p.name);
      if (await store.exists(key)) {
        results.push({ name: p.name, key, uri: store.uriFor(key), rows: p.rows, written: false });
        options.onProgress?.(`${p.name}: already written (${p.rows} rows)`);
        continue;
      }
      const out = join(tmp, 'part.parquet');
      await duck.run(
        `COPY (SELECT * FROM ${from} WHERE ${expr} = ${sqlString(p.value)} ORDER BY ${options.orderBy ?? sqlIdent(partitioning.column)})
         TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
        signal,
      );
      const info = await store.putStream(key, createReadStream(out), {
        contentType: 'application/vnd.apache.parquet',
        ...(signal ? { signal } : {}),
      });
      await rm(out, { force: true });
      results.push({ name: p.name, key, uri: info.uri, rows: p.rows, written: true });
      options.onProgress?.(`${p.name}: wrote ${p.rows} rows to ${info.uri}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return results;
}
