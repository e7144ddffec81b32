// Operations: liveness, readiness (models loaded; the database's state is reported, not required), Prometheus metrics and the
// OpenAPI description. These need no API key.
import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.ts';
import { OPENAPI } from '../openapi.ts';

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
    return { status: 'ok' };
  });

  // Ready means "can answer predictions": models loaded. Predictions never touch the database
  // (keys come from memory, the log is buffered), so a database outage leaves every replica ready
  // and is reported in the body (`database: false`) rather than taking the whole fleet out of the
  // load balancer at once.
  app.get('/readyz', async function readyzRoute(_request, reply) {
    const modelsOk = ctx.modelsReady();
    const dbOk = await databaseOk();
    const problems = Object.fromEntries(ctx.models.problems);
    void reply.status(modelsOk ? 200 : 503);
    // A stuck prediction log does not make the replica unready (it still answers predictions);
    // its state is here and in the metrics, so the stall is visible rather than silent.
    const predictionLog = ctx.predictionLog() ?? null;
    return {
      ready: modelsOk,
      jobs: ctx.jobs() !== undefined,
      models: ctx.models.list().map((m) => ({ name: m.name, champion: m.route.champion })),
      database: dbOk,
      predictionLog,
      problems,
    };
  });

  app.get('/metrics', async function metricsRoute(_request, reply) {
    ctx.beforeScrape();
    void reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  app.get('/openapi.json', async function openapiRoute() {
    return OPENAPI;
  });
}
