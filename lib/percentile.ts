// The one exact percentile, by nearest rank: benchmarks and the monitor's latency SLO report a
// value that was actually observed, never one interpolated between two samples.

/** Nearest-rank `q`-quantile (q in [0, 1]) of ascending `sorted`: the smallest value with at
 * least a `q` share of the sample at or below it; `undefined` for an empty sample. */
export function percentile(sorted: ArrayLike<number>, q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
