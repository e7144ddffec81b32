// Brings input files to local disk for DuckDB, which reads local files only here (its S3
// extension cannot be fetched offline). file:// URIs are read in place; s3:// objects are
// downloaded (checksum-verified) into a temporary folder the caller removes.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ArtifactNotFoundError, S3ArtifactStore, type ArtifactStore, type S3StoreOptions } from '../storage/index.ts';
import { parseS3Uri } from '../storage/s3-store.ts';
import { sqlString } from './duck.ts';
import type { CsvOptions } from './source-spec.ts';

export interface SourceFile {
  uri: string;
  sha256: string;
  size: number;
  /** Local path DuckDB reads. */
  path: string;
  format: 'parquet' | 'csv';
}

export interface SourceContext {
  store: ArtifactStore;
  /** How to reach S3 buckets other than the store's own. */
  s3?: S3StoreOptions;
}

export function formatOf(uri: string): 'parquet' | 'csv' {
  const lower = uri.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.csv.gz')) return 'csv';
  return 'parquet';
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

// One client per foreign bucket per context, not one per file read (each holds sockets).
const foreignStores = new WeakMap<SourceContext, Map<string, ArtifactStore>>();

/** The store an s3:// URI lives in (the context's own, or a client for another bucket) and the
 * URI's path inside it, as written (a trailing `/` or glob characters are kept). */
export function s3Location(ctx: SourceContext, uri: string): { store: ArtifactStore; path: string } {
  if (uri.startsWith(`${ctx.store.baseUri}/`)) return { store: ctx.store, path: uri.slice(ctx.store.baseUri.length + 1) };
  const { bucket } = parseS3Uri(uri);
  let stores = foreignStores.get(ctx);
  if (!stores) foreignStores.set(ctx, (stores = new Map()));
  let store = stores.get(bucket);
  if (!store) stores.set(bucket, (store = S3ArtifactStore.create(`s3://${bucket}`, ctx.s3 ?? {})));
  return { store, path: uri.slice(`s3://${bucket}/`.length) };
}

function storeFor(ctx: SourceContext, uri: string): { store: ArtifactStore; key: string } {
  if (uri.startsWith(`${ctx.store.baseUri}/`)) return { store: ctx.store, key: ctx.store.keyFor(uri) };
  const { prefix } = parseS3Uri(uri);
  return { store: s3Location(ctx, uri).store, key: prefix };
}

export async function materializeSource(ctx: SourceContext, uri: string, tmpDir: string, signal?: AbortSignal): Promise<SourceFile> {
  const format = formatOf(uri);
  if (uri.startsWith('file://')) {
    const path = fileURLToPath(uri);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new ArtifactNotFoundError(uri);
    const inStore = uri.startsWith(`${ctx.store.baseUri}/`) ? await ctx.store.stat(ctx.store.keyFor(uri)) : undefined;
    return { uri, path, size: st.size, sha256: inStore?.sha256 ?? (await sha256File(path)), format };
  }
  if (!uri.startsWith('s3://')) throw new ArtifactNotFoundError(uri);
  const { store, key } = storeFor(ctx, uri);
  const info = await store.stat(key);
  if (!info) throw new ArtifactNotFoundError(uri);
  const path = join(tmpDir, `${createHash('sha256').update(uri).digest('hex').slice(0, 16)}-${basename(key)}`);
  await pipeline(await store.getStream(key, { verify: true, ...(signal ? { signal } : {}) }), createWriteStream(path));
  return { uri, path, size: info.size, sha256: info.sha256 ?? (await sha256File(path)), format };
}

/** SQL that reads the given local files as one table. Hive partitioning stays off: a lake path
 * such as month=2001-03/ must not add a column, or the same bytes read from a local folder and
 * from a downloaded S3 copy would differ. CSV means RFC 4180 — comma-separated, double quotes
 * (doubled to escape), a header row — read strictly with column types detected: left to guess
 * the dialect, DuckDB reads a file with one ragged row as a single text column, and an
 * unterminated quote as data. A source spec's `csv` options change the dialect, still strictly. */
export function readSql(files: readonly SourceFile[], csv?: CsvOptions): string {
  const paths = files.map((f) => `'${f.path.replaceAll("'", "''")}'`).join(', ');
  const format = files[0]?.format ?? 'parquet';
  if (format !== 'csv') return `read_parquet([${paths}], hive_partitioning = false)`;
  if (!csv) {
    return `read_csv([${paths}], header = true, delim = ',', quote = '"', escape = '"', strict_mode = true, auto_detect = true, hive_partitioning = false)`;
  }
  const options = [
    `header = ${csv.header}`,
    `delim = ${sqlString(csv.delimiter)}`,
    `quote = ${sqlString(csv.quote)}`,
    `escape = ${sqlString(csv.escape)}`,
    ...(csv.skip ? [`skip = ${csv.skip}`] : []),
    ...(csv.nullstr !== undefined
      ? [`nullstr = ${Array.isArray(csv.nullstr) ? `[${csv.nullstr.map(sqlString).join(', ')}]` : sqlString(csv.nullstr)}`]
      : []),
    ...(csv.dateFormat ? [`dateformat = ${sqlString(csv.dateFormat)}`] : []),
    ...(csv.timestampFormat ? [`timestampformat = ${sqlString(csv.timestampFormat)}`] : []),
    ...(csv.decimalSeparator !== '.' ? [`decimal_separator = ${sqlString(csv.decimalSeparator)}`] : []),
    'strict_mode = true',
    'auto_detect = true',
    'hive_partitioning = false',
  ];
  return `read_csv([${paths}], ${options.join(', ')})`;
}

/**
 * One local copy per source URI for the life of this process (`<tmp>/<folder>-<pid>`): a worker
 * that runs many chunks of one dataset downloads it once. A failed copy is forgotten, so the
 * next activity attempt tries again.
 */
export function createSourceCache(ctx: SourceContext, folder: string): (uri: string) => Promise<SourceFile> {
  const files = new Map<string, Promise<SourceFile>>();
  const dir = join(tmpdir(), `${folder}-${process.pid}`);
  let created: Promise<unknown> | undefined;
  const ensureDir = () => {
    // Removed when the process exits (a SIGKILLed worker leaves it: the next one uses its own pid).
    created ??= mkdir(dir, { recursive: true }).then(
      () => process.once('exit', () => rmSync(dir, { recursive: true, force: true })),
      (err: unknown) => {
        created = undefined;
        throw err;
      },
    );
    return created;
  };
  return (uri) => {
    let file = files.get(uri);
    if (!file) {
      file = ensureDir().then(() => materializeSource(ctx, uri, dir));
      file.catch(() => files.delete(uri));
      files.set(uri, file);
    }
    return file;
  };
}
