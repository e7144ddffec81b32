// Two `flywheel serve` replicas behind the real HAProxy (infra/haproxy/serving.cfg.tmpl, started by
// infra/scripts/balancer.sh): a key's rate limit is shared across replicas, a hot swap and a canary
// split look the same through the balancer as direct, and under steady keep-alive load neither a
// kill -9 nor a rolling restart (SIGTERM → drain → start) fails a single client request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import type { FittedFeatures } from '../../lib/features/tabular/state.ts';
import { getInfra } from './infra.ts';
import { startFleet, type Fleet } from './load-balancer-fleet.ts';

const infra = getInfra();
const tag = Math.random().toString(36).slice(2, 10);
const NAME = `flights-lb-${tag}`;
const LIMITED_RPS = 40;

let runDir: string;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let store: LocalArtifactStore;
let spec: FittedFeatures;
let fleet: Fleet;
let instances: FixtureInstance[];
const keys = { load: '', limited: '', admin: '' };

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'flywheel-lb-'));
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  const storeUri = pathToFileURL(join(runDir, 'store')).href;
  store = await LocalArtifactStore.create(storeUri);
  spec = await fitFixtureSpec(20_000);
  await registerFixtureModel({ registry, store, name: NAME, spec, alias: 'champion' });
  instances = await sampleInstances(50, 7000);
  keys.load = (await createApiKey(db, { name: `lb-load-${tag}`, scopes: ['predict'] })).key;
  keys.limited = (await createApiKey(db, { name: `lb-limited-${tag}`, scopes: ['predict'], rateLimitRps: LIMITED_RPS })).key;
  keys.admin = (await createApiKey(db, { name: `lb-admin-${tag}`, scopes: ['predict', 'admin'] })).key;
  fleet = await startFleet({
    runDir,
    env: {
      ...infra.env,
      MLFLOW_TRACKING_URI: '',
      ARTIFACT_STORE: storeUri,
      FLYWHEEL_SERVE_MODELS: NAME,
      FLYWHEEL_LOG_LEVEL: 'info',
      FLYWHEEL_SERVE_JOBS: 'false',
      FLYWHEEL_SERVE_THREADS: '1',
      // The cache would answer repeated inputs without routing them (canary shares).
      FLYWHEEL_SERVE_CACHE_SIZE: '0',
      FLYWHEEL_SERVE_REFRESH_MS: '300',
      FLYWHEEL_SERVE_DRAIN_MS: '2000',
      // Loads through one replica must not hit the default limit; the limited key has its own.
      FLYWHEEL_SERVE_RATE_LIMIT_RPS: '100000',
      FLYWHEEL_SERVE_RATE_LIMIT_SHARE: '2',
    },
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await db?.close();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  replica: string;
  versions: number[];
  error?: string;
}

async function predict(base: string, key: string, instance: FixtureInstance, routingKey?: string): Promise<Reply> {
  try {
    const res = await fetch(`${base}/v1/models/${NAME}/predict`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        ...(routingKey ? { 'x-routing-key': routingKey } : {}),
      },
      body: JSON.stringify({ instances: [instance] }),
    });
    const text = await res.text();
    const versions =
      res.status === 200 ? (JSON.parse(text) as { predictions: Array<{ version: number }> }).predictions.map((p) => p.version) : [];
    return {
      status: res.status,
      replica: res.headers.get('x-flywheel-replica') ?? 'direct',
      versions,
      ...(res.status === 200 ? {} : { error: text.slice(0, 200) }),
    };
  } catch (err) {
    return { status: 0, replica: '', versions: [], error: String((err as Error).cause ?? err) };
  }
}

/** Steady closed-loop load through the balancer (keep-alive connections) until `stop()`. */
function steadyLoad(clients = 4) {
  const replies: Array<Reply & { atMs: number }> = [];
  let stopped = false;
  const t0 = performance.now();
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !stopped; i++) {
      const r = await predict(fleet.url, keys.load, instances[(c * 13 + i) % instances.length]!);
      replies.push({ ...r, atMs: performance.now() - t0 });
    }
  });
  return {
    replies,
    /** When the load started (performance.now()); replies' `atMs` count from it. */
    t0,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return replies;
    },
  };
}

const failures = (replies: Reply[]) => replies.filter((r) => r.status !== 200);

describe('serving behind HAProxy', () => {
  it('shares a key’s rate limit across replicas: at 2× the limit, the fleet admits the limit', async () => {
    // 2 replicas, share 2: each admits 20 rps, burst 40 (the key's burst is 2 s of its rate).
    const burst = 2 * LIMITED_RPS;
    const seconds = 5;
    const intervalMs = 1000 / (2 * LIMITED_RPS);
    const sent: Array<Promise<Reply>> = [];
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
      sent.push(predict(fleet.url, keys.limited, instances[i % instances.length]!));
      await sleep(t0 + (i + 1) * intervalMs - performance.now());
    }
    const replies = await Promise.all(sent);
    const admitted = replies.filter((r) => r.status === 200).length;
    const refused = replies.filter((r) => r.status === 429).length;
    expect(admitted + refused).toBe(replies.length); // nothing else
    // After the burst, admissions come at the refill rate: that rate against the configured one.
    const admittedRps = (admitted - burst) / seconds;
    const relativeError = (admittedRps - LIMITED_RPS) / LIMITED_RPS;
    console.log(
      `rate limit through the balancer: offered ${(replies.length / seconds).toFixed(1)} rps, admitted ${admitted} ` +
        `(${admittedRps.toFixed(1)} rps after the burst of ${burst}) vs ${LIMITED_RPS} configured: error ${(100 * relativeError).toFixed(1)}%`,
    );
    expect(Math.abs(relativeError)).toBeLessThan(0.15);
    // Both replicas took part (the header says which answered).
    expect(new Set(replies.map((r) => r.replica))).toEqual(new Set(['replica1', 'replica2']));
  }, 30_000);

  it('a hot swap reaches every replica, and a canary split and sticky keys are the same through the balancer as direct', async () => {
    await registerFixtureModel({ registry, store, name: NAME, spec, seed: 2, variant: 'v2', alias: 'champion' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const viaLb = await Promise.all(Array.from({ length: 8 }, (_, i) => predict(fleet.url, keys.load, instances[i]!)));
      const direct = await Promise.all(fleet.replicas.map((r) => predict(r.url, keys.load, instances[0]!)));
      const lbReplicas = new Set(viaLb.filter((r) => r.versions[0] === 2).map((r) => r.replica));
      if (lbReplicas.size === 2 && viaLb.every((r) => r.versions[0] === 2) && direct.every((r) => r.versions[0] === 2)) break;
      if (Date.now() > deadline) throw new Error(`champion v2 not everywhere: ${JSON.stringify({ viaLb, direct })}`);
      await sleep(200);
    }

    await registerFixtureModel({ registry, store, name: NAME, spec, seed: 3, variant: 'v3' });
    const put = await fetch(`${fleet.url}/v1/admin/models/${NAME}/routing`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ canary: { version: 3, weight: 0.3 } }),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    // The change landed on one replica and is in the database; the other picks it up on refresh.
    for (const r of fleet.replicas) {
      const until = Date.now() + 10_000;
      for (;;) {
        const res = await fetch(`${r.url}/v1/admin/models/${NAME}/routing`, { headers: { authorization: `Bearer ${keys.admin}` } });
        const body = (await res.json()) as { canary: { version: number; weight: number } | null };
        if (body.canary?.version === 3) break;
        if (Date.now() > until) throw new Error(`${r.name} never saw the canary: ${JSON.stringify(body)}`);
        await sleep(200);
      }
    }
    const share = async (base: string) => {
      const replies: Reply[] = [];
      await Promise.all(
        Array.from({ length: 4 }, async (_, c) => {
          for (let i = 0; i < 100; i++) replies.push(await predict(base, keys.load, instances[(c * 25 + i) % instances.length]!));
        }),
      );
      expect(failures(replies)).toEqual([]);
      return replies.filter((r) => r.versions[0] === 3).length / replies.length;
    };
    const viaLb = await share(fleet.url);
    const direct = await share(fleet.replicas[0]!.url);
    console.log(`canary share (weight 0.3): through the balancer ${viaLb.toFixed(3)}, direct ${direct.toFixed(3)}`);
    expect(viaLb).toBeGreaterThan(0.2);
    expect(viaLb).toBeLessThan(0.4);
    expect(Math.abs(viaLb - direct)).toBeLessThan(0.12);
    // A routing key picks the same version whichever replica the balancer chose.
    for (let k = 0; k < 30; k++) {
      const routingKey = `user-${k}`;
      const [lb, a, b] = await Promise.all([
        predict(fleet.url, keys.load, instances[k]!, routingKey),
        predict(fleet.replicas[0]!.url, keys.load, instances[k]!, routingKey),
        predict(fleet.replicas[1]!.url, keys.load, instances[k]!, routingKey),
      ]);
      expect([lb.versions[0], b.versions[0]]).toEqual([a.versions[0], a.versions[0]]);
    }
  }, 60_000);

  it('kill -9 of one replica under steady load: no client request fails', async () => {
    const [victim, survivor] = fleet.replicas as [(typeof fleet.replicas)[0], (typeof fleet.replicas)[0]];
    const load = steadyLoad();
    await sleep(1500);
    const killedAtMs = performance.now();
    await fleet.kill(victim);
    await fleet.waitState([victim.name], 'DOWN', 10_000);
    await sleep(1500);
    const replies = await load.stop();
    // Sent well after the kill (the health check needs ~1 s; retries cover the gap): the survivor.
    const after = replies.filter((r) => r.atMs > killedAtMs - load.t0 + 1500);
    console.log(`kill -9: ${replies.length} requests, ${failures(replies).length} failed`);
    expect(failures(replies)).toEqual([]);
    expect(replies.length).toBeGreaterThan(100);
    expect(after.length).toBeGreaterThan(20);
    expect(after.every((r) => r.replica === survivor.name)).toBe(true);
    await fleet.start(victim);
    await fleet.waitState([victim.name], 'UP', 15_000);
  }, 60_000);

  it('rolling restart (SIGTERM, drain, start) of both replicas under steady load: no client request fails', async () => {
    const load = steadyLoad();
    await sleep(1000);
    for (const replica of fleet.replicas) {
      const exit = fleet.terminate(replica);
      let exited = false;
      void exit.then(() => (exited = true));
      await sleep(200);
      // Draining: still running, but not ready, with the reason.
      const readyz = await fetch(`${replica.url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.json()).toMatchObject({ ready: false, reasons: ['draining'] });
      // The health check takes it out while it still serves: DOWN before the process is gone.
      let downBeforeExit = false;
      while (!exited) {
        const state = (await fleet.states())[replica.name];
        if (!exited && state === 'DOWN') downBeforeExit = true;
        await sleep(50);
      }
      expect(await exit).toBe(0);
      expect(downBeforeExit).toBe(true);
      await fleet.start(replica);
      await fleet.waitState([replica.name], 'UP', 15_000);
    }
    await sleep(1500); // past the returning replica's 2 s slow start
    const replies = await load.stop();
    console.log(`rolling restart: ${replies.length} requests, ${failures(replies).length} failed`);
    expect(failures(replies)).toEqual([]);
    expect(replies.length).toBeGreaterThan(200);
    expect(new Set(replies.slice(-40).map((r) => r.replica))).toEqual(new Set(['replica1', 'replica2']));
  }, 90_000);
});
