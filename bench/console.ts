// bench:console — how fast the console's pages answer with 50 models × 20 versions (issue 23's
// "pages load in ≤ 300 ms"): the console in this process over a private schema of the real
// PostgreSQL (built-in registry, tracked runs, drift checks), a local artifact folder and the real
// Temporal dev server from infra.sh, where 50 lifecycle and 150 cycle workflows are started for
// visibility to list. Server response time (request sent → whole body read) of `/`,
// `/models/<m>`, `/compare?…` and `/runs`, interleaved page by page each round, with `/healthz`
// as the HTTP floor measured in the same rounds.
//
//   npm run bench:console            # 5 rounds × 20 requests per page after a warm-up
//   npm run bench:console -- --quick # 5 models × 5 versions, 1 round
//   npm run bench:console -- --pglite # on embedded PGlite (the dev stack's database) instead
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { createConsoleServer } from '../console/server.ts';
import { Secret } from '../lib/config/index.ts';
import { openDatabase } from '../lib/db/index.ts';
import { silentLogger } from '../lib/log.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { LocalArtifactStore, putJson } from '../lib/storage/index.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import { recordCheck, recordRun } from '../lib/tracking/store.ts';
import { isQuick, median, saveResults, summaryLine } from './lib.ts';

const quick = isQuick();
const MODELS = quick ? 5 : 50;
const VERSIONS = quick ? 5 : 20;
const ROUNDS = quick ? 1 : 5;
const PER_ROUND = quick ? 5 : 20;
const TARGET_MS = 300;
const root = fileURLToPath(new URL('..', import.meta.url));

function infraEnv(): Record<string, string> {
  const out = spawnSync('bash', ['infra/scripts/infra.sh', 'env'], { cwd: root, encoding: 'utf8' }).stdout;
  const env = Object.fromEntries([...out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  if (!env.DATABASE_URL || !env.TEMPORAL_ADDRESS) throw new Error('bench:console needs the local servers: bash infra/scripts/infra.sh up');
  return env;
}

function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const env = infraEnv();
const tag = randomBytes(3).toString('hex');
const schema = `bench_console_${tag}`;
const dir = await mkdtemp(join(tmpdir(), 'flywheel-bench-console-'));
// --pglite: the embedded database `flywheel dev` runs on, in a temporary folder.
const pglite = process.argv.includes('--pglite');
const { db } = pglite
  ? await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pglite') })
  : await openDatabase({ kind: 'postgres', url: new Secret(env.DATABASE_URL!), schema });
const registry = new BuiltinRegistry(db);
const store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
const temporal = new Client({ connection, namespace: 'default' });
const started: string[] = [];
const modelName = (i: number) => `bench-${tag}-m${String(i).padStart(2, '0')}`;

try {
  // Seed: what 20 cycles per model leave behind (versions with metrics and lineage, tracked runs
  // with 10 epochs, gate and metrics files, champion/challenger moves, approvals, 30 drift checks).
  const seedStart = performance.now();
  for (let m = 0; m < MODELS; m++) {
    const model = modelName(m);
    await registry.createModel(model, `benchmark model ${m}`);
    for (let v = 1; v <= VERSIONS; v++) {
      const runId = `training/train/${model}/ds-${v}`;
      const prefix = `${runId}/evaluation`;
      const gates = await putJson(store, `${prefix}/gates.json`, {
        passed: true,
        summary: '3/3 gates passed',
        gates: ['minAuc', 'maxLogLoss', 'maxSliceAucDrop'].map((name, i) => ({
          name,
          passed: true,
          skipped: false,
          observed: 0.7 + i / 100,
          limit: 0.6,
          message: name,
        })),
      });
      const metrics = await putJson(store, `${prefix}/metrics.json`, {
        task: 'binary',
        candidate: {
          metrics: {
            slices: {
              origin: ['ORD', 'ATL', 'DFW', 'LAX', 'SFO'].map((slice, i) => ({
                slice,
                rows: 500,
                positives: 90,
                auc: 0.7 + (v + i) / 200,
                logLoss: 0.45,
              })),
            },
          },
        },
      });
      const version = await registry.createVersion({
        model,
        artifactUri: store.uriFor(`models/${model}/v${v}/model.onnx`),
        runId,
        lineage: {
          datasetVersion: `ds-${v}`,
          featureSpecHash: 'f'.repeat(16),
          params: { epochs: 10, learningRate: 0.001 * v, hidden: [64, 32] },
        },
        metrics: { rocAuc: 0.7 + v / 100, prAuc: 0.4 + v / 100, logLoss: 0.5 - v / 100, f1: 0.3 + v / 200 },
        gateReportUri: gates.uri,
        tags: { task: 'binary' },
      });
      await recordRun(db, {
        runId,
        model,
        datasetVersion: `ds-${v}`,
        trainer: 'tfjs-mlp',
        status: 'passed',
        params: { epochs: 10, learningRate: 0.001 * v, batchSize: 256 },
        metrics: version.metrics,
        epochs: Array.from({ length: 10 }, (_, e) => ({ epoch: e + 1, metrics: { loss: 1 / (e + 2), valLoss: 1.1 / (e + 2) } })),
        system: null,
        artifacts: { gateReport: gates.uri, metrics: metrics.uri },
        summary: '3/3 gates passed',
        startedAt: new Date().toISOString(),
        version: v,
      });
      await registry.setAlias(model, v % 2 ? 'challenger' : 'champion', v, { actor: 'bench', reason: `cycle ${v}` });
      await registry.recordApproval({ model, version: v, decision: 'approved', actor: 'bench', reason: 'benchmark' });
    }
    for (let c = 0; c < 30; c++)
      await recordCheck(db, model, {
        checkId: `c${c}`,
        at: new Date(Date.now() - (30 - c) * 3_600_000).toISOString(),
        status: 'ok',
        breach: c === 29 && m % 5 === 0,
        reasons: [],
        championVersion: VERSIONS,
        reference: `ds-${VERSIONS}`,
        samples: 1000,
        drift: null,
        slo: { samples: 1000, p99LatencyMs: 12, errorRate: 0, labels: 200, auc: 0.75, positiveRate: 0.2 },
      });
    // Visibility: a running lifecycle and three cycles per model (on a queue no worker polls, so
    // they stay as started; the console reads only their ids, status and search attributes).
    const taskQueue = `bench-console-${tag}`;
    const lifecycle = await temporal.workflow.start('modelLifecycle', {
      taskQueue,
      workflowId: `model/${model}`,
      args: [],
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.model, value: model },
        { key: SEARCH_ATTRIBUTES.stage, value: m % 3 ? 'idle' : 'awaiting-approval' },
      ],
    });
    started.push(lifecycle.workflowId);
    for (let c = 1; c <= 3; c++) {
      const cycle = await temporal.workflow.start('modelCycle', {
        taskQueue,
        workflowId: `cycle/${model}/${c}`,
        args: [],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.model, value: model },
          { key: SEARCH_ATTRIBUTES.stage, value: 'promoted' },
          { key: SEARCH_ATTRIBUTES.version, value: VERSIONS - 3 + c },
        ],
      });
      started.push(cycle.workflowId);
      if (c < 3) await cycle.terminate('bench: a finished cycle');
    }
  }
  const seedS = (performance.now() - seedStart) / 1000;
  console.log(`seeded ${MODELS} models × ${VERSIONS} versions in ${seedS.toFixed(1)} s (${pglite ? 'PGlite' : `schema ${schema}`})`);
  // Visibility is eventually consistent: wait until the lifecycles are listed.
  for (let i = 0; i < 50; i++) {
    const { count } = await temporal.workflow
      .count(`WorkflowType = 'modelLifecycle' AND FlywheelModel STARTS_WITH 'bench-${tag}-'`)
      .catch(() => ({ count: 0 }));
    if (count >= MODELS) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const server = createConsoleServer({
    deps: {
      db,
      registry,
      store,
      temporal,
      namespace: 'default',
      webUiUrl: env.FLYWHEEL_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233',
      logger: silentLogger(),
    },
    settings: { port: 0 },
  });
  const url = await server.start();
  const target = modelName(Math.floor(MODELS / 2));
  const pages: Record<string, string> = {
    healthz: '/healthz',
    models: '/',
    model: `/models/${target}`,
    compare: `/compare?model=${target}&versions=${VERSIONS - 2},${VERSIONS - 1},${VERSIONS}`,
    runs: '/runs',
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
  const get = async (path: string): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(url + path);
    const body = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
    if (path !== '/healthz' && body.includes('Temporal unreachable')) throw new Error(`${path}: rendered without Temporal`);
    return ms;
  };
  // Warm-up: JIT, the pg pool, Vega's first compile.
  for (let i = 0; i < 3; i++) for (const path of Object.values(pages)) await get(path);
  const rounds: Array<Record<string, number>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round: Record<string, number[]> = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
    for (let i = 0; i < PER_ROUND; i++)
      for (const [name, path] of Object.entries(pages)) {
        const ms = await get(path);
        round[name]!.push(ms);
        samples[name]!.push(ms);
      }
    rounds.push(Object.fromEntries(Object.entries(round).map(([k, v]) => [k, median(v)])));
    console.log(
      `round ${r + 1}: ${Object.entries(rounds.at(-1)!)
        .map(([k, v]) => `${k} ${v.toFixed(1)} ms`)
        .join(', ')}`,
    );
  }
  await server.close();

  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { p50: median(v), p95: percentile(v, 95), n: v.length }]));
  for (const [name, s] of Object.entries(stats))
    console.log(
      `${name.padEnd(8)} ${pages[name]!.slice(0, 60).padEnd(60)} p50 ${s.p50.toFixed(1)} ms  p95 ${s.p95.toFixed(1)} ms  (n=${s.n})`,
    );
  const pageNames = ['models', 'model', 'compare', 'runs'];
  const maxP95 = Math.max(...pageNames.map((k) => stats[k]!.p95));
  const file = await saveResults('console', { models: MODELS, versions: VERSIONS, rounds, stats, seedS });
  console.log(`raw rounds: ${file}`);
  console.log(
    summaryLine('console', {
      ...Object.fromEntries(
        pageNames.flatMap((k) => [
          [`${k}_p50_ms`, stats[k]!.p50],
          [`${k}_p95_ms`, stats[k]!.p95],
        ]),
      ),
      max_p95_ms: maxP95,
      within_target: maxP95 <= TARGET_MS ? 1 : 0,
      healthz_p50_ms: stats.healthz!.p50,
      models: MODELS,
      versions: VERSIONS,
      rounds: ROUNDS,
      pglite: pglite ? 1 : 0,
    }),
  );
} finally {
  await Promise.all(
    started.map((id) =>
      temporal.workflow
        .getHandle(id)
        .terminate('bench done')
        .catch(() => undefined),
    ),
  );
  await connection.close();
  if (!pglite) await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
