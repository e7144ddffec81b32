// How a dataset is profiled from a model's feature spec, so the training profile (the drift
// reference) and a window of logged requests are computed alike. Stand-in for lib/data's
// `profileDefinitionsForFeatures` (lib/data/feature-profile.ts, written in parallel for prepare):
// the same signature, names and SQL, so the integrator can point the imports there and delete
// this file.
import { sqlIdent } from '../data/duck.ts';
import type { FeatureDef as ProfileDef } from '../data/profile.ts';
import type { LabelSpec } from '../data/source-spec.ts';
import { sourceColumn, type DatetimePart, type FeatureSpec } from '../features/tabular/spec.ts';
import type { TaskKind } from '../tasks/task.ts';

/** The profile feature holding the training label (split files carry it as `__label`). */
export const LABEL_PROFILE_NAME = '__label';

/** Calendar parts over a naive TIMESTAMP, on fixed bins so a window and the training data share
 * histogram edges; Monday is day 0, as the encoder numbers days. */
const PARTS: Record<DatetimePart, (t: string) => Pick<ProfileDef, 'sql' | 'bins' | 'range'>> = {
  hour: (t) => ({ sql: `hour(${t})`, bins: 24, range: [0, 24] }),
  dayOfWeek: (t) => ({ sql: `isodow(${t}) - 1`, bins: 7, range: [0, 7] }),
  month: (t) => ({ sql: `month(${t})`, bins: 12, range: [1, 13] }),
  dayOfMonth: (t) => ({ sql: `dayofmonth(${t})`, bins: 31, range: [1, 32] }),
};

/** The label as a profile feature: binary and regression numeric, multiclass categorical. */
export function labelProfileDefinition(label: LabelSpec, task: TaskKind): ProfileDef {
  const v = typeof label === 'string' ? sqlIdent(label) : `(${label.expression})`;
  if (task === 'multiclass') return { name: LABEL_PROFILE_NAME, kind: 'categorical', sql: `TRY_CAST(${v} AS VARCHAR)` };
  if (task === 'binary') return { name: LABEL_PROFILE_NAME, kind: 'numeric', sql: `TRY_CAST(${v} AS DOUBLE)`, bins: 2, range: [0, 2] };
  return { name: LABEL_PROFILE_NAME, kind: 'numeric', sql: `TRY_CAST(${v} AS DOUBLE)` };
}

/**
 * Profile definitions of a feature spec: a numeric or boolean feature profiles its source column
 * numerically, a categorical one categorically (each source column once, named by the column); a
 * datetime feature profiles each part as a derived number, named by the feature when it has one
 * part, else `<name>.<part>`. Vectors are not profiled. With `label`, the label as `__label`.
 * Every definition casts its column itself (TRY_CAST: a bad value is a null), so it reads a typed
 * table and a window of logged requests alike.
 */
export function profileDefinitionsForFeatures(spec: FeatureSpec, label?: { label: LabelSpec; task: TaskKind }): ProfileDef[] {
  const defs: ProfileDef[] = [];
  const named = new Set<string>();
  const add = (def: ProfileDef): void => {
    if (named.has(def.name)) return;
    named.add(def.name);
    defs.push(def);
  };
  for (const f of spec.features) {
    const column = sourceColumn(f);
    const c = sqlIdent(column);
    switch (f.kind) {
      case 'numeric':
        add({ name: column, kind: 'numeric', sql: `TRY_CAST(${c} AS DOUBLE)` });
        break;
      case 'boolean':
        add({ name: column, kind: 'numeric', sql: `TRY_CAST(TRY_CAST(${c} AS BOOLEAN) AS DOUBLE)`, bins: 2, range: [0, 2] });
        break;
      case 'categorical':
        add({ name: column, kind: 'categorical', sql: `TRY_CAST(${c} AS VARCHAR)` });
        break;
      case 'datetime': {
        const t = `TRY_CAST(${c} AS TIMESTAMP)`;
        for (const { part } of f.parts)
          add({ name: f.parts.length === 1 ? f.name : `${f.name}.${part}`, kind: 'numeric', ...PARTS[part](t) });
        break;
      }
      case 'vector':
        break; // a list has no one-dimensional distribution to compare
    }
  }
  if (label) add(labelProfileDefinition(label.label, label.task));
  return defs;
}
