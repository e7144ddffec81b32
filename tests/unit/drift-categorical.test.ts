// Categorical drift beyond the raw distance: the unseen-category share with its own threshold,
// and a distance threshold that grows with the number of categories and shrinks with the window
// (the sampling noise of two samples of one distribution). Synthetic samples with known
// distributions; tests/unit/drift-every-feature.test.ts does the same on real data.
import { describe, expect, it } from 'vitest';
import { compareFeature, compareProfiles, DRIFT_DEFAULTS } from '../../lib/data/drift/index.ts';
import { chiSquareQuantile, normalQuantile, nullDistanceQuantile } from '../../lib/data/drift/noise.ts';
import { categoricalProfile, categoricalSample, datasetProfile } from './helpers/profile-from-arrays.ts';

/** `k` categories with Zipf weights 1/1 … 1/k, like airports. */
const zipf = (k: number) => Object.fromEntries(Array.from({ length: k }, (_, i) => [`c${i}`, 1 / (i + 1)]));
const noise = { quantile: 0.999, replicates: 200, seed: 1, psiEpsilon: 1e-4 };

describe('the noise floor of a categorical distance', () => {
  it('grows with the number of categories and shrinks with the window', () => {
    const floor = (k: number, nCur: number) => {
      const counts = Object.values(zipf(k)).map((w) => w * 1e6);
      return nullDistanceQuantile('jensen_shannon', counts, 20_000, nCur, noise);
    };
    expect(floor(300, 300)).toBeGreaterThan(floor(30, 300));
    expect(floor(30, 300)).toBeGreaterThan(floor(3, 300));
    expect(floor(300, 300)).toBeGreaterThan(floor(300, 3_000));
    expect(floor(300, 3_000)).toBeGreaterThan(floor(300, 20_000));
    // The worked example of docs/drift.md: 300 Zipf categories, 20,000 reference rows.
    expect(floor(300, 300)).toBeCloseTo(0.45, 1);
    expect(floor(300, 3_000)).toBeCloseTo(0.17, 1);
  });

  it('is deterministic, and matches the far tail of many more bootstrap pairs', () => {
    const p = Object.values(zipf(50));
    const a = nullDistanceQuantile('jensen_shannon', p, 1_000, 1_000, noise);
    expect(nullDistanceQuantile('jensen_shannon', p, 1_000, 1_000, noise)).toBe(a);
    // 4,000 direct pairs put the 0.999 quantile at 0.181 (docs/drift.md); the 200-pair scaled
    // chi-square lands within a few percent of it.
    expect(a).toBeGreaterThan(0.17);
    expect(a).toBeLessThan(0.19);
    expect(nullDistanceQuantile('jensen_shannon', [5, 0], 1_000, 1_000, noise)).toBe(0);
  });

  it('has the normal and chi-square quantiles it is built on', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(chiSquareQuantile(10, 0.95)).toBeCloseTo(18.307, 1);
    expect(chiSquareQuantile(299, 0.999)).toBeCloseTo(380.3, 0);
  });
});

describe('compareFeature on a categorical feature', () => {
  const reference = categoricalProfile(categoricalSample(20_000, zipf(300), 1));

  it('does not alarm on a small window of the same distribution, reporting both thresholds', () => {
    const current = categoricalProfile(categoricalSample(300, zipf(300), 2));
    const f = compareFeature('origin', reference, current, { minSamples: 100 });
    // The raw distance is far over 0.1 from sampling alone…
    expect(f.score).toBeGreaterThan(0.3);
    // …and under the noise floor for 300 categories and 300 rows.
    expect(f).toMatchObject({ status: 'ok', threshold: 0.1, drifted: false, unseenDrifted: false });
    expect(f.effectiveThreshold).toBe(f.stats.noiseThreshold);
    expect(f.effectiveThreshold).toBeGreaterThan(f.score ?? 1);
    expect(f.stats.categories).toBe(reference.top.length);
  });

  it('keeps the configured threshold when the noise floor is under it, and can turn the floor off', () => {
    const few = { a: 1, b: 2, c: 3 };
    const f = compareFeature(
      'x',
      categoricalProfile(categoricalSample(20_000, few, 1)),
      categoricalProfile(categoricalSample(20_000, few, 2)),
    );
    expect(f.effectiveThreshold).toBe(0.1);
    expect(f.stats.noiseThreshold).toBeLessThan(0.1);
    const current = categoricalProfile(categoricalSample(300, zipf(300), 2));
    const off = compareFeature('origin', reference, current, { minSamples: 100, noiseQuantile: 0 });
    expect(off).toMatchObject({ effectiveThreshold: 0.1, drifted: true, stats: { noiseThreshold: 0 } });
  });

  it('flags a flood of never-seen categories by the unseen share, even in a small window', () => {
    // 6% of a 300-row window.
    const sample = categoricalSample(282, zipf(300), 3);
    const flood = [...sample, ...Array.from({ length: 18 }, (_, i) => `new${i % 6}`)];
    const f = compareFeature('origin', reference, categoricalProfile(flood), { minSamples: 100 });
    expect(f.stats.unseenShare).toBeCloseTo(0.06, 12);
    expect(f).toMatchObject({ status: 'ok', drifted: true, unseenDrifted: true, unseenThreshold: DRIFT_DEFAULTS.unseenShareIncrease });
    // The distance is about as sensitive to new categories; held at 0.9, the summary names the share.
    const loose = { minSamples: 100, thresholds: { jensen_shannon: 0.9 } };
    const report = compareProfiles(
      datasetProfile('ref', { origin: reference }),
      datasetProfile('cur', { origin: categoricalProfile(flood) }),
      loose,
    );
    expect(report.summary).toBe('drift in 1 of 1 feature (origin: unseen share 0.06 ≥ 0.05)');
    // A looser unseen threshold lets the same window pass.
    expect(compareFeature('origin', reference, categoricalProfile(flood), { ...loose, unseenShareIncrease: 0.1 }).drifted).toBe(false);
  });

  it('measures unseen against the fitted vocabulary when one is given, over the reference own share', () => {
    const vocabulary = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const same = categoricalProfile(categoricalSample(5_000, zipf(300), 4));
    const f = compareFeature('origin', reference, same, { features: { origin: { vocabulary } } });
    // Zipf(300): the first 20 categories hold about 57% of the rows, so ~43% fall outside.
    expect(f.stats.unseenBaseline).toBeGreaterThan(0.4);
    expect(f.stats.unseenShare).toBeCloseTo(f.stats.unseenBaseline ?? 0, 1);
    expect(f).toMatchObject({ drifted: false, unseenDrifted: false });
    // Half the traffic moves to categories beyond the vocabulary that the reference knows.
    const tail = categoricalProfile([...categoricalSample(2_500, zipf(300), 5), ...categoricalSample(2_500, { c250: 1, c299: 1 }, 6)]);
    expect(compareFeature('origin', reference, tail, { features: { origin: { vocabulary } } })).toMatchObject({ unseenDrifted: true });
    expect(compareFeature('origin', reference, tail).stats.unseenShare).toBe(0);
  });

  it('flags a shift between known categories once the window is big enough', () => {
    // The 10 most frequent categories lose a fifth of their weight; the others gain a quarter.
    const shifted = Object.fromEntries(Object.entries(zipf(300)).map(([c, w], i) => [c, i < 10 ? w * 0.8 : w * 1.25]));
    const at = (n: number) =>
      compareFeature('origin', reference, categoricalProfile(categoricalSample(n, shifted, 7)), { minSamples: 100 });
    expect(at(300)).toMatchObject({ drifted: false });
    expect(at(20_000)).toMatchObject({ drifted: true, unseenDrifted: false });
  });

  it('rejects bad noise and unseen options', () => {
    expect(() => compareFeature('o', reference, reference, { noiseQuantile: 1 })).toThrow(RangeError);
    expect(() => compareFeature('o', reference, reference, { noiseReplicates: 1 })).toThrow(RangeError);
    expect(() => compareFeature('o', reference, reference, { unseenShareIncrease: -0.1 })).toThrow(
      new RangeError('feature "o": unseenShareIncrease must be ≥ 0, got -0.1'),
    );
  });
});
