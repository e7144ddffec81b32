// The console's HTTP server: server-rendered pages from Fastify (no bundler, no SPA), one
// ConsoleContext per process, page modules registering their own routes. Security headers,
// login/logout, the read gate (FLYWHEEL_CONSOLE_READS), 404/500 pages and /healthz live here.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Secret } from '../lib/config/index.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.ts';
import { createConsoleAuth, type ConsoleAuth } from './auth.ts';
import { createConsoleContext, wantsHtml, type ConsoleContext, type ConsoleDeps, type Principal } from './context.ts';
import { html } from './html.ts';
import { renderLayout } from './layout.ts';
import { registerLoginRoutes } from './login.ts';
import { registerActionRoutes } from './actions.ts';
import { registerApprovalRoutes } from './pages/approvals.ts';
import { registerCompareRoutes } from './pages/compare.ts';
import { registerDriftRoutes } from './pages/drift.ts';
import { registerModelRoutes } from './pages/model.ts';
import { registerModelsRoutes } from './pages/models.ts';
import { registerReportRoutes } from './pages/reports.ts';
import { registerRolloutRoutes } from './pages/rollout.ts';
import { registerRunRoutes } from './pages/runs.ts';
import { createPresigner } from './presign.ts';

export interface ConsoleServerSettings {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0: any free port. @default 8288 */
  port?: number;
  /** `login`: pages need a signed-in admin too. @default 'open' */
  reads?: 'open' | 'login';
  /** Signs session cookies; unset: random per process (sessions end at restart). */
  sessionSecret?: Secret | string;
  /** @default 43_200_000 (12 h) */
  sessionTtlMs?: number;
  /** How long an API key's check is reused (revocation latency). @default 5000 */
  keyCacheMs?: number;
}

export interface ConsoleServer {
  app: FastifyInstance;
  ctx: ConsoleContext;
  /** Listens; resolves to the console's URL (http://host:port). */
  start(): Promise<string>;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in admin of a page request, resolved before its handler (the top bar shows it). */
    consolePrincipal?: Principal;
  }
}

/** Where no login is needed even when reads need one. */
const PUBLIC_PATHS = new Set(['/login', '/logout', '/healthz', '/readyz', '/assets/console.css', '/assets/console.js', '/favicon.ico']);

/** The page modules' routes. Each gets the app and the context and nothing else. */
type RegisterRoutes = (app: FastifyInstance, ctx: ConsoleContext) => void;
const PAGE_MODULES: RegisterRoutes[] = [
  registerModelsRoutes,
  registerModelRoutes,
  registerRunRoutes,
  registerCompareRoutes,
  registerReportRoutes,
  // console-live's live pages and actions (rollouts, drift, approvals).
  registerRolloutRoutes,
  registerDriftRoutes,
  registerApprovalRoutes,
  registerActionRoutes,
];

const CSP = [
  "default-src 'self'",
  // Vega's server-rendered SVG carries inline style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function createConsoleServer(options: { deps: ConsoleDeps; settings?: ConsoleServerSettings }): ConsoleServer {
  const { deps } = options;
  const settings = options.settings ?? {};
  const reads = settings.reads ?? 'open';
  const secret = settings.sessionSecret;
  const auth: ConsoleAuth = createConsoleAuth({
    db: deps.db,
    secret: secret === undefined ? randomBytes(32).toString('hex') : typeof secret === 'string' ? secret : secret.reveal(),
    ...(settings.sessionTtlMs !== undefined ? { sessionTtlMs: settings.sessionTtlMs } : {}),
    ...(settings.keyCacheMs !== undefined ? { keyCacheMs: settings.keyCacheMs } : {}),
  });
  const s3Store = deps.store.baseUri.startsWith('s3://');
  const ctx = createConsoleContext(deps, { auth, ...(s3Store ? { presign: createPresigner(deps.s3 ?? {}) } : {}) });

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, requestTimeout: 30_000, return503OnClosing: true });
  app.decorateRequest('consolePrincipal', undefined);
  // Sign-in posts a plain form (it works without the script).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
    if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', CSP);
    // Actions and anything personal never sit in a cache.
    if (req.method !== 'GET' && req.method !== 'HEAD') void reply.header('cache-control', 'no-store');
    else if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  // A NUL in a path or query reaches PostgreSQL as text it refuses (a server error on every page
  // that reads by name): refused at the door instead, whatever the route.
  app.addHook('onRequest', async (req, reply) => {
    if (/%00|\u0000/i.test(req.url))
      return reply.code(400).type('text/plain; charset=utf-8').send('a NUL byte (%00) is not allowed in a URL');
    return undefined;
  });

  // The read gate, and the principal every page's top bar shows.
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (PUBLIC_PATHS.has(path)) return;
    const principal = await ctx.principal(req);
    req.consolePrincipal = principal;
    if (reads === 'login' && !principal && (req.method === 'GET' || req.method === 'HEAD')) {
      await ctx.requireAdmin(req, reply);
      return reply;
    }
    return undefined;
  });

  app.get('/healthz', async () => ({ ok: true }));
  // Ready when the database answers: every page reads it (Temporal being down only adds a note).
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.db.query('SELECT 1');
      return { ready: true };
    } catch (err) {
      return reply.code(503).send({ ready: false, error: `database unreachable: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  app.get('/assets/console.css', (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_CSS),
  );
  app.get('/assets/console.js', (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_JS),
  );

  registerLoginRoutes(app, ctx, auth);
  for (const register of PAGE_MODULES) register(app, ctx);

  app.setNotFoundHandler((req, reply) => errorPage(req, reply, 404, 'Not found', `Nothing at ${req.url.split('?')[0]}.`, deps));
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) deps.logger.error({ err, url: req.url }, 'console request failed');
    const message = status === 500 ? 'Something went wrong on the server; the log says what.' : err.message;
    return errorPage(req, reply, status, status === 500 ? 'Server error' : 'Bad request', message, deps);
  });

  return {
    app,
    ctx,
    async start() {
      const host = settings.host ?? '127.0.0.1';
      await app.listen({ host, port: settings.port ?? 8288 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : settings.port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    async close() {
      await app.close();
    },
  };
}

function errorPage(req: FastifyRequest, reply: FastifyReply, status: number, title: string, message: string, deps: ConsoleDeps) {
  if (!wantsHtml(req)) return reply.code(status).send({ error: message });
  const body = html`<h1>${title}</h1>
    <p class="error">${message}</p>
    <p><a href="/">Back to the models</a></p>`;
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      renderLayout({
        title,
        body,
        namespace: deps.namespace,
        ...(deps.webUiUrl ? { webUiUrl: deps.webUiUrl } : {}),
        ...(req.consolePrincipal ? { principal: req.consolePrincipal } : {}),
      }),
    );
}
