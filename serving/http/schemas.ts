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
export const instanceSchema = z
  .record(z.string(), z.unknown())
  .superRefine((instance, ctx) => {
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
  })
  // The checks above are code, which JSON Schema cannot carry: the document states them here.
  .meta({
    id: 'Instance',
    description:
      "The served model's input columns by name: every column its fitted features read (null for a missing value), and no other field. Which columns, and what each holds, differ by model: GET /v1/models/{name}/schema lists them with an example instance, and GET /v1/models/{name}/openapi.json is this document with this schema written out for that model. Values are null, booleans, finite numbers, strings (at most 4096 characters, no NUL or unpaired surrogate; timestamps are naive, like 2001-03-04T13:45:00) or flat arrays of numbers (vector features); a category outside the fitted vocabulary is encoded as unseen.",
    maxProperties: INSTANCE_LIMITS.maxFields,
    propertyNames: { minLength: 1, maxLength: INSTANCE_LIMITS.maxFieldName },
    additionalProperties: {
      type: ['string', 'number', 'boolean', 'null', 'array'],
      maxLength: INSTANCE_LIMITS.maxString,
      maxItems: INSTANCE_LIMITS.maxArray,
      items: { type: ['number', 'null'] },
    },
  });

export type RequestInstance = z.output<typeof instanceSchema>;

/** The body's `routingKey` and its twin, the `X-Routing-Key` header: same bounds, same checks. */
export const routingKeySchema = text(1, 256);
const routingKey = routingKeySchema.meta({
  description: 'Sticky canary routing key: the same key is always served by the same version (or header X-Routing-Key)',
});

/** An entity key: what a batch job keyed its predictions and features by (as text). */
export const entityKeySchema = text(1, 256).meta({ description: 'Entity key (the batch job key column value, as text)' });

/** The predict body as the document states it; the route holds it to the server's instance
 * bound too (`predictBodySchema`), which is configuration, not schema. */
export const predictRequestSchema = z
  .strictObject({
    instances: z.array(instanceSchema).min(1).meta({ description: 'At most FLYWHEEL_SERVE_MAX_INSTANCES' }),
    routingKey: routingKey.optional(),
    // The lambda read path (docs/batch-layer.md); without these a predict is what it always was.
    layer: z.enum(['auto', 'batch', 'realtime']).optional().meta({
      description:
        'Which layer answers: realtime (default: score now), batch (only fresh published batch predictions, by keys), auto (batch where fresh, realtime otherwise)',
    }),
    keys: z
      .array(entityKeySchema)
      .optional()
      .meta({ description: 'One entity key per instance (same order); needed by layer batch/auto and by join' }),
    join: z.boolean().optional().meta({
      description: "Merge each realtime instance with its key's row of the batch feature table first; the request's own values win",
    }),
  })
  .meta({ id: 'PredictRequest' });

export const jobRequestSchema = z
  .strictObject({
    instances: z.array(instanceSchema).min(1).meta({ description: 'At most 10 × FLYWHEEL_SERVE_MAX_INSTANCES' }),
    routingKey: routingKey.optional(),
    webhookUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .meta({
        description:
          'POSTed {jobId, status, result} on completion, signed (X-Flywheel-Signature: v1=HMAC-SHA256 of "<X-Flywheel-Timestamp>.<body>"); must be a public http(s) address unless the server allow-lists it',
      }),
  })
  .meta({ id: 'JobRequest' });

/** A body's `instances` at most `max` long, worded as zod words an array's own bound. */
function atMostInstances<T extends { instances: unknown[] }>(max: number) {
  return (body: T, ctx: z.RefinementCtx) => {
    if (body.instances.length > max)
      ctx.addIssue({
        code: 'too_big',
        origin: 'array',
        maximum: max,
        inclusive: true,
        path: ['instances'],
        message: `Too big: expected array to have <=${max} items`,
      });
  };
}

export function predictBodySchema(maxInstances: number) {
  return predictRequestSchema.superRefine(atMostInstances(maxInstances));
}

/**
 * The usual predict body, `{instances, routingKey?}`, checked by hand with the same rules as
 * predictBodySchema (instance bounds, storable names and values, the routing key's bounds):
 * zod's generic walk was a visible share of a no-op predict's cost. Anything else, valid or not
 * (other fields, a bound crossed, a bad value), gives undefined, and predictBodySchema decides and
 * words the error, so answers are the same as before.
 */
export function commonPredictBody(value: unknown, maxInstances: number): z.output<typeof predictRequestSchema> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  let instances: unknown;
  let routingKey: unknown;
  for (const key of Object.keys(value)) {
    if (key === 'instances') instances = (value as Record<string, unknown>).instances;
    else if (key === 'routingKey') routingKey = (value as Record<string, unknown>).routingKey;
    else return undefined;
  }
  if (!Array.isArray(instances) || instances.length < 1 || instances.length > maxInstances) return undefined;
  for (const instance of instances as unknown[]) {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) return undefined;
    const names = Object.keys(instance);
    if (names.length > INSTANCE_LIMITS.maxFields) return undefined;
    for (const name of names) {
      if (name.length === 0 || name.length > INSTANCE_LIMITS.maxFieldName || storableTextProblem(name)) return undefined;
      if (fieldValueProblem((instance as Record<string, unknown>)[name]) !== null) return undefined;
    }
  }
  if (routingKey === undefined) return { instances: instances as RequestInstance[] };
  if (typeof routingKey !== 'string' || routingKey.length < 1 || routingKey.length > 256 || storableTextProblem(routingKey))
    return undefined;
  return { instances: instances as RequestInstance[], routingKey };
}

export function jobBodySchema(maxInstances: number) {
  return jobRequestSchema.superRefine(atMostInstances(maxInstances));
}

/** A model name as it appears in a route (`/v1/models/:name/…`). */
export const modelNameSchema = text(1, 200).meta({ description: 'Registered model name' });

/** The path parameters of every `/v1/models/:name/…` and `/v1/admin/models/:name/…` route. */
export const modelParamsSchema = z.strictObject({ name: modelNameSchema });

/** `GET /v1/models/:name/batch/:key`. */
export const batchKeyParamsSchema = z.strictObject({ name: modelNameSchema, key: entityKeySchema });

export const feedbackBodySchema = z
  .strictObject({
    requestId: text(1, 128).meta({
      description: 'The requestId a prediction answered with (a namespaced <keyId>:<id> only from that key)',
    }),
    /** Which instance of the request (0 for single-instance requests). */
    instance: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .meta({ description: 'Which instance of the request (0 for single-instance requests)' }),
    /**
     * The true outcome: a number (binary 0/1, or a regression value) or a class name (multiclass).
     * Without `model` any of these is stored; with it the label is checked against that model's task.
     */
    label: z.union([z.number(), text(1, 256)]).meta({
      description: 'The true outcome: binary 0 or 1, a regression value, or a multiclass class name (stored as label_class)',
    }),
    /** The model that served the prediction: when given, the label must suit its task. */
    model: modelNameSchema.optional().meta({
      description:
        'The model that served the prediction: the label is then checked against its task (binary 0/1, one of its classes, a finite number)',
    }),
  })
  .meta({ id: 'Feedback' });

export type FeedbackBody = z.output<typeof feedbackBodySchema>;

/** Model versions are PostgreSQL integers (at most 2^31 − 1). */
const version = z.number().int().positive().max(2_147_483_647);

export const routingBodySchema = z
  .strictObject({
    canary: z
      .strictObject({ version, weight: z.number().min(0).max(1).meta({ description: 'Share of traffic the canary serves' }) })
      .nullable()
      .optional(),
    shadow: z.strictObject({ version }).nullable().optional().meta({ description: 'A version that sees a copy of traffic, unanswered' }),
  })
  .meta({ id: 'RoutingChange', description: 'Omitted fields keep their value; null clears.' });

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

export const dataArrivedBodySchema = z
  .strictObject({
    /** Stable id of the event; unset: derived from dataset, partition and URIs (a repeat is one event). */
    eventId: text(1, 256)
      .optional()
      .meta({ description: 'Stable id; unset: derived from dataset, partition and URIs (a repeat is one event)' }),
    dataset: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .meta({ examples: ['sales'] }),
    /** Any name `flywheel data arrive` accepts: one safe path segment (a month, a day, a value). */
    partition: text(1, 256)
      .superRefine((value, ctx) => {
        try {
          assertPartitionName('value', value);
        } catch (err) {
          if (!(err instanceof InvalidPartitionError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
        }
      })
      .meta({ examples: ['2001-03'], description: 'One safe path segment: a month, a day, a value' }),
    uris: z
      .array(
        z
          .string()
          .regex(/^(file|s3):\/\/\S+$/, 'not a file:// or s3:// URI')
          .max(2048)
          .meta({ description: 'file:// or s3:// URI' }),
      )
      .min(1)
      .max(1000),
    /** false: record the partition for the next cycle without starting one. */
    retrain: z
      .boolean()
      .optional()
      .meta({ description: 'false: record the partition for the next cycle without starting one (unset: true)' }),
  })
  .meta({ id: 'DataArrived' });
