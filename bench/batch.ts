// B9 — bench:batch: all 3M flights rows scored through the batchPredict workflow with two CPU
// worker processes, against one process with one ONNX Runtime session in one loop, interleaved.
// The workflow encodes through the generic tabular path (examples/flights/features.yaml); the
// one-process loop runs twice per round, once with the hand-written encoder it replaced
// (examples/flights/legacy-encoder.ts, the baseline) and once with the generic reader + encoder,
// so `generic_time_ratio` isolates what the generic path costs on the same job. The efficiency
// reference is the best single-process pipeline using both cores: the same columnar read + encode +
// ONNX path the workers run (scoreRangeColumnar: typed DuckDB columns, vocabulary codes, reads
// overlapped with scoring), in one process with DuckDB on 2 threads and ONNX Runtime on 2 intra-op
// threads, writing one Parquet file.
// `--peer` (P3): Ray Data over the same Parquet, same ONNX model, same encoding (re-implemented in
// bench/peers/batch/ray_batch.py from the fitted state; parity checked on a sample first), in
// interleaved rounds: `ray_ratio` = the workflow's rows/s ÷ Ray's.
// Needs the real Temporal dev server and PostgreSQL (the registry); it starts them through
// infra/scripts/infra.sh like the tests do.
//
//   npm run bench:batch            # 3M rows, 1 warm-up + 5 rounds
//   npm run bench:batch -- --quick # 300k rows, 1 round
//   npm run bench:batch -- --peer  # also Ray Data (needs python3; provisions .tools/peers-venv)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ensureNamespace } from '../lib/temporal/ensure-namespace.ts';
import { FEATURE_SPEC_TAG } from '../activities/evaluation/index.ts';
import { batchPredictWorkflow } from '../lib/contracts/batch-predict.ts';
import { migrate, PostgresDatabase } from '../lib/db/index.ts';
import { withDuck } from '../lib/data/duck.ts';
import { flightsParquetPath } from '../lib/data/flights.ts';
import { encodeFlights, featureDimension, FLIGHTS_FEATURE_SPEC_KIND, type FlightsFeatureSpec } from '../examples/flights/legacy-encoder.ts';
import { batchFromDuckColumns, featureColumnsSelect, loadModelIO, type FittedFeatures } from '../lib/features/tabular/index.ts';
import { OnnxSession } from '../lib/onnx/index.ts';
import { scoreRangeColumnar, writeScoredParquet } from '../lib/batch/score.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { selectBackend } from '../lib/training/backend.ts';
import { exportRun } from '../lib/training/export.ts';
import { trainMlp } from '../lib/training/tfjs/trainer.ts';
import { silentLogger } from '../lib/log.ts';
import { prepareFlightsSlice } from './flights-slice.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';

const quick = isQuick();
const peer = process.argv.includes('--peer');
const rowsArg = process.argv.find((a) => a.startsWith('--rows='));
const rows = rowsArg ? Number(rowsArg.slice('--rows='.length)) : quick ? 300_000 : 3_000_000;
const numberArg = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
};
/** Chunks in flight: 2 per worker, so one chunk's read overlaps the other's scoring and write. */
const maxParallel = numberArg('max-parallel', 4);
const chunkRows = numberArg('chunk-rows', quick ? 50_000 : 250_000);
const rounds = numberArg('rounds', quick ? 1 : 5);
const warmups = quick ? 0 : 1;
const root = fileURLToPath(new URL('..', import.meta.url));

function infraEnv(): Record<string, string> {
  const up = spawnSync('bash', ['infra/scripts/infra.sh', 'up', 'temporal', 'postgres'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (up.status !== 0) throw new Error('infra.sh up temporal postgres failed');
  const out = spawnSync('bash', ['infra/scripts/infra.sh', 'env'], { cwd: root, encoding: 'utf8' }).stdout;
  return Object.fromEntries([...out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/cpu/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"worker started"')) resolve();
    });
    child.on('exit', () => reject(new Error(`worker exited: ${out.slice(-500)}`)));
  });
  return child;
}

const env = infraEnv();
const slice = await prepareFlightsSlice(30_000);
await selectBackend('wasm', silentLogger());
const io = await loadModelIO(slice.store, slice.featureSpecUri);
const spec = legacyState(io.fitted);

/** The hand-written encoder's state from the fitted example spec: the same scaling and
 * vocabularies, so both encoders write the same vectors for the model. */
function legacyState(fitted: FittedFeatures): FlightsFeatureSpec {
  const state = (name: string) => fitted.state[fitted.spec.features.findIndex((f) => f.name === name)];
  const distance = state('distance_scaled');
  const origin = state('origin');
  const destination = state('destination');
  if (distance?.kind !== 'numeric' || origin?.kind !== 'categorical' || destination?.kind !== 'categorical')
    throw new Error('the flights example spec changed: distance_scaled, origin and destination are not where the bench expects');
  return {
    kind: FLIGHTS_FEATURE_SPEC_KIND,
    fittedOn: fitted.fittedOn,
    distance: { mean: distance.center, std: distance.scale },
    originVocab: origin.vocabulary ?? [],
    destinationVocab: destination.vocabulary ?? [],
  };
}
const trained = await trainMlp({ hidden: [64, 32], epochs: 1, seed: 1 }, slice.train, slice.validation);
const { modelUri } = await exportRun(slice.store, 'runs/bench', trained.weights, trained.layers, [64, 32], slice.train, slice.validation, {
  featureSpecHash: io.hash,
  datasetVersion: 'bench',
});
const db = await PostgresDatabase.create(env.DATABASE_URL!);
await migrate(db);
const modelName = `bench-batch-${randomUUID().slice(0, 8)}`;
const registry = new BuiltinRegistry(db);
await registry.createVersion({
  model: modelName,
  runId: 'bench',
  artifactUri: modelUri,
  lineage: { datasetVersion: 'bench', featureSpecHash: io.hash, params: {} },
  tags: { [FEATURE_SPEC_TAG]: slice.featureSpecUri },
});
await registry.setAlias(modelName, 'champion', 1, { actor: 'bench', reason: 'bench' });
await db.close();

const dir = await mkdtemp(join(tmpdir(), 'flywheel-bench-batch-'));
let datasetPath = flightsParquetPath();
if (rows !== 3_000_000) {
  datasetPath = join(dir, 'quick.parquet');
  await withDuck((d) =>
    d.run(`COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') LIMIT ${rows}) TO '${datasetPath}' (FORMAT parquet)`),
  );
}
const datasetUri = pathToFileURL(datasetPath).toString();
// A namespace of its own: the workflow's activities go to the fixed queue flywheel-cpu, where the
// shared dev server may have other processes' CPU workers polling (they would take chunks).
const namespace = 'flywheel-bench-batch';
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
await ensureNamespace(connection, namespace);
// Activity slots per worker = half of `maxParallel` (2 for 4): each worker holds two chunks (one's
// read overlapping the other's scoring and write), and neither takes three while the other idles.
const workerEnv = {
  ...env,
  TEMPORAL_NAMESPACE: namespace,
  FLYWHEEL_WORKER_MAX_CONCURRENT_ACTIVITIES: String(Math.max(1, Math.ceil(maxParallel / 2))),
  MLFLOW_TRACKING_URI: '',
  ARTIFACT_STORE: slice.store.baseUri,
  FLYWHEEL_LOG_LEVEL: 'info',
};
const workers = [await startWorker(workerEnv), await startWorker(workerEnv)];
const client = new Client({ connection, namespace });

/** Baseline: one process, one session, one loop over all rows, one output Parquet file with the
 * same columns as the workflow's parts (the same job, done without Temporal). `generic`: the
 * columns are read and encoded by the model's fitted features (what batch scoring does) instead of
 * the hand-written encoder. */
async function baseline(generic = false): Promise<number> {
  const session = await OnnxSession.create(await slice.store.get(slice.store.keyFor(modelUri)), { intraOpNumThreads: 1 });
  try {
    return await withDuck(
      async (duck) => {
        const batch = 16_384;
        const dim = featureDimension(spec);
        if (dim !== io.encoder.dimension) throw new Error(`hand-written width ${dim} ≠ generic ${io.encoder.dimension}`);
        const x = new Float32Array(batch * dim);
        let out: Float32Array;
        let n: number;
        if (generic) {
          const cols = await duck.columns(`SELECT ${featureColumnsSelect(io.fitted.spec)} FROM read_parquet('${datasetPath}')`);
          const all = batchFromDuckColumns(io.fitted.spec, cols);
          n = all.rows;
          out = new Float32Array(n);
          for (let s = 0; s < n; s += batch) {
            const e = Math.min(n, s + batch);
            const chunk = {
              rows: e - s,
              columns: Object.fromEntries(
                Object.entries(all.columns).map(([k, v]) => [
                  k,
                  v instanceof Float64Array ? v.subarray(s, e) : (v as string[]).slice(s, e),
                ]),
              ),
            };
            io.encoder.encode(chunk, x);
            out.set(await session.run(x.subarray(0, (e - s) * dim), e - s), s);
          }
        } else {
          const cols = await duck.columns(
            `SELECT epoch_ms(date)::DOUBLE AS ms, distance::DOUBLE AS distance, origin, destination FROM read_parquet('${datasetPath}')`,
          );
          n = (cols.ms ?? []).length;
          out = new Float32Array(n);
          for (let s = 0; s < n; s += batch) {
            const e = Math.min(n, s + batch);
            encodeFlights(
              spec,
              {
                dateMs: (cols.ms as number[]).slice(s, e),
                distance: (cols.distance as number[]).slice(s, e),
                origin: (cols.origin as string[]).slice(s, e),
                destination: (cols.destination as string[]).slice(s, e),
              },
              x,
            );
            out.set(await session.run(x.subarray(0, (e - s) * dim), e - s), s);
          }
        }
        await duck.run('CREATE OR REPLACE TEMP TABLE baseline_out (row_number BIGINT, probability FLOAT, model_version INTEGER)');
        await duck.appendRows('baseline_out', n, (a, i) => {
          a.appendDouble(i);
          a.appendFloat(out[i]!);
          a.appendInteger(1);
        });
        await duck.run(
          `COPY baseline_out TO '${join(dir, generic ? 'generic.parquet' : 'baseline.parquet')}' (FORMAT parquet, COMPRESSION zstd)`,
        );
        return n;
      },
      { threads: 1 },
    );
  } finally {
    await session.dispose();
  }
}

/** The best single-process pipeline using both cores: the workers' columnar path (typed reads,
 * vocabulary codes, reads overlapped with scoring) over every row, DuckDB on 2 threads, ONNX
 * Runtime on 2 intra-op threads, one output Parquet file. */
async function columnarLoop(): Promise<number> {
  const session = await OnnxSession.create(await slice.store.get(slice.store.keyFor(modelUri)), { intraOpNumThreads: 2 });
  try {
    return await withDuck(
      async (duck) => {
        const { rows: n, outputs } = await scoreRangeColumnar(duck, { path: datasetPath, start: 0, end: rows, io, session });
        const file = join(dir, 'columnar.parquet');
        await writeScoredParquet(duck, { file, table: 'columnar_out', task: io.task, start: 0, rows: n, outputs, modelVersion: 1 });
        return n;
      },
      { threads: 2 },
    );
  } finally {
    await session.dispose();
  }
}

/** P3: Ray Data in one long-lived Python process (Ray starts once; rounds interleave). */
interface RayPeer {
  versions: string;
  run(outDir: string): Promise<{ rows: number; seconds: number }>;
  parity(parquet: string, out: string): Promise<{ rows: number }>;
  close(): Promise<void>;
}

async function startRay(): Promise<RayPeer | undefined> {
  if (spawnSync('python3', ['--version']).status !== 0) {
    console.log('peer: skipped — python3 is not on PATH (Ray Data needs it; install python3 to run P3)');
    return undefined;
  }
  const provision = spawnSync('bash', ['infra/scripts/infra.sh', 'provision', 'peers'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (provision.status !== 0) throw new Error('infra.sh provision peers failed');
  const python = join(root, '.tools', 'peers-venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing after provisioning`);
  const modelPath = join(dir, 'model.onnx');
  const featuresPath = join(dir, 'features.json');
  await writeFile(modelPath, await slice.store.get(slice.store.keyFor(modelUri)));
  await writeFile(featuresPath, JSON.stringify(io.fitted));
  const child = spawn(
    python,
    [
      join(root, 'bench/peers/batch/ray_batch.py'),
      '--parquet',
      datasetPath,
      '--model',
      modelPath,
      '--features',
      featuresPath,
      '--model-version',
      '1',
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, RAY_DEDUP_LOGS: '0', RAY_ENABLE_UV_RUN_RUNTIME_ENV: '0' } },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const line = await lines.next();
      if (line.done) throw new Error('the Ray peer exited');
      if (line.value.startsWith('{')) return JSON.parse(line.value) as Record<string, unknown>;
    }
  };
  const ready = await next();
  const ask = async <T>(cmd: string): Promise<T> => {
    child.stdin!.write(`${cmd}\n`);
    return (await next()) as T;
  };
  return {
    versions: `ray ${String(ready.ray)}, onnxruntime ${String(ready.onnxruntime)}, pyarrow ${String(ready.pyarrow)}, numpy ${String(ready.numpy)}`,
    run: (outDir) => ask(`run ${outDir}`),
    parity: (parquet, out) => ask(`parity ${parquet} ${out}`),
    close: async () => {
      child.stdin!.end('quit\n');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGTERM');
          resolve();
        }, 30_000);
        child.on('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}

/** The peer's scores on a sample must equal Flywheel's (same session, the workers' columnar path)
 * within 1e-5, or the comparison is of different work. */
async function checkRayParity(ray: RayPeer): Promise<number> {
  const sampleRows = 20_000;
  const sample = join(dir, 'parity-sample.parquet');
  const out = join(dir, 'parity-ray.parquet');
  await withDuck((d) => d.run(`COPY (SELECT * FROM read_parquet('${datasetPath}') LIMIT ${sampleRows}) TO '${sample}' (FORMAT parquet)`));
  const got = await ray.parity(sample, out);
  if (got.rows !== sampleRows) throw new Error(`Ray scored ${got.rows} of ${sampleRows} sample rows`);
  const session = await OnnxSession.create(await slice.store.get(slice.store.keyFor(modelUri)), { intraOpNumThreads: 1 });
  try {
    return await withDuck(async (duck) => {
      const mine = await scoreRangeColumnar(duck, { path: sample, start: 0, end: sampleRows, io, session });
      const theirs = await duck.typedColumns(`SELECT probability FROM read_parquet('${out}')`);
      const p = theirs.probability!;
      let worst = 0;
      for (let i = 0; i < sampleRows; i++) worst = Math.max(worst, Math.abs(p[i]! - mine.outputs[i]!));
      if (!(worst <= 1e-5))
        throw new Error(`Ray's scores differ from Flywheel's by up to ${worst} (> 1e-5): the comparison would be invalid`);
      return worst;
    });
  } finally {
    await session.dispose();
  }
}

const wf: number[] = [];
const base: number[] = [];
const gen: number[] = [];
const col: number[] = [];
const rayMs: number[] = [];
const ray = peer ? await startRay() : undefined;
let parityMaxDiff: number | undefined;
if (ray) {
  parityMaxDiff = await checkRayParity(ray);
  // Ray's worker processes start and import onnxruntime on first use: one untimed run first.
  await ray.run(join(dir, 'ray-warm-up'));
  await rm(join(dir, 'ray-warm-up'), { recursive: true, force: true });
  console.log(`peer: Ray Data (${ray.versions}); parity on 20,000 rows: max |Δ| = ${parityMaxDiff.toExponential(2)}`);
  console.log(
    '  settings: ray.init(num_cpus=2); read_parquet → select_columns (4) → map_batches(task function, one onnxruntime session ' +
      'per Ray worker process (1 intra-op thread, no spinning), concurrency=2, num_cpus=1, batch_size=65536, batch_format="pyarrow", ' +
      'zero_copy_batch; Ray fuses read + map into one task per block) → write_parquet. (The actor-pool variant, --strategy actors, ' +
      'stalled with 2 CPUs: both actors hold the CPUs the read tasks need.)',
  );
}
try {
  console.log(
    `bench:batch — ${rows.toLocaleString('en-US')} rows, 2 worker processes (chunks of ${chunkRows.toLocaleString('en-US')} rows, ` +
      `${maxParallel} in flight) vs 1 process/1 session/1 loop, ${warmups} warm-up + ${rounds} rounds`,
  );
  for (let i = 0; i < warmups + rounds; i++) {
    const a = await timed(async () =>
      client.workflow.execute(batchPredictWorkflow, {
        taskQueue: 'flywheel-cpu',
        workflowId: `batch/${modelName}/round-${i}`,
        args: [{ datasetUri, model: { name: modelName }, outputPrefix: `bench/round-${i}`, chunkRows, maxParallel }],
      }),
    );
    const c = await timed(() => columnarLoop());
    const b = await timed(() => baseline(false));
    const g = await timed(() => baseline(true));
    if (b.value !== rows || g.value !== rows || c.value !== rows)
      throw new Error(`baselines scored ${b.value}, ${g.value} and ${c.value} rows, expected ${rows}`);
    let r: { rows: number; seconds: number } | undefined;
    if (ray) {
      const outDir = join(dir, `ray-round-${i}`);
      r = await ray.run(outDir);
      await rm(outDir, { recursive: true, force: true });
      if (r.rows !== rows) throw new Error(`Ray wrote ${r.rows} rows, expected ${rows}`);
    }
    if (i >= warmups) {
      wf.push(a.ms);
      base.push(b.ms);
      gen.push(g.ms);
      col.push(c.ms);
      if (r) rayMs.push(r.seconds * 1000);
    }
    const rps = (ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en-US');
    console.log(
      `  round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: workflow ${(a.ms / 1000).toFixed(2)} s (${rps(a.ms)} rows/s), ` +
        `columnar 1 process/2 threads ${(c.ms / 1000).toFixed(2)} s (${rps(c.ms)} rows/s), ` +
        `baseline ${(b.ms / 1000).toFixed(2)} s, generic loop ${(g.ms / 1000).toFixed(2)} s` +
        (r ? `, Ray Data ${r.seconds.toFixed(2)} s (${rps(r.seconds * 1000)} rows/s)` : ''),
    );
  }
} finally {
  await client.connection.close();
  workers.forEach((w) => w.kill('SIGTERM'));
  await ray?.close();
}
const summary: Record<string, number> = {
  rows_per_s: Math.round(rows / (median(wf) / 1000)),
  efficiency: median(wf.map((t, i) => col[i]! / t)),
  ...(rayMs.length > 0
    ? { ray_ratio: median(wf.map((t, i) => rayMs[i]! / t)), ray_rows_per_s: Math.round(rows / (median(rayMs) / 1000)) }
    : {}),
  speedup: median(wf.map((t, i) => base[i]! / t)),
  columnar_rows_per_s: Math.round(rows / (median(col) / 1000)),
  workflow_rows_per_s: Math.round(rows / (median(wf) / 1000)),
  baseline_rows_per_s: Math.round(rows / (median(base) / 1000)),
  generic_time_ratio: median(gen.map((t, i) => t / base[i]!)),
  rows,
  rounds,
};
console.log(
  `raw rounds: ${await saveResults('batch', { summary, workflowMs: wf, baselineMs: base, genericMs: gen, columnarMs: col, rayMs, parityMaxDiff })}`,
);
console.log(summaryLine('batch', summary));
process.exit(0);
