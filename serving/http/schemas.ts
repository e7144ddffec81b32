// Request bodies, validated with zod so an error names the exact field and what was wrong.
// Objects are strict: an unknown field is an error, not silently ignored.
import { z } from 'zod';
import { assertPartitionName, InvalidPartitionError } from '../../lib/data/partition-names.ts';
import { storableTextProblem } from '../../lib/text/storable.ts';
import { ServingError } from '../errors.ts';

/**
 * A string field: bounded, and storable as it is. A NUL or a lone surrogate would be answered
 * and then refused by the database when the prediction is logged, so it is refused here, at the
 * door, with the field named.
 */
export function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      const problem = storableTextProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** Bounds on one instance before any model looks at it: the body limit caps the bytes, these
 * cap the work (fields to check, elements to copy) and keep every string storable in the log. */
export const INSTANCE_LIMITS = {
  /** Fields per instance. */
  maxFields: 512,
  /** Characters in a field name. */
  maxFieldName: 128,
  /** Characters in a string value. */
  maxString: 4096,
  /** Elements in an array value (a vector feature); arrays hold numbers or nulls, never objects. */
  maxArray: 65_536,
} as const;

/** Why a field's value is refused before any model sees it, or null. No objects and no nested
 * arrays: no input kind takes them, so nesting is bounded to one level. */
function fieldValueProblem(value: unknown): string | null {
  switch (typeof value) {
    case 'boolean':
      return null;
    case 'number':
      // JSON's 1e999 parses to Infinity; no model input is infinite.
      return Number.isFinite(value) ? null : 'must be a finite number';
    case 'string':
      if (value.length > INSTANCE_LIMITS.maxString) return `is longer than ${INSTANCE_LIMITS.maxString} characters`;
      return storableTextProblem(value) ?? null;
    case 'object': {
      if (value === null) return null;
      if (!Array.isArray(value)) return 'must be a string, a number, a boolean, null or an array of numbers, not an object';
      if (value.length > INSTANCE_LIMITS.maxArray) return `has more than ${INSTANCE_LIMITS.maxArray} elements`;
      for (const e of value)
        if (e !== null && !(typeof e === 'number' && Number.isFinite(e))) return 'must hold only finite numbers or nulls';
      return null;
    }
    default:
      return 'is not a JSON value';
  }
}

/**
 * A request instance, checked the same way for every model: a JSON object of bounded size whose
 * names and values are storable as they are (the log writes the instance as sent, so a NUL or a
 * lone surrogate would poison it). Which fields it must have and what each must hold is the
 * served model's business: serving/instances.ts checks that once the route has chosen a version.
 */
export const instanceSchema = z.record(z.string(), z.unknown()).superRefine((instance, ctx) => {
  const names = Object.keys(instance);
  if (names.length > INSTANCE_LIMITS.maxFields) {
    ctx.addIssue({ code: 'custom', message: `has ${names.length} fields, at most ${INSTANCE_LIMITS.maxFields} are accepted` });
    return;
  }
  for (const name of names) {
    const nameProblem =
      name.length === 0
        ? 'a field name is not empty'
        : name.length > INSTANCE_LIMITS.maxFieldName
          ? `a field name is at most ${INSTANCE_LIMITS.maxFieldName} characters`
          : (storableTextProblem(name) ?? null);
    if (nameProblem) {
      // The name itself is not echoed: it is what was refused.
      ctx.addIssue({ code: 'custom', message: `field name: ${nameProblem}` });
      continue;
    }
    const problem = fieldValueProblem(instance[name]);
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
  }
});

export type RequestInstance = z.output<typeof instanceSchema>;

/** The body's `routingKey` and its twin, the `X-Routing-Key` header: same bounds, same checks. */
export const routingKeySchema = text(1, 256);
const routingKey = routingKeySchema;

export function predictBodySchema(maxInstances: number) {
  return z.strictObject({
    instances: z.array(instanceSchema).min(1).max(maxInstances),
    routingKey: routingKey.optional(),
  });
}

export function jobBodySchema(maxInstances: number) {
  return z.strictObject({
    instances: z.array(instanceSchema).min(1).max(maxInstances),
    routingKey: routingKey.optional(),
    webhookUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  });
}

/** A model name as it appears in a route (`/v1/models/:name/…`). */
export const modelNameSchema = text(1, 200);

export const feedbackBodySchema = z.strictObject({
  requestId: text(1, 128),
  /** Which instance of the request (0 for single-instance requests). */
  instance: z.number().int().min(0).max(1_000_000).default(0),
  /**
   * The true outcome: a number (binary 0/1, or a regression value) or a class name (multiclass).
   * Without `model` any of these is stored; with it the label is checked against that model's task.
   */
  label: z.union([z.number(), text(1, 256)]),
  /** The model that served the prediction: when given, the label must suit its task. */
  model: modelNameSchema.optional(),
});

export type FeedbackBody = z.output<typeof feedbackBodySchema>;

/** Model versions are PostgreSQL integers (at most 2^31 − 1). */
const version = z.number().int().positive().max(2_147_483_647);

export const routingBodySchema = z.strictObject({
  canary: z
    .strictObject({ version, weight: z.number().min(0).max(1) })
    .nullable()
    .optional(),
  shadow: z.strictObject({ version }).nullable().optional(),
});

/** Parses `value` or throws a 400 naming every problem (`instances[2].distance: …`). */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  if (value === undefined || value === null) throw new ServingError('badRequest', 'the request needs a JSON body');
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : '';
  throw new ServingError('badRequest', `invalid request body: ${problems.join('; ')}${more}`);
}

/** A header's value checked like its body twin, or a 400 naming the header. */
export function parseHeader<T>(schema: z.ZodType<T>, name: string, value: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ServingError('badRequest', `invalid ${name} header: ${result.error.issues.map((i) => i.message).join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

export const dataArrivedBodySchema = z.strictObject({
  /** Stable id of the event; unset: derived from dataset, partition and URIs (a repeat is one event). */
  eventId: text(1, 256).optional(),
  dataset: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** Any name `flywheel data arrive` accepts: one safe path segment (a month, a day, a value). */
  partition: text(1, 256).superRefine((value, ctx) => {
    try {
      assertPartitionName('value', value);
    } catch (err) {
      if (!(err instanceof InvalidPartitionError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  }),
  uris: z
    .array(
      z
        .string()
        .regex(/^(file|s3):\/\/\S+$/, 'not a file:// or s3:// URI')
        .max(2048),
    )
    .min(1)
    .max(1000),
  /** false: record the partition for the next cycle without starting one. */
  retrain: z.boolean().optional(),
});
