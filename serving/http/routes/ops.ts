// Operations: liveness, readiness (models loaded; the database's and every breaker's state are reported, not required), Prometheus metrics and the
// OpenAPI document, generated from every route module's RouteDocs. These need no API key, but
// for one model's document, which lists its input columns as its schema route does (scope predict).
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { championOf } from '../../predictor.ts';
import { V2_ROUTE_DOCS } from './v2.ts';
import type { ServingContext } from '../context.ts';
import { openApiDocument, type OpenApiDocument } from '../openapi.ts';
import { healthSchema, openApiDocumentSchema, readinessSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { modelParamsSchema } from '../schemas.ts';
import { ADMIN_ROUTE_DOCS } from './admin.ts';
import { BATCH_LAYER_ROUTE_DOCS } from './batch-layer.ts';
import { EVENT_ROUTE_DOCS } from './events.ts';
import { FEEDBACK_ROUTE_DOCS } from './feedback.ts';
import { JOB_ROUTE_DOCS } from './jobs.ts';
import { PREDICT_ROUTE_DOCS } from './predict.ts';

export const OPS_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    url: '/healthz',
    operationId: 'liveness',
    summary: 'Liveness',
    tags: ['ops'],
    scope: 'none',
    responses: { 200: { description: 'Process is up', schema: healthSchema } },
  },
  {
    method: 'GET',
    url: '/readyz',
    operationId: 'readiness',
    summary:
      'Readiness: every served model has a loaded champion (predictions need nothing else; `reasons` says what is missing); the body also shows whether the database answers (database), the circuit breaker of each dependency (breakers: closed, half-open or open — an open one does not make the server unready), and the prediction log writer (buffered, written, dropped, quarantined, consecutive failures, last error)',
    tags: ['ops'],
    scope: 'none',
    responses: {
      200: { description: 'Ready', schema: readinessSchema },
      503: { description: 'Not ready (reasons in the body)', schema: readinessSchema },
    },
  },
  {
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tags: ['ops'],
    scope: 'none',
    responses: { 200: { description: 'Text exposition format', contentType: 'text/plain' } },
  },
  {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document (for any model; GET /v1/models/{name}/openapi.json writes it out for one)',
    tags: ['ops'],
    scope: 'none',
    responses: { 200: { description: 'OpenAPI 3.1', schema: openApiDocumentSchema } },
  },
  {
    method: 'GET',
    url: '/v1/models/:name/openapi.json',
    operationId: 'getModelOpenApi',
    summary: "This document for one model: its champion's input columns as Instance, its task's prediction as Prediction",
    description:
      'Made from the champion when asked and kept until the champion changes; load it into a client generator to get typed instances for this model.',
    tags: ['ops'],
    scope: 'predict',
    params: modelParamsSchema,
    responses: {
      200: { description: 'OpenAPI 3.1', schema: openApiDocumentSchema },
      404: { description: 'Model not served' },
      503: { description: 'Champion not loaded yet (Retry-After)' },
    },
  },
];

/** Every route module's docs: the document's operations, in this order. */
export const API_ROUTE_DOCS: ReadonlyArray<readonly RouteDoc[]> = [
  PREDICT_ROUTE_DOCS,
  BATCH_LAYER_ROUTE_DOCS,
  JOB_ROUTE_DOCS,
  FEEDBACK_ROUTE_DOCS,
  ADMIN_ROUTE_DOCS,
  EVENT_ROUTE_DOCS,
  OPS_ROUTE_DOCS,
  V2_ROUTE_DOCS,
];

/**
 * Why the server cannot answer predictions; empty: ready. Only what really stops predictions
 * belongs here (a served model without a loaded champion): a dependency whose breaker is open
 * (database, registry, store) does not, since predictions are answered from memory — taking every
 * replica out of the load balancer at once for it would turn a degraded fleet into a dead one.
 * Draining (SIGTERM) is one: the balancer must take the replica out before it closes.
 */
export function notReadyReasons(ctx: Pick<ServingContext, 'draining' | 'modelsReady' | 'models'>): string[] {
  const reasons: string[] = [];
  if (ctx.draining()) reasons.push('draining');
  if (!ctx.modelsReady()) {
    const expected = ctx.models.expected();
    if (expected.length === 0) reasons.push('no model to serve yet: none has a champion');
    for (const name of expected) {
      if (ctx.models.get(name)) continue;
      const problem = ctx.models.problems.get(name);
      reasons.push(`${name}: no champion loaded${problem ? ` (${problem})` : ''}`);
    }
  }
  return reasons;
}

export function registerOpsRoutes(app: FastifyInstance, ctx: ServingContext): void {
  let dbCheck: { ok: boolean; at: number } = { ok: false, at: 0 };

  async function databaseOk(): Promise<boolean> {
    if (Date.now() - dbCheck.at < 1000) return dbCheck.ok;
    let ok: boolean;
    try {
      // Through the serving database guard: a hung database answers "no" within its deadline.
      await ctx.db.query('SELECT 1');
      ok = true;
    } catch {
      ok = false;
    }
    dbCheck = { ok, at: Date.now() };
    return ok;
  }

  app.get('/healthz', async function healthzRoute() {
    return { status: 'ok' } satisfies z.infer<typeof healthSchema>;
  });

  // Ready means "can answer predictions": models loaded. Predictions never touch the database,
  // the registry or the store (keys come from memory, the log is buffered), so an outage of any of
  // them leaves every replica ready and is reported in the body (`database: false`, the open
  // breaker) rather than taking the whole fleet out of the load balancer at once.
  app.get('/readyz', async function readyzRoute(_request, reply) {
    const reasons = notReadyReasons(ctx);
    const ready = reasons.length === 0;
    const dbOk = await databaseOk();
    const problems = Object.fromEntries(ctx.models.problems);
    void reply.status(ready ? 200 : 503);
    // A stuck prediction log does not make the replica unready (it still answers predictions);
    // its state is here and in the metrics, so the stall is visible rather than silent.
    const predictionLog = ctx.predictionLog() ?? null;
    return {
      ready,
      reasons,
      jobs: ctx.jobs() !== undefined,
      models: ctx.models.list().map((m) => ({ name: m.name, champion: m.route.champion })),
      database: dbOk,
      breakers: ctx.breakers(),
      predictionLog,
      problems,
    } satisfies z.infer<typeof readinessSchema>;
  });

  app.get('/metrics', async function metricsRoute(_request, reply) {
    ctx.beforeScrape();
    void reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  let generic: OpenApiDocument | undefined;
  app.get('/openapi.json', async function openapiRoute() {
    return (generic ??= openApiDocument(API_ROUTE_DOCS));
  });

  // One document per served model, for its champion version: a new champion makes a new one, so
  // entries are bounded by the models served (unknown names are 404 before the cache).
  const perModel = new Map<string, { version: number; document: OpenApiDocument }>();
  app.get<{ Params: { name: string } }>('/v1/models/:name/openapi.json', async function modelOpenapiRoute(request) {
    await ctx.authenticate(request, 'predict');
    const name = request.params.name;
    const champion = championOf(ctx.models, name);
    const cached = perModel.get(name);
    if (cached?.version === champion.version) return cached.document;
    const document = openApiDocument(API_ROUTE_DOCS, { model: { name, version: champion.version, io: champion.io } });
    perModel.set(name, { version: champion.version, document });
    return document;
  });
}
