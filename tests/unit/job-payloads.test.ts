// Batch and inference jobs keep their payloads in the artifact store and pass keys through their
// histories. What reads them back must also read what jobs from before that left: inline
// predictions in a completed job's result, a batch manifest from inline chunks.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { createBatchActivities } from '../../activities/batch/index.ts';
import { chunkRecordKey, chunkRecordPrefix, planChunks } from '../../lib/batch/chunks.ts';
import { getJson, LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import {
  inlineJobResult,
  inlineWebhookBody,
  readJobInstances,
  storeJobInstances,
  storeJobPredictions,
} from '../../serving/jobs/payloads.ts';
import type { BatchChunkResult, BatchManifest } from '../../lib/contracts/batch-predict.ts';
import type { InferenceJobResult } from '../../lib/contracts/inference-job.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let store: LocalArtifactStore;

beforeEach(async () => {
  store = await LocalArtifactStore.create(`file://${await mkdtemp(join(tmpdir(), 'flywheel-job-payloads-'))}`);
});

describe('inference job payloads', () => {
  const predictions = [
    { probability: 0.25, version: 2 },
    { probability: 0.75, version: 2 },
  ];

  it('serves a job that completed with its predictions inline (before the store) as it is', async () => {
    const old: InferenceJobResult = { requestId: 'job-1', model: 'm', predictions, completedAt: '2026-01-01T00:00:00.000Z' };
    expect(await inlineJobResult(store, old)).toEqual(old);
  });

  it('reads stored predictions back into the result, and into a webhook body', async () => {
    const predictionsRef = await storeJobPredictions(store, 'job-2', predictions);
    expect(predictionsRef).toEqual({ key: 'jobs/job-2/predictions.json', count: 2 });
    const outcome = { requestId: 'job-2', model: 'm', predictionsRef, completedAt: '2026-01-01T00:00:00.000Z' };
    expect(await inlineJobResult(store, outcome)).toEqual({
      requestId: 'job-2',
      model: 'm',
      predictions,
      completedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await inlineWebhookBody(store, { jobId: 'job-2', status: 'completed', result: outcome })).toMatchObject({
      jobId: 'job-2',
      result: { predictions },
    });
  });

  it('reads instances inline (jobs submitted before) or from the store, and a missing object is permanent', async () => {
    const instances = [{ a: 1 }, { a: 2 }];
    expect(await readJobInstances(store, { model: 'm', instances })).toEqual(instances);
    const instancesRef = await storeJobInstances(store, 'job-3', instances);
    expect(await readJobInstances(store, { model: 'm', instancesRef })).toEqual(instances);
    const err = await readJobInstances(store, { model: 'm', instancesRef: { key: 'jobs/job-x/instances.json', count: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'NotFound', nonRetryable: true });
  });
});

describe('writeBatchManifest', () => {
  const chunk = (index: number): BatchChunkResult => ({ index, rows: 10, uri: `file:///out/part-${index}.parquet`, sha256: 'ab' });
  const summary = {
    status: 'completed' as const,
    datasetUri: 'file:///d.parquet',
    model: { name: 'm', version: 1, artifactUri: 'file:///m.onnx' },
    rowsTotal: 40,
    rowsWritten: 0,
    chunksTotal: 4,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
  };

  it("lists this job's chunk records plus the chunks carried inline, and counts rows from them", async () => {
    const recordPrefix = chunkRecordPrefix('out', 'run-1');
    for (const i of [2, 3]) await putJson(store, chunkRecordKey(recordPrefix, i), chunk(i));
    // Another job's record in the same output prefix is not this job's chunk.
    await putJson(store, chunkRecordKey(chunkRecordPrefix('out', 'run-0'), 9), chunk(9));
    const activities = createBatchActivities({ store, registry: {} as never, logger: quiet as never });
    const env = new MockActivityEnvironment(undefined, { logger: quiet });
    const uri: string = await env.run(activities.writeBatchManifest, {
      outputPrefix: 'out',
      recordPrefix,
      ...summary,
      chunks: [chunk(0), chunk(1)],
    });
    const manifest = await getJson<BatchManifest>(store, store.keyFor(uri));
    expect(manifest.chunks!.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(manifest.rowsWritten).toBe(40);
    expect(manifest).not.toHaveProperty('recordPrefix');
  });

  it('still writes the manifest an older workflow sends (every chunk inline, no records)', async () => {
    const activities = createBatchActivities({ store, registry: {} as never, logger: quiet as never });
    const env = new MockActivityEnvironment(undefined, { logger: quiet });
    const chunks = planChunks(40, 10).map((c) => chunk(c.index));
    const uri: string = await env.run(activities.writeBatchManifest, { outputPrefix: 'old', ...summary, rowsWritten: 40, chunks });
    expect((await getJson<BatchManifest>(store, store.keyFor(uri))).chunks).toEqual(chunks);
  });
});
