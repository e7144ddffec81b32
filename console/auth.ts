// Who may act in the console: an admin-scoped API key (the same keys as serving, `flywheel keys
// create --scopes admin`), sent as `Authorization: Bearer fw_…` or exchanged once at /login for
// a signed session cookie. The key behind a session is checked again (revoked? still admin?) on
// every request that needs it, cached for a few seconds, so revoking a key ends its sessions.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { apiKeyRecord, hashApiKey, looksLikeApiKey, type ApiKeyInfo, type ApiKeyScope } from '../lib/auth/api-keys.ts';
import type { Queryable } from '../lib/db/index.ts';
import type { Principal } from './context.ts';

export const SESSION_COOKIE = 'flywheel_console';

export interface ConsoleAuthOptions {
  db: Queryable;
  /** Signs session cookies (HMAC-SHA256). */
  secret: string;
  /** How long a session lasts from sign-in. @default 43_200_000 (12 h) */
  sessionTtlMs?: number;
  /** How long a key's check is reused (the revocation latency). @default 5000 */
  keyCacheMs?: number;
  now?: () => number;
}

/** Why a request is not an admin's: 401 (nobody signed in) or 403 (signed in, not allowed). */
export interface AuthRefusal {
  status: 401 | 403;
  error: string;
}

export type AuthResult = { principal: Principal; via: 'bearer' | 'session' } | AuthRefusal;

type KeyCheck = { ok: true; principal: Principal } | { ok: false; error: string };

export interface ConsoleAuth {
  /** The request's admin (Bearer key first, else the session cookie), or why not. */
  authenticate(req: FastifyRequest): Promise<AuthResult>;
  /** Checks a pasted key; a session cookie value for it when it is a live admin key. */
  login(key: string): Promise<{ cookie: string; principal: Principal } | AuthRefusal>;
  /** Ends a session before its expiry (sign-out). */
  logout(cookie: string | undefined): void;
  readonly sessionTtlMs: number;
}

/** Cookies of a request header, by name (first value wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export function createConsoleAuth(options: ConsoleAuthOptions): ConsoleAuth {
  const now = options.now ?? Date.now;
  const ttlMs = options.sessionTtlMs ?? 12 * 3_600_000;
  const cacheMs = options.keyCacheMs ?? 5_000;
  const secret = createHash('sha256').update(options.secret).digest();
  const checks = new Map<string, { check: KeyCheck; at: number }>();
  // Signed-out sessions until they would have expired anyway (bounded by the sign-outs in 12 h).
  const ended = new Map<string, number>();

  function judge(row: ApiKeyInfo | undefined): KeyCheck {
    if (!row) return { ok: false, error: 'unknown API key' };
    if (row.revokedAt) return { ok: false, error: `API key ${row.id} is revoked` };
    if (!row.scopes.includes('admin' satisfies ApiKeyScope))
      return {
        ok: false,
        error: `API key ${row.id} (${row.name}) lacks the admin scope; create one with \`flywheel keys create --scopes admin\``,
      };
    return { ok: true, principal: { keyId: row.id, name: row.name } };
  }

  async function cached(cacheKey: string, load: () => Promise<ApiKeyInfo | undefined>): Promise<KeyCheck> {
    const hit = checks.get(cacheKey);
    if (hit && now() - hit.at < cacheMs) return hit.check;
    const check = judge(await load());
    if (checks.size > 10_000) checks.clear();
    checks.set(cacheKey, { check, at: now() });
    return check;
  }

  function byKey(key: string): Promise<KeyCheck> {
    if (!looksLikeApiKey(key)) return Promise.resolve({ ok: false, error: 'not a Flywheel API key (fw_…)' });
    const hash = hashApiKey(key);
    return cached(`h:${hash}`, () => apiKeyRecord(options.db, { hash }));
  }

  function byId(id: string): Promise<KeyCheck> {
    return cached(`i:${id}`, () => apiKeyRecord(options.db, { id }));
  }

  function mac(payload: string): string {
    return createHmac('sha256', secret).update(payload).digest('base64url');
  }

  function issue(keyId: string): string {
    const payload = `${keyId}.${now() + ttlMs}.${randomBytes(12).toString('base64url')}`;
    return `${payload}.${mac(payload)}`;
  }

  /** The key id of a cookie that is well-signed, unexpired and not signed out. */
  function verify(cookie: string): string | undefined {
    const parts = cookie.split('.');
    if (parts.length !== 4) return undefined;
    const [keyId, exp, nonce, sig] = parts as [string, string, string, string];
    const expected = Buffer.from(mac(`${keyId}.${exp}.${nonce}`));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (!(Number(exp) > now()) || ended.has(nonce)) return undefined;
    return keyId;
  }

  return {
    sessionTtlMs: ttlMs,
    async authenticate(req) {
      const header = req.headers.authorization;
      if (header !== undefined) {
        const m = /^Bearer\s+(\S+)$/i.exec(header);
        if (!m) return { status: 401, error: 'Authorization must be `Bearer <admin API key>`' };
        const check = await byKey(m[1]!);
        return check.ok ? { principal: check.principal, via: 'bearer' } : { status: 403, error: check.error };
      }
      const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      const keyId = cookie ? verify(cookie) : undefined;
      if (!keyId) return { status: 401, error: cookie ? 'your session expired; sign in again' : 'sign in with an admin API key' };
      const check = await byId(keyId);
      return check.ok ? { principal: check.principal, via: 'session' } : { status: 403, error: check.error };
    },
    async login(key) {
      const check = await byKey(key.trim());
      if (!check.ok) return { status: 403, error: check.error };
      return { cookie: issue(check.principal.keyId), principal: check.principal };
    },
    logout(cookie) {
      if (!cookie || !verify(cookie)) return;
      const [, exp, nonce] = cookie.split('.') as [string, string, string];
      const t = now();
      for (const [n, until] of ended) if (until <= t) ended.delete(n);
      ended.set(nonce, Number(exp));
    },
  };
}

/**
 * CSRF guard for state-changing requests: a browser names the page's origin in `Origin` (or at
 * least `Referer`) on every POST; it must be this host. A Bearer request from a script may send
 * neither; a session cookie alone never suffices without one.
 */
export function sameOrigin(req: FastifyRequest, via: 'bearer' | 'session' | 'none'): boolean {
  const host = req.headers.host;
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  if (origin === undefined || origin === 'null') return via === 'bearer' && req.headers.origin === undefined;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
