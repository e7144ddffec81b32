// The pieces evaluation builds on for any table: slice keys read from the feature spec, and
// multiclass rows of a class the model was not fitted with left out (with a count), not fatal.
import { describe, expect, it } from 'vitest';
import { featureSlices, MISSING_SLICE } from '../../lib/evaluation/feature-slices.ts';
import { parseFeatureSpec } from '../../lib/features/tabular/index.ts';
import { describeDropped, keepKnownClasses, selectRows, type SplitRows } from '../../lib/training/data.ts';

const spec = parseFeatureSpec({
  features: [
    { name: 'city', kind: 'categorical' },
    { name: 'city_hashed', column: 'city', kind: 'categorical', hash: { buckets: 4 } },
    { name: 'when', column: 'at', kind: 'datetime', parts: ['dayOfWeek', 'hour'] },
    { name: 'temp', kind: 'numeric' },
    { name: 'windy', kind: 'boolean' },
  ],
});

// 2015-03-02 was a Monday.
const at = [Date.UTC(2015, 2, 2, 9), Date.UTC(2015, 2, 7, 23), NaN, Date.UTC(2015, 2, 8, 0)];

function rows(): SplitRows {
  return {
    spec,
    batch: {
      rows: 4,
      columns: {
        city: ['Paris', null, 'Oslo', 'Paris'],
        at: Float64Array.from(at),
        temp: Float64Array.from([1, 2, NaN, 4]),
        windy: Float64Array.from([1, 0, 1, 0]),
      },
    },
    labels: ['sun', 'snow', 'rain', 'snow'],
    extra: { station: ['a', 'b', 'c', 'd'] },
    rows: 4,
  };
}

describe('featureSlices', () => {
  it('slices each categorical source column once and each datetime feature by its first part', () => {
    const r = rows();
    expect(featureSlices(spec, r.batch)).toEqual({
      city: ['Paris', MISSING_SLICE, 'Oslo', 'Paris'],
      'at.dayOfWeek': ['Mon', 'Sat', MISSING_SLICE, 'Sun'],
    });
  });
});

describe('keepKnownClasses', () => {
  it('leaves out rows of unfitted classes, every column alike, and counts them', () => {
    const { rows: kept, dropped } = keepKnownClasses({ kind: 'multiclass', classes: ['rain', 'sun'] }, rows());
    expect(dropped).toEqual({ snow: 2 });
    expect(describeDropped(dropped)).toBe('snow: 2 rows');
    expect(kept.rows).toBe(2);
    expect(kept.labels).toEqual(['sun', 'rain']);
    expect(kept.batch.columns.city).toEqual(['Paris', 'Oslo']);
    expect(Array.from(kept.batch.columns.temp as Float64Array)).toEqual([1, NaN]);
    expect(kept.batch.columns.at).toBeInstanceOf(Float64Array);
    expect(kept.extra.station).toEqual(['a', 'c']);
  });

  it('passes other tasks and fully known rows through untouched', () => {
    const r = rows();
    expect(keepKnownClasses({ kind: 'regression' }, r).rows).toBe(r);
    expect(keepKnownClasses({ kind: 'multiclass', classes: ['rain', 'snow', 'sun'] }, r)).toEqual({ rows: r, dropped: {} });
    expect(selectRows(r, []).rows).toBe(0);
  });
});
