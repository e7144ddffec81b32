// Compares a reference profile (the training data) with a current one, feature by feature,
// and decides whether the dataset drifted. Problems with one feature are reported on that
// feature, never thrown, so one bad column cannot hide drift in the others.
import type { CategoricalProfile, DatasetProfile, FeatureProfile, NumericProfile } from '../profile-types.ts';
import { alignCategories, hellingerOfCounts, jensenShannonOfCounts, psi } from './distances.ts';
import { binEcdf, ksStatistic, normalizedWasserstein, wassersteinDistance } from './ecdf.ts';
import { normalQuantile, nullDistanceQuantile, type CategoricalMethod } from './noise.ts';
import {
  DRIFT_DEFAULTS,
  DRIFT_METHODS,
  METHODS_BY_KIND,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
  type DriftStats,
  type FeatureDrift,
} from './options.ts';

/** The bucket `categoricalCounts` puts a profile's `otherCount` in. */
export const OTHER_CATEGORY = '__other__';

/** Where each method's score sits in DriftStats. */
const STAT_OF_METHOD = {
  psi: 'psi',
  ks: 'ks',
  wasserstein: 'wasserstein',
  jensen_shannon: 'jensenShannon',
  hellinger: 'hellinger',
} as const satisfies Record<DriftMethod, keyof DriftStats>;

/** How many drifted features the summary names before "+N more". */
const SUMMARY_MAX_FEATURES = 5;

/** Category counts with the long tail (`otherCount`) as one `__other__` bucket. A real
 * category of that name shares the bucket: the profile cannot tell them apart anyway. */
export function categoricalCounts(profile: CategoricalProfile): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { value, count } of profile.top) counts.set(value, (counts.get(value) ?? 0) + count);
  if (profile.otherCount > 0) counts.set(OTHER_CATEGORY, (counts.get(OTHER_CATEGORY) ?? 0) + profile.otherCount);
  return counts;
}

interface Resolved {
  method: DriftMethod;
  threshold: number;
  minSamples: number;
  psiEpsilon: number;
  unseenShareIncrease: number;
  vocabulary: readonly string[] | undefined;
  noiseQuantile: number;
  noiseReplicates: number;
  noiseSeed: number;
}

// Options come from config files as often as from code, so bad values fail loudly here.
function resolve(name: string, kind: FeatureProfile['kind'], options: DriftOptions): Resolved {
  const own = options.features?.[name] ?? {};
  const method =
    own.method ??
    (kind === 'numeric'
      ? (options.numericMethod ?? DRIFT_DEFAULTS.numericMethod)
      : (options.categoricalMethod ?? DRIFT_DEFAULTS.categoricalMethod));
  const known: readonly string[] = DRIFT_METHODS;
  if (!known.includes(method)) throw new RangeError(`feature "${name}": unknown drift method "${method}"`);
  const threshold = own.threshold ?? options.thresholds?.[method] ?? DRIFT_DEFAULTS.thresholds[method];
  if (!Number.isFinite(threshold) || threshold < 0) throw new RangeError(`feature "${name}": threshold must be ≥ 0, got ${threshold}`);
  const minSamples = own.minSamples ?? options.minSamples ?? DRIFT_DEFAULTS.minSamples;
  if (!(minSamples >= 0)) throw new RangeError(`feature "${name}": minSamples must be ≥ 0, got ${minSamples}`);
  const psiEpsilon = options.psiEpsilon ?? DRIFT_DEFAULTS.psiEpsilon;
  const unseenShareIncrease = own.unseenShareIncrease ?? options.unseenShareIncrease ?? DRIFT_DEFAULTS.unseenShareIncrease;
  if (!(unseenShareIncrease >= 0)) throw new RangeError(`feature "${name}": unseenShareIncrease must be ≥ 0, got ${unseenShareIncrease}`);
  const noiseQuantile = options.noiseQuantile ?? DRIFT_DEFAULTS.noiseQuantile;
  if (!(noiseQuantile >= 0 && noiseQuantile < 1)) throw new RangeError(`noiseQuantile must be in [0, 1), got ${noiseQuantile}`);
  const noiseReplicates = options.noiseReplicates ?? DRIFT_DEFAULTS.noiseReplicates;
  if (!(Number.isInteger(noiseReplicates) && noiseReplicates >= 2)) {
    throw new RangeError(`noiseReplicates must be an integer ≥ 2, got ${noiseReplicates}`);
  }
  const noiseSeed = options.noiseSeed ?? DRIFT_DEFAULTS.noiseSeed;
  return {
    method,
    threshold,
    minSamples,
    psiEpsilon,
    unseenShareIncrease,
    vocabulary: own.vocabulary,
    noiseQuantile,
    noiseReplicates,
    noiseSeed,
  };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function samplesOf(profile: FeatureProfile): number {
  return profile.kind === 'numeric' ? sum(profile.ecdf.counts) : sum(profile.top.map((t) => t.count)) + profile.otherCount;
}

function sideStats(profile: FeatureProfile, side: 'ref' | 'cur'): DriftStats {
  const nullShare = profile.count > 0 ? profile.nulls / profile.count : 0;
  return side === 'ref'
    ? { refSamples: samplesOf(profile), refNullShare: nullShare }
    : { curSamples: samplesOf(profile), curNullShare: nullShare };
}

function numericStats(ref: NumericProfile, cur: NumericProfile, psiEpsilon: number): DriftStats {
  const stats: DriftStats = {
    ks: ksStatistic(ref.ecdf, cur.ecdf),
    wasserstein: normalizedWasserstein(ref.ecdf, cur.ecdf, ref.std),
    wassersteinRaw: wassersteinDistance(ref.ecdf, cur.ecdf),
  };
  // Both sides are binned from their ECDFs on the reference's edges, with one edge rule,
  // rather than trusting that two histograms were built alike.
  const edges = ref.histogram.edges;
  if (edges.length >= 2) {
    const refBins = binEcdf(ref.ecdf, edges);
    const curBins = binEcdf(cur.ecdf, edges);
    stats.psi = psi(refBins, curBins, psiEpsilon);
    stats.jensenShannon = jensenShannonOfCounts(refBins, curBins);
    stats.hellinger = hellingerOfCounts(refBins, curBins);
  }
  return stats;
}

/** Share of the reference's own rows a fresh sample would put outside the known categories:
 * outside the vocabulary when there is one; otherwise the `__other__` tail plus the Good–Turing
 * estimate of the mass of categories the reference never saw (categories seen once / rows). */
function unseenBaseline(ref: CategoricalProfile, refTotal: number, vocabulary: ReadonlySet<string> | undefined): number {
  if (refTotal === 0) return 0;
  const outside = vocabulary
    ? sum(ref.top.filter((t) => !vocabulary.has(t.value)).map((t) => t.count))
    : ref.top.filter((t) => t.count === 1).length;
  return Math.min(1, (outside + ref.otherCount) / refTotal);
}

function categoricalStats(
  ref: CategoricalProfile,
  cur: CategoricalProfile,
  psiEpsilon: number,
  vocabulary?: readonly string[],
): DriftStats {
  const refCounts = categoricalCounts(ref);
  const a = alignCategories(refCounts, categoricalCounts(cur));
  // Only categories the current profile names: its own `__other__` tail is unknown. When the
  // reference has a tail too, a "new" category may be hiding in it, so this is an upper bound.
  const known = vocabulary ? new Set(vocabulary) : undefined;
  const seen = known ?? new Set(ref.top.map((t) => t.value));
  const unseen = sum(cur.top.filter((t) => !seen.has(t.value)).map((t) => t.count));
  return {
    psi: psi(a.ref, a.cur, psiEpsilon),
    jensenShannon: jensenShannonOfCounts(a.ref, a.cur),
    hellinger: hellingerOfCounts(a.ref, a.cur),
    unseenShare: unseen / sum(a.cur),
    unseenBaseline: unseenBaseline(ref, sum(a.ref), known),
    categories: refCounts.size,
  };
}

function statsOf(ref: FeatureProfile, cur: FeatureProfile, r: Resolved): DriftStats {
  if (ref.kind === 'numeric' && cur.kind === 'numeric') return numericStats(ref, cur, r.psiEpsilon);
  if (ref.kind === 'categorical' && cur.kind === 'categorical') return categoricalStats(ref, cur, r.psiEpsilon, r.vocabulary);
  return {};
}

/** A categorical feature's two alarms: its score against max(threshold, sampling noise), and its
 * unseen share against the reference's own plus max(unseenShareIncrease, sampling noise). */
function categoricalVerdict(
  ref: CategoricalProfile,
  score: number,
  stats: DriftStats,
  r: Resolved,
): Pick<FeatureDrift, 'effectiveThreshold' | 'unseenThreshold' | 'unseenDrifted' | 'drifted'> {
  const nRef = stats.refSamples ?? 0;
  const nCur = stats.curSamples ?? 0;
  const noise =
    r.noiseQuantile > 0
      ? nullDistanceQuantile(r.method as CategoricalMethod, [...categoricalCounts(ref).values()], nRef, nCur, {
          quantile: r.noiseQuantile,
          replicates: r.noiseReplicates,
          seed: r.noiseSeed,
          psiEpsilon: r.psiEpsilon,
        })
      : 0;
  stats.noiseThreshold = noise;
  const effectiveThreshold = Math.max(r.threshold, noise);
  // The unseen count of a window is binomial around the baseline; its spread at this size,
  // at the same quantile as the distance's noise floor, can outgrow a fixed increase.
  const b = stats.unseenBaseline ?? 0;
  const spread =
    r.noiseQuantile > 0 && nCur > 0 && nRef > 0 ? normalQuantile(r.noiseQuantile) * Math.sqrt(b * (1 - b) * (1 / nCur + 1 / nRef)) : 0;
  const unseenThreshold = Math.max(r.unseenShareIncrease, spread);
  const rise = (stats.unseenShare ?? 0) - b;
  const unseenDrifted = rise > 0 && rise >= unseenThreshold;
  return { effectiveThreshold, unseenThreshold, unseenDrifted, drifted: score >= effectiveThreshold || unseenDrifted };
}

/**
 * One feature's verdict. `ref` or `cur` may be undefined (the feature is in one profile only):
 * that is reported as `missing`, as are too few rows (`insufficient_data`) and a numeric/
 * categorical switch (`kind_mismatch`); none of these counts as drift. Throws RangeError only
 * for invalid options or a malformed profile (unsorted ECDF, mismatched lengths).
 */
export function compareFeature(
  name: string,
  ref: FeatureProfile | undefined,
  cur: FeatureProfile | undefined,
  options: DriftOptions = {},
): FeatureDrift {
  const present = ref ?? cur;
  if (!present) throw new RangeError(`feature "${name}" is in neither profile`);
  const resolved = resolve(name, present.kind, options);
  const { method, threshold, minSamples } = resolved;
  const base = { feature: name, kind: present.kind, method, threshold, score: null, drifted: false };

  if (!ref || !cur) {
    const stats = sideStats(present, ref ? 'ref' : 'cur');
    return { ...base, status: 'missing', stats, reason: ref ? 'missing in current' : 'missing in reference' };
  }
  const stats: DriftStats = { ...sideStats(ref, 'ref'), ...sideStats(cur, 'cur') };
  if (ref.kind !== cur.kind) {
    return { ...base, status: 'kind_mismatch', stats, reason: `${ref.kind} in reference, ${cur.kind} in current` };
  }
  // Checked once both sides agree on the kind, so a missing or re-typed feature is still
  // reported whatever method its options name.
  const applicable: readonly string[] = METHODS_BY_KIND[ref.kind];
  if (!applicable.includes(method)) {
    throw new RangeError(`feature "${name}": method "${method}" does not apply to ${ref.kind} features (use ${applicable.join(', ')})`);
  }
  // Even with minSamples 0, an empty side has no distribution to compare.
  const needed = Math.max(1, minSamples);
  for (const [side, n] of [
    ['reference', stats.refSamples ?? 0],
    ['current', stats.curSamples ?? 0],
  ] as const) {
    if (n < needed) return { ...base, status: 'insufficient_data', stats, reason: `${side} has ${n} non-null rows < ${needed}` };
  }

  Object.assign(stats, statsOf(ref, cur, resolved));
  const score = stats[STAT_OF_METHOD[method]];
  if (score === undefined) {
    return { ...base, status: 'insufficient_data', stats, reason: 'reference histogram has no bins' };
  }
  if (ref.kind === 'categorical') return { ...base, status: 'ok', score, ...categoricalVerdict(ref, score, stats, resolved), stats };
  // ≥, as Evidently decides: a score at the threshold is drift.
  return { ...base, status: 'ok', score, drifted: score >= threshold, stats };
}

const ratio = (value: number, limit: number) => (limit > 0 ? value / limit : value > 0 ? Infinity : 0);

/** The threshold the score was held against. */
const thresholdOf = (f: FeatureDrift) => f.effectiveThreshold ?? f.threshold;

/** Drifted by the unseen share alone (the score stayed under its threshold). */
const unseenOnly = (f: FeatureDrift) => f.unseenDrifted === true && (f.score ?? 0) < thresholdOf(f);

function severity(f: FeatureDrift): number {
  if (unseenOnly(f)) return ratio((f.stats.unseenShare ?? 0) - (f.stats.unseenBaseline ?? 0), f.unseenThreshold ?? 0);
  return ratio(f.score ?? 0, thresholdOf(f));
}

/** Enough digits that a score never prints equal to the threshold it crossed. */
function formatScore(score: number, threshold: number): string {
  for (let digits = 2; digits < 6; digits++) {
    const rounded = Number(score.toPrecision(digits));
    if (rounded !== threshold) return String(rounded);
  }
  return String(score);
}

/** Two numbers at the fewest digits (2 to 6) that print them apart. */
function distinct(a: number, b: number): [string, string] {
  for (let digits = 2; digits <= 6; digits++) {
    const x = Number(a.toPrecision(digits));
    const y = Number(b.toPrecision(digits));
    if (x !== y || digits === 6) return [String(x), String(y)];
  }
  return [String(a), String(b)];
}

function summarize(report: Omit<DriftReport, 'summary'>): string {
  const drifted = report.driftedFeatures
    .map((name) => report.features.find((f) => f.feature === name))
    .filter((f): f is FeatureDrift => f !== undefined);
  const named = drifted.slice(0, SUMMARY_MAX_FEATURES).map((f) => {
    if (unseenOnly(f)) {
      const limit = (f.stats.unseenBaseline ?? 0) + (f.unseenThreshold ?? 0);
      const [share, shown] = distinct(f.stats.unseenShare ?? 0, limit);
      return `${f.feature}: unseen share ${share} ≥ ${shown}`;
    }
    const score = f.score ?? 0;
    const limit = thresholdOf(f);
    const sign = score > limit ? '>' : '≥';
    if (limit === f.threshold) return `${f.feature}: ${f.method} ${formatScore(score, limit)} ${sign} ${limit}`;
    const [a, b] = distinct(score, limit);
    return `${f.feature}: ${f.method} ${a} ${sign} ${b} (noise floor at ${f.stats.curSamples ?? 0} rows; threshold ${f.threshold})`;
  });
  if (drifted.length > SUMMARY_MAX_FEATURES) named.push(`+${drifted.length - SUMMARY_MAX_FEATURES} more`);
  const details = named.join('; ');
  const k = drifted.length;
  const n = report.compared;

  const features = `${n} feature${n === 1 ? '' : 's'}`;
  let head: string;
  if (n === 0) head = 'no features compared';
  else if (report.drifted) head = `drift in ${k} of ${features} (${details})`;
  else if (k > 0) head = `no dataset drift: ${k} of ${features} drifted, under the ${report.driftShare} share (${details})`;
  else head = `no drift in ${features}`;

  const skipped = report.features.filter((f) => f.status !== 'ok').map((f) => `${f.feature} (${f.reason ?? f.status})`);
  return skipped.length > 0 ? `${head}; not compared: ${skipped.join(', ')}` : head;
}

/**
 * Compares every feature in either profile and decides dataset drift: at least one feature
 * drifted and drifted / compared ≥ driftShare. Features that could not be compared are listed
 * (and named in the summary) but left out of the share.
 */
export function compareProfiles(ref: DatasetProfile, cur: DatasetProfile, options: DriftOptions = {}): DriftReport {
  const driftShare = options.driftShare ?? DRIFT_DEFAULTS.driftShare;
  if (!(driftShare >= 0 && driftShare <= 1)) throw new RangeError(`driftShare must be in [0, 1], got ${driftShare}`);
  const names = [...new Set([...Object.keys(ref.features), ...Object.keys(cur.features)])];
  const features = names.map((name) => compareFeature(name, ref.features[name], cur.features[name], options));
  const compared = features.filter((f) => f.status === 'ok').length;
  const driftedFeatures = features
    .filter((f) => f.drifted)
    .sort((a, b) => severity(b) - severity(a))
    .map((f) => f.feature);
  const share = compared === 0 ? 0 : driftedFeatures.length / compared;
  const report = {
    reference: ref.source,
    current: cur.source,
    // "At least one" keeps driftShare 0 from calling a clean dataset drifted.
    drifted: driftedFeatures.length > 0 && share >= driftShare,
    driftedFeatures,
    share,
    driftShare,
    compared,
    features,
  };
  return { ...report, summary: summarize(report) };
}
