// The tabular feature language, kind by kind: what fitting learns from a small DuckDB table and
// the exact vectors the encoder writes, with nulls, unseen categories, and every option.
import { describe, expect, it } from 'vitest';
import { withDuck, type Duck } from '../../lib/data/duck.ts';
import { fnv1a32 } from '../../lib/hash.ts';
import {
  batchFromDuckColumns,
  createFeatureEncoder,
  featureColumnsSelect,
  fitFeatures,
  type FeatureBatch,
  type FeatureSpecInput,
  type FittedFeatures,
} from '../../lib/features/tabular/index.ts';

/** Fits `spec` on `table` and encodes the same table back, row by row as arrays. */
async function fitAndEncode(duck: Duck, spec: FeatureSpecInput, table = 't') {
  const fitted = await fitFeatures(duck, table, spec);
  const encoder = createFeatureEncoder(fitted);
  const x = encoder.encode(
    batchFromDuckColumns(fitted.spec, await duck.columns(`SELECT ${featureColumnsSelect(fitted.spec)} FROM ${table}`)),
  );
  const rows: number[][] = [];
  for (let i = 0; i < x.length; i += encoder.dimension) rows.push(Array.from(x.subarray(i, i + encoder.dimension)));
  return { fitted, encoder, rows };
}

const f32 = (v: number) => Math.fround(v);

describe('numeric features', () => {
  it('standardise with the population mean and standard deviation; null, NaN and ±Infinity take the mean', async () => {
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE t AS SELECT * FROM (VALUES (1.0::DOUBLE), (2.0), (3.0), (6.0), (NULL), ('NaN'::DOUBLE), ('Infinity'::DOUBLE)) v(x)`,
      );
      const { fitted, rows } = await fitAndEncode(duck, { features: [{ name: 'x', kind: 'numeric' }] });
      const std = Math.sqrt((4 + 1 + 0 + 9) / 4);
      expect(fitted.state[0]).toEqual({ kind: 'numeric', impute: 3, center: 3, scale: std });
      expect(rows.map((r) => r[0])).toEqual([1, 2, 3, 6, 3, 3, 3].map((v) => f32((v - 3) / std)));
      expect(fitted.rows).toBe(7);
    });
  });

  it('impute with the median or a constant, before clipping and scaling', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (1), (2), (10), (NULL)) v(x)`);
      const { fitted, rows } = await fitAndEncode(duck, {
        features: [
          { name: 'median', column: 'x', kind: 'numeric', impute: 'median', scale: 'none' },
          { name: 'constant', column: 'x', kind: 'numeric', impute: { constant: -1 }, scale: 'none' },
        ],
      });
      expect(fitted.state.map((s) => (s.kind === 'numeric' ? s.impute : null))).toEqual([2, -1]);
      expect(rows).toEqual([
        [1, 1],
        [2, 2],
        [10, 10],
        [2, -1],
      ]);
    });
  });

  it('scale robustly (median, IQR) and to [0, 1] (minmax)', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (0), (1), (2), (3), (4), (100)) v(x)`);
      const { fitted, rows } = await fitAndEncode(duck, {
        features: [
          { name: 'robust', column: 'x', kind: 'numeric', scale: 'robust' },
          { name: 'minmax', column: 'x', kind: 'numeric', scale: 'minmax' },
        ],
      });
      // quantile_cont over 0,1,2,3,4,100: median 2.5, q1 1.25, q3 3.75.
      expect(fitted.state[0]).toMatchObject({ center: 2.5, scale: 2.5 });
      expect(fitted.state[1]).toMatchObject({ center: 0, scale: 100 });
      expect(rows.map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 100].map((v) => f32((v - 2.5) / 2.5)));
      expect(rows.map((r) => r[1])).toEqual([0, 0.01, 0.02, 0.03, 0.04, 1].map(f32));
    });
  });

  it('clip raw values, then log1p, then scale; statistics are of the transformed values', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (-5.0::DOUBLE), (0.0), (9.0), (99.0), (1000.0)) v(x)`);
      const { fitted, rows } = await fitAndEncode(duck, {
        features: [{ name: 'x', kind: 'numeric', clip: [0, 99], log1p: true, scale: 'minmax' }],
      });
      const logged = [0, 0, Math.log1p(9), Math.log1p(99), Math.log1p(99)];
      const s = fitted.state[0];
      expect(s).toMatchObject({ kind: 'numeric', center: 0 });
      expect(s?.kind === 'numeric' && s.scale).toBeCloseTo(Math.log(100), 12);
      const scale = s?.kind === 'numeric' ? s.scale : 1;
      expect(rows.map((r) => r[0])).toEqual(logged.map((v) => f32(v / scale)));
    });
  });

  it('encode a value log1p cannot take (≤ −1) like a missing one, never as NaN', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (0.0::DOUBLE), (3.0), (-2.0)) v(x)`);
      const { rows } = await fitAndEncode(duck, {
        features: [{ name: 'x', kind: 'numeric', log1p: true, scale: 'none', impute: { constant: 1 } }],
      });
      expect(rows.map((r) => r[0])).toEqual([0, f32(Math.log1p(3)), f32(Math.log1p(1))]);
    });
  });

  it('keep a constant column finite: scale 1 when the spread is 0', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (7), (7), (7)) v(x)`);
      const { fitted, rows } = await fitAndEncode(duck, { features: [{ name: 'x', kind: 'numeric' }] });
      expect(fitted.state[0]).toEqual({ kind: 'numeric', impute: 7, center: 7, scale: 1 });
      expect(rows).toEqual([[0], [0], [0]]);
    });
  });
});

describe('categorical features', () => {
  const TABLE = `CREATE TABLE t AS SELECT * FROM (VALUES ('b'), ('a'), ('c'), ('a'), ('b'), ('d'), (NULL), ('c')) v(x)`;

  it('fit a vocabulary by frequency, ties by value, within minCount and maxSize; the rest is the unseen bucket', async () => {
    await withDuck(async (duck) => {
      await duck.run(TABLE);
      const { fitted, encoder, rows } = await fitAndEncode(duck, {
        features: [{ name: 'x', kind: 'categorical', vocabulary: { minCount: 2, maxSize: 2 } }],
      });
      // a, b and c are seen twice each: the tie is broken by value, and maxSize keeps two.
      expect(fitted.state[0]).toEqual({ kind: 'categorical', vocabulary: ['a', 'b'] });
      expect(encoder.names()).toEqual(['x=a', 'x=b', 'x=<oov>']);
      expect(rows).toEqual([
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 0, 1], // null → unseen
        [0, 0, 1],
      ]);
    });
  });

  it('encode as an index: the vocabulary position, the unseen bucket last', async () => {
    await withDuck(async (duck) => {
      await duck.run(TABLE);
      const { encoder, rows } = await fitAndEncode(duck, { features: [{ name: 'x', kind: 'categorical', encoding: 'index' }] });
      expect(encoder.fitted.state[0]).toEqual({ kind: 'categorical', vocabulary: ['a', 'b', 'c', 'd'] });
      expect(encoder.names()).toEqual(['x']);
      expect(rows.map((r) => r[0])).toEqual([1, 0, 2, 0, 1, 3, 4, 2]);
      // An unseen value at serving time takes the unseen index.
      expect(Array.from(encoder.encode({ rows: 1, columns: { x: ['zzz'] } }))).toEqual([4]);
    });
  });

  it('hash into buckets with FNV-1a (nothing fitted), one-hot or as an index; null hashes as ""', async () => {
    await withDuck(async (duck) => {
      await duck.run(TABLE);
      const { fitted, encoder, rows } = await fitAndEncode(duck, {
        features: [
          { name: 'h', column: 'x', kind: 'categorical', hash: { buckets: 5 } },
          { name: 'i', column: 'x', kind: 'categorical', hash: { buckets: 5 }, encoding: 'index' },
        ],
      });
      expect(fitted.state).toEqual([{ kind: 'categorical' }, { kind: 'categorical' }]);
      expect(encoder.names()).toEqual(['h=<hash:0>', 'h=<hash:1>', 'h=<hash:2>', 'h=<hash:3>', 'h=<hash:4>', 'i']);
      ['b', 'a', 'c', 'a', 'b', 'd', '', 'c'].forEach((v, r) => {
        const bucket = fnv1a32(v) % 5;
        expect(rows[r]!.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((b) => (b === bucket ? 1 : 0)));
        expect(rows[r]![5]).toBe(bucket);
      });
    });
  });

  it('compare numbers as text: an integer column feeds a vocabulary', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (10), (20), (10)) v(code)`);
      const { fitted, rows } = await fitAndEncode(duck, { features: [{ name: 'code', kind: 'categorical' }] });
      expect(fitted.state[0]).toEqual({ kind: 'categorical', vocabulary: ['10', '20'] });
      expect(rows).toEqual([
        [1, 0, 0],
        [0, 1, 0],
        [1, 0, 0],
      ]);
    });
  });
});

describe('boolean features', () => {
  it('read true/false and 1/0; null takes the impute value', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (true, 1), (false, 0), (NULL, NULL)) v(b, n)`);
      const { rows } = await fitAndEncode(duck, {
        features: [
          { name: 'b', kind: 'boolean' },
          { name: 'n', kind: 'boolean', impute: true },
        ],
      });
      expect(rows).toEqual([
        [1, 1],
        [0, 0],
        [0, 1],
      ]);
    });
  });
});

describe('datetime features', () => {
  it('agree with DuckDB on hour, day of week, month and day of month over four years of hours', async () => {
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE t AS SELECT ts FROM range(TIMESTAMP '1999-12-30 00:00:00', TIMESTAMP '2004-01-02 00:00:00', INTERVAL 7 HOUR) r(ts)`,
      );
      const spec: FeatureSpecInput = {
        features: [{ name: 'ts', kind: 'datetime', parts: ['hour', 'dayOfWeek', 'month', 'dayOfMonth'] }],
      };
      const { encoder, rows } = await fitAndEncode(duck, spec);
      expect(encoder.dimension).toBe(24 + 7 + 12 + 31);
      expect(encoder.names().slice(22, 27)).toEqual([
        'ts.hour=22',
        'ts.hour=23',
        'ts.dayOfWeek=mon',
        'ts.dayOfWeek=tue',
        'ts.dayOfWeek=wed',
      ]);
      const truth = await duck.columns(`SELECT hour(ts) AS h, isodow(ts) - 1 AS dow, month(ts) - 1 AS m, day(ts) - 1 AS d FROM t`);
      rows.forEach((r, i) => {
        const hot = r.flatMap((v, k) => (v === 1 ? [k] : []));
        expect(hot).toEqual([
          (truth.h as number[])[i],
          24 + (truth.dow as number[])[i]!,
          31 + (truth.m as number[])[i]!,
          43 + (truth.d as number[])[i]!,
        ]);
      });
    });
  });

  it('encode cyclic parts as sin/cos of the position in the period (day of month: that month’s length)', async () => {
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE t AS SELECT * FROM (VALUES (TIMESTAMP '2001-03-04 06:00:00'), (TIMESTAMP '2000-02-29 18:00:00'), (NULL)) v(ts)`,
      );
      const { encoder, rows } = await fitAndEncode(duck, {
        features: [
          {
            name: 'when',
            column: 'ts',
            kind: 'datetime',
            encoding: 'cyclic',
            parts: ['hour', 'month', { part: 'dayOfMonth' }, { part: 'dayOfWeek', encoding: 'one-hot' }],
          },
        ],
      });
      expect(encoder.names().slice(0, 6)).toEqual([
        'when.hour.sin',
        'when.hour.cos',
        'when.month.sin',
        'when.month.cos',
        'when.dayOfMonth.sin',
        'when.dayOfMonth.cos',
      ]);
      const cyc = (k: number, period: number) => [f32(Math.sin((2 * Math.PI * k) / period)), f32(Math.cos((2 * Math.PI * k) / period))];
      // 2001-03-04 was a Sunday; 2000-02-29 a Tuesday (a leap day: February has 29 days).
      expect(rows[0]).toEqual([...cyc(6, 24), ...cyc(2, 12), ...cyc(3, 31), 0, 0, 0, 0, 0, 0, 1]);
      expect(rows[1]).toEqual([...cyc(18, 24), ...cyc(1, 12), ...cyc(28, 29), 0, 1, 0, 0, 0, 0, 0]);
      expect(rows[2]).toEqual(new Array(13).fill(0)); // null: every part zero
    });
  });

  it('read DATE and ISO text columns as naive timestamps', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (DATE '2001-12-25', '2001-12-25T23:10:00')) v(d, s)`);
      const { rows } = await fitAndEncode(duck, {
        features: [
          { name: 'd', kind: 'datetime', parts: ['month'] },
          { name: 's', kind: 'datetime', parts: ['hour'] },
        ],
      });
      expect(rows[0]!.indexOf(1)).toBe(11);
      expect(rows[0]!.lastIndexOf(1)).toBe(12 + 23);
    });
  });
});

describe('vector features', () => {
  it('pass a fixed-length list through, optionally standardised per element; null elements take the mean', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES ([1.0, 10.0]), ([3.0, 30.0]), ([NULL, 20.0]), (NULL)) v(e)`);
      const { fitted, encoder, rows } = await fitAndEncode(duck, {
        features: [
          { name: 'raw', column: 'e', kind: 'vector', length: 2 },
          { name: 'std', column: 'e', kind: 'vector', length: 2, standardize: true },
        ],
      });
      expect(encoder.names()).toEqual(['raw[0]', 'raw[1]', 'std[0]', 'std[1]']);
      const sd1 = Math.sqrt(200 / 3);
      expect(fitted.state[1]).toEqual({ kind: 'vector', center: [2, 20], scale: [1, sd1] });
      expect(rows).toEqual([
        [1, 10, -1, f32(-10 / sd1)],
        [3, 30, 1, f32(10 / sd1)],
        [0, 20, 0, 0],
        [0, 0, 0, 0],
      ]);
    });
  });

  it('take a flat row-major column, and refuse a row of the wrong length', () => {
    const fitted: FittedFeatures = {
      format: 'flywheel.tabular-features/v1',
      spec: { features: [{ name: 'v', kind: 'vector', length: 3, standardize: false }] },
      state: [{ kind: 'vector' }],
      fittedOn: 'test',
      rows: 0,
    };
    const encoder = createFeatureEncoder(fitted);
    expect(Array.from(encoder.encode({ rows: 2, columns: { v: Float64Array.of(1, 2, 3, 4, NaN, 6) } }))).toEqual([1, 2, 3, 4, 0, 6]);
    expect(() => encoder.encode({ rows: 1, columns: { v: [[1, 2]] } })).toThrow('feature v: row 0 has 2 elements, needs 3');
    expect(() => encoder.encode({ rows: 2, columns: { v: Float64Array.of(1, 2, 3) } })).toThrow('column v has 3 values, the batch needs 6');
  });
});

describe('the encoder', () => {
  async function fittedMixed(duck: Duck) {
    await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES (1.0, 'a', true), (3.0, 'b', false)) v(x, c, b)`);
    return fitFeatures(duck, 't', {
      features: [
        { name: 'x', kind: 'numeric' },
        { name: 'c', kind: 'categorical' },
        { name: 'b', kind: 'boolean' },
      ],
    });
  }

  it('writes into a caller’s buffer, zeroing only the rows it encodes', async () => {
    await withDuck(async (duck) => {
      const encoder = createFeatureEncoder(await fittedMixed(duck));
      const batch: FeatureBatch = { rows: 1, columns: { x: [3], c: ['b'], b: [true] } };
      const out = new Float32Array(encoder.dimension * 2).fill(9);
      expect(encoder.encode(batch, out)).toBe(out);
      expect(Array.from(out)).toEqual([1, 0, 1, 0, 1, 9, 9, 9, 9, 9]);
      expect(() => encoder.encode(batch, new Float32Array(3))).toThrow('output buffer holds 3 values, needs 5');
    });
  });

  it('names a missing or short column', async () => {
    await withDuck(async (duck) => {
      const encoder = createFeatureEncoder(await fittedMixed(duck));
      expect(encoder.columns).toEqual(['x', 'c', 'b']);
      expect(() => encoder.encode({ rows: 1, columns: { x: [1], c: ['a'] } })).toThrow('the batch has no column b');
      expect(() => encoder.encode({ rows: 2, columns: { x: [1], c: ['a', 'b'], b: [1, 0] } })).toThrow(
        'column x has 1 rows, the batch needs 2',
      );
    });
  });
});
