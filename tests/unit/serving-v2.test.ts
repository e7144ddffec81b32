// The Open Inference Protocol (KServe V2) routes on the embedded stack (PGlite, local artifact
// store, real ONNX models on ONNX Runtime threads), as a Triton or KServe client sees them:
// metadata as tensors, JSON and binary (Triton's extension) infer requests for a binary, a
// multiclass and a regression model answering exactly what /v1 predict answers for the same rows,
// auth and the row limit of /v1, and a 400 `{"error": "..."}` naming the input for every malformed
// tensor or binary part.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { FITTED_FEATURES_FORMAT, parseFittedFeatures, type FittedFeatures } from '../../lib/features/tabular/state.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import type { Task } from '../../lib/tasks/task.ts';
import { routesOf } from '../../serving/http/app.ts';
import { V2_ROUTE_DOCS } from '../../serving/http/routes/v2.ts';
import { stickyBucket } from '../../serving/router.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { registerFixtureModel } from '../fixtures/fixture-models.ts';

const CLASSES = ['drizzle', 'rain', 'sun'];
const MAX_INSTANCES = 20;

/** Every input kind: a category, a number, a timestamp, a boolean and a vector of 3. */
function fitted(task: Task): FittedFeatures {
  return parseFittedFeatures({
    format: FITTED_FEATURES_FORMAT,
    spec: {
      features: [
        { name: 'city', kind: 'categorical' },
        { name: 'temp', kind: 'numeric' },
        { name: 'month', kind: 'datetime', column: 'date', parts: [{ part: 'month', encoding: 'cyclic' }] },
        { name: 'sunny', kind: 'boolean' },
        { name: 'embedding', kind: 'vector', length: 3 },
      ],
    },
    state: [
      { kind: 'categorical', vocabulary: ['Seattle', 'New York'] },
      { kind: 'numeric', impute: 12, center: 12, scale: 6 },
      { kind: 'datetime' },
      { kind: 'boolean' },
      { kind: 'vector' },
    ],
    task,
    fittedOn: 'hand-written',
    rows: 100,
  });
}

let dir: string;
let db: PGliteDatabase;
let server: InferenceServer;
let url: string;
let key: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-v2-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  const store = await LocalArtifactStore.create(`file://${join(dir, 'artifacts')}`);
  const registry = new BuiltinRegistry(db);
  const models = {
    rainy: fitted({ kind: 'binary' }),
    weather: fitted({ kind: 'multiclass', classes: CLASSES }),
    temperature: fitted({ kind: 'regression' }),
  };
  for (const [name, spec] of Object.entries(models))
    await registerFixtureModel({ registry, store, name, spec, hidden: [8], alias: 'champion' });
  // Version 2 of the regression model, for the canary test (not routed until then).
  await registerFixtureModel({ registry, store, name: 'temperature', spec: models.temperature, hidden: [8], seed: 2 });
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MAX_INSTANCES: String(MAX_INSTANCES),
    // Burst: 10 × 20 rows; the row-limit test spends it with a key of its own.
    FLYWHEEL_SERVE_RATE_LIMIT_ROWS: '5',
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
  url = await server.start();
  key = (await createApiKey(db, { name: 'v2', scopes: [...API_KEY_SCOPES], rateLimitRps: 1_000_000 })).key;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ROWS = [
  { city: 'Seattle', temp: 9.5, date: '2012-01-04T00:00:00', sunny: false, embedding: [0.1, -0.2, 0.3] },
  { city: 'New York', temp: 21, date: '2012-07-14T12:30:00', sunny: true, embedding: [1, 2, 3] },
  { city: 'Paris', temp: -3.25, date: '2012-12-31T23:59:59', sunny: true, embedding: [0, 0, -1] },
];

type Column = { name: string; datatype: string; shape: number[]; data: Array<number | string | boolean> };

/** The rows as V2 input tensors, one per column, with the datatypes the model metadata gives. */
function columnsOf(rows: typeof ROWS): Column[] {
  const n = rows.length;
  return [
    { name: 'city', datatype: 'BYTES', shape: [n], data: rows.map((r) => r.city) },
    { name: 'temp', datatype: 'FP32', shape: [n, 1], data: rows.map((r) => r.temp) },
    { name: 'date', datatype: 'BYTES', shape: [n], data: rows.map((r) => r.date) },
    { name: 'sunny', datatype: 'BOOL', shape: [n], data: rows.map((r) => r.sunny) },
    { name: 'embedding', datatype: 'FP32', shape: [n, 3], data: rows.flatMap((r) => r.embedding) },
  ];
}

/** A column's elements in the extension's binary form (written here, independently of the server). */
function binaryOf(c: Column): Buffer {
  switch (c.datatype) {
    case 'FP32': {
      const b = Buffer.alloc(4 * c.data.length);
      c.data.forEach((v, i) => b.writeFloatLE(v as number, 4 * i));
      return b;
    }
    case 'BOOL':
      return Buffer.from(c.data.map((v) => (v ? 1 : 0)));
    case 'BYTES':
      return Buffer.concat(
        c.data.flatMap((v) => {
          const s = Buffer.from(String(v), 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(s.length);
          return [len, s];
        }),
      );
    default:
      throw new Error(`no binary form for ${c.datatype} in this test`);
  }
}

/** A binary request: the JSON header (each input with `binary_data_size`) then the tensors. */
function binaryRequest(columns: Column[], extra: Record<string, unknown> = {}): { body: Buffer; headerLength: number } {
  const parts = columns.map(binaryOf);
  const header = Buffer.from(
    JSON.stringify({
      ...extra,
      inputs: columns.map((c, i) => ({
        name: c.name,
        datatype: c.datatype,
        shape: c.shape,
        parameters: { binary_data_size: parts[i]!.length },
      })),
    }),
  );
  return { body: Buffer.concat([header, ...parts]), headerLength: header.length };
}

const auth = () => ({ authorization: `Bearer ${key}` });

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}) {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...auth(), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function json(path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await call(path, {
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { ...res, json: JSON.parse(res.bytes.toString('utf8')) as Record<string, unknown> };
}

type OutputTensor = { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size: number } };
type InferAnswer = { model_name: string; model_version: string; id: string; outputs: OutputTensor[] };

/** Splits a binary response and decodes its binary outputs into `data`. */
function readBinaryResponse(res: { headers: Headers; bytes: Buffer }): InferAnswer {
  const length = Number(res.headers.get('inference-header-content-length'));
  expect(length).toBeGreaterThan(0);
  const answer = JSON.parse(res.bytes.subarray(0, length).toString('utf8')) as InferAnswer;
  let at = length;
  for (const o of answer.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    const bytes = res.bytes.subarray(at, at + size);
    at += size;
    if (o.datatype === 'FP32') o.data = Array.from({ length: size / 4 }, (_, i) => bytes.readFloatLE(4 * i));
    else {
      o.data = [];
      for (let p = 0; p < bytes.length;) {
        const n = bytes.readUInt32LE(p);
        o.data.push(bytes.subarray(p + 4, p + 4 + n).toString('utf8'));
        p += 4 + n;
      }
    }
  }
  expect(at).toBe(res.bytes.length);
  return answer;
}

type V1Prediction = { probability?: number; class?: string; probabilities?: Record<string, number>; value?: number; version: number };

async function v1(model: string, rows: unknown[]): Promise<V1Prediction[]> {
  const res = await json(`/v1/models/${model}/predict`, { instances: rows });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.predictions as V1Prediction[];
}

/** What /v1 answers for `rows`, as the V2 outputs of `model` would carry it. */
async function expectedOutputs(model: string, rows: unknown[]): Promise<Record<string, unknown[]>> {
  const p = await v1(model, rows);
  if (model === 'rainy') return { probability: p.map((x) => x.probability) };
  if (model === 'temperature') return { value: p.map((x) => x.value) };
  return { class: p.map((x) => x.class), probabilities: p.flatMap((x) => CLASSES.map((c) => x.probabilities![c])) };
}

function byName(outputs: OutputTensor[]): Record<string, unknown[]> {
  return Object.fromEntries(outputs.map((o) => [o.name, o.data!]));
}

describe('server and model metadata', () => {
  it('documents every /v2 route the app serves, once, with a unique operationId', () => {
    const served = routesOf(server.app)
      .filter((r) => r.url.startsWith('/v2'))
      .map((r) => `${r.method} ${r.url}`);
    const documented = V2_ROUTE_DOCS.map((d) => `${d.method} ${d.url}`);
    expect(new Set(documented)).toEqual(new Set(served));
    expect(documented).toHaveLength(served.length);
    expect(new Set(V2_ROUTE_DOCS.map((d) => d.operationId)).size).toBe(V2_ROUTE_DOCS.length);
  });

  it('answers server metadata, liveness and readiness without a key', async () => {
    const meta = await fetch(`${url}/v2`);
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ name: 'flywheel', extensions: ['binary_tensor_data'] });
    expect(await (await fetch(`${url}/v2/health/live`)).json()).toEqual({ live: true });
    const ready = await fetch(`${url}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('describes a model: its input columns as tensors and its task’s outputs', async () => {
    const res = await json('/v2/models/weather');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      name: 'weather',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [-1] },
        { name: 'temp', datatype: 'FP64', shape: [-1] },
        { name: 'date', datatype: 'BYTES', shape: [-1] },
        { name: 'sunny', datatype: 'BOOL', shape: [-1] },
        { name: 'embedding', datatype: 'FP32', shape: [-1, 3] },
      ],
      outputs: [
        { name: 'class', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3], parameters: { classes: CLASSES } },
      ],
    });
    expect((await json('/v2/models/rainy/versions/1')).json.outputs).toEqual([{ name: 'probability', datatype: 'FP32', shape: [-1] }]);
    expect((await json('/v2/models/temperature')).json.outputs).toEqual([{ name: 'value', datatype: 'FP32', shape: [-1] }]);
  });

  it('says a served model is ready, and 404s a model or version not served', async () => {
    expect(await json('/v2/models/weather/ready')).toMatchObject({ status: 200, json: { name: 'weather', ready: true } });
    expect(await json('/v2/models/weather/versions/1/ready')).toMatchObject({ status: 200, json: { ready: true } });
    const version = await json('/v2/models/weather/versions/7/ready');
    expect(version.status).toBe(404);
    expect(version.json).toEqual({ error: 'weather v7 is not served (versions answering requests: v1)' });
    const model = await json('/v2/models/nope');
    expect(model.status).toBe(404);
    expect(model.json.error).toMatch(/model "nope" is not served here/);
    expect(model.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers an unknown /v2 route in the V2 error shape', async () => {
    const res = await json('/v2/repository/index');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'no route GET /v2/repository/index' });
  });
});

describe('infer in JSON', () => {
  it.each(['rainy', 'weather', 'temperature'])('%s answers what /v1 predict answers for the same rows', async (model) => {
    const res = await json(`/v2/models/${model}/infer`, { id: 'req-1', inputs: columnsOf(ROWS) });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const answer = res.json as unknown as InferAnswer;
    expect(answer).toMatchObject({ model_name: model, model_version: '1', id: 'req-1' });
    expect(byName(answer.outputs)).toEqual(await expectedOutputs(model, ROWS));
    const shapes = answer.outputs.map((o) => [o.name, o.datatype, o.shape]);
    if (model === 'weather')
      expect(shapes).toEqual([
        ['class', 'BYTES', [3]],
        ['probabilities', 'FP32', [3, 3]],
      ]);
    else expect(shapes).toEqual([[model === 'rainy' ? 'probability' : 'value', 'FP32', [3]]]);
  });

  it('accepts nested data, and [N] or [N, 1] for a scalar column', async () => {
    const columns = columnsOf(ROWS);
    columns[4]!.data = ROWS.map((r) => r.embedding) as never;
    columns[0]!.shape = [3, 1];
    const res = await json('/v2/models/rainy/infer', { inputs: columns });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(byName((res.json as unknown as InferAnswer).outputs)).toEqual(await expectedOutputs('rainy', ROWS));
  });

  it('returns only the requested outputs, in the order asked, binary where asked', async () => {
    const res = await call('/v2/models/weather/infer', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: columnsOf(ROWS),
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'class' }],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/octet-stream/);
    const answer = readBinaryResponse(res);
    expect(answer.outputs.map((o) => [o.name, o.parameters?.binary_data_size])).toEqual([
      ['probabilities', 36],
      ['class', undefined],
    ]);
    const expected = await expectedOutputs('weather', ROWS);
    expect(answer.outputs[1]!.data).toEqual(expected.class);
    // Binary FP32 carries the float32 the model computed; /v1's JSON carries the same float32.
    expect(answer.outputs[0]!.data).toEqual(expected.probabilities);

    const only = await json('/v2/models/weather/infer', { inputs: columnsOf(ROWS), outputs: [{ name: 'class' }] });
    expect((only.json as unknown as InferAnswer).outputs.map((o) => o.name)).toEqual(['class']);
  });

  it('refuses an unknown output by name', async () => {
    const res = await json('/v2/models/rainy/infer', { inputs: columnsOf(ROWS), outputs: [{ name: 'logits' }] });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'output "logits": unknown output (rainy answers with probability)' });
  });

  it('serves /versions/:version/infer for the version that answers, and 404s another', async () => {
    const ok = await json('/v2/models/temperature/versions/1/infer', { inputs: columnsOf(ROWS.slice(0, 1)) });
    expect(ok.status).toBe(200);
    expect(ok.json.model_version).toBe('1');
    const other = await json('/v2/models/temperature/versions/2/infer', { inputs: columnsOf(ROWS.slice(0, 1)) });
    expect(other.status).toBe(404);
    expect(other.json.error).toMatch(/temperature v2 is not served/);
  });

  it('echoes the request id and logs the prediction under the x-request-id it answers with', async () => {
    const res = await json('/v2/models/rainy/infer', { id: 'abc', inputs: columnsOf(ROWS.slice(0, 1)) });
    expect(res.json.id).toBe('abc');
    const requestId = res.headers.get('x-request-id')!;
    expect(requestId).toMatch(/:abc$/); // the V2 id, inside the key's namespace
    let logged = 0;
    for (let t = 0; t < 30 && logged === 0; t++) {
      await new Promise((r) => setTimeout(r, 100));
      logged = (await db.query('SELECT 1 FROM prediction_log WHERE request_id = $1', [requestId])).rowCount;
    }
    expect(logged).toBe(1);
  });
});

describe('infer with binary tensors', () => {
  it.each([
    ['application/octet-stream', 'rainy'],
    ['application/json', 'weather'],
    [undefined, 'temperature'],
  ])('content type %s: %s answers what /v1 answers, in binary with binary_data_output', async (contentType, model) => {
    const { body, headerLength } = binaryRequest(columnsOf(ROWS), { parameters: { binary_data_output: true } });
    const headers: Record<string, string> = { 'inference-header-content-length': String(headerLength) };
    if (contentType) headers['content-type'] = contentType;
    const res = await call(`/v2/models/${model}/infer`, { headers, body });
    expect(res.status, res.bytes.toString()).toBe(200);
    const answer = readBinaryResponse(res);
    expect(answer.model_version).toBe('1');
    expect(answer.outputs.every((o) => o.parameters?.binary_data_size !== undefined)).toBe(true);
    expect(byName(answer.outputs)).toEqual(await expectedOutputs(model, ROWS));
  });

  it('mixes binary and JSON inputs, and answers in JSON when no binary output is asked for', async () => {
    const columns = columnsOf(ROWS);
    const binary = binaryOf(columns[2]!);
    const header = Buffer.from(
      JSON.stringify({
        inputs: columns.map((c) => (c.name === 'date' ? { ...c, data: undefined, parameters: { binary_data_size: binary.length } } : c)),
      }),
    );
    const res = await call('/v2/models/rainy/infer', {
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, binary]),
    });
    expect(res.status, res.bytes.toString()).toBe(200);
    expect(res.headers.get('inference-header-content-length')).toBeNull();
    const answer = JSON.parse(res.bytes.toString()) as InferAnswer;
    expect(byName(answer.outputs)).toEqual(await expectedOutputs('rainy', ROWS));
  });
});

describe('malformed requests: a 400 naming the input, never a 5xx', () => {
  const columns = columnsOf(ROWS);

  async function binaryWith(mutate: (body: Buffer, headerLength: number) => { body: Buffer; headerLength: number | string }) {
    const req = binaryRequest(columns);
    const { body, headerLength } = mutate(req.body, req.headerLength);
    const res = await call('/v2/models/rainy/infer', {
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
      body,
    });
    return { status: res.status, json: JSON.parse(res.bytes.toString()) as { error: string } };
  }

  /** A binary request whose header declares `inputs` (for sizes that do not match the bytes). */
  async function binaryHeader(inputs: unknown[], tail: Buffer) {
    const header = Buffer.from(JSON.stringify({ inputs }));
    const res = await call('/v2/models/rainy/infer', {
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, tail]),
    });
    return { status: res.status, json: JSON.parse(res.bytes.toString()) as { error: string } };
  }

  const good = (name: string) => columns.find((c) => c.name === name)!;
  const others = (name: string) => columns.filter((c) => c.name !== name);

  it('binary part shorter or longer than the sizes add up to', async () => {
    const short = await binaryWith((b, h) => ({ body: b.subarray(0, b.length - 1), headerLength: h }));
    expect(short).toEqual({
      status: 400,
      json: { error: expect.stringMatching(/binary part of the body is \d+ bytes but .* add up to \d+/) },
    });
    const long = await binaryWith((b, h) => ({ body: Buffer.concat([b, Buffer.from([0])]), headerLength: h }));
    expect(long.status).toBe(400);
  });

  it('a binary_data_size that does not fit its shape', async () => {
    const temp = binaryOf(good('temp'));
    const res = await binaryHeader(
      [...others('temp'), { name: 'temp', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 8 } }],
      temp.subarray(0, 8),
    );
    expect(res).toEqual({ status: 400, json: { error: 'input "temp": binary_data_size is 8 but shape [3] of FP32 takes 12 bytes' } });
  });

  it('a truncated BYTES length, and a BYTES length past the end', async () => {
    const truncated = await binaryHeader(
      [...others('city'), { name: 'city', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: 14 } }],
      Buffer.concat([binaryOf({ ...good('city'), data: ['ab', 'cd'] }), Buffer.from([1, 0])]),
    );
    expect(truncated).toEqual({
      status: 400,
      json: { error: 'input "city": element 2: truncated: its 4-byte length runs past the tensor\'s binary data' },
    });
    const past = Buffer.concat([binaryOf({ ...good('city'), data: ['ab', 'cd'] }), Buffer.from([200, 0, 0, 0, 1, 2])]);
    const overrun = await binaryHeader(
      [...others('city'), { name: 'city', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: past.length } }],
      past,
    );
    expect(overrun.json.error).toBe('input "city": element 2: truncated: its length says 200 bytes, 2 are left');
  });

  it('an Inference-Header-Content-Length past the body, or not a number', async () => {
    const past = await binaryWith((b) => ({ body: b, headerLength: b.length + 1 }));
    expect(past.json.error).toMatch(/Inference-Header-Content-Length is \d+ but the body has only \d+ bytes/);
    const nan = await binaryWith((b) => ({ body: b, headerLength: 'ten' }));
    expect(nan).toEqual({ status: 400, json: { error: 'Inference-Header-Content-Length must be a number of bytes' } });
    const cut = await binaryWith((b, h) => ({ body: b, headerLength: h - 3 }));
    expect(cut.json.error).toMatch(/^malformed JSON body/);
  });

  it.each([
    [
      'element count ≠ shape',
      { ...good('temp'), shape: [3, 2] },
      'input "temp": shape [3, 2] is not [N] or [N, 1] (one row per instance, number)',
    ],
    ['data ≠ shape', { ...good('temp'), data: [1, 2] }, 'input "temp": data holds 2 elements, its shape [3, 1] holds 3'],
    [
      'a vector of the wrong width',
      { ...good('embedding'), shape: [3, 2] },
      'input "embedding": shape [3, 2] is not [N, 3] (one row per instance, vector[3])',
    ],
    ['an unknown datatype', { ...good('temp'), datatype: 'FP128' }, /^input "temp": unknown datatype "FP128" \(one of BOOL, /],
    ['FP16', { ...good('temp'), datatype: 'FP16' }, 'input "temp": datatype FP16 is not supported here (use FP32)'],
    ['a string in an FP32 tensor', { ...good('temp'), data: [1, 'x', 3] }, 'input "temp": element 1: a FP32 tensor holds numbers'],
    ['a NUL in a string', { ...good('city'), data: ['a\u0000', 'b', 'c'] }, 'input "city": element 0: contains a NUL character (U+0000)'],
  ])('%s', async (_what, bad, error) => {
    const res = await json('/v2/models/rainy/infer', { inputs: [...others(bad.name), bad] });
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual(typeof error === 'string' ? error : expect.stringMatching(error));
  });

  it('an unknown input column, one sent twice, rows that differ, too many rows', async () => {
    const unknown = await json('/v2/models/rainy/infer', { inputs: [...columns, { ...good('temp'), name: 'tail' }] });
    expect(unknown.json.error).toMatch(/^input "tail": unknown input \(rainy reads city \(string\), temp \(number\)/);
    const twice = await json('/v2/models/rainy/infer', { inputs: [...columns, good('temp')] });
    expect(twice.json.error).toBe('input "temp": sent twice');
    const rows = await json('/v2/models/rainy/infer', { inputs: [...others('temp'), { ...good('temp'), shape: [2], data: [1, 2] }] });
    expect(rows.json.error).toBe('input "temp": has 2 rows but input "city" has 3');
    const many = MAX_INSTANCES + 1;
    const big = await json('/v2/models/rainy/infer', {
      inputs: [{ name: 'temp', datatype: 'FP32', shape: [many], data: Array.from({ length: many }, () => 1) }],
    });
    expect(big).toMatchObject({
      status: 400,
      json: { error: `input "temp": has ${many} rows, at most ${MAX_INSTANCES} are accepted per request` },
    });
  });

  it('a missing column, by Flywheel’s rules for instances', async () => {
    const res = await json('/v2/models/rainy/infer', { inputs: others('sunny') });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^invalid request body: instances\[0\]\.sunny: is required \(null for a missing value\)/);
  });

  it('a value of the wrong kind for its column, by Flywheel’s rules', async () => {
    const res = await json('/v2/models/rainy/infer', {
      inputs: [...others('date'), { ...good('date'), data: ['2012-01-01T00:00:00Z', 'x', 'y'] }],
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/instances\[0\]\.date: must be a naive timestamp/);
  });

  it('a body that is not an inference request, malformed JSON, another content type', async () => {
    const notInfer = await json('/v2/models/rainy/infer', { instances: ROWS });
    expect(notInfer.status).toBe(400);
    expect(notInfer.json.error).toMatch(/^invalid request body: /);
    const malformed = await call('/v2/models/rainy/infer', { headers: { 'content-type': 'application/json' }, body: '{"inputs": [' });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.bytes.toString()).error).toMatch(/^malformed JSON body/);
    const text = await call('/v2/models/rainy/infer', { headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.bytes.toString())).toEqual({
      error: 'send the inference request as application/json or application/octet-stream',
    });
  });
});

describe('auth and limits, as /v1', () => {
  it('refuses metadata and infer without a key (health stays open)', async () => {
    const infer = await fetch(`${url}/v2/models/rainy/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: columnsOf(ROWS) }),
    });
    expect(infer.status).toBe(401);
    expect(((await infer.json()) as { error: string }).error).toMatch(/^missing API key/);
    expect((await fetch(`${url}/v2/models/rainy`)).status).toBe(401);
    expect((await fetch(`${url}/v2/models/rainy/ready`)).status).toBe(401);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  });

  it('charges rows against the key’s row limit: 429 once the burst is spent', async () => {
    const own = (await createApiKey(db, { name: 'rows', scopes: ['predict'], rateLimitRps: 1_000_000 })).key;
    const rows = Array.from({ length: MAX_INSTANCES }, (_, i) => ROWS[i % 3]!);
    const statuses: number[] = [];
    let last: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++) {
      const res = await json('/v2/models/rainy/infer', { inputs: columnsOf(rows) }, { authorization: `Bearer ${own}` });
      statuses.push(res.status);
      last = res.json;
    }
    // Burst 10 × 20 rows: ten requests pass, then the key waits.
    expect(statuses.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(statuses.at(-1)).toBe(429);
    expect(last.error).toMatch(/row limit of 5 instances\/s/);
  });
});

describe('a canary', () => {
  it('answers from the arm the routing key picks, and a versioned request only from that version', async () => {
    const set = await call('/v1/admin/models/temperature/routing', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { version: 2, weight: 0.5 } }),
    });
    expect(set.status, set.bytes.toString()).toBe(200);
    try {
      const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
      const toCanary = keys.find((k) => stickyBucket(k) < 0.5)!;
      const toChampion = keys.find((k) => stickyBucket(k) >= 0.5)!;
      expect((await json('/v2/models/temperature')).json.versions).toEqual(['1', '2']);
      const inputs = columnsOf(ROWS.slice(0, 1));

      const canary = await json('/v2/models/temperature/infer', { inputs, parameters: { routing_key: toCanary } });
      expect(canary.json.model_version).toBe('2');
      const champion = await json('/v2/models/temperature/infer', { inputs }, { 'x-routing-key': toChampion });
      expect(champion.json.model_version).toBe('1');
      expect(champion.json.outputs).not.toEqual(canary.json.outputs);

      const pinned = await json('/v2/models/temperature/versions/2/infer', { inputs, parameters: { routing_key: toCanary } });
      expect(pinned).toMatchObject({ status: 200, json: { model_version: '2' } });
      const other = await json('/v2/models/temperature/versions/1/infer', { inputs, parameters: { routing_key: toCanary } });
      expect(other.status).toBe(404);
      expect(other.json.error).toBe(
        'temperature v1 did not serve this request (it was routed to v2); send X-Routing-Key or parameters.routing_key ' +
          'to stick to one arm, or call /v2/models/temperature/infer',
      );
      expect((await json('/v2/models/temperature/versions/2')).json.versions).toEqual(['1', '2']);
    } finally {
      await call('/v1/admin/models/temperature/routing', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ canary: null }),
      });
    }
  });
});

describe('fuzz: binary bodies', () => {
  it('random headers, sizes, shapes, datatypes and bytes never get a 5xx, always {"error": string}', async () => {
    const names = ['city', 'temp', 'date', 'sunny', 'embedding', 'tail'];
    const datatypes = ['BOOL', 'UINT8', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'nope'];
    const input = fc.record({
      name: fc.constantFrom(...names),
      datatype: fc.constantFrom(...datatypes),
      shape: fc.array(fc.integer({ min: -1, max: 30 }), { minLength: 0, maxLength: 3 }),
      parameters: fc.record({ binary_data_size: fc.integer({ min: -1, max: 200 }) }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(input, { minLength: 0, maxLength: 6 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: -3, max: 3 }),
        fc.boolean(),
        async (inputs, tail, skew, binaryOut) => {
          const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: binaryOut } }));
          const res = await call('/v2/models/weather/infer', {
            headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length + skew) },
            body: Buffer.concat([header, tail]),
          });
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(typeof (JSON.parse(res.bytes.toString()) as { error: unknown }).error).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
    // Valid columns with random bytes in place of their data: each decodes or is refused, never a 5xx.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 5, maxLength: 5 }), async (parts) => {
        const cols = columnsOf(ROWS);
        const header = Buffer.from(
          JSON.stringify({
            inputs: cols.map((c, i) => ({
              name: c.name,
              datatype: c.datatype,
              shape: c.shape,
              parameters: { binary_data_size: parts[i]!.length },
            })),
          }),
        );
        const res = await call('/v2/models/rainy/infer', {
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
          body: Buffer.concat([header, ...parts]),
        });
        expect([200, 400]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
  }, 60_000);
});
