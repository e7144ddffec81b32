// The model spec: one YAML or JSON file per model that says where its data comes from and how it
// is validated, how it is trained and gated, when it retrains and who approves. Validated with
// zod, so an error names the field (`retrain.cooldown: …`). The parsed spec is plain JSON: it is
// the `modelLifecycle` workflow's input, from the SDK, the `temporal` CLI or `flywheel`.
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { qualityGatesSchemaFor, type TaskQualityGates } from '../evaluation/gates.ts';
import { featureSpecSchema } from '../features/tabular/spec.ts';
import { TASK_KINDS } from '../tasks/task.ts';
import { tableSourceSchema, tableColumnsShape } from '../data/source-spec.ts';
import { validationSpecSchema } from '../data/validation/spec.ts';
import { parseOrThrow } from '../zod-issues.ts';
import { firstLine, readSpecFile } from '../spec-file.ts';
import { DURATION_PATTERN } from './duration.ts';
import { monitorSpecSchema } from './monitor-spec.ts';

export { monitorSpecSchema };

/** Durations as people write them: `90s`, `15m`, `2h`, `7d`, or milliseconds as a number. */
const duration = z.union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, 'not a duration like 30s, 15m, 2h or 7d')]);

/** `@every <n><s|m|h|d>`: a retrain Schedule on a fixed interval (Temporal's own spelling). */
export const SCHEDULE_EVERY_PATTERN = /^@every\s+([1-9]\d*(?:s|m|h|d))$/;

/** When the retrain Schedule fires: a five-field cron (minute hour day-of-month month
 * day-of-week, UTC) as Temporal Schedules take it, or a fixed interval (`@every 6h`; seconds are
 * for tests and demos). */
const schedule = z
  .string()
  .refine(
    (s) => /^(\S+\s+){4}\S+$/.test(s) || SCHEDULE_EVERY_PATTERN.test(s),
    'not a five-field cron expression like "0 6 * * 1" or an interval like "@every 6h"',
  );

/** Smaller models from the trained MLP (lib/training/tfjs/compress.ts): distil a student, prune,
 * or both (distil, then prune the student). Binary and multiclass models. */
const compression = z
  .strictObject({
    prune: z
      .strictObject({
        /** Fraction of kernel weights zeroed (`magnitude`) or of each hidden layer's units removed (`neuron`). */
        sparsity: z.number().gt(0, 'sparsity is a fraction in (0, 1)').lt(1, 'sparsity is a fraction in (0, 1)'),
        /** `magnitude`: smallest |w| zeroed, mask held while fine-tuning; `neuron`: the units with the
         * smallest incoming L2 norm removed (a smaller dense net). */
        method: z.enum(['magnitude', 'neuron']).default('magnitude'),
        fineTuneEpochs: z.number().int().nonnegative().max(100).default(1),
      })
      .optional(),
    distill: z
      .strictObject({
        /** The student's hidden layer widths. */
        hidden: z.array(z.number().int().positive()).max(8),
        temperature: z.number().positive().max(100).default(2),
        /** Weight of the hard labels; 1 − alpha goes to the teacher's soft labels. */
        alpha: z.number().min(0).max(1).default(0.5),
        /** Student epochs; unset: the teacher's. */
        epochs: z.number().int().positive().max(1000).optional(),
      })
      .optional(),
    /** The compressed model's validation ROC AUC (binary) or accuracy (multiclass) may be at most this
     * far below the teacher's; otherwise the run exports the uncompressed teacher. */
    maxMetricDrop: z.number().min(0).max(1).default(0.01),
  })
  .refine((c) => c.prune !== undefined || c.distill !== undefined, 'compression needs prune, distill or both');

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
    compression: compression.optional(),
  })
  .refine((h) => !(h.compression?.prune?.method === 'neuron' && h.hidden?.length === 0 && !h.compression.distill), {
    message: 'neuron pruning removes hidden units; this model has no hidden layers (hidden: [])',
    path: ['compression', 'prune', 'method'],
  })
  .refine((h) => !(h.compression?.prune?.method === 'neuron' && h.compression.distill?.hidden.length === 0), {
    message: 'neuron pruning removes hidden units; the student has no hidden layers (distill.hidden: [])',
    path: ['compression', 'prune', 'method'],
  })
  .default({});

/** Hyperparameters of the built-in TF.js MLP trainer (every field optional; see README). */
export type MlpHyperparameters = z.output<typeof hyperparameters>;

/** What a training job needs; `gpu: true` routes it to the GPU queue. */
const resources = z
  .strictObject({ gpu: z.boolean().default(false), memoryMb: z.number().int().positive().optional() })
  .default({ gpu: false });

/** Spot preemptions: the run resumes from its last checkpoint; after `switchAfter` preemptions it
 * moves to `onDemandQueue` (a queue whose workers are not preempted), when one is named. */
const preemption = z.strictObject({
  /** Preemptions tolerated before the run fails. */
  maxPreemptions: z.number().int().nonnegative().default(5),
  /** After this many preemptions, move to `onDemandQueue`. */
  switchAfter: z.number().int().positive().default(2),
  /** An on-demand task queue (workers started with FLYWHEEL_WORKER_TASK_QUEUE, say) to finish on. */
  onDemandQueue: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, . _ - (at most 128)')
    .optional(),
});

/** Environment variable names: what a POSIX shell accepts. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

/** The built-in TF.js MLP (the default): any feature spec and task. */
const tfjsTrainer = z.strictObject({
  kind: z.literal('tfjs-mlp'),
  hyperparameters,
  resources,
  preemption: preemption.optional(),
  /** Train and evaluate on at most N rows per split (quick runs, tests). */
  limitRows: z.number().int().positive().optional(),
});

/** Your own training program under the command-trainer protocol (docs/command-trainer.md): it
 * reads the encoded splits, checkpoints, and writes `model.onnx`. */
const commandTrainer = z.strictObject({
  kind: z.literal('command'),
  /** argv; no shell. `python3` is found on the worker's FLYWHEEL_TRAINER_PATH first. */
  command: z.array(z.string().min(1).max(4096)).min(1).max(64),
  /** Working directory of the command: absolute, or relative to the spec file (`loadModelSpec`
   * resolves it). Unset: the spec file's folder, or the worker's directory for a spec given as JSON. */
  workingDir: z.string().min(1).max(4096).optional(),
  /** Passed to the command as JSON in FLYWHEEL_HYPERPARAMETERS. */
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
  /** The command's environment is an allow-list: a few basics (PATH, HOME, LANG, TZ, TMPDIR…),
   * the worker variables named in `pass`, the values in `set`, and the protocol's FLYWHEEL_*. */
  env: z
    .strictObject({
      pass: z.array(envName).max(64).default([]),
      set: z.record(envName, z.string().max(4096)).default({}),
    })
    .default({ pass: [], set: {} }),
  resources,
  preemption: preemption.optional(),
  /** How long the command may take to exit after SIGTERM before it is killed. */
  killGrace: duration.default('10s'),
  limitRows: z.number().int().positive().optional(),
});

/** A model trained elsewhere: the ONNX file is registered as this cycle's candidate after its
 * input and output are checked against the fitted features (docs/trainers.md). */
const onnxTrainer = z.strictObject({
  kind: z.literal('onnx'),
  /** `s3://…`, `file://…`, or a path relative to the spec file. */
  model: z.string().min(1).max(4096),
  resources,
  limitRows: z.number().int().positive().optional(),
});

const TRAINER_DEFAULT = { kind: 'tfjs-mlp', hyperparameters: {}, resources: { gpu: false } } as const;

/** How the model is trained: `tfjs-mlp` (default; a spec without `kind` means it), `command` or `onnx`. */
export const trainerSpecSchema = z
  .preprocess(
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'tfjs-mlp' } : v),
    z.discriminatedUnion('kind', [tfjsTrainer, commandTrainer, onnxTrainer]),
  )
  .default(TRAINER_DEFAULT);

export type TrainerSpec = z.output<typeof trainerSpecSchema>;

/** One rollout step. `shadow`: the challenger sees a copy of live traffic and answers nobody;
 * otherwise it answers `weight` percent of routing keys (sticky). */
const rolloutStep = z
  .strictObject({
    shadow: z.boolean().default(false),
    weight: z.number().min(0).max(100).default(0),
    /** Least time at this step before it can pass (a durable timer). */
    hold: duration.default('2m'),
  })
  .refine((s) => s.shadow || s.weight > 0, { message: 'a step is a shadow step or sends weight > 0 percent to the challenger' });

/** How a rollout step is judged: challenger vs champion over the step's own window. */
const rolloutAnalysis = z.strictObject({
  /** How often the metrics are read during a hold (a clear failure rolls back before the hold ends). */
  interval: duration.default('15s'),
  /** Challenger predictions needed before a step can pass (the sample-size guard). */
  minSamples: z.number().int().nonnegative().default(200),
  /** How long a hold may be extended while waiting for minSamples; then the rollout rolls back. */
  maxExtension: duration.default('5m'),
  /** Challenger error rate may exceed the champion's by at most this (absolute). */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  /** Challenger p99 latency may be at most this many times the champion's… */
  maxP99Ratio: z.number().positive().default(3),
  /** …unless it stays under this many milliseconds anyway. */
  p99FloorMs: z.number().nonnegative().default(50),
  /** PSI between challenger and champion score distributions on the same traffic: a guard
   * against a broken challenger (a retrained model legitimately moves its scores somewhat;
   * whether it is better is the online AUC's question). */
  maxPredictionShift: z.number().positive().default(1),
  /** Labelled predictions (feedback) per arm needed before online AUC is compared. */
  minLabels: z.number().int().nonnegative().default(100),
  /** Challenger online AUC may be at most this much below the champion's (binary; multiclass
   * accuracy too, unless `maxAccuracyDrop` is set). */
  maxAucDrop: z.number().min(0).max(1).default(0.03),
  /** Multiclass: challenger online accuracy may be at most this much below the champion's. */
  maxAccuracyDrop: z.number().min(0).max(1).optional(),
  /** Regression: challenger online RMSE may be at most (1 + this) × the champion's (default 0.1). */
  maxRmseIncrease: z.number().min(0).optional(),
});

export const modelSpecSchema = z
  .strictObject({
    /** Registry model name; the lifecycle workflow is `model/<name>`. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, . _ - (at most 63)'),
    description: z.string().default(''),
    /** What the model predicts: `binary` (0/1), `multiclass` (classes fitted from the label column)
     * or `regression` (a number). Sets the output head, metrics, gates and the response shape. */
    task: z.enum(TASK_KINDS).default('binary'),
    data: z.strictObject({
      /** The dataset whose data-arrival events feed this model. */
      dataset: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)'),
      /** The label (a column, or `{ expression }` in SQL over the row), the time column (time
       * splits, day/week/month partitions) and the partitioning (docs/data-sources.md). */
      ...tableColumnsShape,
      /** Where `flywheel data arrive <partition>` cuts partitions from: files or a PostgreSQL query
       * (docs/data-sources.md). Unset: partitions arrive as URIs (the events endpoint). */
      source: tableSourceSchema.optional(),
      /** Validation rules, inline (a path is resolved by `loadModelSpec`). */
      validation: validationSpecSchema,
      /** Train on the newest N partitions; unset: every partition that arrived. */
      windowPartitions: z.number().int().positive().optional(),
      /** Also train on labelled recent traffic: the prediction log joined with its feedback labels
       * over `window`, newest `maxRows` rows, as one more partition. Off unless enabled. */
      traffic: z
        .strictObject({
          enabled: z.boolean().default(false),
          window: duration.default('7d'),
          maxRows: z.number().int().positive().default(100_000),
        })
        .optional(),
      splits: z
        .strictObject({ train: z.number().positive().max(1).optional(), validation: z.number().positive().max(1).optional() })
        .optional(),
    }),
    /** The feature spec (docs/features.md), inline or a path relative to the spec file. */
    features: featureSpecSchema,
    trainer: trainerSpecSchema,
    /** Quality gates for the model's task (docs/tasks.md); checked after `task` is known. */
    gates: z.record(z.string(), z.unknown()).default({}),
    retrain: z
      .strictObject({
        /** Temporal Schedule: retrain on this cron or `@every` interval (overlap: skip; catch-up window 10 minutes). */
        schedule: schedule.optional(),
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
    /** Progressive delivery between approval and promotion; no steps: promote at once. */
    rollout: z
      .strictObject({
        steps: z.array(rolloutStep).max(10).default([]),
        analysis: rolloutAnalysis.default(rolloutAnalysis.parse({})),
      })
      .default({ steps: [], analysis: rolloutAnalysis.parse({}) }),
    /** The drift monitor (`monitor/<name>`), started when the model first gets a champion. */
    monitor: monitorSpecSchema.default(monitorSpecSchema.parse({})),
    /** Other builds of each version. The built-in trainer exports an int8 (static QDQ) model beside
     * the fp32 one; it is scored on the test split and registered as the version's `int8` variant. */
    variants: z
      .strictObject({
        int8: z
          .strictObject({
            /** The int8 model's main test metric (binary ROC AUC, multiclass accuracy) may be at most
             * this far below fp32's; regression: its RMSE at most (1 + this) × fp32's. */
            maxMetricDrop: z.number().min(0).max(1).default(0.01),
            /** Serve the int8 variant (when it passed its gate) instead of fp32, from the next version on. */
            serve: z.boolean().default(false),
          })
          .default({ maxMetricDrop: 0.01, serve: false }),
      })
      .default({ int8: { maxMetricDrop: 0.01, serve: false } }),
  })
  .transform((spec, ctx) => {
    const p = spec.data.partition;
    if (p && 'by' in p && p.column === undefined && spec.data.time === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'partition', 'column'],
        message: `partition by ${p.by} needs a time column: set data.partition.column or data.time`,
      });
    // Feedback carries the label's value, so traffic rows can only fill a label column: an
    // expression over the row (e.g. `delay > 15`) has nothing to compute from.
    if (spec.data.traffic?.enabled && (spec.data.label === undefined || typeof spec.data.label !== 'string'))
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'traffic', 'enabled'],
        message:
          'training on labelled traffic needs data.label to be a column (feedback gives its value); an expression label cannot be computed from traffic',
      });
    if (spec.variants.int8.serve && spec.trainer.kind !== 'tfjs-mlp')
      ctx.addIssue({
        code: 'custom',
        path: ['variants', 'int8', 'serve'],
        message: `only the built-in tfjs-mlp trainer exports an int8 variant; a ${spec.trainer.kind} trainer's model is served as it is`,
      });
    if (spec.trainer.kind === 'tfjs-mlp' && spec.trainer.hyperparameters.compression && spec.task === 'regression')
      ctx.addIssue({
        code: 'custom',
        path: ['trainer', 'hyperparameters', 'compression'],
        message: 'compression (pruning, distillation) supports binary and multiclass models, not regression',
      });
    const gates = qualityGatesSchemaFor(spec.task).safeParse(spec.gates);
    if (!gates.success) {
      for (const issue of gates.error.issues) ctx.addIssue({ code: 'custom', path: ['gates', ...issue.path], message: issue.message });
      return z.NEVER;
    }
    return { ...spec, gates: gates.data as TaskQualityGates };
  });

export type ModelSpec = z.output<typeof modelSpecSchema>;
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

export class ModelSpecError extends Error {
  override readonly name = 'ModelSpecError';
}

/** Specs written before the feature language name the removed built-in `flights-v1`. */
const LEGACY_FEATURES_HINT =
  'features.kind flights-v1 was replaced by the feature spec language: write `features: ./features.yaml` (see examples/flights/features.yaml and docs/features.md)';

export function parseModelSpec(value: unknown, source = 'model spec'): ModelSpec {
  const features = (value as { features?: { kind?: unknown } } | null)?.features;
  if (features?.kind === 'flights-v1') throw new ModelSpecError(`${source} is invalid:\n  features: ${LEGACY_FEATURES_HINT}`);
  return parseOrThrow(modelSpecSchema, value, (issues) => new ModelSpecError(`${source} is invalid:\n${issues}`));
}

/** Reads a YAML or JSON spec; `data.validation` may be a path relative to the spec file. */
export async function loadModelSpec(path: string): Promise<ModelSpec> {
  const raw = await readSpecFile(path).catch((err: unknown) => {
    throw new ModelSpecError(`cannot read model spec ${path}: ${firstLine(err)}`);
  });
  return modelSpecFromDocument(raw, path);
}

/** A spec document already read (GitOps patches it first) whose relative paths are relative to `path`. */
export async function modelSpecFromDocument(raw: unknown, path: string): Promise<ModelSpec> {
  const spec = raw as { data?: { validation?: unknown }; features?: unknown } | null;
  if (spec && typeof spec.features === 'string') {
    const featuresPath = resolve(dirname(path), spec.features);
    const features = await readSpecFile(featuresPath).catch((err: unknown) => {
      throw new ModelSpecError(`${path}: features: cannot read ${featuresPath}: ${firstLine(err)}`);
    });
    // A feature spec file may carry its own comments and a top-level `features:` list.
    spec.features = features;
  }
  const data = spec?.data as { validation?: unknown; source?: { uri?: unknown } } | undefined;
  // A relative source path is relative to the spec file, like the features and validation paths
  // (examples name the bundled CSVs this way, so they run from any checkout).
  const sourceUri = data?.source?.uri;
  if (typeof sourceUri === 'string' && sourceUri.length > 0 && !sourceUri.includes('://'))
    data!.source!.uri = pathToFileURL(resolve(dirname(path), sourceUri)).href;
  const trainer = (raw as { trainer?: Record<string, unknown> } | null)?.trainer;
  // A command runs in the spec's folder unless it names another (relative to the spec file), and an
  // imported model's relative path is the spec's neighbour, so an example runs from any checkout.
  if (trainer && trainer.kind === 'command') {
    const dir = trainer.workingDir;
    trainer.workingDir = typeof dir === 'string' ? resolve(dirname(path), dir) : resolve(dirname(path));
  }
  if (trainer && trainer.kind === 'onnx' && typeof trainer.model === 'string' && trainer.model.length > 0 && !trainer.model.includes('://'))
    trainer.model = pathToFileURL(resolve(dirname(path), trainer.model)).href;
  if (data && typeof data.validation === 'string') {
    const validationPath = resolve(dirname(path), data.validation);
    data.validation = await readSpecFile(validationPath).catch((err: unknown) => {
      throw new ModelSpecError(`${path}: data.validation: cannot read ${validationPath}: ${firstLine(err)}`);
    });
  }
  return parseModelSpec(raw, path);
}
