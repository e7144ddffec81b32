// The feature language is not flights-shaped: two other real datasets from vega-datasets, fitted
// and encoded with small specs. Penguins (JSON, column names with spaces, nulls, a stray "."
// category) and Seattle weather (CSV, a DATE column, skewed precipitation). Each row's vector is
// checked against values computed independently in SQL, and the JSON records themselves, read as
// request instances, encode to the same bits as the DuckDB columns.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import {
  batchFromDuckColumns,
  batchFromInstances,
  createFeatureEncoder,
  featureColumnsSelect,
  fitFeatures,
  parseFeatureSpec,
} from '../../lib/features/tabular/index.ts';

const data = vegaDatasetsDataDir();

describe('penguins (JSON, nulls, names with spaces)', () => {
  const spec = parseFeatureSpec({
    features: [
      { name: 'island', column: 'Island', kind: 'categorical', vocabulary: { minCount: 2 } },
      { name: 'sex', column: 'Sex', kind: 'categorical', vocabulary: { minCount: 2 } },
      { name: 'beak_length', column: 'Beak Length (mm)', kind: 'numeric', impute: 'median', scale: 'robust' },
      { name: 'beak_depth', column: 'Beak Depth (mm)', kind: 'numeric', clip: [14, 20], scale: 'minmax' },
      { name: 'flipper', column: 'Flipper Length (mm)', kind: 'numeric' },
      { name: 'mass', column: 'Body Mass (g)', kind: 'numeric', log1p: true, impute: { constant: 4000 } },
    ],
  });

  it('fits, and encodes the same from DuckDB columns and from the JSON records', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE penguins AS SELECT * FROM read_json_auto('${join(data, 'penguins.json')}')`);
      const fitted = await fitFeatures(duck, 'penguins', spec, { fittedOn: 'penguins.json' });
      expect(fitted.rows).toBe(344);
      expect(fitted.state[0]).toEqual({ kind: 'categorical', vocabulary: ['Biscoe', 'Dream', 'Torgersen'] });
      expect(fitted.state[1]).toEqual({ kind: 'categorical', vocabulary: ['MALE', 'FEMALE'] }); // "." seen once: unseen
      const encoder = createFeatureEncoder(fitted);
      expect(encoder.dimension).toBe(4 + 3 + 4);
      expect(encoder.names()).toEqual([
        'island=Biscoe',
        'island=Dream',
        'island=Torgersen',
        'island=<oov>',
        'sex=MALE',
        'sex=FEMALE',
        'sex=<oov>',
        'beak_length',
        'beak_depth',
        'flipper',
        'mass',
      ]);
      const x = encoder.encode(
        batchFromDuckColumns(fitted.spec, await duck.columns(`SELECT ${featureColumnsSelect(fitted.spec)} FROM penguins`)),
      );

      // Independently in SQL: the same transforms, with the statistics DuckDB computes.
      const expected = await duck.columns(`
        WITH s AS (SELECT quantile_cont("Beak Length (mm)", 0.5) AS bl_med,
                          quantile_cont("Beak Length (mm)", 0.75) - quantile_cont("Beak Length (mm)", 0.25) AS bl_iqr,
                          min(greatest(14, least(20, "Beak Depth (mm)"))) AS bd_min, max(greatest(14, least(20, "Beak Depth (mm)"))) AS bd_max,
                          avg("Flipper Length (mm)") AS fl_mean, stddev_pop("Flipper Length (mm)") AS fl_std,
                          avg(ln(1 + "Body Mass (g)")) AS m_mean, stddev_pop(ln(1 + "Body Mass (g)")) AS m_std FROM penguins)
        SELECT (coalesce("Beak Length (mm)", bl_med) - bl_med) / bl_iqr AS bl,
               (greatest(14, least(20, coalesce("Beak Depth (mm)", (SELECT avg("Beak Depth (mm)") FROM penguins)))) - bd_min) / (bd_max - bd_min) AS bd,
               (coalesce("Flipper Length (mm)", fl_mean) - fl_mean) / fl_std AS fl,
               (ln(1 + coalesce("Body Mass (g)", 4000)) - m_mean) / m_std AS m,
               Sex IS NULL OR Sex = '.' AS sex_unseen
        FROM penguins, s`);
      const dim = encoder.dimension;
      for (let i = 0; i < 344; i++) {
        const row = x.subarray(i * dim, (i + 1) * dim);
        expect(row[7]).toBeCloseTo((expected.bl as number[])[i]!, 5);
        expect(row[8]).toBeCloseTo((expected.bd as number[])[i]!, 5);
        expect(row[9]).toBeCloseTo((expected.fl as number[])[i]!, 5);
        expect(row[10]).toBeCloseTo((expected.m as number[])[i]!, 5);
        expect(row[6]).toBe((expected.sex_unseen as boolean[])[i] ? 1 : 0);
        expect(row.slice(0, 4).reduce((a, b) => a + b, 0)).toBe(1);
      }

      // The dataset's own JSON records, read as a request's instances.
      const records = JSON.parse(await readFile(join(data, 'penguins.json'), 'utf8')) as Record<string, unknown>[];
      const fromJson = batchFromInstances(fitted.spec, records);
      if (!fromJson.ok) throw new Error(JSON.stringify(fromJson.errors.slice(0, 3)));
      expect(Buffer.from(encoder.encode(fromJson.batch).buffer).equals(Buffer.from(x.buffer))).toBe(true);
    });
  });
});

describe('Seattle weather (CSV, a DATE column)', () => {
  const spec = parseFeatureSpec({
    features: [
      { name: 'season', column: 'date', kind: 'datetime', parts: [{ part: 'month', encoding: 'cyclic' }] },
      { name: 'dow', column: 'date', kind: 'datetime', parts: ['dayOfWeek'] },
      { name: 'rain', column: 'precipitation', kind: 'numeric', log1p: true, scale: 'minmax' },
      { name: 'temp_max', kind: 'numeric' },
      { name: 'wind', kind: 'numeric', clip: [0, 8], scale: 'none' },
      { name: 'sky', column: 'weather', kind: 'categorical', hash: { buckets: 16 }, encoding: 'index' },
    ],
  });

  it('fits and encodes every day of four years', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE weather AS SELECT * FROM read_csv_auto('${join(data, 'seattle-weather.csv')}')`);
      const fitted = await fitFeatures(duck, 'weather', spec, { fittedOn: 'seattle-weather.csv' });
      const encoder = createFeatureEncoder(fitted);
      expect(encoder.names()).toEqual([
        'season.sin',
        'season.cos',
        ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `dow=${d}`),
        'rain',
        'temp_max',
        'wind',
        'sky',
      ]);
      const cols = await duck.columns(
        `SELECT ${featureColumnsSelect(fitted.spec)}, month(date) - 1 AS m, isodow(date) - 1 AS d FROM weather`,
      );
      const x = encoder.encode(batchFromDuckColumns(fitted.spec, cols));
      const rows = (cols.m as number[]).length;
      expect(rows).toBe(1461);
      expect(x.every(Number.isFinite)).toBe(true);
      const dim = encoder.dimension;
      let rainMax = 0;
      for (let i = 0; i < rows; i++) {
        const row = x.subarray(i * dim, (i + 1) * dim);
        const m = (cols.m as number[])[i]!;
        expect(row[0]).toBe(Math.fround(Math.sin((2 * Math.PI * m) / 12)));
        expect(row[1]).toBe(Math.fround(Math.cos((2 * Math.PI * m) / 12)));
        expect(row[2 + (cols.d as number[])[i]!]).toBe(1);
        expect(row[9]).toBeGreaterThanOrEqual(0);
        rainMax = Math.max(rainMax, row[9]!);
        expect(row[11]).toBeLessThanOrEqual(8);
        expect(row[12]).toBeLessThan(16);
      }
      expect(rainMax).toBeCloseTo(1, 6);
      // Five kinds of weather hash to buckets without any fitted vocabulary.
      expect(fitted.state[5]).toEqual({ kind: 'categorical' });
    });
  });
});
