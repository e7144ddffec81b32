// batchPredict: scores a whole dataset with one model version. It resolves the version once,
// plans row-range chunks, keeps at most `maxParallel` chunk activities in flight (more workers
// on the CPU queue = more throughput), continues as new every `chunksPerRun` chunks, and ends
// with a manifest. History stays bounded: a run holds at most `chunksPerRun` chunks (≈6 events
// each), and what it carries and returns is counters, not per-chunk results — each chunk records
// its result in the store and the manifest lists those records. Cancelling stops new chunks and
// still writes a manifest that lists exactly the chunks that finished.
import {
  ActivityCancellationType,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { BatchActivities } from '../activities/batch/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { chunkRecordPrefix, compactPlan, planChunkAt, planChunkCount } from '../lib/batch/chunks.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
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
  // `FlywheelModel = "x"` lists a model's batch jobs with its other workflows. Runs recorded
  // before this replay without it.
  if (!state && patched('batch-predict-model-search-attribute') && !workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.model))
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.model, value: input.model.name }]);
  const plan = compactPlan(
    state?.plan ??
      (await batch.planBatch({
        datasetUri: input.datasetUri,
        model: input.model,
        ...(input.chunkRows ? { chunkRows: input.chunkRows } : {}),
        ...(input.keyColumn ? { keyColumn: input.keyColumn } : {}),
      })),
  );
  // The workflow id is stable across continue-as-new: the job's rows keep one key.
  const keyColumn = input.keyColumn;
  const tableJobId = input.writeTable || keyColumn ? workflowInfo().workflowId : undefined;
  if (tableJobId && !state)
    await batch.registerBatchJob({
      jobId: tableJobId,
      model: plan.model.name,
      modelVersion: plan.model.version,
      datasetUri: input.datasetUri,
      ...(keyColumn ? { keyColumn } : {}),
    });
  const startedAt = state?.startedAt ?? new Date(workflowInfo().startTime).toISOString();
  const recordPrefix = chunkRecordPrefix(input.outputPrefix, workflowInfo().firstExecutionRunId);
  const chunksTotal = planChunkCount(plan);
  // Finished chunks the store holds no record of: states carried before records list them all.
  const unrecorded: BatchChunkResult[] = [...(state?.done ?? [])];
  const finished = new Set(unrecorded.map((c) => c.index));
  let chunksDone = state?.chunksDone ?? unrecorded.length;
  let rowsDone = state?.rowsDone ?? unrecorded.reduce((n, c) => n + c.rows, 0);
  let next = state?.nextChunk ?? 0;
  const skipFinished = () => {
    while (next < chunksTotal && finished.has(next)) next++;
  };
  skipFinished();
  let inFlight = 0;
  let status: BatchProgress['status'] = 'running';

  setHandler(batchProgressQuery, () => ({
    status,
    rowsTotal: plan.rows,
    rowsDone,
    chunksTotal,
    chunksDone,
    inFlight,
    startedAt,
    modelVersion: plan.model.version,
  }));

  const summary = (s: BatchManifest['status']): BatchManifest => ({
    status: s,
    datasetUri: input.datasetUri,
    model: { name: plan.model.name, version: plan.model.version, artifactUri: plan.model.artifactUri },
    rowsTotal: plan.rows,
    rowsWritten: rowsDone,
    chunksTotal,
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  const manifest = (s: BatchManifest['status']) =>
    batch.writeBatchManifest({
      outputPrefix: input.outputPrefix,
      recordPrefix,
      ...summary(s),
      chunks: [...unrecorded].sort((a, b) => a.index - b.index),
    });

  const running = new Map<number, Promise<void>>();
  try {
    let completedThisRun = 0;
    while (next < chunksTotal || running.size > 0) {
      while (running.size < maxParallel && next < chunksTotal && completedThisRun + running.size < chunksPerRun) {
        const chunk = planChunkAt(plan, next++);
        skipFinished();
        const p = chunks
          .scoreBatchChunk({
            datasetUri: input.datasetUri,
            outputPrefix: input.outputPrefix,
            plan: plan.model,
            chunk,
            recordPrefix,
            ...(tableJobId ? { tableJobId } : {}),
            ...(keyColumn ? { keyColumn, rowTable: input.writeTable === true } : {}),
          })
          .then(({ recorded, ...result }) => {
            // An activity from before records (a rolling upgrade) wrote none: carry its result.
            if (!recorded) unrecorded.push(result);
            chunksDone++;
            rowsDone += result.rows;
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
    if (next < chunksTotal) {
      // Nothing is in flight here, so every chunk below `next` is finished.
      await continueAsNew<typeof batchPredict>(input, {
        plan,
        startedAt,
        nextChunk: next,
        chunksDone,
        rowsDone,
        ...(unrecorded.length > 0 ? { done: unrecorded } : {}),
      });
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
    await batch.publishBatchTable({
      jobId: tableJobId,
      model: plan.model.name,
      datasetUri: input.datasetUri,
      expectedRows: plan.rows,
      ...(keyColumn ? { keyed: true, rowTable: input.writeTable === true } : {}),
    });
  status = 'completed';
  const manifestUri = await manifest('completed');
  return { ...summary('completed'), manifestUri };
}
