// The inference server's admin API as the rollout uses it: read and set a model's canary and
// shadow, and reload aliases. Errors say which server and what it answered; a 4xx that retrying
// cannot fix is marked permanent, anything else (server down, 5xx) is left to activity retries.
import { servingErrorMessage, type ServingRoute, type ServingRouteChange } from '../contracts/serving-admin.ts';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { CircuitBreaker } from '../resilience/breaker.ts';
import { traceHeaders } from '../telemetry/spans.ts';

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
  /** HTTPS client settings (file paths): a CA to trust beyond the system's, and the client
   * certificate that admin routes require when the server sets FLYWHEEL_SERVE_TLS_CLIENT_CA. */
  tls?: ServingClientTls;
}

export interface ServingClientTls {
  caPath?: string;
  certPath?: string;
  keyPath?: string;
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
  // Node's fetch takes no client certificate, so with TLS settings the calls go through https.
  const transport: Transport = options.tls ? httpsTransport(options.tls) : fetch;
  function call(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<ServingRoute> {
    const breaker = options.breaker;
    return breaker ? breaker.run((signal) => send(method, path, body, signal)) : send(method, path, body);
  }
  async function send(method: 'GET' | 'PUT' | 'POST', path: string, body: unknown, deadline?: AbortSignal): Promise<ServingRoute> {
    const url = `${base}${path}`;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await transport(url, {
        method,
        headers: {
          // FLYWHEEL_TRACING on: the server's request span joins the rollout activity's trace.
          ...traceHeaders(),
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

type Transport = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<Response>;

/** A fetch-shaped call over node:https with a keep-alive agent holding the CA and client certificate. */
function httpsTransport(tls: ServingClientTls): Transport {
  const read = (path: string | undefined, what: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ServingAdminError(`cannot read ${what} ${path}: ${(err as Error).message}`, true);
    }
  };
  const ca = read(tls.caPath, 'FLYWHEEL_SERVING_TLS_CA');
  const cert = read(tls.certPath, 'FLYWHEEL_SERVING_TLS_CERT');
  const key = read(tls.keyPath, 'FLYWHEEL_SERVING_TLS_KEY');
  const agent = new Agent({ keepAlive: true, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) });
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      if (!url.startsWith('https:')) {
        reject(new Error(`FLYWHEEL_SERVING_TLS_* are set but FLYWHEEL_SERVING_URL is not https: ${url}`));
        return;
      }
      const req = httpsRequest(url, { method: init.method, headers: init.headers, agent, signal: init.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 502;
          // A Response with a no-body status (204, 304) must not be given one.
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status }));
        });
      });
      req.on('error', reject);
      req.end(init.body);
    });
}
