// GET /v1/models/:name/batch/:key: the lambda read path by entity key alone. A fresh published
// batch prediction answers (`layer: "batch"`); otherwise the key's row of the batch feature table
// is scored now (`layer: "realtime"`), also when the batch layer cannot be read (`fallback`).
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { issueRequestId } from '../../request-ids.ts';
import { ServingError } from '../../errors.ts';
import type { ServingContext } from '../context.ts';
import { batchLookupResponseSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { batchKeyParamsSchema } from '../schemas.ts';

export const BATCH_LAYER_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    url: '/v1/models/:name/batch/:key',
    operationId: 'batchLookup',
    summary: "An entity's prediction: the published batch job's when fresh, else scored now from its feature-table row",
    description:
      "Batch predictions come from the model's published keyed batchPredict job while younger than FLYWHEEL_SERVE_BATCH_MAX_AGE_S; otherwise the key's row of the batch feature table is scored in real time. A batch layer that cannot be read answers with real time and says so (fallback). See docs/batch-layer.md.",
    tags: ['predict'],
    scope: 'predict',
    params: batchKeyParamsSchema,
    responses: {
      200: { description: 'The prediction and the layer that answered', schema: batchLookupResponseSchema },
      404: { description: 'Model not served, or neither a fresh batch prediction nor a feature row for the key' },
      503: { description: 'The batch layer is unreadable and no features are available to score in real time (Retry-After)' },
    },
  },
];

export function registerBatchLayerRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get<{ Params: { name: string; key: string } }>('/v1/models/:name/batch/:key', async function batchLookupRoute(request, reply) {
    const startedAt = performance.now();
    const principal = await ctx.authenticate(request, 'predict');
    const parsed = batchKeyParamsSchema.safeParse(request.params);
    if (!parsed.success)
      throw new ServingError(
        'badRequest',
        `invalid path: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const params = parsed.data;
    ctx.limitRows(principal, 1);
    const requestId = issueRequestId(principal, request.id, request.headers['x-request-id']);
    void reply.header('x-request-id', requestId);
    const out = await ctx.predictLayered({
      model: params.name,
      instances: [{}],
      keys: [params.key],
      layer: 'auto',
      join: true,
      requireFeatureRow: true,
      requestId,
      startedAt,
    });
    const { layer, batchJob, ageS, joined: _joined, ...prediction } = out.predictions[0]!;
    return {
      requestId: out.requestId,
      model: out.model,
      key: params.key,
      layer,
      prediction: { ...prediction, ...(batchJob !== undefined ? { batchJob, ageS } : {}) } as z.infer<
        typeof batchLookupResponseSchema
      >['prediction'],
      ...(out.fallback ? { fallback: out.fallback } : {}),
    } satisfies z.infer<typeof batchLookupResponseSchema>;
  });
}
