// The columnar batch path (DuckDB → typed columns with categoricals as vocabulary codes → encoder
// → ONNX Runtime, read and score overlapped) against the row path (JS strings per row) on rows
// with what could differ: numeric and boolean nulls, NaN, clipped/log values, null and unseen
// categories (one with a quote, an empty string), an index-encoded categorical, datetime parts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scoreChunk, scoreRangeColumnar } from '../../lib/batch/score.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import {
  batchFromDuckColumns,
  columnarFeatureSelect,
  featureColumnsSelect,
  fitFeatures,
  modelIO,
  type FeatureSpecInput,
} from '../../lib/features/tabular/index.ts';
import type { OnnxSession } from '../../lib/onnx/index.ts';
import { recordingSession as recordSession } from '../fixtures/recording-session.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

const N = 5000;
const TABLE = `(
  SELECT
    TIMESTAMP '2015-01-01 00:00:00' + INTERVAL (i * 37) MINUTE AS observed_at,
    CASE WHEN i % 17 = 0 THEN NULL WHEN i % 41 = 0 THEN 'NaN'::DOUBLE ELSE round(10 + 15 * sin(i / 50.0), 1) END AS temp,
    CASE WHEN i % 23 = 0 THEN NULL ELSE round(abs(cos(i / 7.0)) * 12, 2) END AS precipitation,
    CASE WHEN i % 31 = 0 THEN NULL
         ELSE ['Seattle', 'New York', 'O''Hare', '', 'Boston'][1 + i % 5] || CASE WHEN i >= ${N} - 60 THEN ' (new)' ELSE '' END END AS city,
    CASE WHEN i % 13 = 0 THEN NULL ELSE ['a', 'b', 'c'][1 + i % 3] END AS grade,
    CASE WHEN i % 29 = 0 THEN NULL ELSE i % 3 = 0 END AS windy,
    i % 2 AS __label
  FROM range(${N}) t(i)
)`;

const SPEC: FeatureSpecInput = {
  features: [
    { name: 'temp', kind: 'numeric', impute: 'median' },
    { name: 'precipitation', kind: 'numeric', log1p: true, clip: [0, 10] },
    { name: 'city', kind: 'categorical', vocabulary: { minCount: 10 } },
    { name: 'grade', kind: 'categorical', encoding: 'index', vocabulary: { minCount: 1, maxSize: 2 } },
    { name: 'when', column: 'observed_at', kind: 'datetime', parts: ['hour', { part: 'month', encoding: 'cyclic' }, 'dayOfWeek'] },
    { name: 'windy', kind: 'boolean' },
  ],
};

/** A stand-in ONNX session: records its inputs, answers a function of them. */
function recordingSession(dim: number, fed: Float32Array[]): OnnxSession {
  return recordSession(dim, 1, fed, (x, rows) => {
    const y = new Float32Array(rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) y[i] = y[i]! + x[i * dim + j]! * (j + 1) * 1e-3;
    return y;
  });
}

describe('columnar batch path', () => {
  it('encodes vocabulary codes from DuckDB exactly as the row path encodes strings, and scores the same', async () => {
    const root = await mkdtemp(join(tmpdir(), 'flywheel-columnar-'));
    const store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
    const file = join(root, 'rows.parquet');
    await withDuck(async (duck) => {
      // Several row groups, read on 2 DuckDB threads: the columnar reads rely on the scan keeping file order.
      await duck.run(`COPY (SELECT * FROM ${TABLE}) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
      expect(
        (await duck.all<{ n: number }>(`SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata(${sqlString(file)})`))[0]!
          .n,
      ).toBeGreaterThan(1);
      await duck.run(
        `CREATE TABLE fit_rows AS SELECT * FROM read_parquet(${sqlString(file)}) WHERE city IS NULL OR NOT city LIKE '%(new)'`,
      );
      const io = modelIO(await fitFeatures(duck, 'fit_rows', SPEC, { fittedOn: 'columnar' }));
      const dim = io.encoder.dimension;
      const cityVocab = io.fitted.state[2];
      expect(cityVocab?.kind === 'categorical' && cityVocab.vocabulary).toEqual(expect.arrayContaining(["O'Hare", '']));

      // Row path: strings per row.
      const rowCols = await duck.columns(`SELECT ${featureColumnsSelect(io.fitted.spec)} FROM read_parquet(${sqlString(file)})`);
      const byRows = io.encoder.encode(batchFromDuckColumns(io.fitted.spec, rowCols));

      // Columnar read: typed columns, categoricals as Int32 codes.
      const select = columnarFeatureSelect(io.fitted);
      expect(select).toBeDefined();
      const typed = await duck.typedColumns(`SELECT ${select} FROM read_parquet(${sqlString(file)})`);
      expect(typed.city).toBeInstanceOf(Int32Array);
      expect(typed.temp).toBeInstanceOf(Float64Array);
      const byCodes = io.encoder.encode({ rows: N, columns: typed });
      expect(Buffer.from(byCodes.buffer).equals(Buffer.from(byRows.buffer))).toBe(true);
      const oov = io.encoder.names().indexOf('city=<oov>');
      let unseen = 0;
      for (let i = 0; i < N; i++) unseen += byCodes[i * dim + oov]!;
      expect(unseen).toBeGreaterThanOrEqual(60); // the new cities and the nulls

      // The pipelined scorer over a range that reads and scores in pieces that do not divide it.
      const fed: Float32Array[] = [];
      const session = recordingSession(dim, fed);
      const scored = await scoreRangeColumnar(duck, { path: file, start: 1234, end: 4321, io, session, batchRows: 700, readRows: 1000 });
      expect(scored.rows).toBe(4321 - 1234);
      const fedAll = new Float32Array(scored.rows * dim);
      let at = 0;
      for (const x of fed) {
        fedAll.set(x, at);
        at += x.length;
      }
      expect(Buffer.from(fedAll.buffer).equals(Buffer.from(byRows.subarray(1234 * dim, 4321 * dim).slice().buffer))).toBe(true);
      const direct = await recordingSession(dim, []).run(byRows.slice(1234 * dim, 4321 * dim), scored.rows);
      expect(Buffer.from(scored.outputs.buffer).equals(Buffer.from(direct.buffer))).toBe(true);

      // A range past the file's end stops at it.
      const tail = await scoreRangeColumnar(duck, { path: file, start: N - 100, end: N + 500, io, session, batchRows: 64, readRows: 64 });
      expect(tail.rows).toBe(100);

      // The chunk scorer writes row numbers and outputs equal to direct scoring.
      const out = await scoreChunk(duck, {
        path: file,
        chunk: { index: 3, start: 1000, end: 3500 },
        io,
        session,
        modelVersion: 7,
        store,
        outputPrefix: 'batch/columnar',
        batchRows: 512,
        readRows: 900,
      });
      expect(out.rows).toBe(2500);
      const part = join(root, 'part.parquet');
      await writeFile(part, await store.get(store.keyFor(out.uri)));
      const written = await duck.all<{ row_number: number; probability: number; model_version: number }>(
        `SELECT row_number, probability, model_version FROM read_parquet(${sqlString(part)})`,
      );
      const expected = await recordingSession(dim, []).run(byRows.slice(1000 * dim, 3500 * dim), 2500);
      expect(written.map((r) => r.row_number)).toEqual(Array.from({ length: 2500 }, (_, i) => 1000 + i));
      expect(written.every((r) => r.model_version === 7)).toBe(true);
      const worst = Math.max(...written.map((r, i) => Math.abs(r.probability - expected[i]!)));
      expect(worst).toBeLessThanOrEqual(1e-6);
    });
  }, 60_000);

  it('has no columnar read for hashed categoricals, vectors or a column two features read', () => {
    const fittedOf = async (spec: FeatureSpecInput) =>
      withDuck(async (duck) => {
        await duck.run(`CREATE TABLE t AS SELECT * FROM ${TABLE}`);
        return fitFeatures(duck, 't', spec, { fittedOn: 'x' });
      });
    return Promise.all([
      fittedOf({ features: [{ name: 'city', kind: 'categorical', hash: { buckets: 8 } }] }),
      fittedOf({
        features: [
          { name: 'city', kind: 'categorical' },
          { name: 'city_index', column: 'city', kind: 'categorical', encoding: 'index' },
        ],
      }),
      fittedOf({
        features: [
          { name: 'temp', kind: 'numeric' },
          { name: 'city', kind: 'categorical' },
        ],
      }),
    ]).then(([hashed, shared, plain]) => {
      expect(columnarFeatureSelect(hashed)).toBeUndefined();
      expect(columnarFeatureSelect(shared)).toBeUndefined();
      expect(columnarFeatureSelect(plain)).toContain('enum_code');
    });
  }, 30_000);
});
