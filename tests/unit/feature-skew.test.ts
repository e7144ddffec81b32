// No training/batch/serving skew for any table: the same rows of a small weather-like table
// (numeric with nulls, categorical with unseen values, datetime, boolean) encoded through the
// training path (split Parquet → loadSplitRows → encodeSplit), the batch path (scoreChunk, in
// small batches) and the serving path (JSON instances → batchFromInstances) give identical vectors.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scoreChunk } from '../../lib/batch/score.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import { batchFromInstances, fitFeatures, modelIO, type FeatureSpecInput } from '../../lib/features/tabular/index.ts';
import { recordingSession } from '../fixtures/recording-session.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { encodeSplit, loadSplitRows } from '../../lib/training/data.ts';

const N = 3000;
const TABLE = `(
  SELECT
    TIMESTAMP '2015-01-01 00:00:00' + INTERVAL (i * 37) MINUTE AS observed_at,
    CASE WHEN i % 17 = 0 THEN NULL ELSE round(10 + 15 * sin(i / 50.0), 1) END AS temp,
    CASE WHEN i % 23 = 0 THEN NULL ELSE round(abs(cos(i / 7.0)) * 12, 2) END AS precipitation,
    ['Seattle', 'New York', 'Chicago', 'Boston'][1 + i % 4] || CASE WHEN i >= ${N} - 40 THEN ' (new)' ELSE '' END AS city,
    CASE WHEN i % 29 = 0 THEN NULL ELSE i % 3 = 0 END AS windy,
    ['sun', 'rain', 'fog'][1 + i % 3] AS __label
  FROM range(${N}) t(i)
)`;

const SPEC: FeatureSpecInput = {
  features: [
    { name: 'temp', kind: 'numeric', impute: 'median' },
    { name: 'precipitation', kind: 'numeric', log1p: true, clip: [0, 10] },
    { name: 'city', kind: 'categorical', vocabulary: { minCount: 10 } },
    { name: 'city_hash', column: 'city', kind: 'categorical', hash: { buckets: 8 } },
    { name: 'when', column: 'observed_at', kind: 'datetime', parts: ['hour', { part: 'month', encoding: 'cyclic' }, 'dayOfWeek'] },
    { name: 'windy', kind: 'boolean' },
  ],
};

describe('tabular features', () => {
  it('encode identically via the training, batch and serving paths', async () => {
    const root = await mkdtemp(join(tmpdir(), 'flywheel-skew-'));
    const store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
    const file = join(root, 'split.parquet');
    await withDuck(async (duck) => {
      await duck.run(`COPY (SELECT * FROM ${TABLE}) TO ${sqlString(file)} (FORMAT parquet)`);
      await duck.run(`CREATE TABLE fit_rows AS SELECT * FROM read_parquet(${sqlString(file)}) WHERE NOT city LIKE '%(new)'`);
      const fitted = await fitFeatures(duck, 'fit_rows', SPEC, { fittedOn: 'skew' });
      const io = modelIO({ ...fitted, task: { kind: 'multiclass', classes: ['fog', 'rain', 'sun'] } });
      const uri = (await store.put('data/split.parquet', await readFile(file))).uri;

      // Training path.
      const rows = await loadSplitRows(duck, { store }, uri, io.fitted.spec);
      const training = encodeSplit(io, rows);
      expect(training.rows).toBe(N);
      expect(training.x.length).toBe(N * io.encoder.dimension);

      // Batch path: the chunk scorer in batches that do not divide the rows.
      const fed: Float32Array[] = [];
      await scoreChunk(duck, {
        path: file,
        chunk: { index: 0, start: 0, end: N },
        io,
        // Batch scoring's encoded inputs are kept; the answer is a uniform distribution.
        session: recordingSession(io.encoder.dimension, io.head.units, fed, (_x, rows) =>
          new Float32Array(rows * io.head.units).fill(1 / io.head.units),
        ),
        modelVersion: 1,
        store,
        outputPrefix: 'batch/skew',
        batchRows: 700,
      });
      const batch = new Float32Array(N * io.encoder.dimension);
      let offset = 0;
      for (const x of fed) {
        batch.set(x, offset);
        offset += x.length;
      }
      expect(offset).toBe(batch.length);
      expect(Buffer.from(batch.buffer).equals(Buffer.from(training.x.buffer))).toBe(true);

      // Serving path: what a JSON request carries.
      const instances = JSON.parse(
        JSON.stringify(
          await duck.all(
            `SELECT strftime(observed_at, '%Y-%m-%dT%H:%M:%S') AS observed_at, temp, precipitation, city, windy
             FROM read_parquet(${sqlString(file)})`,
          ),
        ),
      ) as unknown[];
      const parsed = batchFromInstances(io.fitted.spec, instances);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
      const serving = io.encoder.encode(parsed.batch);
      expect(Buffer.from(serving.buffer).equals(Buffer.from(training.x.buffer))).toBe(true);

      // The rows cover what could skew: nulls imputed, unseen cities, every hour.
      const names = io.encoder.names();
      const oov = names.indexOf('city=<oov>');
      expect(oov).toBeGreaterThanOrEqual(0);
      let unseen = 0;
      for (let i = 0; i < N; i++) unseen += training.x[i * io.encoder.dimension + oov]!;
      expect(unseen).toBe(40);
      expect(rows.batch.columns.temp).toBeInstanceOf(Float64Array);
      expect(Array.from(rows.batch.columns.temp as Float64Array).filter(Number.isNaN).length).toBeGreaterThan(100);
    });
  }, 60_000);
});
