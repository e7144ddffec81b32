// Fitted feature state: the spec plus what was learned from training data (vocabularies,
// imputation values, scaling). Plain JSON, stored as an artifact; its canonical hash names it in
// model metadata, and the output layout (dimension, feature names) follows from it alone.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseOrThrow } from '../../zod-issues.ts';
import { taskSchema } from '../../tasks/task.ts';
import { featureSpecSchema, type DatetimePart, type FeatureDef, type FeatureSpec } from './spec.ts';

export const FITTED_FEATURES_FORMAT = 'flywheel.tabular-features/v1';

const numericState = z.strictObject({
  kind: z.literal('numeric'),
  /** Raw value that replaces a missing (null or non-finite) value. */
  impute: z.number(),
  /** Output is (transformed − center) / scale; scale is never 0. */
  center: z.number(),
  scale: z.number().refine((s) => s !== 0, 'scale is never 0'),
});
const categoricalState = z.strictObject({
  kind: z.literal('categorical'),
  /** Known values in index order (absent for hashing); anything else is the unseen bucket. */
  vocabulary: z.array(z.string()).optional(),
});
const vectorState = z.strictObject({
  kind: z.literal('vector'),
  /** Per-element training means and scales (absent without standardisation). */
  center: z.array(z.number()).optional(),
  scale: z.array(z.number()).optional(),
});
const stateless = (kind: 'boolean' | 'datetime') => z.strictObject({ kind: z.literal(kind) });

export const featureStateSchema = z.discriminatedUnion('kind', [
  numericState,
  categoricalState,
  vectorState,
  stateless('boolean'),
  stateless('datetime'),
]);
export type FeatureState = z.output<typeof featureStateSchema>;
export type NumericState = z.output<typeof numericState>;
export type CategoricalState = z.output<typeof categoricalState>;
export type VectorState = z.output<typeof vectorState>;

export const fittedFeaturesSchema = z
  .strictObject({
    format: z.literal(FITTED_FEATURES_FORMAT),
    spec: featureSpecSchema,
    /** One state per feature of the spec, in spec order. */
    state: z.array(featureStateSchema),
    /** What the model trained on these features predicts, with its fitted classes (multiclass):
     * serving shapes responses and reads feedback labels by it. Part of the hash when present. */
    task: taskSchema.optional(),
    /** The label as the model spec gave it (a column or a SQL expression), for reports. */
    label: z.string().optional(),
    /** Dataset version (or table) the state was fitted on; not part of the hash. */
    fittedOn: z.string(),
    /** Training rows seen; not part of the hash. */
    rows: z.number().int().nonnegative(),
  })
  .superRefine((f, ctx) => {
    if (f.state.length !== f.spec.features.length)
      ctx.addIssue({ code: 'custom', path: ['state'], message: `${f.state.length} states for ${f.spec.features.length} features` });
    f.spec.features.forEach((def, i) => {
      const s = f.state[i];
      if (s && s.kind !== def.kind)
        ctx.addIssue({ code: 'custom', path: ['state', i], message: `feature ${def.name} is ${def.kind}, its state is ${s.kind}` });
      else if (s?.kind === 'categorical' && def.kind === 'categorical' && !def.hash && !s.vocabulary)
        ctx.addIssue({ code: 'custom', path: ['state', i], message: `feature ${def.name} needs a fitted vocabulary` });
      else if (
        s?.kind === 'vector' &&
        def.kind === 'vector' &&
        def.standardize &&
        (s.center?.length !== def.length || s.scale?.length !== def.length)
      )
        ctx.addIssue({ code: 'custom', path: ['state', i], message: `feature ${def.name} needs ${def.length} centers and scales` });
    });
  });

export type FittedFeatures = z.output<typeof fittedFeaturesSchema>;

export class FittedFeaturesError extends Error {
  override readonly name = 'FittedFeaturesError';
}

/** Checks fitted state read back from storage (JSON) before an encoder trusts it. */
export function parseFittedFeatures(value: unknown, source = 'fitted features'): FittedFeatures {
  return parseOrThrow(fittedFeaturesSchema, value, (issues) => new FittedFeaturesError(`invalid ${source}:\n${issues}`));
}

/** JSON with object keys sorted at every level, so equal values always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the canonical spec and state (not `fittedOn` or `rows`): models record it and serving
 * refuses a mismatch. */
export function fittedFeaturesHash(fitted: Pick<FittedFeatures, 'format' | 'spec' | 'state' | 'task'>): string {
  return createHash('sha256')
    .update(canonicalJson({ format: fitted.format, spec: fitted.spec, state: fitted.state, task: fitted.task }))
    .digest('hex');
}

export const PART_SIZES: Record<DatetimePart, number> = { hour: 24, dayOfWeek: 7, month: 12, dayOfMonth: 31 };
const PART_LABELS: Record<DatetimePart, (k: number) => string> = {
  hour: (k) => String(k),
  dayOfWeek: (k) => ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][k]!,
  month: (k) => ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'][k]!,
  dayOfMonth: (k) => String(k + 1),
};

/** Output names of one feature, in output order. */
export function namesOf(def: FeatureDef, state: FeatureState | undefined): string[] {
  switch (def.kind) {
    case 'numeric':
    case 'boolean':
      return [def.name];
    case 'categorical': {
      if (def.encoding === 'index') return [def.name];
      if (def.hash) return Array.from({ length: def.hash.buckets }, (_, b) => `${def.name}=<hash:${b}>`);
      const vocabulary = state?.kind === 'categorical' ? (state.vocabulary ?? []) : [];
      return [...vocabulary.map((v) => `${def.name}=${v}`), `${def.name}=<oov>`];
    }
    case 'datetime': {
      const single = def.parts.length === 1;
      return def.parts.flatMap(({ part, encoding }) => {
        const prefix = single ? def.name : `${def.name}.${part}`;
        if (encoding === 'cyclic') return [`${prefix}.sin`, `${prefix}.cos`];
        return Array.from({ length: PART_SIZES[part] }, (_, k) => `${prefix}=${PART_LABELS[part](k)}`);
      });
    }
    case 'vector':
      return Array.from({ length: def.length }, (_, k) => `${def.name}[${k}]`);
  }
}

/** Inputs one feature contributes. */
export function widthOf(def: FeatureDef, state: FeatureState | undefined): number {
  switch (def.kind) {
    case 'numeric':
    case 'boolean':
      return 1;
    case 'categorical':
      if (def.encoding === 'index') return 1;
      if (def.hash) return def.hash.buckets;
      return (state?.kind === 'categorical' ? (state.vocabulary?.length ?? 0) : 0) + 1;
    case 'datetime':
      return def.parts.reduce((n, p) => n + (p.encoding === 'cyclic' ? 2 : PART_SIZES[p.part]), 0);
    case 'vector':
      return def.length;
  }
}

/** Length of one encoded row. */
export function fittedDimension(fitted: Pick<FittedFeatures, 'spec' | 'state'>): number {
  return fitted.spec.features.reduce((n, def, i) => n + widthOf(def, fitted.state[i]), 0);
}

/** Names of the encoded row's inputs, in order (`hour=3`, `city=Paris`, `city=<oov>`). */
export function fittedFeatureNames(fitted: Pick<FittedFeatures, 'spec' | 'state'>): string[] {
  return fitted.spec.features.flatMap((def, i) => namesOf(def, fitted.state[i]));
}

export type { FeatureSpec };
