// A worker process as the platform sees it: the real CPU worker (workers/cpu/main.ts) with
// FLYWHEEL_WORKER_HTTP_PORT=0, on a private Temporal dev server (flywheel-cpu on the shared one
// belongs to other test files' workers). The test's own worker runs two small workflows on a
// private queue that send real activities to it: a probe, and a training command that runs
// until cancelled, to hold the worker busy while it drains.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../lib/temporal/worker.ts';
import { getInfra } from './infra.ts';
import { isAlive, spawnWorker, type Spawned } from './processes.ts';

const QUEUE = 'worker-health-test';
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let env: TestWorkflowEnvironment;
let testWorker: Worker;
let testWorkerRun: Promise<void>;
let worker: Spawned;
let url: string;

beforeAll(async () => {
  const infra = getInfra();
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: infra.temporalCliPath } } });
  worker = spawnWorker('cpu', {
    TEMPORAL_ADDRESS: env.address,
    FLYWHEEL_DATA_DIR: await mkdtemp(join(tmpdir(), 'worker-health-')),
    FLYWHEEL_WORKER_HTTP_PORT: '0',
    // The drain below waits this long for the held activity before cancelling it.
    FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: '3000',
  });
  const bundle = await bundleWorkflowCode({
    workflowsPath: new URL('./worker-health.workflows.ts', import.meta.url).pathname,
    logger: quiet,
  });
  testWorker = await createWorker({ connection: env.nativeConnection, taskQueue: QUEUE, workflowBundle: bundle });
  testWorkerRun = testWorker.run();
  await worker.waitFor('worker health server listening', 30_000);
  url = /"url":"(http:\/\/[^"]+)"/.exec(worker.output())![1]!;
}, 60_000);

afterAll(async () => {
  if (worker && isAlive(worker.child.pid!)) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  if (testWorker?.getState() === 'RUNNING') testWorker.shutdown();
  await testWorkerRun;
  await env?.teardown();
});

async function get(path: string, init?: RequestInit) {
  const res = await fetch(`${url}${path}`, init);
  return { status: res.status, text: await res.text() };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker output:\n${worker.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the CPU worker process', () => {
  it('is live at once, and ready only once its Temporal workers run', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    // Up before the database, the workflow bundle and the workers: alive, not ready.
    const early = await get('/readyz');
    expect(early.status).toBe(503);
    expect(JSON.parse(early.text)).toEqual({ status: 'not ready', reasons: ['starting'] });

    await worker.waitFor('worker started', 55_000);
    const ready = await until(async () => {
      const r = await get('/readyz');
      return r.status === 200 ? r : undefined;
    }, '/readyz 200');
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready', reasons: [] });
  }, 75_000);

  it("serves the SDK's metrics, Flywheel's activity counts and Node's default metrics on /metrics", async () => {
    const probe = await env.client.workflow.execute('probeCpuWorker', { taskQueue: QUEUE, workflowId: `worker-health/${randomUUID()}` });
    expect(probe).toMatchObject({ workerKind: 'cpu' });

    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain(
      'flywheel_worker_activities_total{activity_type="probeWorker",outcome="completed",task_queue="flywheel-cpu"} 1\n',
    );
    expect(text).toMatch(
      /^flywheel_worker_activity_duration_seconds_count\{activity_type="probeWorker",outcome="completed",task_queue="flywheel-cpu"\} 1$/m,
    );
    // From Temporal Core's Prometheus exporter, merged in.
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="flywheel-cpu".*\} \d+$/m);
    expect(text).toMatch(/^temporal_request_total\{/m);
    // prom-client's defaults under their standard names.
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    // Every family is described once: the two expositions share no metric name.
    const types = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(types.length).toBeGreaterThan(20);
    expect(new Set(types).size).toBe(types.length);
  }, 30_000);

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/readyz', { method: 'POST' })).status).toBe(405);
  });

  it('on SIGTERM reports 503 "draining" while an activity finishes, then exits cleanly', async () => {
    const runKey = `worker-health-${randomUUID().slice(0, 8)}`;
    await env.client.workflow.start('holdCpuWorker', {
      taskQueue: QUEUE,
      workflowId: `worker-health/${runKey}`,
      args: [{ runKey, command: ['sleep', '120'], inputs: {} }],
    });
    // A running training shows its checkpoint age (since it started: it has written none).
    const age = await until(async () => {
      const m = new RegExp(`^flywheel_worker_checkpoint_age_seconds\\{run_key="${runKey}"\\} (\\S+)$`, 'm').exec(
        (await get('/metrics')).text,
      );
      return m ? Number(m[1]) : undefined;
    }, 'the training run on /metrics');
    expect(age).toBeGreaterThanOrEqual(0);

    worker.child.kill('SIGTERM');
    const draining = await until(
      async () => {
        const r = await get('/readyz');
        return r.status === 503 ? r : undefined;
      },
      '/readyz 503',
      2_000,
    );
    expect(JSON.parse(draining.text).reasons).toContain('draining');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  }, 30_000);
});
