// POST /v1/models/:name/predict and GET /v1/models: synchronous predictions; GET
// /v1/models/:name/schema: what the served version reads and predicts, so a client can build a request.
import type { FastifyInstance } from 'fastify';
import { modelSchemaView } from '../../model-schema.ts';
import { championOf } from '../../predictor.ts';
import { issueRequestId } from '../../request-ids.ts';
import { authenticateBeforeBody, principalOf } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { parseBody, parseHeader, predictBodySchema, routingKeySchema } from '../schemas.ts';

export function registerPredictRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const bodySchema = predictBodySchema(ctx.settings.maxInstances);

  app.post<{ Params: { name: string } }>(
    '/v1/models/:name/predict',
    { onRequest: authenticateBeforeBody(ctx.authenticate, 'predict', ctx.limitRows) },
    async function predictRoute(request, reply) {
      const startedAt = performance.now();
      const principal = principalOf(request);
      const body = parseBody(bodySchema, request.body);
      ctx.limitRows(principal, body.instances.length);
      const header = request.headers['x-routing-key'];
      const routingKey =
        body.routingKey ?? (typeof header === 'string' && header ? parseHeader(routingKeySchema, 'X-Routing-Key', header) : undefined);
      const requestId = issueRequestId(principal, request.id, request.headers['x-request-id']);
      void reply.header('x-request-id', requestId);
      const out = await ctx.predict({
        model: request.params.name,
        instances: body.instances,
        requestId,
        startedAt,
        ...(routingKey !== undefined ? { routingKey } : {}),
      });
      return { requestId: out.requestId, model: out.model, predictions: out.predictions };
    },
  );

  app.get<{ Params: { name: string } }>('/v1/models/:name/schema', async function modelSchemaRoute(request) {
    await ctx.authenticate(request, 'predict');
    const name = request.params.name;
    // The champion's: a canary or shadow reading other columns is still the champion's contract.
    const lv = championOf(ctx.models, name);
    return modelSchemaView(name, lv.version, lv.io);
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
    };
  });
}
