// The inference server's admin API as the rollout uses it: read and set a model's canary and
// shadow, and reload aliases. Errors say which server and what it answered; a 4xx that retrying
// cannot fix is marked permanent, anything else (server down, 5xx) is left to activity retries.
import { servingErrorMessage, type ServingRoute, type ServingRouteChange } from '../contracts/serving-admin.ts';
import type { CircuitBreaker } from '../resilience/breaker.ts';

export class ServingAdminError extends Error {
  override readonly name = 'ServingAdminError';
  constructor(
    message: string,
    /** True when the server's answer will not change by asking again (bad key, bad request). */
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ServingAdminOptions {
  url: string;
  adminKey?: string;
  /** @default 10000 */
  timeoutMs?: number;
  /** Every call runs under it (see `isNeutralServingAdminError`): while it is open, calls fail at
   * once with DependencyUnavailableError instead of waiting out `timeoutMs` each. */
  breaker?: CircuitBreaker;
}

/** The server answered, with a refusal about the request (4xx): it is up, whatever it said. */
export function isNeutralServingAdminError(err: unknown): boolean {
  return err instanceof ServingAdminError && err.status !== undefined && err.status < 500;
}

export interface ServingAdmin {
  getRoute(model: string): Promise<ServingRoute>;
  setRoute(model: string, change: ServingRouteChange): Promise<ServingRoute>;
  reload(model: string): Promise<ServingRoute>;
}

export function createServingAdmin(options: ServingAdminOptions): ServingAdmin {
  const base = options.url.replace(/\/+$/, '');
  function call(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<ServingRoute> {
    const breaker = options.breaker;
    return breaker ? breaker.run((signal) => send(method, path, body, signal)) : send(method, path, body);
  }
  async function send(method: 'GET' | 'PUT' | 'POST', path: string, body: unknown, deadline?: AbortSignal): Promise<ServingRoute> {
    const url = `${base}${path}`;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(options.adminKey ? { authorization: `Bearer ${options.adminKey}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: deadline ? AbortSignal.any([timeout, deadline]) : timeout,
      });
    } catch (err) {
      throw new ServingAdminError(`inference server ${base} unreachable (${method} ${path}): ${(err as Error).message}`, false);
    }
    const text = await res.text();
    if (!res.ok) {
      // The server answers `{ error: { code, message } }`; a proxy in front may answer plain text.
      const message = servingErrorMessage(text) ?? text;
      const hint = res.status === 401 || res.status === 403 ? ' (FLYWHEEL_SERVING_ADMIN_KEY needs a key with the admin scope)' : '';
      // 404: the server may not have loaded the model yet (it polls the registry); 409: a
      // reload conflict may clear; 429/5xx: transient. Other 4xx are the request's fault.
      const permanent = res.status >= 400 && res.status < 500 && ![404, 408, 409, 429].includes(res.status);
      throw new ServingAdminError(`${method} ${url} → ${res.status}: ${message}${hint}`, permanent, res.status);
    }
    return JSON.parse(text) as ServingRoute;
  }
  const path = (model: string, what: string) => `/v1/admin/models/${encodeURIComponent(model)}/${what}`;
  return {
    getRoute: (model) => call('GET', path(model, 'routing')),
    setRoute: (model, change) => call('PUT', path(model, 'routing'), change),
    reload: (model) => call('POST', path(model, 'reload')),
  };
}
