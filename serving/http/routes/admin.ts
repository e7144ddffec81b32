// Admin API (scope `admin`): read and change a model's canary weight and shadow at runtime (the
// rollout workflow drives this), and reload aliases from the registry now (a hot swap).
import type { FastifyInstance } from 'fastify';
import type { ServingRoute } from '../../../lib/contracts/serving-admin.ts';
import type { ServedModel } from '../../models.ts';
import { ServingError } from '../../errors.ts';
import type { ServingContext } from '../context.ts';
import { routingSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { modelParamsSchema, parseBody, routingBodySchema } from '../schemas.ts';

export const ADMIN_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    url: '/v1/admin/models/:name/routing',
    operationId: 'getRouting',
    summary: 'Current routing: champion, canary and shadow, who changed it and when',
    tags: ['admin'],
    scope: 'admin',
    params: modelParamsSchema,
    responses: { 200: { description: 'Routing', schema: routingSchema }, 404: { description: 'Model not served' } },
  },
  {
    method: 'PUT',
    url: '/v1/admin/models/:name/routing',
    operationId: 'setRouting',
    summary: 'Set canary weight and shadow (persisted; every replica follows)',
    tags: ['admin'],
    scope: 'admin',
    params: modelParamsSchema,
    body: routingBodySchema,
    responses: {
      200: { description: 'New routing', schema: routingSchema },
      400: { description: 'Invalid change (a canary must be another version than the champion)' },
      404: { description: 'Unknown model or version' },
    },
  },
  {
    method: 'POST',
    url: '/v1/admin/models/:name/reload',
    operationId: 'reloadModel',
    summary: 'Re-read registry aliases now (hot swap)',
    tags: ['admin'],
    scope: 'admin',
    params: modelParamsSchema,
    responses: {
      200: { description: 'Routing after reload', schema: routingSchema },
      404: { description: 'Model not served' },
      409: { description: 'The new version was refused' },
    },
  },
];

function routingView(m: ServedModel): ServingRoute {
  return {
    model: m.name,
    champion: { version: m.route.champion },
    canary: m.route.canary ?? null,
    shadow: m.route.shadow !== undefined ? { version: m.route.shadow } : null,
    updatedBy: m.updatedBy ?? null,
    updatedAt: m.updatedAt?.toISOString() ?? null,
  };
}

export function registerAdminRoutes(app: FastifyInstance, ctx: ServingContext): void {
  function served(name: string): ServedModel {
    const m = ctx.models.get(name);
    if (!m) throw new ServingError('notFound', `model ${JSON.stringify(name)} is not served here`);
    return m;
  }

  app.get<{ Params: { name: string } }>('/v1/admin/models/:name/routing', async function getRoutingRoute(request) {
    await ctx.authenticate(request, 'admin');
    return routingView(served(request.params.name));
  });

  app.put<{ Params: { name: string } }>('/v1/admin/models/:name/routing', async function setRoutingRoute(request) {
    const principal = await ctx.authenticate(request, 'admin');
    const body = parseBody(routingBodySchema, request.body);
    const current = served(request.params.name);
    // Omitted fields keep their value; null clears.
    const canary = body.canary === undefined ? (current.route.canary ?? null) : body.canary;
    const shadow = body.shadow === undefined ? (current.route.shadow ?? null) : (body.shadow?.version ?? null);
    if (canary && canary.version === current.route.champion)
      throw new ServingError('badRequest', `v${canary.version} is already the champion; a canary must be another version`);
    return routingView(await ctx.models.setRouting(request.params.name, { canary, shadow }, principal.name));
  });

  app.post<{ Params: { name: string } }>('/v1/admin/models/:name/reload', async function reloadRoute(request) {
    await ctx.authenticate(request, 'admin');
    await ctx.models.refresh();
    const problem = ctx.models.problems.get(request.params.name);
    if (problem) throw new ServingError('conflict', `reload of ${request.params.name} failed: ${problem}`);
    return routingView(served(request.params.name));
  });
}
