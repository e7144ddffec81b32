// The declarative tabular feature spec: which columns become which model inputs, written in YAML
// or JSON and validated with zod so an error names the feature (`features.2 (fare).clip: …`).
// docs/features.md is the reference for every knob; fit.ts fits it, encode.ts applies it.
import { z } from 'zod';
import { parseOrThrow } from '../../zod-issues.ts';
import { firstLine, readSpecFile } from '../../spec-file.ts';

const featureName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'a name starts with a letter or _ and has letters, digits, _ . - (at most 128)');

const common = {
  /** Output name; the prefix of every output feature name (`city=Paris`). */
  name: featureName,
  /** Source column; defaults to the name. */
  column: z.string().min(1).optional(),
};

/** Numeric: impute → clip (raw units) → log1p → scale. */
const numericFeature = z.strictObject({
  ...common,
  kind: z.literal('numeric'),
  /** Value for null, NaN or ±Infinity: the training mean or median, or a constant (raw units). */
  impute: z.union([z.enum(['mean', 'median']), z.strictObject({ constant: z.number() })]).default('mean'),
  /** Clip raw values into [lo, hi] before log1p and scaling (fitted statistics see clipped values). */
  clip: z
    .tuple([z.number(), z.number()])
    .refine(([lo, hi]) => lo < hi, 'clip is [lo, hi] with lo < hi')
    .optional(),
  /** ln(1 + x) after clipping, before scaling. */
  log1p: z.boolean().default(false),
  scale: z.enum(['standard', 'robust', 'minmax', 'none']).default('standard'),
});

const vocabulary = z.strictObject({
  /** Values seen fewer times in training go to the unseen bucket. */
  minCount: z.number().int().positive().default(1),
  /** Largest vocabulary; the most frequent values are kept (ties by value). */
  maxSize: z.number().int().positive().max(1_000_000).default(1000),
});

const categoricalFeature = z
  .strictObject({
    ...common,
    kind: z.literal('categorical'),
    /** A vocabulary fitted on training data, with one unseen (OOV) bucket. The default. */
    vocabulary: vocabulary.optional(),
    /** Instead of a vocabulary: FNV-1a of the value modulo `buckets` (nothing to fit). */
    hash: z.strictObject({ buckets: z.number().int().min(2).max(1_000_000) }).optional(),
    /** one-hot: one input per category; index: one input holding the category's index. */
    encoding: z.enum(['one-hot', 'index']).default('one-hot'),
  })
  .refine((f) => !(f.vocabulary && f.hash), 'a categorical feature has a vocabulary or hash buckets, not both')
  .transform((f) => (f.hash ? f : { ...f, vocabulary: f.vocabulary ?? vocabulary.parse({}) }));

const booleanFeature = z.strictObject({
  ...common,
  kind: z.literal('boolean'),
  /** Value for null. */
  impute: z.boolean().default(false),
});

export const DATETIME_PARTS = ['hour', 'dayOfWeek', 'month', 'dayOfMonth'] as const;
export type DatetimePart = (typeof DATETIME_PARTS)[number];
const partEncoding = z.enum(['one-hot', 'cyclic']);

const datetimeFeature = z
  .strictObject({
    ...common,
    kind: z.literal('datetime'),
    /** Parts of the naive timestamp, in output order: a name, or `{part, encoding}`. */
    parts: z
      .array(z.union([z.enum(DATETIME_PARTS), z.strictObject({ part: z.enum(DATETIME_PARTS), encoding: partEncoding.optional() })]))
      .min(1),
    /** Encoding of parts that do not name their own. */
    encoding: partEncoding.default('one-hot'),
  })
  .transform(({ parts, encoding, ...rest }) => ({
    ...rest,
    parts: parts.map((p) => (typeof p === 'string' ? { part: p, encoding } : { part: p.part, encoding: p.encoding ?? encoding })),
  }))
  .refine((f) => new Set(f.parts.map((p) => p.part)).size === f.parts.length, 'each datetime part appears once');

const vectorFeature = z.strictObject({
  ...common,
  kind: z.literal('vector'),
  /** Elements per row; a row of another length is an error. */
  length: z.number().int().positive().max(65_536),
  /** Standardise each element with its training mean and standard deviation. */
  standardize: z.boolean().default(false),
});

const feature = z.discriminatedUnion('kind', [numericFeature, categoricalFeature, booleanFeature, datetimeFeature, vectorFeature]);

export const featureSpecSchema = z
  .strictObject({ features: z.array(feature).min(1, 'a feature spec has at least one feature') })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    const columns = new Map<string, string>();
    spec.features.forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature name ${f.name}` });
      names.add(f.name);
      const column = f.column ?? f.name;
      const input = inputKind(f);
      const seen = columns.get(column);
      if (seen !== undefined && seen !== input)
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'column'],
          message: `column ${column} is read as ${seen} by another feature and as ${input} here`,
        });
      columns.set(column, input);
    });
  });

export type FeatureSpec = z.output<typeof featureSpecSchema>;
export type FeatureSpecInput = z.input<typeof featureSpecSchema>;
export type FeatureDef = FeatureSpec['features'][number];
export type NumericFeature = Extract<FeatureDef, { kind: 'numeric' }>;
export type CategoricalFeature = Extract<FeatureDef, { kind: 'categorical' }>;
export type BooleanFeature = Extract<FeatureDef, { kind: 'boolean' }>;
export type DatetimeFeature = Extract<FeatureDef, { kind: 'datetime' }>;
export type VectorFeature = Extract<FeatureDef, { kind: 'vector' }>;

/** What a source column must hold for a feature: the type its input column has. */
export type InputKind = 'number' | 'string' | 'boolean' | 'timestamp' | `vector[${number}]`;

export function inputKind(f: Pick<FeatureDef, 'kind'> & { length?: number }): InputKind {
  switch (f.kind) {
    case 'numeric':
      return 'number';
    case 'categorical':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'datetime':
      return 'timestamp';
    case 'vector':
      return `vector[${f.length ?? 0}]`;
  }
}

export function sourceColumn(f: FeatureDef): string {
  return f.column ?? f.name;
}

export class FeatureSpecError extends Error {
  override readonly name = 'FeatureSpecError';
}

/** Rewrites `features.<i>` in an issue path to `features.<i> (<name>)`, so errors name the feature. */
function nameFeatures(value: unknown, path: readonly PropertyKey[]): PropertyKey[] {
  const out = [...path];
  if (out[0] === 'features' && typeof out[1] === 'number') {
    const raw = (value as { features?: unknown[] } | null)?.features?.[out[1]] as { name?: unknown } | undefined;
    if (typeof raw?.name === 'string') out[1] = `${out[1]} (${raw.name})`;
  }
  return out;
}

/** Parses a feature spec, naming the feature and field of every problem. */
export function parseFeatureSpec(value: unknown, source = 'feature spec'): FeatureSpec {
  return parseOrThrow(
    featureSpecSchema,
    value,
    (issues) => new FeatureSpecError(`invalid ${source}:\n${issues}`),
    (i) => ({ path: nameFeatures(value, i.path), message: i.message }),
  );
}

export async function loadFeatureSpec(path: string): Promise<FeatureSpec> {
  const value = await readSpecFile(path).catch((err: unknown) => {
    throw new FeatureSpecError(`cannot read feature spec ${path}: ${firstLine(err)}`);
  });
  return parseFeatureSpec(value, path);
}
