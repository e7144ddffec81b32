// Both worker processes against the real Temporal dev server, PostgreSQL and S3 store: the
// routing check's CPU activity runs on the CPU worker and its GPU activity on the GPU worker.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { getInfra } from './infra.ts';
import { spawnWorker, type Spawned } from './processes.ts';
import { routingCheckWorkflow, type RoutingCheckResult } from '../../lib/contracts/routing-check.ts';

const infra = getInfra();
const tag = randomUUID().slice(0, 8);
let cpu: Spawned;
let gpu: Spawned;
let client: Client;

beforeAll(async () => {
  const env = { ...infra.env, ARTIFACT_STORE: `s3://${infra.s3Bucket}/routing-${tag}`, FLYWHEEL_LOG_LEVEL: 'info' };
  cpu = spawnWorker('cpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `test-cpu-${tag}` });
  gpu = spawnWorker('gpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `test-gpu-${tag}` });
  await Promise.all([cpu.waitFor('"worker started"', 90_000), gpu.waitFor('"worker started"', 90_000)]);
  client = new Client({ connection: await Connection.connect({ address: infra.temporalAddress }) });
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  for (const w of [cpu, gpu]) if (w && w.child.exitCode === null) w.child.kill('SIGKILL');
});

describe('task-queue routing', () => {
  it('runs the CPU activity on the CPU worker and the GPU activity on the GPU worker', async () => {
    const workflowId = WORKFLOW_IDS.routingCheck(`test-${tag}`);
    const handle = await client.workflow.start(routingCheckWorkflow, { taskQueue: TASK_QUEUES.cpu, workflowId, args: [{}] });
    const result = (await handle.result()) as RoutingCheckResult;

    expect(result.cpu).toMatchObject({ workerKind: 'cpu', taskQueue: 'flywheel-cpu', identity: `test-cpu-${tag}`, pid: cpu.child.pid });
    expect(result.gpu).toMatchObject({ workerKind: 'gpu', taskQueue: 'flywheel-gpu', identity: `test-gpu-${tag}`, pid: gpu.child.pid });

    // The server's own record agrees: which identity started each activity task.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<string, string>();
    for (const e of events) {
      const attrs = e.activityTaskScheduledEventAttributes;
      if (attrs) scheduled.set(String(e.eventId), attrs.taskQueue?.name ?? '');
    }
    const startedBy = events
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => {
        const a = e.activityTaskStartedEventAttributes!;
        return { queue: scheduled.get(String(a.scheduledEventId)), identity: a.identity };
      })
      .sort((a, b) => String(a.queue).localeCompare(String(b.queue)));
    expect(startedBy).toEqual([
      { queue: 'flywheel-cpu', identity: `test-cpu-${tag}` },
      { queue: 'flywheel-gpu', identity: `test-gpu-${tag}` },
    ]);
    const workflowTaskWorkers = events
      .filter((e) => e.workflowTaskStartedEventAttributes)
      .map((e) => e.workflowTaskStartedEventAttributes!.identity);
    expect(new Set(workflowTaskWorkers)).toEqual(new Set([`test-cpu-${tag}`]));
  });

  it('shuts both workers down gracefully on SIGTERM', async () => {
    cpu.child.kill('SIGTERM');
    gpu.child.kill('SIGTERM');
    const [c, g] = await Promise.all([cpu.exited, gpu.exited]);
    expect(c).toEqual({ code: 0, signal: null });
    expect(g).toEqual({ code: 0, signal: null });
    expect(cpu.output()).toContain('"worker stopped"');
    expect(gpu.output()).toContain('"worker stopped"');
  }, 60_000);
});
