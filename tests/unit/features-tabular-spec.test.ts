// The tabular feature spec as a contract: validation errors that name the feature, the data check
// before fitting, deterministic fitting, the hash of fitted state, and request instances read
// into columns with every bad field reported.
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { withDuck } from '../../lib/data/duck.ts';
import {
  batchFromInstances,
  createFeatureEncoder,
  FeatureDataError,
  FeatureSpecError,
  fitFeatures,
  fittedDimension,
  fittedFeaturesHash,
  loadFeatureSpec,
  parseFeatureSpec,
  parseFittedFeatures,
  type FeatureSpecInput,
  type FittedFeatures,
} from '../../lib/features/tabular/index.ts';

function specError(value: unknown): string {
  try {
    parseFeatureSpec(value);
  } catch (err) {
    expect(err).toBeInstanceOf(FeatureSpecError);
    return (err as Error).message;
  }
  throw new Error('the spec parsed');
}

describe('feature spec validation', () => {
  it('fills the documented defaults', () => {
    expect(
      parseFeatureSpec({
        features: [
          { name: 'x', kind: 'numeric' },
          { name: 'c', kind: 'categorical' },
          { name: 'b', kind: 'boolean' },
          { name: 'd', kind: 'datetime', parts: ['hour', { part: 'month', encoding: 'cyclic' }] },
          { name: 'v', kind: 'vector', length: 4 },
        ],
      }).features,
    ).toEqual([
      { name: 'x', kind: 'numeric', impute: 'mean', log1p: false, scale: 'standard' },
      { name: 'c', kind: 'categorical', encoding: 'one-hot', vocabulary: { minCount: 1, maxSize: 1000 } },
      { name: 'b', kind: 'boolean', impute: false },
      {
        name: 'd',
        kind: 'datetime',
        parts: [
          { part: 'hour', encoding: 'one-hot' },
          { part: 'month', encoding: 'cyclic' },
        ],
      },
      { name: 'v', kind: 'vector', length: 4, standardize: false },
    ]);
  });

  it('names the feature and field of every problem', () => {
    expect(
      specError({
        features: [
          { name: 'fare', kind: 'numeric', clip: [10, 0], scale: 'zscore' },
          { name: 'city', kind: 'categorical', hash: { buckets: 1 }, encoding: 'ordinal' },
          { name: 'when', kind: 'datetime', parts: ['week'] },
          { name: 'emb', kind: 'vector' },
          { name: 'x', kind: 'text' },
        ],
      }),
    ).toBe(
      [
        'invalid feature spec:',
        '  features.0 (fare).clip: clip is [lo, hi] with lo < hi',
        '  features.0 (fare).scale: Invalid option: expected one of "standard"|"robust"|"minmax"|"none"',
        '  features.1 (city).hash.buckets: Too small: expected number to be >=2',
        '  features.1 (city).encoding: Invalid option: expected one of "one-hot"|"index"',
        '  features.2 (when).parts.0: Invalid input',
        '  features.3 (emb).length: Invalid input: expected number, received undefined',
        `  features.4 (x).kind: Invalid discriminator value. Expected 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'vector'`,
      ].join('\n'),
    );
  });

  it('refuses contradictions between fields and between features', () => {
    expect(specError({ features: [{ name: 'c', kind: 'categorical', hash: { buckets: 8 }, vocabulary: {} }] })).toContain(
      'features.0 (c): a categorical feature has a vocabulary or hash buckets, not both',
    );
    expect(specError({ features: [{ name: 'd', kind: 'datetime', parts: ['hour', { part: 'hour', encoding: 'cyclic' }] }] })).toContain(
      'features.0 (d): each datetime part appears once',
    );
    expect(
      specError({
        features: [
          { name: 'a', kind: 'numeric', column: 'x' },
          { name: 'a', kind: 'numeric', column: 'y' },
          { name: 'b', kind: 'categorical', column: 'x' },
        ],
      }),
    ).toBe(
      [
        'invalid feature spec:',
        '  features.1 (a).name: duplicate feature name a',
        '  features.2 (b).column: column x is read as number by another feature and as string here',
      ].join('\n'),
    );
    expect(specError({ features: [] })).toContain('features: a feature spec has at least one feature');
    expect(specError({ features: [{ name: 'x y', kind: 'numeric', extra: 1 }] })).toContain(
      'features.0 (x y).name: a name starts with a letter',
    );
  });

  it('names the file it read', async () => {
    await expect(loadFeatureSpec('/nonexistent/features.yaml')).rejects.toThrow('cannot read feature spec /nonexistent/features.yaml');
  });
});

describe('fitting', () => {
  it('checks every feature against the table before fitting and reports all mismatches', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT 'x' AS s, 1 AS n, [1.0] AS v, true AS b`);
      const fit = fitFeatures(duck, 't', {
        features: [
          { name: 'missing', kind: 'numeric' },
          { name: 's', kind: 'numeric' },
          { name: 'n', kind: 'vector', length: 1 },
          { name: 'v', kind: 'datetime', parts: ['hour'] },
          { name: 'b', kind: 'boolean' },
        ],
      });
      await expect(fit).rejects.toBeInstanceOf(FeatureDataError);
      await expect(fit).rejects.toThrow(
        [
          'the feature spec does not match the data:',
          '  feature missing: column missing is not in the data',
          '  feature s: column s is VARCHAR, numeric needs a number column',
          '  feature n: column n is INTEGER, vector needs a list of numbers',
          '  feature v: column v is DECIMAL(2,1)[], datetime needs a TIMESTAMP, DATE or ISO text column',
        ].join('\n'),
      );
    });
  });

  it('is deterministic: ties by value, whatever the row order', async () => {
    const spec: FeatureSpecInput = {
      features: [
        { name: 'c', kind: 'categorical', vocabulary: { minCount: 1, maxSize: 3 } },
        { name: 'x', kind: 'numeric', scale: 'robust', impute: 'median' },
      ],
    };
    await withDuck(async (duck) => {
      // Five values seen twice each, in two different row orders: the vocabulary is the first
      // three by value both times.
      await duck.run(`CREATE TABLE a AS SELECT chr(101 - (i % 5)::INTEGER) AS c, i::DOUBLE AS x FROM range(10) r(i)`);
      await duck.run(`CREATE TABLE b AS SELECT * FROM a ORDER BY hash(x)`);
      const fa = await fitFeatures(duck, 'a', spec, { fittedOn: 'v1' });
      const fb = await fitFeatures(duck, 'b', spec, { fittedOn: 'v1' });
      expect(fa.state[0]).toEqual({ kind: 'categorical', vocabulary: ['a', 'b', 'c'] });
      expect(fb).toEqual(fa);
      expect(fittedFeaturesHash(fb)).toBe(fittedFeaturesHash(fa));
    });
  });
});

describe('fitted state', () => {
  const fitted: FittedFeatures = {
    format: 'flywheel.tabular-features/v1',
    spec: parseFeatureSpec({
      features: [
        { name: 'x', kind: 'numeric' },
        { name: 'c', kind: 'categorical', vocabulary: { minCount: 5 } },
      ],
    }),
    state: [
      { kind: 'numeric', impute: 1.5, center: 1.5, scale: 2 },
      { kind: 'categorical', vocabulary: ['a', 'b'] },
    ],
    fittedOn: 'flights@2001-03',
    rows: 1000,
  };

  it('hashes spec and state canonically: key order, fittedOn and rows do not matter', () => {
    const hash = fittedFeaturesHash(fitted);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const reordered = JSON.parse(
      JSON.stringify({ rows: 3, state: fitted.state, fittedOn: 'other', spec: fitted.spec, format: fitted.format }),
    ) as FittedFeatures;
    expect(fittedFeaturesHash(reordered)).toBe(hash);
    expect(fittedFeaturesHash(parseFittedFeatures(JSON.parse(JSON.stringify(fitted))))).toBe(hash);
    // The same object with its keys listed in another order hashes alike.
    expect(fittedFeaturesHash({ ...fitted, state: [{ scale: 2, center: 1.5, impute: 1.5, kind: 'numeric' }, fitted.state[1]!] })).toBe(
      hash,
    );
  });

  it('changes the hash when any state or spec value changes', () => {
    const hash = fittedFeaturesHash(fitted);
    const variants: FittedFeatures[] = [
      { ...fitted, state: [{ kind: 'numeric', impute: 1.5, center: 1.5, scale: 2.0000001 }, fitted.state[1]!] },
      { ...fitted, state: [{ kind: 'numeric', impute: 1.4, center: 1.5, scale: 2 }, fitted.state[1]!] },
      { ...fitted, state: [fitted.state[0]!, { kind: 'categorical', vocabulary: ['b', 'a'] }] },
      { ...fitted, state: [fitted.state[0]!, { kind: 'categorical', vocabulary: ['a', 'b', 'c'] }] },
      { ...fitted, spec: parseFeatureSpec({ features: [{ name: 'x', kind: 'numeric', log1p: true }, fitted.spec.features[1]] }) },
    ];
    const hashes = new Set(variants.map(fittedFeaturesHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(hash)).toBe(false);
  });

  it('gives the layout: dimension and names', () => {
    expect(fittedDimension(fitted)).toBe(4);
    expect(createFeatureEncoder(fitted).names()).toEqual(['x', 'c=a', 'c=b', 'c=<oov>']);
  });

  it('refuses state that does not fit its spec', () => {
    expect(() => parseFittedFeatures({ ...fitted, state: [fitted.state[1], fitted.state[0]] })).toThrow(
      'invalid fitted features:\n  state.0: feature x is numeric, its state is categorical\n  state.1: feature c is categorical, its state is numeric',
    );
    expect(() => parseFittedFeatures({ ...fitted, state: [fitted.state[0]] })).toThrow('state: 1 states for 2 features');
    expect(() => parseFittedFeatures({ ...fitted, state: [{ ...fitted.state[0], scale: 0 }, fitted.state[1]] })).toThrow(
      'state.0.scale: scale is never 0',
    );
  });
});

describe('request instances', () => {
  const spec = parseFeatureSpec({
    features: [
      { name: 'x', kind: 'numeric' },
      { name: 'c', kind: 'categorical' },
      { name: 'b', kind: 'boolean' },
      { name: 'hour', column: 'when', kind: 'datetime', parts: ['hour'] },
      { name: 'dow', column: 'when', kind: 'datetime', parts: ['dayOfWeek'] },
      { name: 'v', kind: 'vector', length: 2 },
    ],
  });

  it('build the encoder’s columns; null is a missing value; integers are categories as text', () => {
    const r = batchFromInstances(spec, [
      { x: 1.5, c: 'a', b: true, when: '2001-03-04T13:45:00', v: [1, 2], extra: 'ignored' },
      { x: null, c: 7, b: 0, when: '2001-03-04', v: null },
      { x: -2, c: null, b: null, when: null, v: [null, 3] },
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.batch.rows).toBe(3);
    expect(Object.keys(r.batch.columns)).toEqual(['x', 'c', 'b', 'when', 'v']);
    expect(Array.from(r.batch.columns.x as Float64Array)).toEqual([1.5, NaN, -2]);
    expect(r.batch.columns.c).toEqual(['a', '7', null]);
    expect(Array.from(r.batch.columns.b as Float64Array)).toEqual([1, 0, NaN]);
    expect(Array.from(r.batch.columns.when as Float64Array)).toEqual([Date.UTC(2001, 2, 4, 13, 45), Date.UTC(2001, 2, 4), NaN]);
    expect(r.batch.columns.v).toEqual([[1, 2], null, [null, 3]]);
  });

  it('report every bad field with the instance index and the field, in instance order', () => {
    const r = batchFromInstances(spec, [
      { x: '1', c: 'a', b: 'yes', when: '2001-03-04T13:45:00Z', v: [1] },
      { c: 'a', b: true, when: '2001-02-30', v: [1, 2] },
      'not an object',
      { x: 1, c: { a: 1 }, b: true, when: '2001-03-04', v: [1, 'x'] },
    ]);
    expect(r).toEqual({
      ok: false,
      errors: [
        { index: 0, field: 'x', message: 'must be a finite number or null' },
        { index: 0, field: 'b', message: 'must be true, false, 1, 0 or null' },
        { index: 0, field: 'when', message: 'must be a naive timestamp like 2001-03-04T13:45:00 (no zone) or null' },
        { index: 0, field: 'v', message: 'must be an array of 2 numbers (null for a missing one) or null' },
        { index: 1, field: 'x', message: 'is required (null for a missing value)' },
        { index: 1, field: 'when', message: 'must be a naive timestamp like 2001-03-04T13:45:00 (no zone) or null' },
        { index: 2, field: '(instance)', message: 'must be an object' },
        { index: 3, field: 'c', message: 'must be a string, an integer or null' },
        { index: 3, field: 'v', message: 'must be an array of 2 numbers (null for a missing one) or null' },
      ],
    });
  });

  it('stop collecting at maxErrors', () => {
    const r = batchFromInstances(
      spec,
      Array.from({ length: 1000 }, () => ({})),
      { maxErrors: 5 },
    );
    expect(r.ok ? 0 : r.errors.length).toBe(5);
  });
});

describe('the feature library', () => {
  it('knows nothing of flights: no flights names in lib/features/tabular', async () => {
    const dir = new URL('../../lib/features/tabular/', import.meta.url);
    for (const file of await readdir(dir)) {
      const text = await readFile(new URL(file, dir), 'utf8');
      expect(text, file).not.toMatch(/flight|airport|origin|destination|distance/i);
    }
  });

  it('parses the example in docs/features.md', async () => {
    const doc = await readFile(new URL('../../docs/features.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    expect(parseFeatureSpec(parseYaml(yaml)).features.map((f) => f.name)).toEqual([
      'hour',
      'when',
      'fare',
      'carrier',
      'route',
      'refundable',
      'embedding',
    ]);
  });
});
