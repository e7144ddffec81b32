// Scores one chunk of a dataset: reads the model's input columns by file row number, encodes them
// with the version's fitted features (the encoder serving uses, so online and batch agree), runs
// ONNX Runtime in large batches, and writes one Parquet file with the task's output columns.
// The same chunk always reads the same rows and writes the same key, so a retried chunk
// overwrites its own output and never duplicates rows.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBAppender } from '@duckdb/node-api';
import type { Duck } from '../data/duck.ts';
import { sqlIdent, sqlString } from '../data/duck.ts';
import { batchFromDuckColumns, columnarFeatureSelect, featureColumnsSelect } from '../features/tabular/columns.ts';
import type { FeatureBatch, FeatureColumn } from '../features/tabular/encode.ts';
import type { ModelIO } from '../features/tabular/model-io.ts';
import type { OnnxSession } from '../onnx/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { argmax, type Task } from '../tasks/task.ts';

// Chunk ranges are planned in ./chunks.ts (pure, shared with the workflow).
export { planChunks, type ChunkRange } from './chunks.ts';
import type { ChunkRange } from './chunks.ts';

export interface ChunkOutput {
  index: number;
  rows: number;
  uri: string;
  sha256: string;
}

export function chunkKey(outputPrefix: string, index: number): string {
  return `${outputPrefix}/part-${String(index).padStart(5, '0')}.parquet`;
}

/** One output column of a scored chunk (between `row_number` and `model_version`). */
export interface OutputColumn {
  name: string;
  type: 'FLOAT' | 'VARCHAR';
}

/**
 * The columns a task's predictions are written as: binary `probability` (of label 1);
 * multiclass `class` (the predicted one), `probability` (of that class) and `p_<class>` per class
 * in model output order; regression `value`.
 */
export function outputColumns(task: Task): OutputColumn[] {
  switch (task.kind) {
    case 'binary':
      return [{ name: 'probability', type: 'FLOAT' }];
    case 'multiclass':
      return [
        { name: 'class', type: 'VARCHAR' },
        { name: 'probability', type: 'FLOAT' },
        ...task.classes.map((c) => ({ name: `p_${c}`, type: 'FLOAT' as const })),
      ];
    case 'regression':
      return [{ name: 'value', type: 'FLOAT' }];
  }
}

/** Scored rows as the task reads them; `outputs` is the model's raw `rows × units`. */
export interface ScoredRows {
  rowNumbers: ArrayLike<number>;
  /** Per row what prediction_log.output holds: P(label = 1), P(predicted class), or the value.
   * (Named for the binary case the batch table was built for.) */
  probabilities: Float32Array;
  /** Multiclass: the predicted class per row. */
  classes?: string[];
  outputs: Float32Array;
  modelVersion: number;
  /** Each row's entity key as text, when the chunk was scored with a `keyColumn`. */
  keys?: string[];
}

/** The primary output (and predicted class) per row from the model's raw outputs. */
export function readOutputs(task: Task, outputs: Float32Array, rows: number): Pick<ScoredRows, 'probabilities' | 'classes'> {
  if (task.kind !== 'multiclass') return { probabilities: outputs.length === rows ? outputs : outputs.slice(0, rows) };
  const k = task.classes.length;
  const probabilities = new Float32Array(rows);
  const classes = new Array<string>(rows);
  for (let i = 0; i < rows; i++) {
    const best = argmax(outputs, i * k, k);
    probabilities[i] = outputs[i * k + best]!;
    classes[i] = task.classes[best]!;
  }
  return { probabilities, classes };
}

/** Rows [start, end) of a batch without copying typed columns. */
function sliceBatch(batch: FeatureBatch, start: number, end: number): FeatureBatch {
  const columns: Record<string, FeatureColumn> = {};
  for (const [name, col] of Object.entries(batch.columns))
    columns[name] = ArrayBuffer.isView(col) ? (col as Float64Array).subarray(start, end) : Array.prototype.slice.call(col, start, end);
  return { rows: end - start, columns };
}

export interface ScoreChunkOptions {
  /** Local Parquet file of the dataset; it must hold the model's input columns (any others are
   * ignored). */
  path: string;
  chunk: ChunkRange;
  /** The version's fitted features (loadModelIO of its featureSpecUri tag). */
  io: ModelIO;
  session: OnnxSession;
  modelVersion: number;
  store: ArtifactStore;
  outputPrefix: string;
  /** Rows per ONNX Runtime call. @default 16384 */
  batchRows?: number;
  onProgress?: (rowsDone: number) => void;
  /** Called with the scored rows before the chunk's file is written (e.g. to load a table). */
  onScored?: (rows: ScoredRows) => Promise<void>;
  /** Also read this column (as text) and hand it to `onScored` as each row's entity key. */
  keyColumn?: string;
  /** Rows per DuckDB read on the columnar path; the next read runs while these are scored.
   * @default 65536 */
  readRows?: number;
  signal?: AbortSignal;
}

const ROW_NUMBER = '__flywheel_row_number';
const ENTITY_KEY = '__flywheel_entity_key';

/** Appends one row's output columns, in `outputColumns` order. */
function appendOutputs(task: Task, outputs: Float32Array, read: Pick<ScoredRows, 'probabilities' | 'classes'>) {
  const { probabilities, classes } = read;
  if (task.kind !== 'multiclass' || !classes) return (a: DuckDBAppender, i: number) => a.appendFloat(probabilities[i]!);
  const k = task.classes.length;
  return (a: DuckDBAppender, i: number) => {
    a.appendVarchar(classes[i]!);
    a.appendFloat(probabilities[i]!);
    for (let j = 0; j < k; j++) a.appendFloat(outputs[i * k + j]!);
  };
}

function checkShapes(io: ModelIO, session: OnnxSession): void {
  const dim = io.encoder.dimension;
  if (session.inputDim !== dim) throw new RangeError(`the model takes ${session.inputDim} inputs, its fitted features give ${dim}`);
  if (session.outputDim !== io.head.units)
    throw new RangeError(
      `the model gives ${session.outputDim} outputs per row, a ${io.task.kind} head with its fitted classes ${io.head.units}`,
    );
}

export interface ScoreRangeOptions {
  /** Local Parquet file holding the model's input columns. */
  path: string;
  /** File row numbers [start, end); a file shorter than `end` ends the range early. */
  start: number;
  end: number;
  io: ModelIO;
  session: OnnxSession;
  /** columnarFeatureSelect(io.fitted), when the caller already has it. */
  select?: string;
  /** Rows per ONNX Runtime call. @default 16384 */
  batchRows?: number;
  /** Rows per DuckDB read. @default 65536 */
  readRows?: number;
  onProgress?: (rowsDone: number) => void;
  signal?: AbortSignal;
}

/**
 * The columnar pipeline over a range of file rows: DuckDB reads the inputs as typed columns
 * (categoricals as vocabulary codes, columnarFeatureSelect), the encoder writes Float32 rows
 * from them and ONNX Runtime scores them. Two stages overlap: the next read runs on DuckDB's
 * thread while this one is encoded and scored, and the next batch is encoded while ONNX Runtime
 * runs this one. Returns the model's raw outputs (rows × units) and the rows read. Throws when
 * the spec has no columnar read (see columnarFeatureSelect).
 */
export async function scoreRangeColumnar(duck: Duck, options: ScoreRangeOptions): Promise<{ rows: number; outputs: Float32Array }> {
  const { io, session } = options;
  checkShapes(io, session);
  const select = options.select ?? columnarFeatureSelect(io.fitted);
  if (select === undefined)
    throw new RangeError('these fitted features have no columnar read (hashed, vector or shared categorical columns)');
  const dim = io.encoder.dimension;
  const units = io.head.units;
  const batchRows = options.batchRows ?? 16_384;
  const readRows = Math.max(batchRows, options.readRows ?? 65_536);
  const from = `read_parquet(${sqlString(options.path)}, file_row_number = true, hive_partitioning = false)`;
  const read = (s: number) =>
    duck.typedColumns(
      // No ORDER BY: DuckDB keeps a scan's file order (preserve_insertion_order, on by default), and
      // sorting would double the read.
      `SELECT ${select} FROM ${from} WHERE file_row_number >= ${s} AND file_row_number < ${Math.min(options.end, s + readRows)}`,
      options.signal,
    );
  const total = Math.max(0, options.end - options.start);
  const outputs = new Float32Array(total * units);
  // Two input buffers: one is encoded while ONNX Runtime reads the other.
  const xs = [new Float32Array(batchRows * dim), new Float32Array(batchRows * dim)];
  let flip = 0;
  let done = 0;
  let next: ReturnType<typeof read> | undefined = total > 0 ? read(options.start) : undefined;
  let inFlight: { at: number; run: Promise<Float32Array> } | undefined;
  const settle = async () => {
    if (!inFlight) return;
    const { at, run } = inFlight;
    inFlight = undefined;
    const y = await run;
    outputs.set(y, at * units);
    options.onProgress?.(at + y.length / units);
  };
  try {
    for (let s = options.start; next; s += readRows) {
      const cols = await next;
      const first = Object.values(cols)[0];
      const n = first ? first.length : 0;
      const more = n === Math.min(options.end, s + readRows) - s && s + readRows < options.end;
      // The next read runs on DuckDB's thread while these rows are encoded and scored.
      next = more ? read(s + readRows) : undefined;
      for (let b = 0; b < n; b += batchRows) {
        options.signal?.throwIfAborted();
        const e = Math.min(n, b + batchRows);
        const x = xs[flip]!;
        flip ^= 1;
        io.encoder.encode(sliceBatch({ rows: n, columns: cols }, b, e), x);
        await settle();
        inFlight = { at: done, run: session.run(x.subarray(0, (e - b) * dim), e - b) };
        done += e - b;
      }
      if (n < readRows) break;
    }
    await settle();
  } finally {
    // A read still running must finish before the connection is used again or closed.
    await next?.catch(() => undefined);
    await inFlight?.run.catch(() => undefined);
  }
  return { rows: done, outputs: done === total ? outputs : outputs.slice(0, done * units) };
}

/** Writes scored rows (row numbers start, start + 1, …) as a Parquet file at `file`: float
 * columns go in whole vectors, without a JS call per row. */
export async function writeScoredParquet(
  duck: Duck,
  options: { file: string; table: string; task: Task; start: number; rows: number; outputs: Float32Array; modelVersion: number },
  signal?: AbortSignal,
): Promise<void> {
  const { task, table, rows, outputs } = options;
  const read = readOutputs(task, outputs, rows);
  const columns = outputColumns(task).map((c) => `${sqlIdent(c.name)} ${c.type}`);
  if (task.kind === 'multiclass') {
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${table} (row_number BIGINT, ${columns.join(', ')}, model_version INTEGER)`);
    const append = appendOutputs(task, outputs, read);
    await duck.appendRows(table, rows, (a, i) => {
      a.appendDouble(options.start + i);
      append(a, i);
      a.appendInteger(options.modelVersion);
    });
    await duck.run(`COPY ${table} TO ${sqlString(options.file)} (FORMAT parquet, COMPRESSION zstd)`, signal);
  } else {
    // One float per row (probability or value); row_number (from the row's position: the scan
    // keeps insertion order) and model_version come from SQL.
    const name = sqlIdent(outputColumns(task)[0]!.name);
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${table} (${name} FLOAT)`);
    await duck.appendFloatColumns(table, [read.probabilities], rows);
    await duck.run(
      `COPY (SELECT (${options.start} + rowid)::BIGINT AS row_number, ${name}, ${options.modelVersion}::INTEGER AS model_version
             FROM ${table}) TO ${sqlString(options.file)} (FORMAT parquet, COMPRESSION zstd)`,
      signal,
    );
  }
  await duck.run(`DROP TABLE ${table}`);
}

export async function scoreChunk(duck: Duck, options: ScoreChunkOptions): Promise<ChunkOutput> {
  const select = options.keyColumn ? undefined : columnarFeatureSelect(options.io.fitted);
  if (select === undefined) return scoreChunkRows(duck, options);
  const { chunk, io } = options;
  const { rows, outputs } = await scoreRangeColumnar(duck, {
    path: options.path,
    start: chunk.start,
    end: chunk.end,
    io,
    session: options.session,
    select,
    ...(options.batchRows ? { batchRows: options.batchRows } : {}),
    ...(options.readRows ? { readRows: options.readRows } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (options.onScored) {
    const rowNumbers = new Float64Array(rows);
    for (let i = 0; i < rows; i++) rowNumbers[i] = chunk.start + i;
    await options.onScored({ rowNumbers, ...readOutputs(io.task, outputs, rows), outputs, modelVersion: options.modelVersion });
  }
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-chunk-'));
  try {
    const file = join(tmp, 'part.parquet');
    await writeScoredParquet(
      duck,
      { file, table: `chunk_${chunk.index}`, task: io.task, start: chunk.start, rows, outputs, modelVersion: options.modelVersion },
      options.signal,
    );
    const info = await options.store.putStream(chunkKey(options.outputPrefix, chunk.index), createReadStream(file), {
      contentType: 'application/vnd.apache.parquet',
    });
    return { index: chunk.index, rows, uri: info.uri, sha256: info.sha256 ?? '' };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The row path: every column as JS values (strings for categoricals), for specs the columnar
 * read cannot take and for keyed output. */
async function scoreChunkRows(duck: Duck, options: ScoreChunkOptions): Promise<ChunkOutput> {
  const { chunk, io } = options;
  const spec = io.fitted.spec;
  const keySelect = options.keyColumn ? `, CAST(${sqlIdent(options.keyColumn)} AS VARCHAR) AS ${ENTITY_KEY}` : '';
  const cols = await duck.columns(
    `SELECT file_row_number::DOUBLE AS ${ROW_NUMBER}, ${featureColumnsSelect(spec)}${keySelect}
     FROM read_parquet(${sqlString(options.path)}, file_row_number = true, hive_partitioning = false)
     WHERE file_row_number >= ${chunk.start} AND file_row_number < ${chunk.end} ORDER BY file_row_number`,
    options.signal,
  );
  const rowNumbers = (cols[ROW_NUMBER] ?? []) as number[];
  const rows = rowNumbers.length;
  const batch = { ...batchFromDuckColumns(spec, cols), rows };
  const dim = io.encoder.dimension;
  if (options.session.inputDim !== dim)
    throw new RangeError(`the model takes ${options.session.inputDim} inputs, its fitted features give ${dim}`);
  const units = io.head.units;
  if (options.session.outputDim !== units)
    throw new RangeError(
      `the model gives ${options.session.outputDim} outputs per row, a ${io.task.kind} head with its fitted classes ${units}`,
    );
  const batchRows = options.batchRows ?? 16_384;
  const outputs = new Float32Array(rows * units);
  const x = new Float32Array(batchRows * dim);
  for (let start = 0; start < rows; start += batchRows) {
    options.signal?.throwIfAborted();
    const end = Math.min(rows, start + batchRows);
    io.encoder.encode(sliceBatch(batch, start, end), x);
    outputs.set(await options.session.run(x.subarray(0, (end - start) * dim), end - start), start * units);
    options.onProgress?.(end);
  }

  const read = readOutputs(io.task, outputs, rows);
  const keys = options.keyColumn ? ((cols[ENTITY_KEY] ?? []) as string[]) : undefined;
  await options.onScored?.({ rowNumbers, ...read, outputs, modelVersion: options.modelVersion, ...(keys ? { keys } : {}) });
  const table = `chunk_${chunk.index}`;
  const columns = outputColumns(io.task).map((c) => `${sqlIdent(c.name)} ${c.type}`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${table} (row_number BIGINT, ${columns.join(', ')}, model_version INTEGER)`);
  const append = appendOutputs(io.task, outputs, read);
  // Row numbers fit a double exactly; the appender widens them to BIGINT without a BigInt per row.
  await duck.appendRows(table, rows, (a, i) => {
    a.appendDouble(rowNumbers[i]!);
    append(a, i);
    a.appendInteger(options.modelVersion);
  });
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-chunk-'));
  try {
    const file = join(tmp, 'part.parquet');
    await duck.run(`COPY ${table} TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`, options.signal);
    await duck.run(`DROP TABLE ${table}`);
    const info = await options.store.putStream(chunkKey(options.outputPrefix, chunk.index), createReadStream(file), {
      contentType: 'application/vnd.apache.parquet',
    });
    return { index: chunk.index, rows, uri: info.uri, sha256: info.sha256 ?? '' };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
