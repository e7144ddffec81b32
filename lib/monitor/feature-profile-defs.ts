// How a dataset is profiled from a model's feature spec, so the training profile (the drift
// reference) and a window of logged requests are computed alike. Stand-in for lib/data's
// `profileDefinitionsForFeatures` (written in parallel for prepare): same signature, same rules;
// the integrator keeps one of the two.
import { sqlIdent } from '../data/duck.ts';
import type { FeatureDef as ProfileDef } from '../data/profile.ts';
import { sourceColumn, type DatetimePart, type FeatureSpec } from '../features/tabular/spec.ts';
import type { TaskKind } from '../tasks/task.ts';

/** The profile feature holding the training label (split files carry it as `__label`). */
export const LABEL_FEATURE = '__label';

/** Calendar parts as DuckDB computes them over a naive TIMESTAMP, on fixed bins so a window and
 * the training data share histogram edges. */
const PART_PROFILE: Record<DatetimePart, (column: string) => Pick<ProfileDef, 'sql' | 'bins' | 'range'>> = {
  hour: (c) => ({ sql: `hour(${c})`, bins: 24, range: [0, 24] }),
  dayOfWeek: (c) => ({ sql: `isodow(${c}) - 1`, bins: 7, range: [0, 7] }),
  month: (c) => ({ sql: `month(${c})`, bins: 12, range: [1, 13] }),
  dayOfMonth: (c) => ({ sql: `day(${c})`, bins: 31, range: [1, 32] }),
};

/**
 * Profile definitions of a feature spec: a numeric or boolean feature profiles its source column
 * numerically, a categorical one categorically (each source column once, named by the column); a
 * datetime feature profiles each part as a derived number, named by the feature when it has one
 * part, else `<name>.<part>`. Vectors are not profiled. With `label`, the label column
 * `__label` too: categorical for multiclass, numeric otherwise.
 */
export function profileDefinitionsForFeatures(spec: FeatureSpec, label?: TaskKind): ProfileDef[] {
  const defs: ProfileDef[] = [];
  const seen = new Set<string>();
  const add = (def: ProfileDef): void => {
    if (seen.has(def.name)) return;
    seen.add(def.name);
    defs.push(def);
  };
  for (const f of spec.features) {
    const column = sourceColumn(f);
    switch (f.kind) {
      case 'numeric':
      case 'boolean':
        add({ name: column, kind: 'numeric' });
        break;
      case 'categorical':
        add({ name: column, kind: 'categorical' });
        break;
      case 'datetime':
        for (const { part } of f.parts)
          add({ name: f.parts.length === 1 ? f.name : `${f.name}.${part}`, kind: 'numeric', ...PART_PROFILE[part](sqlIdent(column)) });
        break;
      case 'vector':
        break;
    }
  }
  if (label !== undefined) add({ name: LABEL_FEATURE, kind: label === 'multiclass' ? 'categorical' : 'numeric' });
  return defs;
}
