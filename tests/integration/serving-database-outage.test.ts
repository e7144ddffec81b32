// The inference server survives its database: a PostgreSQL of its own (started by the project's
// scripts on another port) is hung with SIGSTOP for 30 s and then killed with SIGKILL, under a
// steady load of authenticated predictions. Predictions never wait on the database (keys come
// from the in-memory snapshot, the log is buffered): zero failures and a bounded p99 throughout;
// feedback fails fast with 503 and Retry-After; once the database is back, the buffered
// prediction log is written.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { freePort, ROOT } from './processes.ts';

const HANG_MS = 30_000;
const KILLED_MS = 8_000;
const NAME = 'outage-model';

const runDir = mkdtempSync(join(tmpdir(), 'flywheel-outage-'));
let port = 0;
let env: Record<string, string> = {};
let db: PostgresDatabase | undefined;
let server: InferenceServer | undefined;
let url = '';
let key = '';
let instances: FixtureInstance[] = [];

const infra = (...args: string[]) =>
  spawnSync('bash', [join(ROOT, 'infra/scripts/infra.sh'), ...args], { env, encoding: 'utf8', timeout: 120_000 });

/** The postmaster and its backends, so SIGSTOP hangs the whole server. */
function postgresPids(): number[] {
  const dataDir = readFileSync(join(runDir, 'postgres.datadir'), 'utf8').trim();
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return [postmaster, ...children];
}

function signalPostgres(signal: NodeJS.Signals): void {
  for (const pid of postgresPids()) {
    try {
      process.kill(pid, signal);
    } catch {
      // a backend that exited meanwhile
    }
  }
}

beforeAll(async () => {
  port = await freePort();
  env = { ...(process.env as Record<string, string>), FLYWHEEL_INFRA_DIR: runDir, FLYWHEEL_INFRA_PG_PORT: String(port) };
  const up = infra('up', 'postgres');
  if (up.status !== 0) throw new Error(`could not start a PostgreSQL of the test's own: ${up.stderr}`);
  const databaseUrl = `postgres://flywheel@127.0.0.1:${port}/flywheel`;
  db = await PostgresDatabase.create(databaseUrl, { connectTimeoutMs: 2000, queryTimeoutMs: 10_000 });
  await migrate(db);
  const registry = new BuiltinRegistry(db);
  const store = await LocalArtifactStore.create(`file://${join(runDir, 'artifacts')}`);
  await registerFixtureModel({ registry, store, name: NAME, spec: await fitFixtureSpec(), alias: 'champion' });
  instances = await sampleInstances(200, 7);
  key = (await createApiKey(db, { name: 'outage-load', scopes: ['predict', 'feedback'], rateLimitRps: 1_000_000 })).key;
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: NAME,
    FLYWHEEL_SERVE_CACHE_SIZE: '0',
    FLYWHEEL_SERVE_REFRESH_MS: '2000',
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
  url = await server.start();
}, 180_000);

afterAll(async () => {
  try {
    signalPostgres('SIGCONT');
  } catch {
    // not running
  }
  await server?.stop().catch(() => undefined);
  await db?.close().catch(() => undefined);
  infra('down', 'postgres');
  rmSync(runDir, { recursive: true, force: true });
  if (port)
    for (const p of [`/var/tmp/flywheel-postgres-${port}`, `/var/tmp/flywheel-postgres-${port}.log`])
      rmSync(p, { recursive: true, force: true });
});

interface Phase {
  name: string;
  latenciesMs: number[];
  failures: string[];
}

/** Paced load: `rps` requests a second from 4 clients until `stop()`; latencies per phase. */
function startLoad(rps: number) {
  let phase: Phase = { name: 'baseline', latenciesMs: [], failures: [] };
  const phases: Phase[] = [phase];
  let running = true;
  let sent = 0;
  const interval = 4000 / rps;
  const client = async (c: number) => {
    let next = performance.now();
    while (running) {
      const row = instances[(sent++ * 4 + c) % instances.length]!;
      const started = performance.now();
      try {
        const res = await fetch(`${url}/v1/models/${NAME}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [row] }),
          signal: AbortSignal.timeout(5000),
        });
        const body = await res.text();
        if (res.status !== 200) phase.failures.push(`${res.status} ${body.slice(0, 200)}`);
      } catch (err) {
        phase.failures.push(String(err));
      }
      phase.latenciesMs.push(performance.now() - started);
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const done = Promise.all([0, 1, 2, 3].map(client));
  return {
    phases,
    enter(name: string) {
      phase = { name, latenciesMs: [], failures: [] };
      phases.push(phase);
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

function p99(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

async function feedback(): Promise<{ status: number; retryAfter: string | null; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/feedback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ requestId: randomUUID(), label: 1 }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started };
}

describe('the inference server when its PostgreSQL hangs and dies', () => {
  it('answers every prediction with a bounded p99, fails feedback fast, and writes the buffered log once the database is back', async () => {
    // Warm up (JIT, connections, ONNX sessions) so the baseline measures steady state.
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${url}/v1/models/${NAME}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [instances[i % instances.length]] }),
      });
      await res.text();
    }
    const load = startLoad(100);
    await sleep(3000);

    load.enter('hung (SIGSTOP)');
    signalPostgres('SIGSTOP');
    await sleep(2000);
    const hungFeedback = [await feedback(), await feedback(), await feedback(), await feedback()];
    await sleep(HANG_MS - 2000);
    const hungReady = (await (await fetch(`${url}/readyz`)).json()) as {
      ready: boolean;
      database: boolean;
      predictionLog: { buffered: number };
    };
    signalPostgres('SIGCONT');

    load.enter('recovered');
    await sleep(3000);

    load.enter('killed (SIGKILL)');
    signalPostgres('SIGKILL');
    await sleep(1000);
    const killedFeedback = [await feedback(), await feedback(), await feedback()];
    await sleep(KILLED_MS);

    load.enter('restarted');
    const up = infra('up', 'postgres');
    expect(up.status, up.stderr).toBe(0);
    await sleep(4000);
    await load.stop();

    const summary = load.phases.map((p) => ({
      phase: p.name,
      requests: p.latenciesMs.length,
      failed: p.failures.length,
      p99Ms: Math.round(p99(p.latenciesMs) * 10) / 10,
    }));
    console.log(`[outage] ${JSON.stringify(summary)}`);
    for (const p of load.phases) {
      expect(p.failures, p.name).toEqual([]);
      expect(p.latenciesMs.length, p.name).toBeGreaterThan(50);
      expect(p99(p.latenciesMs), p.name).toBeLessThan(50);
    }
    expect(hungReady).toMatchObject({ ready: true, database: false });
    expect(hungReady.predictionLog.buffered).toBeGreaterThan(0);
    // While hung, the first feedback call waits out the 1 s deadline; once the circuit is open,
    // calls fail at once. While dead, connection refused is immediate.
    for (const f of [...hungFeedback, ...killedFeedback]) {
      expect(f.status).toBe(503);
      expect(Number(f.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(f.ms).toBeLessThan(1500);
    }
    expect(Math.min(...hungFeedback.slice(1).map((f) => f.ms))).toBeLessThan(100);

    // The log catches up: a prediction made now is in the table within a few seconds.
    const probe = await fetch(`${url}/v1/models/${NAME}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [instances[0]] }),
    });
    const { requestId } = (await probe.json()) as { requestId: string };
    let logged = 0;
    for (let i = 0; i < 50 && logged === 0; i++) {
      await sleep(200);
      logged = (await db!.query('SELECT 1 FROM prediction_log WHERE request_id = $1', [requestId]).catch(() => ({ rowCount: 0 }))).rowCount;
    }
    expect(logged).toBe(1);
    const state = (
      (await (await fetch(`${url}/readyz`)).json()) as { predictionLog: { dropped: number; consecutiveFailures: number; written: number } }
    ).predictionLog;
    expect(state).toMatchObject({ dropped: 0, consecutiveFailures: 0 });
    const total = load.phases.reduce((a, p) => a + p.latenciesMs.length, 0);
    expect(state.written).toBeGreaterThanOrEqual(total);
  }, 180_000);
});
