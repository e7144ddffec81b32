// What a dataset profile covers when the model has a feature spec: one profile feature per thing
// the model reads, named so drift settings can say which to watch. The training profile and the
// drift monitor's window profile are both computed from these definitions, so they compare like
// with like.
import { createHash } from 'node:crypto';
import { sqlIdent } from './duck.ts';
import { datasetPrefix } from './ingest.ts';
import type { FeatureDef as ProfileFeatureDef } from './profile.ts';
import { LABEL_COLUMN, labelSql, labelText } from './label-sql.ts';
import type { LabelSpec } from './source-spec.ts';
import type { DatetimePart, FeatureSpec } from '../features/tabular/spec.ts';
import { sourceColumn } from '../features/tabular/spec.ts';
import { canonicalJson } from '../features/tabular/state.ts';
import type { TaskKind } from '../tasks/task.ts';

/** The profile name of the label (a name no feature can have: feature names start with a letter or
 * a single `_` and the split files carry the label under the same name). */
export const LABEL_PROFILE_NAME = LABEL_COLUMN;

/** A calendar part as a number over a fixed range, so a window of traffic and the training data
 * share histogram bins. `t` is the column as a naive TIMESTAMP. */
const PARTS: Record<DatetimePart, (t: string) => Pick<ProfileFeatureDef, 'sql' | 'bins' | 'range'>> = {
  hour: (t) => ({ sql: `hour(${t})`, bins: 24, range: [0, 24] }),
  // Monday 0 … Sunday 6, as the encoder numbers days.
  dayOfWeek: (t) => ({ sql: `isodow(${t}) - 1`, bins: 7, range: [0, 7] }),
  month: (t) => ({ sql: `month(${t})`, bins: 12, range: [1, 13] }),
  dayOfMonth: (t) => ({ sql: `dayofmonth(${t})`, bins: 31, range: [1, 32] }),
};

/** The label as a profile feature: binary and regression numeric, multiclass categorical. */
export function labelProfileDefinition(label: LabelSpec, task: TaskKind): ProfileFeatureDef {
  const v = labelSql(label);
  if (task === 'multiclass') return { name: LABEL_PROFILE_NAME, kind: 'categorical', sql: `TRY_CAST(${v} AS VARCHAR)` };
  if (task === 'binary') return { name: LABEL_PROFILE_NAME, kind: 'numeric', sql: `TRY_CAST(${v} AS DOUBLE)`, bins: 2, range: [0, 2] };
  return { name: LABEL_PROFILE_NAME, kind: 'numeric', sql: `TRY_CAST(${v} AS DOUBLE)` };
}

/**
 * The profile features of a model, from its feature spec (and label). THE contract between the
 * training profile (written by `profileDataset`) and the drift monitor's window profile: both must
 * come from this function, over the same spec.
 *
 * Names — what `monitor.drift.features` lists:
 * - numeric and boolean features: the SOURCE column (`distance`, not `distance_scaled`);
 * - categorical features: the source column (`origin`);
 * - datetime features: the FEATURE name for a one-part feature (`hour`), `<feature>.<part>` for
 *   several parts (`when.hour`, `when.month`);
 * - the label (when `label` is given): `__label` (LABEL_PROFILE_NAME).
 * Two features over one source column profile it once (the first wins); vector features are not
 * profiled.
 *
 * SQL — every definition carries `sql` that reads only the spec's input columns
 * (`inputColumns(spec)`), by quoted name, and casts them itself (TRY_CAST, so a bad value is a null,
 * not a failed query): numbers `TRY_CAST(c AS DOUBLE)`, booleans `TRY_CAST(TRY_CAST(c AS BOOLEAN)
 * AS DOUBLE)`, categories `TRY_CAST(c AS VARCHAR)`, calendar parts of `TRY_CAST(c AS TIMESTAMP)`.
 * So the relation it runs over may hold the columns typed (a dataset version) or as text — e.g. a
 * prediction log's `features` JSON read with `json_extract_string(features, '$.<column>') AS
 * "<column>"` per input column, where a naive ISO timestamp such as `2001-03-04T13:45:00` casts as
 * written. The label SQL reads the label column or expression; the prediction log has no label.
 */
export function profileDefinitionsForFeatures(spec: FeatureSpec, label?: { label: LabelSpec; task: TaskKind }): ProfileFeatureDef[] {
  const defs: ProfileFeatureDef[] = [];
  const named = new Set<string>();
  const add = (def: ProfileFeatureDef) => {
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

/**
 * Where `profileDataset` stores a dataset version's profile for a model: `profile-<hash>.json`,
 * the hash over the feature spec, the label's text (a column name or an expression) and the task, so models
 * with different specs on one version keep their own profiles; `profile.json` without either
 * (inputs from before the feature language). The drift monitor finds its champion's reference with
 * the champion's fitted features: `profileKey(dataset, version, { features: fitted.spec, label:
 * fitted.label, task: fitted.task.kind })` — the fitted spec is the model spec's features as parsed, so the keys agree.
 */
export function profileKey(
  dataset: string,
  datasetVersion: string,
  model: { features?: FeatureSpec; label?: LabelSpec; task?: TaskKind } = {},
): string {
  const prefix = `${datasetPrefix(dataset, datasetVersion)}/profile`;
  if (!model.features && model.label === undefined) return `${prefix}.json`;
  const label = model.label === undefined ? null : labelText(model.label);
  const hash = createHash('sha256')
    // The task too: the label's profile (`__label`) is read by it, so a multiclass and a regression
    // model on one integer label must not share a file.
    .update(canonicalJson({ features: model.features ?? null, label, task: model.task ?? null }))
    .digest('hex')
    .slice(0, 16);
  return `${prefix}-${hash}.json`;
}
