// API-key authentication and per-key rate limits, as one request hook. Keys come in
// `Authorization: Bearer <key>` or `X-API-Key` and are verified from the in-memory key snapshot
// (serving/key-cache.ts), so a request costs a hash and a map read and never waits on the
// database.
import type { FastifyRequest } from 'fastify';
import { looksLikeApiKey, type ApiKeyScope } from '../../lib/auth/api-keys.ts';
import { ServingError } from '../errors.ts';
import type { KeyCache } from '../key-cache.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { requireClientCertificate } from './tls.ts';

export interface Principal {
  keyId: string;
  name: string;
  scopes: readonly ApiKeyScope[];
  rateLimitRps: number | null;
}

export interface AuthOptions {
  enabled: boolean;
  keys: KeyCache;
  limiter: RateLimiter;
  rateLimitRps: number;
  rateLimitBurst: number;
  onRateLimited?: () => void;
  /**
   * Admin routes also need a TLS client certificate the client CA signed (FLYWHEEL_SERVE_TLS_CLIENT_CA).
   * @default false
   */
  adminClientCert?: boolean;
}

const ANONYMOUS: Principal = {
  keyId: 'anonymous',
  name: 'anonymous (auth off)',
  scopes: ['predict', 'feedback', 'admin', 'events'],
  rateLimitRps: null,
};

export function createAuthenticator(options: AuthOptions) {
  return async function authenticate(request: FastifyRequest, scope: ApiKeyScope): Promise<Principal> {
    let principal = ANONYMOUS;
    // Checked before the key, and with auth off too: a certificate is a second factor, not a key.
    if (scope === 'admin' && options.adminClientCert) requireClientCertificate(request);
    if (options.enabled) {
      const key = presentedKey(request);
      if (!key)
        throw new ServingError(
          'unauthorized',
          'missing API key: send "Authorization: Bearer <key>" (create one with `flywheel keys create`)',
        );
      const info = looksLikeApiKey(key) ? await options.keys.verify(key, request.ip) : undefined;
      if (!info) throw new ServingError('unauthorized', 'invalid or revoked API key');
      if (!info.scopes.includes(scope))
        throw new ServingError('forbidden', `this API key lacks the "${scope}" scope (it has: ${info.scopes.join(', ')})`);
      principal = { keyId: info.id, name: info.name, scopes: info.scopes, rateLimitRps: info.rateLimitRps };
    }
    const rps = principal.rateLimitRps ?? options.rateLimitRps;
    const burst = principal.rateLimitRps ? Math.max(10, Math.ceil(2 * principal.rateLimitRps)) : options.rateLimitBurst;
    const waitS = options.limiter.take(principal.keyId, rps, burst);
    if (waitS > 0) {
      options.onRateLimited?.();
      throw new ServingError('rateLimited', `rate limit of ${rps} requests/s for this key exceeded`, Math.max(1, Math.ceil(waitS)));
    }
    return principal;
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey ? apiKey : undefined;
}

export interface RowLimitOptions {
  limiter: RateLimiter;
  /** Instances a key may score per second. */
  rowsPerS: number;
  /** Instances a key may score at once (at least the largest request a route accepts). */
  burst: number;
  onRateLimited?: () => void;
}

/**
 * The second limit: rows (instances), not requests. A 1,000-instance request costs the server
 * about a thousand times a single one, so counting requests alone lets one key's batches take
 * the capacity every other key shares.
 */
export function createRowLimiter(options: RowLimitOptions) {
  const bucket = (principal: Principal) => `rows:${principal.keyId}`;
  function limitRows(principal: Principal, rows: number): void {
    const waitS = options.limiter.take(bucket(principal), options.rowsPerS, options.burst, Math.min(rows, options.burst));
    if (waitS > 0) {
      options.onRateLimited?.();
      throw new ServingError(
        'rateLimited',
        `row limit of ${options.rowsPerS} instances/s for this key exceeded (this request has ${rows})`,
        Math.max(1, Math.ceil(waitS)),
      );
    }
  }
  /** Before the body is read: a key with no rows left is refused without parsing its body, so
   * the refusals cost the server (and the other keys) next to nothing. */
  function precheck(principal: Principal): void {
    const available = options.limiter.available(bucket(principal), options.rowsPerS, options.burst);
    if (available < 1) {
      options.onRateLimited?.();
      throw new ServingError(
        'rateLimited',
        `row limit of ${options.rowsPerS} instances/s for this key exceeded`,
        Math.max(1, Math.ceil((1 - available) / options.rowsPerS)),
      );
    }
  }
  return Object.assign(limitRows, { precheck });
}

export type LimitRows = ReturnType<typeof createRowLimiter>;

const PRINCIPALS = new WeakMap<FastifyRequest, Principal>();

/**
 * An `onRequest` hook for routes that take work in their body: authenticates (and, with a row
 * limiter, checks the key has rows left) before the body is read, so a refused request costs no
 * body parsing.
 */
export function authenticateBeforeBody(authenticate: Authenticate, scope: ApiKeyScope, limitRows?: LimitRows) {
  return async function authenticateHook(request: FastifyRequest): Promise<void> {
    const principal = await authenticate(request, scope);
    limitRows?.precheck(principal);
    PRINCIPALS.set(request, principal);
  };
}

/** The principal `authenticateBeforeBody` stored for this request. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = PRINCIPALS.get(request);
  if (!principal) throw new Error('route is missing its authenticateBeforeBody hook');
  return principal;
}
