// Request ids are the server's: a prediction's id is a random UUID, or — when the client sent its
// own X-Request-Id — that id inside the namespace of the key that made the request
// (`<keyId>:<clientId>`), so no client can choose an id that refers to another key's prediction.
// Labels (`POST /v1/feedback`) are accepted only for ids of these shapes: a random id is a
// capability (whoever was told it may label it), a namespaced one only by its own key.
import type { Principal } from './http/auth.ts';

/** What a client may send as X-Request-Id (longer or odd ones are ignored, not echoed). */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JOB_ID = /^job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id a prediction is logged and answered under. */
export function issueRequestId(principal: Principal, serverId: string, clientId: unknown): string {
  return typeof clientId === 'string' && CLIENT_REQUEST_ID.test(clientId) ? `${principal.keyId}:${clientId}` : serverId;
}

/** Why `principal` may not label `requestId`, or undefined when it may. */
export function labelRequestIdProblem(
  principal: Principal,
  requestId: string,
): { status: 'badRequest' | 'forbidden'; message: string } | undefined {
  if (UUID.test(requestId) || JOB_ID.test(requestId)) return undefined;
  const colon = requestId.indexOf(':');
  if (colon <= 0)
    return {
      status: 'badRequest',
      message: 'requestId: not a request id this server issued (use the requestId a prediction answered with)',
    };
  if (requestId.slice(0, colon) !== principal.keyId) {
    return {
      status: 'forbidden',
      message: 'requestId: a prediction made under a client-chosen X-Request-Id can be labelled only with the key that made it',
    };
  }
  return undefined;
}
