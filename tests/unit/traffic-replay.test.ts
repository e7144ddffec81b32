// Traffic replay against a small fake inference server on 127.0.0.1: pacing, order, delayed
// labels and their share, failure counting, bounded in-flight requests, stop and abort, the
// preflight's errors; reading rows of a CSV file as any model's instances (the weather dataset,
// multiclass), and a month of the flights example in order.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { monthFlights, type ReplayFlight } from '../../examples/flights/traffic-source.ts';
import { replayTraffic, tableRows, TrafficReplayError, type ReplayRow } from '../../lib/traffic/replay.ts';

interface Seen {
  at: number;
  body: {
    instances?: Array<{ date: string }>;
    routingKey?: string;
    requestId?: string;
    instance?: number;
    label?: number | string;
    model?: string;
  };
}

const predictions: Seen[] = [];
const answered = new Map<string, number>();
const labels: Seen[] = [];
let behaviour: { failEvery?: number; hangEvery?: number; delayMs?: number } = {};
let inFlight = 0;
let maxInFlight = 0;
// Requests a previous test left hanging must not count in this test's in-flight numbers.
let generation = 0;
let server: Server;
let url: string;

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Seen['body']) : {};
  const auth = req.headers.authorization;
  if (auth === 'Bearer bad') return reply(res, 401, { error: { code: 'unauthorized', message: 'unknown API key' } });
  if (auth === 'Bearer admin-only')
    return reply(res, 403, { error: { code: 'forbidden', message: 'this API key lacks the "predict" scope' } });
  if (req.method === 'GET' && req.url === '/v1/models') return reply(res, 200, { models: [{ name: 'm' }] });
  if (req.method === 'POST' && req.url === '/v1/models/m/predict') {
    const n = predictions.push({ at: performance.now(), body });
    const mine = generation;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (behaviour.hangEvery && n % behaviour.hangEvery === 0) await new Promise((r) => setTimeout(r, 2000));
      if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
      if (behaviour.failEvery && n % behaviour.failEvery === 0)
        return reply(res, 503, { error: { code: 'unavailable', message: 'queue full' } });
      const requestId = `req-${n}`;
      answered.set(requestId, performance.now());
      return reply(res, 200, {
        requestId,
        model: 'm',
        predictions: body.instances!.map(() => ({ probability: 0.5, version: 1, cached: false })),
      });
    } finally {
      if (mine === generation) inFlight--;
    }
  }
  if (req.method === 'POST' && req.url === '/v1/feedback') {
    // As the real server: scope first, then the body.
    if (auth === 'Bearer predict-only')
      return reply(res, 403, { error: { code: 'forbidden', message: 'this API key lacks the "feedback" scope' } });
    if (!(body as { requestId?: string }).requestId)
      return reply(res, 400, { error: { code: 'badRequest', message: 'invalid request body: requestId: required' } });
    labels.push({ at: performance.now(), body });
    return reply(res, 202, { stored: true });
  }
  reply(res, 404, { error: { code: 'notFound', message: 'no route' } });
}

async function* fakeFlights(count: number): AsyncGenerator<ReplayFlight> {
  for (let i = 0; i < count; i++) {
    yield {
      instance: { date: `2001-03-01T${String(i % 24).padStart(2, '0')}:00:00`, distance: 100 + i, origin: 'SFO', destination: 'LAX' },
      key: `flight-${i}`,
      label: i % 3 === 0 ? 1 : 0,
    };
  }
}

const base = { model: 'm', source: '2001-03', apiKey: 'good' } as const;

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  predictions.length = 0;
  labels.length = 0;
  answered.clear();
  behaviour = {};
  generation++;
  inFlight = 0;
  maxInFlight = 0;
});

describe('replayTraffic', () => {
  it('sends flights in order at a steady rate, never in bursts, with the flight as routing key', async () => {
    const t0 = performance.now();
    const stats = await replayTraffic({ ...base, baseUrl: url, rows: fakeFlights(30), rate: 50, feedbackShare: 0 });
    const elapsed = performance.now() - t0;
    expect(stats).toMatchObject({ instances: 30, sent: 30, ok: 30, failed: 0, stopped: false });
    expect(elapsed).toBeGreaterThanOrEqual(29 * 20 - 15);
    expect(elapsed).toBeLessThan(2000); // loose: CI runs other test files on the same two cores
    // Sent in order; the server may see neighbours swapped when a request waits for a new
    // keep-alive connection, so arrival order is checked up to a displacement of two.
    const arrived = predictions.map((p) => String(p.body.routingKey));
    expect([...arrived].sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)))).toEqual(
      Array.from({ length: 30 }, (_, i) => `flight-${i}`),
    );
    arrived.forEach((key, position) =>
      expect(Math.abs(Number(key.slice(7)) - position), `${key} arrived at ${position}`).toBeLessThanOrEqual(2),
    );
    // 50/s is one request per 20 ms: no 100 ms window may hold more than 5 (+1 for timer jitter).
    const times = predictions.map((p) => p.at);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 100).length).toBeLessThanOrEqual(6);
    expect(stats.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50);
    expect(stats.rate).toBeGreaterThan(30);
    expect(stats.rate).toBeLessThan(60);
  });

  it('posts each true label after the feedback delay, to the right request and instance, for the chosen share', async () => {
    const stats = await replayTraffic({
      ...base,
      baseUrl: url,
      rows: fakeFlights(60),
      rate: 200,
      batch: 3,
      feedbackDelayMs: 300,
      feedbackShare: 0.5,
    });
    expect(stats).toMatchObject({ instances: 60, sent: 20, ok: 20 });
    expect(stats.feedback.posted + stats.feedback.skipped).toBe(60);
    expect(stats.feedback.posted).toBeGreaterThan(15);
    expect(stats.feedback.posted).toBeLessThan(45);
    expect(stats.feedback).toMatchObject({ failed: 0, pending: 0, abandoned: 0 });
    expect(labels).toHaveLength(stats.feedback.posted);
    for (const l of labels) {
      const n = Number(l.body.requestId!.slice('req-'.length));
      const flightIndex = (n - 1) * 3 + l.body.instance!;
      expect(predictions[n - 1]!.body.instances![l.body.instance!]!.date).toBe(
        `2001-03-01T${String(flightIndex % 24).padStart(2, '0')}:00:00`,
      );
      expect(l.body.label).toBe(flightIndex % 3 === 0 ? 1 : 0);
      expect(l.at - answered.get(l.body.requestId!)!).toBeGreaterThanOrEqual(295);
    }
    // The same flights are labelled every time.
    const first = labels.map((l) => `${l.body.requestId}/${l.body.instance}`).sort();
    labels.length = 0;
    predictions.length = 0;
    await replayTraffic({ ...base, baseUrl: url, rows: fakeFlights(60), rate: 200, batch: 3, feedbackDelayMs: 0, feedbackShare: 0.5 });
    expect(labels.map((l) => `${l.body.requestId}/${l.body.instance}`).sort()).toEqual(first);
  });

  it('counts failures by status and timeouts, and labels only the flights that were predicted', async () => {
    behaviour = { failEvery: 4, hangEvery: 10 };
    const stats = await replayTraffic({
      ...base,
      baseUrl: url,
      rows: fakeFlights(20),
      rate: 100,
      feedbackDelayMs: 0,
      requestTimeoutMs: 300,
    });
    // Requests 4, 8, 12, 16 and 20 get 503 (20 after hanging past the timeout); 10 times out.
    expect(stats.failures).toEqual({ '503': 4, timeout: 2 });
    expect(stats).toMatchObject({ sent: 20, ok: 14, failed: 6 });
    expect(stats.feedback.posted).toBe(14);
  });

  it('keeps at most maxInFlight requests open against a slow server', async () => {
    behaviour = { delayMs: 100 };
    const stats = await replayTraffic({ ...base, baseUrl: url, rows: fakeFlights(10), rate: 1000, maxInFlight: 2, feedbackShare: 0 });
    expect(stats.ok).toBe(10);
    expect(maxInFlight).toBe(2);
  });

  it('stops sending on stopSignal but still posts the labels it owes, when due', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 150);
    const t0 = performance.now();
    const stats = await replayTraffic({
      ...base,
      baseUrl: url,
      rows: fakeFlights(1000),
      rate: 50,
      feedbackDelayMs: 400,
      stopSignal: stop.signal,
    });
    expect(stats.stopped).toBe(true);
    expect(stats.sent).toBeGreaterThan(1);
    expect(stats.sent).toBeLessThan(15);
    expect(stats.feedback).toMatchObject({ posted: stats.ok, abandoned: 0 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(500);
  });

  it('on abort returns at once, abandoning the labels not yet due', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    const t0 = performance.now();
    const stats = await replayTraffic({
      ...base,
      baseUrl: url,
      rows: fakeFlights(1000),
      rate: 50,
      feedbackDelayMs: 10_000,
      signal: abort.signal,
    });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(stats.stopped).toBe(true);
    expect(stats.sent).toBeLessThan(15);
    expect(stats.feedback).toMatchObject({ posted: 0, abandoned: stats.ok });
    expect(labels).toHaveLength(0);
  });

  it('refuses before sending: unreachable server, refused key, missing scope, unknown model, bad options', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const run = (extra: Partial<Parameters<typeof replayTraffic>[0]>) =>
      replayTraffic({ ...base, baseUrl: url, rows: fakeFlights(5), rate: 10, ...extra });

    await expect(run({ baseUrl: deadUrl })).rejects.toThrow(
      new TrafficReplayError(
        'unreachable',
        `cannot reach the inference server at ${deadUrl} (ECONNREFUSED); is \`flywheel serve\` running there?`,
      ),
    );
    await expect(run({ apiKey: 'bad' })).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/refused the API key \(401: unknown API key\).*--scopes predict/),
    });
    await expect(run({ apiKey: 'admin-only' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('lacks the "predict" scope'),
    });
    await expect(run({ apiKey: 'predict-only' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('lacks the "feedback" scope that labels need'),
    });
    expect((await run({ apiKey: 'predict-only', feedbackShare: 0 })).ok).toBe(5); // no labels, no feedback scope needed
    predictions.length = 0;
    await expect(run({ model: 'nope' })).rejects.toMatchObject({
      code: 'unknownModel',
      message: `the inference server at ${url} does not serve model "nope" (404; served: m)`,
    });
    await expect(run({ rate: 0 })).rejects.toMatchObject({
      code: 'invalid',
      message: 'rate must be a positive number of requests per second, got 0',
    });
    expect(predictions).toHaveLength(0);
  });
});

describe('tableRows', () => {
  const weather = 'node_modules/vega-datasets/data/weather.csv';
  const inputs = [
    { name: 'location', kind: 'string' },
    { name: 'date', kind: 'timestamp' },
    { name: 'precipitation', kind: 'number' },
    { name: 'temp_max', kind: 'number' },
  ];

  it("reads a CSV's rows as the model's instances in time order, with a class-name label", async () => {
    const rows: ReplayRow[] = [];
    for await (const r of tableRows(weather, { inputs, label: 'weather', orderBy: 'date', limit: 50, chunkRows: 16 })) rows.push(r);
    expect(rows).toHaveLength(50);
    expect(Object.keys(rows[0]!.instance)).toEqual(['location', 'date', 'precipitation', 'temp_max']);
    const dates = rows.map((r) => r.instance.date as string);
    expect([...dates].sort()).toEqual(dates);
    expect(dates[0]).toBe('2012-01-01T00:00:00');
    expect(rows.every((r) => typeof r.instance.precipitation === 'number' && typeof r.label === 'string')).toBe(true);
    expect(new Set(rows.map((r) => r.label)).size).toBeGreaterThan(1);
    expect(rows[0]!.key).toBe('row-1');
  });

  it('reads a regression table: hourly timestamps as naive text, a numeric label', async () => {
    const rows: ReplayRow[] = [];
    const hourly = tableRows('node_modules/vega-datasets/data/seattle-weather-hourly-normals.csv', {
      inputs: [
        { name: 'date', kind: 'timestamp' },
        { name: 'pressure', kind: 'number' },
        { name: 'wind', kind: 'number' },
      ],
      label: 'temperature',
      orderBy: 'date',
      limit: 3,
    });
    for await (const r of hourly) rows.push(r);
    expect(rows).toEqual([
      { instance: { date: '2010-01-01T01:00:00', pressure: 1016.6, wind: 3.8 }, key: 'row-1', label: 4 },
      { instance: { date: '2010-01-01T02:00:00', pressure: 1016.6, wind: 3.8 }, key: 'row-2', label: 3.9 },
      expect.objectContaining({ key: 'row-3' }),
    ]);
  });

  it('a sample is the asked number of labelled rows, still in file order', async () => {
    // 400 rows, every third label null: a sample of 50 must come from the labelled ones, in order.
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-sample-'));
    const csv = join(dir, 'rows.csv');
    const lines = ['x,y', ...Array.from({ length: 400 }, (_, i) => `${i},${i % 3 === 0 ? '' : i % 2}`)];
    await writeFile(csv, `${lines.join('\n')}\n`);
    const rows: ReplayRow[] = [];
    for await (const r of tableRows(csv, { inputs: [{ name: 'x', kind: 'number' }], label: 'y', sample: 50, chunkRows: 16 })) rows.push(r);
    expect(rows).toHaveLength(50);
    const xs = rows.map((r) => r.instance.x as number);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(xs.every((x) => x % 3 !== 0)).toBe(true);
  });

  it('names the columns the file lacks', async () => {
    const read = async () => {
      for await (const r of tableRows(weather, { inputs: [...inputs, { name: 'pressure', kind: 'number' }], label: 'weather' })) void r;
    };
    await expect(read()).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/has no column pressure \(it has /) });
  });

  it('posts a class-name label with the model, so the server checks it against the task', async () => {
    const rows = tableRows(weather, { inputs, label: 'weather', key: 'date', limit: 4 });
    const stats = await replayTraffic({ ...base, baseUrl: url, source: 'weather.csv', rows, rate: 200, feedbackDelayMs: 0 });
    expect(stats).toMatchObject({ ok: 4, instances: 4, source: 'weather.csv', feedback: { posted: 4 } });
    expect(labels.map((l) => l.body.model)).toEqual(['m', 'm', 'm', 'm']);
    expect(labels.every((l) => typeof l.body.label === 'string')).toBe(true);
    expect(predictions[0]!.body.routingKey).toMatch(/^2012-01-0\d/);
  });
});

describe('monthFlights (the flights example)', () => {
  it("reads the month's real flights in scheduled order, labelled delay > 15", async () => {
    const flights: ReplayFlight[] = [];
    for await (const f of monthFlights('2001-02', { limit: 300, chunkRows: 128 })) flights.push(f);
    expect(flights).toHaveLength(300);
    const dates = flights.map((f) => f.instance.date);
    expect([...dates].sort()).toEqual(dates);
    expect(dates[0]!.startsWith('2001-02-01T')).toBe(true);
    expect(flights[0]!.key).toBe(`${flights[0]!.instance.origin}-${flights[0]!.instance.destination}-${dates[0]}`);
    const truth = await withDuck((duck) =>
      duck.all<{ date: string; origin: string; destination: string; distance: number; delay: number }>(
        `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, origin, destination, distance::DOUBLE AS distance, delay::DOUBLE AS delay
         FROM read_parquet('${flightsParquetPath()}') WHERE strftime(date, '%Y-%m') = '2001-02' ORDER BY date, origin, destination, distance, delay LIMIT 300`,
      ),
    );
    expect(flights.map((f) => f.label)).toEqual(truth.map((t) => (t.delay > 15 ? 1 : 0)));
    expect(flights.map((f) => f.instance)).toEqual(
      truth.map(({ date, distance, origin, destination }) => ({ date, distance, origin, destination })),
    );
  });

  it('names the months it has when asked for one it lacks', async () => {
    const read = async () => {
      for await (const f of monthFlights('2001-09')) void f;
    };
    await expect(read()).rejects.toMatchObject({
      code: 'badMonth',
      message: expect.stringMatching(
        /^the flights data has no month 2001-09 \(available: 2001-01, 2001-02, 2001-03, 2001-04, 2001-05, 2001-06/,
      ),
    });
  });
});
