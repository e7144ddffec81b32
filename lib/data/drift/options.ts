// The drift monitor's vocabulary: methods, default thresholds, options and the report shape.
// Defaults live in one `as const` object so docs/drift.md and the code cannot disagree.

/** Statistics that can decide a feature's verdict, the one list the model spec's schema, the
 * defaults and the checks derive from. Scores are distances: 0 means the same distribution,
 * larger means more drift, and a feature drifts when score ≥ threshold. */
export const DRIFT_METHODS = ['wasserstein', 'ks', 'psi', 'jensen_shannon', 'hellinger'] as const;

export type DriftMethod = (typeof DRIFT_METHODS)[number];

/** KS and Wasserstein need ordered values, so categorical features offer only the
 * histogram-style distances. */
export const METHODS_BY_KIND = {
  numeric: DRIFT_METHODS,
  categorical: ['jensen_shannon', 'hellinger', 'psi'],
} as const satisfies Record<'numeric' | 'categorical', readonly DriftMethod[]>;

/** Evidently's large-sample conventions (see docs/drift.md for why each number). */
export const DRIFT_DEFAULTS = {
  numericMethod: 'wasserstein',
  categoricalMethod: 'jensen_shannon',
  thresholds: {
    // 0.1 is "moderate" shift in credit-risk practice; 0.2 is "significant".
    psi: 0.1,
    // An effect size, not a p-value: D = 0.1 is about a 0.25-std shift of a normal.
    ks: 0.1,
    // Normed by the reference std: a shift of a tenth of a standard deviation.
    wasserstein: 0.1,
    jensen_shannon: 0.1,
    hellinger: 0.1,
  },
  driftShare: 0.5,
  minSamples: 1000,
  psiEpsilon: 1e-4,
  // A categorical feature drifts when its unseen share rises by 5 points over what the reference
  // itself would show (docs/drift.md, "Unseen categories").
  unseenShareIncrease: 0.05,
  // A categorical distance alarms only above this quantile of the distance two samples of the
  // reference distribution reach at the same sizes (docs/drift.md, "Sampling noise").
  noiseQuantile: 0.999,
  noiseReplicates: 200,
  noiseSeed: 1,
} as const satisfies {
  numericMethod: DriftMethod;
  categoricalMethod: DriftMethod;
  thresholds: Record<DriftMethod, number>;
  driftShare: number;
  minSamples: number;
  psiEpsilon: number;
  unseenShareIncrease: number;
  noiseQuantile: number;
  noiseReplicates: number;
  noiseSeed: number;
};

export interface FeatureDriftOptions {
  /** @default DRIFT_DEFAULTS.numericMethod or DRIFT_DEFAULTS.categoricalMethod, by kind */
  method?: DriftMethod;
  /** @default the global threshold for the method (DriftOptions.thresholds) */
  threshold?: number;
  /** @default DriftOptions.minSamples */
  minSamples?: number;
  /** Categorical: @default DriftOptions.unseenShareIncrease */
  unseenShareIncrease?: number;
  /** Categorical: the fitted vocabulary (the categories the model knows). With it, "unseen"
   * means outside the vocabulary rather than outside the reference profile's categories.
   * @default the reference profile's categories */
  vocabulary?: readonly string[];
}

export interface DriftOptions {
  /** @default 'wasserstein' (DRIFT_DEFAULTS.numericMethod) */
  numericMethod?: DriftMethod;
  /** @default 'jensen_shannon' (DRIFT_DEFAULTS.categoricalMethod) */
  categoricalMethod?: DriftMethod;
  /** Per-method thresholds; methods left out keep theirs.
   * @default DRIFT_DEFAULTS.thresholds (0.1 for every method) */
  thresholds?: Partial<Record<DriftMethod, number>>;
  /** Overrides by feature name; they win over the options above.
   * @default {} */
  features?: Record<string, FeatureDriftOptions>;
  /** The dataset drifts when drifted / compared features ≥ this (Evidently's drift_share).
   * @default 0.5 */
  driftShare?: number;
  /** Non-null rows each side needs before a feature is compared; below it the feature is
   * `insufficient_data` and does not count towards the share.
   * @default 1000 */
  minSamples?: number;
  /** Floor for bin proportions in PSI, so an empty bin does not give log(0).
   * @default 1e-4 */
  psiEpsilon?: number;
  /** Categorical features drift when the share of current rows in unseen categories exceeds the
   * reference's own (`stats.unseenBaseline`) by at least this much (absolute), or by the
   * sampling noise of that share at this window size when that is larger.
   * @default 0.05 */
  unseenShareIncrease?: number;
  /** Categorical features: the effective threshold is max(threshold, this quantile of the
   * method's score between two samples of the reference distribution of the compared sizes).
   * 0 turns the correction off (the threshold is used as configured).
   * @default 0.999 */
  noiseQuantile?: number;
  /** Bootstrap pairs behind that quantile. @default 200 */
  noiseReplicates?: number;
  /** Seed of the bootstrap, so a report is reproducible. @default 1 */
  noiseSeed?: number;
}

export const FEATURE_DRIFT_STATUSES = {
  /** Compared; `drifted` is the verdict. */
  ok: 'ok',
  /** Fewer non-null rows than minSamples on one side. */
  insufficientData: 'insufficient_data',
  /** The feature is in only one of the profiles. */
  missing: 'missing',
  /** Numeric on one side, categorical on the other: a schema change, not a distribution one. */
  kindMismatch: 'kind_mismatch',
} as const;

export type FeatureDriftStatus = (typeof FEATURE_DRIFT_STATUSES)[keyof typeof FEATURE_DRIFT_STATUSES];

/** Every statistic computed for a feature; which are present depends on kind and status. */
export interface DriftStats {
  /** Non-null rows in each profile's distribution (ECDF or category counts). */
  refSamples?: number;
  curSamples?: number;
  /** nulls / count; a rising null share is a data-quality signal the verdict ignores. */
  refNullShare?: number;
  curNullShare?: number;
  /** Numeric: on the reference histogram's bins. Categorical: over categories. */
  psi?: number;
  ks?: number;
  /** W1 / reference std (the `wasserstein` method's score). */
  wasserstein?: number;
  /** W1 in the feature's own units. */
  wassersteinRaw?: number;
  /** Numeric: on the reference histogram's bins. Categorical: over categories. */
  jensenShannon?: number;
  hellinger?: number;
  /** Categorical: share of current rows in categories the reference never listed (or, with
   * a vocabulary, outside the vocabulary). */
  unseenShare?: number;
  /** Categorical: the unseen share a fresh sample of the reference distribution would show:
   * with a vocabulary, the reference's rows outside it; without, the reference's `__other__`
   * tail plus its Good–Turing missing mass (categories seen once / rows). */
  unseenBaseline?: number;
  /** Categorical: categories in the reference distribution (its `__other__` tail as one). */
  categories?: number;
  /** Categorical: the `noiseQuantile` of the method's score between two samples of the
   * reference distribution with refSamples and curSamples rows (0 when turned off). */
  noiseThreshold?: number;
}

export interface FeatureDrift {
  feature: string;
  kind: 'numeric' | 'categorical';
  status: FeatureDriftStatus;
  /** The method that decides `drifted`. */
  method: DriftMethod;
  /** The method's statistic; null unless status is 'ok'. */
  score: number | null;
  threshold: number;
  /** Categorical, status 'ok': max(threshold, stats.noiseThreshold), what the score is held
   * against. Absent for numeric features, whose score is held against `threshold`. */
  effectiveThreshold?: number;
  /** Categorical, status 'ok': how much unseenShare − unseenBaseline must reach to drift. */
  unseenThreshold?: number;
  /** Categorical, status 'ok': the unseen share alone says drift. */
  unseenDrifted?: boolean;
  /** Only ever true when status is 'ok': score ≥ the (effective) threshold, or the unseen
   * share rose past its threshold. */
  drifted: boolean;
  stats: DriftStats;
  /** Why the feature was not compared; absent when status is 'ok'. */
  reason?: string;
}

export interface DriftReport {
  /** The profiles' `source` labels. */
  reference: string;
  current: string;
  /** share ≥ driftShare, with at least one drifted feature. */
  drifted: boolean;
  /** Drifted features, worst first (by score / threshold). */
  driftedFeatures: string[];
  /** drifted / compared features (0 when none were compared). */
  share: number;
  driftShare: number;
  /** Features with status 'ok'. */
  compared: number;
  /** Every feature in either profile: reference order, then current-only ones. */
  features: FeatureDrift[];
  /** One line a person reads first. */
  summary: string;
}
