// The model spec: one YAML or JSON file per model that says where its data comes from and how it
// is validated, how it is trained and gated, when it retrains and who approves. Validated with
// zod, so an error names the field (`retrain.cooldown: …`). The parsed spec is plain JSON: it is
// the `modelLifecycle` workflow's input, from the SDK, the `temporal` CLI or `flywheel`.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { qualityGatesSchema } from '../evaluation/gates.ts';
import { validationSpecSchema } from '../data/validation/spec.ts';
import { DURATION_PATTERN } from './duration.ts';

/** Durations as people write them: `90s`, `15m`, `2h`, `7d`, or milliseconds as a number. */
const duration = z.union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, 'not a duration like 30s, 15m, 2h or 7d')]);

/** Five-field cron (minute hour day-of-month month day-of-week), as Temporal Schedules take it. */
const cron = z.string().regex(/^(\S+\s+){4}\S+$/, 'not a five-field cron expression like "0 6 * * 1"');

const hyperparameters = z
  .strictObject({
    hidden: z.array(z.number().int().positive()).max(8).optional(),
    dropout: z.number().min(0).max(0.9).optional(),
    l2: z.number().min(0).optional(),
    learningRate: z.number().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    epochs: z.number().int().positive().max(1000).optional(),
    patience: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    classWeight: z.enum(['balanced', 'none']).optional(),
  })
  .default({});

export const modelSpecSchema = z.strictObject({
  /** Registry model name; the lifecycle workflow is `model/<name>`. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, . _ - (at most 63)'),
  description: z.string().default(''),
  data: z.strictObject({
    /** The dataset whose data-arrival events feed this model. */
    dataset: z.string().min(1).default('flights'),
    /** Validation rules, inline (a path is resolved by `loadModelSpec`). */
    validation: validationSpecSchema,
    /** Train on the newest N partitions (months); unset: every partition that arrived. */
    windowPartitions: z.number().int().positive().optional(),
    splits: z.strictObject({ train: z.number().positive().max(1).optional(), validation: z.number().positive().max(1).optional() }).optional(),
  }),
  features: z.strictObject({ kind: z.literal('flights-v1') }).default({ kind: 'flights-v1' }),
  trainer: z
    .strictObject({
      kind: z.literal('tfjs-mlp').default('tfjs-mlp'),
      hyperparameters,
      /** `gpu: true` routes training to the GPU queue. */
      resources: z.strictObject({ gpu: z.boolean().default(false), memoryMb: z.number().int().positive().optional() }).default({ gpu: false }),
      /** Train and evaluate on at most N rows per split (quick runs, tests). */
      limitRows: z.number().int().positive().optional(),
    })
    .default({ kind: 'tfjs-mlp', hyperparameters: {}, resources: { gpu: false } }),
  gates: qualityGatesSchema.default({}),
  retrain: z
    .strictObject({
      /** Temporal Schedule: retrain on this cron (overlap: skip; catch-up window 10 minutes). */
      schedule: cron.optional(),
      onNewData: z.boolean().default(true),
      onDrift: z.boolean().default(true),
      /** Least time between the end of one automatic cycle and the start of the next. */
      cooldown: duration.default('0s'),
    })
    .default({ onNewData: true, onDrift: true, cooldown: '0s' }),
  approval: z
    .strictObject({
      mode: z.enum(['automatic', 'manual']).default('automatic'),
      /** How long a manual approval waits. */
      timeout: duration.default('24h'),
      /** What happens when nobody decides in time. */
      default: z.enum(['approve', 'reject']).default('reject'),
    })
    .default({ mode: 'automatic', timeout: '24h', default: 'reject' }),
  /** Filled in by the [rollout] issue: canary steps, holds, analysis. */
  rollout: z.record(z.string(), z.unknown()).default({}),
  /** Filled in by the [rollout] issue: drift monitor settings. */
  monitor: z.record(z.string(), z.unknown()).default({}),
});

export type ModelSpec = z.output<typeof modelSpecSchema>;
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

export class ModelSpecError extends Error {
  override readonly name = 'ModelSpecError';
}

export function parseModelSpec(value: unknown, source = 'model spec'): ModelSpec {
  const result = modelSpecSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ModelSpecError(`${source} is invalid:\n${problems.join('\n')}`);
}

/** Reads a YAML or JSON spec; `data.validation` may be a path relative to the spec file. */
export async function loadModelSpec(path: string): Promise<ModelSpec> {
  let raw: unknown;
  try {
    const text = await readFile(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ModelSpecError(`cannot read model spec ${path}: ${(err as Error).message}`);
  }
  const data = (raw as { data?: { validation?: unknown } } | null)?.data;
  if (data && typeof data.validation === 'string') {
    const validationPath = resolve(dirname(path), data.validation);
    try {
      const text = await readFile(validationPath, 'utf8');
      data.validation = validationPath.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ModelSpecError(`${path}: data.validation: cannot read ${validationPath}: ${(err as Error).message}`);
    }
  }
  return parseModelSpec(raw, path);
}
