// A PostgreSQL query as a data source: the rows stream out of the server with COPY … TO STDOUT
// (CSV, to a local file, so memory stays flat whatever the row count) and DuckDB turns them into
// one Parquet file with the column types the server reported, so the rest of the pipeline sees
// what it sees for a Parquet source. The connection string comes from an environment variable
// the spec names; the spec never holds it, and no message here prints it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { SourceNotFoundError } from './errors.ts';
import type { PostgresSource } from './source-spec.ts';
import type { SourceFile } from './sources.ts';

export interface PostgresToParquetOptions {
  tmpDir: string;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export interface ResultField {
  name: string;
  /** The type's OID, as `pg` reports it. */
  dataTypeID: number;
}

// Built-in type OIDs (pg_type.oid); anything else is read as text.
const DUCK_TYPES: Record<number, string> = {
  16: 'BOOLEAN',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  700: 'FLOAT',
  701: 'DOUBLE',
  1700: 'DOUBLE',
  1082: 'DATE',
  1083: 'TIME',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMPTZ',
};

/** The DuckDB type a PostgreSQL column becomes: numbers, booleans, dates and timestamps keep
 * their type (numeric becomes DOUBLE); text, json, uuid, arrays and the rest become VARCHAR. */
export function duckTypeOfPg(oid: number): string {
  return DUCK_TYPES[oid] ?? 'VARCHAR';
}

/** The query without trailing semicolons, so it can sit inside COPY ( … ) and a subquery. */
function bareQuery(query: string): string {
  return query.trim().replace(/;\s*$/g, '').trimEnd();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Reads a CSV file written by PostgreSQL's COPY (FORMAT csv, no header: unquoted empty is null,
 * `""` is the empty string) into a Parquet file with the given column types. */
export async function pgCsvToParquet(
  duck: Duck,
  csvPath: string,
  fields: readonly ResultField[],
  out: string,
  signal?: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) throw new Error(`the query returns two columns named ${f.name}; give each column its own name (AS …)`);
    seen.add(f.name);
  }
  const columns = fields.map((f) => `${sqlString(f.name)}: ${sqlString(duckTypeOfPg(f.dataTypeID))}`).join(', ');
  await duck.run(
    `COPY (SELECT * FROM read_csv(${sqlString(csvPath)}, header = false, delim = ',', quote = '"', escape = '"',
             columns = {${columns}}, auto_detect = false, allow_quoted_nulls = false, strict_mode = true))
     TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
    signal,
  );
}

/** Runs the query and writes its rows as one Parquet file in `tmpDir`. */
export async function postgresToParquet(duck: Duck, source: PostgresSource, options: PostgresToParquetOptions): Promise<SourceFile> {
  const connectionString = options.env[source.url];
  if (!connectionString) {
    throw new SourceNotFoundError(
      `postgres:${source.url}`,
      `the postgres source reads its connection string from ${source.url}, which is not set`,
    );
  }
  const query = bareQuery(source.query);
  const id = sha256(query).slice(0, 16);
  const csvPath = join(options.tmpDir, `pg-${id}.csv`);
  const out = join(options.tmpDir, `pg-${id}.parquet`);
  const client = new pg.Client({ connectionString });
  const onAbort = () => void client.end().catch(() => undefined);
  options.signal?.throwIfAborted();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let fields: ResultField[];
  try {
    await client.connect();
    // Text output DuckDB parses the same everywhere: ISO dates in UTC, floats that round-trip.
    await client.query(`SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET IntervalStyle = 'iso_8601'`);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const described = await client.query(`SELECT * FROM (${query}) AS flywheel_source LIMIT 0`);
    fields = described.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
    await pipeline(client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv)`)), createWriteStream(csvPath));
    await client.query('COMMIT');
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason ?? err;
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
  await pgCsvToParquet(duck, csvPath, fields, out, options.signal);
  return {
    uri: `postgres:${source.url}/${id}`,
    path: out,
    size: (await stat(out)).size,
    sha256: await sha256File(out),
    format: 'parquet',
  };
}
