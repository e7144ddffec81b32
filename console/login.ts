// Sign-in and sign-out: an admin API key pasted once becomes a signed session cookie (HttpOnly,
// SameSite=Strict, Secure over HTTPS), so the key itself never sits in the browser.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies, sameOrigin, SESSION_COOKIE, type ConsoleAuth } from './auth.ts';
import type { ConsoleContext } from './context.ts';
import { html } from './html.ts';

/** Only a path on this console: never `//evil.example` or an absolute URL. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

function isHttps(req: FastifyRequest): boolean {
  // Behind a TLS-terminating ingress the socket is plain HTTP; the proxy says what the browser used.
  return req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
}

function loginPage(ctx: ConsoleContext, reply: FastifyReply, next: string, error?: string, status = 200) {
  const body = html`<h1>Sign in</h1>
    <p>
      Paste an admin-scoped API key (<code>flywheel keys create --name you --scopes admin</code>). The console keeps a signed session
      cookie, not the key; revoking the key ends the session.
    </p>
    <form method="post" action="/login">
      <input type="hidden" name="next" value="${next}" />
      <p>
        <label>API key <input type="password" name="key" autocomplete="off" required size="60" placeholder="fw_…" /></label>
      </p>
      <div role="alert">${error ?? ''}</div>
      <p><button class="primary" type="submit">Sign in</button></p>
    </form>`;
  return ctx.page(reply.code(status), { title: 'Sign in', body });
}

export function registerLoginRoutes(app: FastifyInstance, ctx: ConsoleContext, auth: ConsoleAuth): void {
  app.get<{ Querystring: { next?: string } }>('/login', (req, reply) => loginPage(ctx, reply, safeNext(req.query.next)));

  app.post<{ Body: { key?: unknown; next?: unknown } | undefined }>('/login', async (req, reply) => {
    const next = safeNext(req.body?.next);
    if (!sameOrigin(req, 'none')) return loginPage(ctx, reply, next, 'cross-origin sign-in refused', 403);
    const key = typeof req.body?.key === 'string' ? req.body.key : '';
    const result = await auth.login(key);
    if ('status' in result) return loginPage(ctx, reply, next, result.error, 403);
    const maxAge = Math.floor(auth.sessionTtlMs / 1000);
    const cookie = `${SESSION_COOKIE}=${result.cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${isHttps(req) ? '; Secure' : ''}`;
    ctx.logger.info({ keyId: result.principal.keyId, name: result.principal.name }, 'console sign-in');
    return reply.header('set-cookie', cookie).redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    if (!sameOrigin(req, 'none')) return reply.code(403).send({ error: 'cross-origin sign-out refused' });
    auth.logout(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    const cookie = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${isHttps(req) ? '; Secure' : ''}`;
    return reply.header('set-cookie', cookie).redirect('/', 303);
  });
}
