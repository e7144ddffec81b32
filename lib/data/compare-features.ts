// Which features of a reference profile a drift comparison looks at: every one of them, numeric
// and categorical, unless the caller narrows the list. The profile names the features; the
// definitions say how to compute each from the rows being compared (a raw column by default).
import type { FeatureDef } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';

export interface CompareFeaturesOptions {
  /** How to compute a feature from the current rows, by name (e.g. `hour` from `hour(date)`);
   * a feature without one is read from the column of its name.
   * @default [] */
  definitions?: readonly FeatureDef[];
  /** Compare only these (the model spec's `monitor.drift.features`); unset: all.
   * @default undefined */
  only?: readonly string[];
}

/** Every feature of `reference` (in its order), with the kind the reference profiled it as and
 * the definition given for it, narrowed to `only` when set. */
export function featuresToCompare(reference: DatasetProfile, options: CompareFeaturesOptions = {}): FeatureDef[] {
  const byName = new Map((options.definitions ?? []).map((d) => [d.name, d]));
  const only = options.only ? new Set(options.only) : undefined;
  return Object.entries(reference.features)
    .filter(([name]) => !only || only.has(name))
    .map(([name, profile]) => {
      const def = byName.get(name);
      // The reference's kind wins: the window is profiled the way the reference was.
      return def ? { ...def, kind: profile.kind } : { name, kind: profile.kind };
    });
}
