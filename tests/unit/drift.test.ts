import { describe, expect, it } from 'vitest';
import {
  binEcdf,
  categoricalCounts,
  compareFeature,
  compareProfiles,
  DRIFT_DEFAULTS,
  hellingerDistance,
  jensenShannonDistance,
  ksStatistic,
  normalizedWasserstein,
  psi,
  wassersteinDistance,
} from '../../lib/data/drift/index.ts';
import type { Ecdf } from '../../lib/data/profile-types.ts';
import { categoricalProfile, categoricalSample, datasetProfile, normalSample, numericProfile } from './helpers/profile-from-arrays.ts';

const ecdf = (values: number[], counts: number[]): Ecdf => ({ values, counts, exact: true });

describe('psi', () => {
  it('is 0 for identical distributions, whatever the scale of the counts', () => {
    expect(psi([5, 3, 2], [50, 30, 20])).toBe(0);
  });

  it('matches a hand-computed example', () => {
    // p = (0.5, 0.3, 0.2), q = (0.3, 0.3, 0.4)
    // PSI = (0.3 − 0.5)·ln(0.3/0.5) + 0 + (0.4 − 0.2)·ln(0.4/0.2)
    //     = 0.2·ln(5/3) + 0.2·ln 2 = 0.2·ln(10/3) ≈ 0.240794560
    expect(Math.abs(psi([50, 30, 20], [30, 30, 40]) - 0.2 * Math.log(10 / 3))).toBeLessThan(1e-9);
  });

  it('raises empty bins to epsilon instead of taking log(0)', () => {
    // p = (1, 0→1e-4), q = (0→1e-4, 1)
    // PSI = (1e-4 − 1)·ln(1e-4) + (1 − 1e-4)·ln(1e4) = 2·(1 − 1e-4)·ln(1e4) ≈ 18.418838
    expect(Math.abs(psi([7, 0], [0, 3]) - 2 * (1 - 1e-4) * Math.log(1e4))).toBeLessThan(1e-9);
    // A larger epsilon caps the cost: 2·(1 − 0.01)·ln(100)
    expect(Math.abs(psi([7, 0], [0, 3], 0.01) - 2 * 0.99 * Math.log(100))).toBeLessThan(1e-9);
  });

  it('rejects unaligned bins and an empty side', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(RangeError);
    expect(() => psi([0, 0], [1, 2])).toThrow(new RangeError('reference counts sum to 0'));
  });
});

describe('binEcdf', () => {
  it('puts values outside the edges in the end bins, inner-edge values right, the last edge inclusive', () => {
    const edges = [0, 10, 20, 30];
    const e = ecdf([-5, 0, 5, 10, 19.99, 20, 30, 42], [1, 2, 3, 4, 5, 6, 7, 8]);
    // bin [0,10): −5 (below range) 1 + 0 (first edge) 2 + 5 → 3        = 6
    // bin [10,20): 10 (inner edge goes right) 4 + 19.99 5              = 9
    // bin [20,30]: 20 (inner edge) 6 + 30 (last edge, inclusive) 7 + 42 (above range) 8 = 21
    expect(binEcdf(e, edges)).toEqual([6, 9, 21]);
  });

  it('needs at least two edges', () => {
    expect(() => binEcdf(ecdf([1], [1]), [0])).toThrow(RangeError);
  });
});

describe('ksStatistic', () => {
  it('is 0 for identical ECDFs, even at different sample sizes', () => {
    expect(ksStatistic(ecdf([1, 2, 3], [1, 2, 1]), ecdf([1, 2, 3], [10, 20, 10]))).toBe(0);
  });

  it('is 1 for disjoint supports', () => {
    expect(ksStatistic(ecdf([0, 1], [3, 3]), ecdf([5, 6], [1, 1]))).toBe(1);
  });

  it('matches a hand-computed pair', () => {
    // ref: 1, 2, 3 once each; cur: 2, 3 once, 4 twice
    // x=1: F_ref 1/3, F_cur 0    → 1/3
    // x=2: F_ref 2/3, F_cur 1/4  → 5/12
    // x=3: F_ref 1,   F_cur 2/4  → 1/2   ← sup
    // x=4: F_ref 1,   F_cur 1    → 0
    expect(ksStatistic(ecdf([1, 2, 3], [1, 1, 1]), ecdf([2, 3, 4], [1, 1, 2]))).toBeCloseTo(0.5, 12);
  });

  it('rejects an unsorted ECDF instead of returning a wrong D', () => {
    expect(() => ksStatistic(ecdf([2, 1], [1, 1]), ecdf([1], [1]))).toThrow(RangeError);
  });
});

describe('wassersteinDistance', () => {
  const ref = ecdf([0, 1, 3], [2, 1, 1]);

  it('is the shift when a distribution moves by c', () => {
    for (const c of [0, 0.5, 2.5, -7]) {
      const shifted = ecdf(
        ref.values.map((v) => v + c),
        ref.counts,
      );
      expect(wassersteinDistance(ref, shifted)).toBeCloseTo(Math.abs(c), 12);
    }
  });

  it('matches the hand-computed area between the CDFs', () => {
    // Same pair as the KS example: |F_ref − F_cur| is 1/3 on [1,2), 5/12 on [2,3), 1/2 on [3,4)
    // W1 = 1/3 + 5/12 + 1/2 = 15/12 = 1.25 (= mean(cur) − mean(ref) = 3.25 − 2, as F_ref ≥ F_cur)
    expect(wassersteinDistance(ecdf([1, 2, 3], [1, 1, 1]), ecdf([2, 3, 4], [1, 1, 2]))).toBeCloseTo(1.25, 12);
  });

  it('normalized divides by the reference std, and by 1 when the std is 0 or null', () => {
    const shifted = ecdf(
      ref.values.map((v) => v + 2.5),
      ref.counts,
    );
    expect(normalizedWasserstein(ref, shifted, 1.25)).toBeCloseTo(2, 12);
    expect(normalizedWasserstein(ref, shifted, 0)).toBeCloseTo(2.5, 12);
    expect(normalizedWasserstein(ref, shifted, null)).toBeCloseTo(2.5, 12);
  });
});

describe('jensenShannonDistance', () => {
  it('is 0 for identical distributions, Map or object, whatever the scale', () => {
    expect(
      jensenShannonDistance(
        { a: 2, b: 2 },
        new Map([
          ['a', 5],
          ['b', 5],
        ]),
      ),
    ).toBe(0);
  });

  it('is 1 for disjoint categories (a category missing on one side counts as 0)', () => {
    expect(jensenShannonDistance({ a: 3 }, { b: 1 })).toBe(1);
  });

  it('matches a two-category hand example', () => {
    // p = (3/4, 1/4), q = (1/4, 3/4), m = (1/2, 1/2)
    // KL(p‖m) = 3/4·log2(3/2) + 1/4·log2(1/2) = 0.75·0.5849625 − 0.25 = 0.1887219 = KL(q‖m)
    // JSD = 0.1887219; distance = √JSD ≈ 0.4344210
    const expected = Math.sqrt(0.75 * Math.log2(1.5) - 0.25);
    expect(jensenShannonDistance({ a: 3, b: 1 }, { a: 1, b: 3 })).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.434421, 6);
  });
});

describe('hellingerDistance', () => {
  it('is 0 for identical and 1 for disjoint distributions', () => {
    expect(hellingerDistance({ a: 1, b: 3 }, { a: 10, b: 30 })).toBe(0);
    expect(hellingerDistance({ a: 1 }, { b: 1 })).toBe(1);
  });

  it('matches a two-category hand example', () => {
    // p = (3/4, 1/4), q = (1/4, 3/4)
    // H² = ½·[(√.75 − √.25)² + (√.25 − √.75)²] = (√3/2 − 1/2)²  →  H = (√3 − 1)/2 ≈ 0.3660254
    expect(hellingerDistance({ a: 3, b: 1 }, { a: 1, b: 3 })).toBeCloseTo((Math.sqrt(3) - 1) / 2, 12);
  });
});

describe('categoricalCounts', () => {
  it('adds an __other__ bucket only when the profile has a tail', () => {
    const top = [
      { value: 'ORD', count: 5 },
      { value: 'ATL', count: 3 },
    ];
    const base = { kind: 'categorical' as const, count: 12, nulls: 2, distinct: 4, top };
    expect(categoricalCounts({ ...base, otherCount: 2 })).toEqual(
      new Map([
        ['ORD', 5],
        ['ATL', 3],
        ['__other__', 2],
      ]),
    );
    expect(categoricalCounts({ ...base, otherCount: 0 })).toEqual(
      new Map([
        ['ORD', 5],
        ['ATL', 3],
      ]),
    );
  });
});

describe('compareProfiles', () => {
  const N = 20_000;
  const AIRPORTS = { ORD: 0.4, ATL: 0.3, DFW: 0.2, SFO: 0.1 };
  // Integer delays give an exact ECDF; normal distances (20k distinct values) a quantized one.
  const delays = (seed: number) => normalSample(N, 10, 3, seed).map(Math.round);

  const reference = datasetProfile('train/flights/2001-03', {
    distance: numericProfile(normalSample(N, 1000, 300, 1)),
    delay: numericProfile(delays(2)),
    origin: categoricalProfile(categoricalSample(N, AIRPORTS, 3)),
  });

  it('raises no alarm for a fresh sample of the same distributions', () => {
    const current = datasetProfile('traffic/2001-04', {
      distance: numericProfile(normalSample(N, 1000, 300, 11)),
      delay: numericProfile(delays(12)),
      origin: categoricalProfile(categoricalSample(N, AIRPORTS, 13)),
    });
    const report = compareProfiles(reference, current);
    expect(report).toMatchObject({ drifted: false, driftedFeatures: [], share: 0, compared: 3 });
    expect(report.summary).toBe('no drift in 3 features');
    // Every statistic, not only the deciding one, stays under its default threshold.
    for (const f of report.features) {
      expect(f.status).toBe('ok');
      for (const key of ['psi', 'ks', 'wasserstein', 'jensenShannon', 'hellinger'] as const) {
        const value = f.stats[key];
        if (value !== undefined) expect(value, `${f.feature} ${key}`).toBeLessThan(0.1);
      }
    }
  });

  it('flags a mean shift of half a standard deviation by normed Wasserstein', () => {
    const current = datasetProfile('traffic/2001-04', {
      distance: numericProfile(normalSample(N, 1000 + 0.5 * 300, 300, 11)),
      delay: numericProfile(delays(12)),
      origin: categoricalProfile(categoricalSample(N, AIRPORTS, 13)),
    });
    const distance = compareProfiles(reference, current).features.find((f) => f.feature === 'distance');
    expect(distance).toMatchObject({ status: 'ok', method: 'wasserstein', threshold: 0.1, drifted: true });
    // W1 of a pure shift is the shift: 0.5 std.
    expect(distance?.score).toBeGreaterThan(0.45);
    expect(distance?.score).toBeLessThan(0.55);
    // KS of a 0.5-std shift of a normal: 2Φ(0.25) − 1 ≈ 0.197
    expect(distance?.stats.ks).toBeCloseTo(0.197, 1);
  });

  it('flags a flood of a new category at 30% and measures its share', () => {
    const current = datasetProfile('traffic/2001-04', {
      origin: categoricalProfile([...categoricalSample(N * 0.7, AIRPORTS, 13), ...Array<string>(N * 0.3).fill('XNA')]),
    });
    const origin = compareFeature('origin', reference.features.origin, current.features.origin);
    expect(origin).toMatchObject({ status: 'ok', method: 'jensen_shannon', drifted: true });
    expect(origin.stats.unseenShare).toBeCloseTo(0.3, 12);
    // q = 0.7·p on the old airports, 0.3 on XNA; m = 0.85·p and 0.15
    // JSD = ½·log2(1/0.85) + ½·(0.7·log2(0.7/0.85) + 0.3·log2(0.3/0.15))
    //     = ½·0.234465 + ½·(−0.196075 + 0.3) = 0.169195  →  distance ≈ 0.4113
    expect(origin.score).toBeCloseTo(0.4113, 2);
    // H² = ½·[(1 − √0.7)² + 0.3]  →  H ≈ 0.4042
    expect(origin.stats.hellinger).toBeCloseTo(0.4042, 2);
  });

  it('reports too few rows and missing features without throwing or counting them', () => {
    const current = datasetProfile('traffic/2001-04', {
      distance: numericProfile([...normalSample(50, 1000, 300, 11), null, null]),
      delay: numericProfile(delays(12)),
      carrier: categoricalProfile(['AA', 'UA']),
    });
    const report = compareProfiles(reference, current);
    const byName = Object.fromEntries(report.features.map((f) => [f.feature, f]));
    expect(byName.distance).toMatchObject({
      status: 'insufficient_data',
      drifted: false,
      score: null,
      reason: 'current has 50 non-null rows < 1000',
      stats: { refSamples: N, curSamples: 50 },
    });
    expect(byName.origin).toMatchObject({ status: 'missing', kind: 'categorical', drifted: false, reason: 'missing in current' });
    expect(byName.carrier).toMatchObject({ status: 'missing', kind: 'categorical', drifted: false, reason: 'missing in reference' });
    expect(report.features.map((f) => f.feature)).toEqual(['distance', 'delay', 'origin', 'carrier']);
    expect(report).toMatchObject({ drifted: false, compared: 1, share: 0 });
    expect(report.summary).toBe(
      'no drift in 1 feature; not compared: distance (current has 50 non-null rows < 1000), ' +
        'origin (missing in current), carrier (missing in reference)',
    );
  });

  it('reports a feature that changed kind as kind_mismatch', () => {
    const current = datasetProfile('traffic/2001-04', { delay: categoricalProfile(categoricalSample(N, { late: 1, early: 1 }, 5)) });
    expect(compareFeature('delay', reference.features.delay, current.features.delay)).toMatchObject({
      status: 'kind_mismatch',
      kind: 'numeric',
      drifted: false,
      reason: 'numeric in reference, categorical in current',
    });
  });

  it('names the drifted features in the summary, worst first, and decides by drift share', () => {
    const current = datasetProfile('traffic/2001-04', {
      distance: numericProfile(normalSample(N, 1000 + 0.5 * 300, 300, 11)),
      delay: numericProfile(delays(12)),
      origin: categoricalProfile([...categoricalSample(N * 0.7, AIRPORTS, 13), ...Array<string>(N * 0.3).fill('XNA')]),
    });
    const report = compareProfiles(reference, current);
    // distance ≈ 0.5 / 0.1 is worse than origin ≈ 0.41 / 0.1.
    expect(report).toMatchObject({ drifted: true, driftedFeatures: ['distance', 'origin'], compared: 3 });
    expect(report.share).toBeCloseTo(2 / 3, 12);
    expect(report.summary).toMatch(
      /^drift in 2 of 3 features \(distance: wasserstein 0\.\d+ > 0\.1; origin: jensen_shannon 0\.41 > 0\.1\)$/,
    );

    // One drifted feature of three is under the default 0.5 share, over a 0.3 one.
    const onlyDistance = { ...current, features: { ...current.features, origin: reference.features.origin! } };
    const under = compareProfiles(reference, onlyDistance);
    expect(under).toMatchObject({ drifted: false, driftedFeatures: ['distance'] });
    expect(under.summary).toMatch(/^no dataset drift: 1 of 3 features drifted, under the 0\.5 share \(distance: wasserstein/);
    expect(compareProfiles(reference, onlyDistance, { driftShare: 0.3 }).drifted).toBe(true);
  });

  it('lets one feature use another method and threshold', () => {
    const current = datasetProfile('traffic/2001-04', { distance: numericProfile(normalSample(N, 1000 + 0.5 * 300, 300, 11)) });
    const f = compareFeature('distance', reference.features.distance, current.features.distance, {
      features: { distance: { method: 'ks', threshold: 0.25 } },
    });
    // D ≈ 0.197 < 0.25: drifted by Wasserstein's default, not by this KS threshold.
    expect(f).toMatchObject({ method: 'ks', threshold: 0.25, drifted: false });
    expect(f.score).toBe(f.stats.ks);

    const psiFeature = compareFeature('distance', reference.features.distance, current.features.distance, {
      numericMethod: 'psi',
      thresholds: { psi: 0.2 },
    });
    expect(psiFeature).toMatchObject({ method: 'psi', threshold: 0.2 });
    expect(psiFeature.score).toBe(psiFeature.stats.psi);
  });

  it('throws on options that cannot apply, naming the feature', () => {
    const origin = reference.features.origin;
    expect(() => compareFeature('origin', origin, origin, { features: { origin: { method: 'ks' } } })).toThrow(
      new RangeError('feature "origin": method "ks" does not apply to categorical features (use jensen_shannon, hellinger, psi)'),
    );
    expect(() => compareProfiles(reference, reference, { driftShare: 1.5 })).toThrow(RangeError);
    expect(() => compareFeature('origin', origin, origin, { thresholds: { jensen_shannon: -1 } })).toThrow(RangeError);
  });

  it('exposes its defaults in one object', () => {
    expect(DRIFT_DEFAULTS).toMatchObject({
      numericMethod: 'wasserstein',
      categoricalMethod: 'jensen_shannon',
      thresholds: { wasserstein: 0.1, jensen_shannon: 0.1, psi: 0.1 },
      driftShare: 0.5,
      minSamples: 1000,
    });
  });
});
