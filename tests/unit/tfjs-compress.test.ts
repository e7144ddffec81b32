// Compression of the built-in MLP: magnitude pruning reaches its sparsity and keeps it through
// fine-tuning, pruning by neuron gives a genuinely smaller dense net, a distilled student has the
// asked-for shape, each stays within its AUC bound of the teacher on a small synthetic dataset, a
// failed gate keeps the teacher, and the spec refuses what cannot work, naming the field.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModelSpec } from '../../lib/model-spec/model-spec.ts';
import { trainJobOf } from '../../lib/model-spec/train-job.ts';
import { compressWithGate, mainMetric } from '../../lib/training/compression.ts';
import {
  kernelSparsity,
  magnitudePrune,
  neuronPrune,
  predictLogits,
  softTargets,
  tuneMlp,
  type MlpModel,
  type TuneOptions,
} from '../../lib/training/tfjs/compress.ts';
import { trainMlp, type Dataset } from '../../lib/training/tfjs/trainer.ts';
import { Rng } from '../../lib/random.ts';

/** A nonlinear binary problem (an XOR-ish interaction plus a linear part) over dense inputs. */
function synthetic(rows: number, dim: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * dim);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dim; d++) x[r * dim + d] = rng.next() * 2 - 1;
    const z = 3 * x[r * dim]! * x[r * dim + 1]! + x[r * dim + 2]! - 0.5 * x[r * dim + 3]!;
    y[r] = rng.next() < 1 / (1 + Math.exp(-3 * z)) ? 1 : 0;
  }
  return { x, y, rows, dim };
}

const train = synthetic(3000, 8, 1);
const validation = synthetic(1500, 8, 2);
const binary = { kind: 'binary' } as const;
const options: TuneOptions = { epochs: 2, batchSize: 64, learningRate: 0.01, l2: 0, seed: 3, classWeight: 'balanced', task: binary };
let teacher: MlpModel;
let teacherAuc: number;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const result = await trainMlp(
    { hidden: [64, 32], batchSize: 64, epochs: 6, learningRate: 0.01, patience: 10, seed: 5 },
    train,
    validation,
  );
  teacher = { weights: result.weights, layers: result.layers, hidden: result.config.hidden };
  teacherAuc = await mainMetric(binary, teacher, validation);
}, 60_000);

describe('magnitude pruning', () => {
  it('zeroes exactly the asked fraction of kernel weights, the smallest first, biases untouched', () => {
    const { model, masks } = magnitudePrune(teacher, 0.5);
    expect(teacherAuc).toBeGreaterThan(0.75);
    expect(kernelSparsity(model)).toBeCloseTo(0.5, 3);
    expect(masks).toHaveLength(3);
    const kept = model.weights.filter((w) => w.name.startsWith('kernel_')).flatMap((w) => [...w.data].filter((v) => v !== 0));
    const dropped = teacher.weights
      .filter((w) => w.name.startsWith('kernel_'))
      .flatMap((w, i) => [...w.data].filter((_, j) => masks[i]![j] === 0));
    expect(Math.min(...kept.map(Math.abs))).toBeGreaterThanOrEqual(Math.max(...dropped.map(Math.abs)));
    expect(model.weights.find((w) => w.name === 'bias_0')!.data).toEqual(teacher.weights.find((w) => w.name === 'bias_0')!.data);
  });

  it('holds the mask while fine-tuning and stays within 0.02 AUC of the teacher at 50%', async () => {
    const { model, masks } = magnitudePrune(teacher, 0.5);
    const tuned = await tuneMlp(model, train, validation, { ...options, epochs: 1 }, { masks });
    expect(kernelSparsity(tuned)).toBeGreaterThanOrEqual(0.5 - 1e-3);
    expect(teacherAuc - (await mainMetric(binary, tuned, validation))).toBeLessThanOrEqual(0.02);
  });
});

describe('pruning by neuron', () => {
  it('removes the units with the smallest incoming norm, giving a smaller dense net', () => {
    const pruned = neuronPrune(teacher, 0.5);
    expect(pruned.hidden).toEqual([32, 16]);
    expect(pruned.layers).toEqual([
      [8, 32],
      [32, 16],
      [16, 1],
    ]);
    expect(pruned.weights.find((w) => w.name === 'kernel_1')!.shape).toEqual([32, 16]);
    expect(kernelSparsity(pruned)).toBe(0);
  });

  it('removes exactly the dead units (zero incoming weights), leaving the function unchanged', async () => {
    const rng = new Rng(9);
    const k0 = Float32Array.from({ length: 8 * 6 }, (_, i) => (i % 6 < 3 ? rng.next() - 0.5 : 0));
    const oneLayer: MlpModel = {
      hidden: [6],
      layers: [
        [8, 6],
        [6, 1],
      ],
      weights: [
        { name: 'kernel_0', shape: [8, 6], data: k0 },
        { name: 'kernel_1', shape: [6, 1], data: Float32Array.from({ length: 6 }, () => rng.next() - 0.5) },
        { name: 'bias_0', shape: [6], data: Float32Array.of(0.1, 0.2, 0.3, 0, 0, 0) },
        { name: 'bias_1', shape: [1], data: Float32Array.of(0.05) },
      ],
    };
    const pruned = neuronPrune(oneLayer, 0.5);
    expect(pruned.hidden).toEqual([3]);
    expect(pruned.weights.find((w) => w.name === 'bias_0')!.data).toEqual(Float32Array.of(0.1, 0.2, 0.3));
    const sample = { x: validation.x.subarray(0, 200 * 8), rows: 200, dim: 8 };
    const before = await predictLogits(oneLayer, sample);
    const after = await predictLogits(pruned, sample);
    for (let i = 0; i < before.length; i++) expect(after[i]).toBeCloseTo(before[i]!, 5);
  });

  it('stays within 0.03 AUC of the teacher at 50% after a fine-tuning epoch', async () => {
    const tuned = await tuneMlp(neuronPrune(teacher, 0.5), train, validation, { ...options, epochs: 1 });
    expect(tuned.hidden).toEqual([32, 16]);
    expect(teacherAuc - (await mainMetric(binary, tuned, validation))).toBeLessThanOrEqual(0.03);
  });
});

describe('distillation', () => {
  it('softens with the temperature: sigmoid(z / T), and softmax rows sum to 1', () => {
    expect(softTargets(Float32Array.of(0, 2), 1, 2)[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    const s = softTargets(Float32Array.of(1, 2, 3), 3, 1);
    expect(s[0]! + s[1]! + s[2]!).toBeCloseTo(1, 6);
  });

  it('trains a student of the asked shape on soft labels, within 0.03 AUC of the teacher', async () => {
    const outcome = await compressWithGate(
      teacher,
      train,
      validation,
      { distill: { hidden: [8], temperature: 2, alpha: 0.3, epochs: 6 }, maxMetricDrop: 0.03 },
      options,
    );
    expect(outcome.report.steps).toEqual(['distill']);
    expect(outcome.model.hidden).toEqual([8]);
    expect(outcome.model.layers).toEqual([
      [8, 8],
      [8, 1],
    ]);
    expect(outcome.report.compressed.parameters).toBeLessThan(outcome.report.teacher.parameters / 10);
    expect(outcome.report.applied).toBe(true);
    expect(outcome.report.teacherMetric - outcome.report.compressedMetric).toBeLessThanOrEqual(0.03);
  });

  it('distils a multiclass teacher with softmax soft labels', async () => {
    const y = Float32Array.from({ length: train.rows }, (_, r) => (train.x[r * 8]! > 0.3 ? 2 : train.x[r * 8 + 1]! > 0 ? 1 : 0));
    const yv = Float32Array.from({ length: validation.rows }, (_, r) =>
      validation.x[r * 8]! > 0.3 ? 2 : validation.x[r * 8 + 1]! > 0 ? 1 : 0,
    );
    const task = { kind: 'multiclass' as const, classes: ['a', 'b', 'c'] };
    const t = await trainMlp(
      { hidden: [32], batchSize: 64, epochs: 4, learningRate: 0.01, seed: 1, task },
      { ...train, y },
      { ...validation, y: yv },
    );
    const mt: MlpModel = { weights: t.weights, layers: t.layers, hidden: [32] };
    const outcome = await compressWithGate(
      mt,
      { ...train, y },
      { ...validation, y: yv },
      { distill: { hidden: [8], temperature: 2, alpha: 0.5, epochs: 4 }, maxMetricDrop: 0.05 },
      { ...options, task },
    );
    expect(outcome.report.metric).toBe('accuracy');
    expect(outcome.model.layers.at(-1)).toEqual([8, 3]);
    expect(outcome.report.compressedMetric).toBeGreaterThan(0.8);
  });
});

describe('the compression gate', () => {
  it('keeps the teacher when the compressed model drops more than maxMetricDrop', async () => {
    const outcome = await compressWithGate(
      teacher,
      train,
      validation,
      { prune: { sparsity: 0.99, method: 'magnitude', fineTuneEpochs: 0 }, maxMetricDrop: 0 },
      options,
    );
    expect(outcome.report.applied).toBe(false);
    expect(outcome.report.gate.passed).toBe(false);
    expect(outcome.report.sparsity).toBeGreaterThan(0.98);
    expect(outcome.report.gate.summary).toMatch(/^prune: rocAuc .* vs teacher .* \(drop .* > 0\.0000\)$/);
    expect(outcome.model).toBe(teacher);
  });

  it('distils then prunes the student when both are asked for', async () => {
    const outcome = await compressWithGate(
      teacher,
      train,
      validation,
      {
        distill: { hidden: [16], temperature: 2, alpha: 0.5, epochs: 3 },
        prune: { sparsity: 0.5, method: 'neuron', fineTuneEpochs: 1 },
        maxMetricDrop: 1,
      },
      options,
    );
    expect(outcome.report.steps).toEqual(['distill', 'prune']);
    expect(outcome.model.hidden).toEqual([8]);
  });
});

describe('compression in the model spec', () => {
  const base = {
    name: 'm',
    data: { dataset: 'd', label: 'y', validation: { dataset: 'd', columns: {} } },
    features: { features: [{ name: 'x', kind: 'numeric' }] },
  };
  const withCompression = (compression: unknown, extra: Record<string, unknown> = {}) =>
    parseModelSpec({ ...base, ...extra, trainer: { hyperparameters: { compression, ...(extra.hp ?? {}) } } });

  it('fills the defaults and passes the settings to the trainer as hyperparameters', () => {
    const spec = withCompression({ prune: { sparsity: 0.5 }, distill: { hidden: [16] } });
    if (spec.trainer.kind !== 'tfjs-mlp') throw new Error('expected tfjs-mlp');
    expect(spec.trainer.hyperparameters.compression).toEqual({
      prune: { sparsity: 0.5, method: 'magnitude', fineTuneEpochs: 1 },
      distill: { hidden: [16], temperature: 2, alpha: 0.5 },
      maxMetricDrop: 0.01,
    });
    // It rides in the training activity's hyperparameters: trainModel's input, no new workflow field.
    expect(trainJobOf(spec).hyperparameters?.compression).toEqual(spec.trainer.hyperparameters.compression);
  });

  it('names the field of each mistake', () => {
    expect(() => withCompression({ prune: { sparsity: 1 } })).toThrow(
      /trainer\.hyperparameters\.compression\.prune\.sparsity: sparsity is a fraction in \(0, 1\)/,
    );
    expect(() => withCompression({})).toThrow(/compression needs prune, distill or both/);
    expect(() => withCompression({ prune: { sparsity: 0.5, method: 'random' } })).toThrow(/compression\.prune\.method/);
    expect(() => withCompression({ distill: { hidden: [8], alpha: 2 } })).toThrow(/compression\.distill\.alpha/);
    expect(() =>
      parseModelSpec({
        ...base,
        trainer: { hyperparameters: { hidden: [], compression: { prune: { sparsity: 0.5, method: 'neuron' } } } },
      }),
    ).toThrow(/compression\.prune\.method: neuron pruning removes hidden units; this model has no hidden layers/);
    expect(() => withCompression({ distill: { hidden: [8] } }, { task: 'regression' })).toThrow(
      /trainer\.hyperparameters\.compression: compression \(pruning, distillation\) supports binary and multiclass models, not regression/,
    );
  });
});
