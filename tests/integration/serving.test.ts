// The inference server, black-box over HTTP, on the real stack: PostgreSQL (registry, routes,
// keys, prediction log), the S3 store (model artifacts), ONNX Runtime threads. Covers
// predictions equal to ONNX Runtime on the shared feature encoding, API keys and scopes, rate
// limits, the cache, canary and shadow routing persisted across replicas, refusal of a model
// with the wrong feature spec, hot swaps under load with zero failed requests, shedding, the
// prediction log and feedback, metrics, and serving on while the database is down.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig, type ServeSettings } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { batchFromInstances } from '../../lib/features/tabular/instances.ts';
import { modelIO } from '../../lib/features/tabular/model-io.ts';
import type { FittedFeatures } from '../../lib/features/tabular/state.ts';
import { createLogger } from '../../lib/log.ts';
import { OnnxSession } from '../../lib/onnx/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/serving-${tag}`, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const logger = createLogger({ level: 'silent' });
const NAME = `flights-serve-${tag}`;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let spec: FittedFeatures;
let instances: FixtureInstance[];
let predictKey: string;
let adminKey: string;
const servers: InferenceServer[] = [];

async function startServer(
  env: Record<string, string> = {},
  options: { db?: PostgresDatabase } = {},
): Promise<{ server: InferenceServer; url: string }> {
  const settings: ServeSettings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: NAME,
    FLYWHEEL_SERVE_REFRESH_MS: '600000',
    ...env,
  }).serve;
  const server = await createInferenceServer({
    settings,
    db: options.db ?? db,
    registry: new BuiltinRegistry(options.db ?? db),
    store,
    logger,
  });
  servers.push(server);
  return { server, url: await server.start() };
}

function call(url: string, path: string, init: { key?: string; body?: unknown; method?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

interface PredictBody {
  requestId: string;
  predictions: Array<{ probability: number; version: number; cached: boolean }>;
}

async function predict(
  url: string,
  body: unknown,
  key = predictKey,
  model = NAME,
): Promise<{ status: number; json: PredictBody & { error?: { message: string } }; headers: Headers }> {
  const res = await call(url, `/v1/models/${model}/predict`, { key, body });
  return { status: res.status, json: (await res.json()) as PredictBody & { error?: { message: string } }, headers: res.headers };
}

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  spec = await fitFixtureSpec();
  await registerFixtureModel({ registry, store, name: NAME, spec, seed: 1, alias: 'champion' }); // v1
  await registerFixtureModel({ registry, store, name: NAME, spec, seed: 2 }); // v2
  await registerFixtureModel({ registry, store, name: NAME, spec, seed: 3 }); // v3
  instances = await sampleInstances(200, 1000);
  predictKey = (await createApiKey(db, { name: `predict-${tag}`, scopes: ['predict', 'feedback'] })).key;
  adminKey = (await createApiKey(db, { name: `admin-${tag}`, scopes: ['admin', 'predict'] })).key;
}, 120_000);

afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  await db?.close();
});

describe('inference server', () => {
  let url: string;
  let server: InferenceServer;

  beforeAll(async () => {
    ({ server, url } = await startServer());
  }, 60_000);

  it('predicts one or many instances, equal to ONNX Runtime on the shared feature encoding, with version and request id', async () => {
    const res = await predict(url, { instances: instances.slice(0, 50) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(res.json.requestId);
    expect(res.json.predictions).toHaveLength(50);
    expect(new Set(res.json.predictions.map((p) => p.version))).toEqual(new Set([1]));
    const v1 = await registry.getVersion(NAME, 1);
    const session = await OnnxSession.create(await store.get(store.keyFor(v1.artifactUri)));
    const encoded = batchFromInstances(spec.spec, instances.slice(0, 50));
    if (!encoded.ok) throw new Error(JSON.stringify(encoded.errors));
    const expected = await session.run(modelIO(spec).encoder.encode(encoded.batch), 50);
    await session.dispose();
    res.json.predictions.forEach((p, i) => expect(Math.abs(p.probability - expected[i]!)).toBeLessThan(1e-6));
    const one = await predict(url, { instances: [instances[0]] });
    expect(one.json.predictions[0]!.probability).toBeCloseTo(expected[0]!, 6);
  });

  it('needs an API key with the right scope: 401 without or with a bad or revoked key, 403 without the scope', async () => {
    expect((await call(url, `/v1/models/${NAME}/predict`, { body: { instances: [instances[0]] } })).status).toBe(401);
    expect((await predict(url, { instances: [instances[0]] }, 'fw_00000000_' + 'A'.repeat(43))).status).toBe(401);
    const revoked = await createApiKey(db, { name: `revoked-${tag}`, scopes: ['predict'] });
    await revokeApiKey(db, revoked.info.id);
    expect((await predict(url, { instances: [instances[0]] }, revoked.key)).status).toBe(401);
    const forbidden = await call(url, `/v1/admin/models/${NAME}/routing`, { key: predictKey });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { message: string } }).error.message).toMatch(/lacks the "admin" scope/);
    const viaHeader = await fetch(`${url}/v1/models/${NAME}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': predictKey, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [instances[0]] }),
    });
    expect(viaHeader.status).toBe(200);
  });

  it('rate-limits per key with a token bucket: 429 with Retry-After past the burst', async () => {
    const slow = await createApiKey(db, { name: `slow-${tag}`, scopes: ['predict'], rateLimitRps: 1 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await predict(url, { instances: [instances[i]] }, slow.key);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true); // burst = max(10, 2 × rate)
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await predict(url, { instances: [instances[0]] })).status).toBe(200); // other keys unaffected
  });

  it('answers repeated inputs from the cache (hit/miss in /metrics) and logs every prediction; feedback is stored', async () => {
    const body = { instances: instances.slice(100, 103) };
    const first = await predict(url, body);
    const second = await predict(url, body);
    expect(first.json.predictions.every((p) => !p.cached)).toBe(true);
    expect(second.json.predictions.every((p) => p.cached)).toBe(true);
    expect(second.json.predictions.map((p) => p.probability)).toEqual(first.json.predictions.map((p) => p.probability));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`flywheel_serving_cache_total\\{model="${NAME}",result="hit"\\} [1-9]`));
    expect(metrics).toMatch(/flywheel_serving_predict_latency_seconds_bucket\{le="0.005",model="[^"]+",version="1"\}/);
    expect(metrics).toMatch(/flywheel_serving_batch_size_bucket/);
    expect(metrics).toMatch(/flywheel_serving_queue_rows\{model="[^"]+",version="1"\} 0/);
    expect(metrics).toMatch(/flywheel_serving_shed_total\{reason="rate_limited"\} [1-9]/);

    await new Promise((r) => setTimeout(r, 600)); // the log flushes every 200 ms
    const { rows } = await db.query<{ instance: number; model_version: number; output: number; features: FixtureInstance }>(
      `SELECT instance, model_version, output, features FROM prediction_log WHERE request_id = $1 ORDER BY instance`,
      [first.json.requestId],
    );
    expect(rows.map((r) => r.instance)).toEqual([0, 1, 2]);
    expect(rows[1]!.features).toEqual(instances[101]);
    expect(rows[1]!.output).toBeCloseTo(first.json.predictions[1]!.probability, 5);

    const fb = await call(url, '/v1/feedback', { key: predictKey, body: { requestId: first.json.requestId, instance: 1, label: 1 } });
    expect(fb.status).toBe(202);
    const bad = await call(url, '/v1/feedback', { key: predictKey, body: { requestId: first.json.requestId, label: 'yes', model: NAME } });
    expect(bad.status).toBe(400);
    const { rows: labels } = await db.query(`SELECT instance, label FROM prediction_feedback WHERE request_id = $1`, [
      first.json.requestId,
    ]);
    expect(labels).toEqual([{ instance: 1, label: 1 }]);
  });

  it('takes labels only as the feedback scope, only 0 or 1, only for request ids it issued — a client id only from its own key', async () => {
    const predictOnly = (await createApiKey(db, { name: `predict-only-${tag}`, scopes: ['predict'] })).key;
    const labeller = (await createApiKey(db, { name: `labeller-${tag}`, scopes: ['feedback'] })).key;
    const served = await predict(url, { instances: [instances[150]] });
    const label = (key: string, body: unknown) => call(url, '/v1/feedback', { key, body });

    const noScope = await label(predictOnly, { requestId: served.json.requestId, label: 1 });
    expect(noScope.status).toBe(403);
    expect(((await noScope.json()) as { error: { message: string } }).error.message).toMatch(/lacks the "feedback" scope/);
    const half = await label(labeller, { requestId: served.json.requestId, label: 0.5, model: NAME });
    expect(half.status).toBe(400);
    expect(((await half.json()) as { error: { message: string } }).error.message).toMatch(/label: must be 0 or 1/);
    expect((await label(labeller, { requestId: 'someone-elses-id', label: 1 })).status).toBe(400);
    expect((await label(labeller, { requestId: served.json.requestId, label: 1 })).status).toBe(202); // a server id is a capability

    // A client's own X-Request-Id lives in its key's namespace; only that key may label it.
    const mine = await call(url, `/v1/models/${NAME}/predict`, {
      key: predictKey,
      body: { instances: [instances[151]] },
      headers: { 'x-request-id': `order-17-${tag}` },
    });
    const issued = ((await mine.json()) as PredictBody).requestId;
    expect(issued).toMatch(new RegExp(`^[0-9a-f]{8}:order-17-${tag}$`));
    expect(mine.headers.get('x-request-id')).toBe(issued);
    const forged = await label(labeller, { requestId: issued, label: 1 });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(/only with the key that made it/);
    expect((await label(predictKey, { requestId: issued, label: 0 })).status).toBe(202);
    const { rows } = await db.query<{ key_id: string }>(`SELECT key_id FROM prediction_feedback WHERE request_id = $1`, [issued]);
    expect(rows).toEqual([{ key_id: issued.split(':')[0] }]);
  });

  it('splits traffic to a canary by weight, sticky by routing key, persisted so a second replica routes the same; shadow mirrors without answering', async () => {
    const set = await call(url, `/v1/admin/models/${NAME}/routing`, {
      key: adminKey,
      method: 'PUT',
      body: { canary: { version: 2, weight: 0.3 }, shadow: { version: 3 } },
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({
      champion: { version: 1 },
      canary: { version: 2, weight: 0.3 },
      shadow: { version: 3 },
      updatedBy: `admin-${tag}`,
    });

    const replica = await startServer();
    const seen = new Map<string, number>();
    let canary = 0;
    for (let i = 0; i < 300; i++) {
      const key = `user-${i}`;
      const target = i % 2 ? url : replica.url;
      const res = await predict(target, { instances: [instances[i % 200]], routingKey: key });
      expect(res.status).toBe(200);
      const v = res.json.predictions[0]!.version;
      expect(v).not.toBe(3); // the shadow never answers
      seen.set(key, v);
      if (v === 2) canary++;
      const again = await call(i % 2 ? replica.url : url, `/v1/models/${NAME}/predict`, {
        key: predictKey,
        body: { instances: [instances[i % 200]] },
        headers: { 'x-routing-key': key },
      });
      expect(((await again.json()) as PredictBody).predictions[0]!.version).toBe(v); // sticky across replicas
    }
    expect(canary / 300).toBeGreaterThan(0.2);
    expect(canary / 300).toBeLessThan(0.4);

    await new Promise((r) => setTimeout(r, 600));
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM prediction_log WHERE model = $1 AND shadow AND model_version = 3`,
      [NAME],
    );
    expect(rows[0]!.n).toBeGreaterThan(100);

    const cleared = await call(url, `/v1/admin/models/${NAME}/routing`, {
      key: adminKey,
      method: 'PUT',
      body: { canary: null, shadow: null },
    });
    expect(await cleared.json()).toMatchObject({ canary: null, shadow: null });
    await replica.server.stop();
  });

  it('refuses a version whose feature-spec hash does not match, and keeps serving the current champion', async () => {
    const bad = await registerFixtureModel({ registry, store, name: NAME, spec, seed: 9, mismatchedSpecHash: true });
    await registry.setAlias(NAME, 'champion', bad.version, { actor: 'test', reason: 'try a skewed model' });
    const reload = await call(url, `/v1/admin/models/${NAME}/reload`, { key: adminKey, method: 'POST' });
    expect(reload.status).toBe(409);
    expect(((await reload.json()) as { error: { message: string } }).error.message).toMatch(
      /refusing to serve it \(training\/serving skew\)/,
    );
    const res = await predict(url, { instances: [instances[0]] });
    expect(res.json.predictions[0]!.version).toBe(1);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toMatch(/skew/);
    await registry.setAlias(NAME, 'champion', 1, { actor: 'test', reason: 'back' });
    expect((await call(url, `/v1/admin/models/${NAME}/reload`, { key: adminKey, method: 'POST' })).status).toBe(200);
  });

  it('hot-swaps the champion under continuous load with zero failed requests, and drops cached answers of the old version', async () => {
    // instances[199] is never sent by the load below (it uses rows 0–192): its cache entry is ours.
    const cachedBefore = await predict(url, { instances: [instances[199]] });
    expect(cachedBefore.status).toBe(200);
    const loadKey = (await createApiKey(db, { name: `load-${tag}`, scopes: ['predict'], rateLimitRps: 1_000_000 })).key;
    let stop = false;
    const failures: string[] = [];
    const versions = new Set<number>();
    let requests = 0;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const res = await predict(url, { instances: instances.slice((c * 7 + i) % 190, ((c * 7 + i) % 190) + 3) }, loadKey);
        requests++;
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.json)}`);
        else for (const p of res.json.predictions) versions.add(p.version);
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    for (const v of [2, 3, 1, 2]) {
      await new Promise((r) => setTimeout(r, 300));
      await registry.setAlias(NAME, 'champion', v, { actor: 'test', reason: 'hot swap under load' });
      const reload = await call(url, `/v1/admin/models/${NAME}/reload`, { key: adminKey, method: 'POST' });
      expect(reload.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    expect(versions).toEqual(new Set([1, 2, 3]));
    const after = await predict(url, { instances: [instances[199]] });
    expect(after.json.predictions[0]).toMatchObject({ version: 2, cached: false });
    expect(server.models.get(NAME)!.versions.size).toBe(1); // old versions drained and unloaded
  }, 60_000);
});

describe('protection and degradation', () => {
  it('sheds load with 503 + Retry-After when the queue is full instead of queueing without bound', async () => {
    // A wide model (1M parameters), so a 150-row run takes long enough for a queue to build.
    const wide = `${NAME}-wide`;
    await registerFixtureModel({ registry, store, name: wide, spec, hidden: [1024, 1024], alias: 'champion' });
    const { url } = await startServer({
      FLYWHEEL_SERVE_MODELS: wide,
      FLYWHEEL_SERVE_MAX_QUEUE_ROWS: '200',
      FLYWHEEL_SERVE_CACHE_SIZE: '0',
      FLYWHEEL_SERVE_AUTH: 'false',
    });
    const big = { instances: instances.slice(0, 150) };
    const results = await Promise.all(Array.from({ length: 40 }, () => predict(url, big, '', wide)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    const shed = results.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(Number(shed[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(shed[0]!.json.error!.message).toMatch(/queue is full/);
  }, 60_000);

  it('keeps serving while its database is down: ready (predictions need no database) with database: false, the log buffer is bounded and drops are counted', async () => {
    const own = await PostgresDatabase.create(infra.databaseUrl);
    const { url } = await startServer({ FLYWHEEL_SERVE_AUTH: 'false', FLYWHEEL_SERVE_PREDICTION_LOG_BUFFER: '20' }, { db: own });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await own.close(); // every query now fails, as with a database outage
    for (let i = 0; i < 10; i++) expect((await predict(url, { instances: instances.slice(i * 5, i * 5 + 5) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // readiness caches the database check for 1 s
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, database: false, predictionLog: { buffered: 20, dropped: 30 } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_serving_prediction_log_dropped_total\{reason="buffer_full"\} 30/);
    expect(metrics).toMatch(/flywheel_serving_prediction_log_buffered 20/);
  }, 60_000);
});
