// What the routes answer, as zod schemas: the OpenAPI document's response bodies. Handlers check
// what they return against these with `satisfies`, so a changed answer fails the type check
// instead of silently disagreeing with the document.
import { z } from 'zod';
import type { ServingErrorBody, ServingRoute } from '../../lib/contracts/serving-admin.ts';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

const version = z.number().int().positive().meta({ description: 'Model version' });

/** An ISO 8601 instant the server wrote (`Date#toISOString`); stated as a format, not zod's regex. */
const instant = z.string().meta({ format: 'date-time' });

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).meta({ description: 'Stable; what a client branches on' }),
      message: z.string().meta({ description: 'Names the problem (the field, the scope, the limit)' }),
    }),
    requestId: z.string(),
  })
  .meta({ id: 'Error', description: 'Every 4xx/5xx the server sends' });

/** Compiles only when `Shape` is assignable to `Schema`: a type shared through lib/contracts
 * must stay describable by the schema the document publishes for it. */
type Describes<Shape extends Schema, Schema> = Shape;

export type ErrorBody = Describes<ServingErrorBody<ErrorCode>, z.infer<typeof errorBodySchema>>;

/** Present when the request chose a layer or a join (docs/batch-layer.md). */
const layerFields = {
  layer: z.enum(['batch', 'realtime']).optional().meta({ description: 'Which layer answered (when the request chose a layer or join)' }),
  batchJob: z.string().optional().meta({ description: 'Batch: the published job that computed it' }),
  ageS: z.number().optional().meta({ description: 'Batch: seconds since that job was published' }),
  joined: z.boolean().optional().meta({ description: "Join: whether the key's feature-table row was merged into the instance" }),
};

export const binaryPredictionSchema = z
  .object({
    probability: z.number().min(0).max(1).meta({ description: 'P(label = 1)' }),
    version: version.meta({ description: 'Model version that served it' }),
    cached: z.boolean(),
    ...layerFields,
  })
  .meta({ id: 'BinaryPrediction', title: 'binary' });

export const multiclassPredictionSchema = z
  .object({
    class: z.string().meta({ description: 'The most probable class' }),
    probabilities: z.record(z.string(), z.number()).meta({ description: 'P(class) for every class' }),
    version: version.meta({ description: 'Model version that served it' }),
    cached: z.boolean(),
    ...layerFields,
  })
  .meta({ id: 'MulticlassPrediction', title: 'multiclass' });

export const regressionPredictionSchema = z
  .object({
    value: z.number(),
    version: version.meta({ description: 'Model version that served it' }),
    cached: z.boolean(),
    ...layerFields,
  })
  .meta({ id: 'RegressionPrediction', title: 'regression' });

export const predictionSchema = z.union([binaryPredictionSchema, multiclassPredictionSchema, regressionPredictionSchema]).meta({
  id: 'Prediction',
  description: "By the model's task (GET /v1/models/{name}/schema says which): binary, multiclass or regression.",
});

export const predictResponseSchema = z
  .object({
    requestId: z.string().meta({ description: 'Quote it when posting feedback' }),
    model: z.string(),
    predictions: z.array(predictionSchema).meta({ description: 'One per instance, in order' }),
    layer: z
      .enum(['batch', 'realtime', 'mixed'])
      .optional()
      .meta({ description: 'When the request chose a layer or join: which layer answered (mixed: some each)' }),
    fallback: z.string().optional().meta({ description: 'Set when the batch layer could not be read and real time answered instead' }),
  })
  .meta({ id: 'PredictResponse' });

export const batchLookupResponseSchema = z
  .object({
    requestId: z.string(),
    model: z.string(),
    key: z.string(),
    layer: z
      .enum(['batch', 'realtime'])
      .meta({ description: 'batch: the published prediction; realtime: computed now from the feature table' }),
    prediction: predictionSchema,
    fallback: z.string().optional().meta({ description: 'Set when the batch layer could not be read and real time answered instead' }),
  })
  .meta({ id: 'BatchLookup' });

export const modelSchemaResponseSchema = z
  .object({
    model: z.string(),
    version: version.meta({ description: 'The champion version whose fitted features these are' }),
    task: z.enum(['binary', 'multiclass', 'regression']),
    classes: z.array(z.string()).optional().meta({ description: 'Multiclass: the classes, in output order' }),
    predictionFields: z.array(z.string()).readonly().meta({ description: 'What a prediction carries besides version and cached' }),
    inputs: z.array(
      z.object({
        name: z.string(),
        kind: z.string().meta({ description: 'number, string, boolean, timestamp or vector[<length>]' }),
      }),
    ),
    instanceSchema: z.record(z.string(), z.unknown()).meta({ description: 'The instance as a JSON Schema (strict: no other fields)' }),
    example: z.record(z.string(), z.unknown()).meta({ description: 'A valid instance built from the fitted features' }),
  })
  .meta({ id: 'ModelSchema' });

export const modelListSchema = z
  .object({
    models: z.array(
      z.object({
        name: z.string(),
        champion: version,
        canary: z.object({ version, weight: z.number().min(0).max(1) }).nullable(),
        shadow: version.nullable(),
      }),
    ),
  })
  .meta({ id: 'ModelList' });

export const routingSchema = z
  .object({
    model: z.string(),
    champion: z.object({ version }),
    canary: z.object({ version, weight: z.number().min(0).max(1) }).nullable(),
    shadow: z.object({ version }).nullable(),
    updatedBy: z.string().nullable().meta({ description: 'Who changed it last (an API key name)' }),
    updatedAt: instant.nullable(),
  })
  .meta({ id: 'Routing' });

export type Routing = Describes<ServingRoute, z.infer<typeof routingSchema>>;

const jobPredictionsSchema = z.object({
  requestId: z.string(),
  model: z.string(),
  predictions: z.array(z.record(z.string(), z.unknown())).meta({ description: 'As a predict answers, without cached' }),
  completedAt: instant,
  webhook: z.object({ delivered: z.boolean(), error: z.string().optional() }).optional(),
});

export const jobSchema = z
  .discriminatedUnion('status', [
    z.object({ jobId: z.string(), status: z.literal('running'), startedAt: instant }),
    z.object({ jobId: z.string(), status: z.literal('completed'), startedAt: instant, result: jobPredictionsSchema }),
    z.object({ jobId: z.string(), status: z.literal('failed'), startedAt: instant, error: z.string() }),
  ])
  .meta({ id: 'Job' });

export const jobAcceptedSchema = z
  .object({
    jobId: z.string().meta({ examples: ['job-3f0c…'] }),
    status: z.literal('running'),
    statusUrl: z.string().meta({ description: 'Poll it (GET /v1/jobs/{id}); also the Location header' }),
  })
  .meta({ id: 'JobAccepted' });

export const feedbackStoredSchema = z.object({ requestId: z.string(), instance: z.number().int(), stored: z.literal(true) });

export const dataArrivedResponseSchema = z.object({
  eventId: z.string(),
  models: z.array(z.string()).meta({ description: 'The model lifecycles signalled' }),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const readinessSchema = z.object({
  ready: z.boolean().meta({ description: 'Every served model has a loaded champion' }),
  reasons: z.array(z.string()).meta({ description: 'Why the server is not ready (empty when ready)' }),
  jobs: z.boolean().meta({ description: 'Whether the workflow service is connected (async jobs, events)' }),
  models: z.array(z.object({ name: z.string(), champion: version })),
  database: z.boolean().meta({ description: 'Whether the database answers (reported, not required)' }),
  breakers: z
    .record(
      z.string(),
      z.object({
        state: z.enum(['closed', 'half-open', 'open']),
        consecutiveFailures: z.number(),
        rejections: z.number(),
        openedAt: z.string().nullable(),
      }),
    )
    .meta({
      description: 'Circuit breaker of each dependency (database, registry, artifact-store, …); an open one is reported, not required',
    }),
  predictionLog: z
    .object({
      buffered: z.number(),
      written: z.number(),
      dropped: z.number(),
      quarantined: z.number(),
      consecutiveFailures: z.number(),
      lastError: z.string().nullable(),
      lastWriteAt: z.string().nullable(),
    })
    .nullable()
    .meta({ description: 'The prediction log writer; null when logging is off' }),
  problems: z.record(z.string(), z.string()).meta({ description: 'Per model: why it is not served' }),
});

/** An OpenAPI document (this one or a model's). */
export const openApiDocumentSchema = z.record(z.string(), z.unknown()).meta({ description: 'OpenAPI 3.1' });
