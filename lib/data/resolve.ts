// Resolves a source spec to local files DuckDB reads: a glob or a prefix expands to the sorted
// list of matching files (a folder walk on file://, a bucket listing on s3://), each brought to
// disk with its checksum like a single file; a PostgreSQL query becomes one Parquet file.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Duck } from './duck.ts';
import { SourceNotFoundError } from './errors.ts';
import { postgresToParquet } from './postgres-source.ts';
import { formatFor, type SourceFormat, type SourceSpec } from './source-spec.ts';
import { materializeSource, readSql, s3Location, type SourceContext, type SourceFile } from './sources.ts';

const CSV_EXTENSIONS = ['.csv', '.csv.gz', '.tsv', '.tsv.gz', '.txt'];
const PARQUET_EXTENSIONS = ['.parquet', '.parq'];

export interface ResolvedSource {
  files: SourceFile[];
  format: SourceFormat;
  /** SQL table expression over the local files (the spec's CSV options applied). */
  sql: string;
}

export interface ResolveOptions {
  /** Where downloads and query results go; the caller removes it. */
  tmpDir: string;
  signal?: AbortSignal;
  /** Where a PostgreSQL source's connection-string variable is read. @default process.env */
  env?: Record<string, string | undefined>;
}

/** True when the URI names many files: a glob (`*`, `**`, `?`) or a prefix ending in `/`. */
export function isMultiFileUri(uri: string): boolean {
  return uri.endsWith('/') || /[*?]/.test(uri.replace(/^[a-z0-9]+:\/\//, ''));
}

/** A glob as a regular expression over `/`-separated relative paths: `**` spans any number of
 * folders (none included), `*` any characters within one name, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const slashAfter = glob[i + 2] === '/';
      if (atStart && slashAfter) {
        re += '(?:[^/]+/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isHidden(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_');
}

function hasDataExtension(path: string, format: SourceFormat | undefined): boolean {
  const lower = path.toLowerCase();
  const exts = format === 'csv' ? CSV_EXTENSIONS : format === 'parquet' ? PARQUET_EXTENSIONS : [...CSV_EXTENSIONS, ...PARQUET_EXTENSIONS];
  return exts.some((e) => lower.endsWith(e));
}

/** Splits `root/dir/**\/x-*.csv` at the last `/` before the first glob character. */
function splitStatic(path: string): { base: string; pattern: string } {
  const firstGlob = path.search(/[*?]/);
  const cut = path.lastIndexOf('/', firstGlob < 0 ? path.length - 1 : firstGlob);
  return { base: path.slice(0, cut + 1), pattern: path.slice(cut + 1) };
}

async function walk(dir: string, rel: string, maxDepth: number, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(dir, rel), { withFileTypes: true });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    if (isHidden(entry.name)) continue;
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (maxDepth > 1) await walk(dir, path, maxDepth - 1, out);
    } else if (entry.isFile()) out.push(path);
  }
}

/** The URIs a source URI names, sorted: itself for one file; the matching files for a glob; the
 * data files (by extension, hidden `.`/`_` names skipped) below a prefix. An empty match throws
 * SourceNotFoundError naming the pattern. */
export async function expandSourceUri(ctx: SourceContext, uri: string, format?: SourceFormat): Promise<string[]> {
  if (!isMultiFileUri(uri)) return [uri];
  const prefixMode = uri.endsWith('/');
  let uris: string[];
  if (uri.startsWith('file://')) {
    const { base, pattern } = splitStatic(uri.slice('file://'.length));
    const root = fileURLToPath(`file://${base}`);
    const glob = decodeURIComponent(pattern);
    const depth = prefixMode || glob.includes('**') ? Infinity : glob.split('/').length;
    const rels: string[] = [];
    await walk(root, '', depth, rels);
    const re = prefixMode ? undefined : globToRegExp(glob);
    uris = rels
      .filter((rel) => (re ? re.test(rel) : hasDataExtension(rel, format)))
      .map((rel) => pathToFileURL(join(root, ...rel.split('/'))).toString());
  } else if (uri.startsWith('s3://')) {
    const { store, path } = s3Location(ctx, uri);
    const firstGlob = path.search(/[*?]/);
    const listPrefix = prefixMode ? path : path.slice(0, firstGlob);
    const re = prefixMode ? undefined : globToRegExp(path);
    uris = [];
    for await (const obj of store.list(listPrefix)) {
      if (
        obj.key
          .slice(listPrefix.lastIndexOf('/') + 1)
          .split('/')
          .some(isHidden)
      )
        continue;
      if (re ? re.test(obj.key) : hasDataExtension(obj.key, format)) uris.push(obj.uri);
    }
  } else {
    throw new SourceNotFoundError(uri, 'a source uri starts with file:// or s3://');
  }
  uris.sort();
  if (uris.length === 0) {
    throw new SourceNotFoundError(uri, prefixMode ? `no ${format ?? 'Parquet or CSV'} files under ${uri}` : `no files match ${uri}`);
  }
  return uris;
}

/** Brings every file of a source spec (or its PostgreSQL query's rows) to local disk. */
export async function resolveSource(
  duck: Duck,
  ctx: SourceContext,
  spec: Pick<SourceSpec, 'uri' | 'format' | 'csv' | 'postgres'>,
  options: ResolveOptions,
): Promise<ResolvedSource> {
  const { tmpDir, signal } = options;
  if (spec.postgres) {
    const file = await postgresToParquet(duck, spec.postgres, {
      tmpDir,
      env: options.env ?? process.env,
      ...(signal ? { signal } : {}),
    });
    return { files: [file], format: 'parquet', sql: readSql([file]) };
  }
  const uri = spec.uri!;
  const uris = await expandSourceUri(ctx, uri, spec.format);
  const files: SourceFile[] = [];
  for (const u of uris) {
    signal?.throwIfAborted();
    const file = await materializeSource(ctx, u, tmpDir, signal);
    files.push({ ...file, format: formatFor(u, spec.format) });
  }
  const formats = [...new Set(files.map((f) => f.format))];
  if (formats.length > 1) {
    const example = (fmt: SourceFormat) => files.find((f) => f.format === fmt)!.uri;
    throw new SourceNotFoundError(
      uri,
      `${uri} matches both CSV and Parquet files (e.g. ${example('csv')} and ${example('parquet')}); narrow the pattern or set format`,
    );
  }
  const format = formats[0]!;
  return { files, format, sql: readSql(files, format === 'csv' ? spec.csv : undefined) };
}

export { labelSql } from './label-sql.ts';
