// The TF.js trainer's multiclass and regression heads on synthetic data: they learn, the
// regression weights predict in the target's own units, early stopping watches the task's
// validation loss, balanced class weights cover K classes, and a resumed run matches an
// uninterrupted one.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, r2 } from '../../lib/evaluation/index.ts';
import type { Task } from '../../lib/tasks/index.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../lib/training/tfjs/checkpoint-format.ts';
import { disposeVariables, initVariables, restore } from '../../lib/training/tfjs/model.ts';
import { Rng } from '../../lib/random.ts';
import { multiclassWeights, predictOutputs, trainMlp, type Dataset, type TrainResult } from '../../lib/training/tfjs/trainer.ts';

const DIM = 8;
const species: Task = { kind: 'multiclass', classes: ['a', 'b', 'c'] };
const regression: Task = { kind: 'regression' };

/** Dense normal-ish rows; the class is the argmax of three fixed projections, the value a linear
 * function in the thousands plus noise. */
function synthetic(rows: number, seed: number, task: Task): Dataset {
  const rng = new Rng(seed);
  const truth = new Rng(99);
  const w = Array.from({ length: 3 * DIM }, () => truth.next() * 2 - 1);
  const x = new Float32Array(rows * DIM);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < DIM; d++) x[r * DIM + d] = rng.next() * 2 - 1;
    const z = [0, 1, 2].map((k) => w.slice(k * DIM, (k + 1) * DIM).reduce((s, v, d) => s + v * x[r * DIM + d]!, 0));
    y[r] = task.kind === 'multiclass' ? z.indexOf(Math.max(...z)) : 5000 + 400 * z[0]! + 100 * (rng.next() - 0.5);
  }
  return { x, y, rows, dim: DIM };
}

function predict(result: TrainResult, data: Dataset, task: Task): Float32Array {
  const vars = initVariables({ inputDim: DIM, hidden: result.config.hidden, outputs: result.layers.at(-1)![1] }, new Rng(0));
  try {
    restore(vars, result.weights);
    return predictOutputs(vars, data, task);
  } finally {
    disposeVariables(vars);
  }
}

const config = { hidden: [16], batchSize: 64, learningRate: 0.01, epochs: 8, patience: 3, seed: 5 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('multiclass head', () => {
  const train = synthetic(2000, 1, species);
  const validation = synthetic(500, 2, species);

  it('learns: validation accuracy far above a third, validation loss (cross-entropy) below ln 3', async () => {
    const result = await trainMlp({ ...config, task: species }, train, validation);
    expect(result.layers).toEqual([
      [DIM, 16],
      [16, 3],
    ]);
    expect(result.bestValLoss).toBeLessThan(0.5 * Math.log(3));
    expect(accuracy(predict(result, validation, species), validation.y, 3)).toBeGreaterThan(0.85);
  });

  it('refuses a target that is not a class index', async () => {
    const bad = { ...validation, y: validation.y.map((v, i) => (i === 4 ? 3 : v)) };
    await expect(trainMlp({ ...config, task: species }, train, bad)).rejects.toThrow(
      new RangeError('validation target at row 4 is 3, not a class index in [0, 3)'),
    );
  });

  it("weighs classes n / (K · n_k) with 'balanced', 1 with 'none'", () => {
    const y = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2]);
    expect([...multiclassWeights(y, 4, 'balanced')]).toEqual([9 / 24, 9 / 8, 9 / 4, 9 / 4].map(Math.fround));
    expect([...multiclassWeights(y, 3, 'none')]).toEqual([1, 1, 1]);
  });

  it('resumes mid-epoch to the uninterrupted result', async () => {
    const c = { ...config, epochs: 3, task: species };
    const uninterrupted = await trainMlp(c, train, validation);
    const controller = new AbortController();
    let saved: Buffer | undefined;
    const interrupted = trainMlp(c, train, validation, {
      signal: controller.signal,
      onStep: (p) => p.epoch === 1 && p.stepInEpoch === 7 && controller.abort(new Error('preempted')),
      onCheckpoint: async (ckpt) => {
        saved = encodeCheckpoint(ckpt);
      },
    });
    await expect(interrupted).rejects.toThrow('preempted');
    const resumed = await trainMlp(c, train, validation, {}, decodeCheckpoint(saved!));
    resumed.history.forEach((h, i) => expect(Math.abs(h.valLoss - uninterrupted.history[i]!.valLoss)).toBeLessThan(1e-6));
  });
});

describe('regression head', () => {
  const train = synthetic(2000, 3, regression);
  const validation = synthetic(500, 4, regression);

  it('trains on the standardised target and returns weights that predict in raw units', async () => {
    const result = await trainMlp({ ...config, task: regression }, train, validation);
    expect(result.targetScaling!.mean).toBeGreaterThan(4800);
    expect(result.targetScaling!.mean).toBeLessThan(5200);
    expect(result.bestValLoss).toBeLessThan(0.2); // MSE in standard deviations²: the mean scores ≈ 1
    const predictions = predict(result, validation, regression);
    expect(r2(predictions, validation.y)).toBeGreaterThan(0.8);
    const meanPrediction = predictions.reduce((a, b) => a + b, 0) / predictions.length;
    expect(Math.abs(meanPrediction - result.targetScaling!.mean)).toBeLessThan(100);
  });

  it('stops early when validation loss stops improving (shuffled targets)', async () => {
    const shuffled = Float32Array.from(new Rng(9).permutation(train.rows), (i) => train.y[i]!);
    const result = await trainMlp(
      { ...config, task: regression, epochs: 30, patience: 2, learningRate: 0.05 },
      { ...train, y: shuffled },
      validation,
    );
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochsRun).toBeLessThan(30);
  });
});

describe('binary runs', () => {
  it('keep a config without a task, so their checkpoints are what they were', async () => {
    const data: Dataset = {
      x: new Float32Array(40 * DIM).map((_, i) => (i % 7) / 7),
      y: Float32Array.from({ length: 40 }, (_, i) => i % 2),
      rows: 40,
      dim: DIM,
    };
    const result = await trainMlp({ ...config, epochs: 1 }, data, data);
    expect('task' in result.config).toBe(false);
    expect(result.targetScaling).toBeUndefined();
  });
});
