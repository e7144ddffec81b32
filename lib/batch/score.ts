// Scores one chunk of a dataset: reads its rows columnar by file row number, encodes them with
// the model's feature spec, runs ONNX Runtime in large batches, and writes one Parquet file.
// The same chunk always reads the same rows and writes the same key, so a retried chunk
// overwrites its own output and never duplicates rows.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duck } from '../data/duck.ts';
import { sqlString } from '../data/duck.ts';
import { encodeFlights, featureDimension, type FlightsFeatureSpec } from '../features/flights.ts';
import type { OnnxSession } from '../onnx/index.ts';
import type { ArtifactStore } from '../storage/index.ts';

export interface ChunkRange {
  index: number;
  /** First file row number (inclusive). */
  start: number;
  /** Last file row number (exclusive). */
  end: number;
}

export interface ChunkOutput {
  index: number;
  rows: number;
  uri: string;
  sha256: string;
}

export function planChunks(rows: number, chunkRows: number): ChunkRange[] {
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  const chunks: ChunkRange[] = [];
  for (let start = 0, index = 0; start < rows; start += chunkRows, index++)
    chunks.push({ index, start, end: Math.min(rows, start + chunkRows) });
  return chunks;
}

export function chunkKey(outputPrefix: string, index: number): string {
  return `${outputPrefix}/part-${String(index).padStart(5, '0')}.parquet`;
}

export interface ScoreChunkOptions {
  /** Local Parquet file of the dataset. */
  path: string;
  chunk: ChunkRange;
  spec: FlightsFeatureSpec;
  session: OnnxSession;
  modelVersion: number;
  store: ArtifactStore;
  outputPrefix: string;
  /** Rows per ONNX Runtime call. @default 16384 */
  batchRows?: number;
  onProgress?: (rowsDone: number) => void;
  /** Called with the scored rows before the chunk's file is written (e.g. to load a table). */
  onScored?: (rows: { rowNumbers: ArrayLike<number>; probabilities: Float32Array; modelVersion: number }) => Promise<void>;
  signal?: AbortSignal;
}

export async function scoreChunk(duck: Duck, options: ScoreChunkOptions): Promise<ChunkOutput> {
  const { chunk, spec } = options;
  const cols = await duck.columns(
    `SELECT file_row_number::DOUBLE AS r, epoch_ms(date)::DOUBLE AS ms, distance::DOUBLE AS distance, origin, destination
     FROM read_parquet(${sqlString(options.path)}, file_row_number = true, hive_partitioning = false)
     WHERE file_row_number >= ${chunk.start} AND file_row_number < ${chunk.end} ORDER BY file_row_number`,
    options.signal,
  );
  const rows = (cols.r ?? []).length;
  const dim = featureDimension(spec);
  const batchRows = options.batchRows ?? 16_384;
  const predictions = new Float32Array(rows);
  const x = new Float32Array(batchRows * dim);
  for (let start = 0; start < rows; start += batchRows) {
    options.signal?.throwIfAborted();
    const end = Math.min(rows, start + batchRows);
    encodeFlights(
      spec,
      {
        dateMs: (cols.ms as number[]).slice(start, end),
        distance: (cols.distance as number[]).slice(start, end),
        origin: (cols.origin as string[]).slice(start, end),
        destination: (cols.destination as string[]).slice(start, end),
      },
      x,
    );
    predictions.set(await options.session.run(x.subarray(0, (end - start) * dim), end - start), start);
    options.onProgress?.(end);
  }

  await options.onScored?.({ rowNumbers: cols.r as number[], probabilities: predictions, modelVersion: options.modelVersion });
  const table = `chunk_${chunk.index}`;
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${table} (row_number BIGINT, probability FLOAT, model_version INTEGER)`);
  // Row numbers fit a double exactly; the appender widens them to BIGINT without a BigInt per row.
  const rowNumbers = cols.r as number[];
  await duck.appendRows(table, rows, (a, i) => {
    a.appendDouble(rowNumbers[i]!);
    a.appendFloat(predictions[i]!);
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
