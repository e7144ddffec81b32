// A small MLflow REST API 2.0 client over axios: retries with backoff when MLflow is down or
// overloaded, then a clear MlflowUnavailableError; MLflow's own error code and message otherwise.
import axios, { type AxiosInstance, type Method } from 'axios';
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
}

export class MlflowClient {
  readonly #http: AxiosInstance;
  readonly #options: Required<Omit<MlflowClientOptions, 'trackingUri'>> & { trackingUri: string };

  constructor(options: MlflowClientOptions) {
    this.#options = { attempts: 4, backoffMs: 250, timeoutMs: 10_000, ...options };
    this.#http = axios.create({
      baseURL: `${options.trackingUri.replace(/\/$/, '')}/api/2.0/mlflow/`,
      timeout: this.#options.timeoutMs,
      validateStatus: () => true,
    });
  }

  async call<T>(method: Method, path: string, payload?: Record<string, unknown>): Promise<T> {
    const useQuery = method === 'GET';
    let lastError = '';
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      try {
        const res = await this.#http.request({ method, url: path, ...(useQuery ? { params: payload } : { data: payload ?? {} }) });
        if (res.status < 300) return res.data as T;
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
