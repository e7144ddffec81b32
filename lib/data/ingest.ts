// Ingest: reads new partitions (Parquet or CSV, file:// or s3://) and writes a content-addressed
// dataset version — the same input bytes always give the same version id, and re-ingesting
// writes nothing. The manifest is written last, so its presence marks a complete version.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { DataValidationError } from './errors.ts';
import { resolveSource } from './resolve.ts';
import type { CsvOptions, SourceSpec } from './source-spec.ts';
import { materializeSource, readSql, type SourceContext, type SourceFile } from './sources.ts';
import { buildReport, renderReportText } from './validation/report.ts';

/** Bump when the normalization below changes, so old versions are not reused for new output. */
export const INGEST_FORMAT_VERSION = 1;

export interface DatasetManifest {
  dataset: string;
  datasetVersion: string;
  rows: number;
  columns: Array<{ name: string; type: string }>;
  sources: Array<{ uri: string; sha256: string; size: number }>;
  dataUri: string;
  dataSha256: string;
  manifestUri: string;
  createdAt: string;
}

export interface IngestOptions {
  dataset: string;
  sourceUris: readonly string[];
  signal?: AbortSignal;
  /** Called between steps, for heartbeats. */
  onProgress?: (step: string) => void;
}

export function datasetPrefix(dataset: string, version: string): string {
  return `datasets/${dataset}/${version}`;
}

/** The version of a dataset built from these source bytes; CSV options, when a source spec sets
 * them, are part of it (the same bytes read another way are other data). */
export function datasetVersionId(dataset: string, sources: ReadonlyArray<{ sha256: string }>, csv?: CsvOptions): string {
  const shas = sources.map((s) => s.sha256).sort();
  const digest = createHash('sha256')
    .update(JSON.stringify({ v: INGEST_FORMAT_VERSION, dataset, shas, ...(csv ? { csv } : {}) }))
    .digest('hex');
  return `v-${digest.slice(0, 16)}`;
}

async function rejectUnreadable(
  store: ArtifactStore,
  dataset: string,
  source: SourceFile | { uri: string; sha256?: string },
  detail: string,
): Promise<never> {
  const report = buildReport(
    dataset,
    source.uri,
    0,
    [{ severity: 'error', rule: 'unreadable', message: `cannot read ${source.uri}: ${detail}`, observed: detail }],
    false,
  );
  const key = `datasets/${dataset}/_rejected/${source.sha256 ?? createHash('sha256').update(source.uri).digest('hex')}/validation`;
  const info = await putJson(store, `${key}.json`, report);
  await store.put(`${key}.txt`, renderReportText(report), { contentType: 'text/plain' });
  throw new DataValidationError(report, info.uri);
}

function csvDialect(csv: CsvOptions | undefined): string {
  if (!csv) return 'comma-separated, double-quoted, with a header row';
  const header = csv.header ? 'with a header row' : 'without a header row';
  return `separated by ${JSON.stringify(csv.delimiter)}, quoted by ${JSON.stringify(csv.quote)}, ${header}`;
}

/** DuckDB's error without its advice on reader options or the SQL echo, naming the sources'
 * URIs instead of the local copies read. CSV errors keep their line ("CSV Error on Line: 25002",
 * the original line, the column that did not convert). */
function duckMessage(err: unknown, files: readonly SourceFile[], csv?: CsvOptions): string {
  let text = err instanceof Error ? err.message : String(err);
  for (const f of files) text = text.replaceAll(f.path, f.uri);
  const lines: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (/^(Possible (fixes|solutions):|LINE \d+:|file = )/.test(line)) break;
    if (line) lines.push(line);
  }
  const message = lines.join('; ') || 'unknown error';
  return /not possible to automatically detect the CSV parsing dialect/.test(message)
    ? `not a well-formed CSV (${csvDialect(csv)}): rows with a different number of fields, or an unterminated quote`
    : message;
}

export async function ingestDataset(duck: Duck, ctx: SourceContext, options: IngestOptions): Promise<DatasetManifest> {
  const { signal } = options;
  const progress = options.onProgress ?? (() => undefined);
  if (options.sourceUris.length === 0) throw new Error('ingest needs at least one source URI');
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-ingest-'));
  try {
    progress('fetching sources');
    const sources: SourceFile[] = [];
    for (const uri of [...options.sourceUris].sort()) sources.push(await materializeSource(ctx, uri, tmp, signal));
    const formats = new Set(sources.map((s) => s.format));
    if (formats.size > 1) throw new Error(`sources mix formats (${[...formats].join(', ')}); ingest one format at a time`);
    return await ingestFiles(duck, ctx, { dataset: options.dataset, sources, tmp, progress, ...(signal ? { signal } : {}) });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface IngestSourceOptions {
  dataset: string;
  /** Where the rows come from: files by uri (one, a glob or a prefix; CSV options applied) or a
   * PostgreSQL query. */
  source: Pick<SourceSpec, 'uri' | 'format' | 'csv' | 'postgres'>;
  /** Where a PostgreSQL source's connection-string variable is read. @default process.env */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Called between steps, for heartbeats. */
  onProgress?: (step: string) => void;
}

/** Ingests what a source spec names, as ingestDataset does for a list of URIs: a glob or prefix
 * is expanded, a query's rows become one Parquet source. */
export async function ingestSource(duck: Duck, ctx: SourceContext, options: IngestSourceOptions): Promise<DatasetManifest> {
  const { signal, source } = options;
  const progress = options.onProgress ?? (() => undefined);
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-ingest-'));
  try {
    progress('fetching sources');
    const resolved = await resolveSource(duck, ctx, source, {
      tmpDir: tmp,
      ...(options.env ? { env: options.env } : {}),
      ...(signal ? { signal } : {}),
    });
    const csv = resolved.format === 'csv' ? source.csv : undefined;
    return await ingestFiles(duck, ctx, {
      dataset: options.dataset,
      sources: resolved.files,
      tmp,
      progress,
      ...(csv ? { csv } : {}),
      ...(signal ? { signal } : {}),
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

interface IngestFilesOptions {
  dataset: string;
  /** Local copies, sorted by URI, one format. */
  sources: readonly SourceFile[];
  csv?: CsvOptions;
  tmp: string;
  progress: (step: string) => void;
  signal?: AbortSignal;
}

async function ingestFiles(duck: Duck, ctx: SourceContext, options: IngestFilesOptions): Promise<DatasetManifest> {
  const { store } = ctx;
  const { dataset, sources, csv, tmp, progress, signal } = options;
  const version = datasetVersionId(dataset, sources, csv);
  const prefix = datasetPrefix(dataset, version);
  const existing = await store.stat(`${prefix}/manifest.json`);
  if (existing) return getJson<DatasetManifest>(store, `${prefix}/manifest.json`);

  for (const source of sources) {
    progress(`checking ${source.uri}`);
    if (source.size === 0) await rejectUnreadable(store, dataset, source, 'the file is empty (0 bytes)');
    try {
      // A CSV file is parsed in full (every value converted to its detected type), so a bad
      // row fails here with its line number rather than half-way through the copy.
      await duck.all(`SELECT count(*)${source.format === 'csv' ? ', max(COLUMNS(*))' : ''} FROM ${readSql([source], csv)}`, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      await rejectUnreadable(store, dataset, source, duckMessage(err, [source], csv));
    }
  }

  progress('normalizing to Parquet');
  const out = join(tmp, 'data.parquet');
  await duck.run(`COPY (SELECT * FROM ${readSql(sources, csv)}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`, signal);
  const [{ n: rows } = { n: 0 }] = await duck.all<{ n: number }>(
    `SELECT count(*)::BIGINT AS n FROM read_parquet(${sqlString(out)})`,
    signal,
  );
  const columns = (
    await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(out)})`, signal)
  ).map((c) => ({ name: c.column_name, type: c.column_type }));

  progress('uploading');
  const data = await store.putStream(`${prefix}/data.parquet`, createReadStream(out), {
    contentType: 'application/vnd.apache.parquet',
    ...(signal ? { signal } : {}),
  });
  const manifest: DatasetManifest = {
    dataset,
    datasetVersion: version,
    rows,
    columns,
    sources: sources.map(({ uri, sha256, size }) => ({ uri, sha256, size })),
    dataUri: data.uri,
    dataSha256: data.sha256 ?? '',
    manifestUri: store.uriFor(`${prefix}/manifest.json`),
    createdAt: new Date().toISOString(),
  };
  await putJson(store, `${prefix}/manifest.json`, manifest);
  return manifest;
}
