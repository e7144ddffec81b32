// The training activity on a local artifact store: it checkpoints to storage, resumes from the
// newest intact checkpoint after a stop, and skips a corrupt newest checkpoint with a warning.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { flightsTrainingSplits } from '../fixtures/flights-example.ts';
import { createLogger } from '../../lib/log.ts';
import { readOnnxMetadata } from '../../lib/onnx/index.ts';
import type { LocalArtifactStore } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { latestValidCheckpoint } from '../../lib/training/tfjs/checkpoint-store.ts';
import type { TrainActivityInput, TrainActivityResult } from '../../lib/contracts/train-model.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let root: string;
let store: LocalArtifactStore;
let input: Omit<TrainActivityInput, 'runKey'>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flywheel-train-act-'));
  const prepared = await flightsTrainingSplits(root, 20_000);
  store = prepared.store;
  input = {
    ...prepared.fields,
    hyperparameters: { hidden: [8], epochs: 3, batchSize: 256, seed: 5, patience: 10 },
    checkpoint: { everySteps: 10 },
  };
}, 60_000);

function activities(preempt?: AbortController, lines?: string[]) {
  const logger = createLogger({
    level: 'warn',
    destination: { write: (l: string) => void lines?.push(l) } as unknown as NodeJS.WritableStream,
  });
  return createTrainingActivities({
    store,
    logger,
    identity: 'test-worker',
    backend: 'cpu',
    preemption: { signal: (preempt ?? new AbortController()).signal, dispose: () => undefined },
  });
}

async function train(
  acts: ReturnType<typeof activities>,
  runKey: string,
  onHeartbeat?: (d: unknown) => void,
): Promise<TrainActivityResult> {
  // With the worker's interceptor, so failures are what workflows see (PreemptedError → Preempted).
  const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
  if (onHeartbeat) env.on('heartbeat', onHeartbeat);
  return env.run(acts.trainFlightsMlp, { ...input, runKey }) as Promise<TrainActivityResult>;
}

describe('trainFlightsMlp activity', () => {
  it('fails with a retryable Preempted after checkpointing, then resumes from storage', async () => {
    const preempt = new AbortController();
    const acts = activities(preempt);
    const beats: Array<{ epoch: number; checkpointUri?: string }> = [];
    const err = await train(acts, 'training/unit/preempt', (d) => {
      beats.push(d as { epoch: number; checkpointUri?: string });
      if ((d as { epoch: number }).epoch >= 1) preempt.abort(new Error('SIGTERM'));
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ type: 'Preempted', nonRetryable: false });
    expect(beats.some((b) => b.checkpointUri)).toBe(true);

    const resumed = await train(activities(), 'training/unit/preempt');
    expect(resumed.resumedFrom?.epoch).toBeGreaterThanOrEqual(1);
    expect(resumed.epochsRun).toBe(3);
    // ONNX parity: ONNX Runtime and TF.js agree on the validation rows.
    expect(resumed.parity.rows).toBeGreaterThan(1000);
    expect(resumed.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(resumed.parity.int8MaxAbsDiff).toBeLessThanOrEqual(0.02);
    const meta = readOnnxMetadata(await store.get(store.keyFor(resumed.modelUri)));
    expect(meta).toMatchObject({ featureSpecHash: resumed.featureSpecHash, datasetVersion: input.datasetVersion });
  }, 60_000);

  it('skips a corrupt newest checkpoint with a warning and resumes from the previous one', async () => {
    const preempt = new AbortController();
    await train(activities(preempt), 'training/unit/corrupt', (d) => {
      if ((d as { step: number }).step >= 45) preempt.abort(new Error('SIGTERM'));
    }).catch(() => undefined);
    const keys: string[] = [];
    for await (const o of store.list('training/unit/corrupt/checkpoints/')) keys.push(o.key);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const [previous, newest] = keys.sort().slice(-2) as [string, string];
    await writeFile(join(root, 'store', ...newest.split('/')), Buffer.from('torn write'));

    const before = await latestValidCheckpoint(store, 'training/unit/corrupt');
    expect(before?.uri).toBe(store.uriFor(previous));
    expect(before?.skipped[0]?.reason).toContain('checksum mismatch');

    const warnings: string[] = [];
    const resumed = await train(activities(undefined, warnings), 'training/unit/corrupt');
    expect(resumed.resumedFrom?.checkpointUri).toBe(store.uriFor(previous));
    expect(resumed.skippedCheckpoints.map((s) => s.uri)).toEqual([store.uriFor(newest)]);
    expect(warnings.join('')).toContain('skipping a corrupt checkpoint');
    expect(resumed.epochsRun).toBe(3);
  }, 60_000);
});
