// A small MLflow REST API 2.0 client over axios: retries with backoff when MLflow is down or
// overloaded, then a clear MlflowUnavailableError; MLflow's own error code and message otherwise.
import axios, { type AxiosInstance, type Method } from 'axios';
import type { MlflowAuth } from '../config/schema.ts';
import { sleep } from '../time/sleep.ts';
import { MlflowError, MlflowUnavailableError } from './errors.ts';

export interface MlflowClientOptions {
  trackingUri: string;
  /** @default 4 */
  attempts?: number;
  /** First retry delay; doubles each time. @default 250 */
  backoffMs?: number;
  /** @default 10000 */
  timeoutMs?: number;
  /** MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD (basic). @default none */
  auth?: MlflowAuth | undefined;
}

/** The Authorization header MLflow's own clients send for these credentials. */
export function authorizationHeader(auth: MlflowAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === 'bearer') return { Authorization: `Bearer ${auth.token.reveal()}` };
  return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString('base64')}` };
}

export class MlflowClient {
  readonly #http: AxiosInstance;
  readonly #artifacts: AxiosInstance;
  readonly #options: Required<Omit<MlflowClientOptions, 'trackingUri' | 'auth'>> & { trackingUri: string };

  constructor(options: MlflowClientOptions) {
    const { auth, ...rest } = options;
    this.#options = { attempts: 4, backoffMs: 250, timeoutMs: 10_000, ...rest };
    const base = options.trackingUri.replace(/\/$/, '');
    const common = { timeout: this.#options.timeoutMs, validateStatus: () => true, headers: authorizationHeader(auth) };
    this.#http = axios.create({ baseURL: `${base}/api/2.0/mlflow/`, ...common });
    // The artifact proxy of `mlflow server --serve-artifacts` (the default since MLflow 2.0).
    this.#artifacts = axios.create({ baseURL: `${base}/api/2.0/mlflow-artifacts/artifacts/`, ...common });
  }

  get trackingUri(): string {
    return this.#options.trackingUri;
  }

  /** Uploads one file through the server's artifact proxy (`path` relative to the artifact root,
   * e.g. `<experimentId>/<runId>/artifacts/report.html`). Retried like `call`. */
  async putArtifact(path: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    const url = path.split('/').map(encodeURIComponent).join('/');
    await this.#retrying('PUT', `mlflow-artifacts/${path}`, () =>
      this.#artifacts.request({ method: 'PUT', url, data: body, headers: { 'Content-Type': contentType } }),
    );
  }

  async call<T>(method: Method, path: string, payload?: Record<string, unknown>): Promise<T> {
    const useQuery = method === 'GET';
    return this.#retrying(method, path, () =>
      this.#http.request<T>({ method, url: path, ...(useQuery ? { params: payload } : { data: payload ?? {} }) }),
    );
  }

  async #retrying<T>(method: Method, path: string, send: () => Promise<{ status: number; data: T }>): Promise<T> {
    let lastError = '';
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      try {
        const res = await send();
        if (res.status < 300) return res.data;
        const body = (res.data ?? {}) as { error_code?: string; message?: string };
        if (res.status < 500 && res.status !== 429) {
          throw new MlflowError(res.status, body.error_code ?? 'UNKNOWN', body.message ?? JSON.stringify(res.data));
        }
        lastError = `HTTP ${res.status} ${body.message ?? ''}`.trim();
      } catch (err) {
        if (err instanceof MlflowError) throw err;
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (attempt < this.#options.attempts) await sleep(this.#options.backoffMs * 2 ** (attempt - 1));
    }
    throw new MlflowUnavailableError(
      `MLflow at ${this.#options.trackingUri} did not answer ${method} ${path} after ${this.#options.attempts} attempts: ${lastError}`,
    );
  }
}
