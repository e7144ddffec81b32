// batchFeatures: loads a source's per-entity features into a batch feature table. It plans once
// (row count, columns, key checks), loads row-range chunks with at most `maxParallel` in flight,
// and publishes the job only when every chunk is in, so the server's lookups see the previous
// complete job until then. A retried chunk replaces its own rows (upsert by job and key).
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { FeatureTableActivities } from '../activities/batch/features.ts';
import { chunkAt, chunkCount } from '../lib/batch/chunks.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import type { BatchFeaturesInput, BatchFeaturesResult } from '../lib/contracts/batch-features.ts';

const options: ActivityOptions = {
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
};

const features = proxyActivities<FeatureTableActivities>(options);

export async function batchFeatures(input: BatchFeaturesInput): Promise<BatchFeaturesResult> {
  const plan = await features.planFeatureTable(input);
  // The workflow id names the job: its rows keep one key however often a chunk is retried.
  const jobId = workflowInfo().workflowId;
  const columns = plan.columns.map((c) => c.name);
  await features.registerFeatureTableJob({ jobId, table: input.table, keyColumn: input.keyColumn, sourceUri: input.sourceUri, columns });
  const total = chunkCount(plan.rows, plan.chunkRows);
  const maxParallel = input.maxParallel ?? 2;
  let next = 0;
  const running = new Set<Promise<void>>();
  while (next < total || running.size > 0) {
    while (running.size < maxParallel && next < total) {
      const chunk = chunkAt(plan.rows, plan.chunkRows, next++);
      const p: Promise<void> = features
        .loadFeatureChunk({ jobId, sourceUri: input.sourceUri, keyColumn: input.keyColumn, columns: plan.columns, chunk })
        .then(() => void running.delete(p));
      running.add(p);
    }
    if (running.size > 0) await Promise.race(running);
  }
  const publishedAt = await features.publishFeatureTable({ jobId, table: input.table, expectedRows: plan.rows });
  return { jobId, table: input.table, rows: plan.rows, columns, publishedAt };
}
