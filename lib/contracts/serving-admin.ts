// The inference server's HTTP contract shared by the server (serving/http) and its clients
// (lib/rollout/serving-admin.ts): the admin API's routing reply and body, and the error body
// every route answers a failure with.

/** What `GET|PUT /v1/admin/models/:name/routing` and `POST …/reload` answer: a model's traffic split. */
export interface ServingRoute {
  model: string;
  champion: { version: number };
  canary: { version: number; weight: number } | null;
  shadow: { version: number } | null;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** The body of `PUT /v1/admin/models/:name/routing` as the rollout sends it (null clears). */
export interface ServingRouteChange {
  canary: { version: number; weight: number } | null;
  shadow: { version: number } | null;
}

/** Every 4xx/5xx the server sends. `code` is stable (serving/errors.ts lists them); `message` names the problem. */
export interface ServingErrorBody<Code extends string = string> {
  error: { code: Code; message: string };
  requestId: string;
}

/** The server's `error.message` when `text` is its error body; undefined for anything else. */
export function servingErrorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as Partial<ServingErrorBody> | null;
    return typeof body?.error?.message === 'string' ? body.error.message : undefined;
  } catch {
    return undefined;
  }
}
