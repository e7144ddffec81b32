// B1–B4 — bench:serving: the inference server over HTTP, in child processes pinned to core 0,
// with this process generating load from core 1; every candidate against its baseline in the same
// run, interleaved round by round (the order rotates each round).
//   B1 capacity (highest offered rate with p99 ≤ 20 ms and no errors) of the flights model and a
//      wide MLP, batched vs one ONNX Runtime run per request, and of the same server with a no-op
//      model (the HTTP ceiling); p50 at 50 rps, batched vs not (batching must add nothing idle).
//   B2 in-process, no HTTP: 256 concurrent callers into the dynamic batcher vs fixed batches of 1
//      and of 32 straight on the inference pool.
//   B3 the response cache at ~0% and ~80% hits vs cache off, on the wide MLP.
//   B4 a 10% canary sticky by routing key vs 100% champion (flights model).
// Needs PostgreSQL (registry, routes, prediction log, which stays on as in production): started
// through infra.sh like the tests do; the bench works in a throwaway database it drops at the end.
//
// On a shared 2-core machine, a 1-s p99 is easily decided by something other than the server under
// test, so: idle servers are paused (SIGSTOP) while another is measured, each variant gets a short
// burst of load before it is measured, a failed run is repeated once at the same rate, and runs
// wait for other processes on the machine to go quiet (for up to QUIET_BUDGET_MS in all). What
// disturbed which run (other processes' CPU, major GCs) is in the raw rounds; noisy_runs counts runs
// other processes disturbed.
//
// The pieces live in bench/serving/: the load generator (load.ts, connection.ts), CPU quieting
// (quiet.ts), servers and pinning (servers.ts), the capacity search (capacity.ts), and one file per
// benchmark (b1-capacity.ts … b4-canary.ts); this file runs them in order and prints the summary.
//
//   P1/P2 (--peer) BentoML with adaptive batching and a hand-written FastAPI + ONNX Runtime server on
//      the same flights model and bodies, pinned to the same core, interleaved into the same rounds
//      (bench/serving/peers.ts, bench/peers/README.md).
//
//   npm run bench:serving            # warm-up + 5 rounds, ~5 min
//   npm run bench:serving -- --quick # tiny sizes, 1 round (smoke test)
//   npm run bench:serving -- --peer  # and the peers (installs their pinned venv when missing)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, type ServeSettings } from '../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../lib/db/index.ts';
import { fittedDimension } from '../lib/features/tabular/state.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { sleep } from '../lib/time/sleep.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances } from '../tests/fixtures/fixture-models.ts';
import type { ModelVersion } from '../lib/registry/index.ts';
import { seededRandom } from '../tests/fixtures/synthetic.ts';
import { median, saveResults, summaryLine } from './lib.ts';
import { capacityRps, capacitySummary, idleRuns } from './serving/b1-capacity.ts';
import { batcherRounds, batcherSummary } from './serving/b2-batcher.ts';
import { cacheHitCounters, cacheSummary, countHits, fixedRateRuns, hitRate, warmHotSet } from './serving/b3-cache.ts';
import { canaryCounter, canarySummary, topUpCanary } from './serving/b4-canary.ts';
import { requestBodies } from './serving/bodies.ts';
import { capacity, focus, isNoisy } from './serving/capacity.ts';
import { call } from './serving/connection.ts';
import { closedLoop, describe, type RunResult, type Workload } from './serving/load.ts';
import {
  CANARY_WEIGHT,
  CLOSED_CONNECTIONS,
  closedMs,
  FIRST_GUESS,
  IDLE_RPS,
  LOADGEN_CPU,
  MAX_CONNECTIONS,
  openMs,
  P99_LIMIT_MS,
  quick,
  rounds,
  sampleRows,
  SERVER_CPU,
  STEP,
  warmMs,
} from './serving/method.ts';
import { killPeers, peerMode, peerPath, PEERS, peerSummary, peerVenv, startPeer, writePeerFeatures } from './serving/peers.ts';
import { quietWaitMs } from './serving/quiet.ts';
import { capacityPairs, type Round } from './serving/rounds.ts';
import { admin, infraDatabaseUrl } from './serving/scratch.ts';
import { canPin, children, pin, servers, startServer, type BenchServer } from './serving/servers.ts';
import { steadyCapacity, steadySummary, STEADY_MS, type SteadyCapacity } from './serving/steady.ts';
import { fmt, medianRatio, rotate } from './serving/util.ts';

const wallStart = performance.now();

console.log(
  `bench:serving — ${rounds} rounds after a warm-up; server on cpu ${SERVER_CPU}, load on cpu ${LOADGEN_CPU}${canPin ? '' : ' (NOT pinned: taskset or a 2nd core missing)'}`,
);

const defaults = loadConfig('serve', {
  FLYWHEEL_SERVE_AUTH: 'false',
  FLYWHEEL_SERVE_PORT: '0',
  FLYWHEEL_SERVE_HOST: '127.0.0.1',
  FLYWHEEL_SERVE_JOBS: 'false',
  // bench/gpu/run.sh sets cuda,cpu; unset: cpu.
  FLYWHEEL_ONNX_PROVIDERS: process.env.FLYWHEEL_ONNX_PROVIDERS,
}).serve;
// B1, B2 and B4 measure without the cache, so repeated inputs cannot inflate the numbers.
const base: ServeSettings = { ...defaults, cacheSize: 0, rateLimitRps: 1e9, rateLimitBurst: 1e9, rateLimitRows: 1e12 };

// B2 first, before any server exists; it may use both cores (the batcher and the ORT thread).
console.log('B2: 256 in-process callers into the batcher vs fixed batches on the pool');
const b2 = await batcherRounds(base);

const venv = peerMode ? peerVenv() : undefined;
if (venv && 'skipped' in venv) console.log(`P1/P2: peers skipped: ${venv.skipped}`);
const peers = venv && !('skipped' in venv) ? venv : undefined;
if (peers)
  console.log(
    `P1/P2: peers ${Object.entries(peers.versions)
      .map(([p, v]) => `${p} ${v}`)
      .join(', ')}`,
  );

const adminUrl = infraDatabaseUrl();
const dbName = `flywheel_bench_serving_${randomBytes(4).toString('hex')}`;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${dbName}`;
const storeDir = await mkdtemp(join(tmpdir(), 'flywheel-bench-serving-'));
const dropScratch = async () => {
  await admin(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((err: unknown) =>
    console.warn(`could not drop ${dbName}: ${String(err)}`),
  );
  await rm(storeDir, { recursive: true, force: true });
};
const cleanup = async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
  for (const c of children) c.kill('SIGKILL');
  await dropScratch();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // SIGKILL also ends a stopped (paused) child.
    for (const c of children) c.kill('SIGKILL');
    killPeers();
    void Promise.race([dropScratch(), sleep(5000)]).finally(() => process.exit(130));
  });
}

try {
  await admin(adminUrl, `CREATE DATABASE ${dbName}`);
  const db = await PostgresDatabase.create(dbUrl.toString());
  const storeUri = pathToFileURL(storeDir).href;
  const spec = await fitFixtureSpec(quick ? 20_000 : 50_000);
  const names = { flights: 'bench-flights', wide: 'bench-wide', canary: 'bench-canary' };
  let flightsVersion: ModelVersion;
  try {
    await migrate(db);
    const registry = new BuiltinRegistry(db);
    const store = await LocalArtifactStore.create(storeUri);
    flightsVersion = await registerFixtureModel({ registry, store, name: names.flights, spec, alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.wide, spec, hidden: [1024, 1024], alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.canary, spec, seed: 1, alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.canary, spec, seed: 2 });
  } finally {
    await db.close();
  }
  const instances = await sampleInstances(sampleRows, 100_000);
  const common = { databaseUrl: dbUrl.toString(), storeUri };
  const started = await Promise.all([
    startServer('batched', { ...common, settings: { ...base, models: Object.values(names) } }),
    startServer('unbatched', { ...common, settings: { ...base, batching: false, models: [names.flights, names.wide] } }),
    startServer('noop', { ...common, settings: { ...base, models: [names.flights] }, noopInputDim: fittedDimension(spec) }),
    // B3 is on the wide MLP, where inference is the largest share of a request's cost and a cache
    // can save the most. Default cache size; a long TTL so the hot set does not expire mid-bench.
    startServer('cached', { ...common, settings: { ...base, cacheSize: defaults.cacheSize, cacheTtlMs: 3_600_000, models: [names.wide] } }),
  ]);
  servers.push(...started);
  const [batched, unbatched, noop, cached] = started as [BenchServer, BenchServer, BenchServer, BenchServer];
  await call(batched, 'PUT', `/v1/admin/models/${names.canary}/routing`, { canary: { version: 2, weight: CANARY_WEIGHT } });

  const { pooled, neverSeen, mostlyHot, hot, pooledV2 } = requestBodies(instances, seededRandom(7));
  // The peers get the flights model's ONNX file and fitted features, and Flywheel's own bodies.
  const peerServers: BenchServer[] = [];
  if (peers) {
    const files = {
      model: fileURLToPath(flightsVersion.artifactUri),
      features: await writePeerFeatures(storeDir, spec),
      modelName: names.flights,
    };
    for (const peer of PEERS) {
      const server = await startPeer(peer, peers, files, pooled().body);
      servers.push(server);
      peerServers.push(server);
    }
  }
  pin(process.pid, LOADGEN_CPU);

  const cacheHits = cacheHitCounters();
  const canary = canaryCounter();

  // In an order that keeps each compared pair close (rotation keeps the order, round by round).
  const workloads: Workload[] = [
    { name: 'noop', server: noop, model: names.flights, next: pooled },
    { name: 'flights', server: batched, model: names.flights, next: pooled },
    ...peerServers.map((server) => ({
      name: server.name,
      server,
      model: names.flights,
      path: peerPath(server.name as (typeof PEERS)[number], names.flights),
      next: pooled,
    })),
    // The same flights through the Open Inference Protocol's route (JSON tensors): its parsing and
    // answer shaping against /v1's, on the same server.
    { name: 'v2', server: batched, model: names.flights, path: `/v2/models/${names.flights}/infer`, next: pooledV2 },
    { name: 'canary', server: batched, model: names.canary, next: pooled, onReply: canary.recordVersion },
    { name: 'flights_unbatched', server: unbatched, model: names.flights, next: pooled },
    { name: 'wide_unbatched', server: unbatched, model: names.wide, next: pooled },
    { name: 'wide', server: batched, model: names.wide, next: pooled },
    // B3's miss baseline: the same never-seen inputs with the cache off (the pooled bodies of
    // `wide` repeat whole numbers; never-seen ones carry longer decimals, which cost to parse).
    { name: 'wide_never_seen', server: batched, model: names.wide, next: neverSeen },
    { name: 'cache_miss', server: cached, model: names.wide, next: neverSeen, onReply: countHits(cacheHits.cache_miss) },
    {
      name: 'cache_hit80',
      server: cached,
      model: names.wide,
      next: mostlyHot,
      onReply: countHits(cacheHits.cache_hit80),
      prepare: () => warmHotSet(cached, names.wide, instances, hot),
    },
  ];
  const byName = (name: string) => workloads.find((w) => w.name === name)!;

  console.log("B1/B3/B4: warm-up, then each variant's closed-loop throughput T (the scale of its offered rates)");
  const scale = new Map<string, RunResult>();
  for (const w of workloads) {
    await focus(w);
    await closedLoop(w, CLOSED_CONNECTIONS, warmMs);
    scale.set(w.name, await closedLoop(w, CLOSED_CONNECTIONS, closedMs));
    console.log(`  ${w.name}: T = ${describe(scale.get(w.name)!)}`);
  }

  const measuredRounds: Round[] = [];
  console.log(`B1/B3/B4: capacity = highest open-loop rate with p99 ≤ ${P99_LIMIT_MS} ms and no errors`);
  for (let r = 0; r < rounds; r++) {
    const label = `round ${r + 1}`;
    const round: Round = { capacity: {}, idle: {}, fixedRate: {} };
    for (const w of rotate(workloads, r)) {
      const c = await capacity(w, scale.get(w.name)!.rps);
      round.capacity[w.name] = c;
      const best = c.tries.find((t) => t.offeredRps === c.capacityRps && !t.repeated);
      console.log(
        `  ${label} ${w.name}: capacity ${fmt(c.capacityRps)} rps${best ? ` (${describe(best)})` : ''} after ${c.tries.length} runs`,
      );
    }
    await idleRuns(round, r, byName, label);
    // 80% of cache off's capacity: busy, but clear of the knee where one hiccup decides p99.
    const rate = Math.round(0.8 * (round.capacity.wide!.capacityRps || 0.5 * scale.get('wide')!.rps));
    await fixedRateRuns(round, r, byName, label, rate);
    measuredRounds.push(round);
  }

  // B4 share: top up the canary's requests (counted over every run above) to the target.
  await topUpCanary(byName('canary'), canary.count);

  // The headline capacities again, in 10-s steps from the rounds' median (bench/serving/steady.ts).
  console.log(`B1/P1/P2: headline capacities in ${STEADY_MS / 1000}-s steps (no repeats)`);
  const steady: Record<string, SteadyCapacity> = {};
  for (const name of ['noop', 'flights', ...peerServers.map((p) => p.name)]) {
    const start = median(measuredRounds.map((r) => r.capacity[name]?.capacityRps ?? 0));
    if (start > 0) steady[name] = await steadyCapacity(byName(name), start, console.log);
  }

  const openRuns = measuredRounds.flatMap((r) => [
    ...Object.values(r.capacity).flatMap((c) => c.tries),
    ...Object.values(r.idle),
    ...Object.values(r.fixedRate).flat(),
  ]);
  const noisyRuns = openRuns.filter(isNoisy);
  // Headline keys first, B1 to B4, then the figures behind them (the summary line's order).
  const summary = {
    ...capacitySummary(measuredRounds),
    ...batcherSummary(b2),
    ...cacheSummary(measuredRounds),
    ...canarySummary(measuredRounds, canary.count),
    ...(peerMode ? peerSummary(measuredRounds, peers) : {}),
    v2_capacity_ratio: medianRatio(capacityPairs(measuredRounds, 'v2', 'flights')),
    ...steadySummary(steady),
    ...capacityRps(measuredRounds),
    hit80_hit_rate: hitRate(cacheHits.cache_hit80),
    miss_hit_rate: hitRate(cacheHits.cache_miss),
    canary_requests: canary.count.requests,
    canary_keys: canary.count.keys.size,
    noisy_runs: noisyRuns.length,
    open_runs: openRuns.length,
    quiet_wait_s: Math.round(quietWaitMs() / 1000),
    rounds,
    wall_s: Math.round((performance.now() - wallStart) / 1000),
  };
  const file = await saveResults('serving', {
    summary,
    settings: base,
    method: {
      p99LimitMs: P99_LIMIT_MS,
      warmMs,
      closedMs,
      openMs,
      closedConnections: CLOSED_CONNECTIONS,
      maxConnections: MAX_CONNECTIONS,
      firstGuess: FIRST_GUESS,
      step: STEP,
      idleRps: IDLE_RPS,
      pinned: canPin,
    },
    b2,
    ...(peers ? { peerVersions: peers.versions } : {}),
    closedLoop: Object.fromEntries(scale),
    rounds: measuredRounds,
    steady,
  });
  console.log(`raw rounds: ${file}`);
  await cleanup();
  console.log(summaryLine('serving', summary));
} catch (err) {
  await cleanup();
  throw err;
}
process.exit(0);
