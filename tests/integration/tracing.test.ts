// End-to-end tracing against a real Jaeger (v2 all-in-one, started here on free ports) and a
// private Temporal dev server. (1) A client span starts a workflow (its worker in this process),
// whose activity calls `flywheel serve` (a real process, FLYWHEEL_TRACING=true) over HTTP with the
// W3C traceparent: Jaeger must hold ONE trace with the client span, StartWorkflow, RunWorkflow,
// StartActivity, RunActivity and the server's request span with its predict, batcher, inference
// and prediction-log children, under two service names. (2) An async job: the job request's span
// is the parent of the inferenceJob workflow's spans and of the server's scoreJob activity.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { activeTracer, startTracing, traceHeaders, type Tracing } from '../../lib/telemetry/index.ts';
import { connectClient, connectWorkerConnection } from '../../lib/temporal/connection.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { getInfra } from './infra.ts';
import { freePort, ROOT, spawnNode, type Spawned } from './processes.ts';
import type { TracedPredictInput } from './tracing.workflows.ts';

const infra = getInfra();
const tag = randomUUID().slice(0, 8);
const NAME = `traced-${tag}`;
// The private server's own flywheel-cpu: the async job's workflow is started there.
const TASK_QUEUE = TASK_QUEUES.cpu;
const TEST_SERVICE = 'flywheel-tracing-test';
const runDir = mkdtempSync(join(tmpdir(), 'flywheel-tracing-'));
let temporalEnv: TestWorkflowEnvironment | undefined;
let temporal = { address: '', namespace: 'default' };

let jaeger: ChildProcess | undefined;
let serve: Spawned | undefined;
let jaegerApi = '';
let otlpUrl = '';
let serveUrl = '';
let db: PostgresDatabase | undefined;
let tracing: Tracing | undefined;
let client: Client | undefined;
let workerConnection: NativeConnection | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let instances: FixtureInstance[] = [];

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(200);
  }
}

beforeAll(async () => {
  if (!infra.jaegerPath) throw new Error('the tracing test needs Jaeger: bash infra/scripts/infra.sh provision jaeger');
  const [otlpPort, uiPort, grpcPort, healthPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  jaeger = spawn(infra.jaegerPath, ['--config', join(ROOT, 'infra/jaeger/local.yaml')], {
    env: {
      PATH: process.env.PATH ?? '',
      JAEGER_OTLP_HTTP_PORT: String(otlpPort),
      JAEGER_UI_PORT: String(uiPort),
      JAEGER_QUERY_GRPC_PORT: String(grpcPort),
      JAEGER_HEALTH_PORT: String(healthPort),
    },
    stdio: 'ignore',
  });
  jaegerApi = `http://127.0.0.1:${uiPort}`;
  otlpUrl = `http://127.0.0.1:${otlpPort}`;

  temporalEnv = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: infra.temporalCliPath } },
  });
  temporal = { address: temporalEnv.address, namespace: 'default' };
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  const storeUri = `file://${join(runDir, 'artifacts')}`;
  const store = await LocalArtifactStore.create(storeUri);
  await registerFixtureModel({ registry: new BuiltinRegistry(db), store, name: NAME, spec: await fitFixtureSpec(5000), alias: 'champion' });
  instances = await sampleInstances(3, 100);

  const servePort = await freePort();
  serve = spawnNode(['bin/flywheel.js', 'serve'], {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_SERVE_PORT: String(servePort),
    FLYWHEEL_SERVE_MODELS: NAME,
    FLYWHEEL_SERVE_AUTH: 'false',
    FLYWHEEL_SERVE_CACHE_SIZE: '0',
    TEMPORAL_ADDRESS: temporal.address,
    FLYWHEEL_TRACING: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
  });
  serveUrl = `http://127.0.0.1:${servePort}`;

  await waitForHttp(`http://127.0.0.1:${healthPort}/status`, 20_000);
  // This process is the client and the worker; its spans go to the same Jaeger.
  tracing = startTracing({ tracesUrl: `${otlpUrl}/v1/traces`, serviceName: TEST_SERVICE }, { serviceName: TEST_SERVICE });
  client = await connectClient(temporal);
  workerConnection = await connectWorkerConnection(temporal);
  worker = await createWorker({
    connection: workerConnection,
    namespace: temporal.namespace,
    taskQueue: TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./tracing.workflows.ts', import.meta.url)),
    activities: {
      async predictOverHttp(input: TracedPredictInput): Promise<number> {
        const res = await fetch(`${input.url}/v1/models/${input.model}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...traceHeaders() },
          body: JSON.stringify({ instances: input.instances }),
        });
        if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
        return ((await res.json()) as { predictions: unknown[] }).predictions.length;
      },
    },
  });
  workerRun = worker.run();
  await serve.waitFor('async job worker started', 60_000);
  await serve.waitFor('inference server listening', 60_000);
}, 120_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun?.catch(() => undefined);
  await workerConnection?.close().catch(() => undefined);
  await client?.connection.close().catch(() => undefined);
  await tracing?.shutdown().catch(() => undefined);
  await temporalEnv?.teardown().catch(() => undefined);
  if (serve && serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
  if (jaeger && jaeger.exitCode === null && jaeger.signalCode === null) jaeger.kill('SIGKILL');
  await db?.close().catch(() => undefined);
  rmSync(runDir, { recursive: true, force: true });
});

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
  processID: string;
}

interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

async function fetchTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${jaegerApi}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: JaegerTrace[] }).data[0];
}

/** Polls Jaeger until the trace holds every span named (the server exports on its own schedule). */
async function waitForTrace(traceId: string, names: readonly string[], timeoutMs: number): Promise<JaegerTrace> {
  const deadline = Date.now() + timeoutMs;
  let last: JaegerTrace | undefined;
  for (;;) {
    last = await fetchTrace(traceId);
    const have = new Set(last?.spans.map((s) => s.operationName));
    if (last && names.every((n) => have.has(n))) return last;
    if (Date.now() > deadline)
      throw new Error(`trace ${traceId} lacks ${names.filter((n) => !have.has(n)).join(', ')}; has ${[...have].join(', ')}`);
    await sleep(250);
  }
}

const tagOf = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

describe('tracing', () => {
  it('follows one request from the client span through Temporal into the inference server', async () => {
    const tracer = activeTracer();
    expect(tracer, 'startTracing registered a tracer').toBeDefined();
    const root = tracer!.startSpan('tracing-test client');
    const traceId = root.spanContext().traceId;
    const count = await context.with(trace.setSpan(context.active(), root), () =>
      client!.workflow.execute('tracedPredict', {
        taskQueue: TASK_QUEUE,
        workflowId: `tracing-${tag}`,
        args: [{ url: serveUrl, model: NAME, instances } satisfies TracedPredictInput],
      }),
    );
    root.end();
    expect(count).toBe(instances.length);
    await tracing!.flush();

    const names = [
      'tracing-test client',
      'StartWorkflow:tracedPredict',
      'RunWorkflow:tracedPredict',
      'StartActivity:predictOverHttp',
      'RunActivity:predictOverHttp',
      'POST /v1/models/:name/predict',
      'predict',
      'batcher.queue',
      'inference.run',
      'prediction_log.record',
    ];
    const found = await waitForTrace(traceId, names, 20_000);
    expect(found.spans.every((s) => s.traceID === traceId)).toBe(true);
    const byName = (name: string) => found.spans.find((s) => s.operationName === name)!;
    const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const service = (span: JaegerSpan) => found.processes[span.processID]?.serviceName;

    // The chain, parent by parent: client → StartWorkflow → RunWorkflow → StartActivity →
    // RunActivity → (HTTP, traceparent) server request → predict → batcher/inference/log.
    expect(parentOf(byName('StartWorkflow:tracedPredict'))).toBe(byName('tracing-test client').spanID);
    expect(parentOf(byName('RunWorkflow:tracedPredict'))).toBe(byName('StartWorkflow:tracedPredict').spanID);
    expect(parentOf(byName('StartActivity:predictOverHttp'))).toBe(byName('RunWorkflow:tracedPredict').spanID);
    expect(parentOf(byName('RunActivity:predictOverHttp'))).toBe(byName('StartActivity:predictOverHttp').spanID);
    const request = byName('POST /v1/models/:name/predict');
    expect(parentOf(request)).toBe(byName('RunActivity:predictOverHttp').spanID);
    expect(parentOf(byName('predict'))).toBe(request.spanID);
    for (const child of ['batcher.queue', 'inference.run', 'prediction_log.record'])
      expect(parentOf(byName(child)), child).toBe(byName('predict').spanID);

    expect(service(byName('RunActivity:predictOverHttp'))).toBe(TEST_SERVICE);
    expect(service(request)).toBe('flywheel-serve');
    expect(tagOf(request, 'http.response.status_code')).toBe(200);
    expect(tagOf(request, 'http.route')).toBe('/v1/models/:name/predict');
    expect(tagOf(byName('predict'), 'flywheel.model')).toBe(NAME);
    expect(tagOf(byName('inference.run'), 'flywheel.batch.rows')).toBe(instances.length);
    expect(tagOf(byName('prediction_log.record'), 'flywheel.rows')).toBe(instances.length);
  }, 60_000);

  it("links an async job's workflow and its server-side activity to the job request's trace", async () => {
    const root = activeTracer()!.startSpan('tracing-test job client');
    const traceId = root.spanContext().traceId;
    // The caller's traceparent (another service's client span) rides on the job request.
    const headers = context.with(trace.setSpan(context.active(), root), () => traceHeaders());
    root.end();
    expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
    const res = await fetch(`${serveUrl}/v1/models/${NAME}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ instances }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const deadline = Date.now() + 20_000;
    let status = 'running';
    while (status === 'running' && Date.now() < deadline) {
      await sleep(200);
      status = ((await (await fetch(`${serveUrl}/v1/jobs/${jobId}`)).json()) as { status: string }).status;
    }
    expect(status).toBe('completed');
    await tracing!.flush();

    const found = await waitForTrace(
      traceId,
      ['POST /v1/models/:name/jobs', 'StartWorkflow:inferenceJob', 'RunWorkflow:inferenceJob', 'RunActivity:scoreJob', 'predict'],
      20_000,
    );
    const byName = (name: string) => found.spans.find((s) => s.operationName === name)!;
    const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const request = byName('POST /v1/models/:name/jobs');
    expect(parentOf(request)).toBe(root.spanContext().spanId);
    expect(tagOf(request, 'flywheel.job.id')).toBe(jobId);
    expect(tagOf(request, 'http.response.status_code')).toBe(202);
    expect(parentOf(byName('StartWorkflow:inferenceJob'))).toBe(request.spanID);
    expect(parentOf(byName('RunWorkflow:inferenceJob'))).toBe(byName('StartWorkflow:inferenceJob').spanID);
    // The job's predictions are scored by the server's own job worker, inside the same trace.
    const score = byName('RunActivity:scoreJob');
    expect(found.processes[score.processID]?.serviceName).toBe('flywheel-serve');
    expect(parentOf(byName('predict'))).toBe(score.spanID);
  }, 60_000);

  it('starts a trace at the terminal: a `flywheel` command is the root of the workflow it starts', async () => {
    // `batch start` puts the model on the workflow as a search attribute, which a fresh server lacks.
    await ensureSearchAttributes(client!.connection, temporal.namespace);
    const cli = spawnNode(
      ['bin/flywheel.js', 'batch', 'start', 'file:///nowhere.parquet', '--model', NAME, '--output', `tracing/${tag}`, '--detach', '--json'],
      { ...infra.env, TEMPORAL_ADDRESS: temporal.address, FLYWHEEL_TRACING: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl },
    );
    const { code } = await cli.exited;
    expect(code, cli.output()).toBe(0);
    const { workflowId } = JSON.parse(
      cli
        .output()
        .split('\n')
        .find((l) => l.startsWith('{"workflowId"'))!,
    ) as { workflowId: string };
    const handle = client!.workflow.getHandle(workflowId);
    // This test's worker does not run batch jobs; the trace is all that matters here.
    const history = await handle.fetchHistory();
    await handle.terminate('tracing test: only the start was wanted');
    const header = history.events?.[0]?.workflowExecutionStartedEventAttributes?.header?.fields?.['_tracer-data'];
    const carried = JSON.parse(Buffer.from(header!.data!).toString('utf8')) as { traceparent: string };
    const traceId = carried.traceparent.split('-')[1]!;

    // The CLI flushed its spans before exiting, so they are there (or arrive within Jaeger's batch).
    const found = await waitForTrace(traceId, ['flywheel batch start', 'StartWorkflow:batchPredict'], 10_000);
    const root = found.spans.find((s) => s.operationName === 'flywheel batch start')!;
    const start = found.spans.find((s) => s.operationName === 'StartWorkflow:batchPredict')!;
    expect(root.references).toEqual([]);
    expect(start.references.find((r) => r.refType === 'CHILD_OF')?.spanID).toBe(root.spanID);
    expect(carried.traceparent).toBe(`00-${traceId}-${start.spanID}-01`);
    expect(found.processes[root.processID]?.serviceName).toBe('flywheel-cli');
  }, 60_000);
});
