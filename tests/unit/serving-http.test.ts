// The server's HTTP contract on the embedded stack (PGlite, local artifact store, a real ONNX
// model on ONNX Runtime threads): bad input is refused naming the problem, and a property-based
// fuzz shows garbage never gets a 5xx and never takes the server down. The OpenAPI document's
// tests are in serving-openapi.test.ts.
import fc from 'fast-check';
import { startEmbeddedServer, type EmbeddedServer } from '../fixtures/embedded-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PGliteDatabase } from '../../lib/db/index.ts';
import { sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';

let embedded: EmbeddedServer;
let db: PGliteDatabase;
let url: string;
let valid: FixtureInstance[];

beforeAll(async () => {
  embedded = await startEmbeddedServer({
    FLYWHEEL_SERVE_AUTH: 'false',
    FLYWHEEL_SERVE_BODY_LIMIT_BYTES: '65536',
    FLYWHEEL_SERVE_MAX_INSTANCES: '50',
  });
  ({ db, url } = embedded);
  valid = await sampleInstances(5);
}, 120_000);

afterAll(async () => {
  await embedded?.close();
});

async function post(path: string, body: string, contentType = 'application/json') {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, text };
}

describe('bad input', () => {
  it('a valid request works (the baseline the fuzz mutates)', async () => {
    const res = await post('/v1/models/flights/predict', JSON.stringify({ instances: valid }));
    expect(res.status).toBe(200);
    expect((JSON.parse(res.text) as { predictions: unknown[] }).predictions).toHaveLength(5);
  });

  it.each([
    ['malformed JSON', '{"instances": [', 400, /malformed JSON/],
    ['an empty body', '', 400, /body/i],
    [
      'a missing field',
      JSON.stringify({ instances: [{ date: '2001-01-01T10:00:00', distance: 5, origin: 'SFO' }] }),
      400,
      /instances\[0\]\.destination/,
    ],
    [
      'an extra field',
      JSON.stringify({ instances: [{ date: '2001-01-01T10:00:00', distance: 5, origin: 'SFO', destination: 'LAX', tail: 'N1' }] }),
      400,
      /tail/,
    ],
    [
      'a mistyped field',
      JSON.stringify({ instances: [{ date: '2001-01-01T10:00:00', distance: '5', origin: 'SFO', destination: 'LAX' }] }),
      400,
      /instances\[0\]\.distance.*number/,
    ],
    [
      'Infinity (1e999)',
      '{"instances":[{"date":"2001-01-01T10:00:00","distance":1e999,"origin":"SFO","destination":"LAX"}]}',
      400,
      /distance/,
    ],
    [
      'a date with a zone',
      JSON.stringify({ instances: [{ date: '2001-01-01T10:00:00Z', distance: 5, origin: 'SFO', destination: 'LAX' }] }),
      400,
      /instances\[0\]\.date/,
    ],
    [
      'too many instances',
      JSON.stringify({
        instances: Array.from({ length: 51 }, () => ({ date: '2001-01-01T10:00:00', distance: 5, origin: 'SFO', destination: 'LAX' })),
      }),
      400,
      /instances.*50/,
    ],
    ['no instances', JSON.stringify({ instances: [] }), 400, /instances/],
    [
      'a lone surrogate in a string feature',
      '{"instances":[{"date":"2001-01-01T10:00:00","distance":5,"origin":"\\ud800","destination":"LAX"}]}',
      400,
      /instances\[0\]\.origin: contains an unpaired UTF-16 surrogate/,
    ],
    [
      'a NUL in a string feature',
      '{"instances":[{"date":"2001-01-01T10:00:00","distance":5,"origin":"A\\u0000","destination":"LAX"}]}',
      400,
      /instances\[0\]\.origin: contains a NUL character/,
    ],
    [
      'a NUL in routingKey',
      JSON.stringify({
        instances: [{ date: '2001-01-01T10:00:00', distance: 5, origin: 'SFO', destination: 'LAX' }],
        routingKey: 'k\u0000',
      }),
      400,
      /routingKey: contains a NUL/,
    ],
  ])('%s → %s naming the problem', async (_name, body, status, message) => {
    const res = await post('/v1/models/flights/predict', body);
    expect(res.status).toBe(status);
    const parsed = JSON.parse(res.text) as { error: { code: string; message: string }; requestId: string };
    expect(parsed.error.message).toMatch(message);
    expect(parsed.requestId).toBeTruthy();
  });

  it('an oversized body → 413, a non-JSON content type → 415, an unknown model → 404', async () => {
    expect((await post('/v1/models/flights/predict', JSON.stringify({ instances: valid, pad: 'x'.repeat(70_000) }))).status).toBe(413);
    expect((await post('/v1/models/flights/predict', 'instances=1', 'application/x-www-form-urlencoded')).status).toBe(415);
    const unknown = await post('/v1/models/nope/predict', JSON.stringify({ instances: valid }));
    expect(unknown.status).toBe(404);
    expect((JSON.parse(unknown.text) as { error: { message: string } }).error.message).toBe(
      'model "nope" is not served here (served: flights)',
    );
  });

  it('a header-sourced field is held to its body twin: X-Routing-Key longer than 256 → 400', async () => {
    const res = await fetch(`${url}/v1/models/flights/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-routing-key': 'k'.repeat(15_000) },
      body: JSON.stringify({ instances: valid }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^invalid X-Routing-Key header: .*256/);
  });

  it('a job with a webhookUrl on a server that cannot sign webhooks → 400 saying so', async () => {
    const res = await post('/v1/models/flights/jobs', JSON.stringify({ instances: valid, webhookUrl: 'http://127.0.0.1:22/' }));
    expect(res.status).toBe(400);
    expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(/^webhookUrl: webhooks are off on this server/);
  });

  it('small things a careless client hits get a 4xx in the documented format', async () => {
    const overflow = await fetch(`${url}/v1/admin/models/flights/routing`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { version: 2147483648, weight: 0.1 } }),
    });
    expect(overflow.status).toBe(400);
    expect(((await overflow.json()) as { error: { message: string } }).error.message).toMatch(/canary\.version/);
    const longName = 'm'.repeat(10_000);
    const tooLong = await post(`/v1/models/${longName}/predict`, JSON.stringify({ instances: valid }));
    expect(tooLong.status).toBe(414);
    const body = JSON.parse(tooLong.text) as { error: { code: string; message: string }; requestId: string };
    expect(body.error).toEqual({ code: 'uriTooLong', message: 'a path parameter is longer than 200 characters' });
    expect(tooLong.text).not.toContain('mmmmmmmmmm');
    const badJob = await post('/v1/models/flights/jobs', JSON.stringify({ instances: [{ ...valid[0], date: '2001-01-01T10:00:00Z' }] }));
    expect(badJob.status).toBe(400);
    expect((JSON.parse(badJob.text) as { error: { message: string } }).error.message).toMatch(
      /^invalid request body: instances\[0\]\.date: must be a naive timestamp/,
    );
  });

  it('every bad field is named, at most five, with how many more', async () => {
    const bad = { date: 'soon', distance: 'far', origin: 1.5, destination: {}, tail: 'N1' };
    const res = await post('/v1/models/flights/predict', JSON.stringify({ instances: [valid[0], { ...bad, destination: 'LAX' }, bad] }));
    expect(res.status).toBe(400);
    const message = (JSON.parse(res.text) as { error: { message: string } }).error.message;
    // The generic check runs first: an object value is refused before the model looks.
    expect(message).toBe(
      'invalid request body: instances[2].destination: must be a string, a number, a boolean, null or an array of numbers, not an object',
    );
    const typed = await post(
      '/v1/models/flights/predict',
      JSON.stringify({
        instances: [
          { ...bad, destination: 'LAX' },
          { ...bad, destination: 'LAX' },
        ],
      }),
    );
    expect((JSON.parse(typed.text) as { error: { message: string } }).error.message).toBe(
      'invalid request body: instances[0].tail: unknown field (flights reads date (timestamp), distance (number), origin (string), destination (string)); ' +
        'instances[1].tail: unknown field (flights reads date (timestamp), distance (number), origin (string), destination (string)); ' +
        'instances[0].date: must be a naive timestamp like 2001-03-04T13:45:00 (no zone) or null; ' +
        'instances[0].distance: must be a finite number or null; ' +
        'instances[0].origin: must be a string, an integer or null (and 3 more)',
    );
  });

  it('GET /v1/models/:name/schema describes the champion from its fitted features, with an example that predicts', async () => {
    const res = await fetch(`${url}/v1/models/flights/schema`);
    expect(res.status).toBe(200);
    const schema = (await res.json()) as { task: string; inputs: unknown[]; example: Record<string, unknown>; predictionFields: string[] };
    expect(schema.task).toBe('binary');
    expect(schema.predictionFields).toEqual(['probability']);
    expect(schema.inputs).toEqual([
      { name: 'date', kind: 'timestamp' },
      { name: 'distance', kind: 'number' },
      { name: 'origin', kind: 'string' },
      { name: 'destination', kind: 'string' },
    ]);
    const predicted = await post('/v1/models/flights/predict', JSON.stringify({ instances: [schema.example] }));
    expect(predicted.status).toBe(200);
    expect((await fetch(`${url}/v1/models/nope/schema`)).status).toBe(404);
  });

  it('a NUL in a feedback requestId → 400, not a database error', async () => {
    const res = await post('/v1/feedback', '{"requestId":"r\\u0000","label":1}');
    expect(res.status).toBe(400);
    expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(/requestId: contains a NUL/);
  });

  it('after poison requests, a normal prediction still reaches the log within the flush interval', async () => {
    for (const origin of ['\\ud800', 'A\\u0000', '\\udc00x']) {
      await post(
        '/v1/models/flights/predict',
        `{"instances":[{"date":"2001-01-01T10:00:00","distance":5,"origin":"${origin}","destination":"LAX"}]}`,
      );
    }
    const ok = await post('/v1/models/flights/predict', JSON.stringify({ instances: valid.slice(0, 1) }));
    expect(ok.status).toBe(200);
    const { requestId } = JSON.parse(ok.text) as { requestId: string };
    const deadline = Date.now() + 2000;
    let logged = 0;
    while (Date.now() < deadline && logged === 0) {
      await new Promise((r) => setTimeout(r, 100));
      logged = (await db.query('SELECT 1 FROM prediction_log WHERE request_id = $1', [requestId])).rowCount;
    }
    expect(logged).toBe(1);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { predictionLog: { consecutiveFailures: number; quarantined: number } };
    expect(ready.predictionLog.consecutiveFailures).toBe(0);
  });

  it('fuzz: arbitrary JSON, mutated instances and raw strings never get a 5xx, and the server stays up', async () => {
    const field = fc.oneof(fc.jsonValue(), fc.double(), fc.string(), fc.constant(null), fc.integer());
    const mutated = fc.record(
      {
        date: fc.oneof(
          field,
          fc.constant('2001-03-04T13:45:00'),
          fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString().slice(0, 19))),
        ),
        distance: fc.oneof(field, fc.double({ min: 0, max: 5000 })),
        origin: fc.oneof(field, fc.constantFrom('SFO', 'LAX', 'ZZZ')),
        destination: field,
        extra: field,
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.array(mutated, { maxLength: 4 }).map((instances) => JSON.stringify({ instances })),
      fc
        .record({ instances: fc.array(mutated, { maxLength: 3 }), routingKey: field }, { requiredKeys: ['instances'] })
        .map((b) => JSON.stringify(b)),
      fc.string({ maxLength: 200 }),
    );
    const paths = fc.constantFrom(
      '/v1/models/flights/predict',
      '/v1/feedback',
      '/v1/models/flights/jobs',
      '/v1/admin/models/flights/routing',
      '/v1/models/%00/predict',
    );
    await fc.assert(
      fc.asyncProperty(paths, bodies, async (path, body) => {
        const res = await post(path, body);
        // A valid job is refused with the documented 503 here: this server has no Temporal to start it on.
        const documented503 = path.endsWith('/jobs') && res.status === 503 && /"code":"unavailable"/.test(res.text);
        if (!documented503) expect(res.status, `${path} ${body.slice(0, 200)} → ${res.text.slice(0, 200)}`).toBeLessThan(500);
        expect(() => JSON.parse(res.text)).not.toThrow();
      }),
      { numRuns: 400 },
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await post('/v1/models/flights/predict', JSON.stringify({ instances: valid }))).status).toBe(200);
  }, 120_000);
});
