// The fuzz suite that stays: property-based requests against every route the server registers —
// bodies, headers and path parameters full of NULs, lone surrogates, huge and deeply nested
// values — on the embedded stack with auth on. Whatever comes in: no 5xx (but the documented
// 503 of job and event routes without a workflow service), a JSON error in the documented shape,
// the server alive, and the prediction log still writing afterwards.
import fc from 'fast-check';
import { startEmbeddedServer, type EmbeddedServer } from '../fixtures/embedded-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, createApiKey } from '../../lib/auth/api-keys.ts';
import type { PGliteDatabase } from '../../lib/db/index.ts';
import { ERROR_CODES } from '../../serving/errors.ts';
import { sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { routesOf } from '../../serving/http/app.ts';
import type { InferenceServer } from '../../serving/server.ts';

let embedded: EmbeddedServer;
let db: PGliteDatabase;
let server: InferenceServer;
let url: string;
let valid: FixtureInstance[];
let key: string;

beforeAll(async () => {
  embedded = await startEmbeddedServer({
    FLYWHEEL_SERVE_BODY_LIMIT_BYTES: '262144',
    FLYWHEEL_SERVE_MAX_INSTANCES: '50',
    FLYWHEEL_SERVE_RATE_LIMIT_ROWS: '10000000',
  });
  ({ db, server, url } = embedded);
  valid = await sampleInstances(3);
  // Every scope, so each route's body is reached past authentication.
  key = (await createApiKey(db, { name: 'fuzz', scopes: [...API_KEY_SCOPES], rateLimitRps: 1_000_000 })).key;
}, 120_000);

afterAll(async () => {
  await embedded?.close();
});

/** Strings that have broken text handling somewhere: NUL, lone surrogates, control characters,
 * right-to-left marks, very long ones. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'A\u0000B',
    '\ud800',
    '\udfff',
    'x\ud83d',
    '\u202e',
    '\r\n',
    '%00',
    '../../etc/passwd',
    '${jndi:x}',
    "'; DROP TABLE prediction_log; --",
  ),
  fc.integer({ min: 257, max: 20_000 }).map((n) => 'k'.repeat(n)),
);
const value = fc.oneof(
  nasty,
  fc.jsonValue({ maxDepth: 3 }),
  fc.double(),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.constant(2 ** 31),
  fc.constant(-1),
);
const instance = fc.record(
  {
    date: fc.oneof(value, fc.constant('2001-03-04T13:45:00')),
    distance: fc.oneof(value, fc.double({ min: 0, max: 5000 })),
    origin: fc.oneof(value, fc.constantFrom('SFO', 'LAX')),
    destination: fc.oneof(value, fc.constant('JFK')),
    extra: value,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({ instances: fc.array(instance, { maxLength: 4 }), routingKey: value, webhookUrl: value }, { requiredKeys: [] })
    .map((b) => JSON.stringify(b)),
  fc.record({ requestId: value, instance: value, label: value }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  fc
    .record(
      { canary: fc.oneof(value, fc.record({ version: value, weight: value })), shadow: fc.oneof(value, fc.record({ version: value })) },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  fc
    .record(
      { eventId: value, dataset: value, partition: value, uris: fc.array(value, { maxLength: 3 }), retrain: value },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 270_000, max: 600_000 }).map((n) => JSON.stringify({ instances: valid, pad: 'x'.repeat(n) })),
  fc.string({ maxLength: 100 }),
);
/** A path segment: raw characters percent-encoded byte by byte, lone surrogates included. */
const segment = fc.oneof(
  fc.constantFrom('flights', 'job-00000000-0000-0000-0000-000000000000', 'nope'),
  nasty.map((s) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  fc.constantFrom('%ED%A0%80', '%00', '%', '%zz', '..', 'a'.repeat(5000)),
);
/** Header values fetch can send (latin-1, no CR/LF/NUL), some very long. */
const headerValue = fc.oneof(
  { arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }), weight: 30 },
  { arbitrary: fc.integer({ min: 257, max: 4000 }).map((n) => 'h'.repeat(n)), weight: 4 },
  { arbitrary: fc.constant('h'.repeat(17_000)), weight: 1 },
);
const headers = fc.record(
  {
    // Mostly the real key, so requests get past authentication to the bodies.
    authorization: fc.oneof(
      { arbitrary: fc.constant('KEY'), weight: 6 },
      { arbitrary: headerValue.map((v) => `Bearer ${v}`), weight: 1 },
      { arbitrary: headerValue, weight: 1 },
    ),
    'x-routing-key': headerValue,
    'x-request-id': headerValue,
    'x-api-key': headerValue,
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data'),
  },
  { requiredKeys: ['authorization'] },
);

const DOCUMENTED_CODES = new Set(Object.keys(ERROR_CODES));

describe('fuzz: every route, body, header and path parameter', () => {
  it('never answers 5xx (but the documented 503s), always in the documented error shape, and the log keeps writing', async () => {
    const routes = routesOf(server.app);
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const writtenBefore = server.metrics ? (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM prediction_log')).rows[0]!.n : 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(segment, { minLength: 2, maxLength: 2 }),
        headers,
        body,
        async (route, segments, hdrs, payload) => {
          let i = 0;
          const path = route.url.replace(/:(\w+)/g, () => segments[i++ % 2]!);
          const h: Record<string, string> = { ...hdrs };
          if (h.authorization === 'KEY') h.authorization = `Bearer ${key}`;
          let res: Response;
          try {
            res = await fetch(`${url}${path}`, { method: route.method, headers: h, ...(route.method === 'GET' ? {} : { body: payload }) });
          } catch (err) {
            // The client refused to send it (e.g. a URL it cannot parse): nothing reached the server.
            if (err instanceof TypeError && !String((err as { cause?: unknown }).cause ?? '').includes('ECONNRESET')) return;
            throw err;
          }
          const text = await res.text();
          const where = `${route.method} ${path.slice(0, 120)} (${payload.length} bytes) → ${res.status} ${text.slice(0, 200)}`;
          const workflowRoute = route.url.includes('/jobs') || route.url.includes('/events/');
          if (res.status >= 500) expect(workflowRoute && res.status === 503, where).toBe(true);
          // The Open Inference Protocol's routes answer errors as its clients read them, `{error:
          // string}` — all but oversized headers, which Node refuses before any URL is parsed.
          if (res.status >= 400 && route.url.startsWith('/v2') && res.status !== 431) {
            expect(typeof (JSON.parse(text) as { error?: unknown }).error, where).toBe('string');
          } else if (res.status >= 400) {
            const parsed = JSON.parse(text) as { error?: { code?: string; message?: string }; requestId?: string };
            expect(DOCUMENTED_CODES.has(parsed.error?.code ?? ''), where).toBe(true);
            expect(typeof parsed.error?.message, where).toBe('string');
            expect(parsed.requestId, where).toBeTruthy();
          }
        },
      ),
      { numRuns: 500 },
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // A normal prediction made after the fuzz is in the log within the flush interval (200 ms).
    const ok = await fetch(`${url}/v1/models/flights/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: valid.slice(0, 1) }),
    });
    expect(ok.status).toBe(200);
    const { requestId } = (await ok.json()) as { requestId: string };
    let logged = 0;
    for (let t = 0; t < 20 && logged === 0; t++) {
      await new Promise((r) => setTimeout(r, 100));
      logged = (await db.query('SELECT 1 FROM prediction_log WHERE request_id = $1', [requestId])).rowCount;
    }
    expect(logged).toBe(1);
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM prediction_log')).rows[0]!.n;
    expect(after).toBeGreaterThan(writtenBefore);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { predictionLog: { consecutiveFailures: number; dropped: number } };
    expect(ready.predictionLog).toMatchObject({ consecutiveFailures: 0, dropped: 0 });
  }, 300_000);
});
