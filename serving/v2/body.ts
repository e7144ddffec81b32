// The body of a V2 infer request: JSON, or (Triton's binary tensor data extension) a JSON header
// of `Inference-Header-Content-Length` bytes followed by the raw tensor bytes. Parsed the same way
// whatever the content type says, since tritonclient sends binary bodies with none at all.
import { ServingError } from '../errors.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

export interface V2Body {
  /** The parsed JSON header (or the whole JSON body). */
  json: unknown;
  /** What follows the JSON header; empty for a plain JSON body. */
  binary: Buffer;
}

/** Splits `raw` by the header length (a header value, or undefined) and parses its JSON part with
 * `parseJson` (Fastify's own, safe against prototype poisoning). */
export function splitBody(raw: Buffer, headerLength: string | string[] | undefined, parseJson: (text: string) => unknown): V2Body {
  if (headerLength === undefined) return { json: parseJsonPart(raw, parseJson), binary: Buffer.alloc(0) };
  const value = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  if (value === undefined || !/^\d{1,12}$/.test(value.trim()))
    throw new ServingError('badRequest', 'Inference-Header-Content-Length must be a number of bytes');
  const length = Number(value.trim());
  if (length > raw.byteLength)
    throw new ServingError('badRequest', `Inference-Header-Content-Length is ${length} but the body has only ${raw.byteLength} bytes`);
  return { json: parseJsonPart(raw.subarray(0, length), parseJson), binary: raw.subarray(length) };
}

function parseJsonPart(bytes: Buffer, parseJson: (text: string) => unknown): unknown {
  if (bytes.byteLength === 0) throw new ServingError('badRequest', 'the request needs a JSON body (an inference request)');
  try {
    return parseJson(bytes.toString('utf8'));
  } catch (err) {
    throw new ServingError('badRequest', `malformed JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
}
