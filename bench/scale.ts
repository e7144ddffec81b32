// B11 bench:scale — many models on one worker. `--models` lifecycles (`model/<name>`), each with
// its drift monitor (`monitor/<name>`), on ONE CPU worker process (bench/scale-worker.ts: the real
// worker configuration and workflow bundle, stubbed activities) against a private dev server
// started here with the temporal CLI (so no other worker on the shared server takes its tasks and
// its CPU is its own). Phases: start-up, steady state (monitors checking every `--interval`), then
// a retrain storm: a `retrain` signal to `--storm-share` of the lifecycles at once, each running a
// full cycle (prepare, train, evaluate, register, promote) until all are done. Measured from the
// histories: workflow-task schedule-to-start (WorkflowTaskScheduled → WorkflowTaskStarted) per
// phase, history length per workflow type and continue-as-new counts; sampled from /proc: the
// worker's RSS and CPU and the dev server's CPU. The baseline is the same run's steady state.
//
//   npm run bench:scale                     # 1,000 models
//   npm run bench:scale -- --quick          # 100 models, shorter phases
//   npm run bench:scale -- --models 300 --steady 60 --interval 20
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { loadModelSpec, type ModelSpec } from '../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { sleep } from '../lib/time/sleep.ts';
import { driftMonitorWorkflow, type DriftMonitorInput } from '../lib/contracts/drift-monitor.ts';
import { dataArrivedSignal, modelLifecycleWorkflow, retrainSignal } from '../lib/contracts/model-lifecycle.ts';
import { isQuick, saveResults, summaryLine } from './lib.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** temporal.api.enums.v1.EventType values (the proto package is CommonJS without named exports). */
const WORKFLOW_TASK_SCHEDULED = 5;
const WORKFLOW_TASK_STARTED = 6;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const quick = isQuick();
const settings = {
  models: Math.round(flag('models', quick ? 100 : 1000)),
  /** Seconds of steady state (the baseline) before the storm. */
  steadyS: flag('steady', quick ? 30 : 90),
  /** Monitor check interval, seconds (production default 5 min; shorter here to load the worker). */
  intervalS: flag('interval', quick ? 5 : 30),
  /** Monitor checks per run before continue-as-new (production default 200), so the bench sees it. */
  checksPerRun: Math.round(flag('checks-per-run', 3)),
  stormShare: flag('storm-share', 0.1),
  /** Each stub activity's work, milliseconds. */
  activityMs: flag('activity-ms', 5),
  stormTimeoutS: flag('storm-timeout', 300),
};
const temporalBin = process.env.TEMPORAL_CLI_PATH ?? `${root}.tools/bin/temporal`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms; output: ${seen.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before "${text}"; output: ${seen.slice(-2000)}`)));
  });
}

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // CLK_TCK is 100 on Linux
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function ms(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  const s = ts?.seconds;
  const seconds =
    typeof s === 'number'
      ? s
      : s && typeof (s as { toNumber?: unknown }).toNumber === 'function'
        ? (s as { toNumber(): number }).toNumber()
        : 0;
  return seconds * 1000 + (ts?.nanos ?? 0) / 1e6;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function benchSpec(base: ModelSpec, name: string): ModelSpec {
  const { schedule: _schedule, ...retrain } = base.retrain;
  return {
    ...base,
    name,
    trainer: { ...base.trainer, resources: { ...base.trainer.resources, gpu: false } },
    approval: { ...base.approval, mode: 'automatic' },
    rollout: { ...base.rollout, steps: [] },
    retrain: { ...retrain, onDrift: true, onNewData: false, cooldown: '0s' },
    monitor: { ...base.monitor, enabled: true, interval: `${settings.intervalS}s`, cooldown: '1h' },
  };
}

// --- the private dev server and the one worker process -----------------------------------------
const port = await freePort();
const address = `127.0.0.1:${port}`;
const server = spawn(
  temporalBin,
  [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--log-level',
    'error',
    '--namespace',
    'default',
    '--search-attribute',
    'FlywheelModel=Keyword',
    '--search-attribute',
    'FlywheelStage=Keyword',
    '--search-attribute',
    'FlywheelVersion=Int',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let worker: ChildProcess | undefined;
let connection: Connection | undefined;
const samples: Array<{ t: number; phase: string; workerRssMb: number; workerCpuS: number; serverCpuS: number }> = [];
let phase = 'start-up';
let sampler: NodeJS.Timeout | undefined;

async function connectWithRetry(): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await Connection.connect({ address, connectTimeout: 2000 });
      await c.workflowService.getSystemInfo({});
      return c;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

try {
  console.log(
    `bench:scale: ${settings.models} models (lifecycle + monitor each) on one CPU worker, private dev server at ${address}; monitor every ${settings.intervalS}s, ${settings.checksPerRun} checks per run; steady ${settings.steadyS}s, storm to ${Math.round(settings.stormShare * 100)}%; stub activities ${settings.activityMs} ms`,
  );
  connection = await connectWithRetry();
  const client = new Client({ connection });
  worker = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./scale-worker.ts', import.meta.url))], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: address, SCALE_ACTIVITY_MS: String(settings.activityMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stderr?.on('data', (d: Buffer) => process.stderr.write(`[worker] ${d.toString()}`));
  await waitForLine(worker, 'scale worker started', 180_000);
  const workerPid = worker.pid!;
  const serverPid = server.pid!;
  sampler = setInterval(() => {
    try {
      samples.push({
        t: Date.now(),
        phase,
        workerRssMb: rssMb(workerPid),
        workerCpuS: cpuSeconds(workerPid),
        serverCpuS: cpuSeconds(serverPid),
      });
    } catch {
      // a process just exited
    }
  }, 1000);

  // --- start-up: every lifecycle and monitor; the storm's models get a partition to train on ----
  const base = await loadModelSpec(`${root}examples/flights/model.yaml`);
  const names = Array.from({ length: settings.models }, (_, i) => `scale-${String(i).padStart(4, '0')}`);
  const stormNames = names.filter((_, i) => i % Math.round(1 / settings.stormShare) === 0);
  const startupStart = Date.now();
  await pool(names, 32, async (name) => {
    const spec = benchSpec(base, name);
    await client.workflow.start(modelLifecycleWorkflow, {
      workflowId: WORKFLOW_IDS.modelLifecycle(name),
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
    });
    const input: DriftMonitorInput = {
      model: name,
      dataset: spec.data.dataset,
      monitor: spec.monitor,
      lifecycleWorkflowId: WORKFLOW_IDS.modelLifecycle(name),
      checksBeforeContinueAsNew: settings.checksPerRun,
    };
    await client.workflow.start(driftMonitorWorkflow, {
      workflowId: WORKFLOW_IDS.driftMonitor(name),
      taskQueue: TASK_QUEUES.cpu,
      args: [input],
    });
  });
  await pool(stormNames, 32, (name) =>
    client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(name)).signal(dataArrivedSignal, {
      eventId: `bench/${name}/2001-01`,
      dataset: base.data.dataset,
      partition: '2001-01',
      uris: ['s3://bench/flights/2001-01.parquet'],
      retrain: false,
    }),
  );
  const startupS = (Date.now() - startupStart) / 1000;
  console.log(`  start-up: ${names.length * 2} workflows started in ${startupS.toFixed(1)} s`);
  // One full interval so every monitor has settled into its timer loop before measuring.
  await sleep(settings.intervalS * 1000 + 2000);

  // --- steady state (the baseline) -----------------------------------------------------------------
  phase = 'steady';
  const steadyStart = Date.now();
  await sleep(settings.steadyS * 1000);
  const steadyEnd = Date.now();

  // --- the storm: retrain signals to stormShare of the lifecycles at once --------------------------
  phase = 'storm';
  const stormStart = Date.now();
  await pool(stormNames, 64, (name) =>
    client.workflow
      .getHandle(WORKFLOW_IDS.modelLifecycle(name))
      .signal(retrainSignal, { reason: 'bench:scale storm', requestedBy: 'bench', eventId: `bench/storm/${name}` }),
  );
  let done = 0;
  let failed = 0;
  while (Date.now() - stormStart < settings.stormTimeoutS * 1000) {
    done = (await client.workflow.count(`WorkflowType = 'modelCycle' AND ExecutionStatus = 'Completed'`)).count;
    failed = (
      await client.workflow.count(`WorkflowType = 'modelCycle' AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'Running'`)
    ).count;
    if (done + failed >= stormNames.length) break;
    await sleep(1000);
  }
  const stormEnd = Date.now();
  phase = 'after';
  console.log(
    `  storm: ${stormNames.length} retrains, ${done} cycles completed, ${failed} failed, in ${((stormEnd - stormStart) / 1000).toFixed(1)} s`,
  );
  clearInterval(sampler);
  sampler = undefined;
  worker.kill('SIGTERM');

  // --- histories: every run of every workflow (continued-as-new runs included) --------------------
  const executions: Array<{ workflowId: string; runId: string; type: string; status: string }> = [];
  for await (const w of client.workflow.list())
    executions.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, status: w.status.name });
  const byType = new Map<string, { runs: number; continuedAsNew: number; maxEvents: number; events: number[] }>();
  const latency = { startup: [] as number[], steady: [] as number[], storm: [] as number[] };
  await pool(executions, 16, async (e) => {
    const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
    const events = history.events ?? [];
    const t = byType.get(e.type) ?? { runs: 0, continuedAsNew: 0, maxEvents: 0, events: [] };
    t.runs++;
    if (e.status === 'CONTINUED_AS_NEW') t.continuedAsNew++;
    t.maxEvents = Math.max(t.maxEvents, events.length);
    t.events.push(events.length);
    byType.set(e.type, t);
    const scheduled = new Map<number, number>();
    for (const ev of events) {
      const id = Number(ev.eventId);
      if (ev.eventType === WORKFLOW_TASK_SCHEDULED) scheduled.set(id, ms(ev.eventTime));
      else if (ev.eventType === WORKFLOW_TASK_STARTED) {
        const at = scheduled.get(Number(ev.workflowTaskStartedEventAttributes?.scheduledEventId));
        if (at === undefined) continue;
        const wait = (ms(ev.eventTime) - at) / 1000;
        if (at >= stormStart && at <= stormEnd) latency.storm.push(wait);
        else if (at >= steadyStart && at < steadyEnd) latency.steady.push(wait);
        else if (at < steadyStart) latency.startup.push(wait);
      }
    }
  });

  const inPhase = (p: string) => samples.filter((s) => s.phase === p);
  const cpuShare = (p: string, key: 'serverCpuS' | 'workerCpuS') => {
    const s = inPhase(p);
    if (s.length < 2) return NaN;
    return (s.at(-1)![key] - s[0]![key]) / ((s.at(-1)!.t - s[0]!.t) / 1000);
  };
  const rss = samples.map((s) => s.workerRssMb);
  const types = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b));
  console.log('  history length per workflow type (events per run):');
  for (const [type, t] of types)
    console.log(
      `    ${type}: ${t.runs} runs, ${t.continuedAsNew} continued as new, max ${t.maxEvents}, p50 ${quantile(t.events, 0.5)} events`,
    );
  for (const p of ['startup', 'steady', 'storm'] as const)
    console.log(
      `  schedule-to-start ${p}: ${latency[p].length} workflow tasks, p50 ${quantile(latency[p], 0.5).toFixed(3)} s, p95 ${quantile(latency[p], 0.95).toFixed(3)} s, max ${quantile(latency[p], 1).toFixed(3)} s`,
    );
  console.log(
    `  worker RSS max ${Math.max(...rss).toFixed(0)} MB (${(rss[0] ?? NaN).toFixed(0)} MB before any workflow); CPU (cores): worker steady ${cpuShare('steady', 'workerCpuS').toFixed(2)} storm ${cpuShare('storm', 'workerCpuS').toFixed(2)}; dev server steady ${cpuShare('steady', 'serverCpuS').toFixed(2)} storm ${cpuShare('storm', 'serverCpuS').toFixed(2)}`,
  );

  const entity = (type: string) => byType.get(type) ?? { runs: 0, continuedAsNew: 0, maxEvents: 0, events: [] };
  const summary: Record<string, number | string> = {
    schedule_to_start_p95_s: quantile(latency.steady, 0.95),
    schedule_to_start_p50_s: quantile(latency.steady, 0.5),
    storm_schedule_to_start_p95_s: quantile(latency.storm, 0.95),
    storm_schedule_to_start_p50_s: quantile(latency.storm, 0.5),
    worker_rss_mb: Math.max(...rss),
    worker_rss_idle_mb: rss[0] ?? NaN,
    server_cpu_cores_steady: cpuShare('steady', 'serverCpuS'),
    server_cpu_cores_storm: cpuShare('storm', 'serverCpuS'),
    worker_cpu_cores_steady: cpuShare('steady', 'workerCpuS'),
    storm_s: (stormEnd - stormStart) / 1000,
    storm_cycles_completed: done,
    storm_cycles_failed: failed,
    max_history_events_modelLifecycle: entity('modelLifecycle').maxEvents,
    max_history_events_driftMonitor: entity('driftMonitor').maxEvents,
    max_history_events_modelCycle: entity('modelCycle').maxEvents,
    max_history_events_prepareData: entity('prepareData').maxEvents,
    max_history_events_trainModel: entity('trainModel').maxEvents,
    monitor_continued_as_new: entity('driftMonitor').continuedAsNew,
    models: settings.models,
  };
  const file = await saveResults('scale', {
    settings,
    summary,
    startupS,
    types: Object.fromEntries(types.map(([k, v]) => [k, { runs: v.runs, continuedAsNew: v.continuedAsNew, maxEvents: v.maxEvents }])),
    latency: Object.fromEntries(
      Object.entries(latency).map(([k, v]) => [k, { n: v.length, p50: quantile(v, 0.5), p95: quantile(v, 0.95) }]),
    ),
    samples,
  });
  console.log(`raw: ${file}`);
  console.log(summaryLine('scale', summary));
} finally {
  if (sampler) clearInterval(sampler);
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
  }
  await connection?.close();
  server.kill('SIGTERM');
}
