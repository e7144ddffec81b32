// The HTTP application (Fastify: among the fastest Node frameworks, actively maintained, with a
// body limit, content-type checks and hardened JSON parsing built in). One error handler maps
// every failure to a JSON `{ error: { code, message }, requestId }` with the right status.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { ServingErrorBody } from '../../lib/contracts/serving-admin.ts';
import { DependencyUnavailableError } from '../../lib/resilience/breaker.ts';
import { ERROR_CODES, ServingError, type ErrorCode } from '../errors.ts';
import type { CounterSlot } from '../metric-slots.ts';
import type { ServingContext } from './context.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerBatchLayerRoutes } from './routes/batch-layer.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerFeedbackRoutes } from './routes/feedback.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerPredictRoutes } from './routes/predict.ts';
import { registerV2Routes } from './routes/v2.ts';
import { registerAccessLog } from './access-log.ts';
import { httpsOptions } from './tls.ts';
import { registerRequestTracing } from './tracing.ts';

/** Model names and job ids are far shorter; a longer path parameter is refused with 414. */
const MAX_PARAM_LENGTH = 200;

/** Fastify's own 4xx errors, by code, to our stable error codes. */
const FASTIFY_CODES: Record<number, ErrorCode> = {
  400: 'badRequest',
  404: 'notFound',
  413: 'payloadTooLarge',
  415: 'unsupportedMediaType',
};

const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/** Every route an app registered (the OpenAPI test compares them with the document). */
export function routesOf(app: FastifyInstance): ReadonlyArray<{ method: string; url: string }> {
  return ROUTES.get(app) ?? [];
}

export function buildApp(ctx: ServingContext): FastifyInstance {
  const tls = ctx.settings.tls;
  const app = Fastify({
    // HTTPS when configured; Fastify types an https app apart, but every route and hook here is
    // the same on both, so the app is used as the plain-HTTP type below.
    ...(tls ? { https: httpsOptions(tls) } : {}),
    logger: false,
    bodyLimit: ctx.settings.bodyLimitBytes,
    // Every request gets a server id; a client's X-Request-Id becomes a prediction's id only inside
    // its key's namespace (serving/request-ids.ts), never as is.
    genReqId: () => randomUUID(),
    // A client that stops sending mid-body must not hold a connection forever.
    requestTimeout: 30_000,
    // Errors Fastify raises before routing (an over-long path parameter, a malformed URL) get the
    // same JSON shape as every other error, and never echo the path back.
    frameworkErrors: (err, request, reply) => {
      const uriTooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const code: ErrorCode = uriTooLong ? 'uriTooLong' : 'badRequest';
      const message = uriTooLong ? `a path parameter is longer than ${MAX_PARAM_LENGTH} characters` : 'malformed request URL';
      // Fastify types this reply by an unresolved route schema; it is a plain reply here. Open
      // Inference Protocol clients read `{error: string}`, on every /v2 answer.
      void (reply as unknown as FastifyReply)
        .code(ERROR_CODES[code])
        .send(
          request.url.startsWith('/v2/') || request.url === '/v2'
            ? { error: message }
            : ({ error: { code, message }, requestId: request.id } satisfies ServingErrorBody<ErrorCode>),
        );
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // What Node's HTTP parser refuses (headers over 16 KB, a malformed request line) never reaches
    // Fastify's routing; answer it in the same JSON shape too.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const code: ErrorCode = tooLarge ? 'headersTooLarge' : 'badRequest';
      const body = JSON.stringify({
        error: { code, message: tooLarge ? 'request headers are larger than the server accepts (16 KB)' : 'malformed HTTP request' },
        requestId: randomUUID(),
      } satisfies ServingErrorBody<ErrorCode>);
      const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
      socket.end(
        `HTTP/1.1 ${ERROR_CODES[code]} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const routes: Array<{ method: string; url: string }> = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });

  // Callback hooks, not async ones: every request runs them, and a promise per hook per request
  // showed in the no-op server's profile.
  app.addHook('onSend', function requestIdHeader(request, reply, payload, done) {
    // A prediction sets its own (issued) id; everything else carries the server's.
    if (!reply.hasHeader('x-request-id')) void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  // Each route's counters by status, bound once (serving/metric-slots.ts).
  const requestSlots = new Map<string, Map<number, CounterSlot>>();
  app.addHook('onResponse', function countRequest(request, reply, done) {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    let byStatus = requestSlots.get(route);
    if (!byStatus) requestSlots.set(route, (byStatus = new Map()));
    let slot = byStatus.get(status);
    if (!slot) byStatus.set(status, (slot = ctx.metrics.slots.requests.slot({ route, status: String(status) })));
    slot.inc();
    done();
  });

  registerAccessLog(app, ctx);
  registerRequestTracing(app);

  app.setErrorHandler((err: FastifyError | ServingError | Error, request, reply) => {
    let status: number;
    let code: ErrorCode;
    let message = err.message;
    if (err instanceof DependencyUnavailableError) {
      // The database (or another dependency) is down or hung and its breaker failed the call fast.
      status = 503;
      code = 'unavailable';
      message = `${err.message}; retry later`;
      void reply.header('retry-after', String(err.retryAfterS));
    } else if (err instanceof ServingError) {
      status = err.status;
      code = err.code;
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = FASTIFY_CODES[status] ?? 'badRequest';
      if (status === 400 && /JSON/i.test(message)) message = `malformed JSON body: ${message}`;
    } else {
      status = 500;
      code = 'internal';
      message = 'internal error';
      ctx.logger.error({ err, requestId: request.id, url: request.url }, 'request failed');
    }
    void reply.status(status).send({ error: { code, message }, requestId: request.id } satisfies ServingErrorBody<ErrorCode>);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'notFound', message: `no route ${request.method} ${request.url.split('?')[0]}` },
      requestId: request.id,
    } satisfies ServingErrorBody<ErrorCode>);
  });

  registerOpsRoutes(app, ctx);
  registerPredictRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerFeedbackRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerV2Routes(app, ctx);
  registerBatchLayerRoutes(app, ctx);
  return app;
}
