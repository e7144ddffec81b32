// The generated OpenAPI document: it describes exactly the routes the app serves, every operation
// has a unique operationId, it validates as OpenAPI 3.1 with a maintained validator, and a client
// built at runtime from a model's document (openapi-client-axios, one method per operationId)
// calls the server and gets what the document promised; what the document forbids, the server refuses.
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OpenAPIClientAxios, type OpenAPIClient, type OpenAPIV3_1, type UnknownOperationMethod } from 'openapi-client-axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { modelIO } from '../../lib/features/tabular/model-io.ts';
import type { FittedFeatures } from '../../lib/features/tabular/state.ts';
import { routesOf } from '../../serving/http/app.ts';
import { openApiDocument, openApiPath, type OpenApiDocument } from '../../serving/http/openapi.ts';
import type { RouteDoc } from '../../serving/http/route-docs.ts';
import { API_ROUTE_DOCS } from '../../serving/http/routes/ops.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../fixtures/embedded-server.ts';
import { fitFixtureSpec, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';

let embedded: EmbeddedServer;
let url: string;
let key: string;
let fitted: FittedFeatures;
let valid: FixtureInstance[];

beforeAll(async () => {
  embedded = await startEmbeddedServer({ FLYWHEEL_SERVE_MAX_INSTANCES: '50' });
  url = embedded.url;
  key = (await createApiKey(embedded.db, { name: 'openapi', scopes: ['predict'], rateLimitRps: 1_000_000 })).key;
  fitted = await fitFixtureSpec(5_000);
  valid = await sampleInstances(3);
}, 120_000);

afterAll(async () => {
  await embedded?.close();
});

async function getJson(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const operations = (doc: OpenApiDocument) => Object.values(doc.paths).flatMap((item) => Object.values(item));

describe('the generic document', () => {
  const doc = openApiDocument(API_ROUTE_DOCS);

  it('describes exactly the routes the app serves (method and path)', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const served = routesOf(embedded.server.app).map((r) => `${r.method} ${r.url}`);
    expect(new Set(served)).toEqual(new Set(documented));
    expect(served.length).toBe(documented.length);
  });

  it('gives every operation a unique operationId, a summary, security and error responses', () => {
    const ids = operations(doc).map((op) => op.operationId);
    expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations(doc)) {
      expect(op.summary, op.operationId).toBeTruthy();
      const secured = op.security.length > 0;
      if (secured) {
        expect(op.security.map((s) => Object.keys(s)[0])).toEqual(['apiKey', 'bearer']);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
      }
      // Readiness answers 503 with its own body (the reasons); every other failure is the error body:
      // Flywheel's, or on the Open Inference Protocol's routes the `{error: string}` V2 clients read.
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || ['readiness', 'v2ServerReady', 'v2ModelReady', 'v2ModelVersionReady'].includes(op.operationId))
          continue;
        const schema = response.content?.['application/json']?.schema;
        if (op.tags?.includes('v2'))
          expect(schema, `${op.operationId} ${status}`).toMatchObject({ properties: { error: { type: 'string' } }, required: ['error'] });
        else expect(schema, `${op.operationId} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/feedback']?.post?.security).toEqual([{ apiKey: ['feedback'] }, { bearer: ['feedback'] }]);
  });

  it('refuses a repeated operationId, so a generated client cannot lose a method', () => {
    const twice: RouteDoc = { method: 'GET', url: '/x', operationId: 'liveness', summary: 'x', scope: 'none', responses: {} };
    expect(() => openApiDocument([...API_ROUTE_DOCS, [twice]])).toThrow('operationId liveness is used twice');
  });

  it('validates as OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('is what GET /openapi.json serves, with no key', async () => {
    const res = await getJson('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('carries the request schemas the server validates with', () => {
    const predict = doc.paths['/v1/models/{name}/predict']?.post;
    expect(predict?.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/PredictRequest' });
    expect(doc.components.schemas.PredictRequest).toMatchObject({ required: ['instances'], additionalProperties: false });
    expect(doc.components.schemas.Instance).toMatchObject({ type: 'object', maxProperties: 512 });
    expect(predict?.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual(['path name', 'header X-Routing-Key']);
    expect(openApiPath('/v1/models/:name/jobs')).toBe('/v1/models/{name}/jobs');
  });
});

describe('a model’s document', () => {
  it('writes out the model’s input columns and its task’s prediction only', async () => {
    const res = await getJson('/v1/models/flights/openapi.json', { 'x-api-key': key });
    expect(res.status).toBe(200);
    const doc = res.body as unknown as OpenApiDocument;
    const instance = doc.components.schemas.Instance as { required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(instance).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['date', 'distance', 'origin', 'destination'],
    });
    expect(instance.properties.distance?.type).toEqual(['number', 'null']);
    expect(instance.properties.date).toMatchObject({ type: ['string', 'null'], pattern: expect.any(String) });
    // Categories are examples, not an enum: an unseen one is accepted (encoded as unseen).
    expect(instance.properties.origin).toMatchObject({ type: ['string', 'integer', 'null'], examples: expect.arrayContaining(['SFO']) });
    expect(instance.properties.origin).not.toHaveProperty('enum');
    expect(doc.components.schemas.Prediction).toMatchObject({ $ref: '#/components/schemas/BinaryPrediction' });
    expect(doc.components.schemas.MulticlassPrediction).toBeUndefined();
    expect(doc.components.schemas.RegressionPrediction).toBeUndefined();
    expect(doc.info.title).toMatch(/flights v\d+/);
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.valid).toBe(true);
  });

  it('needs a predict key, and 404s a model not served', async () => {
    expect((await getJson('/v1/models/flights/openapi.json')).status).toBe(401);
    expect((await getJson('/v1/models/nope/openapi.json', { 'x-api-key': key })).status).toBe(404);
  });

  it('for a multiclass model: the classes as the class enum and the probabilities’ fields', async () => {
    const classes = ['early', 'on-time', 'late'];
    const io = modelIO({ ...fitted, task: { kind: 'multiclass', classes } });
    const doc = openApiDocument(API_ROUTE_DOCS, { model: { name: 'delays', version: 3, io } });
    const own = doc.components.schemas.MulticlassPrediction as { properties: Record<string, Record<string, unknown>> };
    expect(own.properties.class?.enum).toEqual(classes);
    expect(own.properties.probabilities?.required).toEqual(classes);
    expect(doc.components.schemas.BinaryPrediction).toBeUndefined();
    const name = doc.paths['/v1/models/{name}/predict']?.post?.parameters?.[0];
    expect(name?.schema.enum).toEqual(['delays']);
    expect((await new Validator().validate(doc as unknown as Record<string, unknown>)).valid).toBe(true);
  });
});

/** The operations these tests call: methods the client makes from the document's operationIds. */
type FlywheelClient = OpenAPIClient<Record<'listModels' | 'getModelSchema' | 'predict', UnknownOperationMethod>>;

describe('a client generated from the model’s document (openapi-client-axios)', () => {
  async function client(): Promise<FlywheelClient> {
    const definition = (await getJson('/v1/models/flights/openapi.json', { 'x-api-key': key })).body;
    const api = new OpenAPIClientAxios({
      definition: definition as unknown as OpenAPIV3_1.Document,
      axiosConfigDefaults: { baseURL: url, headers: { 'x-api-key': key }, validateStatus: () => true },
    });
    return api.init<FlywheelClient>();
  }

  it('lists models, reads the schema and predicts, each by operationId', async () => {
    const api = await client();
    const listed = await api.listModels();
    expect(listed.status).toBe(200);
    expect(listed.data).toEqual({ models: [expect.objectContaining({ name: 'flights', champion: expect.any(Number) })] });

    const schema = await api.getModelSchema({ name: 'flights' });
    expect(schema.status).toBe(200);
    expect(schema.data).toMatchObject({ model: 'flights', task: 'binary', predictionFields: ['probability'] });

    const predicted = await api.predict({ name: 'flights' }, { instances: [...valid, schema.data.example] });
    expect(predicted.status).toBe(200);
    expect(predicted.data.model).toBe('flights');
    expect(predicted.data.predictions).toHaveLength(4);
    for (const p of predicted.data.predictions as Array<{ probability: number; version: number; cached: boolean }>) {
      expect(p.probability).toBeGreaterThanOrEqual(0);
      expect(p.probability).toBeLessThanOrEqual(1);
      expect(p.version).toBe(listed.data.models[0].champion);
    }
    expect(predicted.headers['x-request-id']).toBe(predicted.data.requestId);
  });

  it('schema and server agree: what the document calls invalid gets 400, what it accepts gets 200', async () => {
    const api = await client();
    const doc = api.api.document as unknown as OpenApiDocument;
    // The document's own PredictRequest, checked by a JSON Schema 2020-12 validator.
    const accepts = new Ajv2020({ strict: false }).compile({
      $id: 'urn:flywheel:openapi',
      components: doc.components,
      $ref: '#/components/schemas/PredictRequest',
    });
    const { destination: _dropped, ...missing } = valid[0]!;
    const invalid = {
      'an extra field': { instances: [{ ...valid[0], tail: 'N1' }] },
      'a missing column': { instances: [missing] },
      'a mistyped value': { instances: [{ ...valid[0], distance: 'far' }] },
      'a zoned timestamp': { instances: [{ ...valid[0], date: '2001-01-01T10:00:00Z' }] },
      'no instances': { instances: [] },
      'an unknown body field': { instances: valid, limit: 3 },
    };
    for (const [what, body] of Object.entries(invalid)) {
      expect(accepts(body), `the document refuses ${what}`).toBe(false);
      const res = await api.predict({ name: 'flights' }, body);
      expect(res.status, `the server refuses ${what}`).toBe(400);
      expect(res.data).toMatchObject({ error: { code: 'badRequest', message: expect.any(String) }, requestId: expect.any(String) });
    }
    const nulls = { date: null, distance: null, origin: null, destination: null };
    for (const body of [{ instances: valid, routingKey: 'user-7' }, { instances: [nulls] }]) {
      expect(accepts(body), JSON.stringify(accepts.errors)).toBe(true);
      expect((await api.predict({ name: 'flights' }, body)).status).toBe(200);
    }
  });
});
