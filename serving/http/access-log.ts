// The HTTP access log: one structured line per request through the server's logger (pino),
// sampled so a busy server does not log every prediction. Server errors (5xx) and slow requests
// are always logged, since those are the ones someone goes looking for.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServingContext } from './context.ts';

export interface AccessLogOptions {
  /** Fraction of ordinary requests logged, 0..1; 0 turns the access log off. */
  sample: number;
  /** Requests at least this slow are always logged. */
  slowMs: number;
  /** @default Math.random */
  random?: () => number;
}

/** Whether one finished request goes into the access log. */
export function shouldLog(request: { status: number; durationMs: number }, options: AccessLogOptions): boolean {
  if (options.sample <= 0) return false;
  if (request.status >= 500 || request.durationMs >= options.slowMs) return true;
  return options.sample >= 1 || (options.random ?? Math.random)() < options.sample;
}

export function registerAccessLog(app: FastifyInstance, ctx: Pick<ServingContext, 'logger' | 'settings'>, random?: () => number): void {
  const options: AccessLogOptions = {
    sample: ctx.settings.accessLogSample,
    slowMs: ctx.settings.accessLogSlowMs,
    ...(random ? { random } : {}),
  };
  if (options.sample <= 0) return;
  const log = ctx.logger.child({ component: 'access' });
  // A callback hook (no promise per request); the line is written before `done`, as before.
  app.addHook('onResponse', function accessLog(request, reply, done) {
    writeLine(request, reply);
    done();
  });
  function writeLine(request: FastifyRequest, reply: FastifyReply): void {
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    const status = reply.statusCode;
    if (!shouldLog({ status, durationMs }, options)) return;
    const line = {
      requestId: request.id,
      method: request.method,
      // The path only: query strings can carry what does not belong in logs.
      path: request.url.split('?')[0],
      route: request.routeOptions.url ?? null,
      status,
      durationMs,
      bytes: Number(reply.getHeader('content-length') ?? 0),
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      // Why this line was kept, so a reader can tell sampled traffic from the always-logged kinds.
      reason: status >= 500 ? 'error' : durationMs >= options.slowMs ? 'slow' : 'sampled',
      sample: options.sample,
    };
    if (status >= 500) log.warn(line, 'request');
    else log.info(line, 'request');
  }
}
