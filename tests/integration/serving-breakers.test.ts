// Every outbound call of the inference server has a breaker, and its state is visible. Two private
// PostgreSQL servers, one for the built-in registry and one for the database (routes, prediction
// log), are killed in turn under a steady load of predictions, then started again. Predictions
// never fail; each breaker shows open in /metrics and /readyz while the server stays ready;
// prediction-log rows past the small buffer are dropped and counted; once both are back the
// breakers close (the metric returns to 0) and the log is written again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { freePort, ROOT } from './processes.ts';

const NAME = 'breaker-model';
const LOG_BUFFER = 40;

interface PrivatePostgres {
  dir: string;
  port: number;
  env: Record<string, string>;
}

let main: PrivatePostgres | undefined;
let registryPg: PrivatePostgres | undefined;
let db: PostgresDatabase | undefined;
let registryDb: PostgresDatabase | undefined;
let server: InferenceServer | undefined;
let url = '';
let instances: FixtureInstance[] = [];

const infra = (pg: PrivatePostgres, ...args: string[]) =>
  spawnSync('bash', [join(ROOT, 'infra/scripts/infra.sh'), ...args], { env: pg.env, encoding: 'utf8', timeout: 120_000 });

async function startPostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-breakers-'));
  const pg = {
    dir,
    port,
    env: { ...(process.env as Record<string, string>), FLYWHEEL_INFRA_DIR: dir, FLYWHEEL_INFRA_PG_PORT: String(port) },
  };
  const up = infra(pg, 'up', 'postgres');
  if (up.status !== 0) throw new Error(`could not start a PostgreSQL of the test's own: ${up.stderr}`);
  return pg;
}

function stopPostgres(pg: PrivatePostgres | undefined): void {
  if (!pg) return;
  infra(pg, 'down', 'postgres');
  rmSync(pg.dir, { recursive: true, force: true });
  for (const p of [`/var/tmp/flywheel-postgres-${pg.port}`, `/var/tmp/flywheel-postgres-${pg.port}.log`])
    rmSync(p, { recursive: true, force: true });
}

/** SIGKILL to the postmaster and its backends: the server is gone, connections are refused. */
function killPostgres(pg: PrivatePostgres): void {
  const dataDir = readFileSync(join(pg.dir, 'postgres.datadir'), 'utf8').trim();
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  for (const pid of [postmaster, ...children]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // a backend that exited meanwhile
    }
  }
}

const connect = (pg: PrivatePostgres) =>
  PostgresDatabase.create(`postgres://flywheel@127.0.0.1:${pg.port}/flywheel`, { connectTimeoutMs: 2000, queryTimeoutMs: 10_000 });

beforeAll(async () => {
  [main, registryPg] = await Promise.all([startPostgres(), startPostgres()]);
  [db, registryDb] = await Promise.all([connect(main), connect(registryPg)]);
  await Promise.all([migrate(db), migrate(registryDb)]);
  const registry = new BuiltinRegistry(registryDb);
  const store = await LocalArtifactStore.create(`file://${join(main.dir, 'artifacts')}`);
  await registerFixtureModel({ registry, store, name: NAME, spec: await fitFixtureSpec(), alias: 'champion' });
  instances = await sampleInstances(100, 11);
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_AUTH: 'false',
    FLYWHEEL_SERVE_MODELS: NAME,
    FLYWHEEL_SERVE_CACHE_SIZE: '0',
    // Refreshes (registry + routes) often, so the registry's breaker sees the outage quickly.
    FLYWHEEL_SERVE_REFRESH_MS: '300',
    FLYWHEEL_SERVE_REGISTRY_TIMEOUT_MS: '1000',
    FLYWHEEL_SERVE_PREDICTION_LOG_BUFFER: String(LOG_BUFFER),
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
  url = await server.start();
}, 180_000);

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await db?.close().catch(() => undefined);
  await registryDb?.close().catch(() => undefined);
  stopPostgres(main);
  stopPostgres(registryPg);
});

/** Two clients predicting one instance each, ~50 requests/s, until `stop()`. */
function startLoad() {
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const client = async () => {
    while (running) {
      const row = instances[sent++ % instances.length]!;
      try {
        const res = await fetch(`${url}/v1/models/${NAME}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [row] }),
          signal: AbortSignal.timeout(5000),
        });
        const body = await res.text();
        if (res.status !== 200) failures.push(`${res.status} ${body.slice(0, 200)}`);
      } catch (err) {
        failures.push(String(err));
      }
      await sleep(40);
    }
  };
  const done = Promise.all([client(), client()]);
  return {
    failures,
    sent: () => sent,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** One sample's value from the exposition text; undefined when the series is absent. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const metricsText = async () => (await fetch(`${url}/metrics`)).text();

interface Readiness {
  ready: boolean;
  reasons: string[];
  database: boolean;
  breakers: Record<string, { state: string; rejections: number; openedAt: string | null }>;
  predictionLog: { dropped: number; buffered: number };
  problems: Record<string, string>;
  models: { name: string; champion: number }[];
}

/** Polls until `check` passes (returns its last value) or `ms` runs out (returns undefined). */
async function until<T>(ms: number, probe: () => Promise<T>, check: (v: T) => boolean): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (check(v)) return v;
    await sleep(200);
  }
  return undefined;
}

describe('the inference server’s breakers when its registry and database die and come back', () => {
  it('keeps predicting and ready while the registry and database breakers are open, counts log drops, and closes them on recovery', async () => {
    const state = (m: string, dependency: string) => sample(m, `flywheel_serving_breaker_state{dependency="${dependency}"}`);
    const before = await metricsText();
    expect(state(before, 'database')).toBe(0);
    expect(state(before, 'registry')).toBe(0);
    expect(state(before, 'artifact-store')).toBe(0);

    const load = startLoad();
    await sleep(1000);

    // The registry's PostgreSQL dies: refreshes fail, the registry's breaker opens, the loaded
    // champion keeps serving and the server stays ready.
    killPostgres(registryPg!);
    const registryOpen = await until(10_000, metricsText, (m) => state(m, 'registry') === 2);
    expect(registryOpen, 'registry breaker open').toBeDefined();
    expect(state(registryOpen!, 'database')).toBe(0);
    const noRegistry = await fetch(`${url}/readyz`);
    const noRegistryBody = (await noRegistry.json()) as Readiness;
    expect(noRegistry.status).toBe(200);
    expect(noRegistryBody).toMatchObject({ ready: true, reasons: [], database: true, models: [{ name: NAME, champion: 1 }] });
    expect(['open', 'half-open']).toContain(noRegistryBody.breakers['registry']?.state);
    expect(noRegistryBody.problems[NAME]).toMatch(/model registry|ECONNREFUSED/);

    // Now the database too: log writes, route reads and the readiness probe fail; its breaker
    // opens, and log rows past the buffer are dropped and counted.
    const killedAt = performance.now();
    killPostgres(main!);
    const open = await until(
      10_000,
      metricsText,
      (m) => state(m, 'database') === 2 && (sample(m, 'flywheel_serving_prediction_log_dropped_total{reason="buffer_full"}') ?? 0) > 0,
    );
    const openAfterMs = Math.round(performance.now() - killedAt);
    expect(open, 'database breaker open, log drops counted').toBeDefined();
    expect(sample(open!, 'flywheel_serving_breaker_transitions_total{dependency="database",state="open"}')).toBeGreaterThanOrEqual(1);
    expect(sample(open!, 'flywheel_serving_breaker_rejections_total{dependency="database"}')).toBeGreaterThan(0);

    await sleep(1100); // readiness caches its database check for 1 s
    const down = await fetch(`${url}/readyz`);
    const downBody = (await down.json()) as Readiness;
    expect(down.status).toBe(200);
    expect(downBody).toMatchObject({ ready: true, reasons: [], database: false, models: [{ name: NAME }] });
    expect(['open', 'half-open']).toContain(downBody.breakers['database']?.state);
    expect(downBody.breakers['database']?.openedAt).not.toBeNull();
    expect(downBody.breakers['artifact-store']?.state).toBe('closed');
    expect(downBody.predictionLog.buffered).toBe(LOG_BUFFER);
    expect(downBody.predictionLog.dropped).toBeGreaterThan(0);

    const restartedAt = performance.now();
    for (const pg of [main!, registryPg!]) {
      const up = infra(pg, 'up', 'postgres');
      expect(up.status, up.stderr).toBe(0);
    }
    const closed = await until(15_000, metricsText, (m) => state(m, 'database') === 0 && state(m, 'registry') === 0);
    const closedAfterMs = Math.round(performance.now() - restartedAt);
    expect(closed, 'database and registry breakers closed again').toBeDefined();
    expect(sample(closed!, 'flywheel_serving_breaker_transitions_total{dependency="database",state="closed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(closed!, 'flywheel_serving_breaker_transitions_total{dependency="registry",state="closed"}')).toBeGreaterThanOrEqual(1);

    // The log resumes (its backoff is at most 5 s): the buffer drains, and a prediction made
    // then reaches the table.
    const written = sample(closed!, 'flywheel_serving_prediction_log_written_total') ?? 0;
    const resumed = await until(
      10_000,
      metricsText,
      (m) =>
        (sample(m, 'flywheel_serving_prediction_log_written_total') ?? 0) > written &&
        (sample(m, 'flywheel_serving_prediction_log_buffered') ?? LOG_BUFFER) < LOG_BUFFER,
    );
    expect(resumed, 'prediction log writes resumed').toBeDefined();
    const probe = await fetch(`${url}/v1/models/${NAME}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [instances[0]] }),
    });
    const { requestId } = (await probe.json()) as { requestId: string };
    const logged = await until(
      10_000,
      async () =>
        (await db!.query('SELECT 1 FROM prediction_log WHERE request_id = $1', [requestId]).catch(() => ({ rowCount: 0 }))).rowCount,
      (n) => n === 1,
    );
    expect(logged).toBe(1);
    await load.stop();
    console.log(`[breakers] ${JSON.stringify({ requests: load.sent(), failed: load.failures.length, openAfterMs, closedAfterMs })}`);
    expect(load.failures).toEqual([]);
    expect(load.sent()).toBeGreaterThan(100);
    const after = (await (await fetch(`${url}/readyz`)).json()) as Readiness;
    expect(after).toMatchObject({
      ready: true,
      database: true,
      breakers: { database: { state: 'closed' }, registry: { state: 'closed' } },
    });
  }, 90_000);
});
