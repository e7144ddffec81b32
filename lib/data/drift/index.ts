// Data drift: pure statistics comparing a reference dataset profile with a current one.
// See docs/drift.md for each statistic, its default threshold and why.
export { compareFeature, compareProfiles, categoricalCounts, OTHER_CATEGORY } from './compare.ts';
export { hellingerDistance, jensenShannonDistance, psi, type CategoryCounts } from './distances.ts';
export { chiSquareQuantile, normalQuantile, nullDistanceQuantile, type CategoricalMethod, type NoiseOptions } from './noise.ts';
export { binEcdf, ksStatistic, normalizedWasserstein, wassersteinDistance } from './ecdf.ts';
export {
  DRIFT_DEFAULTS,
  DRIFT_METHODS,
  FEATURE_DRIFT_STATUSES,
  METHODS_BY_KIND,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
  type DriftStats,
  type FeatureDrift,
  type FeatureDriftOptions,
  type FeatureDriftStatus,
} from './options.ts';
