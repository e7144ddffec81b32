// POST /v1/models/:name/predict and GET /v1/models: synchronous predictions; GET
// /v1/models/:name/schema: what the served version reads and predicts, so a client can build a request.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { modelSchemaView } from '../../model-schema.ts';
import { championOf } from '../../predictor.ts';
import { issueRequestId } from '../../request-ids.ts';
import { authenticateBeforeBody, principalOf } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { modelListSchema, modelSchemaResponseSchema, predictResponseSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import {
  commonPredictBody,
  modelParamsSchema,
  parseBody,
  parseHeader,
  predictBodySchema,
  predictRequestSchema,
  routingKeySchema,
} from '../schemas.ts';

/** The header twin of the body's `routingKey`. */
export const routingKeyHeadersSchema = z.object({
  'X-Routing-Key': routingKeySchema.optional().meta({ description: "Sticky canary routing key (or the body's routingKey, which wins)" }),
});

export const PREDICT_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'POST',
    url: '/v1/models/:name/predict',
    operationId: 'predict',
    summary: 'Predict for one or many instances',
    description:
      "Scores every instance with the version the routing picks (champion, or a canary by weight or routing key). Instances are checked generically first, then against that version's fitted features, so an error names the exact field.",
    tags: ['predict'],
    scope: 'predict',
    params: modelParamsSchema,
    headers: routingKeyHeadersSchema,
    body: predictRequestSchema,
    responses: {
      200: { description: 'Predictions', schema: predictResponseSchema },
      400: { description: 'Malformed JSON, or an invalid, missing or unknown field (up to five named: instances[i].<field>)' },
      404: { description: 'Model not served' },
      413: { description: 'Body too large' },
      415: { description: 'Not application/json' },
      429: { description: 'Rate limit (requests or instances per second) exceeded (Retry-After)' },
      503: { description: 'Overloaded: the queue is full, or the champion is not loaded yet (Retry-After)' },
      504: { description: 'Waited longer than FLYWHEEL_SERVE_TIMEOUT_MS' },
    },
  },
  {
    method: 'GET',
    url: '/v1/models/:name/schema',
    operationId: 'getModelSchema',
    summary: 'What the served model reads and predicts: its input columns with kinds, task, classes and an example instance',
    tags: ['predict'],
    scope: 'predict',
    params: modelParamsSchema,
    responses: {
      200: { description: 'Model schema', schema: modelSchemaResponseSchema },
      404: { description: 'Model not served' },
      503: { description: 'Champion not loaded yet (Retry-After)' },
    },
  },
  {
    method: 'GET',
    url: '/v1/models',
    operationId: 'listModels',
    summary: 'Models served and their routing',
    tags: ['predict'],
    scope: 'predict',
    responses: { 200: { description: 'Served models', schema: modelListSchema } },
  },
];

export function registerPredictRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const bodySchema = predictBodySchema(ctx.settings.maxInstances);

  app.post<{ Params: { name: string } }>(
    '/v1/models/:name/predict',
    { onRequest: authenticateBeforeBody(ctx.authenticate, 'predict', ctx.limitRows) },
    async function predictRoute(request, reply) {
      const startedAt = performance.now();
      const principal = principalOf(request);
      const body = commonPredictBody(request.body, ctx.settings.maxInstances) ?? parseBody(bodySchema, request.body);
      ctx.limitRows(principal, body.instances.length);
      const header = request.headers['x-routing-key'];
      const routingKey =
        body.routingKey ?? (typeof header === 'string' && header ? parseHeader(routingKeySchema, 'X-Routing-Key', header) : undefined);
      const requestId = issueRequestId(principal, request.id, request.headers['x-request-id']);
      void reply.header('x-request-id', requestId);
      // A layer, keys or a join: the lambda read path (docs/batch-layer.md); else as always.
      if (body.layer !== undefined || body.join !== undefined || body.keys !== undefined) {
        const out = await ctx.predictLayered({
          model: request.params.name,
          instances: body.instances,
          layer: body.layer ?? 'realtime',
          join: body.join ?? false,
          requestId,
          startedAt,
          ...(body.keys ? { keys: body.keys } : {}),
          ...(routingKey !== undefined ? { routingKey } : {}),
        });
        return {
          requestId: out.requestId,
          model: out.model,
          predictions: out.predictions as z.infer<typeof predictResponseSchema>['predictions'],
          layer: out.layer,
          ...(out.fallback ? { fallback: out.fallback } : {}),
        } satisfies z.infer<typeof predictResponseSchema>;
      }
      const out = await ctx.predict({
        model: request.params.name,
        instances: body.instances,
        requestId,
        startedAt,
        ...(routingKey !== undefined ? { routingKey } : {}),
      });
      return { requestId: out.requestId, model: out.model, predictions: out.predictions } satisfies z.infer<typeof predictResponseSchema>;
    },
  );

  app.get<{ Params: { name: string } }>('/v1/models/:name/schema', async function modelSchemaRoute(request) {
    await ctx.authenticate(request, 'predict');
    const name = request.params.name;
    // The champion's: a canary or shadow reading other columns is still the champion's contract.
    const lv = championOf(ctx.models, name);
    return modelSchemaView(name, lv.version, lv.io) satisfies z.infer<typeof modelSchemaResponseSchema>;
  });

  app.get('/v1/models', async function listModelsRoute(request) {
    await ctx.authenticate(request, 'predict');
    return {
      models: ctx.models.list().map((m) => ({
        name: m.name,
        champion: m.route.champion,
        canary: m.route.canary ?? null,
        shadow: m.route.shadow ?? null,
      })),
    } satisfies z.infer<typeof modelListSchema>;
  });
}
