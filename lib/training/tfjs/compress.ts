// Smaller models from a trained MLP (the spec's `trainer.hyperparameters.compression`): magnitude
// pruning (the smallest |w| of the kernels zeroed, then fine-tuned with the mask held), structured
// pruning by neuron (hidden units with the smallest L2 norm of incoming weights removed: a smaller
// dense net, then fine-tuned), and knowledge distillation (a smaller student trained on the
// teacher's temperature-softened outputs, blended with the hard labels). Binary and multiclass.
import * as tf from '@tensorflow/tfjs';
import type { CompressionReport } from '../../contracts/train-model.ts';
import type { NamedTensor } from './checkpoint-format.ts';
import {
  disposeVariables,
  initVariables,
  l2Penalty,
  layerSizes,
  logits,
  restore,
  snapshot,
  weightedBce,
  weightedSoftmaxCe,
  type MlpShape,
} from './model.ts';
import { evaluateLoss, multiclassWeights, type Dataset } from './trainer.ts';
import { Rng } from '../../random.ts';
import { createYielder } from './event-loop.ts';
import { taskHead, type Task } from '../../tasks/task.ts';

export const PRUNE_METHODS = ['magnitude', 'neuron'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

export interface PruneConfig {
  /** Fraction of kernel weights zeroed (`magnitude`) or of hidden units removed (`neuron`), in (0, 1). */
  sparsity: number;
  /** @default 'magnitude' */
  method: PruneMethod;
  /** Epochs of fine-tuning after pruning (the mask held for `magnitude`). @default 1 */
  fineTuneEpochs: number;
}

export interface DistillConfig {
  /** The student's hidden layer widths. */
  hidden: number[];
  /** Softens teacher and student outputs (logits ÷ T); the soft loss is scaled by T². @default 2 */
  temperature: number;
  /** Weight of the hard-label loss; 1 − alpha goes to the teacher's soft labels. @default 0.5 */
  alpha: number;
  /** Student epochs. @default the teacher's `epochs` */
  epochs?: number;
}

export interface CompressionConfig {
  prune?: PruneConfig;
  distill?: DistillConfig;
  /** The compressed model's main validation metric (binary ROC AUC, multiclass accuracy) may be at
   * most this far below the teacher's; otherwise the uncompressed model is kept. @default 0.01 */
  maxMetricDrop: number;
}

/** A trained MLP as the trainer and exporter see it. */
export interface MlpModel {
  weights: NamedTensor[];
  layers: Array<[number, number]>;
  hidden: number[];
}

export interface TuneOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
  classWeight: 'balanced' | 'none';
  task: Task;
  signal?: AbortSignal;
  /** After every fine-tuning or distillation step (the activity heartbeats from it). */
  onStep?: (p: { epoch: number; step: number; stepsPerEpoch: number }) => void;
}

const tensor = (model: MlpModel, name: string): NamedTensor => {
  const t = model.weights.find((w) => w.name === name);
  if (!t) throw new Error(`model has no tensor ${name}`);
  return t;
};

/** Kernel weights (biases excluded): what sparsity is counted over. */
export function kernelParameters(layers: ReadonlyArray<[number, number]>): number {
  return layers.reduce((n, [i, o]) => n + i * o, 0);
}

/** Fraction of kernel weights that are exactly zero. */
export function kernelSparsity(model: MlpModel): number {
  let zeros = 0;
  let total = 0;
  model.layers.forEach((_, i) => {
    for (const v of tensor(model, `kernel_${i}`).data) if (v === 0) zeros++;
    total += tensor(model, `kernel_${i}`).data.length;
  });
  return total === 0 ? 0 : zeros / total;
}

/** Zeroes the `sparsity` fraction of kernel weights with the smallest |w| (one threshold over all
 * kernels; ties broken by position); returns the pruned model and its per-kernel keep masks. */
export function magnitudePrune(model: MlpModel, sparsity: number): { model: MlpModel; masks: Float32Array[] } {
  const kernels = model.layers.map((_, i) => tensor(model, `kernel_${i}`));
  const total = kernels.reduce((n, k) => n + k.data.length, 0);
  const target = Math.floor(sparsity * total);
  const all = new Float32Array(total);
  let at = 0;
  for (const k of kernels) for (const v of k.data) all[at++] = Math.abs(v);
  all.sort();
  const threshold = target > 0 ? all[target - 1]! : -1;
  let below = 0;
  for (let i = 0; i < target; i++) if (all[i]! < threshold) below++;
  let tiesToZero = target - below;
  const masks = kernels.map((k) => {
    const mask = new Float32Array(k.data.length);
    for (let i = 0; i < k.data.length; i++) {
      const a = Math.abs(k.data[i]!);
      const zero = a < threshold || (a === threshold && tiesToZero-- > 0);
      mask[i] = zero ? 0 : 1;
    }
    return mask;
  });
  const weights = model.weights.map((w) => {
    const m = /^kernel_(\d+)$/.exec(w.name);
    if (!m) return w;
    const mask = masks[Number(m[1])]!;
    return { ...w, data: w.data.map((v, i) => v * mask[i]!) };
  });
  return { model: { ...model, weights }, masks };
}

/** Removes the `sparsity` fraction of each hidden layer's units (at least one stays), those with
 * the smallest L2 norm of incoming weights from the units that survive before them. */
export function neuronPrune(model: MlpModel, sparsity: number): MlpModel {
  if (model.hidden.length === 0) throw new RangeError('neuron pruning needs hidden layers; this model has none');
  const layers = model.layers;
  const out: NamedTensor[] = [];
  let keptInputs = Array.from({ length: layers[0]![0] }, (_, i) => i);
  const hidden: number[] = [];
  layers.forEach(([, units], l) => {
    const kernel = tensor(model, `kernel_${l}`).data;
    const bias = tensor(model, `bias_${l}`).data;
    let keptUnits = Array.from({ length: units }, (_, j) => j);
    if (l < layers.length - 1) {
      const norms = keptUnits.map((j) => {
        let s = 0;
        for (const r of keptInputs) s += kernel[r * units + j]! ** 2;
        return s;
      });
      const keep = Math.max(1, Math.round(units * (1 - sparsity)));
      keptUnits = keptUnits
        .map((j) => ({ j, n: norms[j]! }))
        .sort((a, b) => b.n - a.n || a.j - b.j)
        .slice(0, keep)
        .map((e) => e.j)
        .sort((a, b) => a - b);
      hidden.push(keptUnits.length);
    }
    const k = new Float32Array(keptInputs.length * keptUnits.length);
    keptInputs.forEach((r, ri) => keptUnits.forEach((j, ji) => (k[ri * keptUnits.length + ji] = kernel[r * units + j]!)));
    out.push({ name: `kernel_${l}`, shape: [keptInputs.length, keptUnits.length], data: k });
    out.push({ name: `bias_${l}`, shape: [keptUnits.length], data: Float32Array.from(keptUnits, (j) => bias[j]!) });
    keptInputs = keptUnits;
  });
  const outputs = layers[layers.length - 1]![1];
  const shape = { inputDim: layers[0]![0], hidden, outputs };
  return { weights: out, layers: layerSizes(shape), hidden };
}

/** The model's logits for a dataset, row-major rows × outputs. */
export async function predictLogits(model: MlpModel, data: Pick<Dataset, 'x' | 'rows' | 'dim'>, chunk = 1024): Promise<Float32Array> {
  const outputs = model.layers[model.layers.length - 1]![1];
  const vars = initVariables({ inputDim: data.dim, hidden: model.hidden, outputs }, new Rng(0));
  try {
    restore(vars, model.weights);
    const out = new Float32Array(data.rows * outputs);
    // Yields between chunks: a wide teacher over a large split is seconds of compute, and the
    // activity's heartbeats and the worker's other tasks share this thread.
    const yielder = createYielder();
    for (let start = 0; start < data.rows; start += chunk) {
      await yielder.maybeYield();
      const end = Math.min(data.rows, start + chunk);
      const z = tf.tidy(() =>
        logits(vars, tf.tensor2d(data.x.subarray(start * data.dim, end * data.dim), [end - start, data.dim])).dataSync(),
      );
      out.set(z as Float32Array, start * outputs);
    }
    return out;
  } finally {
    disposeVariables(vars);
  }
}

/** Temperature-softened probabilities from logits: sigmoid(z / T), or softmax(z / T) per row. */
export function softTargets(z: Float32Array, outputs: number, temperature: number): Float32Array {
  if (outputs === 1) return z.map((v) => 1 / (1 + Math.exp(-v / temperature)));
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / outputs; r++) {
    let max = -Infinity;
    for (let k = 0; k < outputs; k++) max = Math.max(max, z[r * outputs + k]! / temperature);
    let sum = 0;
    for (let k = 0; k < outputs; k++) sum += out[r * outputs + k] = Math.exp(z[r * outputs + k]! / temperature - max);
    for (let k = 0; k < outputs; k++) out[r * outputs + k]! /= sum;
  }
  return out;
}

interface Soft {
  targets: Float32Array;
  temperature: number;
  alpha: number;
}

/**
 * Trains `model` (its weights as the start; `init` false: seeded Glorot) on the task's hard labels,
 * blended with soft targets when given, holding kernels at zero where `masks` says 0. Keeps the
 * weights of the best validation loss (hard labels).
 */
export async function tuneMlp(
  model: MlpModel,
  train: Dataset,
  validation: Dataset,
  options: TuneOptions,
  extra: { masks?: Float32Array[]; soft?: Soft; init?: boolean } = {},
): Promise<MlpModel> {
  const { task } = options;
  const outputs = model.layers[model.layers.length - 1]![1];
  const shape: MlpShape = { inputDim: train.dim, hidden: model.hidden, outputs };
  const vars = initVariables(shape, new Rng(options.seed));
  const optimizer = tf.train.adam(options.learningRate);
  const varList = [...vars.kernels, ...vars.biases];
  const yielder = createYielder();
  const masks = extra.masks?.map((m, i) => tf.tensor2d(m, layerSizes(shape)[i]!));
  try {
    if (extra.init !== false) restore(vars, model.weights);
    let best = snapshot(vars);
    let bestLoss = await evaluateLoss(vars, validation, 8192, task);
    const perClass = task.kind === 'multiclass' ? multiclassWeights(train.y, outputs, options.classWeight) : undefined;
    const [w0, w1] = binaryClassWeights(train.y, options.classWeight);
    const rng = new Rng(options.seed ^ 0x7e11);
    const steps = Math.ceil(train.rows / options.batchSize);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = rng.permutation(train.rows);
      for (let s = 0; s < steps; s++) {
        await yielder.maybeYield();
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('compression aborted');
        const start = s * options.batchSize;
        const n = Math.min(train.rows, start + options.batchSize) - start;
        const x = new Float32Array(n * train.dim);
        const y = new Float32Array(n);
        const soft = extra.soft ? new Float32Array(n * outputs) : undefined;
        for (let i = 0; i < n; i++) {
          const r = order[start + i]!;
          x.set(train.x.subarray(r * train.dim, (r + 1) * train.dim), i * train.dim);
          y[i] = train.y[r]!;
          soft?.set(extra.soft!.targets.subarray(r * outputs, (r + 1) * outputs), i * outputs);
        }
        options.onStep?.({ epoch, step: s, stepsPerEpoch: steps });
        tf.tidy(() => {
          const xs = tf.tensor2d(x, [n, train.dim]);
          const rowWeights =
            task.kind === 'multiclass' ? tf.tensor1d(y.map((c) => perClass![c]!)) : tf.tensor1d(y.map((v) => (v > 0.5 ? w1 : w0)));
          const hardTarget =
            task.kind === 'multiclass' ? (tf.oneHot(tf.tensor1d(y, 'int32'), outputs).toFloat() as tf.Tensor2D) : tf.tensor2d(y, [n, 1]);
          const loss = (z: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar =>
            task.kind === 'multiclass' ? weightedSoftmaxCe(z, target, rowWeights) : weightedBce(z, target, rowWeights.reshape([n, 1]));
          optimizer.minimize(
            () => {
              const z = logits(vars, xs);
              let cost = loss(z, hardTarget);
              if (extra.soft && soft) {
                const t = extra.soft.temperature;
                const softLoss = tf.mul(loss(tf.div(z, t) as tf.Tensor2D, tf.tensor2d(soft, [n, outputs])), t * t) as tf.Scalar;
                cost = tf.add(tf.mul(cost, extra.soft.alpha), tf.mul(softLoss, 1 - extra.soft.alpha)) as tf.Scalar;
              }
              return tf.add(cost, l2Penalty(vars, options.l2)) as tf.Scalar;
            },
            false,
            varList,
          );
          masks?.forEach((m, i) => vars.kernels[i]!.assign(tf.mul(vars.kernels[i]!, m)));
        });
      }
      const valLoss = await evaluateLoss(vars, validation, 8192, task);
      if (valLoss < bestLoss - 1e-7) {
        bestLoss = valLoss;
        best = snapshot(vars);
      }
    }
    return { weights: best, layers: layerSizes(shape), hidden: [...model.hidden] };
  } finally {
    masks?.forEach((m) => m.dispose());
    disposeVariables(vars);
    optimizer.dispose();
  }
}

function binaryClassWeights(y: Float32Array, mode: 'balanced' | 'none'): [number, number] {
  if (mode === 'none') return [1, 1];
  let pos = 0;
  for (const v of y) pos += v;
  return [y.length / (2 * Math.max(y.length - pos, 1)), y.length / (2 * Math.max(pos, 1))];
}

/** Distils (when asked) then prunes (when asked) a trained teacher; the caller gates the result. */
export async function compressMlp(
  teacher: MlpModel,
  train: Dataset,
  validation: Dataset,
  config: CompressionConfig,
  options: TuneOptions,
): Promise<{ model: MlpModel; steps: CompressionReport['steps'] }> {
  if (options.task.kind === 'regression') throw new RangeError('compression supports binary and multiclass models, not regression');
  const outputs = taskHead(options.task).units;
  let model = teacher;
  const steps: CompressionReport['steps'] = [];
  if (config.distill) {
    const d = config.distill;
    const soft = {
      targets: softTargets(await predictLogits(teacher, train), outputs, d.temperature),
      temperature: d.temperature,
      alpha: d.alpha,
    };
    const shape = { inputDim: train.dim, hidden: d.hidden, outputs };
    const student: MlpModel = { weights: [], layers: layerSizes(shape), hidden: [...d.hidden] };
    model = await tuneMlp(student, train, validation, { ...options, epochs: d.epochs ?? options.epochs }, { soft, init: false });
    steps.push('distill');
  }
  if (config.prune) {
    const p = config.prune;
    if (p.method === 'neuron') {
      model = neuronPrune(model, p.sparsity);
      if (p.fineTuneEpochs > 0) model = await tuneMlp(model, train, validation, { ...options, epochs: p.fineTuneEpochs });
    } else {
      const pruned = magnitudePrune(model, p.sparsity);
      model = pruned.model;
      if (p.fineTuneEpochs > 0)
        model = await tuneMlp(model, train, validation, { ...options, epochs: p.fineTuneEpochs }, { masks: pruned.masks });
    }
    steps.push('prune');
  }
  return { model, steps };
}

/** Kernel weights zero or removed, relative to the teacher's kernel weights. */
export function sparsityAgainst(teacher: MlpModel, model: MlpModel): number {
  const before = kernelParameters(teacher.layers);
  const after = kernelParameters(model.layers) * (1 - kernelSparsity(model));
  return before === 0 ? 0 : 1 - after / before;
}
