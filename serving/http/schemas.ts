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

const airport = text(1, 16);

export const instanceSchema = z.strictObject({
  date: text(1, 40),
  // z.number() refuses NaN and ±Infinity (1e999 in JSON parses to Infinity).
  distance: z.number().min(0).max(100_000),
  origin: airport,
  destination: airport,
});

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

export const feedbackBodySchema = z.strictObject({
  requestId: text(1, 128),
  /** Which instance of the request (0 for single-instance requests). */
  instance: z.number().int().min(0).max(1_000_000).default(0),
  /** The served models are binary classifiers: the true class, 0 or 1. */
  label: z.number().refine((v) => v === 0 || v === 1, 'must be 0 or 1 (the true class of a binary classifier)'),
});

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
