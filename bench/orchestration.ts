// B5 bench:orchestration — what durability costs per step: a 10-step pipeline as a Temporal
// workflow (one activity per step, real dev server from infra.sh, an in-process worker) against
// the same steps as a plain async function chain, at per-step work W ∈ {0, 50, 500} ms,
// interleaved A B A B. Also the throughput of 20 concurrent pipelines at W = 0.
//
// References measured in the same rounds, on the same dev server:
// - the bare Temporal SDK: the same 10-activity workflow on a worker made by `Worker.create` with
//   the SDK's default options (no Flywheel interceptors, default slots and pollers), on its own task
//   queue, at W = 0 and W = 500 — the floor any Temporal-based pipeline pays on this server;
// - local activities: the same steps with `proxyLocalActivities` (no activity task round trip
//   through the server), at W = 0 and W = 500.
//
//   npm run bench:orchestration            # 5 rounds after a warm-up
//   npm run bench:orchestration -- --quick # 1 round
//   BENCH_TEMPORAL_ADDRESS=127.0.0.1:27233 npm run bench:orchestration  # against another server
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createWorker } from '../lib/temporal/worker.ts';
import { sleep } from '../lib/time/sleep.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';

const quick = isQuick();
const rounds = quick ? 1 : 5;
const STEPS = 10;
const WORKS = [0, 50, 500] as const;
const root = fileURLToPath(new URL('..', import.meta.url));

function infraEnv(): Record<string, string> {
  const up = spawnSync('bash', ['infra/scripts/infra.sh', 'up', 'temporal'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (up.status !== 0) throw new Error('infra.sh up temporal failed');
  const out = spawnSync('bash', ['infra/scripts/infra.sh', 'env'], { cwd: root, encoding: 'utf8' }).stdout;
  return Object.fromEntries([...out.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The step both sides run: wait `workMs`, return a number (so the result is recorded). */
async function benchStep(input: { step: number; workMs: number }): Promise<number> {
  if (input.workMs > 0) await sleep(input.workMs);
  return input.step;
}

async function plainChain(workMs: number): Promise<number> {
  let acc = 0;
  for (let step = 0; step < STEPS; step++) acc += await benchStep({ step, workMs });
  return acc;
}

Runtime.install({ logger: new DefaultLogger('ERROR') });
// BENCH_TEMPORAL_ADDRESS: another server (e.g. one started with other dynamic config, to compare);
// unset: the shared dev server from infra.sh.
const env = process.env.BENCH_TEMPORAL_ADDRESS ? { TEMPORAL_ADDRESS: process.env.BENCH_TEMPORAL_ADDRESS } : infraEnv();
const taskQueue = `bench-orchestration-${randomUUID().slice(0, 8)}`;
const workflowBundle = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('./orchestration-workflow.ts', import.meta.url)),
  logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
});
const nativeConnection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const worker = await createWorker({
  connection: nativeConnection,
  taskQueue,
  workflowBundle,
  activities: { benchStep },
  maxConcurrentActivityTaskExecutions: 100,
  maxConcurrentWorkflowTaskExecutions: 100,
});
// The reference: the SDK's defaults, nothing of Flywheel's.
const bareTaskQueue = `${taskQueue}-bare`;
// eslint-disable-next-line no-restricted-syntax -- the reference is the SDK without Flywheel's worker plumbing
const bareWorker = await Worker.create({
  connection: nativeConnection,
  taskQueue: bareTaskQueue,
  workflowBundle,
  activities: { benchStep },
});
const running = Promise.all([worker.run(), bareWorker.run()]);
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
const client = new Client({ connection });

type Variant = 'flywheel' | 'bare' | 'local';

async function workflowRun(workMs: number, variant: Variant = 'flywheel'): Promise<number> {
  return client.workflow.execute(variant === 'local' ? 'benchPipelineLocal' : 'benchPipeline', {
    taskQueue: variant === 'bare' ? bareTaskQueue : taskQueue,
    workflowId: `bench-pipeline/${randomUUID()}`,
    args: [{ steps: STEPS, workMs }],
  });
}

/** The references run at these W only (W = 50 adds nothing they do not show). */
const REFERENCE_WORKS: readonly number[] = [0, 500];

interface Round {
  workflowMs: number;
  plainMs: number;
  bareMs?: number;
  localMs?: number;
}

const raw: Record<string, Round[]> = {};
try {
  console.log(
    `bench:orchestration: ${STEPS}-step pipeline, W ∈ {${WORKS.join(', ')}} ms, ${rounds} round(s) after a warm-up, dev server at ${env.TEMPORAL_ADDRESS}`,
  );
  await workflowRun(0);
  await workflowRun(0, 'bare');
  await workflowRun(0, 'local');
  await plainChain(0);
  for (let round = 0; round < rounds; round++) {
    for (const w of WORKS) {
      // Rotated order, so no variant always runs first after the previous W.
      const entry: Round = { workflowMs: 0, plainMs: 0 };
      const jobs: Array<[string, () => Promise<void>]> = [
        ['workflow', async () => void (entry.workflowMs = (await timed(() => workflowRun(w))).ms)],
        ['plain', async () => void (entry.plainMs = (await timed(() => plainChain(w))).ms)],
      ];
      if (REFERENCE_WORKS.includes(w))
        jobs.push(
          ['bare', async () => void (entry.bareMs = (await timed(() => workflowRun(w, 'bare'))).ms)],
          ['local', async () => void (entry.localMs = (await timed(() => workflowRun(w, 'local'))).ms)],
        );
      const shift = round % jobs.length;
      for (const [, job] of [...jobs.slice(shift), ...jobs.slice(0, shift)]) await job();
      (raw[`w${w}`] ??= []).push(entry);
      const refs =
        entry.bareMs !== undefined ? `, bare SDK ${entry.bareMs.toFixed(1)} ms, local activities ${entry.localMs!.toFixed(1)} ms` : '';
      console.log(`  round ${round + 1} W=${w}ms: workflow ${entry.workflowMs.toFixed(1)} ms, plain ${entry.plainMs.toFixed(1)} ms${refs}`);
    }
  }
  // Throughput: 20 pipelines in flight at a time, W = 0.
  const total = quick ? 20 : 100;
  let next = 0;
  const concurrent = await timed(() =>
    Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < total) {
          next++;
          await workflowRun(0);
        }
      }),
    ),
  );
  const pipelinesPerS = total / (concurrent.ms / 1000);
  console.log(
    `  ${total} pipelines, 20 at a time: ${pipelinesPerS.toFixed(1)} pipelines/s (${(pipelinesPerS * STEPS).toFixed(0)} steps/s)`,
  );

  const w0 = raw.w0!;
  const w50 = raw.w50!;
  const w500 = raw.w500!;
  const summary = {
    overhead_ratio_w500: median(w500.map((r) => r.workflowMs / r.plainMs)),
    overhead_ratio_w50: median(w50.map((r) => r.workflowMs / r.plainMs)),
    step_overhead_ms_w0: median(w0.map((r) => (r.workflowMs - r.plainMs) / STEPS)),
    step_overhead_ms_w500: median(w500.map((r) => (r.workflowMs - r.plainMs) / STEPS)),
    pipelines_per_s_c20: pipelinesPerS,
    bare_sdk_step_overhead_ms_w0: median(w0.map((r) => (r.bareMs! - r.plainMs) / STEPS)),
    bare_sdk_overhead_ratio_w500: median(w500.map((r) => r.bareMs! / r.plainMs)),
    local_step_overhead_ms_w0: median(w0.map((r) => (r.localMs! - r.plainMs) / STEPS)),
    local_overhead_ratio_w500: median(w500.map((r) => r.localMs! / r.plainMs)),
    rounds,
  };
  const file = await saveResults('orchestration', { summary, raw, steps: STEPS, concurrent: { total, ms: concurrent.ms } });
  console.log(`raw rounds: ${file}`);
  console.log(summaryLine('orchestration', summary));
} finally {
  worker.shutdown();
  bareWorker.shutdown();
  await running;
  await connection.close();
  await nativeConnection.close();
}
