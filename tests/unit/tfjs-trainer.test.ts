// The TF.js trainer resumes: a run interrupted mid-epoch and resumed from its checkpoint (through
// the binary checkpoint format) ends with the weights and validation losses of an uninterrupted
// run with the same seed, to float rounding (Adam's bias correction is recomputed on restore).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, CheckpointFormatError, type Checkpoint } from '../../lib/training/tfjs/checkpoint-format.ts';
import { rocAuc as auc } from '../../lib/evaluation/auc.ts';
import { Rng } from '../../lib/random.ts';
import { trainMlp, type Dataset } from '../../lib/training/tfjs/trainer.ts';

function synthetic(rows: number, dim: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * dim);
  const y = new Float32Array(rows);
  const truth = new Rng(1234); // one ground truth for every split
  const w = Array.from({ length: dim }, () => truth.next() * 2 - 1);
  for (let r = 0; r < rows; r++) {
    let z = -0.8;
    for (let d = 0; d < dim; d++) {
      const v = rng.next() < 0.2 ? 1 : 0;
      x[r * dim + d] = v;
      z += v * w[d]!;
    }
    y[r] = rng.next() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
  }
  return { x, y, rows, dim };
}

const config = { hidden: [16, 8], dropout: 0.1, l2: 1e-4, batchSize: 128, epochs: 3, patience: 5, seed: 7 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('trainMlp', () => {
  const train = synthetic(4000, 20, 1);
  const validation = synthetic(1000, 20, 2);

  it('learns: validation AUC well above chance', async () => {
    const result = await trainMlp({ ...config, dropout: 0, learningRate: 0.01 }, train, validation);
    expect(result.epochsRun).toBe(3);
    const model = tf.sequential();
    for (const [i, [, units]] of result.layers.entries()) {
      model.add(
        tf.layers.dense({
          units,
          activation: i === result.layers.length - 1 ? 'sigmoid' : 'relu',
          ...(i === 0 ? { inputShape: [train.dim] } : {}),
        }),
      );
    }
    const n = result.layers.length;
    model.setWeights(
      result.layers.flatMap((_, i) => [
        tf.tensor(result.weights[i]!.data, result.weights[i]!.shape),
        tf.tensor(result.weights[n + i]!.data, result.weights[n + i]!.shape),
      ]),
    );
    const p = (model.predict(tf.tensor2d(validation.x, [validation.rows, validation.dim])) as tf.Tensor).dataSync() as Float32Array;
    expect(auc(p, validation.y)).toBeGreaterThan(0.75);
  }, 60_000);

  it('resumes mid-epoch to the uninterrupted result (within 1e-6 loss, 1e-5 weights)', async () => {
    const uninterrupted = await trainMlp(config, train, validation);

    const controller = new AbortController();
    let saved: Buffer | undefined;
    const interrupted = trainMlp(config, train, validation, {
      signal: controller.signal,
      onStep: (p) => {
        if (p.epoch === 1 && p.stepInEpoch === 13) controller.abort(new Error('preempted'));
      },
      onCheckpoint: async (ckpt) => {
        saved = encodeCheckpoint(ckpt);
      },
    });
    await expect(interrupted).rejects.toThrow('preempted');
    const ckpt = decodeCheckpoint(saved!);
    expect(ckpt.state).toMatchObject({ epoch: 1, stepInEpoch: 13 });

    const resumed = await trainMlp(config, train, validation, {}, ckpt);
    expect(resumed.resumedFrom).toEqual({ epoch: 1, globalStep: ckpt.state.globalStep });
    expect(resumed.globalStep).toBe(uninterrupted.globalStep);
    expect(resumed.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    resumed.history.forEach((h, i) => {
      expect(Math.abs(h.valLoss - uninterrupted.history[i]!.valLoss)).toBeLessThan(1e-6);
      expect(Math.abs(h.loss - uninterrupted.history[i]!.loss)).toBeLessThan(1e-6);
    });
    for (const [i, t] of uninterrupted.weights.entries()) {
      let maxDiff = 0;
      t.data.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - resumed.weights[i]!.data[k]!))));
      expect(maxDiff, t.name).toBeLessThan(1e-5);
    }
  }, 60_000);

  it("resumes exactly after a stop at an epoch boundary, before the epoch's first step", async () => {
    const uninterrupted = await trainMlp(config, train, validation);
    const controller = new AbortController();
    let saved: Buffer | undefined;
    await trainMlp(config, train, validation, {
      signal: controller.signal,
      onEpoch: (e) => e.epoch === 0 && controller.abort(new Error('preempted at the boundary')),
      onCheckpoint: async (ckpt) => {
        saved = encodeCheckpoint(ckpt);
      },
    }).catch(() => undefined);
    const ckpt = decodeCheckpoint(saved!);
    expect(ckpt.state).toMatchObject({ epoch: 1, stepInEpoch: 0 });
    const resumed = await trainMlp(config, train, validation, {}, ckpt);
    resumed.history.forEach((h, i) => expect(Math.abs(h.valLoss - uninterrupted.history[i]!.valLoss)).toBeLessThan(1e-6));
  }, 60_000);

  it('stops early when validation loss stops improving', async () => {
    // Shuffled labels: nothing to learn, so validation loss cannot keep improving.
    const noisy = synthetic(2000, 20, 3);
    const labels = Float32Array.from(new Rng(9).permutation(noisy.rows), (i) => noisy.y[i]!);
    const result = await trainMlp({ ...config, epochs: 30, patience: 2, learningRate: 0.05 }, { ...noisy, y: labels }, validation);
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochsRun).toBeLessThan(30);
  }, 60_000);

  it('refuses damaged checkpoint bytes with a clear error', async () => {
    let saved: Buffer | undefined;
    const controller = new AbortController();
    await trainMlp(config, train, validation, {
      signal: controller.signal,
      onStep: (p) => p.globalStep === 3 && controller.abort(new Error('stop')),
      onCheckpoint: async (c: Checkpoint) => {
        saved = encodeCheckpoint(c);
      },
    }).catch(() => undefined);
    expect(() => decodeCheckpoint(saved!.subarray(0, saved!.length - 10))).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(Buffer.from('garbage'))).toThrow('not a Flywheel checkpoint');
  }, 60_000);
});
