// batchPredict: scores a whole dataset with one model version. It resolves the version once,
// plans row-range chunks, keeps at most `maxParallel` chunk activities in flight (more workers
// on the CPU queue = more throughput), continues as new every `chunksPerRun` chunks to keep
// history small, and ends with a manifest. Cancelling stops new chunks and still writes a
// manifest that lists exactly the chunks that finished.
import {
  ActivityCancellationType,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { BatchActivities } from '../activities/batch/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import {
  batchProgressQuery,
  type BatchChunkResult,
  type BatchManifest,
  type BatchPredictInput,
  type BatchPredictState,
  type BatchProgress,
} from '../lib/contracts/batch-predict.ts';

const options: ActivityOptions = {
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
};

const batch = proxyActivities<BatchActivities>(options);
// A cancelled chunk is waited for, so the manifest knows whether it finished or stopped.
const chunks = proxyActivities<BatchActivities>({ ...options, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });

export async function batchPredict(input: BatchPredictInput, state?: BatchPredictState): Promise<BatchManifest> {
  const maxParallel = input.maxParallel ?? 4;
  const chunksPerRun = input.chunksPerRun ?? 200;
  const plan =
    state?.plan ??
    (await batch.planBatch({
      datasetUri: input.datasetUri,
      model: input.model,
      ...(input.chunkRows ? { chunkRows: input.chunkRows } : {}),
    }));
  // The workflow id is stable across continue-as-new: the job's rows keep one key.
  const tableJobId = input.writeTable ? workflowInfo().workflowId : undefined;
  if (tableJobId && !state)
    await batch.registerBatchJob({
      jobId: tableJobId,
      model: plan.model.name,
      modelVersion: plan.model.version,
      datasetUri: input.datasetUri,
    });
  const startedAt = state?.startedAt ?? new Date(workflowInfo().startTime).toISOString();
  const done: BatchChunkResult[] = [...(state?.done ?? [])];
  const finished = new Set(done.map((c) => c.index));
  const pending = plan.chunks.filter((c) => !finished.has(c.index));
  let inFlight = 0;
  let status: BatchProgress['status'] = 'running';

  setHandler(batchProgressQuery, () => ({
    status,
    rowsTotal: plan.rows,
    rowsDone: done.reduce((n, c) => n + c.rows, 0),
    chunksTotal: plan.chunks.length,
    chunksDone: done.length,
    inFlight,
    startedAt,
    modelVersion: plan.model.version,
  }));

  const summary = (s: BatchManifest['status']): BatchManifest => ({
    status: s,
    datasetUri: input.datasetUri,
    model: { name: plan.model.name, version: plan.model.version, artifactUri: plan.model.artifactUri },
    rowsTotal: plan.rows,
    rowsWritten: done.reduce((n, c) => n + c.rows, 0),
    chunksTotal: plan.chunks.length,
    chunks: [...done].sort((a, b) => a.index - b.index),
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  const manifest = (s: BatchManifest['status']) => batch.writeBatchManifest({ outputPrefix: input.outputPrefix, ...summary(s) });

  const running = new Map<number, Promise<void>>();
  try {
    let completedThisRun = 0;
    while (pending.length > 0 || running.size > 0) {
      while (running.size < maxParallel && pending.length > 0 && completedThisRun + running.size < chunksPerRun) {
        const chunk = pending.shift()!;
        const p = chunks
          .scoreBatchChunk({
            datasetUri: input.datasetUri,
            outputPrefix: input.outputPrefix,
            plan: plan.model,
            chunk,
            ...(tableJobId ? { tableJobId } : {}),
          })
          .then((result) => {
            done.push(result);
            completedThisRun++;
            running.delete(chunk.index);
          });
        running.set(chunk.index, p);
      }
      inFlight = running.size;
      if (running.size === 0) break;
      await Promise.race(running.values());
      inFlight = running.size;
    }
    if (pending.length > 0) {
      // History stays small: the next run carries the plan and the finished chunks.
      await continueAsNew<typeof batchPredict>(input, { plan, done, startedAt });
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    status = 'cancelled';
    await CancellationScope.nonCancellable(async () => {
      await Promise.allSettled(running.values());
      await manifest('cancelled');
    });
    throw err;
  }
  if (tableJobId)
    await batch.publishBatchTable({ jobId: tableJobId, model: plan.model.name, datasetUri: input.datasetUri, expectedRows: plan.rows });
  status = 'completed';
  const manifestUri = await manifest('completed');
  return { ...summary('completed'), manifestUri };
}
