// How far apart two samples of the SAME categorical distribution score, so a categorical
// feature's threshold can grow with its number of categories and shrink with the window size.
// A small parametric bootstrap from the reference's own proportions, summarised by a scaled
// chi-square with the bootstrap's mean and variance (docs/drift.md, "Sampling noise").
import { Rng } from '../../random.ts';
import { hellingerOfCounts, jensenShannonOfCounts, psi } from './distances.ts';

/** The categorical methods whose null this module can simulate. */
export type CategoricalMethod = 'jensen_shannon' | 'hellinger' | 'psi';

export interface NoiseOptions {
  /** Quantile of the null distance to return. */
  quantile: number;
  /** Bootstrap pairs drawn; the cost is replicates × (categories + a few draws per category). */
  replicates: number;
  /** Seed of the generator, so the same inputs give the same threshold. */
  seed: number;
  /** PSI's floor for empty bins. */
  psiEpsilon: number;
}

function standardNormal(rand: () => number): number {
  // 1 − u keeps log away from 0.
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Mean at or under which a binomial is drawn exactly (inversion); above it the normal
 * approximation is within a fraction of a count of the exact draw's spread. */
const EXACT_MEAN = 30;

/** One Binomial(n, p) draw: inversion for small means, a rounded normal for large ones. */
function binomial(n: number, p: number, rand: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(n, 1 - p, rand);
  const mean = n * p;
  if (mean > EXACT_MEAN) {
    const x = Math.round(mean + Math.sqrt(mean * (1 - p)) * standardNormal(rand));
    return Math.min(n, Math.max(0, x));
  }
  // Walk the pmf from 0: P(k+1) = P(k)·(n − k)/(k + 1)·p/(1 − p). About mean + 1 steps.
  let u = rand();
  let k = 0;
  let pk = Math.exp(n * Math.log1p(-p));
  const ratio = p / (1 - p);
  while (u > pk && k < n) {
    u -= pk;
    pk *= ((n - k) / (k + 1)) * ratio;
    k++;
    if (pk === 0) break;
  }
  return k;
}

/** Multinomial(n, p) by conditional binomials, into `out`. */
function multinomial(n: number, p: readonly number[], rand: () => number, out: number[]): void {
  let left = n;
  let mass = 1;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] ?? 0;
    const x = left > 0 && mass > 0 ? binomial(left, Math.min(1, pi / mass), rand) : 0;
    out[i] = x;
    left -= x;
    mass -= pi;
  }
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const tail = (p: number) => {
    const r = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) / ((((d0 * r + d1) * r + d2) * r + d3) * r + 1);
  };
  if (q < 0.02425) return tail(q);
  if (q > 1 - 0.02425) return -tail(1 - q);
  const s = q - 0.5;
  const r = s * s;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * s) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/** Quantile of a chi-square with `dof` (any positive real) degrees of freedom, by
 * Wilson–Hilferty: (χ²/ν)^(1/3) is close to normal with mean 1 − 2/(9ν), variance 2/(9ν). */
export function chiSquareQuantile(dof: number, q: number): number {
  const v = 2 / (9 * dof);
  return dof * Math.max(0, 1 - v + normalQuantile(q) * Math.sqrt(v)) ** 3;
}

/** The method's score as a divergence that is close to a scaled chi-square under the null: the
 * distances JS and Hellinger are square roots of one, PSI is one already. */
const toDivergence = (method: CategoricalMethod, score: number) => (method === 'psi' ? score : score * score);
const fromDivergence = (method: CategoricalMethod, divergence: number) => (method === 'psi' ? divergence : Math.sqrt(divergence));

const scoreOf = (method: CategoricalMethod, a: readonly number[], b: readonly number[], psiEpsilon: number): number =>
  method === 'jensen_shannon' ? jensenShannonOfCounts(a, b) : method === 'hellinger' ? hellingerOfCounts(a, b) : psi(a, b, psiEpsilon);

/**
 * The `quantile` of `method`'s score between a sample of `refSamples` rows and one of
 * `curSamples` rows, both drawn from the reference's category proportions `refCounts`.
 * Bootstrap pairs give the divergence's mean m and variance s²; the divergence is then read as
 * a·χ²(ν) with a = s²/(2m), ν = 2m²/s² (Satterthwaite), whose quantile is smooth in the seed and
 * reaches far tails that a few hundred replicates cannot estimate directly.
 */
export function nullDistanceQuantile(
  method: CategoricalMethod,
  refCounts: readonly number[],
  refSamples: number,
  curSamples: number,
  options: NoiseOptions,
): number {
  const { quantile, replicates, seed, psiEpsilon } = options;
  if (!(quantile > 0 && quantile < 1)) throw new RangeError(`noise quantile must be in (0, 1), got ${quantile}`);
  if (!(Number.isInteger(replicates) && replicates >= 2))
    throw new RangeError(`noise replicates must be an integer ≥ 2, got ${replicates}`);
  const total = refCounts.reduce((s, c) => s + c, 0);
  if (!(total > 0) || refCounts.filter((c) => c > 0).length < 2 || refSamples < 1 || curSamples < 1) return 0;
  // Largest first: conditional binomials then spend their exact draws on the small categories.
  const p = refCounts
    .filter((c) => c > 0)
    .map((c) => c / total)
    .sort((x, y) => y - x);
  const rng = new Rng(seed);
  const rand = (): number => rng.next();
  const a = new Array<number>(p.length).fill(0);
  const b = new Array<number>(p.length).fill(0);
  let sum = 0;
  let sumSq = 0;
  for (let r = 0; r < replicates; r++) {
    multinomial(Math.round(refSamples), p, rand, a);
    multinomial(Math.round(curSamples), p, rand, b);
    const d = toDivergence(method, scoreOf(method, a, b, psiEpsilon));
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / replicates;
  const variance = Math.max(0, sumSq / replicates - mean * mean);
  if (!(mean > 0)) return 0;
  if (!(variance > 0)) return fromDivergence(method, mean);
  const scale = variance / (2 * mean);
  const dof = (2 * mean * mean) / variance;
  return fromDivergence(method, scale * chiSquareQuantile(dof, quantile));
}
