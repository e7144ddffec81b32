// The training activity with `compression` in its hyperparameters: the teacher trains as before,
// the distilled-and-pruned student is gated on validation AUC and, when it passes, is what
// `model.onnx` (and its int8 build) holds, with ONNX Runtime agreeing with TF.js on it. A failed
// gate exports the teacher. No workflow code is involved: the settings ride in hyperparameters.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { flightsTrainingSplits } from '../fixtures/flights-example.ts';
import { createLogger } from '../../lib/log.ts';
import type { LocalArtifactStore } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import type { TrainActivityInput, TrainActivityResult } from '../../lib/contracts/train-model.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let store: LocalArtifactStore;
let input: Omit<TrainActivityInput, 'runKey' | 'hyperparameters'>;

beforeAll(async () => {
  const prepared = await flightsTrainingSplits(await mkdtemp(join(tmpdir(), 'flywheel-train-compress-')), 12_000);
  store = prepared.store;
  input = { ...prepared.fields, checkpoint: { everySteps: 1000 } };
}, 60_000);

async function train(runKey: string, hyperparameters: TrainActivityInput['hyperparameters']): Promise<TrainActivityResult> {
  const acts = createTrainingActivities({
    store,
    logger: createLogger({ level: 'warn' }),
    identity: 'test-worker',
    backend: 'cpu',
    preemption: { signal: new AbortController().signal, dispose: () => undefined },
  });
  const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
  return env.run(acts.trainFlightsMlp, { ...input, runKey, hyperparameters }) as Promise<TrainActivityResult>;
}

const teacher = { hidden: [64, 32], epochs: 2, batchSize: 256, learningRate: 0.003, seed: 5, patience: 10 };

describe('trainFlightsMlp with compression', () => {
  it('exports the distilled, neuron-pruned student when it passes its gate, with ONNX parity', async () => {
    const result = await train('training/unit/compress', {
      ...teacher,
      compression: {
        distill: { hidden: [16, 8], temperature: 2, alpha: 0.5, epochs: 2 },
        prune: { sparsity: 0.5, method: 'neuron', fineTuneEpochs: 1 },
        maxMetricDrop: 0.05,
      },
    });
    const c = result.compression!;
    expect(c.steps).toEqual(['distill', 'prune']);
    expect(c.compressed.hidden).toEqual([8, 4]);
    expect(c.gate.summary).toContain('vs teacher');
    expect(c.applied).toBe(true);
    expect(c.teacherMetric - c.compressedMetric).toBeLessThanOrEqual(0.05);
    // The file is the student: its weights are a small fraction of the teacher's.
    const bytes = (await store.get(store.keyFor(result.modelUri))).byteLength;
    expect(bytes).toBeLessThan(c.teacher.parameters * 4 * 0.2);
    expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(result.parity.int8MaxAbsDiff).toBeLessThanOrEqual(0.05);
    expect(result.lineage.hyperparameters.compression).toMatchObject({ maxMetricDrop: 0.05 });
    expect(result.lineage.hyperparameters.compressionResult).toMatchObject({ applied: true, hidden: [8, 4], steps: ['distill', 'prune'] });
  }, 120_000);

  it('exports the teacher when the compressed model fails its gate', async () => {
    const result = await train('training/unit/compress-gate', {
      ...teacher,
      compression: { prune: { sparsity: 0.99, method: 'magnitude', fineTuneEpochs: 0 }, maxMetricDrop: 0 },
    });
    const c = result.compression!;
    expect(c.applied).toBe(false);
    expect(result.lineage.hyperparameters.compressionResult).toMatchObject({ applied: false, hidden: [64, 32] });
    expect(c.sparsity).toBeGreaterThan(0.98);
    const bytes = (await store.get(store.keyFor(result.modelUri))).byteLength;
    expect(bytes).toBeGreaterThan(c.teacher.parameters * 4);
    expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
  }, 120_000);
});
