// Bounded histories for batch and inference jobs, on a real (ephemeral) Temporal dev server. The
// batch activities are stubbed because the subject is the workflow's own logic (what it carries
// across continue-as-new and returns as the chunk count grows); the inference job runs the real
// job activities and jobs client over a local artifact store, with a stand-in predictor.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planChunks } from '../../lib/batch/chunks.ts';
import { parseWebhookPolicy } from '../../lib/net/webhook-policy.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { SERVING_TASK_QUEUE, TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST, SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { createServingActivities } from '../../serving/jobs/activities.ts';
import { createJobsClient } from '../../serving/jobs/client.ts';
import type { Predict } from '../../serving/predictor.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { getInfra } from './infra.ts';
import {
  batchPredictWorkflow,
  type BatchManifest,
  type BatchManifestRequest,
  type BatchPlan,
  type BatchPredictInput,
  type ScoredChunk,
} from '../../lib/contracts/batch-predict.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let store: LocalArtifactStore;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: getInfra().temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
  });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  store = await LocalArtifactStore.create(`file://${await mkdtemp(join(tmpdir(), 'flywheel-job-histories-'))}`);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

/** A history as text, payloads decoded, so a test can look for values in it. */
function historyText(history: temporal.api.history.v1.IHistory): string {
  return JSON.stringify(history, (k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    // fetchHistory hands payload bytes over as base64 strings.
    if (k === 'data' && typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
    return v;
  });
}

function payloadBytes(payloads: temporal.api.common.v1.IPayloads | null | undefined): number {
  return (payloads?.payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);
}

interface RunStats {
  runs: number;
  maxEventsPerRun: number;
  maxCarriedBytes: number;
  resultBytes: number;
  maxManifestRequestBytes: number;
  result: BatchManifest;
  model: string | undefined;
}

const CHUNK_ROWS = 1000;

/** Runs batchPredict over `chunkCount` chunks with stub activities and measures every run. */
async function runBatch(chunkCount: number): Promise<RunStats> {
  const manifestRequests: number[] = [];
  const activities = {
    async planBatch(): Promise<BatchPlan> {
      const rows = chunkCount * CHUNK_ROWS;
      // The chunk list too, as plans from before `chunkRows` carried it.
      return {
        rows,
        chunkRows: CHUNK_ROWS,
        chunks: planChunks(rows, CHUNK_ROWS),
        model: { name: 'm', version: 3, artifactUri: 's3://b/models/m/3/model.onnx', featureSpecUri: 's3://b/f.json' },
      };
    },
    async scoreBatchChunk(input: { chunk: { index: number; start: number; end: number } }): Promise<ScoredChunk> {
      const { index, start, end } = input.chunk;
      const part = `s3://b/out/part-${String(index).padStart(5, '0')}.parquet`;
      return { index, rows: end - start, uri: part, sha256: 'ab'.repeat(32), recorded: true };
    },
    async writeBatchManifest(request: BatchManifestRequest): Promise<string> {
      manifestRequests.push(JSON.stringify(request).length);
      return `s3://b/${request.outputPrefix}/manifest.json`;
    },
  };
  const worker = await createWorker({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.cpu, activities, workflowBundle: bundle });
  const input: BatchPredictInput = {
    datasetUri: 's3://b/d.parquet',
    model: { name: 'm' },
    outputPrefix: 'out',
    chunksPerRun: 2,
    maxParallel: 2,
  };
  const workflowId = WORKFLOW_IDS.batchPredict('m', randomUUID());
  const handle = await env.client.workflow.start(batchPredictWorkflow, { taskQueue: TASK_QUEUES.cpu, workflowId, args: [input] });
  const result = (await worker.runUntil(handle.result())) as BatchManifest;

  const stats = { runs: 0, maxEventsPerRun: 0, maxCarriedBytes: 0, resultBytes: 0 };
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const events: temporal.api.history.v1.IHistoryEvent[] =
      (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    stats.runs++;
    stats.maxEventsPerRun = Math.max(stats.maxEventsPerRun, events.length);
    const last: temporal.api.history.v1.IHistoryEvent = events.at(-1)!;
    const continued: temporal.api.history.v1.IWorkflowExecutionContinuedAsNewEventAttributes | null | undefined =
      last.workflowExecutionContinuedAsNewEventAttributes;
    if (continued) stats.maxCarriedBytes = Math.max(stats.maxCarriedBytes, payloadBytes(continued.input));
    stats.resultBytes = payloadBytes(last.workflowExecutionCompletedEventAttributes?.result) || stats.resultBytes;
    runId = continued?.newExecutionRunId ?? undefined;
  }
  const model = (await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.model);
  return { ...stats, maxManifestRequestBytes: Math.max(...manifestRequests), result, model };
}

describe('batchPredict history', () => {
  it('carries, returns and sends the manifest writer the same size for 4 chunks as for 40', async () => {
    const small = await runBatch(4);
    const large = await runBatch(40);
    expect(small.result).toMatchObject({ status: 'completed', rowsWritten: 4 * CHUNK_ROWS, chunksTotal: 4 });
    expect(large.result).toMatchObject({ status: 'completed', rowsWritten: 40 * CHUNK_ROWS, chunksTotal: 40 });
    expect(large.runs).toBe(20); // two chunks per run
    // A few bytes of slack for the counters' extra digits; a carried list would add ~150 per chunk.
    expect(large.maxCarriedBytes).toBeLessThanOrEqual(small.maxCarriedBytes + 32);
    expect(large.resultBytes).toBeLessThanOrEqual(small.resultBytes + 32);
    expect(large.maxManifestRequestBytes).toBeLessThanOrEqual(small.maxManifestRequestBytes + 32);
    // Each run's history is bounded by chunksPerRun, not by the job: at most ~6 events per chunk
    // (scheduled, started, completed, and a workflow task when completions do not share one) plus
    // the run's own start, plan and continue-as-new. How completions batch into workflow tasks
    // varies with timing, so the bound is stated, not compared.
    expect(small.maxEventsPerRun).toBeLessThanOrEqual(8 * 2 + 16);
    expect(large.maxEventsPerRun).toBeLessThanOrEqual(8 * 2 + 16);
    // Listed with the model's other workflows.
    expect(large.model).toBe('m');
  }, 120_000);
});

describe('inferenceJob history', () => {
  it('holds store keys, not instances or predictions, and the job route still serves the predictions', async () => {
    const marker = `marker-${randomUUID().slice(0, 8)}`;
    const instances = Array.from({ length: 25 }, (_, i) => ({ origin: `${marker}-${i}`, distance: 1234.5 + i }));
    // Distinctive probabilities, to look for in the history.
    const probability = (i: number) => 0.123456789 + i / 1e6;
    const predict = (async (request: { requestId: string; model: string; instances: readonly unknown[] }) => ({
      requestId: request.requestId,
      model: request.model,
      arm: 'champion',
      predictions: request.instances.map((_, i) => ({ probability: probability(i), version: 2, cached: false })),
    })) as unknown as Predict;
    const worker = await createWorker({
      connection: env.nativeConnection,
      taskQueue: SERVING_TASK_QUEUE,
      activities: createServingActivities({
        predict,
        ready: () => Promise.resolve(),
        logger: quiet as never,
        webhook: { policy: parseWebhookPolicy([]), secret: undefined },
        store,
      }),
    });
    const workflows = await createWorker({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUES.cpu,
      activities: {},
      workflowBundle: bundle,
    });
    const jobs = createJobsClient(env.client, store);
    const jobId = await jobs.start({ model: 'm', instances });
    const done = env.client.workflow.getHandle(jobId).result();
    await Promise.all([worker.runUntil(done), workflows.runUntil(done)]);

    const status = await jobs.get(jobId);
    expect(status.status).toBe('completed');
    if (status.status !== 'completed') return;
    expect(status.result.predictions).toHaveLength(25);
    expect(status.result.predictions.map((p) => ('probability' in p ? p.probability : undefined))).toEqual(
      instances.map((_, i) => probability(i)),
    );

    const text = historyText(await env.client.workflow.getHandle(jobId).fetchHistory());
    expect(text).not.toContain(marker);
    expect(text).not.toContain('0.123456789');
    expect(text).toContain(`jobs/${jobId}/instances.json`);
    expect(text).toContain(`jobs/${jobId}/predictions.json`);
  }, 120_000);
});
