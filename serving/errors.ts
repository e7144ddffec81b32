// One error type for everything the server answers with a 4xx/5xx, mapped to a status in one
// place (the HTTP error handler). `code` is stable for clients; `message` names the problem.

export const ERROR_CODES = {
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  payloadTooLarge: 413,
  uriTooLong: 414,
  unsupportedMediaType: 415,
  headersTooLarge: 431,
  rateLimited: 429,
  overloaded: 503,
  unavailable: 503,
  timeout: 504,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ServingError extends Error {
  override readonly name = 'ServingError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds after which a retry may succeed (429/503). */
    readonly retryAfterS?: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}
