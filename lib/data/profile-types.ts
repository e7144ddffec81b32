// The shape of a dataset profile: per-feature statistics stored with a dataset version. The
// training profile is the reference the drift monitor compares recent traffic against.

/** Sorted support points with their counts: exact when a feature has ≤ ECDF_MAX_POINTS distinct
 * values (integers such as distance or delay), otherwise quantized to that many points. */
export interface Ecdf {
  values: number[];
  counts: number[];
  /** True when `values` are every distinct value (the ECDF is exact). */
  exact: boolean;
}

export interface NumericProfile {
  kind: 'numeric';
  /** Rows, nulls included. */
  count: number;
  nulls: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** Keys p01, p05, p25, p50, p75, p95, p99. */
  quantiles: Record<string, number>;
  /** Fixed bins: `edges.length === counts.length + 1`; values outside [first, last] edge are
   * counted in the first or last bin. */
  histogram: { edges: number[]; counts: number[] };
  ecdf: Ecdf;
}

export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  nulls: number;
  distinct: number;
  /** Most frequent categories first, at most CATEGORY_MAX_VALUES of them. */
  top: Array<{ value: string; count: number }>;
  /** Non-null rows whose category is not in `top`. */
  otherCount: number;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export interface DatasetProfile {
  /** The dataset version profiled, or a label for an ad-hoc window (e.g. a prediction-log slice). */
  source: string;
  rows: number;
  features: Record<string, FeatureProfile>;
}

export const ECDF_MAX_POINTS = 2000;
export const CATEGORY_MAX_VALUES = 1000;
export const HISTOGRAM_BINS = 20;
