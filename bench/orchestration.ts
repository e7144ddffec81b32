// B5 bench:orchestration — what durability costs per step: a 10-step pipeline as a Temporal
// workflow (one activity per step, real dev server from infra.sh, an in-process worker) against
// the same steps as a plain async function chain, at per-step work W ∈ {0, 50, 500} ms,
// interleaved A B A B. Also the throughput of 20 concurrent pipelines at W = 0.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
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
const env = infraEnv();
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
const running = worker.run();
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
const client = new Client({ connection });

async function workflowRun(workMs: number): Promise<number> {
  return client.workflow.execute('benchPipeline', {
    taskQueue,
    workflowId: `bench-pipeline/${randomUUID()}`,
    args: [{ steps: STEPS, workMs }],
  });
}

const raw: Record<string, Array<{ workflowMs: number; plainMs: number }>> = {};
try {
  console.log(
    `bench:orchestration: ${STEPS}-step pipeline, W ∈ {${WORKS.join(', ')}} ms, ${rounds} round(s) after a warm-up, dev server at ${env.TEMPORAL_ADDRESS}`,
  );
  await workflowRun(0);
  await plainChain(0);
  for (let round = 0; round < rounds; round++) {
    for (const w of WORKS) {
      const a = await timed(() => workflowRun(w));
      const b = await timed(() => plainChain(w));
      (raw[`w${w}`] ??= []).push({ workflowMs: a.ms, plainMs: b.ms });
      console.log(`  round ${round + 1} W=${w}ms: workflow ${a.ms.toFixed(1)} ms, plain ${b.ms.toFixed(1)} ms`);
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
    rounds,
  };
  const file = await saveResults('orchestration', { summary, raw, steps: STEPS, concurrent: { total, ms: concurrent.ms } });
  console.log(`raw rounds: ${file}`);
  console.log(summaryLine('orchestration', summary));
} finally {
  worker.shutdown();
  await running;
  await connection.close();
  await nativeConnection.close();
}
