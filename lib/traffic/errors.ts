// The one error type of traffic replay: a problem that stops a replay before it starts, with a
// code a caller can branch on and a message a person can act on.

export const TRAFFIC_REPLAY_ERRORS = {
  /** The month is malformed or not in the data. */
  badMonth: 'badMonth',
  /** Nothing answers at the server URL. */
  unreachable: 'unreachable',
  /** The key is missing, unknown or revoked (401). */
  unauthorized: 'unauthorized',
  /** The key lacks the `predict` scope, or the `feedback` scope labels need (403). */
  forbidden: 'forbidden',
  /** The server does not serve the model (404). */
  unknownModel: 'unknownModel',
  /** Options out of range, or an unexpected answer from the server. */
  invalid: 'invalid',
} as const;

export type TrafficReplayErrorCode = keyof typeof TRAFFIC_REPLAY_ERRORS;

export class TrafficReplayError extends Error {
  override readonly name = 'TrafficReplayError';
  readonly code: TrafficReplayErrorCode;

  constructor(code: TrafficReplayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
